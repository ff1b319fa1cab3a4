//! Raw sign-in activity reports (Microsoft Graph beta, `/reports/...`; AuditLog.Read.All and
//! Entra ID P1 or P2): when each app last signed in, in each role, and when each credential
//! was last used. Graph REST camelCase and Graph PowerShell PascalCase are both read.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::de::datetime;

/// `{lastSignInDateTime, lastSignInRequestId}`: the date is what is read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSignInActivity {
    #[serde(default, deserialize_with = "datetime", alias = "LastSignInDateTime")]
    pub last_sign_in_date_time: Option<DateTime<Utc>>,
}

/// An entry of `servicePrincipalSignInActivities.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawServicePrincipalSignInActivity {
    #[serde(alias = "AppId")]
    pub app_id: Option<String>,
    /// The latest of all the others.
    #[serde(alias = "LastSignInActivity")]
    pub last_sign_in_activity: Option<RawSignInActivity>,
    /// Users signed in to the app (delegated), the app as the client.
    #[serde(alias = "DelegatedClientSignInActivity")]
    pub delegated_client_sign_in_activity: Option<RawSignInActivity>,
    /// Another app got a delegated token for this app as the resource.
    #[serde(alias = "DelegatedResourceSignInActivity")]
    pub delegated_resource_sign_in_activity: Option<RawSignInActivity>,
    /// The app signed in as itself (client credentials).
    #[serde(alias = "ApplicationAuthenticationClientSignInActivity")]
    pub application_authentication_client_sign_in_activity: Option<RawSignInActivity>,
    /// Another app got an app-only token for this app as the resource.
    #[serde(alias = "ApplicationAuthenticationResourceSignInActivity")]
    pub application_authentication_resource_sign_in_activity: Option<RawSignInActivity>,
}

/// An entry of `appCredentialSignInActivities.json`. The report also names the app, its
/// object ids, the key's type and usage, where the credential is (`credentialOrigin`) and the
/// resource; only the key id and its last sign-in are read. A large tenant has a row per
/// credential and resource, and each string kept would be held for the whole scan.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAppCredentialSignInActivity {
    #[serde(alias = "KeyId")]
    pub key_id: Option<String>,
    #[serde(alias = "SignInActivity")]
    pub sign_in_activity: Option<RawSignInActivity>,
}
