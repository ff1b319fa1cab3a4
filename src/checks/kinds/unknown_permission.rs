//! The `unknown-permission` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `unknown-permission` kind.
pub const KIND: Kind = Kind {
    name: "unknown-permission",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A requested permission this tool cannot classify: its id is not in the permission \
        catalogue, and either it belongs to a Microsoft API the catalogue covers or its value \
        is unknown altogether. Rules keyed on permission classes cannot see it.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<UnknownPermission>(de),
    keys: registry::keys_of::<UnknownPermission>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnknownPermission {}

impl Check for UnknownPermission {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(requested) = &app.requested_permissions else {
            out.not_evaluated(None, "the input has no requiredResourceAccess for this app");
            return;
        };
        let mut unknown = 0;
        for p in requested.iter().filter(|p| !p.in_catalog) {
            let microsoft_api = p
                .resource_app_id
                .as_deref()
                .is_some_and(|r| cx.catalog.resource_name(r).is_some());
            if p.value.is_some() && !microsoft_api {
                continue; // the tenant's own API, named by its service principal
            }
            unknown += 1;
            let what = match &p.value {
                Some(v) => format!("{v} (named by the tenant, not in the catalogue)"),
                None => "an id no catalogue or service principal names".to_string(),
            };
            out.fail(
                Some(format!(
                    "{} {}",
                    p.resource_app_id.as_deref().unwrap_or("?"),
                    p.id
                )),
                format!(
                    "{} requests permission {} on {}: {what}; its risk is not assessed",
                    app.name(),
                    p.id,
                    p.resource_name
                        .as_deref()
                        .or(p.resource_app_id.as_deref())
                        .unwrap_or("an unknown resource")
                ),
                evidence(json!({
                    "resource_app_id": p.resource_app_id,
                    "resource_name": p.resource_name,
                    "id": p.id,
                    "kind": p.kind,
                    "value": p.value,
                })),
            );
        }
        if unknown == 0 {
            out.pass(|| (None, "every requested permission is known".into()));
        }
    }
}
