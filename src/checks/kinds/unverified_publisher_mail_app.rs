//! The `unverified-publisher-mail-app` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::consent::{
    Consent, VERIFICATION_UNKNOWN, app_only_mail_access, grants_unknown_reason, mail_consents,
    organization_evidence, other_organization, rbac_unseen_for_tenant,
};
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind, Missing};

/// The `unverified-publisher-mail-app` kind.
pub const KIND: Kind = Kind {
    name: "unverified-publisher-mail-app",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "Another organization's app reaches mail (app-only mailbox permissions or RBAC for \
        Applications, or delegated mailbox scopes consented by an admin or by users) and its \
        publisher is not verified: nobody Microsoft checked stands behind it. This tenant's and \
        Microsoft's apps are not evaluated.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<UnverifiedPublisherMailApp>(de),
    keys: registry::keys_of::<UnverifiedPublisherMailApp>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnverifiedPublisherMailApp {}

impl Check for UnverifiedPublisherMailApp {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(org) = other_organization(app, out) else {
            return;
        };
        let app_only = app_only_mail_access(app);
        let consents = mail_consents(app, cx.catalog);
        let mut delegated: Vec<String> = Vec::new();
        for c in consents.iter().flatten() {
            let who = match c.consent {
                Some(Consent::AllUsers) => "all users",
                Some(Consent::OneUser) => "user consent",
                None => continue,
            };
            for s in &c.scopes {
                let label = format!("{} {s} ({who})", c.resource());
                if !delegated.contains(&label) {
                    delegated.push(label);
                }
            }
        }
        if app_only.is_empty() && delegated.is_empty() {
            if cx.missing.role_assignments.is_some() {
                return; // RBAC access unseen: said once for the tenant
            }
            match consents {
                Some(_) if app.granted_app_roles.is_some() => {
                    out.pass(|| (None, "the app does not reach mail".into()))
                }
                Some(_) => out.not_evaluated(None, cx.missing.granted()),
                None => out.not_evaluated(None, grants_unknown_reason(cx)),
            }
            return;
        }
        match org.verified {
            Some(true) => out.pass(|| {
                (
                    None,
                    format!(
                        "verified publisher {}",
                        org.publisher.as_deref().unwrap_or("(unnamed)")
                    ),
                )
            }),
            None => out.not_evaluated(None, VERIFICATION_UNKNOWN),
            Some(false) => {
                let access: Vec<&str> = app_only
                    .iter()
                    .chain(delegated.iter())
                    .map(String::as_str)
                    .collect();
                out.fail(
                    None,
                    format!(
                        "{} ({}) reaches mail ({}) and its publisher is not verified",
                        app.name(),
                        org.short(),
                        access.join(", ")
                    ),
                    crate::checks::evidence(json!({
                        "app_only_mail_access": app_only,
                        "delegated_mail_consent": delegated,
                        "organization": organization_evidence(org),
                    })),
                );
            }
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }

    fn not_evaluated_for_tenant(&self, missing: &Missing) -> Option<String> {
        rbac_unseen_for_tenant(missing)
    }
}
