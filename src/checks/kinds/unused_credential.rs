//! The `unused-credential` check kind: see [`KIND`].

use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::{
    credential_evidence, credential_item, credential_noun, sp_credentials_for_tenant,
};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::{rfc3339, ymd};
use crate::model::{App, AppKind, Credential, CredentialSet, Missing, ServicePrincipal};

/// The `unused-credential` kind.
pub const KIND: Kind = Kind {
    name: "unused-credential",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A live client secret or certificate, of the app registration or added to its service \
        principal, with no sign-in for days days, or never used: a credential the credential \
        sign-in report has no row or no date for counts as never used. SAML signing certificate \
        sets (they sign tokens, they never sign in) and credentials that started fewer than \
        days days ago are not judged. Not evaluated without the credential sign-in report, said \
        once for the tenant.",
    params: &[Param {
        name: "days",
        ty: "integer",
        default: Some("90"),
        meaning: "How long without a sign-in makes a credential unused.",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<UnusedCredential>(de),
    keys: registry::keys_of::<UnusedCredential>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnusedCredential {
    #[serde(default = "default_days")]
    days: i64,
}

fn default_days() -> i64 {
    90
}

impl UnusedCredential {
    fn judge(&self, c: &Credential, on_sp: bool, cx: &Context<'_>, out: &mut Outcomes) {
        let window = TimeDelta::days(self.days);
        let item = if on_sp {
            format!("service principal credential {}", credential_item(c))
        } else {
            credential_item(c)
        };
        if c.start.is_some_and(|s| s > cx.as_of - window) {
            out.pass(|| {
                (
                    Some(item),
                    format!("{} {} is new", credential_noun(c), c.label()),
                )
            });
            return;
        }
        if let Some(at) = c.last_sign_in.filter(|at| *at > cx.as_of - window) {
            out.pass(|| {
                (
                    Some(item),
                    format!(
                        "{} {} last used on {}",
                        credential_noun(c),
                        c.label(),
                        ymd(at)
                    ),
                )
            });
            return;
        }
        let when = match c.last_sign_in {
            Some(at) => format!("last used on {}, more than {} days ago", ymd(at), self.days),
            None => "never used".to_string(),
        };
        let mut evidence = credential_evidence(c);
        evidence.insert("last_sign_in".into(), json!(c.last_sign_in.map(rfc3339)));
        evidence.insert("days".into(), json!(self.days));
        if on_sp {
            evidence.insert("on".into(), json!("service_principal"));
        }
        out.fail(
            Some(item),
            format!(
                "{} {} is live but {when}: remove it",
                credential_noun(c),
                c.label()
            ),
            evidence,
        );
    }
}

impl Check for UnusedCredential {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        if cx.missing.credential_sign_ins.is_some() || app.organization.is_microsoft() {
            return; // said once for the tenant; Microsoft's credentials are SP-002's
        }
        let live = |c: &&Credential| c.end.is_none_or(|end| end > cx.as_of);
        let mut judged = 0;
        for c in app.credentials().filter(live) {
            judged += 1;
            self.judge(c, false, cx, out);
        }
        if let Some(sp) = app.enterprise_app() {
            out.about(cx.service_principal_subject(app));
            // Without both lists a password may belong to a SAML signing set whose keys are
            // not in the export.
            if !sp.credentials_known() {
                if cx.missing.service_principal_credentials.is_none() {
                    out.not_evaluated(
                        Some(crate::checks::credentials::SP_CREDENTIALS_ITEM.into()),
                        crate::checks::credentials::SP_CREDENTIALS_UNKNOWN,
                    );
                }
                out.reset_subject();
                return;
            }
            for set in sp.credential_sets() {
                if let CredentialSet::Single(c) = set
                    && live(&c)
                {
                    judged += 1;
                    self.judge(c, true, cx, out);
                }
            }
            out.reset_subject();
        }
        // "No credential" needs both halves: without servicePrincipals.json the service
        // principal's credentials are unseen, not absent.
        let sp_known = match &app.service_principal {
            ServicePrincipal::Absent => true,
            ServicePrincipal::Present(sp) => sp.credentials_known(),
            ServicePrincipal::Unknown => false,
        };
        if judged == 0 && app.credentials_known() && sp_known {
            out.pass(|| (None, "the app has no live credential".into()));
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }

    fn not_evaluated_for_tenant(&self, missing: &Missing) -> Option<String> {
        let report = missing.credential_sign_ins.as_ref().map(|why| {
            format!(
                "{why}: export it with GET /beta/reports/appCredentialSignInActivities \
                 (AuditLog.Read.All; Entra ID P1 or P2)"
            )
        });
        // Service principals' credentials unseen for the whole tenant: said once, as the
        // credential rules say it.
        report.or_else(|| sp_credentials_for_tenant(missing))
    }
}
