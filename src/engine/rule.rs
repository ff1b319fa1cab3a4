//! A loaded rule and its parts as rule files spell them.

use std::fmt;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::checks::Evaluator;
use crate::finding::Severity;
use crate::model::{App, TenantInfo};

/// Where a rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Shipped in the binary; the path is relative to the source tree (`rules/...`).
    Builtin(&'static str),
    /// A user rule file (`--rules DIR`).
    User(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin(p) => f.write_str(p),
            Origin::User(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The `[docs]` table: what a reader needs to act on a finding.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Docs {
    pub what: String,
    pub why: String,
    pub remediation: String,
    /// Where the check comes from (vendor guide, Microsoft doc), with links where public.
    #[serde(default)]
    pub references: Vec<String>,
}

impl Docs {
    /// Joins the hard-wrapped lines of each paragraph (rule files wrap at ~100 columns), so
    /// reports carry one line per paragraph; blank lines stay paragraph breaks.
    pub fn reflowed(self) -> Docs {
        Docs {
            what: reflow(&self.what),
            why: reflow(&self.why),
            remediation: reflow(&self.remediation),
            references: self.references,
        }
    }
}

fn reflow(text: &str) -> String {
    text.split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|para| !para.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// Wraps text at `width` columns, each line prefixed by `indent`, for terminal display.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > width {
                out += &format!("{indent}{line}\n");
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            out += &format!("{indent}{line}\n");
        }
    }
    out
}

/// `[[examples]]`: an input and the number of findings the rule must produce for it.
#[derive(Debug, Clone)]
pub struct Example {
    pub name: String,
    pub as_of: Option<DateTime<Utc>>,
    pub app: App,
    pub tenant: TenantInfo,
    /// The app management policies the example gives (the tenant default, if any).
    pub policies: crate::model::policy::Policies,
    pub expect_findings: usize,
    pub expect_not_evaluated: Option<usize>,
}

/// The `[plan]` table: the remediation step `m365audit plan` lists for the rule's failing
/// findings. A rule without one gets [`PlanStep::fallback`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    /// A short imperative ("Remove the unused app"). A plan row merges the findings whose
    /// step text is equal into one step naming all their rule ids.
    pub step: String,
    /// Lower runs first: remove (10) < contain reach (20) < credentials (30) < consent and
    /// owner (40) < hygiene (50).
    pub order: u32,
    /// The PowerShell or Graph command, with `{placeholders}` (see [`PLACEHOLDERS`]).
    pub command: Option<String>,
    /// Commands for particular subjects, tried before `command` (see [`CommandTarget`]).
    pub command_for: Vec<(CommandTarget, String)>,
}

/// The order of a step made from a rule's title: with the hygiene steps, last.
pub const FALLBACK_ORDER: u32 = 50;

impl PlanStep {
    /// The step of a rule without a `[plan]` table: its title, with the hygiene steps.
    pub fn fallback(title: &str) -> PlanStep {
        PlanStep {
            step: title.to_string(),
            order: FALLBACK_ORDER,
            command: None,
            command_for: Vec::new(),
        }
    }

    /// The command template for a finding about `targets` (most specific first): the first
    /// `command_for` entry among them, else `command`. An empty template means no command.
    pub fn command_template(&self, targets: &[CommandTarget]) -> Option<&str> {
        targets
            .iter()
            .find_map(|t| {
                self.command_for
                    .iter()
                    .find(|(target, _)| target == t)
                    .map(|(_, c)| c.as_str())
            })
            .or(self.command.as_deref())
            .filter(|c| !c.trim().is_empty())
    }
}

/// A `[plan.command_for]` key: what a finding is about, when its command differs from the
/// rule's `command` (removing a secret and a certificate are different cmdlets, and so are an
/// app registration's and a service principal's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandTarget {
    /// An app registration.
    Application,
    /// A certificate or other key credential of an app registration.
    ApplicationCertificate,
    /// A service principal (another organization's app, or the one of an app registration).
    ServicePrincipal,
    /// A certificate or other key credential of a service principal.
    ServicePrincipalCertificate,
    /// An Exchange management role assignment.
    RoleAssignment,
    /// An Exchange Application Access Policy.
    AccessPolicy,
    /// A mailbox.
    Mailbox,
    /// The tenant as a whole.
    Tenant,
}

impl CommandTarget {
    /// The key as rule files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandTarget::Application => "application",
            CommandTarget::ApplicationCertificate => "application_certificate",
            CommandTarget::ServicePrincipal => "service_principal",
            CommandTarget::ServicePrincipalCertificate => "service_principal_certificate",
            CommandTarget::RoleAssignment => "role_assignment",
            CommandTarget::AccessPolicy => "access_policy",
            CommandTarget::Mailbox => "mailbox",
            CommandTarget::Tenant => "tenant",
        }
    }
}

/// The placeholders a plan command can name, with the text shown where the finding does not
/// give the value. `{name}` with a lower-case name is a placeholder; other braces (PowerShell
/// script blocks and hash tables) are left as written.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("app_id", "<app id>"),
    ("object_id", "<app object id>"),
    ("sp_object_id", "<service principal object id>"),
    ("key_id", "<key id>"),
    ("mailbox", "<mailbox>"),
    ("identity", "<identity>"),
];

/// The `{name}` placeholders of a command template: each one's byte range (braces included)
/// and name.
pub fn placeholders(template: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = template[from..].find('{').map(|i| from + i) {
        let rest = &template[open + 1..];
        let len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(rest.len());
        if len > 0 && rest[len..].starts_with('}') {
            found.push((open..open + len + 2, &rest[..len]));
            from = open + len + 2;
        } else {
            from = open + 1;
        }
    }
    found
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub severity: Severity,
    /// The check kind (`credential-lifetime`, `rego`, ...).
    pub kind: String,
    /// The `[check]` table as written, for `explain`.
    pub params: toml::Table,
    pub docs: Docs,
    pub check: Evaluator,
    pub origin: Origin,
    /// Line and column of `id` in the rule file, for messages about the rule as a whole.
    pub position: Option<(usize, usize)>,
    pub examples: Vec<Example>,
    /// The `[plan]` table, when the rule file has one.
    pub plan: Option<PlanStep>,
}

impl Rule {
    /// The rule's step in an action plan: its `[plan]`, else one made from its title.
    pub fn plan_step(&self) -> std::borrow::Cow<'_, PlanStep> {
        match &self.plan {
            Some(plan) => std::borrow::Cow::Borrowed(plan),
            None => std::borrow::Cow::Owned(PlanStep::fallback(&self.title)),
        }
    }

    pub fn is_builtin(&self) -> bool {
        matches!(self.origin, Origin::Builtin(_))
    }

    /// `app` or `tenant`: what the rule is evaluated on.
    pub fn scope(&self) -> &'static str {
        match self.check {
            Evaluator::PerApp(_) => "app",
            Evaluator::PerTenant(_) => "tenant",
        }
    }
}
