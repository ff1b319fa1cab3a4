//! The pre-go-live checklist: a profile's steps with their verdicts, then the app's general
//! findings. Table for the terminal, Markdown for a go-live ticket, JSON and CSV for records.

use std::io::{self, Write};

use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use super::defuse;
use super::table::clean;
use crate::profile::{AdviceKind, StepOutcome, StepResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChecklistFormat {
    Table,
    Markdown,
    Json,
    Csv,
}

/// Everything a checklist shows.
#[derive(Debug, Serialize)]
pub struct Checklist {
    pub schema: &'static str,
    pub profile: String,
    pub vendor: String,
    pub title: String,
    pub guide: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub app: ChecklistApp,
    pub source: String,
    /// RFC 3339.
    pub as_of: String,
    pub counts: Counts,
    pub steps: Vec<StepResult>,
    /// The app's failing and not-evaluated findings from the full rule pack.
    pub findings: Vec<GeneralFinding>,
}

#[derive(Debug, Serialize)]
pub struct ChecklistApp {
    pub display_name: Option<String>,
    pub app_id: Option<String>,
    pub object_id: Option<String>,
    /// Whose app it is: this tenant, Microsoft or another organization.
    pub organization: crate::finding::Organization,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub pass: usize,
    pub fail: usize,
    pub not_evaluated: usize,
    pub manual: usize,
}

impl Counts {
    pub fn of(steps: &[StepResult]) -> Counts {
        let mut c = Counts::default();
        for s in steps {
            match s.outcome {
                StepOutcome::Pass => c.pass += 1,
                StepOutcome::Fail => c.fail += 1,
                StepOutcome::NotEvaluated => c.not_evaluated += 1,
                StepOutcome::Manual => c.manual += 1,
            }
        }
        c
    }
}

#[derive(Debug, Serialize)]
pub struct GeneralFinding {
    pub rule_id: String,
    pub slug: String,
    pub severity: String,
    pub outcome: String,
    pub message: String,
}

fn advice_label(kind: AdviceKind) -> &'static str {
    match kind {
        AdviceKind::Retired => "Retired",
        AdviceKind::Unsafe => "Unsafe",
        AdviceKind::Note => "Note",
    }
}

pub fn write(c: &Checklist, format: ChecklistFormat, w: &mut dyn Write) -> io::Result<()> {
    match format {
        ChecklistFormat::Table => table(c, w),
        ChecklistFormat::Markdown => markdown(c, w),
        ChecklistFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, c)?;
            writeln!(w)
        }
        ChecklistFormat::Csv => csv(c, w),
    }
}

fn app_line(c: &Checklist) -> String {
    format!(
        "{} ({}), {}",
        c.app.display_name.as_deref().unwrap_or("(unnamed)"),
        c.app.app_id.as_deref().unwrap_or("no app id"),
        c.app.organization.describe()
    )
}

fn counts_line(c: &Checklist) -> String {
    format!(
        "{} step(s): {} pass, {} fail, {} not evaluated, {} manual; {} general finding(s). As of {}.",
        c.steps.len(),
        c.counts.pass,
        c.counts.fail,
        c.counts.not_evaluated,
        c.counts.manual,
        c.findings.len(),
        c.as_of.get(..10).unwrap_or(&c.as_of)
    )
}

/// A table sized to the terminal, or 160 columns when writing to a file or pipe.
fn new_table<const N: usize>(header: [&str; N]) -> Table {
    use std::io::IsTerminal;
    let mut t = Table::new();
    t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    if !std::io::stdout().is_terminal() {
        t.force_no_tty().set_width(160);
    }
    t
}

fn table(c: &Checklist, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "{}", clean(&c.title))?;
    writeln!(w, "Guide: {}", clean(&c.guide))?;
    writeln!(w, "App:   {}", clean(&app_line(c)))?;
    writeln!(w, "Source: {}", clean(&c.source))?;
    if let Some(s) = &c.summary {
        writeln!(
            w,
            "\n{}",
            clean(crate::engine::rule::wrap(s, 100, "").trim_end())
        )?;
    }
    writeln!(w)?;
    let mut t = new_table(["Step", "Status", "Guide says / evidence"]);
    for s in &c.steps {
        let mut text = format!("{}\nguide: {}", s.title, s.guide);
        for e in &s.evidence {
            text.push_str(&format!("\n- {e}"));
        }
        if let Some(a) = &s.advice {
            text.push_str(&format!(
                "\n{}: {}",
                advice_label(a.kind).to_uppercase(),
                a.text
            ));
        }
        t.add_row(vec![
            clean(&s.number),
            s.outcome.as_str().to_string(),
            clean(&text),
        ]);
    }
    writeln!(w, "{t}")?;
    if !c.findings.is_empty() {
        writeln!(w, "\nGeneral findings for this app (m365audit scan):")?;
        let mut f = new_table(["Severity", "Rule", "Finding"]);
        for g in &c.findings {
            f.add_row(vec![
                g.severity.clone(),
                format!("{}\n{}", g.rule_id, g.slug),
                clean(&g.message),
            ]);
        }
        writeln!(w, "{f}")?;
    }
    writeln!(w, "\n{}", counts_line(c))
}

/// A Markdown table cell, lines joined with `<br>`.
fn cell(s: &str) -> String {
    super::markdown::cell_with(s, "<br>")
}

fn markdown(c: &Checklist, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "## Go-live checklist: {}", cell(&c.title))?;
    writeln!(w)?;
    writeln!(w, "- **App:** {}", cell(&app_line(c)))?;
    writeln!(w, "- **Guide:** {}", cell(&c.guide))?;
    let source: String = c
        .source
        .chars()
        .map(|c| if c == '`' { '\'' } else { defuse(c) })
        .collect();
    writeln!(w, "- **Source:** `{source}`")?;
    writeln!(w, "- **Result:** {}", counts_line(c))?;
    if let Some(s) = &c.summary {
        writeln!(w, "\n{}", super::markdown::cell_with(s, " "))?;
    }
    writeln!(w)?;
    writeln!(w, "| Step | Status | What the guide says | Evidence |")?;
    writeln!(w, "|---|---|---|---|")?;
    for s in &c.steps {
        let status = match s.outcome {
            StepOutcome::Pass => "✅ pass",
            StepOutcome::Fail => "❌ fail",
            StepOutcome::NotEvaluated => "❔ not evaluated",
            StepOutcome::Manual => "✋ manual",
        };
        let mut evidence = s.evidence.join("\n");
        if let Some(a) = &s.advice {
            evidence.push_str(&format!("\n**{}:** {}", advice_label(a.kind), a.text));
        }
        writeln!(
            w,
            "| {} | {status} | **{}**<br>{} | {} |",
            cell(&s.number),
            cell(&s.title),
            cell(&s.guide),
            cell(&evidence)
        )?;
    }
    if !c.findings.is_empty() {
        writeln!(w, "\n### General findings for this app\n")?;
        writeln!(w, "| Severity | Rule | Finding |")?;
        writeln!(w, "|---|---|---|")?;
        for g in &c.findings {
            writeln!(
                w,
                "| {} | {} {} | {} |",
                g.severity,
                g.rule_id,
                g.slug,
                cell(&g.message)
            )?;
        }
    }
    Ok(())
}

fn csv(c: &Checklist, w: &mut dyn Write) -> io::Result<()> {
    use super::csv::neutralize;
    let mut out = csv::Writer::from_writer(w);
    out.write_record([
        "kind",
        "number",
        "title",
        "status",
        "severity",
        "evidence",
        "advice_kind",
        "advice",
    ])?;
    for s in &c.steps {
        let (kind, text) = s
            .advice
            .as_ref()
            .map(|a| (advice_label(a.kind).to_lowercase(), a.text.clone()))
            .unwrap_or_default();
        let evidence = s.evidence.join("; ");
        out.write_record([
            "step",
            &neutralize(&s.number),
            &neutralize(&s.title),
            s.outcome.as_str(),
            "",
            &neutralize(&evidence),
            &kind,
            &neutralize(&text),
        ])?;
    }
    for g in &c.findings {
        out.write_record([
            "finding",
            &g.rule_id,
            &g.slug,
            &g.outcome,
            &g.severity,
            &neutralize(&g.message),
            "",
            "",
        ])?;
    }
    out.flush()
}
