//! The `granted-not-requested` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::requested_and_granted;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `granted-not-requested` kind.
pub const KIND: Kind = Kind {
    name: "granted-not-requested",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "An application permission is granted (app role assignment) that the app registration \
        does not request. Such grants are made outside the consent flow (Graph API, \
        PowerShell) and are invisible on the registration's \"API permissions\" page.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<GrantedNotRequested>(de),
    keys: registry::keys_of::<GrantedNotRequested>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantedNotRequested {}

impl Check for GrantedNotRequested {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some((requested, granted)) = requested_and_granted(app, cx, out) else {
            return;
        };
        let mut extra = 0;
        for g in granted {
            let asked = requested.iter().any(|p| {
                p.id == g.id && p.resource_app_id == g.resource_app_id && p.is_application()
            });
            if asked {
                continue;
            }
            extra += 1;
            out.fail(
                Some(g.label()),
                format!(
                    "{} holds {} (application) without requesting it: granted outside the consent flow",
                    app.name(),
                    g.label()
                ),
                evidence(json!({"permission": g.label(), "resource_app_id": g.resource_app_id, "id": g.id})),
            );
        }
        if extra == 0 {
            out.pass(|| (None, "every granted permission is requested".into()));
        }
    }
}
