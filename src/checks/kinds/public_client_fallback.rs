//! The `public-client-fallback` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::missing_permissions_reason;
use crate::checks::permissions::permission_list;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `public-client-fallback` kind.
pub const KIND: Kind = Kind {
    name: "public-client-fallback",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app allows public client flows (`isFallbackPublicClient`, legacy \
        `allowPublicClient`) while holding credentials or application permissions. A \
        confidential client marked public can be used without its secret in flows such as ROPC \
        and device code.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<PublicClientFallback>(de),
    keys: registry::keys_of::<PublicClientFallback>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicClientFallback {}

impl Check for PublicClientFallback {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        match app.fallback_public_client {
            None => {
                out.not_evaluated(
                    None,
                    "the input has neither isFallbackPublicClient nor allowPublicClient for this app",
                );
                return;
            }
            Some(false) => {
                out.pass(|| (None, "public client flows are off".into()));
                return;
            }
            Some(true) => {}
        }
        let credentials = app.credentials().count();
        let app_permissions = app.holdings(|p| p.is_application());
        if credentials > 0 || !app_permissions.found.is_empty() {
            out.fail(
                None,
                format!(
                    "{} allows public client flows but holds {credentials} credential(s) and {} application permission(s)",
                    app.name(),
                    app_permissions.found.len()
                ),
                evidence(json!({
                    "is_fallback_public_client": true,
                    "credentials": credentials,
                    "application_permissions": permission_list(&app_permissions.found),
                })),
            );
        } else if !app.credentials_known() {
            out.not_evaluated(
                None,
                "public client flows are on and the input has no credential data for this app",
            );
        } else if !app_permissions.complete {
            out.not_evaluated(None, missing_permissions_reason(app, cx));
        } else {
            out.pass(|| {
                (
                    None,
                    "a public client without credentials or application permissions".into(),
                )
            });
        }
    }
}
