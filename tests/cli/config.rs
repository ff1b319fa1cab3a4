//! `m365audit.toml`: `init`, rule selection, severity and parameter overrides, default
//! sources, and waivers (applied, expired, unmatched); bad files are errors with line and
//! column.

use crate::common::{self, Scan, TempDir, code, m365audit, root, stderr, stdout};
use serde_json::Value;

const SYSAID: &str = "4a3722f9-bd6b-509b-b704-1fa20ed4773a";
const SYSAID_SECRET: &str = "d8bbbef0-90c8-51a4-90e7-8b46dfdb7739";
const EXACT: &str = "ca44ea0a-4ca5-5b0e-91c8-2eb1007a3a77";

fn demo() -> String {
    root().join("examples/demo-tenant").display().to_string()
}

/// A JSON scan of the demo on 2026-11-22 with `--config CONFIG`.
fn with_config(config: &std::path::Path) -> Scan {
    Scan::new(demo())
        .as_of("2026-11-22")
        .format("json")
        .arg("--config")
        .arg(config)
}

fn findings(r: &Value, rule: &str) -> Vec<Value> {
    common::findings(r)
        .into_iter()
        .filter(|f| f["rule_id"] == rule)
        .collect()
}

#[test]
fn init_writes_a_template_that_loads() {
    let tmp = TempDir::new("init");
    let path = tmp.path().join("m365audit.toml");
    let p = path.display().to_string();
    let o = m365audit(["init", &p]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = m365audit(["init", &p]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--force"));
    let run = with_config(&path).run();
    let err = run.stderr();
    assert_eq!(run.code(), 0, "{err}");
    assert!(err.is_empty(), "{err}");
    let plain = Scan::new(demo()).as_of("2026-11-22").format("json").run();
    assert_eq!(
        run.json()["summary"],
        plain.json()["summary"],
        "the commented template changes nothing"
    );
}

#[test]
fn waivers_apply_expire_and_are_reported_when_unmatched() {
    let tmp = TempDir::new("waivers");
    let path = tmp.write(
        "m365audit.toml",
        format!(
            r#"[[waivers]]
rule = "CRED-003"
subject = "{SYSAID}"
item = "{SYSAID_SECRET}"
reason = "Vendor requires 24 months"
expires = "2027-01-31"
ticket = "CHG-1"

[[waivers]]
rule = "URI-004"
subject = "{EXACT}"
reason = "accepted last year"
expires = "2026-01-01"

[[waivers]]
rule = "APP-003"
subject = "00000000-0000-0000-0000-000000000000"
reason = "stale entry"
"#
        ),
    );
    let run = with_config(&path).run();
    let (r, err) = (run.json(), run.stderr());
    let cred = findings(&r, "CRED-003");
    let sysaid: Vec<&Value> = cred
        .iter()
        .filter(|f| f["subject"]["app_id"] == SYSAID)
        .collect();
    assert_eq!(sysaid.len(), 1);
    assert_eq!(sysaid[0]["outcome"], "waived");
    assert_eq!(sysaid[0]["waiver"]["reason"], "Vendor requires 24 months");
    assert_eq!(sysaid[0]["waiver"]["ticket"], "CHG-1");
    assert!(sysaid[0]["evidence"].get("waiver").is_none());
    assert!(
        sysaid[0]["evidence"]["lifetime_days"].is_number()
            || sysaid[0]["evidence"].as_object().expect("evidence").len() > 1
    );
    assert_eq!(r["summary"]["waived"], 1);

    // Expired: the finding fails again, and the waiver is reported.
    let uri = findings(&r, "URI-004");
    assert!(
        uri.iter()
            .any(|f| f["subject"]["app_id"] == EXACT && f["outcome"] == "fail")
    );
    let states: Vec<(&str, &str)> = r["waivers"]
        .as_array()
        .expect("waivers")
        .iter()
        .map(|w| {
            (
                w["rule"].as_str().expect("rule"),
                w["state"].as_str().expect("state"),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("CRED-003", "applied"),
            ("URI-004", "expired"),
            ("APP-003", "unmatched")
        ]
    );
    assert!(
        err.contains("m365audit.toml:9:") && err.contains("expired on 2026-01-01"),
        "{err}"
    );
    assert!(
        err.contains("m365audit.toml:15:") && err.contains("matches no finding"),
        "{err}"
    );

    // The table says so too.
    let o = m365audit([
        "scan",
        "--config",
        path.to_str().expect("utf-8"),
        "--as-of",
        "2026-11-22",
        &demo(),
    ]);
    let text = stdout(&o);
    assert!(
        text.contains("1 finding(s) waived") && text.contains("matches no finding"),
        "{text}"
    );
}

#[test]
fn rules_can_be_disabled_reweighted_and_reparameterized() {
    let tmp = TempDir::new("rules-config");
    let path = tmp.write(
        "m365audit.toml",
        "[scan]\nfail_on = \"critical\"\n\n[rules]\ndisable = [\"APP-003\"]\n\n[rules.severity]\n\"URI-001\" = \"critical\"\n\n[rules.params]\nCRED-002 = { warn_days = 10 }\n",
    );
    let run = with_config(&path).run();
    let (r, err, exit) = (run.json(), run.stderr(), run.code());
    assert_eq!(exit, 1, "fail_on from the config: {err}");
    assert!(findings(&r, "APP-003").is_empty());
    assert!(
        findings(&r, "URI-001")
            .iter()
            .all(|f| f["severity"] == "critical")
    );
    let expiring = findings(&r, "CRED-002");
    assert_eq!(
        expiring.len(),
        1,
        "only the credential expiring within 10 days"
    );
    assert!(
        expiring[0]["message"]
            .as_str()
            .expect("message")
            .contains("in 5 days")
    );

    // The command line wins over the file.
    let exit = with_config(&path)
        .args(["--fail-on", "info", "--rule", "APP-001"])
        .run()
        .code();
    assert_eq!(exit, 1);
    let run = with_config(&path).arg("--no-exit-codes").run();
    let (err, exit) = (run.stderr(), run.code());
    assert_eq!(exit, 0);
    assert!(err.contains("--no-exit-codes"), "{err}");
}

#[test]
fn default_sources_come_from_the_config_folder() {
    let tmp = TempDir::new("config-sources");
    let path = tmp.write(
        "m365audit.toml",
        format!("[scan]\nsources = [\"{}\"]\n", demo().replace('\\', "/")),
    );
    let o = m365audit([
        "scan",
        "--config",
        path.to_str().expect("utf-8"),
        "--as-of",
        "2026-11-22",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let apps = format!("{} app(s)", common::app_count("examples/demo-tenant"));
    assert!(stdout(&o).contains(&apps), "{apps}: {}", stdout(&o));
    let o = m365audit(["scan"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no SOURCE"), "{}", stderr(&o));
}

#[test]
fn bad_config_files_name_the_line() {
    let tmp = TempDir::new("bad-config");
    for (text, expect) in [
        ("[scan]\nfail_onn = \"high\"\n", "m365audit.toml:2:1"),
        ("[scan]\nfail_on = \"severe\"\n", "is not a severity"),
        (
            "[rules]\ndisable = [\"CRED-999\"]\n",
            "unknown rule id \"CRED-999\"",
        ),
        (
            "[[waivers]]\nrule = \"CRED-003\"\nsubject = \"x\"\nreason = \" \"\n",
            "m365audit.toml:1:1: a waiver needs a reason",
        ),
        (
            "[[waivers]]\nrule = \"CRED-003\"\nsubject = \"x\"\nreason = \"r\"\nexpires = \"31/01/2027\"\n",
            "m365audit.toml:5:11",
        ),
        (
            "[rules.params]\nCRED-002 = { warn_dayz = 3 }\n",
            "warn_dayz",
        ),
        ("[report]\ndir = \"r\"\n", "unknown key \"report\""),
        ("[reports]\nformats = [\"pdf\"]\n", "pdf"),
    ] {
        let path = tmp.write("m365audit.toml", text);
        let run = with_config(&path).run();
        let (err, exit) = (run.stderr(), run.code());
        assert_eq!(exit, 2, "{text}: {err}");
        assert!(err.contains(expect), "{text}: {err}");
    }
}
