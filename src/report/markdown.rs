//! Markdown: a summary and a table of what needs attention, for tickets and email.

use std::io::{self, Write};

use super::{Report, format_as_of};
use crate::engine::Outcome;

/// A table cell: pipes escaped, HTML-ish text defused, one line.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    writeln!(
        out,
        "## m365audit report, as of {}\n",
        format_as_of(report.as_of)
    )?;
    for src in &report.sources {
        writeln!(
            out,
            "- Source `{}`: {} app(s){}{}",
            src.path.replace('`', "'"),
            src.apps,
            src.tenant
                .as_deref()
                .map(|t| format!(", tenant {}", cell(t)))
                .unwrap_or_default(),
            if src.errors.is_empty() {
                String::new()
            } else {
                format!(", {} unreadable file(s)", src.errors.len())
            }
        )?;
    }
    let by_sev = s.failing_by_severity();
    writeln!(
        out,
        "- **{} failing** ({}), {} not evaluated, {} waived, {} passed; {} rule(s)",
        s.fail,
        if by_sev.is_empty() {
            "none".into()
        } else {
            by_sev.join(", ")
        },
        s.not_evaluated,
        s.waived,
        s.pass,
        s.rules
    )?;
    if let Some(c) = &report.changes {
        writeln!(
            out,
            "- Against `{}`: {} new, {} unchanged, {} resolved",
            c.baseline.replace('`', "'"),
            c.new,
            c.unchanged,
            c.resolved.len()
        )?;
    }
    let shown: Vec<_> = report
        .findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::NotEvaluated))
        .collect();
    if shown.is_empty() {
        return writeln!(out, "\nNo failing findings.");
    }
    writeln!(out, "\n| Severity | App | Rule | Finding |")?;
    writeln!(out, "|---|---|---|---|")?;
    for f in shown {
        let rule = &report.rules.rules[f.rule];
        let severity = match f.outcome {
            Outcome::NotEvaluated => "not evaluated".to_string(),
            _ => f.severity.to_string(),
        };
        let new = match report.change(f) {
            Some(super::baseline::Change::New) => "**NEW** ",
            _ => "",
        };
        writeln!(
            out,
            "| {severity} | {}<br>`{}` | {} {} | {new}{} |",
            cell(
                f.subject
                    .display_name
                    .as_deref()
                    .or(f.subject.identity.as_deref())
                    .unwrap_or("(unnamed)")
            ),
            f.subject.app_id.as_deref().unwrap_or("-"),
            rule.id,
            rule.slug,
            cell(&f.message)
        )?;
    }
    Ok(())
}
