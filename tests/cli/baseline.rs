//! `scan --baseline`, `--fail-on-new` and `m365audit diff`: findings matched across runs by
//! fingerprint (rule + subject + item), never by message text.

use std::path::Path;

use crate::common::{self, Scan, TempDir, code, copy_dir, m365audit, root, stderr, stdout};
use serde_json::Value;

/// A report file, checked against its schema.
fn read(path: &Path) -> Value {
    common::read_report(path)
}

/// The demo tenant with SysAid's secret expired and Exact's implicit grant turned off.
fn changed_demo(tmp: &TempDir) -> std::path::PathBuf {
    let dir = tmp.path().join("tenant");
    copy_dir(&root().join("examples/demo-tenant"), &dir);
    let path = dir.join("applications.json");
    let mut apps = read(&path);
    for a in apps["value"].as_array_mut().expect("apps") {
        if a["displayName"] == "SysAid Helpdesk Mail" {
            a["passwordCredentials"][0]["endDateTime"] = "2025-06-15T13:30:00Z".into();
        }
        if a["displayName"] == "Exact Globe+ Exchange Online" {
            a["web"]["implicitGrantSettings"]["enableAccessTokenIssuance"] = false.into();
        }
    }
    std::fs::write(&path, apps.to_string()).expect("write");
    dir
}

#[test]
fn baseline_marks_new_unchanged_and_resolved() {
    let tmp = TempDir::new("baseline");
    let before = tmp.path().join("before.json");
    Scan::new(root().join("examples/demo-tenant"))
        .as_of("2026-11-22")
        .format("json")
        .output(&before)
        .run()
        .assert_scanned();
    let tenant = changed_demo(&tmp);
    let after = tmp.path().join("after.json");
    let b = before.display().to_string();
    Scan::new(&tenant)
        .as_of("2026-11-22")
        .format("json")
        .output(&after)
        .args(["--baseline", &b])
        .run()
        .assert_scanned();

    let report = read(&after);
    let findings = common::findings(&report);
    let new: Vec<String> = findings
        .iter()
        .filter(|f| f["change"] == "new")
        .map(|f| format!("{} {}", f["rule_id"], f["subject"]["display_name"]))
        .collect();
    assert_eq!(
        new,
        [
            r#""CRED-001" "SysAid Helpdesk Mail""#,
            r#""CRED-004" "SysAid Helpdesk Mail""#
        ]
    );
    let unchanged = findings
        .iter()
        .filter(|f| f["change"] == "unchanged")
        .count();
    assert_eq!(report["baseline"]["unchanged"], unchanged);
    assert_eq!(report["baseline"]["new"], 2);
    let resolved: Vec<&str> = report["baseline"]["resolved"]
        .as_array()
        .expect("resolved")
        .iter()
        .filter_map(|r| r["rule_id"].as_str())
        .collect();
    // The rotated secret also no longer breaks SysAid's app management policy, and the
    // never-used one is gone.
    assert_eq!(
        resolved,
        [
            "CRED-002",
            "CRED-003",
            "CRED-005",
            "POLICY-002",
            "URI-004",
            "USAGE-002"
        ]
    );

    // --fail-on-new looks only at new failures.
    let out = tmp.path().join("x.json");
    for (fail_on_new, exit) in [("high", 1), ("critical", 0)] {
        let run = Scan::new(&tenant)
            .as_of("2026-11-22")
            .format("json")
            .output(&out)
            .args(["--baseline", &b, "--fail-on-new", fail_on_new])
            .run();
        assert_eq!(
            run.assert_scanned().code(),
            exit,
            "--fail-on-new {fail_on_new}"
        );
    }

    // The table marks new findings and lists the resolved ones.
    let t = m365audit([
        "scan",
        "--as-of",
        "2026-11-22",
        "--baseline",
        &b,
        tenant.to_str().expect("utf-8"),
    ]);
    let text = stdout(&t);
    assert!(text.contains("NEW: Client secret SysAid OAuth"), "{text}");
    let summary = format!("2 new, {unchanged} unchanged, {} resolved", resolved.len());
    assert!(text.contains(&summary), "{summary} in {text}");

    // diff says the same from the two files.
    let a = after.display().to_string();
    let d = m365audit(["diff", "--format", "json", &b, &a]);
    assert_eq!(code(&d), 0, "{}", stderr(&d));
    let diff: Value = serde_json::from_slice(&d.stdout).expect("JSON");
    assert_eq!(diff["counts"]["new"], 2);
    assert_eq!(diff["counts"]["resolved"], resolved.len());
    assert_eq!(diff["counts"]["unchanged"], report["baseline"]["unchanged"]);
    assert_eq!(
        code(&m365audit(["diff", "--fail-on-new", "high", &b, &a])),
        1
    );
}

#[test]
fn fingerprints_ignore_message_text_and_old_reports_compare_too() {
    let tmp = TempDir::new("fingerprint");
    let demo = root().join("examples/demo-tenant");
    let (day1, day2) = (tmp.path().join("d1.json"), tmp.path().join("d2.json"));
    for (day, report) in [("2026-11-22", &day1), ("2026-11-23", &day2)] {
        Scan::new(&demo)
            .as_of(day)
            .format("json")
            .output(report)
            .run()
            .assert_scanned();
    }
    // Day counts in messages change from one day to the next; the findings do not.
    assert_ne!(
        std::fs::read_to_string(&day1).expect("d1"),
        std::fs::read_to_string(&day2).expect("d2")
    );
    let (a, b) = (day1.display().to_string(), day2.display().to_string());
    // diff compares failing and not-evaluated findings.
    let compared = read(&day1)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["outcome"] == "fail" || f["outcome"] == "not_evaluated")
        .count();
    let same = format!("0 new, 0 resolved, {compared} unchanged");
    let d = m365audit(["diff", &a, &b]);
    assert!(stdout(&d).contains(&same), "{same} in {}", stdout(&d));

    // A report without the fingerprint field (older versions) gives the same result.
    let mut old = read(&day1);
    for f in old["findings"].as_array_mut().expect("findings") {
        f.as_object_mut().expect("object").remove("fingerprint");
    }
    let stripped = tmp.path().join("old.json");
    std::fs::write(&stripped, old.to_string()).expect("write");
    let d = m365audit(["diff", stripped.to_str().expect("utf-8"), &b]);
    assert!(stdout(&d).contains(&same), "{same} in {}", stdout(&d));
}

#[test]
fn a_bad_baseline_is_a_usage_error() {
    let tmp = TempDir::new("bad-baseline");
    let bad = tmp.write(
        "bad.json",
        "{\"schema\": \"something/else\", \"findings\": []}",
    );
    let o = m365audit([
        "scan",
        "--baseline",
        bad.to_str().expect("utf-8"),
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("bad.json") && stderr(&o).contains("m365audit/findings/v1"),
        "{}",
        stderr(&o)
    );
    let broken = tmp.write("broken.json", "{\"schema\": ");
    let o = m365audit([
        "diff",
        broken.to_str().expect("utf-8"),
        bad.to_str().expect("utf-8"),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("broken.json:1:"), "{}", stderr(&o));
}
