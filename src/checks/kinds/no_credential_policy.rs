//! The `no-credential-policy` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Context, Outcomes, ScanInputs, TenantCheck, evidence};
use crate::model::Tenant;
use crate::model::policy::RestrictionKind;

/// How to export the tenant default policy.
pub const DEFAULT_POLICY_EXPORT: &str = "export it with Get-MgPolicyDefaultAppManagementPolicy | \
ConvertTo-Json -Depth 10 (Policy.Read.All), GET /v1.0/policies/defaultAppManagementPolicy, or \
m365audit collect";

/// The `no-credential-policy` kind.
pub const KIND: Kind = Kind {
    name: "no-credential-policy",
    scope: Scope::Tenant,
    written_in: Written::Anywhere,
    docs: "The tenant's default app management policy does not restrict client secrets of new \
        app registrations: it is disabled, or none of its restrictions that bind apps created \
        today blocks adding passwords or limits their lifetime to max_days or less. Evaluated \
        once for the tenant.",
    params: &[Param {
        name: "max_days",
        ty: "integer",
        default: Some("365"),
        meaning: "The longest secret lifetime a passwordLifetime restriction may allow (CRED-003's limit).",
    }],
    renamed_from: &[],
    build: |de, _| registry::tenant::<NoCredentialPolicy>(de),
    keys: registry::keys_of::<NoCredentialPolicy>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoCredentialPolicy {
    #[serde(default = "default_max_days")]
    max_days: i64,
}

fn default_max_days() -> i64 {
    365
}

impl TenantCheck for NoCredentialPolicy {
    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes) {
        let policies = &tenant.policies;
        let Some(policy) = &policies.default else {
            let why = policies
                .default_missing
                .as_deref()
                .unwrap_or("the default app management policy is unknown");
            out.not_evaluated(None, format!("{why}: {DEFAULT_POLICY_EXPORT}"));
            return;
        };
        if !policy.is_enabled() {
            out.fail(
                None,
                format!(
                    "the default app management policy is {}: nothing restricts the client \
                     secrets of app registrations",
                    if policy.enabled.is_none() {
                        "not enabled (isEnabled unset)"
                    } else {
                        "disabled"
                    }
                ),
                evidence(json!({"policy": policy.label(), "is_enabled": policy.enabled})),
            );
            return;
        }
        // Restrictions that bind an app registered now.
        let binding = policy
            .applications
            .iter()
            .filter(|r| r.enabled && r.binds(Some(cx.as_of)));
        let mut lifetimes = Vec::new();
        for r in binding {
            match r.kind {
                RestrictionKind::PasswordAddition => {
                    out.pass(|| {
                        (
                            None,
                            "new app registrations cannot add client secrets".into(),
                        )
                    });
                    return;
                }
                RestrictionKind::PasswordLifetime => {
                    if let Some(days) = r.max_lifetime_days {
                        lifetimes.push(days);
                    }
                }
                _ => {}
            }
        }
        match lifetimes.iter().min() {
            Some(&days) if days <= self.max_days => {
                out.pass(|| (None, format!("new client secrets live at most {days} days")))
            }
            shortest => out.fail(
                None,
                match shortest {
                    Some(days) => format!(
                        "the default app management policy lets new client secrets live {days} \
                         days, more than {}",
                        self.max_days
                    ),
                    None => "the default app management policy neither blocks client secrets \
                             nor limits their lifetime for new app registrations"
                        .into(),
                },
                evidence(json!({
                    "policy": policy.label(),
                    "password_lifetime_days": shortest,
                    "max_days": self.max_days,
                    "restrictions": policy.applications,
                })),
            ),
        }
    }

    fn reads_apps(&self, _inputs: &ScanInputs) -> bool {
        false
    }
}
