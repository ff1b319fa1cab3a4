//! The `credential-expired` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::{CredentialFilter, days, plural_days, sp_credentials_for_tenant};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::ymd;
use crate::model::{App, AppKind, Missing};

/// The `credential-expired` kind.
pub const KIND: Kind = Kind {
    name: "credential-expired",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A client secret or certificate past its end date, one finding per credential: the app registration's, and those added to its service principal (a SAML signing certificate set counts as one certificate).",
    params: &[Param {
        name: "credential",
        ty: "\"any\", \"secret\" or \"certificate\"",
        default: Some("\"any\""),
        meaning: "Which credentials to look at: client secrets (passwordCredentials), certificates (keyCredentials) or both.",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<CredentialExpired>(de),
    keys: registry::keys_of::<CredentialExpired>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialExpired {
    /// `any` (default), `secret` or `certificate`.
    #[serde(default)]
    credential: CredentialFilter,
}

impl Check for CredentialExpired {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let dated = self.credential.dated(app, cx, out);
        for d in &dated.list {
            d.about(app, cx, out);
            if d.end <= cx.as_of {
                let ago = days(d.end, cx.as_of);
                let mut evidence = d.evidence();
                evidence.insert("days_since_expiry".into(), json!(ago));
                out.fail(
                    Some(d.item()),
                    format!(
                        "{} {} expired on {} ({} ago)",
                        d.noun(),
                        d.credential.label(),
                        ymd(d.end),
                        plural_days(ago)
                    ),
                    evidence,
                );
            } else {
                out.pass(|| {
                    (
                        Some(d.item()),
                        format!(
                            "{} {} valid until {}",
                            d.noun(),
                            d.credential.label(),
                            ymd(d.end)
                        ),
                    )
                });
            }
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
