//! `m365audit/findings-jsonl/v1` (`--format jsonl`): JSON Lines, the shape SIEMs ingest.
//!
//! - the first line, `"type": "header"`: schema, tool version, audit instant, the sources'
//!   paths, and each rule's slug, title and severity (its longer text is in `explain` and the
//!   JSON report);
//! - a line per finding, `"type": "finding"`, self-contained: the audit instant, the tenant,
//!   the rule id, the subject in full, message, evidence, fingerprint;
//! - the last line, `"type": "summary"`: each source as read (kind, tenant, app count,
//!   errors), the counts, and the baseline comparison and waivers when there are any.
//!
//! `scan --format jsonl` writes finding lines as the apps are evaluated, in the order they
//! are read ([`Ordered`] puts the parallel batches back in order), so memory does not grow
//! with the number of findings. Written with other formats (a reports folder), it takes the
//! other reports' order.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::value::{RawValue, to_raw_value as raw};

use super::{Counts, JsonSubject, Source, Tail, evidence_and_waiver, rule_ids};
use crate::engine::RuleSet;
use crate::engine::waiver::WaiverStatus;
use crate::finding::{Finding, Subject};
use crate::report::baseline::{Change, Changes};
use crate::report::{Report, SourceSummary, Summary};

const SCHEMA: &str = crate::report::schema_id::FINDINGS_JSONL_V1;

#[derive(Serialize)]
struct Header<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: &'static str,
    tool_version: &'a str,
    as_of: &'a str,
    generated_at: String,
    sources: &'a [String],
    rules: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
struct RuleLabel<'a> {
    slug: &'a str,
    title: &'a str,
    severity: &'static str,
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    as_of: &'a str,
    tenant: Option<&'a str>,
    /// Index into the header's `sources`.
    source: usize,
    rule_id: &'a RawValue,
    severity: &'static str,
    outcome: &'static str,
    subject: &'a RawValue,
    item: Option<&'a str>,
    message: &'a str,
    evidence: &'a RawValue,
    fingerprint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<Change>,
}

#[derive(Serialize)]
struct Closing<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sources: Vec<Source<'a>>,
    summary: Counts,
    #[serde(flatten)]
    tail: Tail<'a>,
}

/// What every finding line repeats, serialized once.
pub struct Lines {
    as_of: String,
    rule_ids: Vec<Box<RawValue>>,
}

impl Lines {
    pub fn new(rules: &RuleSet, as_of: chrono::DateTime<chrono::Utc>) -> io::Result<Lines> {
        Ok(Lines {
            as_of: crate::dates::rfc3339(as_of),
            rule_ids: rule_ids(rules)?,
        })
    }

    /// The first line.
    pub fn header(
        &self,
        out: &mut dyn Write,
        rules: &RuleSet,
        generated_at: chrono::DateTime<chrono::Utc>,
        sources: &[String],
    ) -> io::Result<()> {
        let header = Header {
            kind: "header",
            schema: SCHEMA,
            tool_version: env!("CARGO_PKG_VERSION"),
            as_of: &self.as_of,
            generated_at: crate::dates::rfc3339(generated_at),
            sources,
            rules: rules
                .rules
                .iter()
                .map(|r| {
                    let label = RuleLabel {
                        slug: &r.slug,
                        title: &r.title,
                        severity: r.severity.as_str(),
                    };
                    Ok((r.id.clone(), serde_json::to_value(label)?))
                })
                .collect::<serde_json::Result<_>>()?,
        };
        serde_json::to_writer(&mut *out, &header)?;
        out.write_all(b"\n")
    }

    /// A writer of finding lines that serializes each subject once for the findings that
    /// follow it about the same subject (an app's findings are consecutive).
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            lines: self,
            last: None,
        }
    }

    /// The last line.
    pub fn summary(
        out: &mut dyn Write,
        sources: &[SourceSummary],
        summary: &Summary,
        changes: Option<&Changes>,
        waivers: &[WaiverStatus],
    ) -> io::Result<()> {
        let closing = Closing {
            kind: "summary",
            sources: sources.iter().map(Source::new).collect(),
            summary: Counts::new(summary),
            tail: Tail::new(changes, waivers),
        };
        serde_json::to_writer(&mut *out, &closing)?;
        out.write_all(b"\n")
    }
}

/// Writes finding lines: see [`Lines::cursor`].
pub struct Cursor<'a> {
    lines: &'a Lines,
    /// The last subject written, and its text.
    last: Option<(*const Subject, Box<RawValue>)>,
}

impl Cursor<'_> {
    /// Appends a finding's line to `buf`. `tenant`: its source's tenant id.
    pub fn finding(
        &mut self,
        f: &Finding,
        tenant: Option<&str>,
        change: Option<Change>,
        buf: &mut Vec<u8>,
    ) -> io::Result<()> {
        let ptr = Arc::as_ptr(&f.subject);
        let subject = match &self.last {
            Some((p, text)) if *p == ptr => text,
            _ => {
                let text = raw(&JsonSubject::new(&f.subject))?;
                &self.last.insert((ptr, text)).1
            }
        };
        let (evidence, waiver) = evidence_and_waiver(f)?;
        let line = Line {
            kind: "finding",
            as_of: &self.lines.as_of,
            tenant,
            source: f.source,
            rule_id: &self.lines.rule_ids[f.rule],
            severity: f.severity.as_str(),
            outcome: f.outcome.as_str(),
            subject,
            item: f.item.as_deref(),
            message: &f.message,
            evidence: &evidence,
            fingerprint: &f.fingerprint,
            waiver,
            change,
        };
        serde_json::to_writer(&mut *buf, &line)?;
        buf.push(b'\n');
        Ok(())
    }
}

/// The whole report as JSON Lines, in the report's order.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let lines = Lines::new(report.rules, report.as_of)?;
    let paths: Vec<String> = report.sources.iter().map(|s| s.path.clone()).collect();
    lines.header(out, report.rules, report.generated_at, &paths)?;
    let tenants: Vec<Option<&str>> = report.sources.iter().map(|s| s.tenant.as_deref()).collect();
    super::write_chunks(out, &report.findings, |f, buf| {
        let tenant = tenants.get(f.source).copied().flatten();
        lines.cursor().finding(f, tenant, report.change(f), buf)
    })?;
    Lines::summary(
        out,
        &report.sources,
        &report.summary,
        report.changes.as_ref(),
        &report.waivers,
    )
}

/// Writes numbered parts made in parallel in their numbers' order: a part that comes early
/// waits until those before it are written. Numbering restarts at 0 with [`Ordered::restart`]
/// (the next source). The first write error is kept and returned by [`Ordered::finish`];
/// parts after it are dropped.
pub struct Ordered<W> {
    state: Mutex<OrderedState<W>>,
}

struct OrderedState<W> {
    out: W,
    next: usize,
    pending: BTreeMap<usize, Vec<u8>>,
    error: Option<io::Error>,
}

impl<W: Write> Ordered<W> {
    pub fn new(out: W) -> Self {
        Ordered {
            state: Mutex::new(OrderedState {
                out,
                next: 0,
                pending: BTreeMap::new(),
                error: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OrderedState<W>> {
        // A panic while holding the lock leaves whole parts written: the state stays usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Part `index`'s bytes.
    pub fn put(&self, index: usize, bytes: Vec<u8>) {
        let mut s = self.lock();
        s.pending.insert(index, bytes);
        while let Some(bytes) = {
            let next = s.next;
            s.pending.remove(&next)
        } {
            s.next += 1;
            if s.error.is_none()
                && let Err(e) = s.out.write_all(&bytes)
            {
                s.error = Some(e);
            }
        }
    }

    /// Number the next parts from 0 again. Parts still waiting (a gap in the numbers) are
    /// written first, in order.
    pub fn restart(&self) {
        let mut s = self.lock();
        let waiting = std::mem::take(&mut s.pending);
        for bytes in waiting.into_values() {
            if s.error.is_none()
                && let Err(e) = s.out.write_all(&bytes)
            {
                s.error = Some(e);
            }
        }
        s.next = 0;
    }

    /// The writer, or the first write error.
    pub fn finish(self) -> io::Result<W> {
        self.restart();
        let s = self.state.into_inner().unwrap_or_else(|e| e.into_inner());
        match s.error {
            Some(e) => Err(e),
            None => Ok(s.out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ordered;

    #[test]
    fn parts_are_written_in_order_whatever_order_they_come_in() {
        let ordered = Ordered::new(Vec::new());
        ordered.put(2, b"c".to_vec());
        ordered.put(0, b"a".to_vec());
        ordered.put(1, b"b".to_vec());
        ordered.restart();
        ordered.put(1, b"e".to_vec());
        ordered.put(0, b"d".to_vec());
        assert_eq!(ordered.finish().expect("no error"), b"abcde");
    }
}
