//! The `credential-expired` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::{
    CredentialFilter, credential_evidence, credential_item, credential_noun, days, plural_days,
};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::ymd;
use crate::model::App;

/// The `credential-expired` kind.
pub const KIND: Kind = Kind {
    name: "credential-expired",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A client secret or certificate past its end date, one finding per credential.",
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
        let dated = self.credential.dated(app, out);
        for &(c, end) in &dated.list {
            if end <= cx.as_of {
                let ago = days(end, cx.as_of);
                let mut evidence = credential_evidence(c);
                evidence.insert("days_since_expiry".into(), json!(ago));
                out.fail(
                    Some(credential_item(c)),
                    format!(
                        "{} {} expired on {} ({} ago)",
                        credential_noun(c),
                        c.label(),
                        ymd(end),
                        plural_days(ago)
                    ),
                    evidence,
                );
            } else {
                out.pass(|| {
                    (
                        Some(credential_item(c)),
                        format!(
                            "{} {} valid until {}",
                            credential_noun(c),
                            c.label(),
                            ymd(end)
                        ),
                    )
                });
            }
        }
        if dated.list.is_empty() && dated.complete {
            out.pass(|| (None, "the app has no credentials".into()));
        }
    }
}
