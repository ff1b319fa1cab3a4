//! Native check kinds: one file per kind, named after it (`kind = "credential-lifetime"` is
//! `credential_lifetime.rs`). A kind is typed Rust with typed parameters read from the rule
//! file's `[check]` table; unknown or mistyped parameters are load errors.

mod access_policy_scope;
mod admin_consent_missing;
mod audience;
mod credential_expired;
mod credential_expiring;
mod credential_lifetime;
mod deny_only_access_policy;
mod ews;
mod ews_allowed;
mod ews_permission;
mod granted_not_requested;
mod impersonation_missing;
mod implicit_grant;
mod legacy_access_policy;
mod mailbox_protocols;
mod mailbox_reach;
mod no_valid_credential;
mod orphaned_mailbox_scope;
mod owner_count;
mod permission_match;
mod public_client_fallback;
mod rbac_with_entra_grant;
mod redirect_uri_case;
mod redirect_uri_scheme;
mod redirect_uri_wildcard;
mod rego;
mod role_assignment;
mod secret_for_app_only_mail;
mod service_principal_present;
mod unknown_permission;
mod uri;
mod util;

pub use mailbox_protocols::Protocol;

use std::cell::OnceCell;
use std::fmt::Debug;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::de::ValueDeserializer;

use crate::finding::{Evidence, Severity, Subject};
use crate::model::{App, AppKind, Catalog, Exchange, Missing, Tenant, TenantInfo};

/// A native or Rego check, evaluated once per app.
pub trait Check: Debug + Send + Sync {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes);

    /// Which apps the check is about. Most look at app registrations only; checks of
    /// granted permissions and mailbox reach also cover service principals whose
    /// registration lives in another tenant.
    fn applies_to(&self, kind: AppKind) -> bool {
        kind == AppKind::Application
    }
}

/// A check evaluated once per tenant, about objects other than apps (role assignments,
/// access policies, mailboxes). Its outcomes name their own subjects.
pub trait TenantCheck: Debug + Send + Sync {
    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes);

    /// Whether [`evaluate`](Self::evaluate) reads `tenant.apps` with these inputs. A scan
    /// that evaluates apps as they are read keeps them all in memory only when some tenant
    /// check does; otherwise the tenant it passes has no apps. When in doubt, true.
    fn reads_apps(&self, _inputs: &ScanInputs) -> bool {
        true
    }
}

/// How a rule's check is run.
#[derive(Debug)]
pub enum Evaluator {
    PerApp(Box<dyn Check>),
    PerTenant(Box<dyn TenantCheck>),
}

/// Inputs of a scan that are not in the tenant data.
#[derive(Debug, Clone, Default)]
pub struct ScanInputs {
    /// Mailboxes named as integration mailboxes or service accounts (`--mailbox`).
    pub integration_mailboxes: Vec<String>,
}

/// What a check may know besides the app. `as_of` is the only clock.
pub struct Context<'a> {
    pub as_of: DateTime<Utc>,
    pub tenant: &'a TenantInfo,
    pub missing: &'a Missing,
    pub exchange: &'a Exchange,
    pub inputs: &'a ScanInputs,
    /// Permission knowledge (delegated grants name scopes by value, not id).
    pub catalog: &'a Catalog,
    /// The app as Rego input, built on first use and shared by all Rego rules for this app.
    pub rego_input: OnceCell<regorus::Value>,
}

impl<'a> Context<'a> {
    pub fn new(
        as_of: DateTime<Utc>,
        tenant: &'a TenantInfo,
        missing: &'a Missing,
        exchange: &'a Exchange,
        inputs: &'a ScanInputs,
        catalog: &'a Catalog,
    ) -> Self {
        Context {
            as_of,
            tenant,
            missing,
            exchange,
            inputs,
            catalog,
            rego_input: OnceCell::new(),
        }
    }
}

/// One verdict of a check.
#[derive(Debug)]
pub enum Verdict {
    Fail {
        /// Overrides the rule's severity (escalation parameters).
        severity: Option<Severity>,
        message: String,
        evidence: Evidence,
    },
    Pass {
        message: String,
    },
    NotEvaluated {
        reason: String,
    },
}

#[derive(Debug)]
pub struct Outcome {
    /// Set by tenant checks; app checks leave it to the engine (the app).
    pub subject: Option<Subject>,
    pub item: Option<String>,
    pub verdict: Verdict,
}

/// Collects a check's verdicts. Passes are counted always but only built (message and
/// item strings) when the report includes them, so the common path allocates for failures
/// only.
#[derive(Debug, Default)]
pub struct Outcomes {
    pub list: Vec<Outcome>,
    pub passed: usize,
    keep_passed: bool,
    subject: Option<Subject>,
}

impl Outcomes {
    pub fn new(keep_passed: bool) -> Self {
        Outcomes {
            list: Vec::new(),
            passed: 0,
            keep_passed,
            subject: None,
        }
    }

    /// Tenant checks: what the outcomes recorded from now on are about.
    pub fn about(&mut self, subject: Subject) -> &mut Self {
        self.subject = Some(subject);
        self
    }

    /// Forgets the subject set by [`about`](Self::about) (between checks).
    pub fn reset_subject(&mut self) {
        self.subject = None;
    }

    pub fn fail(&mut self, item: Option<String>, message: String, evidence: Evidence) {
        self.fail_at(None, item, message, evidence);
    }

    pub fn fail_at(
        &mut self,
        severity: Option<Severity>,
        item: Option<String>,
        message: String,
        evidence: Evidence,
    ) {
        self.list.push(Outcome {
            subject: self.subject.clone(),
            item,
            verdict: Verdict::Fail {
                severity,
                message,
                evidence,
            },
        });
    }

    /// Records a pass; `describe` gives (item, message) and runs only when passes are kept.
    pub fn pass(&mut self, describe: impl FnOnce() -> (Option<String>, String)) {
        self.passed += 1;
        if self.keep_passed {
            let (item, message) = describe();
            self.list.push(Outcome {
                subject: self.subject.clone(),
                item,
                verdict: Verdict::Pass { message },
            });
        }
    }

    pub fn not_evaluated(&mut self, item: Option<String>, reason: impl Into<String>) {
        self.list.push(Outcome {
            subject: self.subject.clone(),
            item,
            verdict: Verdict::NotEvaluated {
                reason: reason.into(),
            },
        });
    }
}

/// Everything a check kind may need while it is built from a rule file.
pub struct BuildContext<'a> {
    /// The rule file's text, for kinds that report positions inside embedded code.
    pub text: &'a str,
}

/// Why a `[check]` table could not be turned into a check; the span is a byte range of the
/// rule file.
#[derive(Debug)]
pub struct BuildError {
    pub span: Option<std::ops::Range<usize>>,
    pub message: String,
}

impl From<toml::de::Error> for BuildError {
    fn from(e: toml::de::Error) -> Self {
        BuildError {
            span: e.span(),
            message: e.message().to_string(),
        }
    }
}

type Builder = fn(ValueDeserializer<'_>, &BuildContext<'_>) -> Result<Evaluator, BuildError>;

/// Deserializes a per-app kind's parameters (unknown keys rejected) and boxes the check.
fn typed<'de, T>(de: ValueDeserializer<'de>) -> Result<Evaluator, BuildError>
where
    T: Check + Deserialize<'de> + 'static,
{
    Ok(Evaluator::PerApp(Box::new(T::deserialize(de)?)))
}

/// The same for a per-tenant kind.
fn tenant_typed<'de, T>(de: ValueDeserializer<'de>) -> Result<Evaluator, BuildError>
where
    T: TenantCheck + Deserialize<'de> + 'static,
{
    Ok(Evaluator::PerTenant(Box::new(T::deserialize(de)?)))
}

/// The check kinds, by the name rule files use in `[check] kind`.
pub const KINDS: &[(&str, Builder)] = &[
    ("access-policy-scope", |de, _| {
        tenant_typed::<access_policy_scope::AccessPolicyScope>(de)
    }),
    ("admin-consent-missing", |de, _| {
        typed::<admin_consent_missing::AdminConsentMissing>(de)
    }),
    ("audience", |de, _| typed::<audience::Audience>(de)),
    ("credential-expired", |de, _| {
        typed::<credential_expired::CredentialExpired>(de)
    }),
    ("credential-expiring", |de, _| {
        typed::<credential_expiring::CredentialExpiring>(de)
    }),
    ("credential-lifetime", |de, _| {
        typed::<credential_lifetime::CredentialLifetime>(de)
    }),
    ("deny-only-access-policy", |de, _| {
        typed::<deny_only_access_policy::DenyOnlyAccessPolicy>(de)
    }),
    ("ews-allowed", |de, _| typed::<ews_allowed::EwsAllowed>(de)),
    ("ews-permission", |de, _| {
        typed::<ews_permission::EwsPermission>(de)
    }),
    ("granted-not-requested", |de, _| {
        typed::<granted_not_requested::GrantedNotRequested>(de)
    }),
    ("impersonation-missing", |de, _| {
        typed::<impersonation_missing::ImpersonationMissing>(de)
    }),
    ("implicit-grant", |de, _| {
        typed::<implicit_grant::ImplicitGrantCheck>(de)
    }),
    ("legacy-access-policy", |de, _| {
        typed::<legacy_access_policy::LegacyAccessPolicy>(de)
    }),
    ("mailbox-protocols", |de, _| {
        tenant_typed::<mailbox_protocols::MailboxProtocols>(de)
    }),
    ("mailbox-reach", |de, _| {
        typed::<mailbox_reach::MailboxReach>(de)
    }),
    ("no-valid-credential", |de, _| {
        typed::<no_valid_credential::NoValidCredential>(de)
    }),
    ("orphaned-mailbox-scope", |de, _| {
        tenant_typed::<orphaned_mailbox_scope::OrphanedMailboxScope>(de)
    }),
    ("owner-count", |de, _| typed::<owner_count::OwnerCount>(de)),
    ("permission-match", |de, _| {
        typed::<permission_match::PermissionMatch>(de)
    }),
    ("public-client-fallback", |de, _| {
        typed::<public_client_fallback::PublicClientFallback>(de)
    }),
    ("rbac-with-entra-grant", |de, _| {
        typed::<rbac_with_entra_grant::RbacWithEntraGrant>(de)
    }),
    ("redirect-uri-case", |de, _| {
        typed::<redirect_uri_case::RedirectUriCase>(de)
    }),
    ("redirect-uri-scheme", |de, _| {
        typed::<redirect_uri_scheme::RedirectUriScheme>(de)
    }),
    ("redirect-uri-wildcard", |de, _| {
        typed::<redirect_uri_wildcard::RedirectUriWildcard>(de)
    }),
    ("rego", rego::build),
    ("role-assignment", |de, _| {
        tenant_typed::<role_assignment::RoleAssignmentCheck>(de)
    }),
    ("secret-for-app-only-mail", |de, _| {
        typed::<secret_for_app_only_mail::SecretForAppOnlyMail>(de)
    }),
    ("service-principal-present", |de, _| {
        typed::<service_principal_present::ServicePrincipalPresent>(de)
    }),
    ("unknown-permission", |de, _| {
        typed::<unknown_permission::UnknownPermission>(de)
    }),
];

/// Finds the builder of a check kind.
pub fn builder(kind: &str) -> Option<Builder> {
    KINDS
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, b)| *b)
}
