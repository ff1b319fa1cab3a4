//! The normalized app registration. Every property an input can lack is an `Option` (or an
//! explicit `Unknown`), never a default that could make a check pass.
//!
//! This is also the `input.app` a Rego rule sees and what `m365audit inspect` prints, so
//! field names are snake_case and stable.

use serde::{Deserialize, Serialize};

use super::credential::Credential;
use super::permission::{DelegatedGrant, Holdings, Permission};
use super::scope::MailboxAccess;
pub use crate::finding::{Organization, OrganizationKind};

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
    /// When the registration was created (`createdDateTime`).
    pub created: Option<chrono::DateTime<chrono::Utc>>,
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
    /// Whose app it is: this tenant, Microsoft or another organization, with its publisher.
    pub organization: Organization,
    /// Every way the app reaches mailbox data, and how far (Entra grants and Exchange RBAC).
    pub mailbox_access: MailboxAccess,
    /// When the app last signed in, from the sign-in activity report.
    pub sign_ins: SignIns,
}

/// An app's sign-in activity (Graph beta `servicePrincipalSignInActivities`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum SignIns {
    /// The input has no report.
    #[default]
    Unknown,
    /// The report has no row for the app: no sign-in on record.
    NoRecord,
    /// The report's row: the latest sign-in of any kind, and of each kind.
    Recorded {
        #[serde(default)]
        last: Option<chrono::DateTime<chrono::Utc>>,
        /// As the client: app-only (client credentials) and delegated (users signed in).
        #[serde(default)]
        app_only: Option<chrono::DateTime<chrono::Utc>>,
        #[serde(default)]
        delegated: Option<chrono::DateTime<chrono::Utc>>,
        /// As the resource other apps got tokens for.
        #[serde(default)]
        as_resource: Option<chrono::DateTime<chrono::Utc>>,
    },
}

impl SignIns {
    /// The latest sign-in on record, of any kind.
    pub fn latest(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            SignIns::Recorded {
                last,
                app_only,
                delegated,
                as_resource,
            } => [*last, *app_only, *delegated, *as_resource]
                .into_iter()
                .flatten()
                .max(),
            _ => None,
        }
    }
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
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ServicePrincipal {
    /// The input has no service principal data.
    #[default]
    Unknown,
    Absent,
    Present(Box<EnterpriseApp>),
}

/// A service principal's own properties: what the tenant holds for the app besides its
/// registration. Every property is `None` when the export lacks it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnterpriseApp {
    pub object_id: Option<String>,
    pub enabled: Option<bool>,
    /// Secrets added to the service principal itself, where no app registration shows them.
    pub password_credentials: Option<Vec<Credential>>,
    /// Certificates and keys added to the service principal (SAML signing certificates too).
    pub key_credentials: Option<Vec<Credential>>,
    /// Whether only users and groups assigned to the app may use it.
    pub app_role_assignment_required: Option<bool>,
    /// `saml`, `password`, `oidc`, `notSupported`; `Some(None)` when Entra says null, `None`
    /// when the export lacks the property.
    pub preferred_single_sign_on_mode: Option<Option<String>>,
    /// `Application`, `ManagedIdentity`, `Legacy`, `SocialIdp`.
    pub service_principal_type: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl EnterpriseApp {
    /// Whether both credential lists are known.
    pub fn credentials_known(&self) -> bool {
        self.password_credentials.is_some() && self.key_credentials.is_some()
    }

    /// Every credential of the service principal, secrets first.
    pub fn credentials(&self) -> impl Iterator<Item = &Credential> {
        self.password_credentials
            .iter()
            .flatten()
            .chain(self.key_credentials.iter().flatten())
    }

    /// The credentials in the groups rules count them in: each SAML signing certificate
    /// set is one entry, every other credential one entry of its own.
    ///
    /// On a service principal whose `preferredSingleSignOnMode` is `saml`, Entra keeps the
    /// token-signing certificate as two key credentials, usage `Sign` (with the private key)
    /// and `Verify`, sharing one `customKeyIdentifier` (the thumbprint), plus a password
    /// credential with the same identifier (the private key's password). They are one
    /// certificate the app needs, not credentials someone added to act as the app.
    pub fn credential_sets(&self) -> Vec<CredentialSet<'_>> {
        // Without the property the shape alone says it: the sets are recognized, but
        // marked undecided, so a rule that excuses them can say it cannot be sure.
        let (saml, decided) = match &self.preferred_single_sign_on_mode {
            Some(mode) => (
                mode.as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case("saml")),
                true,
            ),
            None => (true, false),
        };
        let keys: Vec<&Credential> = self.key_credentials.iter().flatten().collect();
        let has_usage = |id: &str, usage: &str| {
            keys.iter().any(|k| {
                k.custom_key_identifier.as_deref() == Some(id)
                    && k.usage
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case(usage))
            })
        };
        let signing_ids: Vec<&str> = if saml {
            let mut ids: Vec<&str> = keys
                .iter()
                .filter_map(|k| k.custom_key_identifier.as_deref())
                .filter(|id| has_usage(id, "Sign") && has_usage(id, "Verify"))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        } else {
            Vec::new()
        };
        let mut sets: Vec<CredentialSet<'_>> = signing_ids
            .iter()
            .map(|&id| CredentialSet::SamlSigning {
                decided,
                certificate: keys
                    .iter()
                    .copied()
                    .find(|k| {
                        k.custom_key_identifier.as_deref() == Some(id)
                            && k.usage
                                .as_deref()
                                .is_some_and(|u| u.eq_ignore_ascii_case("Verify"))
                    })
                    .expect("a signing set has a Verify key"),
                members: self
                    .credentials()
                    .filter(|c| c.custom_key_identifier.as_deref() == Some(id))
                    .collect(),
            })
            .collect();
        sets.extend(
            self.credentials()
                .filter(|c| {
                    c.custom_key_identifier
                        .as_deref()
                        .is_none_or(|id| !signing_ids.contains(&id))
                })
                .map(CredentialSet::Single),
        );
        sets
    }
}

/// A credential as the rules count it: alone, or a SAML signing certificate set.
#[derive(Debug, Clone, PartialEq)]
pub enum CredentialSet<'a> {
    Single(&'a Credential),
    SamlSigning {
        /// False when the export lacks `preferredSingleSignOnMode`: the credentials have the
        /// shape of a SAML signing set, but the app may not use SAML.
        decided: bool,
        /// The `Verify` key: the certificate whose dates the set has.
        certificate: &'a Credential,
        /// Every credential of the set (Sign and Verify keys, the password beside them).
        members: Vec<&'a Credential>,
    },
}

impl<'a> CredentialSet<'a> {
    /// The credential whose dates and names stand for the set.
    pub fn credential(&self) -> &'a Credential {
        match self {
            CredentialSet::Single(c) => c,
            CredentialSet::SamlSigning { certificate, .. } => certificate,
        }
    }

    /// The earliest end date of the set's members (all of them must be valid); `None` when
    /// one is unknown.
    pub fn end(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            CredentialSet::Single(c) => c.end,
            CredentialSet::SamlSigning { members, .. } => members
                .iter()
                .map(|c| c.end)
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .min(),
        }
    }
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

    /// The service principal's own properties, when it is present.
    pub fn enterprise_app(&self) -> Option<&EnterpriseApp> {
        match &self.service_principal {
            ServicePrincipal::Present(sp) => Some(sp),
            _ => None,
        }
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
