//! What evaluation produces: one finding per (rule, subject, item) with its outcome.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown severity {s:?}: expected critical, high, medium, low or info")
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Fail,
    Pass,
    /// The input lacks data the rule needs; the finding says which.
    NotEvaluated,
    /// Reserved for waivers.
    Waived,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Fail => "fail",
            Outcome::Pass => "pass",
            Outcome::NotEvaluated => "not_evaluated",
            Outcome::Waived => "waived",
        }
    }
}

/// Evidence: small JSON facts (key id, end date, URI, ...) shown with a finding.
pub type Evidence = serde_json::Map<String, serde_json::Value>;

/// A finding's evidence as compact JSON text. A map per finding (an index table, then a key
/// and a value allocation per entry) cost about 1 KB, which made the evidence of a 100k-app
/// scan's quarter-million findings its largest allocation; the text is a sixth of that, and
/// reports copy it as it is. Readers of a single field parse it back: only the few waived and
/// not-evaluated findings need that.
#[derive(Debug, Clone)]
pub struct FindingEvidence(Box<serde_json::value::RawValue>);

impl FindingEvidence {
    pub fn new(evidence: &Evidence) -> Self {
        // A map of JSON values always serializes: its keys are strings and floats in a
        // `Value` are finite.
        FindingEvidence(
            serde_json::value::to_raw_value(evidence).expect("a JSON map always serializes"),
        )
    }

    /// The evidence as written: compact JSON text of an object.
    pub fn raw(&self) -> &serde_json::value::RawValue {
        &self.0
    }

    pub fn to_map(&self) -> Evidence {
        // The text was written by `new` from a map, so it parses back to one.
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }

    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        self.to_map().remove(key)
    }

    pub fn insert(&mut self, key: &str, value: serde_json::Value) {
        let mut map = self.to_map();
        map.insert(key.to_string(), value);
        *self = FindingEvidence::new(&map);
    }
}

impl Serialize for FindingEvidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SubjectKind {
    /// An app registration.
    Application,
    /// A service principal without an app registration in the tenant.
    ServicePrincipal,
    /// An Exchange management role assignment.
    RoleAssignment,
    /// An Exchange Application Access Policy.
    AccessPolicy,
    /// A mailbox.
    Mailbox,
    /// The tenant as a whole (a tenant-wide pass, or data missing for all of it).
    Tenant,
}

/// Whose app it is: the organization that registered it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationKind {
    /// An app registered in the audited tenant (or one of its managed identities).
    ThisTenant,
    /// A Microsoft first-party app.
    Microsoft,
    /// An app registered in another organization's tenant: a vendor's multi-tenant app.
    Other,
    /// The input does not say (no `appOwnerOrganizationId`).
    #[default]
    Unknown,
}

impl OrganizationKind {
    /// The name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            OrganizationKind::ThisTenant => "this_tenant",
            OrganizationKind::Microsoft => "microsoft",
            OrganizationKind::Other => "other",
            OrganizationKind::Unknown => "unknown",
        }
    }
}

/// The organization an app belongs to, with its publisher as the service principal states it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Organization {
    pub kind: OrganizationKind,
    /// The home tenant's id (`appOwnerOrganizationId`), when known.
    pub tenant_id: Option<String>,
    /// The verified publisher's name, else the `publisherName` the home tenant states.
    pub publisher: Option<String>,
    /// Whether the publisher is verified (`verifiedPublisher`); `None` when the input lacks it.
    pub verified: Option<bool>,
}

impl Organization {
    pub fn this_tenant() -> Self {
        Organization {
            kind: OrganizationKind::ThisTenant,
            ..Organization::default()
        }
    }

    pub fn is_microsoft(&self) -> bool {
        self.kind == OrganizationKind::Microsoft
    }

    /// Another organization's name: its publisher, else its tenant id (cut to
    /// `tenant_chars` characters), else `unnamed`.
    fn who(&self, tenant_chars: usize, unnamed: &str) -> String {
        match (&self.publisher, &self.tenant_id) {
            (Some(name), _) => name.clone(),
            (None, Some(tenant)) if tenant.len() > tenant_chars => {
                format!("tenant {}…", tenant.get(..tenant_chars).unwrap_or(tenant))
            }
            (None, Some(tenant)) => format!("tenant {tenant}"),
            (None, None) => unnamed.into(),
        }
    }

    /// "this tenant", "Microsoft", "another organization: Contoso Ltd (verified publisher)".
    pub fn describe(&self) -> String {
        match self.kind {
            OrganizationKind::ThisTenant => "this tenant".into(),
            OrganizationKind::Microsoft => "Microsoft".into(),
            OrganizationKind::Unknown => "unknown organization".into(),
            OrganizationKind::Other => {
                let who = self.who(usize::MAX, "unnamed");
                let verified = match self.verified {
                    Some(true) => "verified publisher",
                    Some(false) => "publisher not verified",
                    None => "publisher verification unknown",
                };
                format!("another organization: {who} ({verified})")
            }
        }
    }

    /// The short form tables use: "this tenant", "Microsoft", "Contoso Ltd (verified)",
    /// "tenant 3094e356… (unverified)".
    pub fn short(&self) -> String {
        match self.kind {
            OrganizationKind::Other => {
                let who = self.who(8, "another organization");
                match self.verified {
                    Some(true) => format!("{who} (verified)"),
                    Some(false) => format!("{who} (unverified)"),
                    None => who,
                }
            }
            _ => self.describe(),
        }
    }
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: SubjectKind,
    pub app_id: Option<String>,
    /// The app's object id; for a service principal subject, the service principal's.
    pub object_id: Option<String>,
    pub display_name: Option<String>,
    /// Exchange objects and mailboxes: their identity.
    pub identity: Option<String>,
    /// Apps and service principals: whose app it is. Not part of the fingerprint.
    pub organization: Option<Organization>,
}

impl Subject {
    /// A subject that is not an app: a role assignment, a policy, a mailbox, the tenant.
    pub fn named(
        kind: SubjectKind,
        identity: Option<String>,
        display_name: Option<String>,
    ) -> Self {
        Subject {
            kind,
            app_id: None,
            object_id: None,
            display_name,
            identity,
            organization: None,
        }
    }

    /// The name reports show it under: its display name, else its identity, else `(unnamed)`.
    pub fn shown_name(&self) -> &str {
        self.display_name
            .as_deref()
            .or(self.identity.as_deref())
            .unwrap_or("(unnamed)")
    }
}

#[derive(Debug, Clone)]
pub struct Finding {
    /// Index into the evaluated rule set.
    pub rule: usize,
    /// Index into the scanned sources.
    pub source: usize,
    /// Shared by all the findings about one app: a large scan holds hundreds of thousands of
    /// findings, twice over while the parallel parts are joined.
    pub subject: Arc<Subject>,
    /// The part of the subject concerned (credential key id, URI, ...), if any.
    pub item: Option<Box<str>>,
    /// [`fingerprint`] of the rule id, subject and item, computed once when the finding is made.
    pub fingerprint: String,
    pub outcome: Outcome,
    pub severity: Severity,
    pub message: Box<str>,
    pub evidence: FindingEvidence,
}

impl SubjectKind {
    /// The name JSON reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Application => "application",
            SubjectKind::ServicePrincipal => "service_principal",
            SubjectKind::RoleAssignment => "role_assignment",
            SubjectKind::AccessPolicy => "access_policy",
            SubjectKind::Mailbox => "mailbox",
            SubjectKind::Tenant => "tenant",
        }
    }
}

/// A finding's stable identity across runs: rule id, subject (kind and ids, not its display
/// name, which admins rename) and item; never the message text, which carries dates and
/// counts. 32 hex digits of SHA-256. Computable from a JSON v1 report alone, so reports
/// written before the field existed can be compared too.
pub fn fingerprint(
    rule_id: &str,
    subject_kind: &str,
    app_id: Option<&str>,
    object_id: Option<&str>,
    identity: Option<&str>,
    item: Option<&str>,
) -> String {
    // Built by hand, not with format!: a large scan computes tens of thousands of these.
    let (identity, item) = (identity.unwrap_or_default(), item.unwrap_or_default());
    // Bytes, not chars: ASCII case changes leave every other UTF-8 byte as it is.
    let mut input = Vec::with_capacity(128);
    input.extend(rule_id.bytes().map(|b| b.to_ascii_uppercase()));
    input.push(b'\n');
    input.extend_from_slice(subject_kind.as_bytes());
    for id in [app_id, object_id] {
        input.push(b'\n');
        input.extend(
            id.unwrap_or_default()
                .bytes()
                .map(|b| b.to_ascii_lowercase()),
        );
    }
    input.push(b'\n');
    input.extend_from_slice(identity.as_bytes());
    input.push(b'\n');
    input.extend_from_slice(item.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    digest.as_ref()[..16]
        .iter()
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]])
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    /// Fingerprints are compared across runs and versions: the value for a fixed input must
    /// never change (SHA-256 of the upper-cased rule id, kind, lower-cased ids, identity and
    /// item, one per line; the first 16 bytes in hex).
    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(
            super::fingerprint(
                "cred-001",
                "application",
                Some("ABCD-EF"),
                Some("0bj"),
                None,
                Some("Key 1")
            ),
            "f67b3f9ab3d53ec1126e0d8e1ff92ca4"
        );
    }
}
