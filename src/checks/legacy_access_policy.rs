//! `legacy-access-policy`: the app's mailbox access is scoped with an Application Access Policy,
//! which Microsoft replaces with RBAC for Applications.

use serde::Deserialize;
use serde_json::json;

use super::util::evidence;
use super::{Check, Context, Outcomes};
use crate::model::{App, AppKind};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegacyAccessPolicy {}

impl Check for LegacyAccessPolicy {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(policies) = &app.mailbox_access.policies else {
            out.not_evaluated(None, super::deny_only_access_policy::policies_missing(cx));
            return;
        };
        if policies.is_empty() {
            out.pass(|| (None, "no Application Access Policy names the app".into()));
            return;
        }
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
