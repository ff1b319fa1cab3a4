//! The `credential-expiring` check kind: see [`KIND`].

use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::{CredentialFilter, days, plural_days, sp_credentials_for_tenant};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::{rfc3339, ymd};
use crate::finding::Severity;
use crate::model::{App, AppKind, Missing};

/// The `credential-expiring` kind.
pub const KIND: Kind = Kind {
    name: "credential-expiring",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A client secret or certificate that ends within `warn_days` of the audit date; high \
        severity within `high_days`.",
    params: &[
        Param {
            name: "credential",
            ty: "\"any\", \"secret\" or \"certificate\"",
            default: Some("\"any\""),
            meaning: "Which credentials to look at.",
        },
        Param {
            name: "warn_days",
            ty: "integer",
            default: Some("30"),
            meaning: "Fail when a credential ends within this many days of the audit date.",
        },
        Param {
            name: "high_days",
            ty: "integer",
            default: Some("7"),
            meaning: "Raise the severity to high within this many days.",
        },
    ],
    renamed_from: &[],
    build: |de, _| registry::app::<CredentialExpiring>(de),
    keys: registry::keys_of::<CredentialExpiring>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialExpiring {
    #[serde(default)]
    credential: CredentialFilter,
    /// Warn when a credential ends within this many days.
    #[serde(default = "default_warn_days")]
    warn_days: u32,
    /// Escalate to high within this many days.
    #[serde(default = "default_high_days")]
    high_days: u32,
}

fn default_warn_days() -> u32 {
    30
}

fn default_high_days() -> u32 {
    7
}

impl Check for CredentialExpiring {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let dated = self.credential.dated(app, cx, out);
        let warn = TimeDelta::days(i64::from(self.warn_days));
        let high = TimeDelta::days(i64::from(self.high_days));
        for d in &dated.list {
            d.about(app, cx, out);
            let remaining = d.end - cx.as_of;
            if remaining <= TimeDelta::zero() || remaining > warn {
                out.pass(|| {
                    let state = if remaining <= TimeDelta::zero() {
                        "already expired (see credential-expired)"
                    } else {
                        "not ending soon"
                    };
                    (
                        Some(d.item()),
                        format!(
                            "{} {} ends {}: {state}",
                            d.noun(),
                            d.credential.label(),
                            ymd(d.end)
                        ),
                    )
                });
                continue;
            }
            let left = days(cx.as_of, d.end);
            let mut evidence = d.evidence();
            evidence.insert("days_left".into(), json!(left));
            let mut message = format!(
                "{} {} expires on {} (in {})",
                d.noun(),
                d.credential.label(),
                ymd(d.end),
                plural_days(left)
            );
            // A rotation may already be under way: name the credential that outlives this one,
            // so the admin checks the integration uses it rather than rushing a new one.
            if let Some(successor) = dated
                .list
                .iter()
                .filter(|o| {
                    o.same_sort(d)
                        && o.end > cx.as_of + warn
                        && o.credential.start.is_none_or(|s| s <= cx.as_of)
                })
                .max_by_key(|o| o.end)
            {
                evidence.insert(
                    "successor".into(),
                    json!({"key_id": successor.credential.key_id, "end": rfc3339(successor.end)}),
                );
                message.push_str(&format!(
                    "; {} stays valid until {}: make sure the integration uses it, then remove this one",
                    successor.credential.label(),
                    ymd(successor.end)
                ));
            }
            let severity = (remaining <= high).then_some(Severity::High);
            out.fail_at(severity, Some(d.item()), message, evidence);
        }
        out.reset_subject();
        if dated.list.is_empty() && dated.complete {
            out.pass(|| (None, "the app has no credentials".into()));
        }
    }

    /// Service principals without a registration here carry credentials of their own.
    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }

    fn not_evaluated_for_tenant(&self, missing: &Missing) -> Option<String> {
        sp_credentials_for_tenant(missing)
    }
}
