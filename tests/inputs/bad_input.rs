//! Bad input gets a clear error naming the file (line, column, rule id), exit code 2, never a
//! panic, and the other sources are still scanned.

use crate::common::{
    self, AS_OF, Scan, TempDir, assert_input_error, code, m365audit, stderr, stdout,
};

#[test]
fn truncated_json_names_file_line_and_column() {
    let dir = TempDir::new("truncated");
    let f = dir.write(
        "apps.json",
        "[\n  {\"appId\": \"1\", \"passwordCredentials\": [\n",
    );
    let out = m365audit(["scan", f.to_str().expect("utf-8 path")]);
    assert_input_error(&out, &[&format!("{}:3:", f.display()), "truncated"]);
}

#[test]
fn a_wrong_type_names_the_json_path() {
    let dir = TempDir::new("wrongtype");
    let f = dir.write(
        "apps.json",
        "[{\"appId\": \"1\", \"signInAudience\": \"AzureADMyOrg\"},\n {\"appId\": \"2\", \"passwordCredentials\": [{\"endDateTime\": 20261231}]}]",
    );
    let out = m365audit(["scan", f.to_str().expect("utf-8 path")]);
    assert_input_error(&out, &[":2:", "[1].passwordCredentials[0].endDateTime"]);
}

#[test]
fn an_unparseable_date_is_an_error_not_an_unknown() {
    let dir = TempDir::new("baddate");
    let f = dir.write(
        "apps.json",
        "[{\"appId\": \"1\", \"passwordCredentials\": [{\"endDateTime\": \"31/12/2026\"}]}]",
    );
    let out = m365audit(["scan", f.to_str().expect("utf-8 path")]);
    assert_input_error(&out, &["unrecognised date \"31/12/2026\""]);
}

#[test]
fn an_empty_file_is_an_error_with_a_hint() {
    let dir = TempDir::new("empty");
    let f = dir.write("apps.json", "");
    let out = m365audit(["scan", f.to_str().expect("utf-8 path")]);
    assert_input_error(&out, &["file is empty", "-InputObject"]);
}

#[test]
fn an_empty_file_listed_in_snapshot_json_means_collected_none() {
    let dir = TempDir::new("collected-none");
    dir.write(
        "snapshot.json",
        r#"{"tenant": "t", "parts": ["applications.json", "oauth2PermissionGrants.json"]}"#,
    );
    dir.write("applications.json", "[]");
    dir.write("oauth2PermissionGrants.json", "");
    let out = m365audit(["scan", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_file_that_is_not_applications_is_refused() {
    let dir = TempDir::new("sps");
    let f = dir.write(
        "sps.json",
        r#"{"value": [{"id": "1", "appId": "2", "servicePrincipalType": "Application"}]}"#,
    );
    let out = m365audit(["scan", f.to_str().expect("utf-8 path")]);
    assert_input_error(
        &out,
        &["service principal, not an application registration"],
    );
    let users = dir.write("users.json", r#"[{"id": "1", "displayName": "Megan"}]"#);
    let out = m365audit(["scan", users.to_str().expect("utf-8 path")]);
    assert_input_error(&out, &["no application registrations found"]);
}

#[test]
fn a_missing_source_and_a_directory_that_is_not_an_export() {
    let out = m365audit(["scan", "tests/fixtures/does-not-exist.json"]);
    assert_input_error(&out, &["does-not-exist.json: cannot read"]);
    let out = m365audit(["scan", "tests/fixtures/CRED-001"]);
    assert_input_error(&out, &["not an export directory"]);
}

#[test]
fn other_sources_are_still_scanned_and_the_failure_is_reported() {
    let dir = TempDir::new("mixed");
    let bad = dir.write("bad.json", "{\"appId\": ");
    let bad = bad.to_str().expect("utf-8 path");
    let out = Scan::of([bad, "tests/fixtures/URI-003/fail.json"])
        .format("json")
        .run();
    let report = out.json();
    assert_eq!(code(&out), 2);
    let sources = report["sources"].as_array().expect("sources");
    assert_eq!(sources[0]["status"], "error");
    assert!(
        sources[0]["errors"][0]
            .as_str()
            .expect("error text")
            .contains("bad.json:1:")
    );
    assert_eq!(sources[1]["status"], "ok");
    assert!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule_id"] == "URI-003" && f["outcome"] == "fail")
    );
}

#[test]
fn a_broken_file_inside_an_export_leaves_its_rules_not_evaluated() {
    let dir = TempDir::new("broken-part");
    dir.write(
        "applications.json",
        std::fs::read_to_string(
            common::root().join("tests/fixtures/APP-004/pass/applications.json"),
        )
        .expect("fixture"),
    );
    dir.write("servicePrincipals.json", "[{\"id\": ");
    let path = dir.path().to_str().expect("utf-8 path");
    let out = Scan::new(path)
        .format("json")
        .args(["--rule", "APP-004"])
        .run();
    let report = out.json();
    assert_input_error(&out, &["servicePrincipals.json:1:"]);
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["outcome"], "not_evaluated");
    assert_eq!(
        findings[0]["evidence"]["reason"],
        "servicePrincipals.json could not be read"
    );
}

#[test]
fn unknown_permission_ids_stay_visible() {
    let out = m365audit(["inspect", "tests/fixtures/loaders/manifest-graph.json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
    let requested = doc["apps"][0]["requested_permissions"]
        .as_array()
        .expect("requested permissions");
    let unknown = requested
        .iter()
        .find(|p| p["id"] == "abcdef01-2345-4678-9abc-def012345678")
        .expect("the unknown id is kept");
    assert_eq!(unknown["in_catalog"], false);
    assert_eq!(unknown["value"], serde_json::Value::Null);
    assert_eq!(unknown["resource_name"], "Microsoft Graph");
    // And a scan of it is not an error.
    let out = m365audit([
        "scan",
        "--as-of",
        AS_OF,
        "tests/fixtures/loaders/manifest-graph.json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_typo_in_a_rule_file_names_file_line_and_rule() {
    let dir = TempDir::new("badrule");
    let text = std::fs::read_to_string(
        common::root().join("examples/rules/ORG-001.mail-app-two-owners.toml"),
    )
    .expect("example rule")
    .replace("severity = \"medium\"", "severty = \"medium\"");
    dir.write("ORG-001.mail-app-two-owners.toml", text);
    let rules = dir.path().to_str().expect("utf-8 path");
    let out = m365audit(["scan", "--rules", rules, "tests/fixtures/URI-003/fail.json"]);
    assert_input_error(
        &out,
        &["ORG-001.mail-app-two-owners.toml:12:1: rule ORG-001: unknown field `severty`"],
    );
    assert!(stdout(&out).is_empty(), "no report from a broken rule set");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(code(&m365audit(["scan"])), 2);
    assert_eq!(code(&m365audit(["scan", "--format", "xml", "x.json"])), 2);
    assert_eq!(
        code(&m365audit(["scan", "--as-of", "22/11/2026", "x.json"])),
        2
    );
    let out = m365audit([
        "scan",
        "--rule",
        "CRED-999",
        "tests/fixtures/URI-003/fail.json",
    ]);
    assert_input_error(&out, &["unknown rule id \"CRED-999\""]);
    let out = m365audit(["explain", "NOPE-001"]);
    assert_input_error(&out, &["unknown rule id"]);
}

/// The line and the caret under the exact place, for every file people write or export: a
/// JSON input, a rule file, a profile, and a parameter override in the configuration (the
/// caret is under the key the admin wrote there, not in the rule file the override applies to).
#[test]
fn a_malformed_rule_profile_or_config_shows_the_line_with_a_caret() {
    let dir = TempDir::new("carets");
    let json = dir.write(
        "apps.json",
        "[\n  {\"appId\": \"1\", \"oauth2AllowImplicitFlow\": tru}\n]\n",
    );
    let out = m365audit(["scan", json.to_str().expect("utf-8")]);
    assert_input_error(
        &out,
        &[
            "apps.json:2:48: expected ident",
            "\n2 |   {\"appId\": \"1\", \"oauth2AllowImplicitFlow\": tru}\n  |                                                ^",
        ],
    );

    let rule = std::fs::read_to_string(
        common::root().join("examples/rules/ORG-001.mail-app-two-owners.toml"),
    )
    .expect("example rule")
    .replace("severity = \"medium\"", "severty = \"medium\"");
    dir.write("rules/ORG-001.mail-app-two-owners.toml", rule);
    let rules = dir.path().join("rules");
    let out = m365audit([
        "scan",
        "--rules",
        rules.to_str().expect("utf-8"),
        "examples/demo-tenant",
    ]);
    assert_input_error(
        &out,
        &[
            "ORG-001.mail-app-two-owners.toml:12:1: rule ORG-001: unknown field `severty`",
            "\n12 | severty = \"medium\"\n   | ^^^^^^^ did you mean `severity`?",
        ],
    );

    let profile = dir.write(
        "acme.toml",
        "id = \"acme\"\nvendor = \"Acme\"\ntitle = \"t\"\nguide = \"g\"\n\n[[steps]]\nnumber = \"1\"\ntitle = \"x\"\nguide = \"y\"\n[[steps.checks]]\nkind = \"permissions\"\npermissions = [{ resource = \"Microsoft Graph\", value = \"Mail.Sendd\", type = \"application\" }]\n",
    );
    let out = m365audit([
        "checklist",
        "--profile-file",
        profile.to_str().expect("utf-8"),
        "--app",
        "x",
        "examples/demo-tenant",
    ]);
    assert_input_error(
        &out,
        &[
            "acme.toml:12:56: profile acme: Microsoft Graph has no application permission \"Mail.Sendd\"",
            "\n12 | permissions = [{ resource = \"Microsoft Graph\", value = \"Mail.Sendd\", type = \"application\" }]\n   |                                                        ^^^^^^^^^^^^",
        ],
    );

    for (text, headline, caret) in [
        (
            "[rules.params]\nCRED-002 = { warn_days = 30, high_dayz = 3 }\n",
            "m365audit.toml:2:30: rule CRED-002 parameters: unknown field `high_dayz`",
            "\n2 | CRED-002 = { warn_days = 30, high_dayz = 3 }\n  |                              ^^^^^^^^^ did you mean `high_days`?",
        ),
        (
            "# thresholds\n[rules.params.CRED-002]\nwarn_days = \"30\"\n",
            "m365audit.toml:3:13: rule CRED-002 parameters: invalid type: string \"30\"",
            "\n3 | warn_days = \"30\"\n  |             ^^^^",
        ),
        (
            "[rules.params]\nCRED-002 = { kind = \"owner-count\" }\n",
            "m365audit.toml:2:14: rule CRED-002 parameters: `kind` cannot be changed",
            "\n2 | CRED-002 = { kind = \"owner-count\" }\n  |              ^^^^^^^^^^^^^^^^^^^^",
        ),
    ] {
        let config = dir.write("m365audit.toml", text);
        let out = m365audit([
            "scan",
            "--config",
            config.to_str().expect("utf-8"),
            "examples/demo-tenant",
        ]);
        assert_input_error(&out, &[headline, caret]);
    }
}
