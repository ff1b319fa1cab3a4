//! `rules list`, `rules test`, `explain`, user Rego rules, and scan options.

use crate::common::{self, AS_OF, Scan, TempDir, code, m365audit, root, stderr, stdout};

const EXAMPLE_RULE: &str = "examples/rules/ORG-001.mail-app-two-owners.toml";

/// A copy of the example user rule with `edit` applied, in its own directory.
fn edited_rule(name: &str, edit: impl Fn(String) -> String) -> TempDir {
    let dir = TempDir::new(name);
    let text = std::fs::read_to_string(root().join(EXAMPLE_RULE)).expect("example rule");
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit changed nothing");
    dir.write("ORG-001.mail-app-two-owners.toml", edited);
    dir
}

/// `m365audit rules test DIR`.
fn rules_test(dir: &TempDir) -> std::process::Output {
    m365audit([
        "rules".to_string(),
        "test".into(),
        dir.path().display().to_string(),
    ])
}

fn line_of(dir: &TempDir, needle: &str) -> usize {
    let text = std::fs::read_to_string(dir.path().join("ORG-001.mail-app-two-owners.toml"))
        .expect("rule file");
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle")
        + 1
}

#[test]
fn rule_ids_are_a_contract() {
    let out = m365audit(["rules", "list", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    let ids: Vec<String> = list
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["id"].as_str().expect("id"),
                r["slug"].as_str().expect("slug")
            )
        })
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "rules list is sorted by id");
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!("rule-ids", ids.join("\n"));
    });
}

#[test]
fn the_example_user_rule_passes_its_examples_and_runs_in_a_scan() {
    let out = m365audit(["rules", "test", "examples/rules"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("4 example(s), 0 failed"),
        "{}",
        stdout(&out)
    );

    let out = Scan::new("examples/demo-tenant")
        .format("json")
        .args(["--rules", "examples/rules", "--rule", "ORG-001"])
        .run();
    let report = out.json();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let findings = common::findings(&report);
    let names: Vec<&str> = findings
        .iter()
        .filter(|f| f["outcome"] == "fail")
        .map(|f| f["subject"]["display_name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "Exact Globe+ Exchange Online",
            "Exact Synergy (old)",
            "HR Notifications",
            "Sinch Contact Pro - Mail",
            "SysAid Helpdesk Mail"
        ]
    );
    let first = &report["findings"][0];
    assert_eq!(first["severity"], "medium");
    assert_eq!(first["evidence"]["owners"], 1);
}

#[test]
fn a_wrong_expectation_fails_rules_test() {
    let dir = edited_rule("wrong-expectation", |t| {
        t.replacen("expect_findings = 1", "expect_findings = 2", 1)
    });
    let out = rules_test(&dir);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(stdout(&out).contains("FAIL ORG-001 example \"one owner, app-only Mail.Send requested\": 1 finding(s), expected 2"), "{}", stdout(&out));
}

#[test]
fn a_rego_syntax_error_points_into_the_rule_file() {
    let dir = edited_rule("syntax", |t| {
        t.replacen(
            "count(input.app.owners) < 2",
            "count(input.app.owners) < 2\n\tundefined_function(1)",
            1,
        )
    });
    let line = line_of(&dir, "undefined_function");
    let out = rules_test(&dir);
    assert_eq!(code(&out), 2);
    let expected = format!(
        "ORG-001.mail-app-two-owners.toml:{line}:2: rule ORG-001: rego: Unknown function: 'undefined_function'"
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));

    let dir = edited_rule("parse", |t| {
        t.replacen("import rego.v1\n", "import rego.v1\n\nx := [1, 2\n", 1)
    });
    let out = rules_test(&dir);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("rego: expecting `]`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rego_rules_are_checked_for_misspelt_fields_clocks_and_examples() {
    let dir = edited_rule("misspelt", |t| {
        t.replacen("input.app.owners != null", "input.app.owner != null", 1)
    });
    let line = line_of(&dir, "input.app.owner != null");
    let out = rules_test(&dir);
    assert_eq!(code(&out), 2);
    let expected = format!(
        ":{line}:1: rule ORG-001: input.app.owner is not a field of the rule input (did you mean input.app.owners?)"
    );
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));

    let dir = edited_rule("clock", |t| {
        t.replacen("count(mailbox) > 0", "time.now_ns() > 0", 1)
    });
    let out = rules_test(&dir);
    assert!(
        stderr(&out).contains("use input.as_of_ns"),
        "{}",
        stderr(&out)
    );

    let dir = edited_rule("no-examples", |t| {
        t[..t.find("[[examples]]").expect("examples")].to_string()
    });
    let out = rules_test(&dir);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("a Rego rule must have [[examples]]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn explain_shows_the_docs_and_the_source_of_a_rule() {
    let out = m365audit(["explain", "cred-003"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with(
        "CRED-003 secret-lifetime-too-long: Client secret lifetime exceeds 12 months"
    ));
    assert!(text.contains("max_days = 365"), "{text}");
    assert!(
        text.contains("rules/credentials/CRED-003.secret-lifetime-too-long.toml"),
        "{text}"
    );
    assert!(text.contains("less than 12 months"), "{text}");
}

#[test]
fn fail_on_sets_the_exit_code() {
    let args = |sev: &str| {
        [
            "scan",
            "--as-of",
            AS_OF,
            "--fail-on",
            sev,
            "tests/fixtures/URI-003/fail.json",
        ]
        .map(String::from)
    };
    assert_eq!(code(&m365audit(args("high"))), 1);
    assert_eq!(code(&m365audit(args("critical"))), 0);
    assert_eq!(
        code(&m365audit([
            "scan",
            "--as-of",
            AS_OF,
            "tests/fixtures/URI-003/fail.json"
        ])),
        0
    );
}

#[test]
fn output_is_written_to_a_file_atomically() {
    let dir = TempDir::new("output");
    let target = dir.path().join("report.json");
    let out = m365audit([
        "scan",
        "--as-of",
        AS_OF,
        "--format",
        "json",
        "--output",
        target.to_str().expect("utf-8"),
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let report = common::read_report(&target);
    assert_eq!(report["schema"], "m365audit/findings/v2");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
}

#[test]
fn every_shipped_app_rule_documents_itself_with_passing_examples() {
    let out = m365audit(["rules", "test"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    assert!(!text.contains("FAIL"), "{text}");
    // Examples carry one app; rules about tenant-wide objects are covered by fixtures.
    let list = m365audit(["rules", "list", "--format", "json"]);
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).expect("JSON");
    let tenant_rules: Vec<&str> = rules
        .iter()
        .filter(|r| r["scope"] == "tenant")
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let without = text
        .lines()
        .find_map(|l| l.strip_prefix("no examples: "))
        .map(|l| l.split(", ").collect::<Vec<_>>())
        .unwrap_or_default();
    assert_eq!(without, tenant_rules, "{text}");
}

/// `rules/kinds.md` is what `rules kinds --format markdown` prints: the reference for people
/// writing rules never drifts from the registry.
#[test]
fn the_kind_reference_is_generated_from_the_registry() {
    let out = m365audit(["rules", "kinds", "--format", "markdown"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let file = std::fs::read_to_string(root().join("rules/kinds.md")).expect("rules/kinds.md");
    assert!(
        file == stdout(&out),
        "rules/kinds.md is stale: run `cargo run -- rules kinds --format markdown > rules/kinds.md`"
    );
    // Every kind a shipped rule uses is in it, with its parameters.
    let list = m365audit(["rules", "list", "--format", "json"]);
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).expect("JSON");
    for rule in &rules {
        let kind = rule["kind"].as_str().expect("kind");
        assert!(file.contains(&format!("## `{kind}` (per ")), "{kind}");
    }
    let json = m365audit(["rules", "kinds", "--format", "json"]);
    let kinds: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).expect("JSON");
    let lifetime = kinds
        .iter()
        .find(|k| k["name"] == "credential-lifetime")
        .expect("credential-lifetime");
    assert_eq!(lifetime["scope"], "app");
    assert_eq!(lifetime["params"][1]["name"], "max_days");
    assert_eq!(lifetime["params"][1]["default"], "365");
}

#[test]
fn explain_kind_shows_parameters_and_the_rules_using_it() {
    let out = m365audit(["explain", "--kind", "permission-match"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "permission-match (check kind, evaluated once per app, written in rules and profiles)"
        ),
        "{text}"
    );
    for needle in [
        "class (",
        "resource (",
        "kinds (",
        "note (",
        "PERM-002",
        "PERM-004",
        "PERM-006",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let renamed = m365audit(["explain", "--kind", "ews-allowed"]);
    assert_eq!(code(&renamed), 2);
    assert!(
        stderr(&renamed).contains("is now called \"ews-blocked\""),
        "{}",
        stderr(&renamed)
    );
}

/// An example holds one app; a per-tenant kind reads Exchange objects, so its examples could
/// never fail. They are refused where they are written, not skipped.
#[test]
fn examples_on_a_per_tenant_kind_are_refused_at_load() {
    let dir = TempDir::new("tenant-examples");
    let rule = r#"id = "ORG-010"
slug = "impersonation-anywhere"
title = "ApplicationImpersonation assigned"
severity = "high"

[check]
kind = "role-assignment"
role = "ApplicationImpersonation"

[docs]
what = "w"
why = "w"
remediation = "r"

[[examples]]
name = "cannot carry role assignments"
expect_findings = 1
"#;
    dir.write("ORG-010.impersonation-anywhere.toml", rule);
    let out = rules_test(&dir);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("ORG-010.impersonation-anywhere.toml:15:")
            && err.contains(
                "rule ORG-010: [[examples]] cannot test the per-tenant kind \"role-assignment\""
            ),
        "{err}"
    );
}

/// Kinds that compare an app with one vendor guide have no meaning in a rule, which applies
/// to every app: naming one is a load error at the kind, not a check that passes everywhere.
#[test]
fn a_profile_only_kind_is_refused_in_a_rule_file() {
    let dir = edited_rule("profile-kind", |t| {
        t.replacen("kind = \"rego\"", "kind = \"extra-permissions\"", 1)
    });
    let line = line_of(&dir, "kind = \"extra-permissions\"");
    let out = rules_test(&dir);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("ORG-001.mail-app-two-owners.toml:{line}:"))
            && err.contains("check kind \"extra-permissions\" is written in profiles only"),
        "{err}"
    );

    let out = m365audit(["explain", "--kind", "extra-permissions"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("written in profiles)"), "{text}");
    assert!(!text.contains("Used by rules"), "{text}");
    for step in ["sage-crm step 3.4", "sysaid-email step 5.2"] {
        assert!(text.contains(step), "{step}: {text}");
    }
}

/// The demo tenant shows every shipped rule failing at least once (the Exchange mailbox rules
/// with the integration mailbox named), so the README's first command demonstrates them all.
#[test]
fn every_shipped_rule_fails_on_the_demo_tenant() {
    let list = m365audit(["rules", "list", "--format", "json"]);
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&list.stdout).expect("JSON");
    let report = common::Scan::new("examples/demo-tenant")
        .as_of("2026-11-20")
        .format("json")
        .args(["--mailbox", "svc-sensehq@contoso.com"])
        .run()
        .json();
    let failing: std::collections::BTreeSet<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["outcome"] == "fail")
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    let silent: Vec<&str> = rules
        .iter()
        .filter_map(|r| r["id"].as_str())
        .filter(|id| !failing.contains(id))
        .collect();
    assert!(
        silent.is_empty(),
        "rules the demo tenant never fails: {silent:?}"
    );
}
