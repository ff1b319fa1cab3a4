//! The JSON reports, each written from its own structs so internal types can change without
//! changing a format:
//!
//! - `v2` (`m365audit/findings/v2`, `--format json`): each rule's text, each subject and each
//!   source once, findings pointing at them;
//! - `v1` (`m365audit/findings/v1`, `--format json-v1`, deprecated): every finding
//!   self-contained, its rule's text repeated;
//! - `lines` (`m365audit/findings-jsonl/v1`, `--format jsonl`): a header line, a
//!   self-contained line per finding, a summary line; streamed as apps are evaluated.
//!
//! This file holds what they share: the members around the findings, the subject, and the
//! parallel writer of a long array of one-line items. The JSON Schemas are beside it.

pub mod lines;
pub mod v1;
pub mod v2;

use std::borrow::Cow;
use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;
use serde_json::value::RawValue;

use super::Report;
use super::baseline::Changes;
use crate::engine::waiver::WaiverStatus;
use crate::finding::{Finding, Outcome, Severity, Subject};

/// The JSON Schemas, as published in the repository.
pub const SCHEMA_V1: &str = include_str!("findings-v1.schema.json");
pub const SCHEMA_V2: &str = include_str!("findings-v2.schema.json");
pub const SCHEMA_LINES: &str = include_str!("findings-jsonl-v1.schema.json");

/// The report's first members: what was scanned, when, and the counts.
#[derive(Serialize)]
struct Head<'a> {
    schema: &'static str,
    tool_version: &'a str,
    as_of: String,
    generated_at: String,
    sources: Vec<Source<'a>>,
    summary: Counts,
}

impl<'a> Head<'a> {
    fn new(schema: &'static str, report: &'a Report) -> Self {
        Head {
            schema,
            tool_version: report.tool_version,
            as_of: crate::dates::rfc3339(report.as_of),
            generated_at: crate::dates::rfc3339(report.generated_at),
            sources: report.sources.iter().map(Source::new).collect(),
            summary: Counts::new(&report.summary),
        }
    }
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

impl<'a> Tail<'a> {
    fn new(changes: Option<&'a Changes>, waivers: &'a [WaiverStatus]) -> Self {
        Tail {
            baseline: changes.map(|c| JsonBaseline {
                path: &c.baseline,
                new: c.new,
                unchanged: c.unchanged,
                resolved: &c.resolved,
            }),
            waivers: waivers.iter().map(JsonWaiver::new).collect(),
        }
    }
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

impl<'a> Source<'a> {
    fn new(src: &'a super::SourceSummary) -> Self {
        Source {
            path: &src.path,
            kind: src.kind,
            tenant: src.tenant.as_deref(),
            collected_at: src.collected_at.map(crate::dates::rfc3339),
            apps: src.apps,
            status: if src.errors.is_empty() { "ok" } else { "error" },
            errors: &src.errors,
            warnings: &src.warnings,
        }
    }
}

#[derive(Serialize)]
struct Counts {
    apps: usize,
    rules: usize,
    fail: usize,
    not_evaluated: usize,
    waived: usize,
    pass: usize,
    /// Failing findings per severity, most severe first.
    by_severity: serde_json::Map<String, serde_json::Value>,
}

impl Counts {
    fn new(s: &super::Summary) -> Self {
        Counts {
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
        }
    }
}

#[derive(Serialize, PartialEq, Eq, Hash)]
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

impl<'a> JsonSubject<'a> {
    fn new(s: &'a Subject) -> Self {
        JsonSubject {
            kind: s.kind.as_str(),
            app_id: s.app_id.as_deref(),
            object_id: s.object_id.as_deref(),
            display_name: s.display_name.as_deref(),
            identity: s.identity.as_deref(),
            organization: s.organization.as_ref().map(|o| JsonOrganization {
                kind: o.kind.as_str(),
                tenant_id: o.tenant_id.as_deref(),
                publisher: o.publisher.as_deref(),
                verified_publisher: o.verified,
            }),
        }
    }
}

/// Whose app a subject is.
#[derive(Serialize, PartialEq, Eq, Hash)]
struct JsonOrganization<'a> {
    /// `this_tenant`, `microsoft`, `other` or `unknown`.
    kind: &'static str,
    tenant_id: Option<&'a str>,
    publisher: Option<&'a str>,
    verified_publisher: Option<bool>,
}

/// A finding's evidence, and its waiver if it is waived: v2 and JSON Lines give the waiver
/// its own member, so a waived finding's evidence is written without it (v1 kept it in the
/// evidence, where waivers put it).
fn evidence_and_waiver(
    f: &Finding,
) -> serde_json::Result<(Cow<'_, RawValue>, Option<serde_json::Value>)> {
    if f.outcome != Outcome::Waived {
        return Ok((Cow::Borrowed(f.evidence.raw()), None));
    }
    let mut map = f.evidence.to_map();
    let waiver = map.remove("waiver");
    Ok((Cow::Owned(serde_json::value::to_raw_value(&map)?), waiver))
}

/// Each rule's id as JSON text, by rule index: escaped once, not once per finding.
fn rule_ids(rules: &crate::engine::RuleSet) -> serde_json::Result<Vec<Box<RawValue>>> {
    rules
        .rules
        .iter()
        .map(|r| serde_json::value::to_raw_value(&r.id))
        .collect()
}

/// Items per parallel serialization chunk: large enough to amortise the hand-off, small
/// enough that only a few chunks' text is in memory at once.
const CHUNK: usize = 512;

/// Serializes `items` by `item`, a band of chunks in parallel, and hands each chunk's text to
/// `write` in order.
fn par_chunks<T: Sync>(
    items: &[T],
    item: impl Fn(&T, &mut Vec<u8>) -> io::Result<()> + Sync,
    mut write: impl FnMut(Vec<u8>) -> io::Result<()>,
) -> io::Result<()> {
    for band in items.chunks(CHUNK * rayon::current_num_threads() * 2) {
        let texts: Vec<io::Result<Vec<u8>>> = band
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 512);
                for x in chunk {
                    item(x, &mut buf)?;
                }
                Ok(buf)
            })
            .collect();
        for text in texts {
            write(text?)?;
        }
    }
    Ok(())
}

/// Writes each item's text as `item` makes it, in order (JSON Lines).
fn write_chunks<T: Sync>(
    out: &mut dyn Write,
    items: &[T],
    item: impl Fn(&T, &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    par_chunks(items, item, |text| out.write_all(&text))
}

/// Writes `items` as the lines of a JSON array: `[`, then `\n    ITEM,` for each (the last
/// without its comma), then `\n  ]` (or `[]`).
fn write_array<T: Sync>(
    out: &mut dyn Write,
    items: &[T],
    item: impl Fn(&T, &mut Vec<u8>) -> io::Result<()> + Sync,
) -> io::Result<()> {
    out.write_all(b"[")?;
    let mut first = true;
    par_chunks(
        items,
        |x, buf| {
            buf.extend_from_slice(b"\n    ");
            item(x, buf)?;
            buf.push(b',');
            Ok(())
        },
        |text| {
            // Each line ends with a comma except the last one of the array.
            if text.is_empty() {
                return Ok(());
            }
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            out.write_all(&text[..text.len() - 1])
        },
    )?;
    out.write_all(if first { b"]" } else { b"\n  ]" })
}

/// Writes the members of `value`, an object, indented at the document's top level and
/// preceded by a comma (nothing for an empty object).
fn write_members(out: &mut dyn Write, value: &impl Serialize) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let inner = members(&text);
    if !inner.is_empty() {
        out.write_all(b",")?;
        out.write_all(inner.as_bytes())?;
    }
    Ok(())
}

/// The members of an indented top-level object, without its braces and final newline:
/// `{\n  "a": 1\n}` gives `\n  "a": 1`; `{}` gives nothing.
fn members(object: &str) -> &str {
    object
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .map_or("", |inner| inner.trim_end_matches('\n'))
}

/// Writes the head's members after `{` (the document's opening).
fn write_head(out: &mut dyn Write, head: &Head) -> io::Result<()> {
    let text = serde_json::to_string_pretty(head)?;
    out.write_all(b"{")?;
    out.write_all(members(&text).as_bytes())
}
