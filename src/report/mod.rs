//! Report writers: one per format, each from the same [`Report`].

pub mod baseline;
pub mod checklist;
mod csv;
pub mod folder;
mod html;
mod json_v1;
mod junit;
mod markdown;
mod sarif;
mod table;

pub use csv::neutralize;

use std::collections::BTreeMap;
use std::io::{self, Write};

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use crate::engine::RuleSet;
use crate::finding::{Finding, Outcome, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Readable table grouped by app (default).
    Table,
    /// Versioned JSON (`m365audit/findings/v1`) for scheduled reports and SIEMs.
    Json,
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
}

/// Per finding, the rank of its subject by display name, then app id (equal subjects rank
/// equal). An app's findings share one subject and lie side by side before the sort, so the
/// names are compared once per app instead of in every comparison of the findings' sort.
fn subject_ranks(findings: &[Finding]) -> Vec<usize> {
    // Runs of findings about the same subject, and each run's subject.
    let mut run_of = Vec::with_capacity(findings.len());
    let mut subjects: Vec<&crate::finding::Subject> = Vec::new();
    for f in findings {
        if subjects
            .last()
            .is_none_or(|last| !std::ptr::eq(*last, &*f.subject))
        {
            subjects.push(&f.subject);
        }
        run_of.push(subjects.len() - 1);
    }
    let rank = ranks(subjects.len(), |i| {
        (
            subjects[i].display_name.as_deref(),
            subjects[i].app_id.as_deref(),
        )
    });
    run_of.into_iter().map(|run| rank[run]).collect()
}

/// For each of `0..n`, its place in the order of `key`; equal keys get the same rank.
fn ranks<K: Ord>(n: usize, key: impl Fn(usize) -> K + Sync) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.par_sort_unstable_by(|&a, &b| key(a).cmp(&key(b)));
    let mut rank = vec![0; n];
    let mut current = 0;
    for (position, &index) in order.iter().enumerate() {
        if position > 0 && key(order[position - 1]) != key(index) {
            current = position;
        }
        rank[index] = current;
    }
    rank
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
        let outcome_rank = |o: Outcome| match o {
            Outcome::Fail => 0,
            Outcome::NotEvaluated => 1,
            Outcome::Waived => 2,
            Outcome::Pass => 3,
        };
        // Rules by id, as a number per rule index.
        let rule_rank = ranks(rules.rules.len(), |i| rules.rules[i].id.as_str());
        // Sort keys side by side (the fields compared in order), sorted by index, then the
        // findings moved into place: a merge sort of the findings themselves would copy them
        // all into a buffer as large as the list, and comparing through each finding's
        // subject would chase two pointers per comparison. Stable, so equal findings keep
        // the order the rules produced them in.
        let subject_rank = subject_ranks(&findings);
        let keys: Vec<_> = findings
            .par_iter()
            .zip(subject_rank)
            .map(|(f, subject)| {
                (
                    (outcome_rank(f.outcome), std::cmp::Reverse(f.severity)),
                    subject,
                    rule_rank[f.rule],
                    f.item.as_deref(),
                    f.source,
                )
            })
            .collect();
        let mut order: Vec<usize> = (0..findings.len()).collect();
        order.par_sort_by(|&a, &b| keys[a].cmp(&keys[b]));
        drop(keys);
        permute(&mut findings, order);
        let mut summary = Summary {
            apps: sources.iter().map(|s| s.apps).sum(),
            rules: rules.rules.len(),
            pass: passed,
            ..Summary::default()
        };
        for sev in Severity::ALL {
            summary.by_severity.insert(sev, 0);
        }
        for f in &findings {
            match f.outcome {
                Outcome::Fail => {
                    summary.fail += 1;
                    *summary.by_severity.entry(f.severity).or_default() += 1;
                }
                Outcome::NotEvaluated => summary.not_evaluated += 1,
                Outcome::Waived => summary.waived += 1,
                Outcome::Pass => {}
            }
        }
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
        Format::Json => json_v1::write(report, out),
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

/// `c`, or U+FFFD if `c` must not reach a reader as itself: a control character (the ANSI
/// and OSC escapes a hostile display name can carry, invalid in XML 1.0 too) or a
/// bidirectional override or isolate, which makes text show in another order than it reads.
/// Every format written for people (table, Markdown, HTML, JUnit, checklists) passes names
/// through this; JSON and CSV keep the text as it is, for records.
pub fn defuse(c: char) -> char {
    if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
        '\u{FFFD}'
    } else {
        c
    }
}

/// `text` for a terminal: everything [`defuse`] replaces is replaced, line breaks are kept.
/// For messages that can quote an input (errors, warnings, names in command output).
pub fn defused(text: &str) -> String {
    text.chars()
        .map(|c| if c == '\n' { c } else { defuse(c) })
        .collect()
}

/// [`defuse`] for text in HTML or XML, where line breaks and tabs are whitespace and kept.
pub fn defuse_in_markup(c: char) -> char {
    if matches!(c, '\n' | '\t' | '\r') {
        c
    } else {
        defuse(c)
    }
}

/// Escapes text for XML (the HTML report's template escapes its own), in element content and
/// quoted attributes; see [`defuse_in_markup`] for what else is replaced.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(defuse_in_markup(c)),
        }
    }
    out
}

/// Reorders `items` so that `items[k]` becomes the old `items[order[k]]`, in place: each
/// cycle of the permutation is followed once, by swaps.
fn permute<T>(items: &mut [T], mut order: Vec<usize>) {
    for start in 0..items.len() {
        // Positions already in place, or done by an earlier cycle, point at themselves.
        let mut k = start;
        while order[k] != start {
            let from = order[k];
            order[k] = k;
            items.swap(k, from);
            k = from;
        }
        order[k] = k;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranks_order_keys_and_tie_equal_ones() {
        let keys = ["b", "a", "c", "a", "b"];
        assert_eq!(super::ranks(keys.len(), |i| keys[i]), [2, 0, 4, 0, 2]);
        assert!(super::ranks(0, |i| keys[i]).is_empty());
    }

    #[test]
    fn permute_moves_every_item_to_its_sorted_place() {
        // Several cycles, fixed points and a long cycle.
        let orders: [&[usize]; 5] = [&[], &[0], &[2, 0, 1], &[1, 0, 2, 4, 3], &[5, 0, 1, 2, 3, 4]];
        for order in orders {
            let mut items: Vec<String> = (0..order.len()).map(|i| format!("item{i}")).collect();
            let expected: Vec<String> = order.iter().map(|&i| items[i].clone()).collect();
            super::permute(&mut items, order.to_vec());
            assert_eq!(items, expected, "order {order:?}");
        }
    }
}
