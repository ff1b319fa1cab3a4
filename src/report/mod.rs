//! Report writers: one per format, each from the same [`Report`].
//!
//! This file holds the [`Report`] and the choice of writer. Around it: `summary` counts
//! the findings and describes the sources, `order` sorts the findings, `text` makes
//! input text safe to show; then one file per format (the three JSON formats in `json`),
//! and the baseline comparison,
//! checklists, the action plan's writers and the reports folder.

pub mod baseline;
pub mod checklist;
pub mod csv;
pub mod folder;
pub mod history;
mod html;
pub mod json;
mod junit;
mod markdown;
mod order;
pub mod overview;
pub mod plan;
mod sarif;
mod summary;
mod table;
mod text;

pub use csv::neutralize;
pub use summary::{SourceSummary, Summary};
pub use text::{defuse, defuse_in_markup, defused, escape_markup};

use std::io::{self, Write};

use chrono::{DateTime, Utc};

use crate::engine::RuleSet;
use crate::finding::{Finding, Outcome, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Readable table grouped by app (default).
    Table,
    /// Versioned JSON (`m365audit/findings/v2`) for scheduled reports: each rule's text and
    /// each subject once, findings pointing at them.
    Json,
    /// JSON Lines (`m365audit/findings-jsonl/v1`) for SIEMs: a header line, a self-contained
    /// line per finding (written as apps are evaluated), a summary line.
    Jsonl,
    /// The earlier JSON report (`m365audit/findings/v1`), every finding self-contained.
    /// Deprecated: written for this release only.
    #[value(name = "json-v1")]
    #[serde(rename = "json-v1")]
    JsonV1,
    /// One row per finding, evidence as compact JSON.
    Csv,
    /// Summary and table of what needs attention, for tickets and email.
    Markdown,
    /// JUnit XML for CI systems: a test suite per rule, a test case per subject.
    Junit,
    /// SARIF 2.1.0 for code-scanning dashboards (GitHub, Azure DevOps).
    Sarif,
    /// One self-contained HTML file with filters and expandable findings.
    Html,
}

/// The schema ids the JSON reports carry: written by `json`, read back by `baseline`.
pub mod schema_id {
    pub const FINDINGS_V1: &str = "m365audit/findings/v1";
    pub const FINDINGS_V2: &str = "m365audit/findings/v2";
    pub const FINDINGS_JSONL_V1: &str = "m365audit/findings-jsonl/v1";
}

/// Everything a writer needs.
#[derive(Debug)]
pub struct Report<'a> {
    pub tool_version: &'static str,
    pub as_of: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    pub sources: Vec<SourceSummary>,
    pub rules: &'a RuleSet,
    /// Sorted: fail, not evaluated, waived, pass; then severity, app, rule, item.
    pub findings: Vec<Finding>,
    pub summary: Summary,
    /// Whether passes were kept in `findings` (`--include-passed`).
    pub includes_passed: bool,
    /// The comparison with `--baseline`, if given.
    pub changes: Option<baseline::Changes>,
    /// What became of each configured waiver.
    pub waivers: Vec<crate::engine::waiver::WaiverStatus>,
    /// The counts behind the HTML report's pictures, when it is written.
    pub overview: Option<overview::Overview>,
    /// `--csv-columns`: the CSV report's columns (all of them if empty).
    pub csv_columns: Vec<csv::Column>,
    /// The tenant's runs in the findings store, oldest first, this one last: the HTML
    /// report's trend chart.
    pub trend: Option<Vec<history::RunRow>>,
}

impl<'a> Report<'a> {
    /// Sorts the findings and computes the summary. `passed` counts passes whether or not
    /// they were kept.
    pub fn new(
        rules: &'a RuleSet,
        sources: Vec<SourceSummary>,
        mut findings: Vec<Finding>,
        passed: usize,
        as_of: DateTime<Utc>,
        generated_at: DateTime<Utc>,
        includes_passed: bool,
    ) -> Self {
        order::sort(rules, &mut findings);
        let summary = Summary::new(rules, &sources, &findings, passed);
        Report {
            tool_version: env!("CARGO_PKG_VERSION"),
            as_of,
            generated_at,
            sources,
            rules,
            findings,
            summary,
            includes_passed,
            changes: None,
            waivers: Vec::new(),
            overview: None,
            csv_columns: Vec::new(),
            trend: None,
        }
    }

    /// Compares the failing and not-evaluated findings with an earlier report's.
    pub fn compare(&mut self, baseline: String, prior: Vec<baseline::Prior>) {
        let current = self
            .findings
            .iter()
            .filter(|f| f.outcome != Outcome::Pass)
            .map(|f| f.fingerprint.as_str());
        self.changes = Some(baseline::Changes::compute(baseline, prior, current));
    }

    /// `new`/`unchanged` for a finding, when there is a baseline (passes have none).
    pub fn change(&self, f: &Finding) -> Option<baseline::Change> {
        let changes = self.changes.as_ref()?;
        (f.outcome != Outcome::Pass).then(|| changes.change(&f.fingerprint))
    }

    /// The most severe new failing finding, for `--fail-on-new`.
    pub fn worst_new_failure(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.outcome == Outcome::Fail && self.change(f) == Some(baseline::Change::New))
            .map(|f| f.severity)
            .max()
    }

    /// The most severe failing finding, for `--fail-on`.
    pub fn worst_failure(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.outcome == Outcome::Fail)
            .map(|f| f.severity)
            .max()
    }
}

/// Writes the report in one format.
pub fn write(report: &Report, format: Format, out: &mut dyn Write, color: bool) -> io::Result<()> {
    match format {
        Format::Table => table::write(report, out, color),
        Format::Json => json::v2::write(report, out),
        Format::Jsonl => json::lines::write(report, out),
        Format::JsonV1 => json::v1::write(report, out),
        Format::Csv => csv::write(report, out),
        Format::Markdown => markdown::write(report, out),
        Format::Junit => junit::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Html => html::write(report, out),
    }
}

/// `2026-11-22` when the instant is midnight UTC, else RFC 3339.
pub fn format_as_of(as_of: DateTime<Utc>) -> String {
    if as_of.time() == chrono::NaiveTime::MIN {
        as_of.format("%Y-%m-%d").to_string()
    } else {
        crate::dates::rfc3339(as_of)
    }
}
