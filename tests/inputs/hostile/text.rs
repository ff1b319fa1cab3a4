//! Hostile text: dates in every form PowerShell writes and some no tool writes, display
//! names aimed at spreadsheets, terminals and browsers, and tenant names aimed at the
//! file system.

use std::path::Path;

use super::{demo_apps, demo_copy};
use crate::common::{AS_OF, Scan, TempDir, run};

fn app_with_secret(end: &str) -> String {
    format!(
        r#"[{{"appId": "11111111-1111-1111-1111-111111111111", "displayName": "Dates",
  "passwordCredentials": [{{"keyId": "00000000-0000-0000-0000-000000000001",
  "displayName": "s", "startDateTime": "2025-01-01T00:00:00Z", "endDateTime": {end}}}]}}]"#
    )
}

#[test]
fn powershell_date_forms_are_read_as_the_same_instant() {
    let tmp = TempDir::new("hostile-dates");
    let forms = [
        r#""2026-01-01T00:00:00Z""#,
        r#""\/Date(1767225600000)\/""#,
        r#""/Date(1767225600000)/""#,
        r#""/Date(1767225600000+0100)/""#,
        r#"{"value": "\/Date(1767225600000)\/", "DateTime": "Thursday, January 1, 2026 12:00:00 AM"}"#,
        r#""2026-01-01T01:00:00.0000000+01:00""#,
        r#""2026-01-01 00:00:00Z""#,
        r#""2026-01-01""#,
    ];
    for form in forms {
        let file = tmp.write("apps.json", app_with_secret(form));
        let run = Scan::new(&file).format("json").run();
        run.assert_scanned();
        assert!(
            run.stdout()
                .contains("expired on 2026-01-01 (151 days ago)"),
            "{form}: {}",
            run.stdout()
        );
    }
}

#[test]
fn impossible_dates_are_errors_naming_the_property() {
    let tmp = TempDir::new("hostile-bad-dates");
    let cases = [
        ("NaN", "apps.json:3:"),
        ("Infinity", "apps.json:3:"),
        ("1e400", "number out of range"),
        ("20261231", "passwordCredentials[0].endDateTime"),
        (r#""/Date(99999999999999999999)/""#, "unrecognised date"),
        (r#""/Date(NaN)/""#, "unrecognised date"),
        (r#""+275760-09-13T00:00:00Z""#, "unrecognised date"),
        (r#""2026-02-30T00:00:00Z""#, "unrecognised date"),
        (r#""12/31/2026 10:00:00""#, "unrecognised date"),
        (
            r#"{"DateTime": "Thursday, January 1, 2026"}"#,
            "a date object without",
        ),
    ];
    for (end, needle) in cases {
        let file = tmp.write("apps.json", app_with_secret(end));
        let run = Scan::new(&file).format("json").run();
        run.assert_input_error(&["apps.json", needle]);
    }
}

/// Display names an attacker controls (any user who can register an app can name it).
const NAMES: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example\",\"open\")",
    "+cmd|' /C calc'!A0",
    "\u{1b}[2J\u{1b}]0;owned\u{7}Red\u{1b}[31m",
    "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "@SUM(1+1)\t\r-1",
    // A right-to-left override: shows as "Mail sync (trusted)exe.txt" reversed at the end.
    "Mail sync\u{202E}txt.exe\u{2066}",
];

/// Characters that must not reach a reader of the table, Markdown, JUnit or checklist
/// as themselves: control characters (but line breaks) and bidirectional overrides.
fn hidden(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn export_with_hostile_names(tmp: &TempDir) -> std::path::PathBuf {
    let export = demo_copy(tmp);
    let mut apps = demo_apps();
    for (app, name) in apps.iter_mut().zip(NAMES) {
        app["displayName"] = serde_json::Value::from(name);
    }
    std::fs::write(
        export.join("applications.json"),
        serde_json::to_string(&serde_json::json!({ "value": apps })).expect("JSON"),
    )
    .expect("write");
    export
}

#[test]
fn hostile_display_names_are_inert_in_every_format() {
    let tmp = TempDir::new("hostile-names");
    let export = export_with_hostile_names(&tmp);

    let table = Scan::new(&export)
        .format("table")
        .args(["--color", "never"])
        .run();
    table.assert_scanned();
    let text = table.stdout();
    assert!(text.contains("HYPERLINK"), "the names are shown");
    let control: Vec<char> = text.chars().filter(|&c| hidden(c)).collect();
    assert!(
        control.is_empty(),
        "control characters in the table: {control:?}"
    );

    let html = Scan::new(&export).format("html").run();
    html.assert_scanned();
    let page = html.stdout();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "escaped"
    );
    assert!(!page.contains("<img src=x"), "raw markup from a name");
    assert_eq!(
        page.matches("<script").count(),
        1,
        "only the report's own script"
    );

    let csv = Scan::new(&export).format("csv").run();
    csv.assert_scanned();
    m365audit_testkit::harness::check_csv(&csv.stdout());
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.out.stdout.as_slice());
    let formula = "'=HYPERLINK(\"http://evil.example\",\"open\")";
    let names = reader
        .records()
        .filter(|r| r.as_ref().is_ok_and(|r| r.iter().any(|c| c == formula)))
        .count();
    assert!(names > 0, "the formula name is there, neutralized");

    for format in ["markdown", "junit"] {
        let out = Scan::new(&export).format(format).run();
        out.assert_scanned();
        let hidden: Vec<char> = out
            .stdout()
            .chars()
            .filter(|&c| hidden(c) && !"\t\r".contains(c))
            .collect();
        assert!(hidden.is_empty(), "{format}: {hidden:?}");
    }
    // Records keep the names as they are, escaped by JSON's own rules.
    for format in ["sarif", "json"] {
        let out = Scan::new(&export).format(format).run();
        out.assert_scanned();
        assert!(
            !out.stdout().contains('\u{1b}'),
            "{format}: a raw escape character"
        );
        assert!(
            out.stdout().contains("\\u001b[2J"),
            "{format}: the name is kept"
        );
    }
}

#[test]
fn hostile_display_names_are_inert_in_every_checklist_format() {
    let tmp = TempDir::new("hostile-checklist");
    let export = export_with_hostile_names(&tmp);
    let apps = demo_apps();
    for (app, name) in apps.iter().zip(NAMES) {
        let app_id = app["appId"].as_str().expect("an appId");
        for format in ["table", "markdown", "csv", "json"] {
            let mut args = vec!["checklist", "--profile", "sage-crm", "--as-of", AS_OF];
            args.extend(["--app", app_id, "-f", format]);
            let export = export.to_str().expect("a UTF-8 path");
            args.push(export);
            let out = run(&args);
            out.assert_scanned();
            let text = out.stdout();
            match format {
                "table" | "markdown" => {
                    let shown: Vec<char> = text.chars().filter(|&c| hidden(c)).collect();
                    assert!(shown.is_empty(), "{format} of {name:?}: {shown:?}");
                    if format == "markdown" {
                        assert!(!text.contains("<script"), "raw markup from {name:?}");
                    }
                }
                "csv" => m365audit_testkit::harness::check_csv(&text),
                _ => {
                    let json: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                    assert_eq!(json["app"]["display_name"], *name, "kept as it is");
                }
            }
        }
    }
}

#[test]
fn hostile_display_names_are_inert_in_reach_diff_and_messages() {
    let tmp = TempDir::new("hostile-commands");
    let export = export_with_hostile_names(&tmp);
    let shown = |what: &str, text: &str| {
        let hidden: Vec<char> = text.chars().filter(|&c| hidden(c)).collect();
        assert!(hidden.is_empty(), "{what}: {hidden:?}");
    };
    let path = export.to_str().expect("a UTF-8 path");

    let reach = run(["reach", "--format", "table", path]);
    reach.assert_scanned();
    assert!(reach.stdout().contains("owned"), "{}", reach.stdout());
    shown("reach", &reach.stdout());

    // Without --app, checklist lists the candidates, by name, on standard error.
    let mut listed = String::new();
    for profile in [
        "sage-crm",
        "sensehq-calendar-sync",
        "sysaid-email",
        "sinch-contact-pro",
    ] {
        let out = run(["checklist", "--profile", profile, path]);
        assert_eq!(out.code(), 2, "{}", out.stderr());
        listed.push_str(&out.stderr());
    }
    assert!(
        listed.contains("Red"),
        "the escape-laden name is listed: {listed}"
    );
    shown("checklist candidates", &listed);

    // diff: every finding of the hostile apps is new against a tenant of the last app only.
    let old_tmp = TempDir::new("hostile-commands-old");
    let old_export = demo_copy(&old_tmp);
    let last = demo_apps().pop().expect("demo apps");
    std::fs::write(
        old_export.join("applications.json"),
        serde_json::json!({ "value": [last] }).to_string(),
    )
    .expect("write");
    let (old, new) = (tmp.path().join("old.json"), tmp.path().join("new.json"));
    for (source, report) in [(&old_export, &old), (&export, &new)] {
        let out = Scan::new(source).format("json").output(report).run();
        out.assert_scanned();
    }
    let diff = run([
        "diff",
        old.to_str().expect("UTF-8"),
        new.to_str().expect("UTF-8"),
    ]);
    assert!(diff.stdout().contains("HYPERLINK"), "{}", diff.stdout());
    assert!(diff.stdout().contains("Red"), "{}", diff.stdout());
    shown("diff", &diff.stdout());

    // An error quoting the input: a rule whose id carries escapes.
    let rules = tmp.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::write(
        rules.join("USR-001.toml"),
        // (TOML's own escapes: the id holds the raw characters once parsed.)
        "id = \"USR-001\\u001b[2J\\u001b]0;owned\\u0007\"\n",
    )
    .expect("write");
    let out = Scan::new(&export)
        .args(["--rules", rules.to_str().expect("UTF-8")])
        .run();
    assert_eq!(out.code(), 2, "{}", out.stderr());
    assert!(out.stderr().contains("USR-001"), "{}", out.stderr());
    shown("a rule file error", &out.stderr());
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read a folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(dir)
                        .expect("under dir")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    out
}

#[test]
fn tenant_and_report_names_cannot_leave_the_reports_folder() {
    let tmp = TempDir::new("hostile-paths");
    let export = demo_copy(&tmp);
    let reports = tmp.path().join("reports");
    let names = [
        "../../escaped",
        "/etc/passwd",
        "C:\\Windows\\evil",
        "..",
        ".",
        "",
        "\u{0}nul",
        "con",
    ];
    for name in names {
        std::fs::write(
            export.join("snapshot.json"),
            serde_json::json!({ "tenant": name }).to_string(),
        )
        .expect("write snapshot.json");
        let r = Scan::new(&export)
            .format("json")
            .args(["--report-dir", reports.to_str().expect("utf-8")])
            .run();
        r.assert_scanned();
        if name.contains('\0') {
            continue; // no command line can carry a NUL
        }
        let r = run([
            "scan",
            "--as-of",
            AS_OF,
            "-f",
            "json",
            "--report-dir",
            reports.to_str().expect("utf-8"),
            "--report-name",
            name,
            export.to_str().expect("utf-8"),
        ]);
        r.assert_scanned();
    }
    for file in files_under(tmp.path()) {
        assert!(
            file.starts_with("reports/") || file.starts_with("export/"),
            "written outside the reports folder: {file}"
        );
    }
    for tenant in std::fs::read_dir(&reports).expect("reports") {
        let name = tenant.expect("an entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            !name.starts_with('.') && !name.contains(['/', '\\', ':', '\0']),
            "tenant folder {name:?}"
        );
    }
}
