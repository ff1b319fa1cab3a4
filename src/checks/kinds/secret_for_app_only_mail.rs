//! The `secret-for-app-only-mail` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::missing_permissions_reason;
use crate::checks::permissions::permission_list;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::rfc3339;
use crate::model::{App, PermissionClass};

/// The `secret-for-app-only-mail` kind.
pub const KIND: Kind = Kind {
    name: "secret-for-app-only-mail",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "An app with app-only mailbox permissions authenticates with a client secret. Microsoft \
        recommends certificates (or federated credentials) for such apps.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<SecretForAppOnlyMail>(de),
    keys: registry::keys_of::<SecretForAppOnlyMail>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretForAppOnlyMail {}

impl Check for SecretForAppOnlyMail {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let mail = app.holdings(|p| p.is_application() && p.has_class(PermissionClass::Mailbox));
        if mail.found.is_empty() {
            if mail.complete {
                out.pass(|| (None, "the app has no app-only mailbox permissions".into()));
            } else {
                out.not_evaluated(None, missing_permissions_reason(app, cx));
            }
            return;
        }
        let Some(secrets) = &app.password_credentials else {
            out.not_evaluated(None, "the input has no passwordCredentials for this app");
            return;
        };
        // An expired secret signs nobody in; only live ones count.
        let live: Vec<_> = secrets
            .iter()
            .filter(|s| s.end.is_none_or(|end| end > cx.as_of))
            .collect();
        if live.is_empty() {
            out.pass(|| (None, "the app has no live client secret".into()));
            return;
        }
        let certificates = app.key_credentials.as_ref().map(Vec::len);
        out.fail(
            None,
            format!(
                "{} reaches mailboxes app-only ({}) and has {} live client secret(s); use a certificate",
                app.name(),
                mail.found
                    .iter()
                    .filter_map(|p| p.value.as_deref())
                    .collect::<Vec<_>>()
                    .join(", "),
                live.len()
            ),
            evidence(json!({
                "mailbox_permissions": permission_list(&mail.found),
                "secrets": live.iter().map(|s| json!({"key_id": s.key_id, "end": s.end.map(rfc3339)})).collect::<Vec<_>>(),
                "certificates": certificates,
            })),
        );
    }
}
