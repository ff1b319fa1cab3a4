//! `scan --all-tenants`: each `[[tenants]]` entry scanned in its own process into its own
//! report folder, one combined summary; a broken tenant is reported and does not stop the
//! others.

use crate::common::{self, TempDir, code, m365audit, root, stderr, stdout};

/// `scan --config CONFIG --all-tenants --as-of 2026-11-22 EXTRA...`.
fn all_tenants(config: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "scan",
        "--config",
        config,
        "--all-tenants",
        "--as-of",
        "2026-11-22",
    ];
    args.extend_from_slice(extra);
    m365audit(args)
}

/// The demo tenant's path as a TOML string value (forward slashes).
fn demo_source() -> String {
    root()
        .join("examples/demo-tenant")
        .display()
        .to_string()
        .replace('\\', "/")
}

#[test]
fn every_tenant_is_scanned_and_a_broken_one_is_reported() {
    let tmp = TempDir::new("tenants");
    let demo = demo_source();
    let config = tmp.write(
        "m365audit.toml",
        format!(
            r#"[reports]
dir = "reports"

[[tenants]]
name = "contoso"
sources = ["{demo}"]

[[tenants]]
name = "broken"
sources = ["does-not-exist"]

[[tenants]]
name = "contoso-again"
sources = ["{demo}"]

[[tenants]]
name = "no-credential"
tenant = "fabrikam.onmicrosoft.com"
client_id = "11111111-2222-3333-4444-555555555555"
client_secret_env = "M365AUDIT_TEST_UNSET_SECRET"
"#
        ),
    );
    let c = config.display().to_string();
    let o = all_tenants(&c, &["--fail-on", "critical"]);
    assert_eq!(
        code(&o),
        3,
        "a failed tenant makes the run fail: {}",
        stderr(&o)
    );
    let out = stdout(&o);
    let line = |name: &str| {
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{out}"))
            .to_string()
    };
    let fails = crate::common::Scan::new(root().join("examples/demo-tenant"))
        .as_of("2026-11-22")
        .format("json")
        .run()
        .json()["summary"]["fail"]
        .clone();
    assert!(
        line("contoso").contains("over") && line("contoso").contains(&format!(" {fails} ")),
        "{fails} failures in {out}"
    );
    assert!(line("contoso-again").contains("over"), "{out}");
    assert!(line("broken").contains("could not be read"), "{out}");
    assert!(
        line("no-credential").contains("M365AUDIT_TEST_UNSET_SECRET"),
        "{out}"
    );
    assert!(out.contains("4 tenant(s): 2 scanned, 2 failed."), "{out}");
    // Each tenant's output is labelled on stderr.
    assert!(stderr(&o).contains("[broken] error:"), "{}", stderr(&o));

    let reports = tmp.path().join("reports");
    for name in ["contoso", "contoso-again"] {
        assert!(
            reports.join(name).join("latest/findings.json").is_file(),
            "{name}"
        );
    }
    assert!(!reports.join("no-credential").exists());

    // A second run compares each tenant with its previous run; the formats and CSV columns
    // asked for reach each tenant's scan.
    let o = all_tenants(
        &c,
        &[
            "--report-format",
            "jsonl,json-v1,csv",
            "--csv-columns",
            "rule_id,message",
        ],
    );
    let latest = reports.join("contoso/latest");
    for file in ["findings.jsonl", "findings.v1.json", "findings.csv"] {
        assert!(latest.join(file).is_file(), "{file}: {}", stderr(&o));
    }
    let csv = std::fs::read_to_string(latest.join("findings.csv")).expect("csv");
    assert_eq!(csv.lines().next(), Some("rule_id,message"));
    let out = stdout(&o);
    let contoso = out
        .lines()
        .find(|l| l.starts_with("contoso "))
        .expect("contoso line");
    let cols: Vec<&str> = contoso.split_whitespace().collect();
    assert_eq!(cols[3], "0", "no new findings the second time: {contoso}");
}

#[test]
fn all_tenants_needs_tenants_and_a_reports_folder() {
    let tmp = TempDir::new("tenants-usage");
    for (file, text, expect) in [
        ("empty.toml", "[scan]\n", "no [[tenants]]"),
        (
            "nodir.toml",
            "[[tenants]]\nname = \"a\"\nsources = [\"x\"]\n",
            "--report-dir",
        ),
        (
            "bad.toml",
            "[[tenants]]\nname = \"a\"\ntenant = \"t\"\n",
            "bad.toml:1:1",
        ),
    ] {
        let path = tmp.write(file, text);
        let o = m365audit([
            "scan",
            "--config",
            path.to_str().expect("utf-8"),
            "--all-tenants",
        ]);
        assert_eq!(code(&o), 2, "{file}");
        assert!(stderr(&o).contains(expect), "{file}: {}", stderr(&o));
    }

    // A clear-text base URL would fail every live tenant: refused once, before any run.
    let path = tmp.write(
        "live.toml",
        "[reports]\ndir = \"reports\"\n\n[[tenants]]\nname = \"a\"\ntenant = \"fabrikam.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n",
    );
    let o = m365audit([
        "scan",
        "--config",
        path.to_str().expect("utf-8"),
        "--all-tenants",
        "--graph-url",
        "http://graph.example.invalid",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--graph-url \"http://graph.example.invalid\": http:// would send the access token in clear text"), "{}", stderr(&o));
    assert!(!tmp.path().join("reports").exists());
}

/// `--shard I/N`: N runs (a Kubernetes Indexed Job's completions) scan every tenant exactly
/// once between them; a bad shard is a usage error.
#[test]
fn shards_cover_every_tenant_exactly_once() {
    let tmp = TempDir::new("shards");
    let demo = demo_source();
    let names: Vec<String> = (0..12).map(|i| format!("customer-{i:02}")).collect();
    let mut toml = String::from("[reports]\ndir = \"reports\"\n");
    for name in &names {
        toml.push_str(&format!(
            "\n[[tenants]]\nname = \"{name}\"\nsources = [\"{demo}\"]\n"
        ));
    }
    let config = tmp.write("m365audit.toml", toml);
    let c = config.display().to_string();
    let mut seen: Vec<String> = Vec::new();
    for shard in ["0/3", "1/3", "2/3"] {
        let o = all_tenants(&c, &["--shard", shard]);
        assert_eq!(code(&o), 0, "{shard}: {}", stderr(&o));
        let scanned: Vec<String> = stdout(&o)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with("customer-"))
            .map(String::from)
            .collect();
        assert!(
            stderr(&o).contains(&format!(
                "shard {shard}: {} of the 12 tenant(s)",
                scanned.len()
            )),
            "{}",
            stderr(&o)
        );
        seen.extend(scanned);
    }
    seen.sort();
    assert_eq!(seen, names, "every tenant exactly once");
    let folders: Vec<String> = {
        let mut f: Vec<String> = std::fs::read_dir(tmp.path().join("reports"))
            .expect("reports")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n != "history.sqlite")
            .collect();
        f.sort();
        f
    };
    assert_eq!(folders, names);
    // Every tenant's run recorded in the one store beside them.
    let h = m365audit([
        "history", "--config", &c, "--view", "runs", "--format", "csv",
    ]);
    assert_eq!(code(&h), 0, "{}", stderr(&h));
    let mut recorded: Vec<String> = stdout(&h)
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(String::from)
        .collect();
    recorded.sort();
    assert_eq!(recorded, names);

    for bad in ["3/3", "1/0", "x/2", "1"] {
        let o = m365audit(["scan", "--config", &c, "--all-tenants", "--shard", bad]);
        common::assert_input_error(&o, &["--shard"]);
    }
}
