//! The normalized app registration. Every property an input can lack is an `Option` (or an
//! explicit `Unknown`), never a default that could make a check pass.
//!
//! This is also the `input.app` a Rego rule sees and what `m365audit inspect` prints, so
//! field names are snake_case and stable.

use serde::{Deserialize, Serialize};

use super::credential::Credential;
use super::permission::{DelegatedGrant, Holdings, Permission};
use super::scope::MailboxAccess;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct App {
    /// An app registration, or a service principal whose registration lives elsewhere.
    pub kind: AppKind,
    /// The application object's id (directory object id); registrations only.
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
    /// Service principals only: the tenant the app is registered in.
    pub app_owner_organization_id: Option<String>,
    /// Every way the app reaches mailbox data, and how far (Entra grants and Exchange RBAC).
    pub mailbox_access: MailboxAccess,
}

/// What an [`App`] stands for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    /// An app registration of this tenant (applications.json).
    #[default]
    Application,
    /// A service principal with no app registration here: another organization's app or a
    /// managed identity, included when it holds application permissions.
    ServicePrincipal,
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
        // A service principal has no registration here, so nothing it "requests" is unseen.
        let requested_known =
            self.requested_permissions.is_some() || self.kind == AppKind::ServicePrincipal;
        Holdings {
            found,
            complete: requested_known && self.granted_app_roles.is_some(),
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
