//! The `deny-only-access-policy` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind};

/// The `deny-only-access-policy` kind.
pub const KIND: Kind = Kind {
    name: "deny-only-access-policy",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "Every Application Access Policy naming the app is DenyAccess, so the app keeps every \
        mailbox outside the denied groups. Usually meant as a RestrictAccess.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<DenyOnlyAccessPolicy>(de),
    keys: registry::keys_of::<DenyOnlyAccessPolicy>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyOnlyAccessPolicy {}

impl Check for DenyOnlyAccessPolicy {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(policies) = cx.policies_naming(app, out) else {
            return;
        };
        if let Some(odd) = policies
            .iter()
            .find(|p| p.access_right != "deny_access" && p.access_right != "restrict_access")
        {
            out.not_evaluated(
                None,
                format!(
                    "policy on {} has AccessRight {} (export with ConvertTo-Json -EnumsAsStrings)",
                    odd.scope, odd.access_right
                ),
            );
            return;
        }
        if policies.iter().all(|p| p.access_right == "deny_access") {
            let scopes: Vec<&str> = policies.iter().map(|p| p.scope.as_str()).collect();
            out.fail(
                None,
                format!(
                    "{} has only DenyAccess Application Access Policies ({}): every other mailbox stays reachable",
                    app.name(),
                    scopes.join(", ")
                ),
                evidence(json!({"access_policies": policies})),
            );
        } else {
            out.pass(|| (None, "a RestrictAccess policy limits the app".into()));
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
