//! `m365audit/findings/v1`: the JSON report. Written from these structs only, so internal
//! types can change without changing the format. Fields are only ever added within v1.

use std::io::{self, Write};

use serde::Serialize;

use super::Report;
use crate::engine::{Evidence, Finding, Outcome, Severity, SubjectKind};

const SCHEMA: &str = "m365audit/findings/v1";

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    tool_version: &'a str,
    as_of: String,
    generated_at: String,
    sources: Vec<Source<'a>>,
    summary: Summary,
    findings: Vec<JsonFinding<'a>>,
    /// With `--baseline`: the comparison, and the earlier findings no longer reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<JsonBaseline<'a>>,
    /// Configured waivers: applied, expired or unmatched.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    waivers: &'a [crate::engine::waiver::WaiverStatus],
}

#[derive(Serialize)]
struct JsonBaseline<'a> {
    path: &'a str,
    new: usize,
    unchanged: usize,
    resolved: &'a [super::baseline::Prior],
}

#[derive(Serialize)]
struct Source<'a> {
    path: &'a str,
    kind: Option<&'a str>,
    tenant: Option<&'a str>,
    collected_at: Option<String>,
    apps: usize,
    status: &'static str,
    errors: &'a [String],
    warnings: &'a [String],
}

#[derive(Serialize)]
struct Summary {
    apps: usize,
    rules: usize,
    fail: usize,
    not_evaluated: usize,
    waived: usize,
    pass: usize,
    /// Failing findings per severity, most severe first.
    by_severity: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a str,
    slug: &'a str,
    title: &'a str,
    severity: Severity,
    outcome: Outcome,
    subject: JsonSubject<'a>,
    item: Option<&'a str>,
    message: &'a str,
    evidence: &'a Evidence,
    remediation: &'a str,
    references: &'a [String],
    source: &'a str,
    /// Stable across runs: rule id + subject ids + item (see `m365audit diff`).
    fingerprint: String,
    /// With `--baseline`: `new` or `unchanged` (failing and not-evaluated findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<super::baseline::Change>,
}

#[derive(Serialize)]
struct JsonSubject<'a> {
    kind: SubjectKind,
    app_id: Option<&'a str>,
    object_id: Option<&'a str>,
    display_name: Option<&'a str>,
    /// Exchange objects and mailboxes: their identity.
    identity: Option<&'a str>,
}

fn finding<'a>(report: &'a Report, f: &'a Finding) -> JsonFinding<'a> {
    let rule = &report.rules.rules[f.rule];
    JsonFinding {
        rule_id: &rule.id,
        slug: &rule.slug,
        title: &rule.title,
        severity: f.severity,
        outcome: f.outcome,
        subject: JsonSubject {
            kind: f.subject.kind,
            app_id: f.subject.app_id.as_deref(),
            object_id: f.subject.object_id.as_deref(),
            display_name: f.subject.display_name.as_deref(),
            identity: f.subject.identity.as_deref(),
        },
        item: f.item.as_deref(),
        message: &f.message,
        evidence: &f.evidence,
        remediation: &rule.docs.remediation,
        references: &rule.docs.references,
        source: report.sources.get(f.source).map_or("", |s| s.path.as_str()),
        fingerprint: f.fingerprint(&rule.id),
        change: report.change(f),
    }
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let doc = Document {
        schema: SCHEMA,
        tool_version: report.tool_version,
        as_of: crate::dates::rfc3339(report.as_of),
        generated_at: crate::dates::rfc3339(report.generated_at),
        sources: report
            .sources
            .iter()
            .map(|src| Source {
                path: &src.path,
                kind: src.kind,
                tenant: src.tenant.as_deref(),
                collected_at: src.collected_at.map(crate::dates::rfc3339),
                apps: src.apps,
                status: if src.errors.is_empty() { "ok" } else { "error" },
                errors: &src.errors,
                warnings: &src.warnings,
            })
            .collect(),
        summary: Summary {
            apps: s.apps,
            rules: s.rules,
            fail: s.fail,
            not_evaluated: s.not_evaluated,
            waived: s.waived,
            pass: s.pass,
            by_severity: Severity::ALL
                .iter()
                .map(|sev| {
                    let n = s.by_severity.get(sev).copied().unwrap_or(0);
                    (sev.as_str().to_string(), n.into())
                })
                .collect(),
        },
        findings: report.findings.iter().map(|f| finding(report, f)).collect(),
        baseline: report.changes.as_ref().map(|c| JsonBaseline {
            path: &c.baseline,
            new: c.new,
            unchanged: c.unchanged,
            resolved: &c.resolved,
        }),
        waivers: &report.waivers,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}
