//! `m365audit history`: what the findings store knows, as a table, Markdown, JSON
//! (`m365audit/history/v1`) or CSV (one view), and the HTML report's trend chart.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use super::markdown::cell_with;
use super::neutralize;
use super::table::clean;

/// The JSON document's schema name (`history.schema.json` beside this file); fields are only
/// ever added within v1.
pub const SCHEMA: &str = "m365audit/history/v1";

/// One recorded run: its failing findings by severity and what changed.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub tenant: String,
    pub as_of: DateTime<Utc>,
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
    pub waived: i64,
    pub not_evaluated: i64,
    /// Findings first seen in this run.
    pub opened: i64,
    pub resolved: i64,
    pub reopened: i64,
    pub report: Option<String>,
}

impl RunRow {
    /// Failing findings of every severity.
    pub fn failing(&self) -> i64 {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

/// Which finding a row is about: the columns every finding view starts with.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFinding {
    pub tenant: String,
    pub rule_id: String,
    pub severity: String,
    /// The subject's display name (or identity, for Exchange objects).
    pub subject: Option<String>,
    pub item: Option<String>,
    pub fingerprint: String,
}

impl StoredFinding {
    const HEADER: [&'static str; 5] = ["tenant", "rule_id", "severity", "subject", "item"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.tenant.clone(),
            self.rule_id.clone(),
            self.severity.clone(),
            opt(&self.subject),
            opt(&self.item),
        ]
    }
}

/// A finding open at its tenant's latest run.
#[derive(Debug, Clone, Serialize)]
pub struct OpenRow {
    #[serde(flatten)]
    pub finding: StoredFinding,
    /// `fail` or `waived`.
    pub outcome: String,
    pub app_id: Option<String>,
    pub first_seen: DateTime<Utc>,
    /// The start of this episode: the first sighting, or the run that reopened it.
    pub open_since: DateTime<Utc>,
    /// Whole days from `open_since` to the tenant's latest run.
    pub days_open: i64,
    pub reopened: i64,
    pub waiver_reason: Option<String>,
    pub waiver_expires: Option<String>,
}

/// A finding that was resolved and came back, at least once.
#[derive(Debug, Clone, Serialize)]
pub struct ReopenedRow {
    #[serde(flatten)]
    pub finding: StoredFinding,
    pub reopened: i64,
    pub last_reopened: Option<DateTime<Utc>>,
    /// Whether it is open at the tenant's latest run.
    pub open: bool,
}

/// One resolution: a finding no longer reported by a run whose rule could be evaluated.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedRow {
    #[serde(flatten)]
    pub finding: StoredFinding,
    pub open_since: DateTime<Utc>,
    pub resolved_at: DateTime<Utc>,
    pub days_open: i64,
}

/// The mean time to resolve one rule's findings, over its resolutions.
#[derive(Debug, Clone, Serialize)]
pub struct MttrRow {
    pub rule_id: String,
    pub resolved: i64,
    pub mean_days: f64,
    /// Its findings open now, across the tenants shown.
    pub open_now: i64,
}

/// What `history` shows.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub schema: &'static str,
    pub store: String,
    pub tenant: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub runs: Vec<RunRow>,
    pub open: Vec<OpenRow>,
    pub reopened: Vec<ReopenedRow>,
    pub resolved: Vec<ResolvedRow>,
    pub mttr: Vec<MttrRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryFormat {
    /// One table per view (default).
    Table,
    /// `m365audit/history/v1`: every view's rows as objects.
    Json,
    /// One view's rows (choose it with --view).
    Csv,
    /// A section per view, for tickets and wikis.
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum View {
    /// Every view below.
    All,
    /// Runs over time, failing findings counted by severity.
    Runs,
    /// Findings open at each tenant's latest run, longest open first.
    Open,
    /// Findings that were resolved and came back.
    Reopened,
    /// Findings resolved, newest first.
    Resolved,
    /// Mean time to resolve, per rule.
    Mttr,
}

impl View {
    fn shows(self, view: View) -> bool {
        self == View::All || self == view
    }
}

/// Counts of what `history prune` deleted.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    pub runs: u64,
    pub resolutions: u64,
    pub findings: u64,
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// A finding view's header: the finding's columns, then the view's own.
fn with_finding(own: &[&'static str]) -> Vec<&'static str> {
    StoredFinding::HEADER.iter().chain(own).copied().collect()
}

/// A section's rows as text cells: its header, then one row per entry.
fn cells(history: &History, view: View) -> (Vec<&'static str>, Vec<Vec<String>>) {
    match view {
        View::Runs => (
            vec![
                "tenant",
                "as_of",
                "critical",
                "high",
                "medium",
                "low",
                "info",
                "waived",
                "not_evaluated",
                "opened",
                "resolved",
                "reopened",
            ],
            history
                .runs
                .iter()
                .map(|r| {
                    vec![
                        r.tenant.clone(),
                        super::format_as_of(r.as_of),
                        r.critical.to_string(),
                        r.high.to_string(),
                        r.medium.to_string(),
                        r.low.to_string(),
                        r.info.to_string(),
                        r.waived.to_string(),
                        r.not_evaluated.to_string(),
                        r.opened.to_string(),
                        r.resolved.to_string(),
                        r.reopened.to_string(),
                    ]
                })
                .collect(),
        ),
        View::Open => (
            with_finding(&[
                "outcome",
                "open_since",
                "days_open",
                "first_seen",
                "reopened",
            ]),
            history
                .open
                .iter()
                .map(|o| {
                    let outcome = match &o.waiver_reason {
                        Some(reason) => format!("waived: {reason}"),
                        None => o.outcome.clone(),
                    };
                    let mut cells = o.finding.cells();
                    cells.extend([
                        outcome,
                        day(o.open_since),
                        o.days_open.to_string(),
                        day(o.first_seen),
                        o.reopened.to_string(),
                    ]);
                    cells
                })
                .collect(),
        ),
        View::Reopened => (
            with_finding(&["reopened", "last_reopened", "state"]),
            history
                .reopened
                .iter()
                .map(|r| {
                    let mut cells = r.finding.cells();
                    cells.extend([
                        r.reopened.to_string(),
                        r.last_reopened.map(day).unwrap_or_default(),
                        if r.open { "open" } else { "resolved" }.to_string(),
                    ]);
                    cells
                })
                .collect(),
        ),
        View::Resolved => (
            with_finding(&["open_since", "resolved_at", "days_open"]),
            history
                .resolved
                .iter()
                .map(|r| {
                    let mut cells = r.finding.cells();
                    cells.extend([
                        day(r.open_since),
                        day(r.resolved_at),
                        r.days_open.to_string(),
                    ]);
                    cells
                })
                .collect(),
        ),
        View::Mttr | View::All => (
            vec!["rule_id", "resolved", "mean_days_to_resolve", "open_now"],
            history
                .mttr
                .iter()
                .map(|m| {
                    vec![
                        m.rule_id.clone(),
                        m.resolved.to_string(),
                        format!("{:.1}", m.mean_days),
                        m.open_now.to_string(),
                    ]
                })
                .collect(),
        ),
    }
}

const VIEWS: [(View, &str); 5] = [
    (View::Runs, "Runs"),
    (View::Open, "Open findings"),
    (View::Reopened, "Reopened findings"),
    (View::Resolved, "Resolved findings"),
    (View::Mttr, "Mean time to resolve, per rule"),
];

/// Writes `history` in `format`, limited to `view`. CSV holds one view: the caller refuses
/// `--view all` with CSV before reading the store.
pub fn write(
    history: &History,
    format: HistoryFormat,
    view: View,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        HistoryFormat::Json => {
            let mut doc = history.clone();
            if !view.shows(View::Runs) {
                doc.runs.clear();
            }
            if !view.shows(View::Open) {
                doc.open.clear();
            }
            if !view.shows(View::Reopened) {
                doc.reopened.clear();
            }
            if !view.shows(View::Resolved) {
                doc.resolved.clear();
            }
            if !view.shows(View::Mttr) {
                doc.mttr.clear();
            }
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            writeln!(out)
        }
        HistoryFormat::Csv => {
            let (header, rows) = cells(history, view);
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&header)?;
            for row in rows {
                w.write_record(row.iter().map(|c| neutralize(c).into_owned()))?;
            }
            w.flush()
        }
        HistoryFormat::Table => {
            writeln!(out, "{}", heading(history))?;
            for (v, title) in VIEWS {
                if !view.shows(v) {
                    continue;
                }
                let (header, rows) = cells(history, v);
                writeln!(out, "\n{title}: {}", rows.len())?;
                if rows.is_empty() {
                    continue;
                }
                let mut table = Table::new();
                table
                    .load_style(UTF8_FULL_CONDENSED)
                    .set_content_arrangement(ContentArrangement::Dynamic)
                    .set_header(header);
                if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                    table.force_no_tty().set_width(160);
                }
                for row in rows {
                    table.add_row(row.iter().map(|c| clean(c)));
                }
                writeln!(out, "{table}")?;
            }
            Ok(())
        }
        HistoryFormat::Markdown => {
            writeln!(out, "# Findings history\n\n{}", heading(history))?;
            for (v, title) in VIEWS {
                if !view.shows(v) {
                    continue;
                }
                let (header, rows) = cells(history, v);
                writeln!(out, "\n## {title} ({})\n", rows.len())?;
                if rows.is_empty() {
                    writeln!(out, "None.")?;
                    continue;
                }
                writeln!(out, "| {} |", header.join(" | "))?;
                writeln!(out, "|{}", "---|".repeat(header.len()))?;
                for row in rows {
                    let row: Vec<String> = row.iter().map(|c| cell_with(c, "")).collect();
                    writeln!(out, "| {} |", row.join(" | "))?;
                }
            }
            Ok(())
        }
    }
}

fn heading(history: &History) -> String {
    let tenants = match &history.tenant {
        Some(t) => format!("tenant {t}"),
        None => "all tenants".to_string(),
    };
    let since = history
        .since
        .map(|s| format!(", since {}", day(s)))
        .unwrap_or_default();
    format!("Store {}: {tenants}{since}.", history.store)
}

/// The HTML report's trend: failing findings per run, stacked by severity, as inline SVG
/// (no script, no network). `None` for fewer than two runs: one point is not a trend.
pub fn trend_svg(runs: &[RunRow]) -> Option<String> {
    if runs.len() < 2 {
        return None;
    }
    const W: f64 = 640.0;
    const H: f64 = 180.0;
    const PAD: f64 = 28.0;
    let max = runs.iter().map(RunRow::failing).max().unwrap_or(0).max(1) as f64;
    let step = (W - 2.0 * PAD) / runs.len() as f64;
    let bar = (step * 0.7).max(1.0);
    let colors = [
        ("critical", "#7f1d1d"),
        ("high", "#dc2626"),
        ("medium", "#f59e0b"),
        ("low", "#3b82f6"),
        ("info", "#9ca3af"),
    ];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"trend\" role=\"img\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\">\
         <title>Failing findings per run, by severity</title>"
    );
    for (i, run) in runs.iter().enumerate() {
        let x = PAD + i as f64 * step + (step - bar) / 2.0;
        let mut y = H - PAD;
        let counts = [run.critical, run.high, run.medium, run.low, run.info];
        for ((name, color), n) in colors.iter().zip(counts) {
            if n == 0 {
                continue;
            }
            let h = n as f64 / max * (H - 2.0 * PAD);
            y -= h;
            svg += &format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" fill=\"{color}\" data-severity=\"{name}\"><title>{}: {n} {name}</title></rect>",
                day(run.as_of)
            );
        }
        svg += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
            x + bar / 2.0,
            H - PAD + 12.0,
            run.failing()
        );
    }
    // The legend, along the top.
    for (i, (name, color)) in colors.iter().enumerate() {
        let x = PAD + i as f64 * 72.0;
        svg += &format!(
            "<rect x=\"{x:.1}\" y=\"4\" width=\"9\" height=\"9\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"12\" font-size=\"10\">{name}</text>",
            x + 13.0
        );
    }
    let (first, last) = (&runs[0], &runs[runs.len() - 1]);
    svg += &format!(
        "<text x=\"{PAD}\" y=\"{:.1}\" font-size=\"10\">{}</text>\
         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{}</text></svg>",
        H - 4.0,
        day(first.as_of),
        W - PAD,
        H - 4.0,
        day(last.as_of)
    );
    Some(svg)
}
