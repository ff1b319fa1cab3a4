//! The `assignment-not-required` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::consent::{Consent, grants_unknown_reason, mail_consents};
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind, ServicePrincipal};

/// The `assignment-not-required` kind.
pub const KIND: Kind = Kind {
    name: "assignment-not-required",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A service principal with admin-consented (AllPrincipals) delegated mailbox scopes \
        whose appRoleAssignmentRequired is false: any user of the tenant can sign in to the app \
        and hand it their mailbox under that consent, not only the users it was meant for. \
        Microsoft's apps are not evaluated.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<AssignmentNotRequired>(de),
    keys: registry::keys_of::<AssignmentNotRequired>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentNotRequired {}

impl Check for AssignmentNotRequired {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        if app.organization.is_microsoft() {
            return;
        }
        let sp = match &app.service_principal {
            ServicePrincipal::Present(sp) => sp,
            ServicePrincipal::Absent => {
                out.pass(|| {
                    (
                        None,
                        "the app has no service principal in this tenant".into(),
                    )
                });
                return;
            }
            ServicePrincipal::Unknown => {
                out.not_evaluated(None, cx.service_principal_unknown());
                return;
            }
        };
        let Some(consents) = mail_consents(app, cx.catalog) else {
            out.not_evaluated(None, grants_unknown_reason(cx));
            return;
        };
        let admin: Vec<String> = consents
            .iter()
            .filter(|c| c.consent == Some(Consent::AllUsers))
            .flat_map(|c| {
                c.scopes
                    .iter()
                    .map(move |s| format!("{} {s}", c.resource()))
            })
            .collect();
        if admin.is_empty() {
            out.pass(|| (None, "no mailbox scope is consented for all users".into()));
            return;
        }
        out.about(cx.service_principal_subject(app));
        match sp.app_role_assignment_required {
            None => out.not_evaluated(
                None,
                "the service principal has no appRoleAssignmentRequired in the export: export \
                 service principals with all their properties (Get-MgServicePrincipal -All, az ad \
                 sp list --all, or m365audit collect)",
            ),
            Some(true) => out.pass(|| {
                (
                    None,
                    "only assigned users and groups can use the app".into(),
                )
            }),
            Some(false) => out.fail(
                None,
                format!(
                    "any user can sign in to {} and use its admin consent to {}: assignment is not required",
                    app.name(),
                    admin.join(", ")
                ),
                crate::checks::evidence(json!({
                    "app_role_assignment_required": false,
                    "admin_consented_mailbox_scopes": admin,
                })),
            ),
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
