//! The `first-party-service-principal-credential` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::{credential_evidence, credential_item, credential_noun};
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Context, Outcomes, ScanInputs, TenantCheck, service_principal_subject};
use crate::model::{AppKind, Tenant};

/// Office 365 Exchange Online: the shared first-party service principal Exchange hybrid
/// used to trust on-premises servers with a certificate (CVE-2025-53786).
const EXCHANGE_ONLINE: &str = "00000002-0000-0ff1-ce00-000000000000";

/// The `first-party-service-principal-credential` kind.
pub const KIND: Kind = Kind {
    name: "first-party-service-principal-credential",
    scope: Scope::Tenant,
    written_in: Written::Anywhere,
    docs: "A credential on a Microsoft first-party service principal (appOwnerOrganizationId \
        f8cdef31-a31e-4b4a-93e4-5f571e91255a, or an app id the catalogue lists): Microsoft's \
        apps hold no credential in a customer's tenant, so one was added there. On Office 365 \
        Exchange Online it is the shared Exchange hybrid trust of CVE-2025-53786. Evaluated \
        once for the tenant: a finding per credential, about the service principal.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::tenant::<FirstPartyServicePrincipalCredential>(de),
    keys: registry::keys_of::<FirstPartyServicePrincipalCredential>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstPartyServicePrincipalCredential {}

impl TenantCheck for FirstPartyServicePrincipalCredential {
    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(counts) = &tenant.first_party else {
            out.not_evaluated(
                None,
                cx.missing
                    .service_principals
                    .clone()
                    .unwrap_or_else(|| "service principals are unknown".into()),
            );
            return;
        };
        let mut found = 0;
        // Those carrying a credential are the tenant's service principal apps.
        let microsoft = tenant
            .apps
            .iter()
            .filter(|a| a.kind == AppKind::ServicePrincipal && a.organization.is_microsoft());
        for app in microsoft {
            let Some(sp) = app.enterprise_app() else {
                continue;
            };
            out.about(service_principal_subject(app));
            for c in sp.credentials() {
                found += 1;
                let hybrid = app.app_id.as_deref() == Some(EXCHANGE_ONLINE);
                let mut evidence = credential_evidence(c);
                evidence.insert("on".into(), json!("service_principal"));
                evidence.insert("first_party".into(), json!(true));
                let message = if hybrid {
                    format!(
                        "{} {} on Office 365 Exchange Online: the shared Exchange hybrid trust \
                         (CVE-2025-53786, CISA ED 25-02) that lets an on-premises Exchange \
                         server act as Exchange Online for every mailbox",
                        credential_noun(c),
                        c.label()
                    )
                } else {
                    format!(
                        "{} {} on Microsoft first-party service principal {}: Microsoft's apps \
                         hold no credential in a customer's tenant",
                        credential_noun(c),
                        c.label(),
                        app.name()
                    )
                };
                if hybrid {
                    evidence.insert("shared_hybrid_trust".into(), json!(true));
                }
                out.fail(
                    Some(format!(
                        "service principal credential {}",
                        credential_item(c)
                    )),
                    message,
                    evidence,
                );
            }
        }
        out.reset_subject();
        if counts.credentials_unknown > 0 {
            out.not_evaluated(
                None,
                format!(
                    "{} of the {} Microsoft first-party service principals were exported without \
                     keyCredentials or passwordCredentials: export service principals with all \
                     their properties (Get-MgServicePrincipal -All, az ad sp list --all, or \
                     m365audit collect)",
                    counts.credentials_unknown, counts.service_principals
                ),
            );
        } else if found == 0 {
            out.pass(|| {
                (
                    None,
                    format!(
                        "none of the {} Microsoft first-party service principals carries a credential",
                        counts.service_principals
                    ),
                )
            });
        }
    }

    /// Reads only the service principals without a registration, always in the tenant.
    fn reads_apps(&self, _inputs: &ScanInputs) -> bool {
        false
    }
}
