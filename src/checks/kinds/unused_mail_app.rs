//! The `unused-mail-app` check kind: see [`KIND`].

use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;

use crate::checks::consent::{
    Consent, app_only_mail_access, mail_consents, rbac_unseen_for_tenant,
};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes, evidence};
use crate::dates::{rfc3339, ymd};
use crate::finding::Severity;
use crate::model::{App, AppKind, CredentialKind, Missing, SignIns};

/// How to export the sign-in activity report.
pub const SIGN_IN_REPORT_EXPORT: &str = "export it with GET \
/beta/reports/servicePrincipalSignInActivities (AuditLog.Read.All; Entra ID P1 or P2)";

/// The `unused-mail-app` kind.
pub const KIND: Kind = Kind {
    name: "unused-mail-app",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "An app or service principal that reaches mail (app-only mailbox permissions or RBAC \
        for Applications, or delegated mailbox scopes consented for all users) and has not \
        signed in, in any role, for days days, or has no sign-in on record. High when it also \
        holds a live client secret. Apps created fewer than days days ago pass. Not evaluated \
        without the sign-in activity report, said once for the tenant.",
    params: &[Param {
        name: "days",
        ty: "integer",
        default: Some("90"),
        meaning: "How long without a sign-in makes an app unused.",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<UnusedMailApp>(de),
    keys: registry::keys_of::<UnusedMailApp>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnusedMailApp {
    #[serde(default = "default_days")]
    days: i64,
}

fn default_days() -> i64 {
    90
}

impl Check for UnusedMailApp {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        if matches!(app.sign_ins, SignIns::Unknown) || app.organization.is_microsoft() {
            return; // said once for the tenant; Microsoft's apps are Microsoft's to retire
        }
        let mut access = app_only_mail_access(app);
        let consents = mail_consents(app, cx.catalog);
        for c in consents.iter().flatten() {
            if c.consent == Some(Consent::AllUsers) {
                access.push(format!(
                    "{} {} (all users)",
                    c.resource(),
                    c.scopes.join(" ")
                ));
            }
        }
        if access.is_empty() {
            if cx.missing.role_assignments.is_some() {
                return; // RBAC access unseen: said once for the tenant
            }
            if app.granted_app_roles.is_some() && consents.is_some() {
                out.pass(|| {
                    (
                        None,
                        "the app holds no app-only mailbox access and no mailbox scope consented for all users"
                            .into(),
                    )
                });
            } else {
                out.not_evaluated(None, cx.missing.granted());
            }
            return;
        }
        let window = TimeDelta::days(self.days);
        if let Some(created) = app.created.filter(|c| *c > cx.as_of - window) {
            out.pass(|| {
                (
                    None,
                    format!(
                        "created on {}, less than {} days ago",
                        ymd(created),
                        self.days
                    ),
                )
            });
            return;
        }
        let latest = app.sign_ins.latest();
        if let Some(at) = latest.filter(|at| *at > cx.as_of - window) {
            out.pass(|| (None, format!("last signed in on {}", ymd(at))));
            return;
        }
        // A registration may be too new to have signed in; a service principal has no
        // creation date to say so.
        if app.kind == AppKind::Application && app.created.is_none() {
            out.not_evaluated(
                None,
                format!(
                    "no sign-in in {} days, but the export has no createdDateTime for the app, \
                     which may be newer than that",
                    self.days
                ),
            );
            return;
        }
        let live_secret = app
            .credentials()
            .chain(
                app.enterprise_app()
                    .into_iter()
                    .flat_map(|sp| sp.credentials()),
            )
            .any(|c| c.kind == CredentialKind::Secret && c.end.is_some_and(|end| end > cx.as_of));
        let when = match latest {
            Some(at) => format!(
                "last signed in on {}, more than {} days ago",
                ymd(at),
                self.days
            ),
            None => "no sign-in on record".to_string(),
        };
        let report = match &app.sign_ins {
            SignIns::Recorded {
                last,
                app_only,
                delegated,
                as_resource,
            } => json!({
                "last": last.map(rfc3339),
                "app_only": app_only.map(rfc3339),
                "delegated": delegated.map(rfc3339),
                "as_resource": as_resource.map(rfc3339),
            }),
            _ => json!(null),
        };
        out.fail_at(
            live_secret.then_some(Severity::High),
            None,
            format!(
                "{} reaches mail ({}) but is unused: {when}{}",
                app.name(),
                access.join(", "),
                if live_secret {
                    "; it still holds a live client secret"
                } else {
                    ""
                }
            ),
            evidence(json!({
                "mail_access": access,
                "sign_ins": report,
                "days": self.days,
                "live_secret": live_secret,
            })),
        );
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }

    fn not_evaluated_for_tenant(&self, missing: &Missing) -> Option<String> {
        missing
            .sign_ins
            .as_ref()
            .map(|why| format!("{why}: {SIGN_IN_REPORT_EXPORT}"))
            .or_else(|| rbac_unseen_for_tenant(missing))
    }
}
