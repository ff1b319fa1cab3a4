//! The counts a report shows before its findings, and what it says about each scanned source.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::engine::RuleSet;
use crate::finding::{Finding, Outcome, Severity};

/// One scanned source as the report shows it.
#[derive(Debug, Clone)]
pub struct SourceSummary {
    pub path: String,
    /// `export-directory`, `application-list`, ...; `None` if it could not be read at all.
    pub kind: Option<&'static str>,
    pub tenant: Option<String>,
    /// When the export was collected (`snapshot.json`), if known.
    pub collected_at: Option<DateTime<Utc>>,
    pub apps: usize,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// The report's counts, whatever findings it keeps.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub apps: usize,
    pub rules: usize,
    pub fail: usize,
    pub not_evaluated: usize,
    pub waived: usize,
    pub pass: usize,
    /// Failing findings per severity.
    pub by_severity: BTreeMap<Severity, usize>,
}

impl Summary {
    /// The counts of `findings`, of the apps in `sources` and of the rules. `passed` counts
    /// passes whether or not they were kept.
    pub fn new(
        rules: &RuleSet,
        sources: &[SourceSummary],
        findings: &[Finding],
        passed: usize,
    ) -> Self {
        let mut summary = Summary {
            apps: sources.iter().map(|s| s.apps).sum(),
            rules: rules.rules.len(),
            pass: passed,
            ..Summary::default()
        };
        for sev in Severity::ALL {
            summary.by_severity.insert(sev, 0);
        }
        for f in findings {
            summary.count(f);
        }
        summary
    }

    /// Counts one finding (passes are counted by `pass`, whether or not they are kept).
    pub fn count(&mut self, f: &Finding) {
        match f.outcome {
            Outcome::Fail => {
                self.fail += 1;
                *self.by_severity.entry(f.severity).or_default() += 1;
            }
            Outcome::NotEvaluated => self.not_evaluated += 1,
            Outcome::Waived => self.waived += 1,
            Outcome::Pass => {}
        }
    }

    /// Adds the finding counts of `other` (findings counted apart, in parallel).
    pub fn add(&mut self, other: &Summary) {
        self.fail += other.fail;
        self.not_evaluated += other.not_evaluated;
        self.waived += other.waived;
        for (sev, n) in &other.by_severity {
            *self.by_severity.entry(*sev).or_default() += n;
        }
    }

    /// `["8 critical", "16 high", ...]`, most severe first, zero counts left out.
    pub fn failing_by_severity(&self) -> Vec<String> {
        Severity::ALL
            .iter()
            .filter_map(|sev| {
                let n = self.by_severity.get(sev).copied().unwrap_or(0);
                (n > 0).then(|| format!("{n} {sev}"))
            })
            .collect()
    }
}
