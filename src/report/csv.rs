//! CSV: one row per finding, the JSON fields flattened (evidence as compact JSON).
//!
//! Display names and URIs come from other tenants' app registrations, so every cell that a
//! spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) is
//! prefixed with `'` (OWASP CSV injection guidance).

use std::io::{self, Write};

use super::Report;

const HEADER: [&str; 18] = [
    "rule_id",
    "slug",
    "title",
    "severity",
    "outcome",
    "subject_kind",
    "app_id",
    "object_id",
    "display_name",
    "identity",
    "item",
    "message",
    "evidence",
    "remediation",
    "references",
    "source",
    "fingerprint",
    "change",
];

/// Neutralizes a cell a spreadsheet would evaluate.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    for f in &report.findings {
        let rule = &report.rules.rules[f.rule];
        let evidence = f.evidence.raw().get();
        let fingerprint = &f.fingerprint;
        let change = report.change(f).map(|c| c.as_str()).unwrap_or_default();
        let row = [
            rule.id.as_str(),
            rule.slug.as_str(),
            rule.title.as_str(),
            f.severity.as_str(),
            f.outcome.as_str(),
            f.subject.kind.as_str(),
            f.subject.app_id.as_deref().unwrap_or_default(),
            f.subject.object_id.as_deref().unwrap_or_default(),
            f.subject.display_name.as_deref().unwrap_or_default(),
            f.subject.identity.as_deref().unwrap_or_default(),
            f.item.as_deref().unwrap_or_default(),
            &f.message,
            evidence,
            rule.docs.remediation.as_str(),
            &rule.docs.references.join(" | "),
            report.sources.get(f.source).map_or("", |s| s.path.as_str()),
            fingerprint.as_str(),
            change,
        ];
        w.write_record(row.iter().map(|c| neutralize(c).into_owned()))?;
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
