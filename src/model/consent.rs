//! Delegated consent to mailbox scopes: which of an app's delegated grants reach mail, for
//! all users or for one, as the consent rules and `reach` show them.

use super::app::App;
use super::catalog::{Catalog, PermissionClass};
use super::permission::DelegatedGrant;

/// `AllPrincipals` (admin consent for every user) or `Principal` (one user's consent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    AllUsers,
    OneUser,
}

/// A delegated grant that includes mailbox scopes.
#[derive(Debug)]
pub struct MailConsent<'a> {
    pub grant: &'a DelegatedGrant,
    pub consent: Option<Consent>,
    /// The grant's mailbox scopes, as it names them.
    pub scopes: Vec<&'a str>,
    /// Whether the grant also holds `offline_access`: refresh tokens, so access outlives the
    /// user's session.
    pub offline_access: bool,
}

impl MailConsent<'_> {
    /// The resource's name for items and messages.
    pub fn resource(&self) -> &str {
        self.grant
            .resource_name
            .as_deref()
            .or(self.grant.resource_app_id.as_deref())
            .unwrap_or("unknown resource")
    }
}

/// The app's delegated grants that include mailbox scopes (`mailbox-delegated` in
/// permission-classes.toml); `None` when its grants are unknown.
pub fn mail_consents<'a>(app: &'a App, catalog: &Catalog) -> Option<Vec<MailConsent<'a>>> {
    let grants = app.delegated_grants.as_ref()?;
    Some(
        grants
            .iter()
            .filter_map(|grant| {
                let scopes: Vec<&str> = grant
                    .scopes
                    .iter()
                    .map(String::as_str)
                    .filter(|s| {
                        catalog.scope_in_class(
                            grant.resource_app_id.as_deref(),
                            s,
                            PermissionClass::MailboxDelegated,
                        )
                    })
                    .collect();
                if scopes.is_empty() {
                    return None;
                }
                let consent = match grant.consent_type.as_deref() {
                    Some(t) if t.eq_ignore_ascii_case("AllPrincipals") => Some(Consent::AllUsers),
                    Some(t) if t.eq_ignore_ascii_case("Principal") => Some(Consent::OneUser),
                    _ => None,
                };
                Some(MailConsent {
                    grant,
                    consent,
                    scopes,
                    offline_access: grant
                        .scopes
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case("offline_access")),
                })
            })
            .collect(),
    )
}
