//! Vendor profiles: one vendor's setup guide as an ordered list of checkable steps, for the
//! pre-go-live checklist. A step quotes what the guide says, checks the end state that is
//! right today (which is not always what the guide says: `advice` explains the difference),
//! or is `manual` when no tenant data can show it.
//!
//! Profiles are TOML (`rules/profiles/<id>.toml`, embedded; or `--profile-file`), validated
//! like rule files: every error names the file, line and column. A step's checks are check
//! kinds from the registry (`m365audit rules kinds`), built by the same code as a rule's:
//! any kind written in rules and profiles, and the profile-only ones that compare an app
//! with one guide (`permissions`, `extra-permissions`, `redirect-uris`, `exchange-role`).

pub mod eval;
mod load;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::checks::{Evaluator, PermissionRef};

pub use eval::{StepOutcome, StepResult, evaluate};
pub use load::{builtin, load_file};

/// A checklist for one vendor's integration.
pub struct Profile {
    pub id: String,
    pub vendor: String,
    pub title: String,
    /// The guide the steps come from (title, publisher, date).
    pub guide: String,
    pub summary: Option<String>,
    /// Words that make an app registration a candidate when `--app` is not given.
    pub name_hints: Vec<String>,
    /// Placeholder name → what it stands for (`--set name=value`).
    pub placeholders: BTreeMap<String, String>,
    pub steps: Vec<Step>,
    /// Every permission the guide's `permissions` steps list.
    pub listed: Vec<PermissionRef>,
    /// Where it was loaded from.
    pub path: String,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

pub struct Step {
    /// As numbered in the guide ("3", "5.2").
    pub number: String,
    pub title: String,
    /// What the guide tells the admin to do, in its words.
    pub guide: String,
    /// Empty for manual steps.
    pub checks: Vec<StepCheck>,
    /// Why the profile checks something other than the guide says, or what to do instead.
    pub advice: Option<Advice>,
}

/// What a profile says about a guide's instruction.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Advice {
    /// `retired` (no longer works), `unsafe` (works, but do this instead) or `note`.
    pub kind: AdviceKind,
    pub text: String,
    /// From this date the instruction cannot work: the step fails whatever the data says.
    pub dead_from: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdviceKind {
    Retired,
    Unsafe,
    Note,
}

/// One check of a step: a check kind from the registry, with its parameters.
pub struct StepCheck {
    pub kind: &'static str,
    pub check: Evaluator,
}
