//! Raw Entra app management policies: the tenant default (`GET
//! /policies/defaultAppManagementPolicy`, a `tenantAppManagementPolicy`) and the policies
//! applied to single apps (`GET /policies/appManagementPolicies?$expand=appliesTo`). Graph
//! REST camelCase and Graph PowerShell PascalCase are both read. Durations stay text here
//! (`P365D`); the model reads them.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::de::{datetime, present};

/// `defaultAppManagementPolicy.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawTenantAppManagementPolicy {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    /// Off by default: a disabled policy restricts nothing.
    #[serde(default, deserialize_with = "present", alias = "IsEnabled")]
    pub is_enabled: Option<Option<bool>>,
    /// What applies to app registrations.
    #[serde(alias = "ApplicationRestrictions")]
    pub application_restrictions: Option<RawAppManagementConfiguration>,
    /// What applies to service principals.
    #[serde(alias = "ServicePrincipalRestrictions")]
    pub service_principal_restrictions: Option<RawAppManagementConfiguration>,
}

/// An entry of `appManagementPolicies.json`: a policy applied to the objects it names.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAppManagementPolicy {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "present", alias = "IsEnabled")]
    pub is_enabled: Option<Option<bool>>,
    #[serde(alias = "Restrictions")]
    pub restrictions: Option<RawAppManagementConfiguration>,
    /// Present only with `$expand=appliesTo`: the applications and service principals.
    #[serde(alias = "AppliesTo")]
    pub applies_to: Option<Vec<RawPolicyTarget>>,
}

/// `appManagementConfiguration`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAppManagementConfiguration {
    #[serde(alias = "PasswordCredentials")]
    pub password_credentials: Option<Vec<RawCredentialRestriction>>,
    #[serde(alias = "KeyCredentials")]
    pub key_credentials: Option<Vec<RawCredentialRestriction>>,
}

/// `passwordCredentialConfiguration` / `keyCredentialConfiguration`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCredentialRestriction {
    /// `passwordAddition`, `passwordLifetime`, `symmetricKeyAddition`,
    /// `symmetricKeyLifetime`, `customPasswordAddition`, `asymmetricKeyLifetime`, ...
    #[serde(alias = "RestrictionType")]
    pub restriction_type: Option<String>,
    /// ISO 8601 duration (`P365D`, `P4DT12H30M5S`).
    #[serde(alias = "MaxLifetime")]
    pub max_lifetime: Option<String>,
    /// The restriction applies to apps created after this instant only.
    #[serde(
        default,
        deserialize_with = "datetime",
        alias = "RestrictForAppsCreatedAfterDateTime"
    )]
    pub restrict_for_apps_created_after_date_time: Option<DateTime<Utc>>,
    /// `enabled` / `disabled` in newer schemas.
    #[serde(alias = "State")]
    pub state: Option<String>,
}

/// An object a policy applies to (an application or a service principal).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPolicyTarget {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
}
