//! The `no-valid-credential` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::is_current;
use crate::checks::evidence;
use crate::checks::permissions::missing_permissions_reason;
use crate::checks::permissions::permission_list;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::{rfc3339, ymd};
use crate::model::{App, CredentialKind};

/// The `no-valid-credential` kind.
pub const KIND: Kind = Kind {
    name: "no-valid-credential",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "An app with application permissions (requested or granted) has no credential it can \
        sign in with at the audit date, so its daemon cannot get a token.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<NoValidCredential>(de),
    keys: registry::keys_of::<NoValidCredential>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoValidCredential {}

impl Check for NoValidCredential {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let holdings = app.holdings(|p| p.is_application());
        if holdings.found.is_empty() {
            if holdings.complete {
                out.pass(|| (None, "the app has no application permissions".into()));
            } else {
                out.not_evaluated(None, missing_permissions_reason(app, cx));
            }
            return;
        }
        if !app.credentials_known() {
            out.not_evaluated(
                None,
                "the input has no passwordCredentials/keyCredentials for this app",
            );
            return;
        }
        // Key credentials with usage Sign/Encrypt (SAML signing, token encryption) cannot
        // authenticate the client.
        let sign_in_capable = app.credentials().filter(|c| {
            c.kind == CredentialKind::Secret
                || c.usage
                    .as_deref()
                    .is_none_or(|u| u.eq_ignore_ascii_case("verify"))
        });
        let mut unknown_end = false;
        let mut current = None;
        for c in sign_in_capable {
            match is_current(c, cx.as_of) {
                Some(true) => {
                    current = Some(c);
                    break;
                }
                Some(false) => {}
                None => unknown_end = true,
            }
        }
        if let Some(c) = current {
            out.pass(|| {
                (
                    None,
                    format!(
                        "{} is valid until {}",
                        c.label(),
                        c.end.map(ymd).unwrap_or_default()
                    ),
                )
            });
            return;
        }
        if app.federated_credentials.is_some_and(|n| n > 0) {
            out.pass(|| (None, "the app signs in with a federated credential".into()));
            return;
        }
        if unknown_end {
            out.not_evaluated(None, "a credential of the app has no end date in the input");
            return;
        }
        let credentials: Vec<_> = app
            .credentials()
            .map(
                |c| json!({"kind": c.kind.as_str(), "key_id": c.key_id, "end": c.end.map(rfc3339)}),
            )
            .collect();
        let federated = match app.federated_credentials {
            Some(_) => "",
            None => " (federated credentials were not exported)",
        };
        out.fail(
            None,
            format!(
                "{} holds {} application permission(s) but no credential valid on {}{federated}",
                app.name(),
                holdings.found.len(),
                ymd(cx.as_of)
            ),
            evidence(json!({
                "application_permissions": permission_list(&holdings.found),
                "credentials": credentials,
            })),
        );
    }
}
