//! Every rule has `tests/fixtures/<RULE-ID>/fail` and `pass` inputs (a JSON file or an export
//! directory, with extra command-line arguments in `<case>.args` when the rule needs them,
//! e.g. `--mailbox`). Each is scanned by the real binary with only that rule, at a fixed audit date;
//! the fail case must produce a failing finding for the rule and the pass case a pass and no
//! failure. The JSON report of every run is snapshot-tested, with the rule's own text (title,
//! remediation, references: the rule file's, shown by `explain`) redacted, so rewording a rule's
//! docs leaves its snapshots alone while any change to a finding shows.

use crate::common::{self, AS_OF, Scan, code, m365audit, root, stderr};
use serde_json::Value;

/// `(case, path, extra arguments)` for the fixtures of a rule: `fail` and `pass` always, then
/// any further case named for what it must show (`fail-…`, `pass-…`, `not-evaluated-…`): the
/// traps a rule must not fall into, each in a fixture of its own.
fn cases(rule: &str) -> Vec<(String, String, Vec<String>)> {
    let dir = root().join("tests/fixtures").join(rule);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.ends_with(".args"))
                .map(|n| n.trim_end_matches(".json").to_string())
                .filter(|n| n != "fail" && n != "pass")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    for name in &names {
        assert!(
            ["fail-", "pass-", "not-evaluated-"]
                .iter()
                .any(|p| name.starts_with(p)),
            "tests/fixtures/{rule}/{name}: a fixture is named fail-…, pass-… or not-evaluated-…"
        );
    }
    ["fail".to_string(), "pass".to_string()]
        .into_iter()
        .chain(names)
        .map(|case| {
            let dir = format!("tests/fixtures/{rule}/{case}");
            let file = format!("{dir}.json");
            let path = if root().join(&file).is_file() {
                file
            } else {
                dir.clone()
            };
            assert!(root().join(&path).exists(), "missing fixture {path}");
            let args = std::fs::read_to_string(root().join(format!("{dir}.args")))
                .map(|text| text.split_whitespace().map(String::from).collect())
                .unwrap_or_default();
            (case, path, args)
        })
        .collect()
}

fn rule_ids() -> Vec<String> {
    let out = m365audit(["rules", "list", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).expect("rules list JSON");
    list.iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

fn outcomes(report: &Value, rule: &str, outcome: &str) -> usize {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == rule && f["outcome"] == outcome)
        .count()
}

#[test]
fn every_shipped_rule_has_fixtures() {
    for id in rule_ids() {
        cases(&id);
    }
}

#[test]
fn fixtures_fail_and_pass_as_named() {
    let mut settings = common::snapshot_settings();
    settings.add_redaction(".generated_at", "[generated_at]");
    settings.add_redaction(".tool_version", "[tool_version]");
    for docs in ["title", "what", "why", "remediation", "references"] {
        settings.add_redaction(&format!(".rules.*.{docs}"), "[rule docs]");
    }
    let _guard = settings.bind_to_scope();

    for id in rule_ids() {
        for (case, path, extra) in cases(&id) {
            let out = Scan::new(&path)
                .format("json")
                .args(["--rule", id.as_str(), "--include-passed"])
                .args(&extra)
                .run();
            let report = out.json();
            assert_eq!(code(&out), 0, "{path}: {}", stderr(&out));
            let fails = outcomes(&report, &id, "fail");
            let passes = outcomes(&report, &id, "pass");
            let not_evaluated = outcomes(&report, &id, "not_evaluated");
            if case.starts_with("fail") {
                assert!(fails > 0, "{path}: expected a failing {id} finding");
            } else if case.starts_with("pass") {
                assert_eq!(fails, 0, "{path}: expected no failing {id} finding");
                assert!(passes > 0, "{path}: expected a passing {id} result");
            } else {
                assert_eq!(fails, 0, "{path}: expected no failing {id} finding");
                assert!(
                    not_evaluated > 0,
                    "{path}: expected {id} to be not evaluated"
                );
            }
            assert_eq!(report["as_of"], format!("{AS_OF}T00:00:00Z"));
            insta::assert_json_snapshot!(format!("{id}-{case}"), report);
        }
    }
}
