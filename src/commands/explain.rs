//! `m365audit explain RULE-ID`.

use super::{CommandError, exit, load_rules};
use crate::cli::ExplainArgs;
use crate::engine::rule::wrap;

pub fn run(args: ExplainArgs) -> Result<u8, CommandError> {
    let rules = load_rules(&args.rule_dirs)?;
    let Some(rule) = rules.get(&args.id) else {
        let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        return Err(CommandError::Input(format!(
            "unknown rule id {:?}; known: {}",
            args.id,
            ids.join(", ")
        )));
    };
    let params: Vec<String> = rule
        .params
        .iter()
        .filter(|(k, _)| *k != "kind" && *k != "rego")
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    let mut text = format!("{} {}: {}\n\n", rule.id, rule.slug, rule.title);
    text += &format!("Severity:  {}\n", rule.severity);
    text += &format!(
        "Check:     {}{}\n",
        rule.kind,
        if params.is_empty() {
            String::new()
        } else {
            format!(" ({})", params.join(", "))
        }
    );
    text += &format!("Defined in {}\n", rule.origin);
    for (heading, body) in [
        ("What it checks", &rule.docs.what),
        ("Why it matters", &rule.docs.why),
        ("Remediation", &rule.docs.remediation),
    ] {
        text += &format!("\n{heading}\n{}", wrap(body, 96, "  "));
    }
    if !rule.docs.references.is_empty() {
        text += "\nReferences\n";
        for r in &rule.docs.references {
            text += &format!("  - {r}\n");
        }
    }
    if let Some(rego) = rule.params.get("rego").and_then(|v| v.as_str()) {
        text += "\nRego\n";
        for line in rego.lines() {
            text += &format!("  {line}\n");
        }
    }
    print!("{text}");
    Ok(exit::OK)
}
