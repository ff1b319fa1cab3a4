//! SARIF 2.1.0, for code-scanning dashboards (GitHub, Azure DevOps). One run; every rule of
//! the pack with its help text; one result per finding with a logical location for the app
//! (or Exchange object) and a physical one for the source it was read from, so uploaders that
//! need a file accept it. Waived findings carry a suppression, not-evaluated ones are
//! `kind: open` (could not be determined), and the finding fingerprint is a partial
//! fingerprint, so dashboards track findings across runs the way `m365audit diff` does.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::Report;
use crate::finding::{Outcome, Severity, SubjectKind};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (0-10): critical ≥ 9, high ≥ 7, medium ≥ 4, low > 0.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.5",
    }
}

/// A relative URI reference: path separators as `/`, other unsafe bytes percent-encoded.
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.replace('\\', "/").bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let rules: Vec<Value> = report
        .rules
        .rules
        .iter()
        .map(|r| {
            let help = format!(
                "{}\n\nWhy: {}\n\nRemediation: {}\n\nReferences:\n{}",
                r.docs.what,
                r.docs.why,
                r.docs.remediation,
                r.docs
                    .references
                    .iter()
                    .map(|x| format!("- {x}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            json!({
                "id": r.id,
                "name": r.slug,
                "shortDescription": {"text": r.title},
                "fullDescription": {"text": r.docs.what},
                "help": {"text": help},
                "defaultConfiguration": {"level": level(r.severity)},
                "properties": {
                    "tags": ["security", "m365audit", r.kind],
                    "security-severity": security_severity(r.severity),
                    "precision": "high",
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let rule = &report.rules.rules[f.rule];
            let s = &f.subject;
            let kind = s.kind.as_str();
            let id = s
                .app_id
                .as_deref()
                .or(s.object_id.as_deref())
                .or(s.identity.as_deref())
                .unwrap_or("tenant");
            let name = s
                .display_name
                .as_deref()
                .or(s.identity.as_deref())
                .unwrap_or(id);
            let logical_kind = match s.kind {
                SubjectKind::Application | SubjectKind::ServicePrincipal => "module",
                _ => "object",
            };
            let source = report.sources.get(f.source).map_or(String::new(), |src| src.path.clone());
            let mut result = json!({
                "ruleId": rule.id,
                "ruleIndex": f.rule,
                "level": if f.outcome == Outcome::Fail || f.outcome == Outcome::Waived { level(f.severity) } else { "none" },
                "kind": match f.outcome {
                    Outcome::Fail | Outcome::Waived => "fail",
                    Outcome::NotEvaluated => "open",
                    Outcome::Pass => "pass",
                },
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": uri(&source)}},
                    "logicalLocations": [{
                        "name": name,
                        "fullyQualifiedName": format!("{kind}/{id}"),
                        "kind": logical_kind,
                    }],
                }],
                "partialFingerprints": {"m365auditFinding/v1": f.fingerprint},
                "properties": {
                    "severity": f.severity.as_str(),
                    "outcome": f.outcome.as_str(),
                    "item": f.item,
                    "evidence": f.evidence,
                },
            });
            if f.outcome == Outcome::Waived {
                let waiver = f.evidence.get("waiver");
                let reason = waiver
                    .as_ref()
                    .and_then(|w| w.get("reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("waived in m365audit.toml");
                result["suppressions"] = json!([{"kind": "external", "justification": reason}]);
            }
            if let Some(c) = report.change(f) {
                result["baselineState"] = json!(c.as_str());
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "m365audit",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": report.sources.iter().all(|s| s.errors.is_empty()),
                "endTimeUtc": crate::dates::rfc3339(report.generated_at),
            }],
            "results": results,
            "properties": {"as_of": crate::dates::rfc3339(report.as_of)},
        }],
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
