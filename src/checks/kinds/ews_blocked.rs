//! The `ews-blocked` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::ews::{self, EwsAccess, Timeline};
use crate::checks::permissions::{find_permissions, none_found};
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind, PermissionClass};

/// The `ews-blocked` kind.
pub const KIND: Kind = Kind {
    name: "ews-blocked",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "An app that depends on EWS is blocked by the organization's EWS controls (EwsEnabled, \
        EwsAllowedAppIDs) or by the EWS retirement at the audit date.",
    params: ews::TIMELINE_PARAMS,
    renamed_from: &["ews-allowed"],
    build: |de, _| registry::app::<EwsBlocked>(de),
    keys: registry::keys_of::<EwsBlocked>,
};

#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct EwsBlocked {
    timeline: Timeline,
}

impl Check for EwsBlocked {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let found = find_permissions(app, cx, |p| p.classes.contains(&PermissionClass::Ews));
        if found.list.is_empty() {
            none_found(&found, "EWS permission", out);
            return;
        }
        match ews::access(app.app_id.as_deref(), cx, &self.timeline) {
            EwsAccess::Allowed(why) => out.pass(|| (None, format!("EWS allowed: {why}"))),
            EwsAccess::Unknown(why) => out.not_evaluated(None, why),
            EwsAccess::Blocked(why) => out.fail(
                None,
                format!(
                    "{} depends on EWS ({}) but Exchange Online blocks it: {why}",
                    app.name(),
                    found
                        .list
                        .iter()
                        .map(|s| s.label.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                evidence(json!({
                    "ews_permissions": found.list.iter().map(|s| s.evidence()).collect::<Vec<_>>(),
                    "blocked_because": why,
                    "ews_enabled": cx.tenant.ews_enabled,
                    // Whether the app is on the allow list and how long the list is, not the
                    // list: a tenant's list can hold thousands of ids, and every EWS app's
                    // finding would repeat them.
                    "ews_allow_list": cx.tenant.ews_allowed_app_ids.as_ref().map(|ids| json!({
                        "apps": ids.len(),
                        "includes_this_app": app.app_id.as_ref().is_some_and(|id| ids.contains(id)),
                    })),
                })),
            ),
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
