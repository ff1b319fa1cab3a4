//! `m365audit plan`: the scan's findings as a ranked action plan, one row per app.

use std::io::Write;

use super::{CommandError, Setup, exit, scan_source, write_atomically};
use crate::cli::PlanArgs;
use crate::engine::Evaluation;
use crate::plan::{self, Facts};
use crate::report::plan::{PlanReport, write};

pub fn run(args: PlanArgs) -> Result<u8, CommandError> {
    let setup = Setup::load(&args.eval, false)?;
    let configured = setup.configured_sources();
    let paths = if !args.eval.sources.is_empty() {
        &args.eval.sources
    } else if !configured.is_empty() {
        &configured
    } else {
        return Err(CommandError::Input(
            "no SOURCE: name an export folder or file, or set [scan] sources in m365audit.toml"
                .into(),
        ));
    };

    // Streamed like a scan: each batch of apps leaves its facts behind, not the apps.
    let mut sources = Vec::with_capacity(paths.len());
    let mut evaluation = Evaluation::default();
    let mut facts = Vec::new();
    let mut tenants = Vec::with_capacity(paths.len());
    for (index, path) in paths.iter().enumerate() {
        let (summary, result, parts) = scan_source(
            path,
            &setup.catalog,
            &setup.rules,
            index,
            &setup.opts,
            |part| {
                part.apps
                    .iter()
                    .map(|app| Facts::of(app, setup.opts.as_of, &setup.catalog).in_source(index))
                    .collect::<Vec<_>>()
            },
        );
        facts.extend(parts.into_iter().flatten());
        if let Some(result) = result {
            evaluation.append(result);
        }
        tenants.push(summary.tenant.clone());
        sources.push(summary);
    }
    let mut findings = evaluation.findings;
    setup.apply_waivers(&mut findings);
    let top = args.top.map(|n| n as usize);
    let plan = plan::build(facts, &findings, &setup.rules, &tenants, top);
    let report = PlanReport {
        plan: &plan,
        sources: &sources,
        as_of: setup.opts.as_of,
        top,
    };
    match &args.output {
        Some(path) => write_atomically(path, |w| write(&report, args.format, w))?,
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            let written = write(&report, args.format, &mut stdout).and_then(|()| stdout.flush());
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
    let failed_inputs: usize = sources.iter().map(|s| s.errors.len()).sum();
    if failed_inputs > 0 {
        eprintln!(
            "error: {failed_inputs} input file(s) could not be read (above); the plan covers everything else"
        );
        return Ok(exit::INPUT);
    }
    Ok(exit::OK)
}
