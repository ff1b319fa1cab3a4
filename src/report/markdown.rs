//! Markdown: a summary and a table of what needs attention, for tickets and email.

use std::io::{self, Write};

use super::{Report, defuse, format_as_of};
use crate::finding::Outcome;

/// A table cell on one line: pipes escaped, HTML-ish text defused, line breaks as
/// `line_break` (a space, or `<br>` where the renderer takes it), and no control
/// characters (a display name's ANSI escapes would reach the terminal of whoever `cat`s
/// the file; see [`defuse`]).
pub(super) fn cell_with(s: &str, line_break: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str(line_break),
            // (A Windows line end is one line break.)
            '\r' => {}
            c => out.push(defuse(c)),
        }
    }
    out
}

fn cell(s: &str) -> String {
    cell_with(s, " ")
}

/// A path in backticks: no backtick to end the code span early, nothing [`defuse`] replaces.
fn code(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '`' => '\'',
            c => defuse(c),
        })
        .collect()
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
            code(&src.path),
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
            code(&c.baseline),
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
            cell(f.subject.shown_name()),
            f.subject.app_id.as_deref().unwrap_or("-"),
            rule.id,
            rule.slug,
            cell(&f.message)
        )?;
    }
    Ok(())
}
