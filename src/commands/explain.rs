//! `m365audit explain RULE-ID` and `m365audit explain --kind NAME`.

use super::{CommandError, exit, load_rules};
use crate::checks::registry;
use crate::cli::ExplainArgs;
use crate::engine::RuleSet;
use crate::engine::rule::wrap;

pub fn run(args: ExplainArgs) -> Result<u8, CommandError> {
    let rules = load_rules(&args.rule_dirs)?;
    if let Some(kind) = &args.kind {
        return explain_kind(kind, &rules);
    }
    let id = args.id.unwrap_or_default();
    let Some(rule) = rules.get(&id) else {
        let ids: Vec<&str> = rules.rules.iter().map(|r| r.id.as_str()).collect();
        return Err(CommandError::Input(format!(
            "unknown rule id {id:?}; known: {}",
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
    let step = rule.plan_step();
    text += &format!(
        "\nAction plan step (order {}{})\n{}",
        step.order,
        if rule.plan.is_none() {
            ", from the title: the rule file has no [plan]"
        } else {
            ""
        },
        wrap(&step.step, 96, "  ")
    );
    if let Some(command) = &step.command {
        text += &format!("  command: {command}\n");
    }
    for (target, command) in &step.command_for {
        text += &format!("  command for {}: {command}\n", target.as_str());
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

/// A kind: what it finds, its parameters, and the loaded rules that use it.
fn explain_kind(name: &str, rules: &RuleSet) -> Result<u8, CommandError> {
    let Some(kind) = registry::find(name) else {
        let known = registry::names();
        return Err(CommandError::Input(registry::unknown_kind(name, &known)));
    };
    let mut text = format!(
        "{} (check kind, evaluated once per {}, written in {})\n\n{}",
        kind.name,
        kind.scope.as_str(),
        kind.written_in.as_str(),
        wrap(kind.docs, 96, "")
    );
    if kind.params.is_empty() {
        text += "\nParameters: none\n";
    } else {
        text += "\nParameters ([check] keys)\n";
        for p in kind.params {
            let default = p
                .default
                .map_or("required".to_string(), |d| format!("default {d}"));
            text += &format!("  {} ({}; {default})\n", p.name, p.ty);
            text += &wrap(p.meaning, 92, "      ");
        }
    }
    let users: Vec<String> = rules
        .rules
        .iter()
        .filter(|r| r.kind == kind.name)
        .map(|r| format!("{} {}", r.id, r.slug))
        .collect();
    let mut steps = Vec::new();
    if kind.written_in.in_profiles() {
        let catalog = super::checklist::catalog()?;
        for profile in super::checklist::shipped(&catalog)? {
            for step in &profile.steps {
                if step.checks.iter().any(|c| c.kind == kind.name) {
                    steps.push(format!("{} step {}", profile.id, step.number));
                }
            }
        }
    }
    let none = |list: &[String], what: &str| {
        if list.is_empty() {
            what.to_string()
        } else {
            list.join(", ")
        }
    };
    if kind.written_in.in_rules() {
        text += &format!("\nUsed by rules: {}\n", none(&users, "no loaded rule"));
    }
    if kind.written_in.in_profiles() {
        text += &format!(
            "Used by shipped profiles: {}\n",
            none(&steps, "no shipped profile")
        );
    }
    print!("{text}");
    Ok(exit::OK)
}
