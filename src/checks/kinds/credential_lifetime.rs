//! The `credential-lifetime` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::{
    CredentialFilter, credential_evidence, credential_item, credential_noun, lifetime_days,
};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::ymd;
use crate::finding::Severity;
use crate::model::App;

/// The `credential-lifetime` kind.
pub const KIND: Kind = Kind {
    name: "credential-lifetime",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A credential whose lifetime (end − start) exceeds `max_days`; high severity beyond \
        `high_days`. Lifetimes are counted without 29 February so that a \"24 months\" secret is \
        730 days in every year.",
    params: &[
        Param {
            name: "credential",
            ty: "\"any\", \"secret\" or \"certificate\"",
            default: Some("\"secret\""),
            meaning: "Which credentials to look at.",
        },
        Param {
            name: "max_days",
            ty: "integer",
            default: Some("365"),
            meaning: "The longest lifetime (end minus start, in days) that passes.",
        },
        Param {
            name: "high_days",
            ty: "integer",
            default: Some("not set: no escalation"),
            meaning: "Raise the severity to high beyond this many days.",
        },
    ],
    renamed_from: &[],
    build: |de, _| registry::app::<CredentialLifetime>(de),
    keys: registry::keys_of::<CredentialLifetime>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialLifetime {
    #[serde(default = "default_filter")]
    credential: CredentialFilter,
    #[serde(default = "default_max_days")]
    max_days: u32,
    /// Escalate to high beyond this many days.
    high_days: Option<u32>,
}

fn default_filter() -> CredentialFilter {
    CredentialFilter::Secret
}

fn default_max_days() -> u32 {
    365
}

impl Check for CredentialLifetime {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let (credentials, unknown) = self.credential.select(app);
        if let Some(reason) = unknown {
            out.not_evaluated(None, reason);
        }
        for c in &credentials {
            let (Some(start), Some(end)) = (c.start, c.end) else {
                out.not_evaluated(
                    Some(credential_item(c)),
                    "the credential has no start or end date in the input",
                );
                continue;
            };
            let lifetime = lifetime_days(start, end);
            // An expired credential is credential-expired's finding; its lifetime no longer
            // matters.
            if end <= cx.as_of || lifetime <= i64::from(self.max_days) {
                out.pass(|| {
                    (
                        Some(credential_item(c)),
                        format!(
                            "{} {} lifetime {lifetime} days",
                            credential_noun(c),
                            c.label()
                        ),
                    )
                });
                continue;
            }
            let severity = self
                .high_days
                .filter(|&h| lifetime > i64::from(h))
                .map(|_| Severity::High);
            let mut evidence = credential_evidence(c);
            evidence.insert("lifetime_days".into(), json!(lifetime));
            evidence.insert("max_days".into(), json!(self.max_days));
            out.fail_at(
                severity,
                Some(credential_item(c)),
                format!(
                    "{} {} is valid for {lifetime} days ({} to {}), more than {} days",
                    credential_noun(c),
                    c.label(),
                    ymd(start),
                    ymd(end),
                    self.max_days
                ),
                evidence,
            );
        }
        if credentials.is_empty() && unknown.is_none() {
            out.pass(|| (None, "the app has no credentials of this kind".into()));
        }
    }
}
