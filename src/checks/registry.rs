//! Every check kind, registered once: its name, what it is evaluated on, its parameters and
//! what it checks. Rule files and profiles name kinds from here; `m365audit rules kinds`,
//! `m365audit explain --kind NAME` and the reference in `rules/kinds.md` print it.
//!
//! A kind's parameters are its `[check]` table's keys. They are declared here for people and
//! read by the kind's typed `Deserialize`; a test holds the two to the same names.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::de::ValueDeserializer;

use super::{BuildContext, BuildError, Check, Evaluator, TenantCheck, kinds};

/// What a kind is evaluated on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Once per app: app registrations, and for some kinds service principals too.
    App,
    /// Once per tenant, about objects other than apps (role assignments, policies, mailboxes);
    /// its findings name their own subjects.
    Tenant,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::App => "app",
            Scope::Tenant => "tenant",
        }
    }
}

/// Where a kind may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Rule files and profile steps.
    Anywhere,
    /// Rule files only (Rego: a profile step checks one vendor's setup, not policy code).
    Rules,
    /// Profile steps only: the kind checks an app against what one vendor guide asks for
    /// (its permission list, its redirect URI templates), which a rule has no place for.
    Profiles,
}

impl Written {
    pub fn as_str(self) -> &'static str {
        match self {
            Written::Anywhere => "rules and profiles",
            Written::Rules => "rules",
            Written::Profiles => "profiles",
        }
    }

    pub fn in_rules(self) -> bool {
        self != Written::Profiles
    }

    pub fn in_profiles(self) -> bool {
        self != Written::Rules
    }
}

/// One key of a kind's `[check]` table.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    /// The TOML type, and the values it takes when they are a fixed set.
    pub ty: &'static str,
    /// `None`: the key is required. Otherwise what leaving it out means.
    pub default: Option<&'static str>,
    pub meaning: &'static str,
}

/// Builds a kind's check from its `[check]` table (without `kind`).
pub type Builder = fn(ValueDeserializer<'_>, &BuildContext<'_>) -> Result<Evaluator, BuildError>;

/// A check kind.
#[derive(Debug)]
pub struct Kind {
    /// What rule files write in `[check] kind`.
    pub name: &'static str,
    pub scope: Scope,
    pub written_in: Written,
    /// What the check finds, and why it matters.
    pub docs: &'static str,
    pub params: &'static [Param],
    /// Names this kind had before; a rule file using one is told the new name.
    pub renamed_from: &'static [&'static str],
    pub build: Builder,
    /// The keys the kind's `Deserialize` reads, for the test that holds `params` to them.
    pub keys: fn() -> Vec<&'static str>,
}

/// Every kind, sorted by name.
pub const KINDS: &[&Kind] = &[
    &kinds::access_policy_scope::KIND,
    &kinds::admin_consent_missing::KIND,
    &kinds::assignment_not_required::KIND,
    &kinds::audience::KIND,
    &kinds::credential_exempt_from_policy::KIND,
    &kinds::credential_expired::KIND,
    &kinds::credential_expiring::KIND,
    &kinds::credential_lifetime::KIND,
    &kinds::deny_only_access_policy::KIND,
    &kinds::ews_blocked::KIND,
    &kinds::ews_permission::KIND,
    &kinds::exchange_role::KIND,
    &kinds::extra_permissions::KIND,
    &kinds::first_party_service_principal_credential::KIND,
    &kinds::granted_not_requested::KIND,
    &kinds::impersonation_missing::KIND,
    &kinds::implicit_grant::KIND,
    &kinds::legacy_access_policy::KIND,
    &kinds::mailbox_protocols::KIND,
    &kinds::mailbox_reach::KIND,
    &kinds::no_credential_policy::KIND,
    &kinds::no_valid_credential::KIND,
    &kinds::orphaned_mailbox_scope::KIND,
    &kinds::owner_count::KIND,
    &kinds::permission_match::KIND,
    &kinds::permissions::KIND,
    &kinds::public_client_fallback::KIND,
    &kinds::rbac_with_entra_grant::KIND,
    &kinds::reach_disagrees_with_exchange::KIND,
    &kinds::redirect_uri_case::KIND,
    &kinds::redirect_uri_scheme::KIND,
    &kinds::redirect_uri_wildcard::KIND,
    &kinds::redirect_uris::KIND,
    &kinds::rego::KIND,
    &kinds::role_assignment::KIND,
    &kinds::secret_for_app_only_mail::KIND,
    &kinds::service_principal_credential::KIND,
    &kinds::service_principal_present::KIND,
    &kinds::tenant_wide_delegated_mail_consent::KIND,
    &kinds::unknown_permission::KIND,
    &kinds::unused_credential::KIND,
    &kinds::unused_mail_app::KIND,
    &kinds::unverified_publisher_mail_app::KIND,
    &kinds::user_consented_mail_scope::KIND,
];

/// Every kind's name, in order.
pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// The names of the kinds a rule file may use.
pub fn rule_names() -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.written_in.in_rules())
        .map(|k| k.name)
        .collect()
}

/// The names of the kinds a profile step may use.
pub fn profile_names() -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.written_in.in_profiles())
        .map(|k| k.name)
        .collect()
}

/// The kind named `name`.
pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// The kind that was called `old` before, if any.
pub fn renamed(old: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.renamed_from.contains(&old))
}

/// What to say about a kind name that is not one of `allowed`: its new name if it was
/// renamed, else the nearest allowed name if it looks like a typo, and the list.
pub fn unknown_kind(name: &str, allowed: &[&str]) -> String {
    if let Some(kind) = renamed(name).filter(|k| allowed.contains(&k.name)) {
        return format!(
            "check kind {name:?} is now called {:?}: write kind = {:?}",
            kind.name, kind.name
        );
    }
    let hint = crate::diagnostics::closest(name, allowed.iter().copied())
        .map(|c| format!(" (did you mean {c:?}?)"))
        .unwrap_or_default();
    format!(
        "unknown check kind {name:?}{hint}: expected one of {} (m365audit rules kinds lists them)",
        allowed.join(", ")
    )
}

/// Deserializes a per-app kind's parameters (unknown keys rejected) and boxes the check.
pub fn app<'de, T>(de: ValueDeserializer<'de>) -> Result<Evaluator, BuildError>
where
    T: Check + Deserialize<'de> + 'static,
{
    Ok(Evaluator::PerApp(Box::new(T::deserialize(de)?)))
}

/// The same for a per-tenant kind.
pub fn tenant<'de, T>(de: ValueDeserializer<'de>) -> Result<Evaluator, BuildError>
where
    T: TenantCheck + Deserialize<'de> + 'static,
{
    Ok(Evaluator::PerTenant(Box::new(T::deserialize(de)?)))
}

/// The keys `T`'s `Deserialize` reads from a table. Serde hands a deserializer the list of a
/// struct's field names when it asks for one; this deserializer answers nothing else and
/// keeps the list.
pub fn keys_of<T: DeserializeOwned>() -> Vec<&'static str> {
    match T::deserialize(KeyProbe) {
        Err(KeysOrError::Keys(keys)) => keys.to_vec(),
        Err(KeysOrError::Other(e)) => panic!("not a table of parameters: {e}"),
        Ok(_) => panic!("a parameter table deserialized from nothing"),
    }
}

struct KeyProbe;

#[derive(Debug)]
enum KeysOrError {
    Keys(&'static [&'static str]),
    Other(String),
}

impl std::fmt::Display for KeysOrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeysOrError::Keys(k) => write!(f, "keys {k:?}"),
            KeysOrError::Other(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for KeysOrError {}

impl serde::de::Error for KeysOrError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        KeysOrError::Other(msg.to_string())
    }
}

impl<'de> serde::Deserializer<'de> for KeyProbe {
    type Error = KeysOrError;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, KeysOrError> {
        Err(KeysOrError::Other("not a struct".into()))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, KeysOrError> {
        Err(KeysOrError::Keys(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind's declared parameters are the keys its `Deserialize` reads: a parameter added to
    /// the code without docs, or documented but not read, fails here.
    #[test]
    fn every_kind_documents_exactly_the_keys_it_reads() {
        for kind in KINDS {
            let mut read = (kind.keys)();
            read.sort_unstable();
            let mut declared: Vec<&str> = kind.params.iter().map(|p| p.name).collect();
            declared.sort_unstable();
            assert_eq!(read, declared, "kind {}", kind.name);
        }
    }

    #[test]
    fn kinds_are_sorted_unique_and_found_by_name() {
        let names = super::names();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for kind in KINDS {
            assert_eq!(find(kind.name).map(|k| k.name), Some(kind.name));
            assert!(!kind.docs.trim().is_empty(), "kind {} has docs", kind.name);
            for old in kind.renamed_from {
                assert!(find(old).is_none(), "{old} is not also a current name");
                assert_eq!(renamed(old).map(|k| k.name), Some(kind.name));
            }
        }
    }

    #[test]
    fn an_unknown_kind_gets_its_new_name_or_the_nearest_one() {
        let all = names();
        assert!(unknown_kind("ews-allowed", &all).contains("is now called \"ews-blocked\""));
        let typo = unknown_kind("owner-cuont", &all);
        assert!(typo.contains("did you mean \"owner-count\"?"), "{typo}");
        let far = unknown_kind("something-else", &all);
        assert!(!far.contains("did you mean"), "{far}");
        assert!(far.contains("rules kinds"), "{far}");
    }
}
