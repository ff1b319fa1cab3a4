//! Comparing a run with an earlier one (`scan --baseline`, `m365audit diff`): each failing or
//! not-evaluated finding is `new` or `unchanged`, and the earlier ones no longer reported are
//! `resolved`. Findings are matched by fingerprint (rule + subject + item), never by message.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::fingerprint;

/// A finding of an earlier JSON v1 report.
#[derive(Debug, Clone, Serialize)]
pub struct Prior {
    pub fingerprint: String,
    pub rule_id: String,
    pub severity: String,
    pub outcome: String,
    pub subject: PriorSubject,
    pub item: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PriorSubject {
    pub kind: String,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub object_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub identity: Option<String>,
}

impl PriorSubject {
    pub fn label(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.identity.clone())
            .or_else(|| self.app_id.clone())
            .unwrap_or_else(|| self.kind.clone())
    }
}

#[derive(Deserialize)]
struct Doc {
    schema: String,
    findings: Vec<DocFinding>,
}

#[derive(Deserialize)]
struct DocFinding {
    #[serde(default)]
    fingerprint: Option<String>,
    rule_id: String,
    severity: String,
    outcome: String,
    subject: PriorSubject,
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    message: String,
}

/// The failing and not-evaluated findings of a JSON v1 report.
pub fn load(path: &Path) -> Result<Vec<Prior>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let doc: Doc = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not an m365audit JSON report: {e}",
            e.line(),
            e.column()
        )
    })?;
    if doc.schema != "m365audit/findings/v1" {
        return Err(format!(
            "{shown}: schema {:?} is not m365audit/findings/v1",
            doc.schema
        ));
    }
    Ok(doc
        .findings
        .into_iter()
        .filter(|f| f.outcome != "pass")
        .map(|f| Prior {
            fingerprint: f.fingerprint.unwrap_or_else(|| {
                fingerprint(
                    &f.rule_id,
                    &f.subject.kind,
                    f.subject.app_id.as_deref(),
                    f.subject.object_id.as_deref(),
                    f.subject.identity.as_deref(),
                    f.item.as_deref(),
                )
            }),
            rule_id: f.rule_id,
            severity: f.severity,
            outcome: f.outcome,
            subject: f.subject,
            item: f.item,
            message: f.message,
        })
        .collect())
}

/// How the current run compares with a baseline.
#[derive(Debug, Clone)]
pub struct Changes {
    pub baseline: String,
    known: HashSet<String>,
    pub new: usize,
    pub unchanged: usize,
    /// Earlier findings the current run no longer reports.
    pub resolved: Vec<Prior>,
}

/// `new` or `unchanged`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    New,
    Unchanged,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Unchanged => "unchanged",
        }
    }
}

impl Changes {
    /// `current`: fingerprints of the current run's failing and not-evaluated findings.
    pub fn compute<'a>(
        baseline: String,
        prior: Vec<Prior>,
        current: impl IntoIterator<Item = &'a str>,
    ) -> Changes {
        let known: HashSet<String> = prior.iter().map(|p| p.fingerprint.clone()).collect();
        let mut seen = HashSet::new();
        let (mut new, mut unchanged) = (0, 0);
        for fp in current {
            if known.contains(fp) {
                unchanged += 1;
            } else {
                new += 1;
            }
            seen.insert(fp.to_string());
        }
        let mut by_fp: HashMap<String, Prior> = HashMap::new();
        for p in prior {
            if !seen.contains(&p.fingerprint) {
                by_fp.entry(p.fingerprint.clone()).or_insert(p);
            }
        }
        let mut resolved: Vec<Prior> = by_fp.into_values().collect();
        resolved
            .sort_by(|a, b| (&a.rule_id, a.subject.label()).cmp(&(&b.rule_id, b.subject.label())));
        Changes {
            baseline,
            known,
            new,
            unchanged,
            resolved,
        }
    }

    pub fn change(&self, fingerprint: &str) -> Change {
        if self.known.contains(fingerprint) {
            Change::Unchanged
        } else {
            Change::New
        }
    }
}
