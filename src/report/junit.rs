//! JUnit XML, for CI systems that show test results: one test suite per rule, one test case
//! per rule × subject. A failing finding is a `<failure>`, a not-evaluated one `<skipped>`,
//! a waived one passes with the waiver in `<system-out>`. Passes appear when the report
//! includes them (`--include-passed`).

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::Report;
use crate::finding::{Finding, Outcome};

use super::escape_markup as esc;

fn case_name(f: &Finding) -> String {
    let s = &f.subject;
    let who = s.shown_name();
    let id = s
        .app_id
        .as_deref()
        .or(s.object_id.as_deref())
        .unwrap_or_default();
    let mut name = if id.is_empty() {
        who.to_string()
    } else {
        format!("{who} ({id})")
    };
    if let Some(item) = &f.item {
        name.push_str(&format!(" [{item}]"));
    }
    name
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let mut by_rule: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_rule.entry(f.rule).or_default().push(f);
    }
    let s = &report.summary;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="m365audit" tests="{}" failures="{}" skipped="{}" timestamp="{}">"#,
        report.findings.len(),
        s.fail,
        s.not_evaluated,
        crate::dates::rfc3339(report.generated_at)
    )?;
    for (rule, findings) in by_rule {
        let rule = &report.rules.rules[rule];
        let failures = findings
            .iter()
            .filter(|f| f.outcome == Outcome::Fail)
            .count();
        let skipped = findings
            .iter()
            .filter(|f| f.outcome == Outcome::NotEvaluated)
            .count();
        writeln!(
            out,
            r#"  <testsuite name="{} {}" tests="{}" failures="{failures}" skipped="{skipped}">"#,
            esc(&rule.id),
            esc(&rule.slug),
            findings.len()
        )?;
        for f in findings {
            write!(
                out,
                r#"    <testcase classname="{}" name="{}""#,
                esc(&rule.id),
                esc(&case_name(f))
            )?;
            match f.outcome {
                Outcome::Pass => writeln!(out, "/>")?,
                Outcome::Fail => {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        r#"      <failure type="{}" message="{}">{}</failure>"#,
                        f.severity,
                        esc(&f.message),
                        esc(&format!(
                            "{}\n\nRemediation: {}",
                            serde_json::to_string_pretty(&f.evidence).unwrap_or_default(),
                            rule.docs.remediation
                        ))
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
                Outcome::NotEvaluated => {
                    writeln!(out, ">")?;
                    writeln!(out, r#"      <skipped message="{}"/>"#, esc(&f.message))?;
                    writeln!(out, "    </testcase>")?;
                }
                Outcome::Waived => {
                    writeln!(out, ">")?;
                    writeln!(
                        out,
                        "      <system-out>waived: {}</system-out>",
                        esc(&serde_json::to_string(&f.evidence.get("waiver")).unwrap_or_default())
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}
