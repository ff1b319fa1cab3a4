//! The three JSON formats on the real binary: v2 (the default), JSON Lines (streamed, and
//! from a reports folder) and the deprecated v1, each against its schema and against the
//! others; `--baseline` and `diff` reading every one of them.

use std::collections::BTreeSet;

use crate::common::{self, Scan, TempDir, code, m365audit, parse_jsonl, read_report, stderr};
use serde_json::Value;

/// A finding as the formats can all say it: rule, subject ids, item, outcome, message and
/// evidence (with the waiver, wherever the format puts it), fingerprint.
fn key(f: &Value) -> String {
    let s = &f["subject"];
    let mut evidence = f["evidence"].clone();
    if !f["waiver"].is_null() {
        evidence["waiver"] = f["waiver"].clone();
    }
    format!(
        "{} {} {} {} {} {} {} {} {} {}",
        f["rule_id"],
        s["kind"],
        s["app_id"],
        s["object_id"],
        s["identity"],
        f["item"],
        f["outcome"],
        f["message"],
        evidence,
        f["fingerprint"]
    )
}

fn keys<'a>(findings: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    findings.into_iter().map(key).collect()
}

#[test]
fn v2_v1_and_json_lines_carry_the_same_findings() {
    let scan = || {
        Scan::new("examples/demo-tenant")
            .arg("--include-passed")
            .args(["--mailbox", "helpdesk@contoso.com"])
    };
    let v2 = scan().format("json").run().assert_code(0).json();
    let v1 = scan().format("json-v1").run();
    assert!(
        v1.stderr().contains("json-v1 is deprecated"),
        "{}",
        v1.stderr()
    );
    let v1 = v1.assert_code(0).json();
    assert_eq!(v1["schema"], "m365audit/findings/v1");
    let lines = scan().format("jsonl").run().assert_code(0).jsonl();

    let v2_findings = common::findings(&v2);
    let v1_findings = v1["findings"].as_array().expect("findings");
    let line_findings = &lines[1..lines.len() - 1];
    assert!(v2_findings.len() > 100, "the demo has many findings");
    assert_eq!(keys(&v2_findings), keys(v1_findings));
    assert_eq!(keys(&v2_findings), keys(line_findings));
    assert_eq!(v2_findings.len(), line_findings.len());

    // v2 has each rule's text once, as v1 had it in each finding, and each subject once.
    for f in v1_findings {
        let rule = &v2["rules"][f["rule_id"].as_str().expect("id")];
        for field in ["slug", "title", "remediation", "references"] {
            assert_eq!(rule[field], f[field], "{field}");
        }
    }
    let subjects = v2["subjects"].as_array().expect("subjects");
    let distinct: BTreeSet<String> = subjects.iter().map(Value::to_string).collect();
    assert_eq!(distinct.len(), subjects.len(), "a subject is listed once");
    assert_eq!(v2["summary"], v1["summary"]);

    // JSON Lines: the header names the sources and rules, the summary counts the lines.
    let (header, summary) = (&lines[0], &lines[lines.len() - 1]);
    assert_eq!(header["sources"][0], "examples/demo-tenant");
    assert_eq!(header["as_of"], v2["as_of"]);
    assert_eq!(
        header["rules"].as_object().expect("rules").len(),
        v2["rules"].as_object().expect("rules").len()
    );
    assert_eq!(summary["summary"], v2["summary"]);
    assert_eq!(summary["sources"], v2["sources"]);
    let count = |o: &str| line_findings.iter().filter(|l| l["outcome"] == o).count();
    assert_eq!(summary["summary"]["fail"], count("fail"));
    assert_eq!(summary["summary"]["pass"], count("pass"));
    for l in line_findings {
        assert_eq!(l["tenant"], "contoso.onmicrosoft.com");
        assert_eq!(l["as_of"], v2["as_of"]);
    }
}

#[test]
fn json_lines_from_a_reports_folder_match_the_streamed_ones() {
    let tmp = TempDir::new("jsonl-folder");
    let streamed = Scan::new("examples/demo-tenant")
        .format("jsonl")
        .run()
        .assert_code(0)
        .jsonl();
    Scan::new("examples/demo-tenant")
        .format("table")
        .arg("--report-dir")
        .arg(tmp.path())
        .args(["--report-format", "jsonl", "--report-name", "demo"])
        .run()
        .assert_code(0);
    let text = std::fs::read_to_string(tmp.path().join("demo/latest/findings.jsonl"))
        .expect("findings.jsonl in the reports folder");
    let written = parse_jsonl(&text);
    let body = |lines: &[Value]| keys(&lines[1..lines.len() - 1]);
    assert_eq!(body(&streamed), body(&written));
    assert_eq!(
        streamed.last().expect("summary")["summary"],
        written.last().expect("summary")["summary"]
    );
}

#[test]
fn streamed_json_lines_apply_waivers_baselines_and_thresholds() {
    let tmp = TempDir::new("jsonl-stream");
    let config = tmp.write(
        "m365audit.toml",
        r#"
[[waivers]]
rule = "CRED-003"
subject = "SysAid Helpdesk Mail"
reason = "no match by name: waivers name ids"

[[waivers]]
rule = "APP-003"
subject = "fa8085fe-b1b3-5828-b6e9-20f73349af84"
reason = "the vendor owns it"
"#,
    );
    let before = tmp.path().join("before.jsonl");
    Scan::new("examples/demo-tenant")
        .format("jsonl")
        .output(&before)
        .args(["--rule", "CRED-001", "--rule", "APP-003"])
        .run()
        .assert_scanned();
    let run = Scan::new("examples/demo-tenant")
        .format("jsonl")
        .arg("--config")
        .arg(&config)
        .arg("--baseline")
        .arg(&before)
        .args(["--fail-on-new", "low"])
        .run();
    // Rules that were not in the baseline's run give new failures: exit 1.
    assert_eq!(code(&run), 1, "{}", stderr(&run));
    assert!(
        run.stderr().contains("matches no finding"),
        "{}",
        run.stderr()
    );
    let lines = run.jsonl();
    let findings = &lines[1..lines.len() - 1];
    let summary = lines.last().expect("summary");
    let waived: Vec<&Value> = findings
        .iter()
        .filter(|l| l["outcome"] == "waived")
        .collect();
    assert_eq!(waived.len(), 1, "{waived:#?}");
    assert_eq!(waived[0]["rule_id"], "APP-003");
    assert_eq!(waived[0]["waiver"]["reason"], "the vendor owns it");
    assert!(waived[0]["evidence"].get("waiver").is_none());
    assert_eq!(summary["summary"]["waived"], 1);
    let states: Vec<&Value> = summary["waivers"]
        .as_array()
        .expect("waivers")
        .iter()
        .map(|w| &w["state"])
        .collect();
    assert_eq!(states, ["unmatched", "applied"]);

    // Every line but a pass says new or unchanged; the counts add up.
    let changed = |c: &str| findings.iter().filter(|l| l["change"] == c).count();
    let judged = findings.iter().filter(|l| l["outcome"] != "pass").count();
    assert_eq!(changed("new") + changed("unchanged"), judged);
    assert_eq!(summary["baseline"]["new"], changed("new"));
    assert_eq!(summary["baseline"]["unchanged"], changed("unchanged"));
    assert!(changed("unchanged") > 0 && changed("new") > 0);
    // The waived finding was failing in the baseline: unchanged, and nothing is resolved.
    assert_eq!(waived[0]["change"], "unchanged");
    assert_eq!(summary["baseline"]["resolved"], serde_json::json!([]));
}

#[test]
fn diff_and_baseline_read_v1_v2_and_json_lines_alike() {
    let tmp = TempDir::new("diff-formats");
    let mut paths = Vec::new();
    for (format, name) in [
        ("json", "r.json"),
        ("json-v1", "r.v1.json"),
        ("jsonl", "r.jsonl"),
    ] {
        let path = tmp.path().join(name);
        Scan::new("examples/demo-tenant")
            .format(format)
            .output(&path)
            .run()
            .assert_code(0);
        paths.push(path.display().to_string());
    }
    let v2 = read_report(std::path::Path::new(&paths[0]));
    let judged = common::findings(&v2)
        .iter()
        .filter(|f| f["outcome"] != "pass")
        .count();
    for old in &paths {
        for new in &paths {
            let d = m365audit(["diff", "--format", "json", old, new]);
            assert_eq!(code(&d), 0, "{old} {new}: {}", stderr(&d));
            let diff: Value = serde_json::from_slice(&d.stdout).expect("JSON");
            assert_eq!(diff["counts"]["new"], 0, "{old} -> {new}");
            assert_eq!(diff["counts"]["resolved"], 0, "{old} -> {new}");
            assert_eq!(diff["counts"]["unchanged"], judged, "{old} -> {new}");
        }
        let rescan = Scan::new("examples/demo-tenant")
            .format("json")
            .args(["--baseline", old])
            .run()
            .assert_code(0)
            .json();
        assert_eq!(rescan["baseline"]["new"], 0, "{old}");
        assert_eq!(rescan["baseline"]["unchanged"], judged, "{old}");
    }

    // A v2 report whose finding points past its subjects is refused, naming the finding.
    let mut broken = v2.clone();
    broken["findings"][0]["subject"] = 100_000.into();
    let bad = tmp.write("bad.json", broken.to_string());
    let d = m365audit(["diff", bad.to_str().expect("utf-8"), &paths[0]]);
    common::assert_input_error(&d, &["bad.json", "findings[0]", "subject 100000"]);
    // A JSON Lines file with a broken line names its line.
    let text = std::fs::read_to_string(&paths[2]).expect("jsonl");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"type\": \"finding\", ";
    let bad = tmp.write("bad.jsonl", lines.join("\n"));
    let d = m365audit(["diff", bad.to_str().expect("utf-8"), &paths[0]]);
    common::assert_input_error(&d, &["bad.jsonl:3:"]);
}
