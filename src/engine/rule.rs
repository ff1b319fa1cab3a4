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
}

impl Rule {
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
