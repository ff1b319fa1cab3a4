//! `m365audit scan`.

use std::io::{IsTerminal, Write};

use chrono::Utc;

use super::{CommandError, exit, load_rules, today, write_atomically};
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
    };

    let mut sources = Vec::with_capacity(args.sources.len());
    let mut findings = Vec::new();
    let mut passed = 0;
    let mut failed_inputs = 0;
    for (index, path) in args.sources.iter().enumerate() {
        match source::load(path) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    eprintln!("warning: {w}");
                }
                for e in &loaded.errors {
                    eprintln!("error: {e}");
                }
                failed_inputs += loaded.errors.len();
                let tenant = model::build(&loaded.snapshot, &catalog);
                let result = evaluate(&rules, &tenant, index, &opts);
                passed += result.passed;
                findings.extend(result.findings);
                sources.push(SourceSummary {
                    path: path.display().to_string(),
                    kind: Some(loaded.kind.as_str()),
                    tenant: tenant.info.tenant.clone(),
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
    let mut bytes = Vec::new();
    report::write(&report, args.format, &mut bytes, color)
        .map_err(|e| CommandError::Runtime(format!("cannot render the report: {e}")))?;
    match &args.output {
        Some(path) => write_atomically(path, &bytes)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            if let Err(e) = stdout.write_all(&bytes).and_then(|()| stdout.flush())
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
