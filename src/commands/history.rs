//! `m365audit history` and `history prune`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Utc;

use super::store::{self, Chosen};
use super::{CommandError, exit, write_atomically};
use crate::cli::{HistoryArgs, HistoryCommand, PruneArgs, StorePlace};
use crate::config::Config;
use crate::report::history::{self, HistoryFormat, View};
use crate::store::history::Filter;

pub fn run(args: HistoryArgs) -> Result<u8, CommandError> {
    if let Some(HistoryCommand::Prune(prune_args)) = args.command {
        return prune(prune_args);
    }
    if args.format == HistoryFormat::Csv && args.view == View::All {
        return Err(CommandError::Input(
            "CSV holds one table: choose a view with --view (runs, open, reopened, resolved, mttr)"
                .into(),
        ));
    }
    let chosen = locate(&args.place)?;
    let mut store = open(&chosen)?;
    let filter = Filter {
        tenant: args.tenant.clone(),
        since: args.since,
    };
    let mut shown = store
        .history(&filter)
        .map_err(|e| CommandError::Runtime(format!("store {}: {e}", chosen.shown())))?;
    shown.store = chosen.shown();
    if let Some(t) = &args.tenant
        && shown.runs.is_empty()
        && shown.open.is_empty()
        && args.since.is_none()
    {
        eprintln!(
            "warning: the store has no runs of tenant {t:?} (`m365audit history` without --tenant lists every tenant's)"
        );
    }
    match &args.output {
        Some(path) => {
            write_atomically(path, |w| history::write(&shown, args.format, args.view, w))?
        }
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let written = history::write(&shown, args.format, args.view, &mut stdout)
                .and_then(|()| stdout.flush());
            if let Err(e) = written
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(CommandError::Runtime(format!(
                    "cannot write to standard output: {e}"
                )));
            }
        }
    }
    Ok(exit::OK)
}

fn prune(args: PruneArgs) -> Result<u8, CommandError> {
    let chosen = locate(&args.place)?;
    let mut store = open(&chosen)?;
    // A maintenance command, not a check: the wall clock is the natural default here.
    let as_of = args.as_of.unwrap_or_else(Utc::now);
    let cutoff = as_of - chrono::Duration::days(i64::from(args.keep_days));
    let pruned = store
        .prune(cutoff)
        .map_err(|e| CommandError::Runtime(format!("store {}: {e}", chosen.shown())))?;
    println!(
        "store {}: deleted {} run(s), {} resolution(s) and {} resolved finding(s) from before {}; open findings are kept",
        chosen.shown(),
        pruned.runs,
        pruned.resolutions,
        pruned.findings,
        crate::dates::rfc3339(cutoff)
    );
    Ok(exit::OK)
}

/// The store `--store`, `[store]` or the reports folder names; there must be one.
fn locate(place: &StorePlace) -> Result<Chosen, CommandError> {
    let config =
        Config::find(place.config.as_deref()).map_err(|e| CommandError::Input(e.to_string()))?;
    let base = config
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let report_dir: Option<PathBuf> = place
        .report_dir
        .clone()
        .or_else(|| config.reports.dir.as_ref().map(|d| base.join(d)));
    let chosen = store::choose(&place.store, &config, &base, report_dir.as_deref())?
        .ok_or_else(|| {
            CommandError::Input(
                "no findings store: give --store URL or --report-dir DIR, or set [store] url or [reports] dir in m365audit.toml".into(),
            )
        })?;
    // Reading must not create an empty SQLite file where the admin mistyped a path.
    if let crate::store::Location::Sqlite(path) = &chosen.location
        && !path.is_file()
    {
        return Err(CommandError::Input(format!(
            "{}: no findings store here yet (a `scan --report-dir` or `scan --store` run creates it)",
            path.display()
        )));
    }
    Ok(chosen)
}

fn open(chosen: &Chosen) -> Result<crate::store::Store, CommandError> {
    chosen
        .open()
        .map_err(|e| CommandError::Runtime(format!("store {}: {e}", chosen.shown())))
}
