//! The `legacy-access-policy` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind};

/// The `legacy-access-policy` kind.
pub const KIND: Kind = Kind {
    name: "legacy-access-policy",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app's mailbox access is scoped with an Application Access Policy, which Microsoft \
        replaces with RBAC for Applications.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<LegacyAccessPolicy>(de),
    keys: registry::keys_of::<LegacyAccessPolicy>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyAccessPolicy {}

impl Check for LegacyAccessPolicy {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(policies) = cx.policies_naming(app, out) else {
            return;
        };
        out.fail(
            None,
            format!(
                "{} is scoped with {} Application Access Polic{} ({}); RBAC for Applications replaces them",
                app.name(),
                policies.len(),
                if policies.len() == 1 { "y" } else { "ies" },
                policies
                    .iter()
                    .map(|p| p.scope.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            evidence(json!({"access_policies": policies})),
        );
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
