//! `service-principal-present`: the app registration has no service principal (enterprise
//! application) in the tenant: nobody can sign in to it here and no permission is granted.
//! Usually a leftover worth deleting, with its credentials.

use serde::Deserialize;
use serde_json::json;

use super::util::evidence;
use super::{Check, Context, Outcomes};
use crate::model::{App, ServicePrincipal};

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
            ServicePrincipal::Present { object_id, .. } => out.pass(|| {
                (
                    None,
                    format!(
                        "service principal {}",
                        object_id.as_deref().unwrap_or("(no id)")
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
