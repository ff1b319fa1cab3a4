//! The snapshot: raw objects as Microsoft returns them, plus what was collected. "Not
//! collected" and "collected, none" are different facts and stay different here.

pub mod de;
pub mod exchange;
pub mod graph;
pub mod policy;
pub mod usage;

use chrono::{DateTime, Utc};
use serde::Deserialize;

pub use exchange::{
    RawAccessPolicy, RawAuthorizationTest, RawCasMailbox, RawExchangeServicePrincipal, RawGroup,
    RawManagementScope, RawMember, RawOrganizationConfig, RawRoleAssignment,
};
pub use graph::{
    RawAppRoleAssignment, RawApplication, RawCredential, RawOAuth2PermissionGrant,
    RawServicePrincipal, RawVerifiedPublisher,
};
pub use policy::{
    RawAppManagementConfiguration, RawAppManagementPolicy, RawCredentialRestriction,
    RawPolicyTarget, RawTenantAppManagementPolicy,
};
pub use usage::{
    RawAppCredentialSignInActivity, RawServicePrincipalSignInActivity, RawSignInActivity,
};

/// File names of the export layout (relative to the export folder).
pub mod layout {
    pub const SNAPSHOT: &str = "snapshot.json";
    pub const APPLICATIONS: &str = "applications.json";
    pub const SERVICE_PRINCIPALS: &str = "servicePrincipals.json";
    pub const APP_ROLE_ASSIGNMENTS: &str = "appRoleAssignments.json";
    pub const OAUTH2_PERMISSION_GRANTS: &str = "oauth2PermissionGrants.json";
    pub const GROUPS: &str = "groups.json";
    pub const EXCHANGE_DIR: &str = "exchange";
    pub const ACCESS_POLICIES: &str = "exchange/applicationAccessPolicies.json";
    pub const ROLE_ASSIGNMENTS: &str = "exchange/managementRoleAssignments.json";
    pub const MANAGEMENT_SCOPES: &str = "exchange/managementScopes.json";
    pub const EXCHANGE_SERVICE_PRINCIPALS: &str = "exchange/servicePrincipals.json";
    pub const CAS_MAILBOXES: &str = "exchange/casMailboxes.json";
    pub const ORGANIZATION_CONFIG: &str = "exchange/organizationConfig.json";
    pub const AUTHORIZATION_TESTS: &str = "exchange/authorizationTests.json";
    pub const POLICIES_DIR: &str = "policies";
    pub const DEFAULT_APP_MANAGEMENT_POLICY: &str = "policies/defaultAppManagementPolicy.json";
    pub const APP_MANAGEMENT_POLICIES: &str = "policies/appManagementPolicies.json";
    pub const REPORTS_DIR: &str = "reports";
    pub const SERVICE_PRINCIPAL_SIGN_IN_ACTIVITIES: &str =
        "reports/servicePrincipalSignInActivities.json";
    pub const APP_CREDENTIAL_SIGN_IN_ACTIVITIES: &str =
        "reports/appCredentialSignInActivities.json";
    /// Every file of the layout.
    pub const ALL: &[&str] = &[
        SNAPSHOT,
        APPLICATIONS,
        SERVICE_PRINCIPALS,
        APP_ROLE_ASSIGNMENTS,
        OAUTH2_PERMISSION_GRANTS,
        GROUPS,
        ACCESS_POLICIES,
        ROLE_ASSIGNMENTS,
        MANAGEMENT_SCOPES,
        EXCHANGE_SERVICE_PRINCIPALS,
        CAS_MAILBOXES,
        ORGANIZATION_CONFIG,
        AUTHORIZATION_TESTS,
        DEFAULT_APP_MANAGEMENT_POLICY,
        APP_MANAGEMENT_POLICIES,
        SERVICE_PRINCIPAL_SIGN_IN_ACTIVITIES,
        APP_CREDENTIAL_SIGN_IN_ACTIVITIES,
    ];
}

/// `snapshot.json`: who and what was collected. Extra keys are ignored.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SnapshotMeta {
    pub tenant: Option<String>,
    pub tenant_id: Option<String>,
    #[serde(default, deserialize_with = "de::datetime")]
    pub collected_at: Option<DateTime<Utc>>,
    pub tool_version: Option<String>,
    pub request_count: Option<u64>,
    /// Files that were collected; `None` means "every file present was collected".
    pub parts: Option<Vec<String>>,
}

/// One collection of the snapshot and whether it is there.
#[derive(Debug)]
pub enum Part<T> {
    Collected(Vec<T>),
    /// Not in this input; the text says why (e.g. "servicePrincipals.json was not collected").
    Missing(String),
}

impl<T> Part<T> {
    pub fn items(&self) -> Option<&[T]> {
        match self {
            Part::Collected(v) => Some(v),
            Part::Missing(_) => None,
        }
    }

    pub fn missing_reason(&self) -> Option<&str> {
        match self {
            Part::Collected(_) => None,
            Part::Missing(why) => Some(why),
        }
    }
}

/// The Exchange Online part of a snapshot (`exchange/`).
#[derive(Debug)]
pub struct ExchangeSnapshot {
    pub access_policies: Part<RawAccessPolicy>,
    pub role_assignments: Part<RawRoleAssignment>,
    pub management_scopes: Part<RawManagementScope>,
    pub service_principals: Part<RawExchangeServicePrincipal>,
    pub cas_mailboxes: Part<RawCasMailbox>,
    pub organization_config: Part<RawOrganizationConfig>,
    /// Exchange's own answers for chosen (app, mailbox) pairs.
    pub authorization_tests: Part<RawAuthorizationTest>,
}

impl ExchangeSnapshot {
    /// Every part missing for the same reason (sources without Exchange data).
    pub fn missing(why: &str) -> Self {
        ExchangeSnapshot {
            access_policies: Part::Missing(why.to_string()),
            role_assignments: Part::Missing(why.to_string()),
            management_scopes: Part::Missing(why.to_string()),
            service_principals: Part::Missing(why.to_string()),
            cas_mailboxes: Part::Missing(why.to_string()),
            organization_config: Part::Missing(why.to_string()),
            authorization_tests: Part::Missing(why.to_string()),
        }
    }
}

/// The tenant's app management policies (`policies/`).
#[derive(Debug)]
pub struct PolicySnapshot {
    /// One object: the tenant default.
    pub default: Part<RawTenantAppManagementPolicy>,
    /// The policies applied to single apps.
    pub app_policies: Part<RawAppManagementPolicy>,
}

impl PolicySnapshot {
    /// Every part missing for the same reason.
    pub fn missing(why: &str) -> Self {
        PolicySnapshot {
            default: Part::Missing(why.to_string()),
            app_policies: Part::Missing(why.to_string()),
        }
    }
}

/// Everything read from one source.
#[derive(Debug)]
pub struct Snapshot {
    pub meta: SnapshotMeta,
    pub applications: Vec<RawApplication>,
    pub service_principals: Part<RawServicePrincipal>,
    pub app_role_assignments: Part<RawAppRoleAssignment>,
    pub oauth2_permission_grants: Part<RawOAuth2PermissionGrant>,
    pub groups: Part<RawGroup>,
    pub exchange: ExchangeSnapshot,
    pub policies: PolicySnapshot,
    /// Sign-in activity reports (`reports/`).
    pub sign_ins: Part<RawServicePrincipalSignInActivity>,
    pub credential_sign_ins: Part<RawAppCredentialSignInActivity>,
    /// Whether application objects carry `owners` is decided per object; this says why
    /// they might not (e.g. a manifest never does).
    pub owners_hint: &'static str,
}

/// The properties an exported object must have for the joins between files to mean
/// anything. Graph and Exchange always return them, so an object without one was exported
/// with a narrower `$select`/`Select-Object` or edited by hand. Reading it anyway would turn
/// "not exported" into "no such link": an assignment without `appRoleId` would read as no
/// grant, and a rule would pass on data it never saw. The loader refuses such a file instead,
/// and the rules that need it report `not_evaluated`.
pub trait Required {
    /// The name of the first required property the object lacks, as the export spells it.
    fn missing_property(&self) -> Option<&'static str>;
}

/// The first of `checks` whose value is absent.
fn first_missing(checks: &[(&'static str, bool)]) -> Option<&'static str> {
    checks
        .iter()
        .find(|(_, present)| !present)
        .map(|(name, _)| *name)
}

impl Required for RawApplication {
    /// An object with no application property at all is not required to have anything: the
    /// loader names the likelier mistake for it (a list of something else).
    fn missing_property(&self) -> Option<&'static str> {
        let needs = self.has_application_properties();
        first_missing(&[("appId", !needs || self.app_id.is_some())])
    }
}

impl Required for RawServicePrincipal {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("id", self.id.is_some()), ("appId", self.app_id.is_some())])
    }
}

impl Required for RawAppRoleAssignment {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[
            ("appRoleId", self.app_role_id.is_some()),
            ("principalId", self.principal_id.is_some()),
            ("resourceId", self.resource_id.is_some()),
        ])
    }
}

impl Required for RawOAuth2PermissionGrant {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[
            ("clientId", self.client_id.is_some()),
            ("resourceId", self.resource_id.is_some()),
            ("consentType", self.consent_type.is_some()),
            ("scope", self.scope.is_some()),
        ])
    }
}

impl Required for RawGroup {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("id", self.id.is_some())])
    }
}

impl Required for RawAccessPolicy {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[
            ("AppId", self.app_id.is_some()),
            ("ScopeName", self.scope_name.is_some()),
            ("AccessRight", self.access_right.is_some()),
        ])
    }
}

impl Required for RawRoleAssignment {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[
            ("Role", self.role.is_some()),
            ("RoleAssignee", self.role_assignee.is_some()),
        ])
    }
}

impl Required for RawAuthorizationTest {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[
            ("AppId", self.app_id.is_some()),
            ("Mailbox", self.mailbox.is_some()),
            (
                "InScope\" or \"AccessCheckResult",
                self.role_name.is_some()
                    || self.in_scope.is_some()
                    || self.access_check_result.is_some(),
            ),
        ])
    }
}

impl Required for RawManagementScope {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("Name", self.name.is_some())])
    }
}

impl Required for RawExchangeServicePrincipal {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("AppId", self.app_id.is_some())])
    }
}

impl Required for RawCasMailbox {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("PrimarySmtpAddress", self.primary_smtp_address.is_some())])
    }
}

impl Required for RawTenantAppManagementPolicy {
    /// A policy that says nothing restricts nothing; the model reads what is there.
    fn missing_property(&self) -> Option<&'static str> {
        None
    }
}

impl Required for RawAppManagementPolicy {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("id", self.id.is_some())])
    }
}

impl Required for RawServicePrincipalSignInActivity {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("appId", self.app_id.is_some())])
    }
}

impl Required for RawAppCredentialSignInActivity {
    fn missing_property(&self) -> Option<&'static str> {
        first_missing(&[("keyId", self.key_id.is_some())])
    }
}

impl Required for RawOrganizationConfig {
    /// Each setting is read on its own: a missing one is an unknown the rules report.
    fn missing_property(&self) -> Option<&'static str> {
        None
    }
}
