//! The `rbac-with-entra-grant` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind, Reach, Via};

/// The `rbac-with-entra-grant` kind.
pub const KIND: Kind = Kind {
    name: "rbac-with-entra-grant",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app has an RBAC for Applications assignment limited to a scope, and also an \
        app-only mailbox permission granted in Entra that no RestrictAccess policy limits. \
        Exchange grants the union, so the Entra grant reaches every mailbox and the RBAC scope \
        restricts nothing.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<RbacWithEntraGrant>(de),
    keys: registry::keys_of::<RbacWithEntraGrant>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RbacWithEntraGrant {}

impl Check for RbacWithEntraGrant {
    fn evaluate(&self, app: &App, _cx: &Context<'_>, out: &mut Outcomes) {
        let access = &app.mailbox_access;
        if let Some(why) = &access.rbac_unknown {
            out.not_evaluated(None, why.clone());
            return;
        }
        let scoped: Vec<_> = access
            .paths
            .iter()
            .filter(|p| p.via == Via::Rbac && !p.reach.is_tenant_wide())
            .collect();
        if scoped.is_empty() {
            out.pass(|| (None, "no scoped RBAC for Applications assignment".into()));
            return;
        }
        let entra: Vec<_> = access
            .paths
            .iter()
            .filter(|p| p.via == Via::Entra && p.granted != Some(false))
            .collect();
        let wide: Vec<_> = entra
            .iter()
            .filter(|p| p.granted == Some(true) && p.reach.is_tenant_wide())
            .collect();
        if !wide.is_empty() {
            out.fail(
                None,
                format!(
                    "{} is scoped by RBAC for Applications ({}) but also holds {} granted in Entra, which reaches {}: the RBAC scope restricts nothing",
                    app.name(),
                    scoped
                        .iter()
                        .map(|p| format!("{}: {}", p.permission, p.reach.label()))
                        .collect::<Vec<_>>()
                        .join("; "),
                    wide.iter().map(|p| p.permission.as_str()).collect::<Vec<_>>().join(", "),
                    wide[0].reach.label()
                ),
                evidence(json!({
                    "rbac_assignments": scoped.iter().map(|p| json!({"role": p.permission, "assignment": p.assignment, "reach": p.reach.label()})).collect::<Vec<_>>(),
                    "entra_grants": wide.iter().map(|p| json!({"permission": p.permission, "reach": p.reach.label()})).collect::<Vec<_>>(),
                })),
            );
        } else if let Some(reason) = entra.iter().find_map(|p| match &p.reach {
            Reach::Unknown { reason } => Some(reason.clone()),
            _ => None,
        }) {
            out.not_evaluated(None, reason);
        } else {
            out.pass(|| {
                (
                    None,
                    "scoped by RBAC for Applications; no unrestricted Entra mailbox grant".into(),
                )
            });
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
