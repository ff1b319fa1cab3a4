//! `m365audit scan`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use chrono::Utc;

use super::{CommandError, collect, exit, scan_source, write_atomically};
use crate::cli::{ColorChoice, ScanArgs};
use crate::config::Config;
use crate::engine::Evaluation;
use crate::finding::Severity;
use crate::plan::Facts;
use crate::report::overview::Overview;
use crate::report::{self, Format, Report, folder};

/// The formats written to the reports folder.
fn report_formats(args: &ScanArgs, config: &Config) -> Vec<Format> {
    if !args.report_format.is_empty() {
        args.report_format.clone()
    } else if !config.reports.formats.is_empty() {
        config.reports.formats.clone()
    } else {
        vec![Format::Json, Format::Csv]
    }
}

pub fn run(args: ScanArgs) -> Result<u8, CommandError> {
    // Read the baseline first: a bad one is a usage error, before any collection.
    let prior = match &args.baseline {
        Some(path) => Some(crate::report::baseline::load(path).map_err(CommandError::Input)?),
        None => None,
    };
    let setup = super::Setup::load(&args.eval, args.include_passed)?;
    let fail_on = args.fail_on.or(setup.config.scan.fail_on);
    let fail_on_new = args.fail_on_new.or(setup.config.scan.fail_on_new);
    let report_dir = args.report_dir.clone().or_else(|| {
        setup
            .config
            .reports
            .dir
            .as_ref()
            .map(|d| setup.base.join(d))
    });
    // A malformed store URL is a usage error, found before any scanning.
    let store = if args.no_store {
        None
    } else {
        super::store::choose(
            &args.store,
            &setup.config,
            &setup.base,
            report_dir.as_deref(),
        )?
    };
    if args.all_tenants {
        return super::tenants::run(&args, &setup.config, &setup.base);
    }
    let super::Setup {
        config,
        catalog,
        rules,
        opts,
        ..
    } = &setup;
    let configured = setup.configured_sources();
    let source_paths: &[PathBuf] = if args.eval.sources.is_empty() && args.tenant.is_none() {
        if configured.is_empty() {
            return Err(CommandError::Input(
                "no SOURCE: name an export folder or file, use --tenant, or set [scan] sources in m365audit.toml".into(),
            ));
        }
        &configured
    } else {
        &args.eval.sources
    };

    // `--tenant`: collect first, then scan the snapshot with the other sources.
    let live = match (&args.tenant, &args.client_id) {
        (Some(tenant), Some(client_id)) => Some(LiveSnapshot::collect(tenant, client_id, &args)?),
        _ => None,
    };
    let paths: Vec<&std::path::Path> = live
        .iter()
        .map(|l| l.dir.as_path())
        .chain(source_paths.iter().map(|p| p.as_path()))
        .collect();
    if args.format == Format::JsonV1 {
        eprintln!(
            "warning: --format json-v1 is deprecated and will be removed in the next release: read `m365audit/findings/v2` (--format json) or JSON Lines (--format jsonl)"
        );
    }

    // JSON Lines alone is written as the apps are evaluated, without holding the findings.
    if args.format == Format::Jsonl && report_dir.is_none() && store.is_none() {
        let baseline = prior.zip(args.baseline.as_ref().map(|p| p.display().to_string()));
        let streamed = super::stream::run(
            &setup,
            &paths,
            baseline.map(|(prior, path)| (path, prior)),
            args.output.as_deref(),
        )?;
        return Ok(conclude(
            &args,
            streamed.failed_inputs,
            (fail_on, streamed.worst_failure),
            (fail_on_new, streamed.worst_new_failure),
            streamed.compared,
        ));
    }

    // The HTML report opens with pictures of every app: counted as the apps are read.
    let folder_formats = report_formats(&args, config);
    let wants_overview = args.format == Format::Html
        || (args.report_dir.is_some() || config.reports.dir.is_some())
            && folder_formats.contains(&Format::Html);
    let mut overview = wants_overview.then(|| (Overview::new(opts.as_of), Vec::new()));
    let mut sources = Vec::with_capacity(paths.len());
    let mut evaluation = Evaluation::default();
    for (index, path) in paths.iter().enumerate() {
        // Besides the counts, the facts of every app: the overview's first action plan rows.
        let (summary, result, parts) = scan_source(path, catalog, rules, index, opts, |part| {
            wants_overview.then(|| {
                let mut counts = Overview::new(opts.as_of);
                let mut facts = Vec::with_capacity(part.apps.len());
                for app in part.apps {
                    counts.add(app, catalog);
                    facts.push(Facts::of(app, opts.as_of, catalog).in_source(index));
                }
                (counts, facts)
            })
        });
        if let Some((overview, all_facts)) = &mut overview {
            for (counts, facts) in parts.into_iter().flatten() {
                overview.merge(counts);
                all_facts.extend(facts);
            }
        }
        if let Some(result) = result {
            // One source (the usual case) moves its findings: copying a large scan's
            // findings would briefly hold them twice.
            evaluation.append(result);
        }
        sources.push(summary);
    }
    let Evaluation {
        mut findings,
        passed,
    } = evaluation;
    let failed_inputs: usize = sources.iter().map(|s| s.errors.len()).sum();
    let waivers = setup.apply_waivers(&mut findings);
    let mut laps = super::timings::Laps::start();
    // The overview's plan is the `plan` command's, from the same findings and facts.
    let overview = overview.map(|(mut counts, facts)| {
        let tenants: Vec<Option<String>> = sources.iter().map(|s| s.tenant.clone()).collect();
        counts.plan = Some(crate::plan::build(
            facts,
            &findings,
            rules,
            &tenants,
            Some(crate::report::overview::PLAN_ROWS),
        ));
        counts
    });
    if overview.is_some() {
        laps.lap("action plan");
    }
    let mut report = Report::new(
        rules,
        sources,
        findings,
        passed,
        opts.as_of,
        Utc::now(),
        args.include_passed,
    );
    if let (Some(prior), Some(path)) = (prior, &args.baseline) {
        report.compare(path.display().to_string(), prior);
    }
    report.waivers = waivers;
    report.overview = overview;
    report.csv_columns = args.csv_columns.clone();
    laps.lap("report");

    // The reports folder: compared with the previous run there unless --baseline is given.
    let tenant_folder = if let Some(name) = &args.report_name {
        folder::tenant_folder(Some(name))
    } else {
        let tenants: std::collections::BTreeSet<Option<&str>> =
            report.sources.iter().map(|s| s.tenant.as_deref()).collect();
        match tenants.len() {
            1 => folder::tenant_folder(tenants.into_iter().next().flatten()),
            _ => "combined".to_string(),
        }
    };
    if let Some(dir) = &report_dir
        && args.baseline.is_none()
    {
        let previous = folder::previous(dir, &tenant_folder, crate::report::baseline::load)
            .map_err(|e| {
                CommandError::Runtime(format!(
                    "{}: cannot read the previous run: {e}",
                    dir.join(&tenant_folder).display()
                ))
            })?;
        if let Some((path, prior)) = previous {
            report.compare(
                path.display().to_string(),
                prior.map_err(CommandError::Input)?,
            );
        }
    }
    // The store is opened before anything is written, so that the HTML report can show the
    // tenant's trend; if it cannot be opened, the reports are still written.
    let wants_trend = args.format == Format::Html
        || report_dir.is_some() && folder_formats.contains(&Format::Html);
    let mut opened = store.as_ref().map(|s| s.open());
    if let (true, Some(Ok(store))) = (wants_trend, &mut opened) {
        match store.trend(&tenant_folder, TREND_RUNS - 1) {
            Ok(mut runs) => {
                let this = crate::store::RunRecord::from_report(&report, &tenant_folder, None);
                runs.push(this.row());
                report.trend = Some(runs);
            }
            Err(e) => eprintln!("warning: no trend in the HTML report: {e}"),
        }
    }
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && args.format == Format::Table
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    match &args.output {
        Some(path) => write_atomically(path, |w| report::write(&report, args.format, w, color))?,
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let written = report::write(&report, args.format, &mut stdout, color)
                .and_then(|()| stdout.flush());
            // A closed pipe (`| head`) is not an error worth a message.
            if let Err(e) = written
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(CommandError::Runtime(format!(
                    "cannot write to standard output: {e}"
                )));
            }
        }
    }

    laps.lap("write");

    // A partial scan must not resolve the findings of the inputs it could not read.
    let mut record = |folder: Option<&std::path::Path>| match opened.take() {
        Some(_) if failed_inputs > 0 => Some(Err(format!(
            "not updated: {failed_inputs} input file(s) could not be read, and a partial scan would mark their findings resolved"
        ))),
        Some(Ok(mut store)) => {
            let mut laps = super::timings::Laps::start();
            let recorded = store
                .record(&crate::store::RunRecord::from_report(
                    &report,
                    &tenant_folder,
                    folder,
                ))
                .map_err(|e| e.to_string());
            laps.lap("store");
            Some(recorded)
        }
        Some(Err(e)) => Some(Err(e.to_string())),
        None => None,
    };
    let recorded = if let Some(dir) = &report_dir {
        let formats = folder_formats;
        let keep = args.keep.or(config.reports.keep).map(|k| k as usize);
        // Recorded while the tenant's folder is locked: the store's latest run and `latest/`
        // are the same run.
        let (written, recorded) =
            folder::write_and(&report, dir, &tenant_folder, &formats, keep, |w| {
                record(Some(&w.run))
            })
            .map_err(|e| {
                CommandError::Runtime(format!(
                    "{}: cannot write the report folder: {e}",
                    dir.display()
                ))
            })?;
        eprintln!("wrote {}", written.run.display());
        if written.removed > 0 {
            eprintln!("removed {} older run(s) (--keep)", written.removed);
        }
        recorded
    } else {
        record(None)
    };
    let store_failed = match (&store, recorded) {
        (Some(store), Some(Ok(r))) => {
            eprintln!(
                "store {}: recorded run {} of {tenant_folder}: {} new, {} resolved, {} reopened{}",
                store.shown(),
                r.run_id,
                r.opened,
                r.resolved,
                r.reopened,
                if r.held > 0 {
                    format!(
                        "; {} kept open, their rule not evaluated in this run",
                        r.held
                    )
                } else {
                    String::new()
                }
            );
            false
        }
        (Some(store), Some(Err(e))) => {
            eprintln!("error: store {}: {e}", store.shown());
            true
        }
        _ => false,
    };

    let (worst, worst_new) = (report.worst_failure(), report.worst_new_failure());
    let compared = report.changes.is_some();
    // The process exits next: freeing a large report's many small allocations one by one
    // would only delay that (several percent of a 100k-app scan).
    std::mem::forget(report);
    let code = conclude(
        &args,
        failed_inputs,
        (fail_on, worst),
        (fail_on_new, worst_new),
        compared,
    );
    // The reports are written; a store that could not record the run fails the run, unless
    // bad input already did.
    Ok(if store_failed && code != exit::INPUT {
        exit::RUNTIME
    } else {
        code
    })
}

/// Runs the HTML report's trend shows, this one included.
const TREND_RUNS: usize = 30;

/// The exit code, and what standard error says about it: unreadable inputs, then the
/// `--fail-on` and `--fail-on-new` thresholds against the worst failing and worst new
/// failing finding.
fn conclude(
    args: &ScanArgs,
    failed_inputs: usize,
    (fail_on, worst): (Option<Severity>, Option<Severity>),
    (fail_on_new, worst_new): (Option<Severity>, Option<Severity>),
    compared: bool,
) -> u8 {
    if failed_inputs > 0 {
        eprintln!(
            "error: {failed_inputs} input file(s) could not be read (above); the report covers everything else"
        );
        return exit::INPUT;
    }
    let over = |threshold: Option<Severity>, worst: Option<Severity>| matches!((threshold, worst), (Some(t), Some(w)) if w >= t);
    if fail_on_new.is_some() && !compared {
        eprintln!(
            "warning: --fail-on-new has nothing to compare with (no --baseline, and no earlier run in a reports folder): no finding counts as new"
        );
    }
    let threshold_met = over(fail_on, worst) || over(fail_on_new, worst_new);
    if threshold_met && args.no_exit_codes {
        eprintln!("note: the --fail-on threshold is met; exit 0 because of --no-exit-codes");
    }
    if threshold_met && !args.no_exit_codes {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// A snapshot collected for this scan: kept with `--keep-snapshot`, otherwise in a temporary
/// folder removed when the scan is done.
struct LiveSnapshot {
    dir: std::path::PathBuf,
    temporary: bool,
}

impl LiveSnapshot {
    fn collect(tenant: &str, client_id: &str, args: &ScanArgs) -> Result<Self, CommandError> {
        let (dir, temporary) = match &args.keep_snapshot {
            Some(dir) => (dir.clone(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "m365audit-snapshot-{}-{}",
                    std::process::id(),
                    Utc::now().timestamp_millis()
                )),
                true,
            ),
        };
        let summary = collect::collect_to(tenant, client_id, &args.live, &dir, false)?;
        eprintln!("collected {summary}");
        if !temporary {
            eprintln!("kept the snapshot in {}", dir.display());
        }
        Ok(LiveSnapshot { dir, temporary })
    }
}

impl Drop for LiveSnapshot {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
