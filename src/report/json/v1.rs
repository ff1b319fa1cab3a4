//! `m365audit/findings/v1`, deprecated: written by `--format json-v1` for this release only.
//! Every finding is self-contained, its rule's title, remediation and references repeated;
//! v2 ([`super::v2`]) has them once. Fields were only ever added within v1.
//!
//! Layout: the document is indented, but each finding is one compact line, so a large report
//! stays greppable (`grep CRED-001`).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::{RawValue, to_raw_value as raw};

use super::{Head, JsonSubject, Tail, write_array, write_head, write_members};
use crate::finding::Finding;
use crate::report::Report;

const SCHEMA: &str = crate::report::schema_id::FINDINGS_V1;

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
    change: Option<crate::report::baseline::Change>,
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
        subject: JsonSubject::new(&f.subject),
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

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_head(out, &Head::new(SCHEMA, report))?;
    out.write_all(b",\n  \"findings\": ")?;
    let shared = Shared::new(report)?;
    write_array(out, &report.findings, |f, buf| {
        serde_json::to_writer(buf, &finding(report, &shared, f)).map_err(io::Error::from)
    })?;
    write_members(out, &Tail::new(report.changes.as_ref(), &report.waivers))?;
    out.write_all(b"\n}\n")
}
