//! Client secrets and certificates of an app registration or a service principal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// `customKeyIdentifier` as base64 text (a certificate's thumbprint, usually).
    #[serde(default)]
    pub custom_key_identifier: Option<String>,
    /// The last sign-in with it, from the credential sign-in report; `None` when the report
    /// has no date for it (or the input has no report: see `Missing::credential_sign_ins`).
    #[serde(default)]
    pub last_sign_in: Option<DateTime<Utc>>,
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
