//! Report formats, checked on real binary output: JSON against its published schema, CSV
//! against the JSON, and the table against hostile display names; completions and the manual.

use crate::common::{self, AS_OF, Scan, TempDir, code, m365audit, stderr, stdout};
use serde_json::Value;

fn validate(report: &Value) {
    common::validate_report(report);
    assert_eq!(report["schema"], "m365audit/findings/v2");
}

#[test]
fn json_reports_match_the_v1_schema_and_their_summary() {
    let out = Scan::new("examples/demo-tenant")
        .format("json")
        .arg("--include-passed")
        .run();
    let report = out.json();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    validate(&report);
    let findings = report["findings"].as_array().expect("findings");
    let count = |o: &str| findings.iter().filter(|f| f["outcome"] == o).count() as u64;
    let summary = &report["summary"];
    assert_eq!(summary["fail"], count("fail"));
    assert_eq!(summary["pass"], count("pass"));
    assert_eq!(summary["not_evaluated"], count("not_evaluated"));
    // The app registrations, and the other organization's app holding mailbox permissions.
    assert_eq!(
        summary["apps"],
        common::app_count("examples/demo-tenant") as u64
    );
    let by_sev: u64 = summary["by_severity"]
        .as_object()
        .expect("by_severity")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert_eq!(by_sev, count("fail"));

    // A report with a failed source is valid too.
    let dir = TempDir::new("schema-error");
    let bad = dir.write("bad.json", "[");
    let report = Scan::of([
        bad.to_str().expect("utf-8"),
        "tests/fixtures/URI-004/fail.json",
    ])
    .format("json")
    .run()
    .json();
    validate(&report);
    assert_eq!(report["sources"][0]["status"], "error");
    assert_eq!(report["sources"][0]["kind"], Value::Null);
}

#[test]
fn csv_has_one_row_per_finding_with_the_json_fields() {
    let report = Scan::new("examples/demo-tenant")
        .format("json")
        .run()
        .json();
    let out = m365audit([
        "scan",
        "--as-of",
        AS_OF,
        "--format",
        "csv",
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(
        header,
        [
            "rule_id",
            "slug",
            "title",
            "severity",
            "outcome",
            "subject_kind",
            "app_id",
            "object_id",
            "display_name",
            "identity",
            "item",
            "message",
            "evidence",
            "remediation",
            "references",
            "source",
            "fingerprint",
            "change"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(rows.len(), findings.len());
    for (row, f) in rows.iter().zip(findings) {
        assert_eq!(&row[0], f["rule_id"].as_str().expect("id"));
        assert_eq!(&row[11], f["message"].as_str().expect("message"));
        let evidence: Value = serde_json::from_str(&row[12]).expect("evidence is JSON");
        assert_eq!(evidence, f["evidence"]);
        assert_eq!(&row[16], f["fingerprint"].as_str().expect("fingerprint"));
        assert_eq!(&row[17], "", "no baseline, no change column");
    }
}

#[test]
fn csv_columns_can_be_chosen_and_unknown_ones_are_refused() {
    let all = Scan::new("examples/demo-tenant").format("csv").run();
    let some = Scan::new("examples/demo-tenant")
        .format("csv")
        .args(["--csv-columns", "display_name,rule_id,message"])
        .run()
        .assert_code(0)
        .stdout();
    let mut full = csv::Reader::from_reader(all.out.stdout.as_slice());
    let mut picked = csv::Reader::from_reader(some.as_bytes());
    assert_eq!(
        picked.headers().expect("header").iter().collect::<Vec<_>>(),
        ["display_name", "rule_id", "message"]
    );
    let full: Vec<csv::StringRecord> = full.records().map(|r| r.expect("row")).collect();
    let picked: Vec<csv::StringRecord> = picked.records().map(|r| r.expect("row")).collect();
    assert_eq!(picked.len(), full.len());
    for (p, f) in picked.iter().zip(&full) {
        assert_eq!((&p[0], &p[1], &p[2]), (&f[8], &f[0], &f[11]));
    }
    assert!(
        some.len() * 2 < all.stdout().len(),
        "the rule text is most of it"
    );
    Scan::new("examples/demo-tenant")
        .format("csv")
        .args(["--csv-columns", "rule_id,remedy"])
        .run()
        .assert_input_error(&["remedy", "remediation"]);
}

/// A table of more rows than one chunk (2,000) is laid out in chunks but reads as one table:
/// one top border, one header, one bottom border, every column where the first chunk put it,
/// and a row for every failing finding.
#[test]
fn a_long_table_is_one_aligned_table() {
    let tmp = TempDir::new("long-table");
    let export = tmp.path().join("export");
    common::gen_tenant(1_000, 3, &export);
    let scan = || Scan::new(&export).as_of("2026-12-01");
    let json = scan().format("json").run().assert_scanned().json();
    let fails = common::findings(&json)
        .iter()
        .filter(|f| f["outcome"] == "fail")
        .count();
    assert!(
        fails > 2_000,
        "{fails} failing findings: more than one chunk"
    );
    let text = scan().format("table").run().assert_scanned().stdout();
    let table: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
        .collect();
    let count = |c: char| table.iter().filter(|l| l.starts_with(c)).count();
    assert_eq!((count('┌'), count('╞'), count('└')), (1, 1, 1));
    let columns = |l: &str| -> Vec<usize> {
        l.chars()
            .enumerate()
            .filter(|(_, c)| matches!(c, '│' | '┆'))
            .map(|(i, _)| i)
            .collect()
    };
    let rows: Vec<&&str> = table.iter().filter(|l| l.starts_with('│')).collect();
    let first = columns(rows[0]);
    assert_eq!(first.len(), 5, "{}", rows[0]);
    for row in &rows {
        assert_eq!(columns(row), first, "{row}");
    }
    // A finding's first line names its rule in the rule column.
    let rule_lines = rows
        .iter()
        .filter(|l| {
            let cells: Vec<&str> = l.split(['│', '┆']).collect();
            cells.get(3).is_some_and(|c| is_rule_id(c.trim()))
        })
        .count();
    assert_eq!(rule_lines, fails);
}

/// `CRED-001`, `SP-002`: letters and digits, a dash, at least three digits.
fn is_rule_id(text: &str) -> bool {
    text.split_once('-').is_some_and(|(prefix, number)| {
        prefix.starts_with(|c: char| c.is_ascii_uppercase())
            && prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && number.len() >= 3
            && number.chars().all(|c| c.is_ascii_digit())
    })
}

/// An app whose display name is a spreadsheet formula and carries a terminal escape.
fn hostile_app(dir: &TempDir) -> String {
    let app = r#"{"id": "00000000-0000-4000-8000-0000000000aa", "appId": "11111111-0000-4000-8000-0000000000aa",
        "displayName": "=HYPERLINK(\"http://evil.example\",\"\u001b[31mclick\")",
        "web": {"redirectUris": ["https://*.evil.example/cb"]},
        "spa": {"redirectUris": []}, "publicClient": {"redirectUris": []}}"#;
    dir.write("hostile.json", app)
        .to_str()
        .expect("utf-8")
        .to_string()
}

#[test]
fn csv_neutralizes_formulas() {
    let dir = TempDir::new("csv-formula");
    let path = hostile_app(&dir);
    let out = m365audit([
        "scan", "--as-of", AS_OF, "--format", "csv", "--rule", "URI-003", &path,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let row = reader.records().next().expect("a row").expect("valid row");
    assert!(
        row[8].starts_with("'=HYPERLINK("),
        "display name cell: {:?}",
        &row[8]
    );
}

#[test]
fn the_table_never_prints_terminal_escapes_from_the_input() {
    let dir = TempDir::new("table-escape");
    let path = hostile_app(&dir);
    let out = m365audit(["scan", "--as-of", AS_OF, "--rule", "URI-003", &path]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("HYPERLINK"), "{text}");
    assert!(!text.contains('\u{1b}'), "raw escape in the table:\n{text}");
}

/// Completions and the manual page come from the same definitions as `--help`, so every
/// subcommand and flag is in them.
#[test]
fn completions_and_the_manual_page_cover_the_command_line() {
    for (shell, marker) in [
        ("bash", "_m365audit()"),
        ("zsh", "#compdef m365audit"),
        ("fish", "complete -c m365audit"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = m365audit(["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains(marker), "{shell}: {marker}");
        for word in ["scan", "collect", "checklist", "report-dir", "as-of"] {
            assert!(text.contains(word), "{shell} completes {word}");
        }
    }
    let man = m365audit(["man"]);
    assert_eq!(code(&man), 0, "{}", stderr(&man));
    let page = stdout(&man);
    assert!(page.contains(".TH m365audit 1"), "{page}");
    for word in ["scan", "collect", "rules", "explain", "completions"] {
        assert!(page.contains(word), "the manual lists {word}");
    }
    let bad = m365audit(["completions", "tcsh"]);
    assert_eq!(code(&bad), 2);
}
