//! The `service-principal-credential` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::consent::{app_only_mail_access, organization_evidence, privileged_access};
use crate::checks::credentials::{
    SP_CREDENTIALS_ITEM, SP_CREDENTIALS_UNKNOWN, credential_evidence, credential_item,
    credential_noun, sp_credentials_for_tenant,
};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::finding::Severity;
use crate::model::{App, AppKind, CredentialSet, Missing, OrganizationKind, ServicePrincipal};

/// The `service-principal-credential` kind.
pub const KIND: Kind = Kind {
    name: "service-principal-credential",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A client secret or certificate added to the service principal (enterprise \
        application) of an app that is not Microsoft's, where the app registration does not show \
        it: whoever holds it signs in as the app in this tenant. A SAML signing certificate set \
        (Sign and Verify keys sharing one customKeyIdentifier, with the password beside them, on \
        a service principal whose preferredSingleSignOnMode is saml) is not counted. One finding \
        per credential, about the service principal; the rule's severity for this tenant's own \
        apps, higher for other organizations' apps and for apps that reach mail.",
    params: &[
        Param {
            name: "another_organization",
            ty: "severity",
            default: Some("\"high\""),
            meaning: "The severity when the app is another organization's (or whose it is is unknown).",
        },
        Param {
            name: "with_mail_or_privileged_access",
            ty: "severity",
            default: Some("\"critical\""),
            meaning: "The severity when the service principal also holds app-only mailbox access (granted permissions or RBAC for Applications) or a privileged directory permission (PERM-004's).",
        },
    ],
    renamed_from: &[],
    build: |de, _| registry::app::<ServicePrincipalCredential>(de),
    keys: registry::keys_of::<ServicePrincipalCredential>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePrincipalCredential {
    #[serde(default = "high")]
    another_organization: Severity,
    #[serde(default = "critical")]
    with_mail_or_privileged_access: Severity,
}

fn high() -> Severity {
    Severity::High
}

fn critical() -> Severity {
    Severity::Critical
}

impl Check for ServicePrincipalCredential {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        // Microsoft's own service principals are first-party-service-principal-credential's.
        if app.organization.is_microsoft() {
            return;
        }
        // Unknown for the whole tenant: said once (`not_evaluated_for_tenant`).
        let (no_sps, no_credentials) = (
            cx.missing.service_principals.is_some(),
            cx.missing.service_principal_credentials.is_some(),
        );
        let sp = match &app.service_principal {
            ServicePrincipal::Unknown => {
                if !no_sps {
                    out.not_evaluated(
                        Some(SP_CREDENTIALS_ITEM.into()),
                        cx.service_principal_unknown(),
                    );
                }
                return;
            }
            ServicePrincipal::Absent => {
                out.pass(|| {
                    (
                        None,
                        "the app has no service principal in this tenant".into(),
                    )
                });
                return;
            }
            ServicePrincipal::Present(sp) => sp,
        };
        if !sp.credentials_known() {
            if !no_credentials {
                out.about(cx.service_principal_subject(app));
                out.not_evaluated(Some(SP_CREDENTIALS_ITEM.into()), SP_CREDENTIALS_UNKNOWN);
            }
            return;
        }
        out.about(cx.service_principal_subject(app));
        let sets = sp.credential_sets();
        let mail = app_only_mail_access(app);
        let privileged = privileged_access(app);
        let foreign = matches!(
            app.organization.kind,
            OrganizationKind::Other | OrganizationKind::Unknown
        );
        let mut added = 0;
        for set in &sets {
            let c = set.credential();
            if let CredentialSet::SamlSigning {
                decided: false,
                members,
                ..
            } = set
            {
                out.not_evaluated(
                    Some(format!("service principal SAML signing certificate {}", credential_item(c))),
                    format!(
                        "the export has no preferredSingleSignOnMode for this service principal, so \
                         its {} credentials sharing the identifier of {} (Sign and Verify keys) may \
                         be a SAML signing certificate or credentials someone added: export service \
                         principals with all their properties",
                        members.len(),
                        c.label()
                    ),
                );
                continue;
            }
            if let CredentialSet::SamlSigning { members, .. } = set {
                out.pass(|| {
                    (
                        Some(format!("service principal SAML signing certificate {}", credential_item(c))),
                        format!(
                            "SAML signing certificate {} ({} credentials of one set): the certificate single sign-on needs",
                            c.label(),
                            members.len()
                        ),
                    )
                });
                continue;
            }
            added += 1;
            let severity = if !mail.is_empty() || !privileged.is_empty() {
                Some(self.with_mail_or_privileged_access)
            } else if foreign {
                Some(self.another_organization)
            } else {
                None
            };
            let mut evidence = credential_evidence(c);
            evidence.insert("on".into(), json!("service_principal"));
            evidence.insert(
                "organization".into(),
                organization_evidence(&app.organization),
            );
            if !mail.is_empty() {
                evidence.insert("app_only_mail_access".into(), json!(mail));
            }
            if !privileged.is_empty() {
                evidence.insert("privileged_permissions".into(), json!(privileged));
            }
            let whose = match (app.kind, app.organization.kind) {
                (AppKind::Application, _) | (_, OrganizationKind::ThisTenant) => {
                    "this tenant's app: credentials belong on the app registration".to_string()
                }
                _ => format!("an app of {}", app.organization.describe()),
            };
            let reach = match (mail.is_empty(), privileged.is_empty()) {
                (false, _) => format!("; it reaches mail app-only ({})", mail.join(", ")),
                (true, false) => format!(
                    "; it holds privileged directory permissions ({})",
                    privileged.join(", ")
                ),
                (true, true) => String::new(),
            };
            out.fail_at(
                severity,
                Some(format!(
                    "service principal credential {}",
                    credential_item(c)
                )),
                format!(
                    "{} {} was added to the service principal of {}, {whose}{reach}",
                    credential_noun(c),
                    c.label(),
                    app.name(),
                ),
                evidence,
            );
        }
        if added == 0 {
            out.pass(|| {
                (
                    None,
                    "no credential was added to the service principal".into(),
                )
            });
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }

    fn not_evaluated_for_tenant(&self, missing: &Missing) -> Option<String> {
        sp_credentials_for_tenant(missing)
    }
}
