//! The `role-assignment` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Context, Outcomes, TenantCheck};
use crate::finding::{Subject, SubjectKind};
use crate::model::Tenant;

/// The `role-assignment` kind.
pub const KIND: Kind = Kind {
    name: "role-assignment",
    scope: Scope::Tenant,
    written_in: Written::Anywhere,
    docs: "A management role assignment of the given role exists. Used for \
        ApplicationImpersonation, which Microsoft removed from Exchange Online in 2025: a \
        remaining assignment reaches every mailbox in its scope wherever the role still works.",
    params: &[Param {
        name: "role",
        ty: "string",
        default: None,
        meaning: "The management role whose enabled assignments fail (ApplicationImpersonation).",
    }],
    renamed_from: &[],
    build: |de, _| registry::tenant::<RoleAssignmentCheck>(de),
    keys: registry::keys_of::<RoleAssignmentCheck>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentCheck {
    role: String,
}

impl TenantCheck for RoleAssignmentCheck {
    fn reads_apps(&self, _inputs: &crate::checks::ScanInputs) -> bool {
        false
    }

    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(assignments) = &tenant.exchange.role_assignments else {
            out.not_evaluated(
                None,
                cx.missing.role_assignments.clone().unwrap_or_default(),
            );
            return;
        };
        let matching: Vec<_> = assignments
            .iter()
            .filter(|a| a.is_role(&self.role))
            .collect();
        if matching.is_empty() {
            out.pass(|| (None, format!("no {} assignment", self.role)));
            return;
        }
        for a in matching {
            out.about(Subject::named(
                SubjectKind::RoleAssignment,
                a.identity.clone().or_else(|| a.name.clone()),
                a.name.clone(),
            ));
            let assignee = a
                .assignee_name
                .clone()
                .or_else(|| a.assignee.clone())
                .unwrap_or_else(|| "(unknown assignee)".into());
            if !a.is_enabled() {
                out.pass(|| (None, format!("{} to {assignee} is disabled", self.role)));
                continue;
            }
            out.fail(
                None,
                format!(
                    "{} is assigned to {assignee}{} over {}",
                    self.role,
                    a.assignee_type
                        .as_deref()
                        .map(|t| format!(" ({t})"))
                        .unwrap_or_default(),
                    a.scope.label()
                ),
                evidence(json!({
                    "assignment": a.name,
                    "role": a.role,
                    "assignee": a.assignee,
                    "assignee_name": a.assignee_name,
                    "assignee_type": a.assignee_type,
                    "scope": a.scope,
                })),
            );
        }
    }
}
