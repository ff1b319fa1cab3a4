//! Vendor profiles: one vendor's setup guide as an ordered list of checkable steps, for the
//! pre-go-live checklist. A step quotes what the guide says, checks the end state that is
//! right today (which is not always what the guide says: `advice` explains the difference),
//! or is `manual` when no tenant data can show it.
//!
//! Profiles are TOML (`rules/profiles/<id>.toml`, embedded; or `--profile-file`), validated
//! like rule files: every error names the file, line and column.

pub mod eval;
mod load;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::checks::Evaluator;
use crate::model::PermissionKind;

pub use eval::{StepOutcome, StepResult, evaluate};
pub use load::{ProfileError, builtin, load_file};

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

/// One check of a step: a profile check, or any rule check kind (with its parameters).
pub enum StepCheck {
    /// `sign-in-audience`: the supported account types the guide allows.
    Audience { allowed: Vec<String> },
    /// `redirect-uris`: a URI on `platform` matching one of `templates` (any URI when
    /// empty), lowercase when `lowercase`.
    RedirectUris {
        platform: crate::model::Platform,
        templates: Vec<String>,
        lowercase: bool,
    },
    /// `permissions`: requested (or also granted, with admin consent) as the guide lists.
    Permissions {
        granted: bool,
        permissions: Vec<PermissionRef>,
    },
    /// `extra-permissions`: requested or granted permissions outside the guide's list.
    ExtraPermissions {
        /// Also allowed (optional in the guide).
        allowed: Vec<PermissionRef>,
        /// Extras with a reason (e.g. a guide asks for a permission its feature does not use).
        flagged: Vec<PermissionRef>,
    },
    /// `exchange-role`: an Exchange management role assignment exists.
    ExchangeRole { role: String },
    /// A rule check kind (`credential-lifetime`, `mailbox-protocols`, ...).
    Rule { kind: String, check: Evaluator },
}

/// A permission named in a profile, resolved through the catalogue at load.
#[derive(Debug, Clone)]
pub struct PermissionRef {
    pub resource_app_id: String,
    pub resource_name: String,
    pub id: String,
    pub value: String,
    pub kind: PermissionKind,
    /// Shown with the requirement (e.g. what the guide got wrong about it).
    pub note: Option<String>,
    /// From this date the permission no longer works: it must be absent.
    pub dead_from: Option<DateTime<Utc>>,
}

impl PermissionRef {
    pub fn label(&self) -> String {
        let kind = match self.kind {
            PermissionKind::Application => "application",
            PermissionKind::Delegated => "delegated",
        };
        format!("{} {} ({kind})", self.resource_name, self.value)
    }
}

impl Profile {
    /// All permissions the guide's `permissions` steps list.
    pub fn listed_permissions(&self) -> Vec<&PermissionRef> {
        self.steps
            .iter()
            .flat_map(|s| &s.checks)
            .flat_map(|c| match c {
                StepCheck::Permissions { permissions, .. } => permissions.as_slice(),
                _ => &[],
            })
            .collect()
    }
}
