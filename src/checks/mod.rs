//! Native check kinds: one file per kind, named after it (`kind = "credential-lifetime"` is
//! `credential_lifetime.rs`). A kind is typed Rust with typed parameters read from the rule
//! file's `[check]` table; unknown or mistyped parameters are load errors.

mod audience;
mod credential_expired;
mod credential_expiring;
mod credential_lifetime;
mod implicit_grant;
mod no_valid_credential;
mod owner_count;
mod public_client_fallback;
mod redirect_uri_case;
mod redirect_uri_scheme;
mod redirect_uri_wildcard;
mod secret_for_app_only_mail;
mod service_principal_present;
mod uri;
mod util;

use std::cell::OnceCell;
use std::fmt::Debug;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use toml::de::ValueDeserializer;

use crate::engine::finding::{Evidence, Severity};
use crate::model::{App, Missing, TenantInfo};

/// A native or Rego check, evaluated once per app.
pub trait Check: Debug + Send + Sync {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes);
}

/// What a check may know besides the app. `as_of` is the only clock.
pub struct Context<'a> {
    pub as_of: DateTime<Utc>,
    pub tenant: &'a TenantInfo,
    pub missing: &'a Missing,
    /// The app as Rego input, built on first use and shared by all Rego rules for this app.
    pub rego_input: OnceCell<regorus::Value>,
}

impl<'a> Context<'a> {
    pub fn new(as_of: DateTime<Utc>, tenant: &'a TenantInfo, missing: &'a Missing) -> Self {
        Context {
            as_of,
            tenant,
            missing,
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
}

impl Outcomes {
    pub fn new(keep_passed: bool) -> Self {
        Outcomes {
            list: Vec::new(),
            passed: 0,
            keep_passed,
        }
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
                item,
                verdict: Verdict::Pass { message },
            });
        }
    }

    pub fn not_evaluated(&mut self, item: Option<String>, reason: impl Into<String>) {
        self.list.push(Outcome {
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

type Builder = fn(ValueDeserializer<'_>, &BuildContext<'_>) -> Result<Box<dyn Check>, BuildError>;

/// Deserializes a kind's parameters (unknown keys rejected) and boxes the check.
fn typed<'de, T>(de: ValueDeserializer<'de>) -> Result<Box<dyn Check>, BuildError>
where
    T: Check + Deserialize<'de> + 'static,
{
    Ok(Box::new(T::deserialize(de)?))
}

/// The check kinds, by the name rule files use in `[check] kind`.
pub const KINDS: &[(&str, Builder)] = &[
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
    ("implicit-grant", |de, _| {
        typed::<implicit_grant::ImplicitGrantCheck>(de)
    }),
    ("no-valid-credential", |de, _| {
        typed::<no_valid_credential::NoValidCredential>(de)
    }),
    ("owner-count", |de, _| typed::<owner_count::OwnerCount>(de)),
    ("public-client-fallback", |de, _| {
        typed::<public_client_fallback::PublicClientFallback>(de)
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
    ("rego", |de, cx| crate::engine::rego::build(de, cx)),
    ("secret-for-app-only-mail", |de, _| {
        typed::<secret_for_app_only_mail::SecretForAppOnlyMail>(de)
    }),
    ("service-principal-present", |de, _| {
        typed::<service_principal_present::ServicePrincipalPresent>(de)
    }),
];

/// Finds the builder of a check kind.
pub fn builder(kind: &str) -> Option<Builder> {
    KINDS
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, b)| *b)
}
