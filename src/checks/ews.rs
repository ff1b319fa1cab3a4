//! Whether Exchange Online lets an app use EWS at the audit date, from the organization's EWS
//! controls and the retirement timeline (the dates are rule parameters, from the rule files).
//!
//! - `EwsEnabled` `$false` blocks EWS; `$null` (not set) was treated as `$true` until the
//!   phased disablement, from which Microsoft sets it to `$false` for organizations that have
//!   not configured an app allow list.
//! - With `EwsEnabled` `$true`, only the apps in `EwsAllowedAppIDs` may use EWS; from the
//!   disablement an empty list blocks every app.
//! - From the shutdown date, EWS in Exchange Online is off for everyone.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::Context;
use super::registry::Param;
use crate::dates::ymd;
use crate::model::exchange::EwsSwitch;

/// The `[check]` keys of [`Timeline`], for the kinds that take one.
pub const TIMELINE_PARAMS: &[Param] = &[
    Param {
        name: "disabled_from",
        ty: "date (YYYY-MM-DD)",
        default: None,
        meaning: "The day Microsoft's phased disablement of EWS begins (2026-10-01, MC1227454).",
    },
    Param {
        name: "shutdown",
        ty: "date (YYYY-MM-DD)",
        default: None,
        meaning: "The day EWS in Exchange Online shuts down (2027-04-01, MC1227454).",
    },
];

/// The EWS retirement dates a rule is configured with.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    /// Phased disablement starts (MC1227454: 2026-10-01).
    pub disabled_from: NaiveDate,
    /// EWS in Exchange Online shut down (MC1227454: 2027-04-01).
    pub shutdown: NaiveDate,
}

impl Timeline {
    fn at(d: NaiveDate) -> DateTime<Utc> {
        d.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    pub fn is_disabling(&self, as_of: DateTime<Utc>) -> bool {
        as_of >= Self::at(self.disabled_from)
    }

    pub fn is_shut_down(&self, as_of: DateTime<Utc>) -> bool {
        as_of >= Self::at(self.shutdown)
    }

    /// One sentence for messages.
    pub fn describe(&self, as_of: DateTime<Utc>) -> String {
        if self.is_shut_down(as_of) {
            format!("EWS in Exchange Online was shut down on {}", self.shutdown)
        } else if self.is_disabling(as_of) {
            format!(
                "EWS in Exchange Online is being disabled since {} and shuts down on {}",
                self.disabled_from, self.shutdown
            )
        } else {
            format!(
                "EWS in Exchange Online is disabled from {} and shut down on {}",
                self.disabled_from, self.shutdown
            )
        }
    }
}

/// What the organization's EWS controls say for one app.
#[derive(Debug, Clone, PartialEq)]
pub enum EwsAccess {
    Allowed(String),
    Blocked(String),
    Unknown(String),
}

impl EwsAccess {
    pub fn label(&self) -> String {
        match self {
            EwsAccess::Allowed(why) => format!("allowed: {why}"),
            EwsAccess::Blocked(why) => format!("blocked: {why}"),
            EwsAccess::Unknown(why) => format!("unknown: {why}"),
        }
    }
}

pub fn access(app_id: Option<&str>, cx: &Context<'_>, timeline: &Timeline) -> EwsAccess {
    let as_of = cx.as_of;
    if timeline.is_shut_down(as_of) {
        return EwsAccess::Blocked(format!("EWS was shut down on {}", timeline.shutdown));
    }
    let disabling = timeline.is_disabling(as_of);
    let missing_config = || {
        cx.missing
            .organization_config
            .clone()
            .unwrap_or_else(|| "organizationConfig.json has no EwsEnabled".to_string())
    };
    match cx.tenant.ews_enabled {
        None => EwsAccess::Unknown(missing_config()),
        Some(EwsSwitch::Disabled) => {
            EwsAccess::Blocked("EwsEnabled is False for the organization".into())
        }
        Some(EwsSwitch::NotSet) if disabling => EwsAccess::Blocked(format!(
            "EwsEnabled is not set; since {} Microsoft sets it to False for organizations without an EWS app allow list",
            timeline.disabled_from
        )),
        Some(EwsSwitch::NotSet) => EwsAccess::Allowed("EwsEnabled is not set (treated as True)".into()),
        Some(EwsSwitch::Enabled) => match (&cx.tenant.ews_allowed_app_ids, app_id) {
            (None, _) => EwsAccess::Unknown(
                "EwsEnabled is True but EwsAllowedAppIDs is not in the export (Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy)".into(),
            ),
            (Some(list), Some(id)) if list.iter().any(|a| a == id) => {
                EwsAccess::Allowed("listed in EwsAllowedAppIDs".into())
            }
            (Some(list), _) if !list.is_empty() => EwsAccess::Blocked(
                "EwsEnabled is True and EwsAllowedAppIDs does not list this app".into(),
            ),
            (Some(_), _) if disabling => EwsAccess::Blocked(format!(
                "EwsEnabled is True with an empty EwsAllowedAppIDs, which blocks every app since {}",
                timeline.disabled_from
            )),
            (Some(_), _) => EwsAccess::Allowed(format!(
                "EwsEnabled is True with no app allow list (until {})",
                ymd(Timeline::at(timeline.disabled_from))
            )),
        },
    }
}
