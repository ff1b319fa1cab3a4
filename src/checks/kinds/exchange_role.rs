//! The `exchange-role` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `exchange-role` kind.
pub const KIND: Kind = Kind {
    name: "exchange-role",
    scope: Scope::App,
    written_in: Written::Profiles,
    docs: "An enabled Exchange management role assignment of `role` exists for the app's \
        service principal, or for a user or role group (the service account a vendor guide \
        sets up). Fails when there is none: the opposite of `role-assignment`, which fails on \
        every assignment of a role that should be gone.",
    params: &[Param {
        name: "role",
        ty: "string",
        default: None,
        meaning: "The management role the guide assigns (e.g. ApplicationImpersonation, Application Mail.ReadWrite).",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<ExchangeRole>(de),
    keys: registry::keys_of::<ExchangeRole>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRole {
    role: String,
}

impl Check for ExchangeRole {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let role = &self.role;
        let Some(assignments) = &cx.exchange.role_assignments else {
            out.not_evaluated(
                None,
                cx.missing
                    .role_assignments
                    .clone()
                    .unwrap_or_else(|| "management role assignments were not collected".into()),
            );
            return;
        };
        // An assignment to a service principal counts only for this app's; one to a user or
        // role group (a service account, as the vendor guides set up) counts as is.
        let exchange_sps = cx
            .exchange
            .service_principals
            .as_deref()
            .unwrap_or_default();
        let app_id = app.app_id.as_deref().map(str::to_ascii_lowercase);
        let holders: Vec<String> = assignments
            .iter()
            .filter(|a| a.is_role(role) && a.is_enabled())
            .filter(|a| match a.service_principal {
                Some(i) => exchange_sps.get(i).and_then(|sp| sp.app_id.clone()) == app_id,
                None => !a
                    .assignee_type
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case("ServicePrincipal")),
            })
            .map(
                |a| match a.assignee_name.as_deref().or(a.assignee.as_deref()) {
                    Some(who) => format!("{who} ({})", a.label()),
                    None => a.label(),
                },
            )
            .collect();
        if holders.is_empty() {
            out.fail(
                None,
                format!("no enabled {role} role assignment"),
                evidence(json!({"role": role})),
            );
        } else {
            out.pass(|| {
                (
                    None,
                    format!("{role} is assigned to {}", holders.join(", ")),
                )
            });
        }
    }
}
