//! The action plan's writers: a table (with the commands below it, unwrapped, to copy),
//! Markdown for tickets, JSON (`m365audit/plan/v1`) and CSV (one row per app).

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};
use serde_json::{Value, json};

use super::markdown::cell_with;
use super::table::clean;
use super::{SourceSummary, format_as_of, neutralize};
use crate::model::AppKind;
use crate::plan::{Plan, Row, Target, compact};

/// The JSON document's schema name; fields are only ever added within v1.
pub const SCHEMA: &str = "m365audit/plan/v1";

/// Width of the table when standard output is not a terminal, as for `scan`.
const PIPE_WIDTH: u16 = 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// Ranked rows with their factors and steps, then the commands to copy (default).
    Table,
    /// `m365audit/plan/v1`: every row with its factors and steps as objects.
    Json,
    /// One row per app: each factor's points, the steps and the commands as columns.
    Csv,
    /// A ranked summary, then each app's steps with their commands, for tickets.
    Markdown,
}

/// What the writers show: the plan, the sources it comes from, and how many rows to show.
#[derive(Debug)]
pub struct PlanReport<'a> {
    pub plan: &'a Plan,
    pub sources: &'a [SourceSummary],
    pub as_of: DateTime<Utc>,
    /// `--top N`: the first N rows only.
    pub top: Option<usize>,
}

impl PlanReport<'_> {
    /// The rows shown.
    pub fn shown(&self) -> &[Row] {
        let rows = &self.plan.rows;
        &rows[..self.top.map_or(rows.len(), |n| n.min(rows.len()))]
    }

    /// Apps scanned in all.
    fn apps(&self) -> usize {
        self.sources.iter().map(|s| s.apps).sum()
    }

    /// The summary line: rows, how many shown, what is missing from the plan.
    pub fn summary_line(&self) -> String {
        let plan = self.plan;
        let apps = plan.app_rows();
        let tenant_rows = plan.rows.len() - apps;
        let mut line = format!(
            "{apps} of {} app(s) have failing findings{}: {} failing finding(s) in the plan",
            self.apps(),
            match tenant_rows {
                0 => String::new(),
                1 => ", and the tenant".into(),
                n => format!(", and {n} tenants"),
            },
            plan.failing
        );
        if self.shown().len() < plan.rows.len() {
            line += &format!(
                "; {} of {} rows shown (--top {})",
                self.shown().len(),
                plan.rows.len(),
                self.shown().len()
            );
        }
        line += &format!(". As of {}.", format_as_of(self.as_of));
        line
    }

    /// What the plan leaves out: waived findings and findings that could not be evaluated.
    pub fn caveats(&self) -> Vec<String> {
        let plan = self.plan;
        let mut lines = Vec::new();
        if plan.not_evaluated > 0 {
            lines.push(format!(
                "{} finding(s) could not be evaluated (the input lacks data; `m365audit scan` says which): the plan may be partial.",
                plan.not_evaluated
            ));
        }
        if plan.waived > 0 {
            lines.push(format!(
                "{} waived finding(s) are left out of the scores and steps.",
                plan.waived
            ));
        }
        lines
    }
}

pub fn write(report: &PlanReport, format: PlanFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        PlanFormat::Table => table(report, out),
        PlanFormat::Markdown => markdown(report, out),
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &Document(report))?;
            writeln!(out)
        }
        PlanFormat::Csv => csv(report, out),
    }
}

/// "this tenant", "Fabrikam, Inc. (verified)", or "(tenant)" for a tenant row.
fn owner(row: &Row) -> String {
    match row.facts() {
        Some(f) => f.organization.short(),
        None => "(tenant)".into(),
    }
}

/// The subject's lines: name, app id (or what it is), owner, reach.
fn subject_lines(row: &Row) -> Vec<String> {
    let mut lines = vec![row.name().to_string()];
    match &row.target {
        Target::App(f) => {
            let id = f.app_id.as_deref().unwrap_or("no app id");
            lines.push(match f.kind {
                AppKind::Application => id.to_string(),
                AppKind::ServicePrincipal => format!("{id} (service principal)"),
            });
            lines.push(f.organization.short());
            lines.push(format!("reach: {}", f.reach));
        }
        Target::Tenant { .. } => {
            lines.push("(tenant: findings about no one app)".into());
        }
    }
    lines
}

/// "3 failing, 1 not evaluated, 2 waived".
fn counts(row: &Row) -> String {
    let mut parts = vec![format!("{} failing", row.failing)];
    if row.not_evaluated > 0 {
        parts.push(format!("{} not evaluated", row.not_evaluated));
    }
    if row.waived > 0 {
        parts.push(format!("{} waived", row.waived));
    }
    parts.join(", ")
}

fn source_line(src: &SourceSummary) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &src.tenant {
        parts.push(format!("tenant {t}"));
    }
    parts.push(format!("{} app(s)", src.apps));
    if !src.errors.is_empty() {
        parts.push(format!("{} unreadable file(s)", src.errors.len()));
    }
    format!("{} ({})", src.path, parts.join(", "))
}

fn table(report: &PlanReport, out: &mut dyn Write) -> io::Result<()> {
    for src in report.sources {
        writeln!(out, "Action plan for {}", clean(&source_line(src)))?;
    }
    writeln!(out)?;
    let rows = report.shown();
    if rows.is_empty() {
        writeln!(out, "No failing findings: nothing to do.")?;
    } else {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["#", "Score", "App", "Factors", "Steps (rules they close)"]);
        if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            t.force_no_tty().set_width(PIPE_WIDTH);
        }
        // The steps get the room: names and factors wrap sooner.
        for (column, width) in [(2, 40), (3, 34)] {
            if let Some(c) = t.column_mut(column) {
                c.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(width)));
            }
        }
        for row in rows {
            let steps: Vec<String> = row
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{}. {} ({})", i + 1, s.text, s.rule_ids.join(", ")))
                .collect();
            t.add_row([
                row.rank.to_string(),
                row.score.to_string(),
                clean(&subject_lines(row).join("\n")),
                format!("{}\n({})", compact(&row.factors), counts(row)),
                clean(&steps.join("\n")),
            ]);
        }
        writeln!(out, "{t}")?;
        let with_commands: Vec<&Row> = rows
            .iter()
            .filter(|r| r.steps.iter().any(|s| !s.commands.is_empty()))
            .collect();
        if !with_commands.is_empty() {
            writeln!(
                out,
                "\nCommands, by step (review before running; <...> marks a value the input does not give):"
            )?;
            for row in with_commands {
                writeln!(out, "#{} {}", row.rank, clean(row.name()))?;
                for (i, step) in row.steps.iter().enumerate() {
                    for command in &step.commands {
                        writeln!(out, "  {}. {}", i + 1, clean(command))?;
                    }
                }
            }
        }
    }
    writeln!(out, "\n{}", report.summary_line())?;
    for line in report.caveats() {
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "Score = reach + power + credential + owner + unused + findings (m365audit plan --help)."
    )
}

/// A Markdown table cell on one line.
fn cell(s: &str) -> String {
    cell_with(s, "<br>")
}

/// Text for a Markdown heading or list item (not a table): no markup from the input.
fn inline(s: &str) -> String {
    cell_with(s, " ")
        .chars()
        .map(|c| match c {
            '*' | '_' | '`' | '[' | ']' | '#' => ' ',
            c => c,
        })
        .collect()
}

fn markdown(report: &PlanReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "## m365audit action plan, as of {}\n",
        format_as_of(report.as_of)
    )?;
    for src in report.sources {
        writeln!(out, "- Source: {}", inline(&source_line(src)))?;
    }
    writeln!(out, "- {}", report.summary_line())?;
    for line in report.caveats() {
        writeln!(out, "- {line}")?;
    }
    let rows = report.shown();
    if rows.is_empty() {
        return writeln!(out, "\nNo failing findings: nothing to do.");
    }
    writeln!(out, "\n| # | Score | App | Factors | First step |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for row in rows {
        let id = row
            .facts()
            .and_then(|f| f.app_id.as_deref())
            .map(|id| format!("<br>`{}`", cell(id)))
            .unwrap_or_default();
        writeln!(
            out,
            "| {} | {} | {}{id}<br>{} | {} | {} |",
            row.rank,
            row.score,
            cell(row.name()),
            cell(&owner(row)),
            cell(&compact(&row.factors)),
            row.steps.first().map(|s| cell(&s.text)).unwrap_or_default()
        )?;
    }
    for row in rows {
        writeln!(
            out,
            "\n### {}. {} (score {})\n",
            row.rank,
            inline(row.name()),
            row.score
        )?;
        let mut about = Vec::new();
        if let Some(f) = row.facts() {
            if let Some(id) = &f.app_id {
                about.push(format!("app id `{}`", cell(id)));
            }
            about.push(inline(&f.organization.short()));
            about.push(format!("reach: {}", inline(&f.reach)));
        } else {
            about.push("findings about the tenant, or about no one app".into());
        }
        about.push(counts(row));
        writeln!(out, "{}\n", about.join(" · "))?;
        writeln!(
            out,
            "Score: {}\n",
            row.factors
                .iter()
                .map(|f| format!("{} +{} ({})", f.why, f.points, inline(&f.detail)))
                .collect::<Vec<_>>()
                .join(" · ")
        )?;
        for (i, step) in row.steps.iter().enumerate() {
            writeln!(
                out,
                "{}. **{}** ({})",
                i + 1,
                inline(&step.text),
                step.rule_ids.join(", ")
            )?;
            if !step.commands.is_empty() {
                writeln!(out, "   ```powershell")?;
                for command in &step.commands {
                    // Values pasted into commands are plain (see crate::plan); the rest is
                    // the rule file's text.
                    writeln!(
                        out,
                        "   {}",
                        crate::report::defused(command).replace("```", "'''")
                    )?;
                }
                writeln!(out, "   ```")?;
            }
        }
    }
    Ok(())
}

/// One row as JSON.
fn row_json(row: &Row) -> Value {
    let app = row.facts().map(|f| {
        json!({
            "kind": match f.kind {
                AppKind::Application => "application",
                AppKind::ServicePrincipal => "service_principal",
            },
            "display_name": f.name,
            "app_id": f.app_id,
            "object_id": f.object_id,
            "service_principal_object_id": f.sp_object_id,
            "organization": {
                "kind": f.organization.kind.as_str(),
                "tenant_id": f.organization.tenant_id,
                "publisher": f.organization.publisher,
                "verified_publisher": f.organization.verified,
            },
            "reach": {"breadth": f.breadth, "description": f.reach},
            "power": f.power,
            "credentials": {
                "live_secrets": f.credentials.live_secrets,
                "live_certificates": f.credentials.live_certificates,
                "oldest_live_days": f.credentials.oldest_live_days,
                "known": f.credentials.known,
            },
        })
    });
    let tenant = match &row.target {
        Target::Tenant { name, .. } => json!({ "name": name }),
        Target::App(_) => Value::Null,
    };
    json!({
        "rank": row.rank,
        "score": row.score,
        "kind": row.kind(),
        "name": row.name(),
        "source": row.source(),
        "app": app,
        "tenant": tenant,
        "unused": row.unused,
        "factors": row.factors.iter().map(|f| json!({
            "name": f.name,
            "points": f.points,
            "why": f.why,
            "detail": f.detail,
        })).collect::<Vec<_>>(),
        "failing": row.failing,
        "not_evaluated": row.not_evaluated,
        "waived": row.waived,
        "steps": row.steps.iter().map(|s| json!({
            "order": s.order,
            "text": s.text,
            "rule_ids": s.rule_ids,
            "commands": s.commands,
            "severity": s.severity.as_str(),
        })).collect::<Vec<_>>(),
    })
}

/// The JSON document. Its rows are made one at a time as they are written: a plan of a
/// large tenant has a row per app, and the whole document as one value would hold them all
/// again.
struct Document<'a, 'r>(&'a PlanReport<'r>);

impl serde::Serialize for Document<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let report = self.0;
        let plan = report.plan;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("schema", SCHEMA)?;
        map.serialize_entry("tool_version", env!("CARGO_PKG_VERSION"))?;
        map.serialize_entry("as_of", &crate::dates::rfc3339(report.as_of))?;
        map.serialize_entry(
            "sources",
            &report
                .sources
                .iter()
                .map(|s| {
                    json!({
                        "path": s.path,
                        "kind": s.kind,
                        "tenant": s.tenant,
                        "apps": s.apps,
                        "status": if s.errors.is_empty() { "ok" } else { "error" },
                    })
                })
                .collect::<Vec<_>>(),
        )?;
        map.serialize_entry(
            "summary",
            &json!({
                "apps": report.apps(),
                "rows": plan.rows.len(),
                "app_rows": plan.app_rows(),
                "shown": report.shown().len(),
                "failing": plan.failing,
                "not_evaluated": plan.not_evaluated,
                "waived": plan.waived,
            }),
        )?;
        map.serialize_entry("rows", &Rows(report.shown()))?;
        map.end()
    }
}

/// The rows, each made into JSON as it is written.
struct Rows<'a>(&'a [Row]);

impl serde::Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(row_json))
    }
}

/// The factor columns of the CSV, in order.
const FACTORS: [&str; 7] = [
    "reach",
    "power",
    "credential",
    "credential_age",
    "owner",
    "unused",
    "findings",
];

fn csv(report: &PlanReport, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let mut header = vec![
        "rank",
        "score",
        "kind",
        "name",
        "app_id",
        "object_id",
        "service_principal_object_id",
        "organization",
        "reach",
        "factors",
    ];
    let factor_columns: Vec<String> = FACTORS.iter().map(|f| format!("{f}_points")).collect();
    header.extend(factor_columns.iter().map(String::as_str));
    header.extend([
        "failing",
        "not_evaluated",
        "waived",
        "steps",
        "rule_ids",
        "commands",
        "source",
    ]);
    w.write_record(&header)?;
    for row in report.shown() {
        let facts = row.facts();
        let text = |v: Option<&String>| v.cloned().unwrap_or_default();
        let mut record = vec![
            row.rank.to_string(),
            row.score.to_string(),
            row.kind().to_string(),
            row.name().to_string(),
            text(facts.and_then(|f| f.app_id.as_ref())),
            text(facts.and_then(|f| f.object_id.as_ref())),
            text(facts.and_then(|f| f.sp_object_id.as_ref())),
            owner(row),
            facts.map(|f| f.reach.clone()).unwrap_or_default(),
            compact(&row.factors),
        ];
        for name in FACTORS {
            let points: u32 = row
                .factors
                .iter()
                .filter(|f| f.name == name)
                .map(|f| f.points)
                .sum();
            record.push(points.to_string());
        }
        let mut rule_ids: Vec<&str> = row
            .steps
            .iter()
            .flat_map(|s| s.rule_ids.iter().map(String::as_str))
            .collect();
        rule_ids.sort_unstable();
        rule_ids.dedup();
        record.extend([
            row.failing.to_string(),
            row.not_evaluated.to_string(),
            row.waived.to_string(),
            row.steps
                .iter()
                .enumerate()
                .map(|(i, s)| format!("{}. {} ({})", i + 1, s.text, s.rule_ids.join(" ")))
                .collect::<Vec<_>>()
                .join("\n"),
            rule_ids.join(" "),
            row.steps
                .iter()
                .flat_map(|s| s.commands.iter().cloned())
                .collect::<Vec<_>>()
                .join("\n"),
            row.source().to_string(),
        ]);
        w.write_record(record.iter().map(|c| neutralize(c).into_owned()))?;
    }
    w.flush()
}
