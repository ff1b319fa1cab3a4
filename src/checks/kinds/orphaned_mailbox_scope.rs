//! The `orphaned-mailbox-scope` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Context, Outcomes, TenantCheck};
use crate::finding::{Subject, SubjectKind};
use crate::model::Tenant;

/// The `orphaned-mailbox-scope` kind.
pub const KIND: Kind = Kind {
    name: "orphaned-mailbox-scope",
    scope: Scope::Tenant,
    written_in: Written::Anywhere,
    docs: "An Application Access Policy or an RBAC for Applications assignment that names an app \
        id with no app registration or service principal in the tenant. Left behind when an \
        app was deleted; a new app registered later cannot take the id, but the clutter hides \
        which scoping is real.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::tenant::<OrphanedMailboxScope>(de),
    keys: registry::keys_of::<OrphanedMailboxScope>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrphanedMailboxScope {}

impl TenantCheck for OrphanedMailboxScope {
    fn reads_apps(&self, _inputs: &crate::checks::ScanInputs) -> bool {
        false
    }

    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(known) = &tenant.directory_app_ids else {
            out.not_evaluated(
                None,
                cx.missing.service_principals.clone().unwrap_or_default(),
            );
            return;
        };
        let x = &tenant.exchange;
        let mut checked = 0;
        let mut unknown = false;
        match &x.access_policies {
            None => {
                unknown = true;
                out.not_evaluated(None, cx.missing.access_policies.clone().unwrap_or_default());
            }
            Some(policies) => {
                for p in policies {
                    checked += 1;
                    out.about(Subject {
                        app_id: p.app_ids.first().cloned(),
                        ..Subject::named(
                            SubjectKind::AccessPolicy,
                            p.identity.clone(),
                            Some(p.scope_label()),
                        )
                    });
                    let orphans: Vec<&String> = p
                        .app_ids
                        .iter()
                        .filter(|id| id.as_str() != "*" && !known.contains(*id))
                        .collect();
                    if orphans.is_empty() {
                        out.pass(|| (None, "the policy's app exists".into()));
                    } else {
                        out.fail(
                            None,
                            format!(
                                "Application Access Policy on {} names app id {}, which has no app or service principal in the tenant",
                                p.scope_label(),
                                orphans.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                            ),
                            evidence(json!({"policy": p.identity, "orphaned_app_ids": orphans, "scope": p.scope_label()})),
                        );
                    }
                }
            }
        }
        match (&x.role_assignments, &x.service_principals) {
            (None, _) => out.not_evaluated(
                None,
                cx.missing.role_assignments.clone().unwrap_or_default(),
            ),
            (Some(_), None) => out.not_evaluated(
                None,
                cx.missing
                    .exchange_service_principals
                    .clone()
                    .unwrap_or_default(),
            ),
            (Some(assignments), Some(pointers)) => {
                for a in assignments.iter().filter(|a| a.service_principal.is_some()) {
                    let Some(sp) = a.service_principal.and_then(|i| pointers.get(i)) else {
                        continue;
                    };
                    checked += 1;
                    out.about(Subject {
                        app_id: sp.app_id.clone(),
                        ..Subject::named(
                            SubjectKind::RoleAssignment,
                            a.identity.clone().or_else(|| a.name.clone()),
                            a.name.clone(),
                        )
                    });
                    match &sp.app_id {
                        Some(app_id) if !known.contains(app_id) => out.fail(
                            None,
                            format!(
                                "Role assignment {} ({}) is for the Exchange service principal of app id {app_id}, which has no app or service principal in the tenant",
                                a.label(),
                                a.role.as_deref().unwrap_or("?")
                            ),
                            evidence(json!({
                                "assignment": a.name, "role": a.role, "app_id": app_id,
                                "exchange_service_principal": sp.display_name, "scope": a.scope.label(),
                            })),
                        ),
                        _ => out.pass(|| (None, "the assignment's app exists".into())),
                    }
                }
            }
        }
        out.reset_subject();
        if checked == 0 && !unknown {
            out.pass(|| {
                (
                    None,
                    "no access policies or app role assignments to check".into(),
                )
            });
        }
    }
}
