//! Markdown and JUnit reports: parsed back and compared with the JSON report of the same run.

use crate::common::{self, Scan, TempDir};
use quick_xml::events::Event;

#[test]
fn junit_parses_and_counts_match_the_json() {
    let json = Scan::new("examples/demo-tenant")
        .format("json")
        .run()
        .json();
    let xml = Scan::new("examples/demo-tenant")
        .format("junit")
        .run()
        .assert_code(0)
        .stdout();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut skipped, mut suites) = (0, 0, 0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => suites += 1,
                b"testcase" => cases += 1,
                b"failure" => failures += 1,
                b"skipped" => skipped += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(cases, findings.len());
    assert_eq!(
        failures,
        json["summary"]["fail"].as_u64().expect("fail") as usize
    );
    assert_eq!(
        skipped,
        json["summary"]["not_evaluated"].as_u64().expect("ne") as usize
    );
    let rules: std::collections::HashSet<&str> = findings
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert_eq!(suites, rules.len());
}

#[test]
fn markdown_lists_what_needs_attention_and_escapes_cells() {
    let json = Scan::new("examples/demo-tenant")
        .format("json")
        .run()
        .json();
    let md = Scan::new("examples/demo-tenant")
        .format("markdown")
        .run()
        .assert_code(0)
        .stdout();
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| Severity"))
        .count();
    let expected = json["summary"]["fail"].as_u64().expect("fail")
        + json["summary"]["not_evaluated"].as_u64().expect("ne");
    assert_eq!(rows as u64, expected);
    let failing = format!("**{} failing**", json["summary"]["fail"]);
    assert!(md.contains(&failing), "{md}");

    // A display name with a pipe and markup stays one cell.
    let tmp = TempDir::new("md-hostile");
    let file = tmp.write(
        "app.json",
        r#"{"id": "00000000-0000-4000-8000-0000000000ab", "appId": "11111111-0000-4000-8000-0000000000ab",
            "displayName": "a|b <script>x</script>", "web": {"redirectUris": ["http://evil.example/cb"]}}"#,
    );
    let md = Scan::new(&file)
        .format("markdown")
        .run()
        .assert_code(0)
        .stdout();
    assert!(md.contains(r"a\|b &lt;script&gt;x&lt;/script&gt;"), "{md}");
    let xml = Scan::new(&file)
        .format("junit")
        .run()
        .assert_code(0)
        .stdout();
    assert!(xml.contains("a|b &lt;script&gt;"), "{xml}");
    let mut reader = quick_xml::Reader::from_str(&xml);
    while !matches!(reader.read_event().expect("well-formed"), Event::Eof) {}
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            common::root().join("tests/fixtures/sarif/sarif-schema-2.1.0.json"),
        )
        .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let json = Scan::new("examples/demo-tenant")
        .format("json")
        .arg("--include-passed")
        .run()
        .json();
    let text = Scan::new("examples/demo-tenant")
        .format("sarif")
        .arg("--include-passed")
        .run()
        .assert_code(0)
        .stdout();
    let sarif: serde_json::Value = serde_json::from_str(&text).expect("SARIF is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let run = &sarif["runs"][0];
    let results = run["results"].as_array().expect("results");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(results.len(), findings.len());
    assert_eq!(
        run["tool"]["driver"]["rules"]
            .as_array()
            .expect("rules")
            .len(),
        common::shipped_rule_count()
    );
    for (r, f) in results.iter().zip(findings) {
        assert_eq!(r["ruleId"], f["rule_id"]);
        assert_eq!(
            r["partialFingerprints"]["m365auditFinding/v1"],
            f["fingerprint"]
        );
        let rule =
            &run["tool"]["driver"]["rules"][r["ruleIndex"].as_u64().expect("index") as usize];
        assert_eq!(rule["id"], r["ruleId"]);
    }
    let open = results.iter().filter(|r| r["kind"] == "open").count();
    assert_eq!(
        open as u64,
        json["summary"]["not_evaluated"].as_u64().expect("ne")
    );
}
