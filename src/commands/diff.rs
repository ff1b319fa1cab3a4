//! `m365audit diff OLD.json NEW.json`.

use std::collections::HashSet;
use std::io::Write;

use serde_json::json;

use super::{CommandError, exit};
use crate::cli::{DiffArgs, DiffFormat};
use crate::finding::Severity;
use crate::report::baseline::{self, Prior};

pub fn run(args: DiffArgs) -> Result<u8, CommandError> {
    let old = baseline::load(&args.old).map_err(CommandError::Input)?;
    let new = baseline::load(&args.new).map_err(CommandError::Input)?;
    let before: HashSet<&str> = old.iter().map(|p| p.fingerprint.as_str()).collect();
    let after: HashSet<&str> = new.iter().map(|p| p.fingerprint.as_str()).collect();
    let added: Vec<&Prior> = new
        .iter()
        .filter(|p| !before.contains(p.fingerprint.as_str()))
        .collect();
    let resolved: Vec<&Prior> = old
        .iter()
        .filter(|p| !after.contains(p.fingerprint.as_str()))
        .collect();
    let unchanged: Vec<&Prior> = new
        .iter()
        .filter(|p| before.contains(p.fingerprint.as_str()))
        .collect();

    let mut out = std::io::stdout().lock();
    let written = match args.format {
        DiffFormat::Json => {
            let doc = json!({
                "schema": "m365audit/diff/v1",
                "old": args.old.display().to_string(),
                "new": args.new.display().to_string(),
                "counts": {"new": added.len(), "resolved": resolved.len(), "unchanged": unchanged.len()},
                "new_findings": added,
                "resolved": resolved,
                "unchanged": unchanged,
            });
            serde_json::to_writer_pretty(&mut out, &doc)
                .map_err(std::io::Error::from)
                .and_then(|()| writeln!(out))
        }
        DiffFormat::Table => (|| -> std::io::Result<()> {
            for (label, list) in [("new", &added), ("resolved", &resolved)] {
                for p in list.iter() {
                    // Names, items and messages come from the reports' JSON, as they were.
                    let line = format!(
                        "{label:<9} {:<8} {:<9} {}{}: {}",
                        p.severity,
                        p.rule_id,
                        p.subject.label(),
                        p.item
                            .as_deref()
                            .map(|i| format!(" [{i}]"))
                            .unwrap_or_default(),
                        p.message
                    );
                    writeln!(out, "{}", crate::report::defused(&line))?;
                }
            }
            writeln!(
                out,
                "{} new, {} resolved, {} unchanged ({} -> {}).",
                added.len(),
                resolved.len(),
                unchanged.len(),
                args.old.display(),
                args.new.display()
            )
        })(),
    };
    if let Err(e) = written
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(CommandError::Runtime(format!(
            "cannot write to standard output: {e}"
        )));
    }
    let worst_new = added
        .iter()
        .filter(|p| p.outcome == "fail")
        .filter_map(|p| p.severity.parse::<Severity>().ok())
        .max();
    if let (Some(threshold), Some(worst)) = (args.fail_on_new, worst_new)
        && worst >= threshold
    {
        return Ok(exit::FINDINGS);
    }
    Ok(exit::OK)
}
