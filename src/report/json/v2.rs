//! `m365audit/findings/v2`, the JSON report (`--format json`).
//!
//! Each rule's text is written once, in `rules` keyed by rule id; each subject once, in
//! `subjects`; each source once, in `sources`. A finding names its rule by id and points at
//! its subject and source by index:
//!
//! ```text
//! jq -r '.subjects as $s | .findings[] | select(.outcome == "fail")
//!        | [.rule_id, $s[.subject].display_name, .message] | @tsv' findings.json
//! ```
//!
//! In a 100k-app report the rule text repeated in every finding was half of v1's bytes and
//! the subjects a fifth; sharing both makes the report about a third of v1's size.
//!
//! Layout as v1: the document is indented, each subject and each finding one compact line.
//! Fields are only ever added within v2.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;

use super::{
    Head, JsonSubject, Tail, evidence_and_waiver, rule_ids, write_array, write_head, write_members,
};
use crate::engine::Rule;
use crate::finding::Finding;
use crate::report::Report;
use crate::report::baseline::Change;

const SCHEMA: &str = crate::report::schema_id::FINDINGS_V2;

/// A rule's text, once per report.
#[derive(Serialize)]
struct JsonRule<'a> {
    slug: &'a str,
    title: &'a str,
    severity: &'static str,
    kind: &'a str,
    what: &'a str,
    why: &'a str,
    remediation: &'a str,
    references: &'a [String],
}

impl<'a> JsonRule<'a> {
    fn new(rule: &'a Rule) -> Self {
        JsonRule {
            slug: &rule.slug,
            title: &rule.title,
            severity: rule.severity.as_str(),
            kind: &rule.kind,
            what: &rule.docs.what,
            why: &rule.docs.why,
            remediation: &rule.docs.remediation,
            references: &rule.docs.references,
        }
    }
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a RawValue,
    severity: &'static str,
    outcome: &'static str,
    /// Index into `subjects`.
    subject: u32,
    item: Option<&'a str>,
    message: &'a str,
    evidence: &'a RawValue,
    /// Stable across runs: rule id + subject ids + item (see `m365audit diff`).
    fingerprint: &'a str,
    /// Index into `sources`.
    source: usize,
    /// Waived findings: the waiver's reason, expiry and ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<serde_json::Value>,
    /// With `--baseline`: `new` or `unchanged` (failing and not-evaluated findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
}

/// The report's subjects in the order the findings first name them, and each finding's index
/// into them. Subjects are compared by content: the findings about one app share one.
fn subjects<'a>(findings: &'a [Finding]) -> (Vec<JsonSubject<'a>>, Vec<u32>) {
    let mut list = Vec::new();
    let mut index: HashMap<JsonSubject<'a>, u32> = HashMap::new();
    // Consecutive findings are mostly about the same app: its `Arc` is checked first.
    let mut last: Option<(*const crate::finding::Subject, u32)> = None;
    let refs = findings
        .iter()
        .map(|f| {
            let ptr = std::sync::Arc::as_ptr(&f.subject);
            if let Some((p, i)) = last
                && p == ptr
            {
                return i;
            }
            let subject = JsonSubject::new(&f.subject);
            let i = match index.entry(subject) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => {
                    let i = u32::try_from(list.len()).unwrap_or(u32::MAX);
                    list.push(JsonSubject::new(&f.subject));
                    *e.insert(i)
                }
            };
            last = Some((ptr, i));
            i
        })
        .collect();
    (list, refs)
}

pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    write_head(out, &Head::new(SCHEMA, report))?;
    let rules: serde_json::Map<String, serde_json::Value> = report
        .rules
        .rules
        .iter()
        .map(|rule| Ok((rule.id.clone(), serde_json::to_value(JsonRule::new(rule))?)))
        .collect::<serde_json::Result<_>>()?;
    write_members(out, &serde_json::json!({ "rules": rules }))?;
    let (subjects, refs) = subjects(&report.findings);
    out.write_all(b",\n  \"subjects\": ")?;
    write_array(out, &subjects, |s, buf| {
        serde_json::to_writer(buf, s).map_err(io::Error::from)
    })?;
    drop(subjects);
    let ids = rule_ids(report.rules)?;
    let rows: Vec<(&Finding, u32)> = report.findings.iter().zip(refs).collect();
    out.write_all(b",\n  \"findings\": ")?;
    write_array(out, &rows, |&(f, subject), buf| {
        let (evidence, waiver) = evidence_and_waiver(f)?;
        let finding = JsonFinding {
            rule_id: &ids[f.rule],
            severity: f.severity.as_str(),
            outcome: f.outcome.as_str(),
            subject,
            item: f.item.as_deref(),
            message: &f.message,
            evidence: &evidence,
            fingerprint: &f.fingerprint,
            source: f.source,
            waiver,
            change: report.change(f),
        };
        serde_json::to_writer(buf, &finding).map_err(io::Error::from)
    })?;
    write_members(out, &Tail::new(report.changes.as_ref(), &report.waivers))?;
    out.write_all(b"\n}\n")
}
