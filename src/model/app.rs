//! The normalized app registration. Every property an input can lack is an `Option` (or an
//! explicit `Unknown`), never a default that could make a check pass.
//!
//! This is also the `input.app` a Rego rule sees and what `m365audit inspect` prints, so
//! field names are snake_case and stable.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::catalog::{PermissionClass, PermissionKind};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct App {
    /// The application object's id (directory object id).
    pub object_id: Option<String>,
    /// The application (client) id used in tokens.
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    /// `AzureADMyOrg`, `AzureADMultipleOrgs`, `AzureADandPersonalMicrosoftAccount` or
    /// `PersonalMicrosoftAccount`.
    pub sign_in_audience: Option<String>,
    /// All redirect URIs with their platform; `None` when the input has no redirect data.
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub implicit_grant: ImplicitGrant,
    /// `isFallbackPublicClient` (legacy `allowPublicClient`).
    pub fallback_public_client: Option<bool>,
    pub password_credentials: Option<Vec<Credential>>,
    pub key_credentials: Option<Vec<Credential>>,
    /// Number of federated identity credentials, when exported.
    pub federated_credentials: Option<usize>,
    /// What the registration asks for (`requiredResourceAccess`).
    pub requested_permissions: Option<Vec<Permission>>,
    /// Application permissions granted to the app's service principal (app role assignments).
    pub granted_app_roles: Option<Vec<Permission>>,
    /// Delegated permission grants of the app's service principal.
    pub delegated_grants: Option<Vec<DelegatedGrant>>,
    pub owners: Option<Vec<Owner>>,
    pub service_principal: ServicePrincipal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectUri {
    pub uri: String,
    pub platform: Platform,
}

/// The platform a redirect URI is registered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Web,
    Spa,
    /// Mobile and desktop applications (legacy `InstalledClient`).
    PublicClient,
    /// The oldest manifests' `replyUrls`, or a `replyUrlsWithType` entry without a known type.
    Unspecified,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Web => "web",
            Platform::Spa => "spa",
            Platform::PublicClient => "public_client",
            Platform::Unspecified => "unspecified",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImplicitGrant {
    /// `web.implicitGrantSettings.enableAccessTokenIssuance` / legacy `oauth2AllowImplicitFlow`.
    pub access_tokens: Option<bool>,
    /// `web.implicitGrantSettings.enableIdTokenIssuance` / legacy `oauth2AllowIdTokenImplicitFlow`.
    pub id_tokens: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A client secret (`passwordCredentials`).
    Secret,
    /// An X.509 certificate (`keyCredentials` of type `AsymmetricX509Cert`).
    Certificate,
    /// A symmetric key (`keyCredentials` of type `Symmetric`).
    SymmetricKey,
    /// A key credential of a type the input does not state or this tool does not know.
    OtherKey,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Secret => "secret",
            CredentialKind::Certificate => "certificate",
            CredentialKind::SymmetricKey => "symmetric_key",
            CredentialKind::OtherKey => "key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub kind: CredentialKind,
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// First characters of a secret, as Entra shows them (never the secret).
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
    /// Key credentials: `Verify` (sign-in), `Sign`, `Encrypt`.
    #[serde(default)]
    pub usage: Option<String>,
}

impl Credential {
    /// A short human label: display name, else key id.
    pub fn label(&self) -> String {
        match (&self.display_name, &self.key_id) {
            (Some(name), Some(id)) if !name.is_empty() => format!("{name} ({id})"),
            (_, Some(id)) => id.clone(),
            (Some(name), None) => name.clone(),
            (None, None) => "(no key id)".into(),
        }
    }
}

/// A permission, requested or granted, resolved through the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// appId of the API (`00000003-...` for Microsoft Graph); lowercase.
    pub resource_app_id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    /// Permission id (app role or scope id); lowercase.
    pub id: String,
    /// `None` when the input's `type` is neither `Scope` nor `Role`.
    pub kind: Option<PermissionKind>,
    /// `Mail.ReadWrite` etc.; `None` when the id is unknown.
    #[serde(default)]
    pub value: Option<String>,
    /// Whether the id is in the permission catalogue.
    #[serde(default)]
    pub in_catalog: bool,
    #[serde(default)]
    pub classes: Vec<PermissionClass>,
}

impl Permission {
    pub fn is_application(&self) -> bool {
        self.kind == Some(PermissionKind::Application)
    }

    pub fn has_class(&self, class: PermissionClass) -> bool {
        self.classes.contains(&class)
    }

    /// `Microsoft Graph Mail.ReadWrite`, or the ids when unresolved.
    pub fn label(&self) -> String {
        let resource = self
            .resource_name
            .as_deref()
            .or(self.resource_app_id.as_deref())
            .unwrap_or("unknown resource");
        match &self.value {
            Some(v) => format!("{resource} {v}"),
            None => format!("{resource} {} (unknown id)", self.id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegatedGrant {
    #[serde(default)]
    pub resource_app_id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    /// `AllPrincipals` (admin consent for all users) or `Principal` (one user).
    #[serde(default)]
    pub consent_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `user`, `servicePrincipal`, ... from `@odata.type`.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Whether the app has a service principal (enterprise application) in the tenant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServicePrincipal {
    /// The input has no service principal data.
    #[default]
    Unknown,
    Absent,
    Present {
        #[serde(default)]
        object_id: Option<String>,
        #[serde(default)]
        enabled: Option<bool>,
    },
}

/// What an app holds of some kind of permission, across requested and granted.
#[derive(Debug)]
pub struct Holdings<'a> {
    pub found: Vec<&'a Permission>,
    /// Both the requested and the granted lists were known, so "none found" is a fact.
    pub complete: bool,
}

impl App {
    /// Permissions matching `pred` among requested and granted application permissions.
    pub fn holdings(&self, pred: impl Fn(&Permission) -> bool) -> Holdings<'_> {
        let mut found: Vec<&Permission> = Vec::new();
        for list in [&self.requested_permissions, &self.granted_app_roles]
            .into_iter()
            .flatten()
        {
            for p in list.iter().filter(|p| pred(p)) {
                if !found
                    .iter()
                    .any(|f| f.id == p.id && f.resource_app_id == p.resource_app_id)
                {
                    found.push(p);
                }
            }
        }
        Holdings {
            found,
            complete: self.requested_permissions.is_some() && self.granted_app_roles.is_some(),
        }
    }

    /// Every credential, secrets first.
    pub fn credentials(&self) -> impl Iterator<Item = &Credential> {
        self.password_credentials
            .iter()
            .flatten()
            .chain(self.key_credentials.iter().flatten())
    }

    /// Whether the credential lists are known at all.
    pub fn credentials_known(&self) -> bool {
        self.password_credentials.is_some() && self.key_credentials.is_some()
    }

    /// A name for messages: display name, else app id, else object id.
    pub fn name(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.app_id.as_deref())
            .or(self.object_id.as_deref())
            .unwrap_or("(unnamed app)")
    }
}
