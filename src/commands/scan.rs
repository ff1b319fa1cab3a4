//! `m365audit scan`.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Utc};

use super::{CommandError, exit, load_rules, today, write_atomically};
use crate::checks::ScanInputs;
use crate::cli::{ColorChoice, ScanArgs};
use crate::engine::{EvalOptions, evaluate};
use crate::model::{self, Catalog};
use crate::report::{self, Format, Report, SourceSummary};
use crate::source;

pub fn run(args: ScanArgs) -> Result<u8, CommandError> {
    let catalog = Catalog::builtin().map_err(|e| CommandError::Runtime(e.to_string()))?;
    let mut rules = load_rules(&args.rule_dirs)?;
    if !args.only.is_empty() {
        rules.retain_ids(&args.only).map_err(CommandError::Input)?;
    }
    let opts = EvalOptions {
        as_of: args.as_of.unwrap_or_else(today),
        keep_passed: args.include_passed,
        inputs: ScanInputs {
            integration_mailboxes: args.mailboxes.clone(),
        },
    };

    let mut sources = Vec::with_capacity(args.sources.len());
    let mut findings = Vec::new();
    let mut passed = 0;
    let mut failed_inputs = 0;
    for (index, path) in args.sources.iter().enumerate() {
        match source::load(path) {
            Ok(mut loaded) => {
                let collected_at = loaded.snapshot.meta.collected_at;
                if let Some(stale) = staleness(collected_at, opts.as_of) {
                    loaded.warnings.push(format!("{}: {stale}", path.display()));
                }
                for w in &loaded.warnings {
                    eprintln!("warning: {w}");
                }
                for e in &loaded.errors {
                    eprintln!("error: {e}");
                }
                failed_inputs += loaded.errors.len();
                let tenant = model::build(&loaded.snapshot, &catalog);
                // The raw objects are no longer needed: free them before evaluation.
                drop(loaded.snapshot);
                let result = evaluate(&rules, &tenant, index, &opts);
                passed += result.passed;
                findings.extend(result.findings);
                sources.push(SourceSummary {
                    path: path.display().to_string(),
                    kind: Some(loaded.kind.as_str()),
                    tenant: tenant.info.tenant.clone(),
                    collected_at,
                    apps: tenant.apps.len(),
                    errors: loaded.errors.iter().map(ToString::to_string).collect(),
                    warnings: loaded.warnings,
                });
            }
            Err(e) => {
                eprintln!("error: {e}");
                failed_inputs += 1;
                sources.push(SourceSummary {
                    path: path.display().to_string(),
                    kind: None,
                    tenant: None,
                    collected_at: None,
                    apps: 0,
                    errors: vec![e.to_string()],
                    warnings: Vec::new(),
                });
            }
        }
    }

    let report = Report::new(
        &rules,
        sources,
        findings,
        passed,
        opts.as_of,
        Utc::now(),
        args.include_passed,
    );
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

    if failed_inputs > 0 {
        eprintln!(
            "error: {failed_inputs} input file(s) could not be read (above); the report covers everything else"
        );
        return Ok(exit::INPUT);
    }
    if let (Some(threshold), Some(worst)) = (args.fail_on, report.worst_failure())
        && worst >= threshold
    {
        return Ok(exit::FINDINGS);
    }
    Ok(exit::OK)
}

/// An export much older than the audit date may no longer describe the tenant: say so.
fn staleness(collected_at: Option<DateTime<Utc>>, as_of: DateTime<Utc>) -> Option<String> {
    let age = (as_of - collected_at?).num_days();
    (age > STALE_AFTER_DAYS).then(|| {
        format!(
            "the export was collected {age} days before the audit date ({}); credentials and grants may have changed since",
            crate::dates::ymd(collected_at.unwrap_or(as_of))
        )
    })
}

/// Exports older than this (relative to `--as-of`) get a warning.
const STALE_AFTER_DAYS: i64 = 30;
