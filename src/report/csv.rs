//! CSV: one row per finding, the JSON fields flattened (evidence as compact JSON), every
//! column by default or those `--csv-columns` names.
//!
//! Display names and URIs come from other tenants' app registrations, so every cell that a
//! spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is
//! prefixed with `'` (OWASP CSV injection guidance).

use std::borrow::Cow;
use std::io::{self, Write};

use super::Report;

/// A CSV column. All of them, in this order, by default; `--csv-columns` picks some. The rule
/// text (title, remediation, references) repeated in every row is most of a large report's
/// size: without it a dense 100k-app report is about half as large.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[clap(rename_all = "snake_case")]
pub enum Column {
    RuleId,
    Slug,
    Title,
    Severity,
    Outcome,
    SubjectKind,
    AppId,
    ObjectId,
    DisplayName,
    Identity,
    Item,
    Message,
    Evidence,
    Remediation,
    References,
    Source,
    Fingerprint,
    Change,
}

impl Column {
    pub const ALL: [Column; 18] = [
        Column::RuleId,
        Column::Slug,
        Column::Title,
        Column::Severity,
        Column::Outcome,
        Column::SubjectKind,
        Column::AppId,
        Column::ObjectId,
        Column::DisplayName,
        Column::Identity,
        Column::Item,
        Column::Message,
        Column::Evidence,
        Column::Remediation,
        Column::References,
        Column::Source,
        Column::Fingerprint,
        Column::Change,
    ];

    /// The header cell: the JSON report's field name.
    pub fn name(self) -> &'static str {
        match self {
            Column::RuleId => "rule_id",
            Column::Slug => "slug",
            Column::Title => "title",
            Column::Severity => "severity",
            Column::Outcome => "outcome",
            Column::SubjectKind => "subject_kind",
            Column::AppId => "app_id",
            Column::ObjectId => "object_id",
            Column::DisplayName => "display_name",
            Column::Identity => "identity",
            Column::Item => "item",
            Column::Message => "message",
            Column::Evidence => "evidence",
            Column::Remediation => "remediation",
            Column::References => "references",
            Column::Source => "source",
            Column::Fingerprint => "fingerprint",
            Column::Change => "change",
        }
    }
}

/// Neutralizes a cell a spreadsheet would evaluate.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let columns: &[Column] = if report.csv_columns.is_empty() {
        &Column::ALL
    } else {
        &report.csv_columns
    };
    let mut w = csv::Writer::from_writer(out);
    w.write_record(columns.iter().map(|c| c.name()))?;
    // Each rule's references joined once, not once per row.
    let references: Vec<String> = report
        .rules
        .rules
        .iter()
        .map(|r| r.docs.references.join(" | "))
        .collect();
    for f in &report.findings {
        let rule = &report.rules.rules[f.rule];
        let subject = &f.subject;
        let cell = |c: &Column| -> &str {
            match c {
                Column::RuleId => &rule.id,
                Column::Slug => &rule.slug,
                Column::Title => &rule.title,
                Column::Severity => f.severity.as_str(),
                Column::Outcome => f.outcome.as_str(),
                Column::SubjectKind => subject.kind.as_str(),
                Column::AppId => subject.app_id.as_deref().unwrap_or_default(),
                Column::ObjectId => subject.object_id.as_deref().unwrap_or_default(),
                Column::DisplayName => subject.display_name.as_deref().unwrap_or_default(),
                Column::Identity => subject.identity.as_deref().unwrap_or_default(),
                Column::Item => f.item.as_deref().unwrap_or_default(),
                Column::Message => &f.message,
                Column::Evidence => f.evidence.raw().get(),
                Column::Remediation => &rule.docs.remediation,
                Column::References => &references[f.rule],
                Column::Source => report.sources.get(f.source).map_or("", |s| s.path.as_str()),
                Column::Fingerprint => &f.fingerprint,
                Column::Change => report.change(f).map(|c| c.as_str()).unwrap_or_default(),
            }
        };
        w.write_record(columns.iter().map(|c| match neutralize(cell(c)) {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        }))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::neutralize;

    #[test]
    fn formula_cells_are_neutralized() {
        assert_eq!(neutralize("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(neutralize("+1"), "'+1");
        assert_eq!(neutralize("-1"), "'-1");
        assert_eq!(neutralize("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(neutralize("\tx"), "'\tx");
        assert_eq!(neutralize("\rx"), "'\rx");
        assert_eq!(neutralize("Sage CRM"), "Sage CRM");
    }
}
