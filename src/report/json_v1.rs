//! `m365audit/findings/v1`: the JSON report. Written from these structs only, so internal
//! types can change without changing the format. Fields are only ever added within v1.
//!
//! Layout: the document is indented, but each finding is one compact line, so a 100k-app
//! report stays greppable (`grep CRED-001`) and about a third smaller than fully indented
//! JSON. Findings are serialized in parallel chunks and written in order.

use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::{RawValue, to_raw_value as raw};

use super::Report;
use crate::engine::waiver::WaiverStatus;
use crate::finding::{Finding, Severity};

const SCHEMA: &str = "m365audit/findings/v1";

/// The members before `findings`.
#[derive(Serialize)]
struct Head<'a> {
    schema: &'static str,
    tool_version: &'a str,
    as_of: String,
    generated_at: String,
    sources: Vec<Source<'a>>,
    summary: Summary,
}

/// The members after `findings`.
#[derive(Serialize)]
struct Tail<'a> {
    /// With `--baseline`: the comparison, and the earlier findings no longer reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<JsonBaseline<'a>>,
    /// Configured waivers: applied, expired or unmatched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waivers: Vec<JsonWaiver<'a>>,
}

/// A configured waiver and what became of it.
#[derive(Serialize)]
struct JsonWaiver<'a> {
    rule: &'a str,
    subject: &'a str,
    item: Option<&'a str>,
    reason: &'a str,
    expires: Option<&'a str>,
    ticket: Option<&'a str>,
    /// `applied`, `expired` or `unmatched`.
    state: &'static str,
    findings: usize,
}

impl<'a> JsonWaiver<'a> {
    fn new(status: &'a WaiverStatus) -> Self {
        let w = &status.waiver;
        JsonWaiver {
            rule: &w.rule,
            subject: &w.subject,
            item: w.item.as_deref(),
            reason: &w.reason,
            expires: w.expires.as_deref(),
            ticket: w.ticket.as_deref(),
            state: status.state.as_str(),
            findings: status.findings,
        }
    }
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
    rule_id: &'a RawValue,
    slug: &'a RawValue,
    title: &'a RawValue,
    severity: &'static str,
    outcome: &'static str,
    subject: JsonSubject<'a>,
    item: Option<&'a str>,
    message: &'a str,
    evidence: &'a RawValue,
    remediation: &'a RawValue,
    references: &'a RawValue,
    source: &'a RawValue,
    /// Stable across runs: rule id + subject ids + item (see `m365audit diff`).
    fingerprint: &'a str,
    /// With `--baseline`: `new` or `unchanged` (failing and not-evaluated findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<super::baseline::Change>,
}

#[derive(Serialize)]
struct JsonSubject<'a> {
    kind: &'static str,
    app_id: Option<&'a str>,
    object_id: Option<&'a str>,
    display_name: Option<&'a str>,
    /// Exchange objects and mailboxes: their identity.
    identity: Option<&'a str>,
    /// Apps and service principals: whose app it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    organization: Option<JsonOrganization<'a>>,
}

/// Whose app a subject is, in the frozen report shape.
#[derive(Serialize)]
struct JsonOrganization<'a> {
    /// `this_tenant`, `microsoft`, `other` or `unknown`.
    kind: &'static str,
    tenant_id: Option<&'a str>,
    publisher: Option<&'a str>,
    verified_publisher: Option<bool>,
}

/// A rule's fields as they appear in every one of its findings, serialized once: a large
/// report repeats the same remediation and references tens of thousands of times, and
/// escaping them again for each finding was most of the writing time.
struct RuleText {
    id: Box<RawValue>,
    slug: Box<RawValue>,
    title: Box<RawValue>,
    remediation: Box<RawValue>,
    references: Box<RawValue>,
}

/// Serialized once per report: each rule's text and each source's path.
struct Shared {
    rules: Vec<RuleText>,
    sources: Vec<Box<RawValue>>,
    no_source: Box<RawValue>,
}

impl Shared {
    fn new(report: &Report) -> serde_json::Result<Shared> {
        Ok(Shared {
            rules: report
                .rules
                .rules
                .iter()
                .map(|rule| {
                    Ok(RuleText {
                        id: raw(&rule.id)?,
                        slug: raw(&rule.slug)?,
                        title: raw(&rule.title)?,
                        remediation: raw(&rule.docs.remediation)?,
                        references: raw(&rule.docs.references)?,
                    })
                })
                .collect::<serde_json::Result<_>>()?,
            sources: report
                .sources
                .iter()
                .map(|s| raw(&s.path))
                .collect::<serde_json::Result<_>>()?,
            no_source: raw("")?,
        })
    }
}

fn finding<'a>(report: &'a Report, shared: &'a Shared, f: &'a Finding) -> JsonFinding<'a> {
    let text = &shared.rules[f.rule];
    JsonFinding {
        rule_id: &text.id,
        slug: &text.slug,
        title: &text.title,
        severity: f.severity.as_str(),
        outcome: f.outcome.as_str(),
        subject: JsonSubject {
            kind: f.subject.kind.as_str(),
            app_id: f.subject.app_id.as_deref(),
            object_id: f.subject.object_id.as_deref(),
            display_name: f.subject.display_name.as_deref(),
            identity: f.subject.identity.as_deref(),
            organization: f.subject.organization.as_ref().map(|o| JsonOrganization {
                kind: o.kind.as_str(),
                tenant_id: o.tenant_id.as_deref(),
                publisher: o.publisher.as_deref(),
                verified_publisher: o.verified,
            }),
        },
        item: f.item.as_deref(),
        message: &f.message,
        evidence: f.evidence.raw(),
        remediation: &text.remediation,
        references: &text.references,
        source: shared.sources.get(f.source).unwrap_or(&shared.no_source),
        fingerprint: &f.fingerprint,
        change: report.change(f),
    }
}

/// Findings per parallel serialization chunk: large enough to amortise the hand-off, small
/// enough that only a few chunks' text is in memory at once.
const CHUNK: usize = 512;

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let s = &report.summary;
    let head = Head {
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
    };
    let tail = Tail {
        baseline: report.changes.as_ref().map(|c| JsonBaseline {
            path: &c.baseline,
            new: c.new,
            unchanged: c.unchanged,
            resolved: &c.resolved,
        }),
        waivers: report.waivers.iter().map(JsonWaiver::new).collect(),
    };
    // Head and tail are written as indented objects whose members sit at the document's
    // top level: their `{ ... }` is dropped and the findings array goes between them.
    let head = serde_json::to_string_pretty(&head)?;
    out.write_all(b"{")?;
    out.write_all(members(&head).as_bytes())?;
    out.write_all(b",\n  \"findings\": [")?;
    let shared = Shared::new(report)?;
    let mut first = true;
    // A band of chunks is serialized in parallel, then written in order.
    for band in report
        .findings
        .chunks(CHUNK * rayon::current_num_threads() * 2)
    {
        let texts: Vec<io::Result<Vec<u8>>> = band
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 1024);
                for f in chunk {
                    buf.extend_from_slice(b"\n    ");
                    serde_json::to_writer(&mut buf, &finding(report, &shared, f))?;
                    buf.push(b',');
                }
                Ok(buf)
            })
            .collect();
        for text in texts {
            let text = text?;
            // Separators: each line ends with a comma except the last one of the array.
            if !first {
                out.write_all(b",")?;
            }
            out.write_all(&text[..text.len().saturating_sub(1)])?;
            first = false;
        }
    }
    out.write_all(if first { b"]" } else { b"\n  ]" })?;
    let tail = serde_json::to_string_pretty(&tail)?;
    let tail = members(&tail);
    if !tail.is_empty() {
        out.write_all(b",")?;
        out.write_all(tail.as_bytes())?;
    }
    out.write_all(b"\n}\n")
}

/// The members of an indented top-level object, without its braces and final newline:
/// `{\n  "a": 1\n}` gives `\n  "a": 1`; `{}` gives nothing.
fn members(object: &str) -> &str {
    object
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .map_or("", |inner| inner.trim_end_matches('\n'))
}
