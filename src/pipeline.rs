//! The streamed scan of an export folder: the one place where reading, the model and the
//! engine meet. [`source::load_streaming`](crate::source::load_streaming) parses
//! `applications.json` on its own thread and hands over batches of raw app registrations;
//! [`evaluate_stream`] builds each batch into apps and evaluates it on whichever core is
//! free, then finishes the tenant.

use std::collections::HashSet;
use std::sync::mpsc::Receiver;

use rayon::prelude::*;

use crate::engine::eval::{APPS_PER_TASK, Run};
use crate::engine::{EvalOptions, Evaluation, RuleSet};
use crate::model::{App, Builder, Catalog, TenantInfo};
use crate::snapshot::{RawApplication, Snapshot};

/// Apps per batch of a stream: as [`APPS_PER_TASK`], a batch is one parallel task.
pub const STREAM_BATCH: usize = APPS_PER_TASK;

/// [`evaluate`](crate::engine::evaluate) for a tenant whose app registrations are still being read: `snapshot` has
/// everything else, `batches` the raw app registrations in file order (see
/// [`crate::source::load_streaming`]). Each batch is built and evaluated as it arrives, on
/// whichever core is free, and its raw form freed; the tenant is finished after the last.
/// The findings are those [`evaluate`](crate::engine::evaluate) gives for the whole snapshot.
///
/// Built apps are kept only if a tenant-level check reads them
/// ([`TenantCheck::reads_apps`](crate::checks::TenantCheck::reads_apps)): for a large
/// tenant they are most of the memory.
///
/// `summarize` sees every app and finding once, a [`Part`] at a time (in parallel), before
/// the batch is dropped: what a caller needs of all apps (the HTML overview's counts)
/// without keeping them, or the findings written as they come (`--format jsonl`), which it
/// may take. Its results are in file order, the last part's (the unregistered service
/// principals and the tenant-level rules) last.
pub fn evaluate_stream<S: Send>(
    rules: &RuleSet,
    snapshot: &Snapshot,
    batches: Receiver<Vec<RawApplication>>,
    source: usize,
    opts: &EvalOptions,
    catalog: &Catalog,
    summarize: impl Fn(Part<'_>) -> S + Sync,
) -> StreamedScan<S> {
    let run = Run {
        rules,
        source,
        opts,
        catalog,
    };
    let keep_apps = run.keeps_apps();
    let builder = Builder::new(snapshot, catalog);
    let scope = run.scope(
        &builder.info,
        &builder.missing,
        &builder.exchange,
        &builder.policies,
    );
    let mut done: Vec<Batch<S>> = batches
        .into_iter()
        .enumerate()
        .par_bridge()
        .map(|(index, raw)| {
            let apps: Vec<App> = raw.iter().map(|raw| builder.app(raw)).collect();
            drop(raw);
            let mut evaluation = scope.apps_here(&apps);
            let app_ids = apps.iter().filter_map(|a| a.app_id.clone()).collect();
            let summary = summarize(Part {
                index,
                apps: &apps,
                info: &builder.info,
                evaluation: &mut evaluation,
            });
            Batch {
                index,
                summary,
                count: apps.len(),
                apps: if keep_apps { apps } else { Vec::new() },
                app_ids,
                evaluation,
            }
        })
        .collect();
    // Batches finish in any order: put them back in file order.
    done.sort_unstable_by_key(|b| b.index);
    let registered_count: usize = done.iter().map(|b| b.count).sum();
    let mut apps = Vec::with_capacity(done.iter().map(|b| b.apps.len()).sum());
    let mut registered = HashSet::with_capacity(registered_count);
    let mut parts = Vec::with_capacity(done.len());
    let mut summaries = Vec::with_capacity(done.len() + 1);
    for batch in done {
        summaries.push(batch.summary);
        apps.extend(batch.apps);
        registered.extend(batch.app_ids);
        parts.push(batch.evaluation);
    }
    let mut result = Evaluation::concat(parts);
    let kept = apps.len();
    let tenant = builder.finish(apps, registered);
    let scope = run.scope(
        &tenant.info,
        &tenant.missing,
        &tenant.exchange,
        &tenant.policies,
    );
    // The service principals without an app registration, then the tenant-level rules.
    let enterprise = tenant.apps.len() - kept;
    let mut last = scope.apps(&tenant.apps[kept..]);
    // Without kept registrations the tenant's apps are its unregistered service principals
    // only, which tenant checks may read whatever `reads_apps` says.
    scope.tenant(&tenant, &mut last);
    summaries.push(summarize(Part {
        index: summaries.len(),
        apps: &tenant.apps[kept..],
        info: &tenant.info,
        evaluation: &mut last,
    }));
    result.append(last);
    StreamedScan {
        apps: registered_count + enterprise,
        info: tenant.info,
        evaluation: result,
        summaries,
    }
}

/// What `summarize` sees of a stream: a batch of apps and their findings, numbered from 0
/// in file order; the last part is the service principals without an app registration and
/// the tenant-level findings.
pub struct Part<'a> {
    pub index: usize,
    pub apps: &'a [App],
    pub info: &'a TenantInfo,
    /// The part's findings: `summarize` may take them (they are then not in the result),
    /// but must leave `passed`.
    pub evaluation: &'a mut Evaluation,
}

/// One batch of a stream, built and evaluated.
struct Batch<S> {
    index: usize,
    summary: S,
    count: usize,
    /// Empty unless apps are kept.
    apps: Vec<App>,
    app_ids: Vec<String>,
    evaluation: Evaluation,
}

/// What [`evaluate_stream`] gives: the tenant's facts and app count, and the findings.
#[derive(Debug)]
pub struct StreamedScan<S> {
    pub info: TenantInfo,
    /// App registrations and the service principals evaluated with them.
    pub apps: usize,
    pub evaluation: Evaluation,
    /// What `summarize` gave, batch by batch.
    pub summaries: Vec<S>,
}
