//! The tenant's app management policies, read into the restrictions they place on
//! credentials: which kinds may not be added, and how long the rest may live.
//!
//! A policy is the tenant default (`defaultAppManagementPolicy`) or one applied to single
//! apps (`appManagementPolicies`, through `appliesTo`). The one in force for an app is the
//! policy applied to it, else the default (Microsoft Graph, tenantAppManagementPolicy and
//! appManagementPolicy resources). A restriction binds only apps created after its
//! `restrictForAppsCreatedAfterDateTime`, and never removes credentials that already exist.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::id::norm;
use crate::snapshot::{
    RawAppManagementConfiguration, RawAppManagementPolicy, RawCredentialRestriction,
    RawTenantAppManagementPolicy, Snapshot,
};

/// What a restriction restricts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RestrictionKind {
    /// No client secret may be added.
    PasswordAddition,
    /// Client secrets may live at most `max_lifetime`.
    PasswordLifetime,
    /// No secret with a value chosen by the caller.
    CustomPasswordAddition,
    SymmetricKeyAddition,
    SymmetricKeyLifetime,
    /// Certificates may live at most `max_lifetime`.
    AsymmetricKeyLifetime,
    /// A value this version does not know.
    Other,
}

impl RestrictionKind {
    fn parse(s: &str) -> RestrictionKind {
        match s.to_ascii_lowercase().as_str() {
            "passwordaddition" => RestrictionKind::PasswordAddition,
            "passwordlifetime" => RestrictionKind::PasswordLifetime,
            "custompasswordaddition" => RestrictionKind::CustomPasswordAddition,
            "symmetrickeyaddition" => RestrictionKind::SymmetricKeyAddition,
            "symmetrickeylifetime" => RestrictionKind::SymmetricKeyLifetime,
            "asymmetrickeylifetime" => RestrictionKind::AsymmetricKeyLifetime,
            _ => RestrictionKind::Other,
        }
    }
}

/// One restriction of a policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restriction {
    pub kind: RestrictionKind,
    /// As the policy writes it (`restrictionType`).
    pub name: String,
    /// `maxLifetime` in whole days (rounded down), when it has one that reads as a duration.
    pub max_lifetime_days: Option<i64>,
    /// `maxLifetime` as written.
    pub max_lifetime: Option<String>,
    /// Binds only apps created after this instant.
    pub applies_after: Option<DateTime<Utc>>,
    /// False when the restriction's `state` is `disabled`.
    pub enabled: bool,
}

impl Restriction {
    /// Whether the restriction binds an app created at `created` (unknown: assumed bound).
    pub fn binds(&self, created: Option<DateTime<Utc>>) -> bool {
        match (self.applies_after, created) {
            (Some(after), Some(created)) => created > after,
            _ => true,
        }
    }
}

/// A policy: its restrictions for app registrations and for service principals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialPolicy {
    pub id: Option<String>,
    pub name: Option<String>,
    /// `isEnabled`; `None` when the export does not say (Graph's default is false).
    pub enabled: Option<bool>,
    pub applications: Vec<Restriction>,
    pub service_principals: Vec<Restriction>,
}

impl CredentialPolicy {
    pub fn is_enabled(&self) -> bool {
        self.enabled == Some(true)
    }

    /// A name for messages.
    pub fn label(&self) -> String {
        match (&self.name, &self.id) {
            (Some(name), _) => name.clone(),
            (None, Some(id)) => id.clone(),
            (None, None) => "(unnamed policy)".into(),
        }
    }
}

/// The tenant's policies, as far as the export has them.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// The tenant default, when the export has it (`default_missing` says why not).
    pub default: Option<CredentialPolicy>,
    pub default_missing: Option<String>,
    /// App-specific policies by the normalized object id they apply to (application or
    /// service principal).
    pub by_object: HashMap<String, CredentialPolicy>,
    /// Why app-specific policies are unknown.
    pub app_policies_missing: Option<String>,
}

impl Policies {
    pub fn from_snapshot(s: &Snapshot) -> Policies {
        let default = s
            .policies
            .default
            .items()
            .and_then(|list| list.first())
            .map(tenant_policy);
        let default_missing = match (&default, s.policies.default.missing_reason()) {
            (_, Some(why)) => Some(why.to_string()),
            (None, None) => Some("policies/defaultAppManagementPolicy.json is empty".into()),
            (Some(_), None) => None,
        };
        let mut by_object = HashMap::new();
        for raw in s.policies.app_policies.items().unwrap_or_default() {
            let policy = app_policy(raw);
            for target in raw.applies_to.iter().flatten() {
                if let Some(id) = &target.id {
                    by_object.insert(norm(id), policy.clone());
                }
            }
        }
        Policies {
            default,
            default_missing,
            by_object,
            app_policies_missing: s.policies.app_policies.missing_reason().map(String::from),
        }
    }

    /// Only a tenant default (a rule example's).
    pub fn with_default(raw: &RawTenantAppManagementPolicy) -> Policies {
        Policies {
            default: Some(tenant_policy(raw)),
            ..Policies::default()
        }
    }

    /// The policy in force for an object (an app's object id or its service principal's),
    /// and whether it is app-specific; `None` when the default is unknown and none applies.
    pub fn effective<'a>(
        &'a self,
        object_ids: impl IntoIterator<Item = &'a str>,
    ) -> Option<(&'a CredentialPolicy, bool)> {
        object_ids
            .into_iter()
            .find_map(|id| self.by_object.get(id))
            .map(|p| (p, true))
            .or_else(|| self.default.as_ref().map(|p| (p, false)))
    }
}

fn tenant_policy(raw: &RawTenantAppManagementPolicy) -> CredentialPolicy {
    CredentialPolicy {
        id: raw.id.clone(),
        name: raw.display_name.clone(),
        enabled: raw.is_enabled.flatten(),
        applications: restrictions(raw.application_restrictions.as_ref()),
        service_principals: restrictions(raw.service_principal_restrictions.as_ref()),
    }
}

fn app_policy(raw: &RawAppManagementPolicy) -> CredentialPolicy {
    let restrictions = restrictions(raw.restrictions.as_ref());
    CredentialPolicy {
        id: raw.id.as_deref().map(norm),
        name: raw.display_name.clone(),
        enabled: raw.is_enabled.flatten(),
        // An applied policy carries one set of restrictions for whatever it is applied to.
        service_principals: restrictions.clone(),
        applications: restrictions,
    }
}

fn restrictions(config: Option<&RawAppManagementConfiguration>) -> Vec<Restriction> {
    let Some(config) = config else {
        return Vec::new();
    };
    config
        .password_credentials
        .iter()
        .chain(config.key_credentials.iter())
        .flatten()
        .filter_map(restriction)
        .collect()
}

fn restriction(raw: &RawCredentialRestriction) -> Option<Restriction> {
    let name = raw.restriction_type.clone()?;
    Some(Restriction {
        kind: RestrictionKind::parse(&name),
        max_lifetime_days: raw.max_lifetime.as_deref().and_then(duration_days),
        max_lifetime: raw.max_lifetime.clone(),
        applies_after: raw.restrict_for_apps_created_after_date_time,
        enabled: !raw
            .state
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("disabled")),
        name,
    })
}

/// An ISO 8601 duration (`P365D`, `P1Y`, `P4DT12H30M5S`, `P2W`) in whole days, rounded down.
/// Years count 365 days and months 30, as lifetimes are counted elsewhere. `None` when the
/// text is not such a duration.
pub fn duration_days(text: &str) -> Option<i64> {
    let rest = text.trim().strip_prefix(['P', 'p'])?;
    let (date, time) = match rest.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut seconds: f64 = 0.0;
    let mut read = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == ',' {
                number.push(if c == ',' { '.' } else { c });
                continue;
            }
            let unit = units
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(&c))
                .map(|(_, s)| *s)?;
            let value: f64 = number.parse().ok()?;
            seconds += value * unit;
            number.clear();
        }
        number.is_empty().then_some(())
    };
    const DAY: f64 = 86_400.0;
    read(
        date,
        &[
            ('Y', 365.0 * DAY),
            ('M', 30.0 * DAY),
            ('W', 7.0 * DAY),
            ('D', DAY),
        ],
    )?;
    if let Some(time) = time {
        read(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    if date.is_empty() && time.is_none_or(str::is_empty) {
        return None;
    }
    Some((seconds / DAY).floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::duration_days;

    #[test]
    fn durations_read_as_graph_writes_them() {
        assert_eq!(duration_days("P365D"), Some(365));
        assert_eq!(duration_days("P90D"), Some(90));
        assert_eq!(duration_days("P1Y"), Some(365));
        assert_eq!(duration_days("P2W"), Some(14));
        assert_eq!(duration_days("P4DT12H30M5S"), Some(4));
        assert_eq!(duration_days("PT36H"), Some(1));
        assert_eq!(duration_days("P"), None);
        assert_eq!(duration_days("365 days"), None);
        assert_eq!(duration_days("P1X"), None);
    }
}
