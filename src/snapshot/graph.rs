//! Raw Microsoft Graph objects as exports contain them. One struct per object type accepts
//! every spelling in circulation: Graph REST and az CLI (camelCase), Graph PowerShell
//! (PascalCase), the Entra portal manifest in Microsoft Graph format and in the legacy
//! Azure AD Graph format (`replyUrlsWithType`, `oauth2AllowImplicitFlow`, `endDate`, ...),
//! and the oldest manifests (`replyUrls`, `availableToOtherTenants`, `publicClient: true`).
//!
//! Unknown properties are ignored. Nothing here decides what a missing value means; that is
//! the model's job. Secret values (`secretText`, legacy `value`) are never deserialized.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::de::{PublicClientField, StringList, binary, datetime, present};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawApplication {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    /// Oldest (Azure AD Graph) name of `id`.
    #[serde(alias = "ObjectId")]
    pub object_id: Option<String>,
    #[serde(alias = "AppId")]
    pub app_id: Option<String>,
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    /// Legacy manifest name of `displayName`.
    #[serde(alias = "Name")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "datetime", alias = "CreatedDateTime")]
    pub created_date_time: Option<DateTime<Utc>>,

    #[serde(alias = "SignInAudience")]
    pub sign_in_audience: Option<String>,
    /// Oldest manifests: true = any organisation, false = this directory only.
    #[serde(alias = "AvailableToOtherTenants")]
    pub available_to_other_tenants: Option<bool>,

    #[serde(alias = "Web")]
    pub web: Option<RawWeb>,
    #[serde(alias = "Spa")]
    pub spa: Option<RawRedirects>,
    #[serde(alias = "PublicClient")]
    pub public_client: Option<PublicClientField<RawRedirects>>,
    #[serde(alias = "ReplyUrlsWithType")]
    pub reply_urls_with_type: Option<Vec<RawReplyUrl>>,
    #[serde(alias = "ReplyUrls")]
    pub reply_urls: Option<StringList>,

    #[serde(
        default,
        deserialize_with = "present",
        alias = "IsFallbackPublicClient"
    )]
    pub is_fallback_public_client: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present", alias = "AllowPublicClient")]
    pub allow_public_client: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "present",
        rename = "oauth2AllowImplicitFlow",
        alias = "Oauth2AllowImplicitFlow"
    )]
    pub oauth2_allow_implicit_flow: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "present",
        rename = "oauth2AllowIdTokenImplicitFlow",
        alias = "Oauth2AllowIdTokenImplicitFlow"
    )]
    pub oauth2_allow_id_token_implicit_flow: Option<Option<bool>>,

    #[serde(default, deserialize_with = "present", alias = "PasswordCredentials")]
    pub password_credentials: Option<Option<Vec<RawCredential>>>,
    #[serde(default, deserialize_with = "present", alias = "KeyCredentials")]
    pub key_credentials: Option<Option<Vec<RawCredential>>>,
    /// Present only when exported with `$expand=federatedIdentityCredentials`.
    #[serde(alias = "FederatedIdentityCredentials")]
    pub federated_identity_credentials: Option<Vec<IgnoredAny>>,

    #[serde(
        default,
        deserialize_with = "present",
        alias = "RequiredResourceAccess"
    )]
    pub required_resource_access: Option<Option<Vec<RawRequiredResourceAccess>>>,

    /// Present only when exported with `$expand=owners` (or `-ExpandProperty Owners`).
    #[serde(default, deserialize_with = "present", alias = "Owners")]
    pub owners: Option<Option<Vec<RawDirectoryObject>>>,

    /// The response of `POST /applicationTemplates/{id}/instantiate` nests the application.
    #[serde(alias = "Application")]
    pub application: Option<Box<RawApplication>>,

    // Properties only service principals have: a list of them is not a list of apps.
    #[serde(alias = "ServicePrincipalType")]
    pub service_principal_type: Option<IgnoredAny>,
    #[serde(alias = "AppOwnerOrganizationId")]
    pub app_owner_organization_id: Option<IgnoredAny>,
    #[serde(alias = "ServicePrincipalNames")]
    pub service_principal_names: Option<IgnoredAny>,
}

impl RawApplication {
    /// Whether the object carries anything an app registration has and other directory
    /// objects lack. Used to refuse files that are something else.
    pub fn has_application_properties(&self) -> bool {
        self.required_resource_access.is_some()
            || self.reply_urls_with_type.is_some()
            || self.reply_urls.is_some()
            || self.oauth2_allow_implicit_flow.is_some()
            || self.oauth2_allow_id_token_implicit_flow.is_some()
            || self.available_to_other_tenants.is_some()
            || self.sign_in_audience.is_some()
            || self.web.is_some()
            || self.spa.is_some()
            || self.public_client.is_some()
            || self.password_credentials.is_some()
            || self.key_credentials.is_some()
    }

    pub fn looks_like_service_principal(&self) -> bool {
        self.service_principal_type.is_some()
            || self.app_owner_organization_id.is_some()
            || self.service_principal_names.is_some()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawWeb {
    #[serde(alias = "RedirectUris")]
    pub redirect_uris: Option<Vec<Option<String>>>,
    #[serde(alias = "ImplicitGrantSettings")]
    pub implicit_grant_settings: Option<RawImplicitGrantSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawImplicitGrantSettings {
    #[serde(
        default,
        deserialize_with = "present",
        alias = "EnableAccessTokenIssuance"
    )]
    pub enable_access_token_issuance: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present", alias = "EnableIdTokenIssuance")]
    pub enable_id_token_issuance: Option<Option<bool>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRedirects {
    #[serde(alias = "RedirectUris")]
    pub redirect_uris: Option<Vec<Option<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawReplyUrl {
    #[serde(alias = "Url")]
    pub url: Option<String>,
    /// `Web`, `InstalledClient` or `Spa` (case varies in hand-written manifests).
    #[serde(rename = "type", alias = "Type")]
    pub kind: Option<String>,
}

/// A password or key credential, Graph (`startDateTime`/`endDateTime`) or legacy
/// (`startDate`/`endDate`) spelling.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawCredential {
    #[serde(alias = "KeyId")]
    pub key_id: Option<String>,
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    #[serde(alias = "Hint")]
    pub hint: Option<String>,
    #[serde(default, deserialize_with = "datetime", alias = "StartDateTime")]
    pub start_date_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "datetime", alias = "EndDateTime")]
    pub end_date_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "datetime", alias = "StartDate")]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "datetime", alias = "EndDate")]
    pub end_date: Option<DateTime<Utc>>,
    /// Key credentials: `AsymmetricX509Cert`, `Symmetric`, ...
    #[serde(rename = "type", alias = "Type")]
    pub kind: Option<String>,
    /// Key credentials: `Verify` (client authentication), `Sign`, `Encrypt`.
    #[serde(alias = "Usage")]
    pub usage: Option<String>,
    /// The certificate's thumbprint (or any label), base64; PowerShell writes the bytes.
    /// A SAML signing certificate's key and password credentials share it.
    #[serde(default, deserialize_with = "binary", alias = "CustomKeyIdentifier")]
    pub custom_key_identifier: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRequiredResourceAccess {
    #[serde(alias = "ResourceAppId")]
    pub resource_app_id: Option<String>,
    #[serde(alias = "ResourceAccess")]
    pub resource_access: Option<Vec<RawResourceAccess>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawResourceAccess {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    /// `Scope` (delegated) or `Role` (application).
    #[serde(rename = "type", alias = "Type")]
    pub kind: Option<String>,
}

/// An owner (user or service principal). Graph PowerShell moves everything but the id into
/// `AdditionalProperties`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawDirectoryObject {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    #[serde(alias = "UserPrincipalName")]
    pub user_principal_name: Option<String>,
    #[serde(alias = "AdditionalProperties")]
    pub additional_properties: Option<Box<RawDirectoryObject>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawServicePrincipal {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(alias = "AppId")]
    pub app_id: Option<String>,
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "present", alias = "AccountEnabled")]
    pub account_enabled: Option<Option<bool>>,
    #[serde(alias = "AppRoles")]
    pub app_roles: Option<Vec<RawPermissionDefinition>>,
    #[serde(rename = "oauth2PermissionScopes", alias = "Oauth2PermissionScopes")]
    pub oauth2_permission_scopes: Option<Vec<RawPermissionDefinition>>,
    /// `Application`, `ManagedIdentity`, `Legacy`, ...
    #[serde(alias = "ServicePrincipalType")]
    pub service_principal_type: Option<String>,
    /// The tenant the app is registered in (Microsoft's own apps: f8cdef31-...). The AzureAD
    /// PowerShell module and Azure AD Graph call it `AppOwnerTenantId`.
    #[serde(alias = "AppOwnerOrganizationId")]
    pub app_owner_organization_id: Option<String>,
    #[serde(alias = "AppOwnerTenantId")]
    pub app_owner_tenant_id: Option<String>,

    /// Credentials added to the service principal itself, which the app registration does
    /// not show. Metadata only: a key or secret value is never read.
    #[serde(default, deserialize_with = "present", alias = "PasswordCredentials")]
    pub password_credentials: Option<Option<Vec<RawCredential>>>,
    #[serde(default, deserialize_with = "present", alias = "KeyCredentials")]
    pub key_credentials: Option<Option<Vec<RawCredential>>>,
    /// `{displayName, verifiedPublisherId, addedDateTime}`, all null when unverified.
    #[serde(default, deserialize_with = "present", alias = "VerifiedPublisher")]
    pub verified_publisher: Option<Option<RawVerifiedPublisher>>,
    /// The publisher's name as the app's home tenant states it (not verified).
    #[serde(alias = "PublisherName")]
    pub publisher_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        alias = "AppRoleAssignmentRequired"
    )]
    pub app_role_assignment_required: Option<Option<bool>>,
    /// `saml`, `password`, `oidc`, `notSupported` or null.
    #[serde(
        default,
        deserialize_with = "present",
        alias = "PreferredSingleSignOnMode"
    )]
    pub preferred_single_sign_on_mode: Option<Option<String>>,
    #[serde(alias = "Tags")]
    pub tags: Option<StringList>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawVerifiedPublisher {
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    #[serde(alias = "VerifiedPublisherId")]
    pub verified_publisher_id: Option<String>,
    #[serde(default, deserialize_with = "datetime", alias = "AddedDateTime")]
    pub added_date_time: Option<DateTime<Utc>>,
}

/// An entry of a resource service principal's `appRoles` or `oauth2PermissionScopes`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPermissionDefinition {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(alias = "Value")]
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAppRoleAssignment {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(alias = "AppRoleId")]
    pub app_role_id: Option<String>,
    /// The client service principal's object id (for application permissions).
    #[serde(alias = "PrincipalId")]
    pub principal_id: Option<String>,
    #[serde(alias = "PrincipalType")]
    pub principal_type: Option<String>,
    /// The resource service principal's object id, not its appId.
    #[serde(alias = "ResourceId")]
    pub resource_id: Option<String>,
    #[serde(alias = "ResourceDisplayName")]
    pub resource_display_name: Option<String>,
    #[serde(default, deserialize_with = "datetime", alias = "CreatedDateTime")]
    pub created_date_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawOAuth2PermissionGrant {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    /// The client service principal's object id.
    #[serde(alias = "ClientId")]
    pub client_id: Option<String>,
    /// `AllPrincipals` (admin consent for everyone) or `Principal` (one user).
    #[serde(alias = "ConsentType")]
    pub consent_type: Option<String>,
    #[serde(alias = "PrincipalId")]
    pub principal_id: Option<String>,
    #[serde(alias = "ResourceId")]
    pub resource_id: Option<String>,
    /// Space-separated scope values.
    #[serde(alias = "Scope")]
    pub scope: Option<String>,
}
