//! `scan --format jsonl` without a reports folder: findings written as each batch of apps is
//! evaluated, so memory does not grow with their number. Waivers and the baseline are
//! applied batch by batch; the counts go in the closing summary line.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;

use super::{CommandError, Setup, scan_source, write_atomically};
use crate::engine::waiver::{self, WaiverStatus};
use crate::finding::{Outcome, Severity};
use crate::report::baseline::{Change, Changes, Prior};
use crate::report::json::lines::{Lines, Ordered};
use crate::report::{SourceSummary, Summary};

/// What a streamed scan found, for the exit code.
pub(super) struct Streamed {
    pub failed_inputs: usize,
    pub worst_failure: Option<Severity>,
    pub worst_new_failure: Option<Severity>,
    /// Whether there was a baseline to compare with.
    pub compared: bool,
}

/// One part's counts.
#[derive(Default)]
struct Tally {
    summary: Summary,
    worst_failure: Option<Severity>,
    worst_new_failure: Option<Severity>,
    new: usize,
    unchanged: usize,
    /// The earlier findings seen again (only with a baseline).
    seen: HashSet<String>,
    waivers: Vec<WaiverStatus>,
    error: Option<io::Error>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.summary.add(&other.summary);
        self.worst_failure = self.worst_failure.max(other.worst_failure);
        self.worst_new_failure = self.worst_new_failure.max(other.worst_new_failure);
        self.new += other.new;
        self.unchanged += other.unchanged;
        self.seen.extend(other.seen);
        waiver::merge(&mut self.waivers, other.waivers);
        self.error = self.error.take().or(other.error);
    }
}

/// Scans `paths` one after the other, writing JSON Lines to `output` (standard output if
/// `None`).
pub(super) fn run(
    setup: &Setup,
    paths: &[&Path],
    baseline: Option<(String, Vec<Prior>)>,
    output: Option<&Path>,
) -> Result<Streamed, CommandError> {
    let Setup {
        config,
        catalog,
        rules,
        opts,
        ..
    } = setup;
    let lines = Lines::new(rules, opts.as_of).map_err(runtime)?;
    let mut changes = baseline.map(|(path, prior)| Changes::start(path, prior));
    let mut total = Tally::default();
    let mut sources: Vec<SourceSummary> = Vec::with_capacity(paths.len());
    let mut passed = 0;
    let mut render = |w: &mut (dyn Write + Send)| -> io::Result<()> {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        lines.header(w, rules, Utc::now(), &shown)?;
        let ordered = Ordered::new(&mut *w);
        let known = changes.as_ref();
        for (index, path) in paths.iter().enumerate() {
            let parts = AtomicUsize::new(0);
            let (summary, result, tallies) =
                scan_source(path, catalog, rules, index, opts, |part| {
                    parts.fetch_add(1, Ordering::Relaxed);
                    let mut findings = std::mem::take(&mut part.evaluation.findings);
                    let mut tally = Tally {
                        waivers: waiver::apply(&config.waivers, &mut findings, rules, opts.as_of),
                        ..Tally::default()
                    };
                    let tenant = part.info.tenant.as_deref();
                    let mut buf = Vec::with_capacity(findings.len() * 512);
                    let mut cursor = lines.cursor();
                    for f in &findings {
                        let change = known
                            .filter(|_| f.outcome != Outcome::Pass)
                            .map(|c| c.change(&f.fingerprint));
                        tally.summary.count(f);
                        if f.outcome == Outcome::Fail {
                            tally.worst_failure = tally.worst_failure.max(Some(f.severity));
                            if change == Some(Change::New) {
                                tally.worst_new_failure =
                                    tally.worst_new_failure.max(Some(f.severity));
                            }
                        }
                        match change {
                            Some(Change::New) => tally.new += 1,
                            Some(Change::Unchanged) => {
                                tally.unchanged += 1;
                                tally.seen.insert(f.fingerprint.clone());
                            }
                            None => {}
                        }
                        if let Err(e) = cursor.finding(f, tenant, change, &mut buf) {
                            tally.error.get_or_insert(e);
                        }
                    }
                    ordered.put(part.index, buf);
                    tally
                });
            // The next source numbers its parts from 0.
            ordered.restart();
            // More parts than the result has: applications.json was read a second time, whole,
            // after its streaming stopped part-way, and the first reading's lines are out.
            if parts.into_inner() > tallies.len() {
                eprintln!(
                    "warning: {}: applications.json was read twice (its streaming stopped part-way); the JSON Lines of this source may repeat findings: use --format json for it",
                    path.display()
                );
            }
            for tally in tallies {
                total.add(tally);
            }
            if let Some(result) = result {
                passed += result.passed;
            }
            sources.push(summary);
        }
        let w = ordered.finish()?;
        if let Some(e) = total.error.take() {
            return Err(e);
        }
        // The summary of no findings (apps, rules, passes), then the parts' counts.
        let mut summary = Summary::new(rules, &sources, &[], passed);
        summary.add(&total.summary);
        if let Some(c) = &mut changes {
            c.settle(total.new, total.unchanged, &total.seen);
        }
        let waivers = if total.waivers.is_empty() {
            // No part at all (every source unreadable): the waivers matched nothing.
            waiver::apply(&config.waivers, &mut [], rules, opts.as_of)
        } else {
            std::mem::take(&mut total.waivers)
        };
        Lines::summary(w, &sources, &summary, changes.as_ref(), &waivers)?;
        setup.warn_waivers(&waivers);
        Ok(())
    };
    match output {
        Some(path) => write_atomically(path, render)?,
        None => {
            let mut stdout = io::BufWriter::new(io::stdout());
            let written = render(&mut stdout).and_then(|()| stdout.flush());
            // A closed pipe (`| head`) is not an error worth a message.
            if let Err(e) = written
                && e.kind() != io::ErrorKind::BrokenPipe
            {
                return Err(CommandError::Runtime(format!(
                    "cannot write to standard output: {e}"
                )));
            }
        }
    }
    Ok(Streamed {
        failed_inputs: sources.iter().map(|s| s.errors.len()).sum(),
        worst_failure: total.worst_failure,
        worst_new_failure: total.worst_new_failure,
        compared: changes.is_some(),
    })
}

fn runtime(e: io::Error) -> CommandError {
    CommandError::Runtime(e.to_string())
}
