//! The `service-principal-present` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, ServicePrincipal};

/// The `service-principal-present` kind.
pub const KIND: Kind = Kind {
    name: "service-principal-present",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app registration has no service principal (enterprise application) in the tenant: \
        nobody can sign in to it here and no permission is granted. Usually a leftover worth \
        deleting, with its credentials.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<ServicePrincipalPresent>(de),
    keys: registry::keys_of::<ServicePrincipalPresent>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipalPresent {}

impl Check for ServicePrincipalPresent {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        match &app.service_principal {
            ServicePrincipal::Unknown => out.not_evaluated(
                None,
                cx.missing.service_principals.clone().unwrap_or_else(|| {
                    "the app has no appId to match service principals on".into()
                }),
            ),
            ServicePrincipal::Present(sp) => out.pass(|| {
                (
                    None,
                    format!(
                        "service principal {}",
                        sp.object_id.as_deref().unwrap_or("(no id)")
                    ),
                )
            }),
            ServicePrincipal::Absent => out.fail(
                None,
                format!("{} has no service principal in this tenant", app.name()),
                evidence(json!({
                    "app_id": app.app_id,
                    "credentials": app.credentials().count(),
                })),
            ),
        }
    }
}
