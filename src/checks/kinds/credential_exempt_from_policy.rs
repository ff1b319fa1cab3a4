//! The `credential-exempt-from-policy` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::credentials::{
    credential_evidence, credential_item, credential_noun, lifetime_days,
};
use crate::checks::kinds::no_credential_policy::DEFAULT_POLICY_EXPORT;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::dates::ymd;
use crate::model::policy::{Restriction, RestrictionKind};
use crate::model::{App, Credential, CredentialKind, Missing};

/// The `credential-exempt-from-policy` kind.
pub const KIND: Kind = Kind {
    name: "credential-exempt-from-policy",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A live credential of an app registration that the app management policy in force \
        (the one applied to the app, else the tenant default) would refuse on an app created \
        today: a client secret where passwords are blocked, or a lifetime beyond a restriction's \
        maxLifetime. It escaped because the app predates the restriction's \
        restrictForAppsCreatedAfterDateTime, or the credential predates the policy (policies \
        never remove credentials).",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<CredentialExemptFromPolicy>(de),
    keys: registry::keys_of::<CredentialExemptFromPolicy>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialExemptFromPolicy {}

/// Why `c` breaks `r`, if it does.
fn breaks(r: &Restriction, c: &Credential) -> Option<String> {
    let lifetime = match (c.start, c.end) {
        (Some(start), Some(end)) => Some(lifetime_days(start, end)),
        _ => None,
    };
    let too_long = |max: Option<i64>| match (lifetime, max) {
        (Some(days), Some(max)) if days > max => Some(format!(
            "it is valid for {days} days, more than the {max} allowed"
        )),
        _ => None,
    };
    match (r.kind, c.kind) {
        (RestrictionKind::PasswordAddition, CredentialKind::Secret) => {
            Some("client secrets may not be added".into())
        }
        (RestrictionKind::PasswordLifetime, CredentialKind::Secret) => {
            too_long(r.max_lifetime_days)
        }
        (RestrictionKind::AsymmetricKeyLifetime, CredentialKind::Certificate) => {
            too_long(r.max_lifetime_days)
        }
        (RestrictionKind::SymmetricKeyAddition, CredentialKind::SymmetricKey) => {
            Some("symmetric keys may not be added".into())
        }
        (RestrictionKind::SymmetricKeyLifetime, CredentialKind::SymmetricKey) => {
            too_long(r.max_lifetime_days)
        }
        _ => None,
    }
}

impl Check for CredentialExemptFromPolicy {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        if cx.missing.default_app_management_policy.is_some()
            || cx.missing.app_management_policies.is_some()
        {
            return; // said once for the tenant
        }
        if app.object_id.is_none() && !cx.policies.by_object.is_empty() {
            out.not_evaluated(
                None,
                "the app has no object id in the export, so the policies applied to single apps \
                 cannot be matched to it",
            );
            return;
        }
        let ids = [
            app.object_id.as_deref(),
            app.enterprise_app().and_then(|sp| sp.object_id.as_deref()),
        ];
        let Some((policy, app_specific)) = cx.policies.effective(ids.into_iter().flatten()) else {
            // The tenant default is unknown and no app-specific policy names the app: said
            // once for the tenant (`not_evaluated_for_tenant`).
            return;
        };
        if !policy.is_enabled() {
            out.pass(|| {
                (
                    None,
                    format!(
                        "the policy in force ({}) is not enabled: see POLICY-001",
                        policy.label()
                    ),
                )
            });
            return;
        }
        let (credentials, unknown) = crate::checks::credentials::CredentialFilter::Any.select(app);
        if let Some(reason) = unknown {
            out.not_evaluated(None, reason);
        }
        let mut exempt = 0;
        for c in credentials
            .iter()
            .filter(|c| c.end.is_none_or(|end| end > cx.as_of))
        {
            for r in policy.applications.iter().filter(|r| r.enabled) {
                let Some(why) = breaks(r, c) else { continue };
                exempt += 1;
                let escaped = match (r.applies_after, app.created) {
                    (Some(after), Some(created)) if created <= after => format!(
                        "the app was created on {}, before the restriction's cutoff {}",
                        ymd(created),
                        ymd(after)
                    ),
                    (Some(after), None) => format!(
                        "the restriction binds apps created after {} and the app's creation date is not in the export",
                        ymd(after)
                    ),
                    _ => "the credential predates the restriction: policies never remove existing credentials".into(),
                };
                let mut evidence = credential_evidence(c);
                evidence.insert(
                    "restriction".into(),
                    json!({
                        "policy": policy.label(),
                        "app_specific": app_specific,
                        "restriction_type": r.name,
                        "max_lifetime": r.max_lifetime,
                        "restrict_for_apps_created_after": r.applies_after.map(crate::dates::rfc3339),
                    }),
                );
                evidence.insert("escaped_because".into(), json!(escaped));
                out.fail(
                    Some(credential_item(c)),
                    format!(
                        "{} {} would be refused by {} ({}): {why}; {escaped}",
                        credential_noun(c),
                        c.label(),
                        policy.label(),
                        r.name
                    ),
                    evidence,
                );
            }
        }
        if exempt == 0 && unknown.is_none() {
            out.pass(|| {
                (
                    None,
                    format!("every live credential meets {}", policy.label()),
                )
            });
        }
    }

    /// Without the default, or without the policies applied to single apps (which
    /// override it), the policy in force is unknown for every app.
    fn not_evaluated_for_tenant(&self, missing: &Missing) -> Option<String> {
        if let Some(why) = &missing.default_app_management_policy {
            return Some(format!("{why}: {DEFAULT_POLICY_EXPORT}"));
        }
        missing.app_management_policies.as_ref().map(|why| {
            format!(
                "{why}: the policies applied to single apps override the default; export them \
                 with Get-MgPolicyAppManagementPolicy -All -ExpandProperty AppliesTo, GET \
                 /v1.0/policies/appManagementPolicies?$expand=appliesTo, or m365audit collect"
            )
        })
    }
}
