//! The check API (what a check sees and what it reports) and the check kinds. Each kind is a
//! file in [`kinds`], named after it (`kind = "credential-lifetime"` is
//! `kinds/credential_lifetime.rs`), and registered once in [`registry`] with its parameters
//! and docs. A kind is typed Rust with typed parameters read from the rule file's `[check]`
//! table; unknown or mistyped parameters are load errors. The other modules here are helpers
//! the kinds share.

mod consent;
mod credentials;
mod ews;
pub mod kinds;
mod permissions;
pub mod registry;
mod uri;

pub use kinds::mailbox_protocols::Protocol;
pub use permissions::PermissionRef;
pub use registry::{KINDS, Kind};

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::finding::{Evidence, Severity, Subject, SubjectKind};
use crate::model::policy::Policies;
use crate::model::{App, AppKind, Catalog, Exchange, Missing, Tenant, TenantInfo};

/// What an app's findings are about: its registration, or its service principal when the
/// registration lives in another tenant.
pub fn app_subject(app: &App) -> Subject {
    match app.kind {
        AppKind::Application => Subject {
            kind: SubjectKind::Application,
            app_id: app.app_id.clone(),
            object_id: app.object_id.clone(),
            display_name: app.display_name.clone(),
            identity: None,
            organization: Some(app.organization.clone()),
        },
        AppKind::ServicePrincipal => service_principal_subject(app),
    }
}

/// The app's service principal as a subject: findings about what the enterprise
/// application holds itself (its own credentials), not the registration.
pub fn service_principal_subject(app: &App) -> Subject {
    Subject {
        kind: SubjectKind::ServicePrincipal,
        app_id: app.app_id.clone(),
        object_id: app.enterprise_app().and_then(|sp| sp.object_id.clone()),
        display_name: app.display_name.clone(),
        identity: None,
        organization: Some(app.organization.clone()),
    }
}

/// A native or Rego check, evaluated once per app.
pub trait Check: Debug + Send + Sync {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes);

    /// Which apps the check is about. Most look at app registrations only; checks of
    /// granted permissions and mailbox reach also cover service principals whose
    /// registration lives in another tenant.
    fn applies_to(&self, kind: AppKind) -> bool {
        kind == AppKind::Application
    }

    /// Why the check cannot be evaluated for any app of the tenant, when the input lacks
    /// what it needs for all of them. The engine records it once, about the tenant, and the
    /// check says nothing of it per app: one line for the admin instead of one per app.
    fn not_evaluated_for_tenant(&self, _missing: &Missing) -> Option<String> {
        None
    }
}

/// A check evaluated once per tenant, about objects other than apps (role assignments,
/// access policies, mailboxes). Its outcomes name their own subjects.
pub trait TenantCheck: Debug + Send + Sync {
    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes);

    /// Whether [`evaluate`](Self::evaluate) reads the app registrations in `tenant.apps`
    /// with these inputs. A scan that evaluates apps as they are read keeps them all in
    /// memory only when some tenant check does; otherwise the tenant it passes holds only the
    /// service principals without a registration ([`AppKind::ServicePrincipal`]), which are
    /// always there. When in doubt, true.
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
    /// The tenant's app management policies.
    pub policies: &'a Policies,
    /// What the admin said about their setup (`checklist --set name=value`): the values of
    /// a profile's placeholders. Empty in a scan.
    pub settings: &'a BTreeMap<String, String>,
    /// The app as Rego input, built on first use and shared by all Rego rules for this app.
    pub rego_input: OnceCell<regorus::Value>,
    /// The app's service principal as a subject, made on first use and shared by every
    /// finding about it (a scan of an export without credential properties has one per rule
    /// per app).
    service_principal: OnceCell<Arc<Subject>>,
}

/// The settings of a scan: none.
static NO_SETTINGS: BTreeMap<String, String> = BTreeMap::new();

impl<'a> Context<'a> {
    pub fn new(
        as_of: DateTime<Utc>,
        tenant: &'a TenantInfo,
        missing: &'a Missing,
        exchange: &'a Exchange,
        inputs: &'a ScanInputs,
        catalog: &'a Catalog,
        policies: &'a Policies,
    ) -> Self {
        Context {
            as_of,
            tenant,
            missing,
            exchange,
            inputs,
            catalog,
            policies,
            settings: &NO_SETTINGS,
            rego_input: OnceCell::new(),
            service_principal: OnceCell::new(),
        }
    }

    /// [`service_principal_subject`] of `app`, shared. A context is made per app.
    pub fn service_principal_subject(&self, app: &App) -> Arc<Subject> {
        Arc::clone(
            self.service_principal
                .get_or_init(|| Arc::new(service_principal_subject(app))),
        )
    }

    /// The same context with the admin's settings (a checklist's `--set`).
    pub fn with_settings(self, settings: &'a BTreeMap<String, String>) -> Self {
        Context { settings, ..self }
    }

    /// Why an app's service principal is unknown (no servicePrincipals.json, or no appId).
    pub fn service_principal_unknown(&self) -> String {
        self.missing
            .service_principals
            .clone()
            .unwrap_or_else(|| "the app's service principal is unknown".into())
    }

    /// The Application Access Policies naming `app`, when there are any. Otherwise records
    /// why they are unknown (not evaluated) or that there are none (a pass), and gives `None`.
    pub fn policies_naming<'b>(
        &self,
        app: &'b App,
        out: &mut Outcomes,
    ) -> Option<&'b [crate::model::scope::PolicyRef]> {
        let Some(policies) = &app.mailbox_access.policies else {
            out.not_evaluated(
                None,
                self.missing
                    .access_policies
                    .clone()
                    .unwrap_or_else(|| "Application Access Policies are unknown".into()),
            );
            return None;
        };
        if policies.is_empty() {
            out.pass(|| (None, "no Application Access Policy names the app".into()));
            return None;
        }
        Some(policies)
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
    /// Set by tenant checks, and by app checks about the app's service principal; otherwise
    /// the engine's (the app).
    pub subject: Option<Arc<Subject>>,
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
    /// Said whatever the verdicts (what a vendor guide gets wrong about a permission, ...).
    /// Checklists show them; kinds that write them are for profiles only.
    pub notes: Vec<String>,
    keep_passed: bool,
    subject: Option<Arc<Subject>>,
}

impl Outcomes {
    pub fn new(keep_passed: bool) -> Self {
        Outcomes {
            list: Vec::new(),
            passed: 0,
            notes: Vec::new(),
            keep_passed,
            subject: None,
        }
    }

    /// What the outcomes recorded from now on are about (tenant checks, and app checks
    /// about the app's service principal).
    pub fn about(&mut self, subject: impl Into<Arc<Subject>>) -> &mut Self {
        self.subject = Some(subject.into());
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

    pub fn note(&mut self, note: String) {
        self.notes.push(note);
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

/// Everything a check kind may need while it is built from a rule file or profile.
pub struct BuildContext<'a> {
    /// The file's text, for kinds that report positions inside embedded code.
    pub text: &'a str,
    /// Set when the check is a profile step's.
    pub profile: Option<&'a ProfileBuild<'a>>,
}

impl<'a> BuildContext<'a> {
    /// Building a rule file's check.
    pub fn rule(text: &'a str) -> Self {
        BuildContext {
            text,
            profile: None,
        }
    }

    /// What a profile-only kind needs; loaders refuse such kinds outside profiles before
    /// building, so the error is a second line of defence.
    pub fn profile(&self) -> Result<&'a ProfileBuild<'a>, BuildError> {
        self.profile.ok_or_else(|| BuildError {
            span: None,
            message: "this check kind is written in profiles only".into(),
        })
    }
}

/// What a profile step's check may need while it is built: kinds written only in profiles
/// resolve permission names, placeholders and the guide's permission list here.
pub struct ProfileBuild<'a> {
    pub catalog: &'a Catalog,
    /// The profile's `[placeholders]`: name → what it stands for.
    pub placeholders: &'a BTreeMap<String, String>,
    /// Every permission the profile's `permissions` steps list.
    pub listed: &'a [PermissionRef],
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

/// Joins a TOML multi-line string's lines into paragraphs (blank lines separate them).
pub fn reflow(s: &str) -> String {
    s.trim()
        .split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Builds evidence from a `json!` object literal.
pub fn evidence(v: Value) -> Evidence {
    match v {
        Value::Object(map) => map,
        other => {
            let mut e = Evidence::new();
            e.insert("value".into(), other);
            e
        }
    }
}
