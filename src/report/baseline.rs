//! Comparing a run with an earlier one (`scan --baseline`, `m365audit diff`): each failing or
//! not-evaluated finding is `new` or `unchanged`, and the earlier ones no longer reported are
//! `resolved`. Findings are matched by fingerprint (rule + subject + item), never by message.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::schema_id;
use crate::finding::fingerprint;

/// A finding of an earlier report.
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
    /// v2: the subjects findings point at.
    #[serde(default)]
    subjects: Vec<PriorSubject>,
    findings: Vec<DocFinding>,
}

#[derive(Deserialize)]
struct DocFinding {
    #[serde(default)]
    fingerprint: Option<String>,
    rule_id: String,
    severity: String,
    outcome: String,
    subject: SubjectRef,
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    message: String,
}

/// v1 and JSON Lines write the subject in each finding; v2 its index into `subjects`.
#[derive(Deserialize)]
#[serde(untagged)]
enum SubjectRef {
    Index(usize),
    Inline(PriorSubject),
}

/// The first line of a JSON Lines report.
#[derive(Deserialize)]
struct LinesHeader {
    #[serde(rename = "type")]
    kind: String,
    schema: String,
}

/// The failing and not-evaluated findings of a report: JSON v2 or v1, or JSON Lines.
pub fn load(path: &Path) -> Result<Vec<Prior>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let first = text.lines().next().unwrap_or_default();
    let findings = match serde_json::from_str::<LinesHeader>(first) {
        Ok(header) if header.kind == "header" => load_lines(&shown, &header, &text)?,
        _ => load_document(&shown, &text)?,
    };
    Ok(findings
        .into_iter()
        .filter(|(f, _)| f.outcome != "pass")
        .map(|(f, subject)| Prior {
            fingerprint: f.fingerprint.unwrap_or_else(|| {
                fingerprint(
                    &f.rule_id,
                    &subject.kind,
                    subject.app_id.as_deref(),
                    subject.object_id.as_deref(),
                    subject.identity.as_deref(),
                    f.item.as_deref(),
                )
            }),
            rule_id: f.rule_id,
            severity: f.severity,
            outcome: f.outcome,
            subject,
            item: f.item,
            message: f.message,
        })
        .collect())
}

fn load_document(
    shown: &std::path::Display,
    text: &str,
) -> Result<Vec<(DocFinding, PriorSubject)>, String> {
    let doc: Doc = serde_json::from_str(text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not an m365audit JSON report: {e}",
            e.line(),
            e.column()
        )
    })?;
    if !matches!(
        doc.schema.as_str(),
        schema_id::FINDINGS_V1 | schema_id::FINDINGS_V2
    ) {
        return Err(format!(
            "{shown}: schema {:?} is not m365audit/findings/v2 or m365audit/findings/v1",
            doc.schema
        ));
    }
    let subjects = doc.subjects;
    doc.findings
        .into_iter()
        .enumerate()
        .map(|(i, mut f)| {
            let subject = match std::mem::replace(&mut f.subject, SubjectRef::Index(0)) {
                SubjectRef::Inline(s) => s,
                SubjectRef::Index(n) => subjects.get(n).cloned().ok_or_else(|| {
                    format!(
                        "{shown}: findings[{i}] names subject {n}, but the report has {} subjects",
                        subjects.len()
                    )
                })?,
            };
            Ok((f, subject))
        })
        .collect()
}

fn load_lines(
    shown: &std::path::Display,
    header: &LinesHeader,
    text: &str,
) -> Result<Vec<(DocFinding, PriorSubject)>, String> {
    if header.schema != schema_id::FINDINGS_JSONL_V1 {
        return Err(format!(
            "{shown}:1: schema {:?} is not {}",
            header.schema,
            schema_id::FINDINGS_JSONL_V1
        ));
    }
    /// A line after the header: a finding, or the summary (skipped). Parsed once.
    #[derive(Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Line {
        Finding(Box<DocFinding>),
        #[serde(other)]
        Other,
    }
    let mut findings = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str(line).map_err(|e| {
            format!(
                "{shown}:{}:{}: not an m365audit JSON Lines report: {e}",
                n + 1,
                e.column()
            )
        })?;
        let Line::Finding(f) = parsed else {
            continue;
        };
        let mut f = *f;
        match std::mem::replace(&mut f.subject, SubjectRef::Index(0)) {
            SubjectRef::Inline(s) => findings.push((f, s)),
            SubjectRef::Index(_) => {
                return Err(format!(
                    "{shown}:{}: a finding line's subject must be an object",
                    n + 1
                ));
            }
        }
    }
    Ok(findings)
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
    /// The baseline before the current findings are counted: every earlier finding is
    /// resolved until [`Changes::settle`] says the current run reports it too.
    pub fn start(baseline: String, prior: Vec<Prior>) -> Changes {
        let known: HashSet<String> = prior.iter().map(|p| p.fingerprint.clone()).collect();
        let mut by_fp: HashMap<String, Prior> = HashMap::new();
        for p in prior {
            by_fp.entry(p.fingerprint.clone()).or_insert(p);
        }
        let mut resolved: Vec<Prior> = by_fp.into_values().collect();
        resolved
            .sort_by(|a, b| (&a.rule_id, a.subject.label()).cmp(&(&b.rule_id, b.subject.label())));
        Changes {
            baseline,
            known,
            new: 0,
            unchanged: 0,
            resolved,
        }
    }

    /// Adds the counts of current findings, and drops from `resolved` the earlier findings
    /// whose fingerprints are in `seen` (the unchanged ones).
    pub fn settle(&mut self, new: usize, unchanged: usize, seen: &HashSet<String>) {
        self.new += new;
        self.unchanged += unchanged;
        self.resolved.retain(|p| !seen.contains(&p.fingerprint));
    }

    /// `current`: fingerprints of the current run's failing and not-evaluated findings.
    pub fn compute<'a>(
        baseline: String,
        prior: Vec<Prior>,
        current: impl IntoIterator<Item = &'a str>,
    ) -> Changes {
        let mut changes = Changes::start(baseline, prior);
        let mut seen = HashSet::new();
        let (mut new, mut unchanged) = (0, 0);
        for fp in current {
            match changes.change(fp) {
                Change::Unchanged => {
                    unchanged += 1;
                    seen.insert(fp.to_string());
                }
                Change::New => new += 1,
            }
        }
        changes.settle(new, unchanged, &seen);
        changes
    }

    pub fn change(&self, fingerprint: &str) -> Change {
        if self.known.contains(fingerprint) {
            Change::Unchanged
        } else {
            Change::New
        }
    }
}
