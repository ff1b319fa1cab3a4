//! The terminal table: failing findings grouped by app (worst app first), then what could
//! not be evaluated and why, then a summary line.

use std::collections::BTreeMap;
use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width};
use rayon::prelude::*;

use super::{Report, defused, format_as_of};
use crate::finding::{Finding, Outcome, Severity, SubjectKind};

/// Width used when stdout is not a terminal (files, pipes, CI logs): wide enough for
/// messages, stable so that saved reports do not depend on who ran them.
const PIPE_WIDTH: u16 = 160;

/// The longest text a table cell shows. Longer text (a hostile 100 MB display name, say) is
/// cut, saying how much: the table is for reading, and laying out a cell costs more than
/// linear time in its length. The other formats carry the whole text.
const MAX_CELL_CHARS: usize = 2_000;

/// Replaces control characters (ANSI escapes in a hostile display name, say; see
/// [`defused`]) so the table never sends raw escape sequences to the terminal, and cuts text
/// longer than [`MAX_CELL_CHARS`]. Line breaks are kept.
pub(super) fn clean(text: &str) -> String {
    let cut = text
        .char_indices()
        .nth(MAX_CELL_CHARS)
        .map_or(text, |(at, _)| &text[..at]);
    let mut out = defused(cut);
    let rest = text[cut.len()..].chars().count();
    if rest > 0 {
        out.push_str(&format!(
            "… ({rest} more characters; --format json or csv shows them)"
        ));
    }
    out
}

fn severity_cell(sev: Severity, color: bool) -> Cell {
    let cell = Cell::new(sev.as_str());
    if !color {
        return cell;
    }
    match sev {
        Severity::Critical => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Severity::High => cell.fg(Color::Red),
        Severity::Medium => cell.fg(Color::Yellow),
        Severity::Low => cell.fg(Color::Cyan),
        Severity::Info => cell.fg(Color::Grey),
    }
}

/// The subject column's text: display name, then the app id (or what the subject is).
fn subject_label(f: &Finding) -> String {
    let s = &f.subject;
    let name = s.shown_name();
    let second = match s.kind {
        SubjectKind::Application => s.app_id.clone(),
        SubjectKind::ServicePrincipal => Some(format!(
            "{} (service principal)",
            s.app_id.as_deref().unwrap_or("?")
        )),
        SubjectKind::RoleAssignment => Some("(role assignment)".into()),
        SubjectKind::AccessPolicy => Some("(access policy)".into()),
        SubjectKind::Mailbox => Some("(mailbox)".into()),
        SubjectKind::Tenant => Some("(tenant)".into()),
    };
    let mut label = clean(name);
    for line in second
        .into_iter()
        .chain(s.organization.as_ref().map(|o| o.short()))
    {
        label.push('\n');
        label.push_str(&clean(&line));
    }
    label
}

/// A subject's grouping key: its source, kind and ids.
type SubjectKey<'f> = (
    usize,
    SubjectKind,
    Option<&'f str>,
    Option<&'f str>,
    Option<&'f str>,
);

/// Groups findings by subject, keeping first-seen order.
fn group_by_subject<'f>(findings: impl Iterator<Item = &'f Finding>) -> Vec<Vec<&'f Finding>> {
    let mut index: BTreeMap<SubjectKey<'f>, usize> = BTreeMap::new();
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    for f in findings {
        let s = &f.subject;
        let key = (
            f.source,
            s.kind,
            s.app_id.as_deref(),
            s.object_id.as_deref(),
            s.identity.as_deref(),
        );
        let i = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(f);
    }
    groups
}

pub fn write(report: &Report, out: &mut dyn Write, color: bool) -> io::Result<()> {
    for src in &report.sources {
        let what = match src.kind {
            Some(kind) => {
                let mut parts = vec![kind.to_string()];
                if let Some(t) = &src.tenant {
                    parts.push(format!("tenant {t}"));
                }
                if let Some(c) = src.collected_at {
                    parts.push(format!("collected {}", crate::dates::ymd(c)));
                }
                parts.push(format!("{} app(s)", src.apps));
                parts.join(", ")
            }
            None => format!("NOT READ: {}", src.errors.join("; ")),
        };
        writeln!(out, "Source: {} ({what})", clean(&src.path))?;
    }
    writeln!(out)?;

    let shown = |f: &&Finding| {
        f.outcome == Outcome::Fail || (report.includes_passed && f.outcome == Outcome::Pass)
    };
    let mut groups = group_by_subject(report.findings.iter().filter(shown));
    // Worst app first: highest severity, then most failures, then name.
    groups.sort_by(|a, b| {
        let worst = |g: &[&Finding]| {
            g.iter()
                .filter(|f| f.outcome == Outcome::Fail)
                .map(|f| f.severity)
                .max()
        };
        let fails = |g: &[&Finding]| g.iter().filter(|f| f.outcome == Outcome::Fail).count();
        worst(b)
            .cmp(&worst(a))
            .then(fails(b).cmp(&fails(a)))
            .then_with(|| a[0].subject.display_name.cmp(&b[0].subject.display_name))
    });

    if groups.is_empty() {
        writeln!(out, "No failing findings.")?;
    } else {
        write_findings(report, &groups, out, color)?;
    }

    write_not_evaluated(report, out)?;

    let s = &report.summary;
    let by_sev = s.failing_by_severity();
    let failing = if by_sev.is_empty() {
        "0 failing".to_string()
    } else {
        format!("{} failing ({})", s.fail, by_sev.join(", "))
    };
    writeln!(
        out,
        "\n{} app(s), {} rule(s): {failing}, {} not evaluated, {} passed. As of {}.",
        s.apps,
        s.rules,
        s.not_evaluated,
        s.pass,
        format_as_of(report.as_of)
    )?;
    if s.waived > 0 {
        writeln!(
            out,
            "{} finding(s) waived (see the JSON report for each waiver's reason).",
            s.waived
        )?;
    }
    for w in report
        .waivers
        .iter()
        .filter(|w| w.state != crate::engine::waiver::WaiverState::Applied)
    {
        writeln!(out, "{}", w.describe())?;
    }
    if let Some(c) = &report.changes {
        writeln!(
            out,
            "Against {}: {} new, {} unchanged, {} resolved.",
            c.baseline,
            c.new,
            c.unchanged,
            c.resolved.len()
        )?;
        for r in &c.resolved {
            // Everything here comes from the baseline's JSON, which keeps names as they were.
            let line = format!(
                "{} {} {}{}",
                r.rule_id,
                r.subject.label(),
                r.item
                    .as_deref()
                    .map(|i| format!("[{i}] "))
                    .unwrap_or_default(),
                r.message
            );
            writeln!(out, "  resolved: {}", clean(&line))?;
        }
    }
    let broken: usize = report.sources.iter().map(|s| s.errors.len()).sum();
    if broken > 0 {
        writeln!(
            out,
            "{broken} input file(s) could not be read: the report covers everything else."
        )?;
    }
    Ok(())
}

/// Tables of more rows than this are laid out a chunk of apps at a time, in parallel, all
/// with the first chunk's column widths, and written as one table: laying out a 100k-app
/// tenant's ~330,000 rows as one comfy-table held 1.4 GB and took 9 s.
const CHUNK_ROWS: usize = 2_000;

/// The failing findings' table, app by app.
fn write_findings(
    report: &Report,
    groups: &[Vec<&Finding>],
    out: &mut dyn Write,
    color: bool,
) -> io::Result<()> {
    let table = |groups: &[Vec<&Finding>], header: bool, widths: Option<&[u16]>| {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic);
        if header {
            table.set_header(["App", "Severity", "Rule", "Finding"]);
        }
        if !color {
            table.force_no_tty().set_width(PIPE_WIDTH);
        }
        for group in groups {
            for (i, f) in group.iter().enumerate() {
                table.add_row(row(report, f, i == 0, color));
            }
        }
        // After the rows: constraints apply to the columns the rows made.
        if let Some(widths) = widths {
            table.set_constraints(
                widths
                    .iter()
                    .map(|w| ColumnConstraint::Absolute(Width::Fixed(*w))),
            );
        }
        table
    };
    // Whole apps per chunk, at least CHUNK_ROWS rows each.
    let mut chunks: Vec<&[Vec<&Finding>]> = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, group) in groups.iter().enumerate() {
        rows += group.len();
        if rows >= CHUNK_ROWS {
            chunks.push(&groups[start..=i]);
            (start, rows) = (i + 1, 0);
        }
    }
    if start < groups.len() {
        chunks.push(&groups[start..]);
    }
    let Some((first, rest)) = chunks.split_first() else {
        return Ok(());
    };
    let first: Vec<String> = table(first, true, None).lines().collect();
    if rest.is_empty() {
        for line in &first {
            writeln!(out, "{line}")?;
        }
        return Ok(());
    }
    // The column widths comfy-table chose for the first chunk, read off its top border.
    let widths: Vec<u16> = first[0]
        .trim_start_matches(|c: char| !c.is_whitespace() && c != '─')
        .split(|c: char| c != '─')
        .filter(|run| !run.is_empty())
        .map(|run| u16::try_from(run.chars().count()).unwrap_or(u16::MAX))
        .collect();
    // Every chunk but the last without its bottom border, every chunk but the first without
    // its top border: one table.
    for line in &first[..first.len() - 1] {
        writeln!(out, "{line}")?;
    }
    let band = rayon::current_num_threads() * 2;
    for (b, band_chunks) in rest.chunks(band).enumerate() {
        let texts: Vec<String> = band_chunks
            .par_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let last = b * band + i == rest.len() - 1;
                let lines: Vec<String> = table(chunk, false, Some(&widths)).lines().collect();
                let end = if last { lines.len() } else { lines.len() - 1 };
                let mut text = String::new();
                for line in lines.get(1..end).unwrap_or_default() {
                    text.push_str(line);
                    text.push('\n');
                }
                text
            })
            .collect();
        for text in texts {
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// One finding's row; the app's name is on its first row only.
fn row(report: &Report, f: &Finding, first_of_app: bool, color: bool) -> Vec<Cell> {
    let rule = &report.rules.rules[f.rule];
    let app = if first_of_app {
        subject_label(f)
    } else {
        String::new()
    };
    let sev = if f.outcome == Outcome::Pass {
        Cell::new("pass")
    } else {
        severity_cell(f.severity, color)
    };
    // With --baseline, findings the earlier run did not have are marked.
    let message = match report.change(f) {
        Some(super::baseline::Change::New) => format!("NEW: {}", clean(&f.message)),
        _ => clean(&f.message),
    };
    vec![
        Cell::new(app),
        sev,
        Cell::new(format!("{}\n{}", rule.id, rule.slug)),
        Cell::new(message),
    ]
}

/// Not-evaluated findings, counted per rule and reason: missing data is shown, never hidden.
fn write_not_evaluated(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut by_reason: BTreeMap<(&str, String), (&str, usize)> = BTreeMap::new();
    for f in report
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::NotEvaluated)
    {
        let rule = &report.rules.rules[f.rule];
        let reason = match f.evidence.get("reason") {
            Some(serde_json::Value::String(reason)) => reason,
            _ => f.message.to_string(),
        };
        by_reason
            .entry((rule.id.as_str(), reason))
            .or_insert((rule.slug.as_str(), 0))
            .1 += 1;
    }
    if by_reason.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nNot evaluated (the input lacks data these rules need):"
    )?;
    for ((id, reason), (slug, n)) in by_reason {
        writeln!(out, "  {id} {slug}: {n}× {}", clean(&reason))?;
    }
    Ok(())
}
