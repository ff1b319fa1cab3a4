//! `m365audit rules list` and `m365audit rules test`.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use super::{CommandError, exit, load_rules, today};
use crate::checks::KINDS;
use crate::checks::{Context, Evaluator, Outcomes, ScanInputs, Verdict};
use crate::cli::{ListFormat, RulesKindsArgs, RulesListArgs, RulesTestArgs};
use crate::engine::{Rule, RuleSet};
use crate::model::{Catalog, Exchange, Missing, resolve_permissions};

pub fn list(args: RulesListArgs) -> Result<u8, CommandError> {
    let rules = load_rules(&args.rule_dirs)?;
    let text = match args.format {
        ListFormat::Markdown => markdown_table(&rules),
        ListFormat::Json => {
            let list: Vec<_> = rules
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "slug": r.slug, "title": r.title,
                        "severity": r.severity.as_str(), "kind": r.kind, "scope": r.scope(),
                        "builtin": r.is_builtin(), "source": r.origin.to_string(),
                    })
                })
                .collect();
            pretty_json(&list)?
        }
        ListFormat::Table => {
            let mut table = list_table(["Id", "Slug", "Severity", "Title", "Check"]);
            for r in &rules.rules {
                table.add_row([
                    r.id.as_str(),
                    r.slug.as_str(),
                    r.severity.as_str(),
                    r.title.as_str(),
                    r.kind.as_str(),
                ]);
            }
            format!("{table}\n")
        }
    };
    print!("{text}");
    Ok(exit::OK)
}

/// The README's rule table: generated from the rule files (a test keeps the README in sync).
pub fn markdown_table(rules: &RuleSet) -> String {
    let mut out = String::from("| Id | Slug | Default severity | Title |\n|---|---|---|---|\n");
    for r in &rules.rules {
        out += &format!("| {} | {} | {} | {} |\n", r.id, r.slug, r.severity, r.title);
    }
    out
}

fn pretty_json<T: serde::Serialize>(value: &T) -> Result<String, CommandError> {
    serde_json::to_string_pretty(value)
        .map(|text| text + "\n")
        .map_err(|e| CommandError::Runtime(e.to_string()))
}

/// The table `rules list` and `rules kinds` print.
fn list_table<const N: usize>(header: [&str; N]) -> Table {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    table
}

/// `m365audit rules kinds`.
pub fn kinds(args: RulesKindsArgs) -> Result<u8, CommandError> {
    let text = match args.format {
        ListFormat::Markdown => kinds_reference(),
        ListFormat::Json => {
            let list: Vec<_> = KINDS
                .iter()
                .map(|k| {
                    serde_json::json!({
                        "name": k.name,
                        "scope": k.scope.as_str(),
                        "written_in": k.written_in.as_str(),
                        "docs": k.docs,
                        "params": k.params.iter().map(|p| serde_json::json!({
                            "name": p.name,
                            "type": p.ty,
                            "required": p.default.is_none(),
                            "default": p.default,
                            "meaning": p.meaning,
                        })).collect::<Vec<_>>(),
                        "renamed_from": k.renamed_from,
                    })
                })
                .collect();
            pretty_json(&list)?
        }
        ListFormat::Table => {
            let mut table = list_table(["Kind", "Evaluated", "Written in", "Parameters", "Finds"]);
            for k in KINDS {
                let params: Vec<String> = k
                    .params
                    .iter()
                    .map(|p| match p.default {
                        None => format!("{} (required)", p.name),
                        Some(_) => p.name.to_string(),
                    })
                    .collect();
                let first = k
                    .docs
                    .split(". ")
                    .next()
                    .unwrap_or(k.docs)
                    .trim_end_matches('.');
                table.add_row([
                    k.name,
                    &format!("per {}", k.scope.as_str()),
                    k.written_in.as_str(),
                    &params.join(", "),
                    first,
                ]);
            }
            format!("{table}\n")
        }
    };
    print!("{text}");
    Ok(exit::OK)
}

/// `rules/kinds.md`: every kind with its parameters, for people writing rules.
pub fn kinds_reference() -> String {
    let mut out = String::from(
        "# Check kinds\n\n\
         Every kind a rule file's `[check]` table or a profile step's `[[steps.checks]]` can \
         name, with its parameters. Generated by `m365audit rules kinds --format markdown`; a \
         test keeps this file in step with the code.\n\n\
         ```toml\n[check]\nkind = \"credential-lifetime\"\ncredential = \"secret\"\nmax_days = 365\n```\n\n\
         A per-app kind is evaluated on every app (findings name the app); a per-tenant kind once, \
         about Exchange objects (findings name the role assignment, policy or mailbox). \
         Most kinds are written in both; `rego` only in rules, and the kinds that compare an app \
         with one vendor guide (its permission list, its redirect URIs) only in profiles. \
         `m365audit explain --kind NAME` shows a kind and the rules that use it.\n",
    );
    for k in KINDS {
        out += &format!(
            "\n## `{}` (per {}; in {})\n\n{}\n\n",
            k.name,
            k.scope.as_str(),
            k.written_in.as_str(),
            k.docs
        );
        if k.params.is_empty() {
            out += "No parameters.\n";
            continue;
        }
        out += "| Parameter | Type | Default | Meaning |\n|---|---|---|---|\n";
        for p in k.params {
            out += &format!(
                "| `{}` | {} | {} | {} |\n",
                p.name,
                p.ty.replace('|', "\\|"),
                p.default.unwrap_or("required").replace('|', "\\|"),
                p.meaning.replace('|', "\\|")
            );
        }
        if !k.renamed_from.is_empty() {
            out += &format!("\nFormerly `{}`.\n", k.renamed_from.join("`, `"));
        }
    }
    out
}

pub fn test(args: RulesTestArgs) -> Result<u8, CommandError> {
    let rules = if args.dirs.is_empty() {
        load_rules(&[])?
    } else {
        RuleSet::load_user_only(&args.dirs).map_err(CommandError::Rules)?
    };
    let default_as_of = args.as_of.unwrap_or_else(today);
    let catalog = Catalog::builtin().map_err(|e| CommandError::Runtime(e.to_string()))?;
    let mut failures = 0;
    let mut ran = 0;
    let mut without = Vec::new();
    for rule in &rules.rules {
        if rule.examples.is_empty() {
            without.push(rule.id.as_str());
            continue;
        }
        for line in run_examples(rule, default_as_of, &catalog) {
            ran += 1;
            if !line.ok {
                failures += 1;
            }
            println!(
                "{} {} example {:?}: {}",
                if line.ok { "ok  " } else { "FAIL" },
                rule.id,
                line.name,
                line.detail
            );
        }
    }
    if !without.is_empty() {
        println!("no examples: {}", without.join(", "));
    }
    println!("{ran} example(s), {failures} failed");
    if ran == 0 && !args.dirs.is_empty() {
        return Err(CommandError::Input(
            "no rule in the given directories has examples".into(),
        ));
    }
    Ok(if failures > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

pub struct ExampleResult {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Runs a rule's examples: each must produce exactly the expected number of failing
/// findings (and, if given, of not-evaluated ones).
pub fn run_examples(
    rule: &Rule,
    default_as_of: chrono::DateTime<chrono::Utc>,
    catalog: &Catalog,
) -> Vec<ExampleResult> {
    let nothing = Missing::everything("not in the example input");
    rule.examples
        .iter()
        .map(|ex| {
            // A policy the example gives is known.
            let missing = Missing {
                default_app_management_policy: ex
                    .policies
                    .default
                    .is_none()
                    .then(|| "not in the example input".to_string()),
                ..nothing.clone()
            };
            let exchange = Exchange::default();
            let inputs = ScanInputs::default();
            let cx = Context::new(
                ex.as_of.unwrap_or(default_as_of),
                &ex.tenant,
                &missing,
                &exchange,
                &inputs,
                catalog,
                &ex.policies,
            );
            let mut app = ex.app.clone();
            resolve_permissions(&mut app, catalog);
            let mut out = Outcomes::new(false);
            if let Evaluator::PerApp(check) = &rule.check {
                check.evaluate(&app, &cx, &mut out);
            }
            let fails: Vec<&str> = out
                .list
                .iter()
                .filter_map(|o| match &o.verdict {
                    Verdict::Fail { message, .. } => Some(message.as_str()),
                    _ => None,
                })
                .collect();
            let not_evaluated: Vec<&str> = out
                .list
                .iter()
                .filter_map(|o| match &o.verdict {
                    Verdict::NotEvaluated { reason } => Some(reason.as_str()),
                    _ => None,
                })
                .collect();
            let ok = fails.len() == ex.expect_findings
                && ex
                    .expect_not_evaluated
                    .is_none_or(|n| n == not_evaluated.len());
            let mut detail = format!(
                "{} finding(s), expected {}",
                fails.len(),
                ex.expect_findings
            );
            if let Some(n) = ex.expect_not_evaluated {
                detail += &format!("; {} not evaluated, expected {n}", not_evaluated.len());
            }
            if !ok {
                for m in fails.iter().chain(&not_evaluated) {
                    detail += &format!("\n       - {m}");
                }
            }
            ExampleResult {
                name: ex.name.clone(),
                ok,
                detail,
            }
        })
        .collect()
}
