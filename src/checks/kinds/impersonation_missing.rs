//! The `impersonation-missing` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::{find_permissions, none_found};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind, PermissionClass, PermissionKind};

/// The `impersonation-missing` kind.
pub const KIND: Kind = Kind {
    name: "impersonation-missing",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "An app that signs in to EWS as a service account (delegated EWS.AccessAsUser.All, the \
        set-up of the Sage CRM and SenseHQ guides, which then give that account \
        ApplicationImpersonation) while no ApplicationImpersonation assignment covers the \
        account. The role was removed from Exchange Online in 2025, so the fix is a migration, \
        not a new assignment.",
    params: &[Param {
        name: "role",
        ty: "string",
        default: None,
        meaning: "The management role that must cover the service account (ApplicationImpersonation).",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<ImpersonationMissing>(de),
    keys: registry::keys_of::<ImpersonationMissing>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpersonationMissing {
    role: String,
}

impl Check for ImpersonationMissing {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let found = find_permissions(app, cx, |p| {
            p.kind == Some(PermissionKind::Delegated) && p.classes.contains(&PermissionClass::Ews)
        });
        if found.list.is_empty() {
            none_found(&found, "delegated EWS permission", out);
            return;
        }
        let Some(assignments) = &cx.exchange.role_assignments else {
            out.not_evaluated(
                None,
                cx.missing.role_assignments.clone().unwrap_or_default(),
            );
            return;
        };
        let holders: Vec<_> = assignments
            .iter()
            .filter(|a| a.is_role(&self.role) && a.is_enabled())
            .collect();
        let ews: Vec<&str> = found.list.iter().map(|s| s.label.as_str()).collect();
        let migrate = format!(
            "{} was removed from Exchange Online in 2025: move the integration to app-only access (Graph permissions, or full_access_as_app until EWS shuts down) scoped with RBAC for Applications",
            self.role
        );
        let named = &cx.inputs.integration_mailboxes;
        // Keys a service account may appear under in RoleAssignee / RoleAssigneeName.
        let keys: Vec<String> = named
            .iter()
            .flat_map(|n| {
                let mailbox = cx.exchange.find_mailbox(n);
                std::iter::once(n.clone()).chain(mailbox.into_iter().flat_map(|m| {
                    [
                        &m.identity,
                        &m.name,
                        &m.external_directory_object_id,
                        &m.primary_smtp_address,
                    ]
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                }))
            })
            .collect();
        let covering = holders.iter().find(|a| {
            [&a.assignee, &a.assignee_name]
                .into_iter()
                .flatten()
                .any(|v| keys.iter().any(|k| k.eq_ignore_ascii_case(v)))
        });
        let account = if named.is_empty() {
            "any account".to_string()
        } else {
            named.join(", ")
        };
        match (holders.is_empty(), covering, named.is_empty()) {
            (true, _, _) | (false, None, false) => out.fail(
                None,
                format!(
                    "{} uses EWS as a signed-in service account ({}), which its guide pairs with {}; no {} assignment covers {account}. {migrate}",
                    app.name(),
                    ews.join(", "),
                    self.role,
                    self.role
                ),
                evidence(json!({
                    "ews_permissions": found.list.iter().map(|s| s.evidence()).collect::<Vec<_>>(),
                    "service_accounts": named,
                    "role_holders": holders.iter().map(|a| a.assignee_name.clone().or_else(|| a.assignee.clone())).collect::<Vec<_>>(),
                })),
            ),
            (false, Some(a), _) => {
                let holder = a.label();
                out.pass(|| (None, format!("{} covers the service account ({holder}); see EXO-001: the role no longer exists", self.role)));
            }
            (false, None, true) => out.not_evaluated(
                None,
                format!(
                    "{} is assigned ({}) but the integration's service account is not known: name it with --mailbox",
                    self.role,
                    holders.iter().map(|a| a.label()).collect::<Vec<_>>().join(", ")
                ),
            ),
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
