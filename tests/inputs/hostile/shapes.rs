//! JSON shapes no exporter writes: deep nesting, one enormous string, enormous arrays,
//! duplicate keys.

use super::{demo_apps, demo_copy};
use crate::common::{Scan, TempDir, root};

fn write_apps(dir: &std::path::Path, apps: &[serde_json::Value]) {
    let text = serde_json::to_string(&serde_json::json!({ "value": apps })).expect("JSON");
    std::fs::write(dir.join("applications.json"), text).expect("write applications.json");
}

#[test]
fn deep_nesting_is_an_error_naming_the_file_not_a_stack_overflow() {
    let tmp = TempDir::new("hostile-nesting");
    let export = demo_copy(&tmp);
    // Nested where the loader keeps JSON values (an app template wrapper), in a property it
    // ignores, in a list it types, and as the top-level envelope.
    let deep = 200_000;
    let cases = [
        (
            "applications.json",
            format!(
                r#"[{{"signInAudience": "AzureADMyOrg", "application": {}{{}}{}}}]"#,
                r#"{"application": "#.repeat(deep),
                "}".repeat(deep)
            ),
            "recursion limit exceeded",
        ),
        (
            "applications.json",
            format!(
                r#"[{{"signInAudience": "AzureADMyOrg", "requiredResourceAccess": {}{}}}]"#,
                "[".repeat(deep),
                "]".repeat(deep)
            ),
            "requiredResourceAccess",
        ),
        (
            "exchange/casMailboxes.json",
            format!("{}{}", "[".repeat(deep), "]".repeat(deep)),
            "casMailboxes.json",
        ),
        (
            "snapshot.json",
            format!(r#"{{"tenant": {}{}}}"#, "[".repeat(deep), "]".repeat(deep)),
            "snapshot.json",
        ),
    ];
    for (file, text, needle) in cases {
        let original = std::fs::read(export.join(file)).expect("the demo file");
        std::fs::write(export.join(file), text).expect("write the nested file");
        let run = Scan::new(&export).format("json").run();
        run.assert_input_error(&[file, needle]);
        assert!(run.peak_mib < 500, "{file}: peak {} MiB", run.peak_mib);
        std::fs::write(export.join(file), original).expect("restore the demo file");
    }
}

#[test]
fn a_100_mb_display_name_is_scanned_in_memory_proportional_to_it() {
    let tmp = TempDir::new("hostile-big-string");
    let export = demo_copy(&tmp);
    let mut apps = demo_apps();
    let name = "A".repeat(100 << 20);
    apps[0]["displayName"] = serde_json::Value::from(name.as_str());
    write_apps(&export, &apps);
    let report = tmp.path().join("report.json");
    let run = Scan::new(&export).format("json").output(&report).run();
    run.assert_scanned();
    // The name is held by the parse, the app and each finding's subject and message; the
    // JSON report streams out.
    assert!(run.peak_mib < 1_600, "json: peak {} MiB", run.peak_mib);
    let text = std::fs::read_to_string(&report).expect("the report");
    assert!(
        text.contains(&name),
        "the JSON report carries the whole name"
    );
    drop(text);
    // The table cuts long cells instead of laying out 100 MB of text.
    let run = Scan::new(&export).format("table").run();
    run.assert_scanned();
    let table = run.stdout();
    assert!(
        // The note may wrap in its cell: its start is enough.
        table.contains("more characters; --format json or csv"),
        "{}",
        &table[..2_000.min(table.len())]
    );
    assert!(table.len() < 1 << 20, "table of {} bytes", table.len());
}

#[test]
fn a_million_redirect_uris_and_a_million_grants_scan_in_bounded_memory() {
    let tmp = TempDir::new("hostile-big-array");
    let export = demo_copy(&tmp);
    let mut apps = demo_apps();
    let uris: Vec<String> = (0..1_000_000)
        .map(|i| format!("https://app.contoso.com/callback/{i}"))
        .collect();
    apps[0]["web"]["redirectUris"] = serde_json::Value::from(uris);
    write_apps(&export, &apps);
    let grants: Vec<serde_json::Value> = (0..1_000_000)
        .map(|i| {
            serde_json::json!({
                "id": format!("grant-{i}"),
                "clientId": format!("00000000-0000-0000-0000-{i:012}"),
                "consentType": "AllPrincipals",
                "resourceId": "00000000-0000-0000-0000-000000000000",
                "scope": "User.Read"
            })
        })
        .collect();
    std::fs::write(
        export.join("oauth2PermissionGrants.json"),
        serde_json::to_string(&grants).expect("JSON"),
    )
    .expect("write grants");
    let run = Scan::new(&export).format("json").run();
    run.assert_scanned();
    let report: serde_json::Value = serde_json::from_str(&run.stdout()).expect("a JSON report");
    assert!(report["summary"]["apps"].as_u64().expect("apps") >= 6);
    assert!(run.peak_mib < 1_500, "peak {} MiB", run.peak_mib);
}

#[test]
fn a_duplicate_key_is_an_error_naming_file_line_and_column() {
    let tmp = TempDir::new("hostile-dup-keys");
    let export = demo_copy(&tmp);
    std::fs::write(
        export.join("applications.json"),
        "[\n {\"appId\": \"1\", \"signInAudience\": \"AzureADMyOrg\",\n  \"signInAudience\": \"AzureADMultipleOrgs\"}\n]",
    )
    .expect("write");
    let run = Scan::new(&export).format("json").run();
    run.assert_input_error(&["applications.json:3:", "duplicate field `signInAudience`"]);
    // Last-one-wins would let a file say two things; the tool refuses to pick.
    std::fs::copy(
        root().join("examples/demo-tenant/applications.json"),
        export.join("applications.json"),
    )
    .expect("restore applications.json");
    std::fs::write(
        export.join("exchange/organizationConfig.json"),
        r#"{"EwsEnabled": true, "EwsEnabled": false}"#,
    )
    .expect("write");
    let run = Scan::new(&export).format("json").run();
    run.assert_input_error(&["organizationConfig.json:1:", "EwsEnabled"]);
}
