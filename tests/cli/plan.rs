//! `m365audit plan`: the demo tenant's action plan in every format, checked against the
//! scan of the same tenant (scores, ranks, steps and the findings they close), waivers and
//! `--top`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::{self, Run, Scan, TempDir, code, stderr};

/// The audit date of the README's demo output.
const DEMO_AS_OF: &str = "2026-11-22";
const DEMO: &str = "examples/demo-tenant";
const MAILBOX: &str = "svc-sensehq@contoso.com";

/// `m365audit plan DEMO --as-of DEMO_AS_OF --mailbox MAILBOX ARGS...`.
fn plan(args: &[&str]) -> Run {
    let mut all = vec!["plan", DEMO, "--as-of", DEMO_AS_OF, "--mailbox", MAILBOX];
    all.extend_from_slice(args);
    common::run(all)
}

fn plan_json(args: &[&str]) -> Value {
    let out = plan(&[&["--format", "json"], args].concat());
    out.assert_code(0);
    out.json()
}

/// The scan the plan is made from, as JSON.
fn scan_json(args: &[&str]) -> Value {
    Scan::new(DEMO)
        .as_of(DEMO_AS_OF)
        .format("json")
        .args(["--mailbox", MAILBOX])
        .args(args)
        .run()
        .json()
}

fn rows(plan: &Value) -> &Vec<Value> {
    plan["rows"].as_array().expect("rows")
}

fn row<'a>(plan: &'a Value, name: &str) -> Option<&'a Value> {
    rows(plan).iter().find(|r| r["name"] == name)
}

/// The app id of the app the demo scan calls `name`.
fn app_id(scan: &Value, name: &str) -> String {
    common::findings(scan)
        .iter()
        .find(|f| f["subject"]["display_name"] == name)
        .and_then(|f| f["subject"]["app_id"].as_str())
        .unwrap_or_else(|| panic!("no finding about {name}"))
        .to_string()
}

#[test]
fn the_demo_plan_table_and_markdown() {
    let table = plan(&[]);
    table.assert_code(0);
    assert!(table.stderr().is_empty(), "{}", table.stderr());
    let markdown = plan(&["--format", "markdown"]);
    markdown.assert_code(0);
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!("plan_demo_table", table.stdout());
        insta::assert_snapshot!("plan_demo_markdown", markdown.stdout());
    });
}

#[test]
fn json_rows_are_ranked_explained_and_close_their_own_findings() {
    let plan = plan_json(&[]);
    let scan = scan_json(&[]);
    assert_eq!(plan["schema"], "m365audit/plan/v1");
    let rows = rows(&plan);
    assert!(rows.len() > 5, "{plan}");

    // Ranked by score, highest first; every score is the sum of its factors.
    let scores: Vec<u64> = rows
        .iter()
        .map(|r| r["score"].as_u64().expect("score"))
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["rank"], i + 1);
        let sum: u64 = r["factors"]
            .as_array()
            .expect("factors")
            .iter()
            .map(|f| f["points"].as_u64().expect("points"))
            .sum();
        assert_eq!(sum, r["score"].as_u64().expect("score"), "{}", r["name"]);
    }

    // The scan's failing findings, by the app they name (the rest: the tenant row).
    let app_ids: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r["app"]["app_id"].as_str())
        .collect();
    let mut failing: BTreeMap<Option<&str>, BTreeSet<&str>> = BTreeMap::new();
    let mut failing_count: BTreeMap<Option<&str>, u64> = BTreeMap::new();
    let findings = common::findings(&scan);
    for f in &findings {
        if f["outcome"] != "fail" {
            continue;
        }
        let app = f["subject"]["app_id"]
            .as_str()
            .filter(|id| app_ids.contains(id));
        failing
            .entry(app)
            .or_default()
            .insert(f["rule_id"].as_str().expect("rule id"));
        *failing_count.entry(app).or_default() += 1;
    }
    let mut in_steps_total = 0;
    for r in rows {
        let app = r["app"]["app_id"].as_str();
        let own = failing.get(&app).cloned().unwrap_or_default();
        let mut closed = BTreeSet::new();
        for step in r["steps"].as_array().expect("steps") {
            let ids = step["rule_ids"].as_array().expect("rule ids");
            assert!(!ids.is_empty(), "{step}");
            for id in ids {
                let id = id.as_str().expect("id");
                assert!(
                    own.contains(id),
                    "{}: step names {id}, not failing there",
                    r["name"]
                );
                closed.insert(id);
            }
        }
        assert_eq!(closed, own, "{}: every failing rule has a step", r["name"]);
        assert_eq!(r["failing"].as_u64(), failing_count.get(&app).copied());
        in_steps_total += r["failing"].as_u64().expect("failing");
    }
    assert_eq!(plan["summary"]["failing"], scan["summary"]["fail"]);
    assert_eq!(
        in_steps_total,
        scan["summary"]["fail"].as_u64().expect("fail")
    );
    assert_eq!(rows.iter().filter(|r| r["kind"] == "tenant").count(), 1);
}

/// The first rows are what an admin would fix first; a tidy scoped app comes late.
#[test]
fn broad_secret_holding_unused_or_unverified_apps_come_first() {
    let plan = plan_json(&[]);
    let rows = rows(&plan);
    for r in &rows[..4] {
        let factors: BTreeMap<&str, u64> = r["factors"]
            .as_array()
            .expect("factors")
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().expect("name"),
                    f["points"].as_u64().expect("points"),
                )
            })
            .collect();
        assert!(
            factors.get("reach").copied().unwrap_or_default() >= 30,
            "{}: {factors:?}",
            r["name"]
        );
        assert!(
            factors.contains_key("credential")
                || factors.contains_key("unused")
                || r["app"]["organization"]["verified_publisher"] == false,
            "{}: {factors:?}",
            r["name"]
        );
    }
    let top = &rows[0];
    assert!(top["unused"] == true, "{top}");
    assert_eq!(top["steps"][0]["order"], 10, "removing it comes first");
    assert!(
        top["steps"][0]["commands"][0]
            .as_str()
            .is_some_and(|c| c.starts_with("Remove-MgApplication -ApplicationId ")
                && c.contains(top["app"]["object_id"].as_str().expect("object id"))),
        "{top}"
    );
    let sinch = row(&plan, "Sinch Contact Pro - Mail").expect("Sinch row");
    let rank = sinch["rank"].as_u64().expect("rank") as usize;
    assert!(
        rank > rows.len() / 2,
        "a scoped app ranks {rank} of {}",
        rows.len()
    );
    // Steps run in order: remove, contain, credentials, consent and owner, hygiene.
    for r in rows {
        let orders: Vec<u64> = r["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| s["order"].as_u64().expect("order"))
            .collect();
        assert!(
            orders.windows(2).all(|w| w[0] <= w[1]),
            "{}: {orders:?}",
            r["name"]
        );
    }
}

#[test]
fn csv_has_one_row_per_app_with_the_factors_as_columns() {
    let out = plan(&["--format", "csv"]);
    out.assert_code(0);
    let json = plan_json(&[]);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header = reader.headers().expect("header").clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
    };
    let points: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.ends_with("_points"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(points.len(), 7, "{header:?}");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a row")).collect();
    assert_eq!(records.len(), rows(&json).len());
    for (record, r) in records.iter().zip(rows(&json)) {
        assert_eq!(record[col("rank")], r["rank"].to_string());
        assert_eq!(record[col("name")], *r["name"].as_str().expect("name"));
        let sum: u64 = points
            .iter()
            .map(|&i| record[i].parse::<u64>().expect("points"))
            .sum();
        assert_eq!(sum.to_string(), record[col("score")]);
        let steps = record[col("steps")].lines().count();
        assert_eq!(steps, r["steps"].as_array().expect("steps").len());
    }
}

#[test]
fn waived_findings_leave_the_plan() {
    let scan = scan_json(&[]);
    let before = plan_json(&[]);
    let erp = app_id(&scan, "Legacy ERP Directory Connector");
    let hr = app_id(&scan, "HR Notifications");
    assert!(row(&before, "Legacy ERP Directory Connector").is_some());

    let tmp = TempDir::new("plan-waivers");
    let config = tmp.write(
        "m365audit.toml",
        format!(
            r#"[[waivers]]
rule = "PERM-002"
subject = "{erp}"
reason = "the connector is decommissioned next month"

[[waivers]]
rule = "USAGE-001"
subject = "{hr}"
reason = "runs once a year"
"#
        ),
    );
    let config = config.to_str().expect("a UTF-8 path");
    let after = plan_json(&["--config", config]);
    // Its only failing finding waived, the connector has no row.
    assert!(
        row(&after, "Legacy ERP Directory Connector").is_none(),
        "{after}"
    );
    assert_eq!(after["summary"]["waived"], 2);
    // HR Notifications is no longer unused: its score drops, and so does its first step.
    let score = |plan: &Value| row(plan, "HR Notifications").expect("HR row")["score"].as_u64();
    let hr_after = row(&after, "HR Notifications").expect("HR row");
    assert!(score(&after) < score(&before), "{hr_after}");
    assert_eq!(hr_after["unused"], false);
    assert_eq!(hr_after["waived"], 1);
    assert!(
        hr_after["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["rule_ids"]
                .as_array()
                .is_some_and(|ids| !ids.contains(&"USAGE-001".into()))),
        "{hr_after}"
    );
}

#[test]
fn top_limits_the_rows_and_says_so() {
    let all = plan_json(&[]);
    let total = rows(&all).len();
    let top = plan_json(&["--top", "3"]);
    assert_eq!(rows(&top).len(), 3);
    assert_eq!(rows(&top)[..], rows(&all)[..3]);
    assert_eq!(top["summary"]["rows"], total);
    assert_eq!(top["summary"]["shown"], 3);
    let table = plan(&["--top", "3"]);
    table.assert_code(0);
    let text = table.stdout();
    assert!(
        text.contains(&format!("3 of {total} rows shown (--top 3)")),
        "{text}"
    );
    assert!(text.contains("│ 3 "), "{text}");
    assert!(!text.contains("│ 4 "), "{text}");
    let zero = plan(&["--top", "0"]);
    common::assert_input_error(&zero, &["--top"]);
}

#[test]
fn output_file_is_the_same_plan() {
    let tmp = TempDir::new("plan-output");
    let path = tmp.path().join("plan.json");
    let out = plan(&["--format", "json", "-o", path.to_str().expect("UTF-8")]);
    out.assert_code(0);
    assert!(out.stdout.is_empty());
    let written: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("the plan file")).expect("JSON");
    assert_eq!(written, plan_json(&[]));
}

#[test]
fn no_source_is_a_usage_error_and_help_explains_the_score() {
    let tmp = TempDir::new("plan-no-source");
    let config = tmp.write("m365audit.toml", "");
    let out = common::m365audit(["plan", "--config", config.to_str().expect("UTF-8")]);
    common::assert_input_error(&out, &["no SOURCE"]);
    let help = common::m365audit(["plan", "--help"]);
    assert_eq!(code(&help), 0, "{}", stderr(&help));
    let text = common::stdout(&help);
    for word in ["all mailboxes 40", "USAGE-001", "--top", "[plan]", "waiv"] {
        assert!(text.contains(word), "{word}: {text}");
    }
}
