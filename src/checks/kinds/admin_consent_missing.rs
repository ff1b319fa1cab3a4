//! The `admin-consent-missing` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::requested_and_granted;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, ServicePrincipal};

/// The `admin-consent-missing` kind.
pub const KIND: Kind = Kind {
    name: "admin-consent-missing",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A requested application permission has no app role assignment on the app's service \
        principal: admin consent was not granted (or was revoked), so the app does not have \
        the permission its product expects.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<AdminConsentMissing>(de),
    keys: registry::keys_of::<AdminConsentMissing>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConsentMissing {}

impl Check for AdminConsentMissing {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some((requested, granted)) = requested_and_granted(app, cx, out) else {
            return;
        };
        let no_sp = app.service_principal == ServicePrincipal::Absent;
        let mut missing = 0;
        for p in requested.iter().filter(|p| p.is_application()) {
            let consented = granted
                .iter()
                .any(|g| g.id == p.id && g.resource_app_id == p.resource_app_id);
            if consented {
                continue;
            }
            missing += 1;
            out.fail(
                Some(p.label()),
                format!(
                    "{} requests {} (application) but it is not granted{}",
                    app.name(),
                    p.label(),
                    if no_sp {
                        ": the app has no service principal, so admin consent was never given"
                    } else {
                        ": grant admin consent, or remove the permission from the registration"
                    }
                ),
                evidence(json!({
                    "permission": p.label(),
                    "resource_app_id": p.resource_app_id,
                    "id": p.id,
                    "service_principal": !no_sp,
                })),
            );
        }
        if missing == 0 {
            out.pass(|| {
                (
                    None,
                    "every requested application permission is granted".into(),
                )
            });
        }
    }
}
