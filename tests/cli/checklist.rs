//! `m365audit checklist`: each shipped profile on the demo tenant's app for that vendor, made
//! compliant or broken one way at a time by editing a copy of the export. Every distinct
//! failure must fail the right step with evidence; missing Exchange data must give
//! "not evaluated", never "pass".

use std::path::Path;

use crate::common::{self, TempDir, code, copy_dir, m365audit, root, stderr};
use serde_json::{Value, json};

const AS_OF: &str = "2026-11-22";
const SYSAID: &str = "SysAid Helpdesk Mail";
const SYSAID_APP_ID: &str = "4a3722f9-bd6b-509b-b704-1fa20ed4773a";
const EXACT: &str = "Exact Globe+ Exchange Online";
const SAGE: &str = "Sage CRM - Exchange Integration";
const SENSE: &str = "SenseHQ Calendar Sync";
const SINCH: &str = "Sinch Contact Pro - Mail";

/// A copy of the demo tenant to edit.
fn demo() -> TempDir {
    let tmp = TempDir::new("checklist");
    copy_dir(&root().join("examples/demo-tenant"), tmp.path());
    tmp
}

/// Edits one export file; Graph pages are edited through their `value`.
fn edit(dir: &Path, file: &str, f: impl FnOnce(&mut Vec<Value>)) {
    let path = dir.join(file);
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
    let list = match &mut doc {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get_mut("value")
            .and_then(Value::as_array_mut)
            .expect("a page"),
        _ => panic!("{file}: not a list"),
    };
    f(list);
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("JSON")).expect("write");
}

fn edit_app(dir: &Path, name: &str, f: impl FnOnce(&mut Value)) {
    edit(dir, "applications.json", |apps| {
        let app = apps
            .iter_mut()
            .find(|a| a["displayName"] == name)
            .expect("the demo app");
        f(app);
    });
}

/// A secret valid from 2026-06-01 for 180 days.
fn short_secret(app: &mut Value) {
    app["passwordCredentials"] = json!([{
        "customKeyIdentifier": null, "displayName": "rotated", "hint": "abc",
        "keyId": "0b3f6a6e-1d2c-4c59-9d53-6f0e2c9a7b11", "secretText": null,
        "startDateTime": "2026-06-01T00:00:00Z", "endDateTime": "2026-11-28T00:00:00Z",
    }]);
}

/// Runs the checklist as JSON; returns the report and the exit code.
fn checklist(dir: &Path, profile: &str, app: &str, extra: &[&str]) -> (Value, i32) {
    checklist_of(dir, &["--profile", profile], app, extra)
}

/// The same with the profile chosen by `which` (`--profile ID` or `--profile-file PATH`).
fn checklist_of(dir: &Path, which: &[&str], app: &str, extra: &[&str]) -> (Value, i32) {
    let dir = dir.display().to_string();
    let mut args = vec!["checklist"];
    args.extend_from_slice(which);
    args.extend(["--app", app, "-f", "json"]);
    if !extra.contains(&"--as-of") {
        args.extend(["--as-of", AS_OF]);
    }
    args.extend_from_slice(extra);
    args.push(&dir);
    let out = m365audit(&args);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", stderr(&out)));
    (json, code(&out))
}

/// `m365audit checklist --profile-file FILE --app APP` on the demo tenant.
fn checklist_file(file: &Path, app: &str) -> std::process::Output {
    m365audit([
        "checklist",
        "--profile-file",
        file.to_str().expect("utf-8"),
        "--app",
        app,
        "examples/demo-tenant",
    ])
}

fn step<'a>(report: &'a Value, number: &str) -> &'a Value {
    report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["number"] == number)
        .unwrap_or_else(|| panic!("no step {number}"))
}

fn outcome(report: &Value, number: &str) -> String {
    step(report, number)["outcome"]
        .as_str()
        .expect("outcome")
        .to_string()
}

fn evidence(report: &Value, number: &str) -> String {
    step(report, number)["evidence"].to_string()
}

/// Every step passes or is manual; lists the others.
fn assert_all_pass(report: &Value, except: &[&str]) {
    let bad: Vec<String> = report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| !except.contains(&s["number"].as_str().unwrap_or_default()))
        .filter(|s| s["outcome"] != "pass" && s["outcome"] != "manual")
        .map(|s| format!("{} {}: {}", s["number"], s["outcome"], s["evidence"]))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn sinch_demo_app_is_compliant_and_missing_exchange_is_not_evaluated() {
    let t = demo();
    let (r, exit) = checklist(t.path(), "sinch-contact-pro", SINCH, &[]);
    assert_all_pass(&r, &[]);
    assert_eq!(exit, 0);
    assert!(evidence(&r, "3.1").contains("Contact Center Mailboxes"));

    // Without Exchange data the scoping step cannot pass.
    std::fs::remove_dir_all(t.path().join("exchange")).expect("rm");
    std::fs::remove_file(t.path().join("groups.json")).expect("rm");
    std::fs::remove_file(t.path().join("snapshot.json")).expect("rm");
    let (r, exit) = checklist(t.path(), "sinch-contact-pro", SINCH, &[]);
    assert_eq!(
        outcome(&r, "3.1"),
        "not_evaluated",
        "{}",
        evidence(&r, "3.1")
    );
    assert_eq!(exit, 0, "not evaluated is not a failure");

    // Unscoped: a DenyAccess-free tenant without the RestrictAccess policy fails the step.
    let t = demo();
    edit(t.path(), "exchange/applicationAccessPolicies.json", |p| {
        p.retain(|x| x["ScopeName"] != "Contact Center Mailboxes")
    });
    edit(t.path(), "exchange/managementRoleAssignments.json", |a| {
        a.retain(|x| x["CustomResourceScope"] != "Contact Center Mailboxes")
    });
    let (r, exit) = checklist(t.path(), "sinch-contact-pro", SINCH, &[]);
    assert_eq!(outcome(&r, "3.1"), "fail");
    assert!(
        evidence(&r, "3.1").contains("all mailboxes"),
        "{}",
        evidence(&r, "3.1")
    );
    assert_eq!(exit, 1);
}

/// SysAid's demo app made compliant: a 180-day secret and a RestrictAccess policy.
fn sysaid_compliant() -> TempDir {
    let t = demo();
    edit_app(t.path(), SYSAID, short_secret);
    edit(t.path(), "exchange/applicationAccessPolicies.json", |p| {
        for x in p.iter_mut().filter(|x| x["AppId"] == SYSAID_APP_ID) {
            x["AccessRight"] = json!("RestrictAccess");
        }
    });
    t
}

#[test]
fn sysaid_each_failure_fails_its_step() {
    let t = sysaid_compliant();
    let (r, exit) = checklist(t.path(), "sysaid-email", SYSAID, &[]);
    assert_all_pass(&r, &[]);
    assert_eq!(exit, 0);

    // The demo as shipped: 24-month secret, DenyAccess-only scoping.
    let (r, _) = checklist(
        &root().join("examples/demo-tenant"),
        "sysaid-email",
        SYSAID,
        &[],
    );
    assert_eq!(outcome(&r, "4"), "fail");
    assert!(evidence(&r, "4").contains("730 days"));
    assert_eq!(step(&r, "4")["advice"]["kind"], "unsafe");
    assert_eq!(outcome(&r, "Important"), "fail");

    type Case = (&'static str, fn(&mut Value), &'static str, &'static str);
    let cases: [Case; 3] = [
        (
            "multi-tenant",
            |a| a["signInAudience"] = json!("AzureADMultipleOrgs"),
            "3.4",
            "AzureADMultipleOrgs",
        ),
        (
            "missing Mail.Send",
            |a| {
                let graph = &mut a["requiredResourceAccess"][0]["resourceAccess"];
                graph
                    .as_array_mut()
                    .expect("list")
                    .retain(|p| p["id"] != "b633e1c5-b582-4048-a93e-9f11b44c7e96");
            },
            "5.1",
            "Mail.Send (application) is not requested",
        ),
        (
            "extra permission",
            |a| {
                a["requiredResourceAccess"][0]["resourceAccess"]
                    .as_array_mut()
                    .expect("list")
                    .push(json!({"id": "7ab1d382-f21e-4acd-a863-ba3e13f7da61", "type": "Role"}));
            },
            "5.2",
            "Directory.Read.All",
        ),
    ];
    for (what, change, number, expect) in cases {
        let t = sysaid_compliant();
        edit_app(t.path(), SYSAID, change);
        let (r, exit) = checklist(t.path(), "sysaid-email", SYSAID, &[]);
        assert_eq!(outcome(&r, number), "fail", "{what}");
        assert!(
            evidence(&r, number).contains(expect),
            "{what}: {}",
            evidence(&r, number)
        );
        assert_eq!(exit, 1, "{what}");
    }
}

#[test]
fn sage_redirect_uri_platform_case_and_retired_role() {
    let demo_dir = root().join("examples/demo-tenant");
    let (r, exit) = checklist(&demo_dir, "sage-crm", SAGE, &[]);
    assert_eq!(exit, 1);
    // The guide's step 1 cannot be done any more: it fails, saying why.
    assert_eq!(outcome(&r, "1"), "fail");
    assert_eq!(step(&r, "1")["advice"]["kind"], "retired");
    assert!(evidence(&r, "1").contains("no longer works"));
    // Upper case in the redirect URI.
    assert_eq!(outcome(&r, "3.2"), "fail");
    assert!(evidence(&r, "3.2").contains("not all lowercase"));
    // Protocols need the integration's mailbox.
    assert_eq!(outcome(&r, "2"), "not_evaluated");

    let t = demo();
    edit_app(t.path(), SAGE, |a| {
        a["publicClient"]["redirectUris"] = json!([]);
        a["web"]["redirectUris"] = json!(["https://crm01/sales/custompages/oauth/callback.html"]);
    });
    let (r, _) = checklist(
        t.path(),
        "sage-crm",
        SAGE,
        &["--set", "server=crm01", "--set", "install=sales"],
    );
    assert_eq!(outcome(&r, "3.2"), "fail");
    assert!(
        evidence(&r, "3.2").contains("registered on Web"),
        "{}",
        evidence(&r, "3.2")
    );

    edit_app(t.path(), SAGE, |a| {
        a["web"]["redirectUris"] = json!([]);
        a["publicClient"]["redirectUris"] =
            json!(["https://crm01/sales/custompages/oauth/callback.html"]);
    });
    let (r, _) = checklist(
        t.path(),
        "sage-crm",
        SAGE,
        &["--set", "server=crm01", "--set", "install=sales"],
    );
    assert_eq!(outcome(&r, "3.2"), "pass", "{}", evidence(&r, "3.2"));
    // A placeholder set to another value no longer matches.
    let other = [
        "--set",
        "server=crm02",
        "--set",
        "server_fqdn=crm02.contoso.com",
    ];
    let (r, _) = checklist(t.path(), "sage-crm", SAGE, &other);
    assert_eq!(outcome(&r, "3.2"), "fail");

    // Every step but the retired role passes once the mailbox is named and set up as the guide says.
    edit(t.path(), "exchange/casMailboxes.json", |m| {
        for x in m
            .iter_mut()
            .filter(|x| x["PrimarySmtpAddress"] == "alexw@contoso.onmicrosoft.com")
        {
            x["MAPIEnabled"] = json!(false);
            x["ImapEnabled"] = json!(false);
            x["SmtpClientAuthenticationDisabled"] = json!(false);
        }
    });
    let (r, _) = checklist(
        t.path(),
        "sage-crm",
        SAGE,
        &["--mailbox", "alexw@contoso.onmicrosoft.com"],
    );
    assert_all_pass(&r, &["1"]);

    // After EWS shuts down, the EWS permission step fails too.
    let (r, _) = checklist(t.path(), "sage-crm", SAGE, &["--as-of", "2027-04-02"]);
    assert_eq!(outcome(&r, "3.3"), "fail");
    assert!(evidence(&r, "3.3").contains("stopped working on 2027-04-01"));
}

#[test]
fn sensehq_retired_azure_ad_graph_and_placeholders() {
    let demo_dir = root().join("examples/demo-tenant");
    let (r, _) = checklist(
        &demo_dir,
        "sensehq-calendar-sync",
        SENSE,
        &["--set", "agency=contoso"],
    );
    assert_eq!(outcome(&r, "Permissions 4-10"), "fail");
    let e = evidence(&r, "Permissions 4-10");
    assert!(
        e.contains("Azure AD Graph") && e.contains("stopped working on 2025-07-01"),
        "{e}"
    );
    assert!(
        e.contains("Calendars.ReadWrite.Shared") && e.contains("12466101"),
        "{e}"
    );
    assert_eq!(outcome(&r, "App creation (URI)"), "pass");
    assert_eq!(outcome(&r, "OAuth credentials"), "fail");
    assert_eq!(outcome(&r, "Give account permissions"), "fail");

    let (r, _) = checklist(
        &demo_dir,
        "sensehq-calendar-sync",
        SENSE,
        &["--set", "agency=fabrikam"],
    );
    assert_eq!(outcome(&r, "App creation (URI)"), "fail");

    let t = demo();
    edit_app(t.path(), SENSE, |a| {
        short_secret(a);
        a["requiredResourceAccess"]
            .as_array_mut()
            .expect("list")
            .retain(|r| r["resourceAppId"] != "00000002-0000-0000-c000-000000000000");
    });
    let (r, _) = checklist(t.path(), "sensehq-calendar-sync", SENSE, &[]);
    assert_all_pass(&r, &["Give account permissions"]);
    assert!(evidence(&r, "Permissions 4-10").contains("correctly absent"));

    let out = m365audit([
        "checklist",
        "--profile",
        "sensehq-calendar-sync",
        "--app",
        SENSE,
        "--set",
        "tenant=x",
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("the placeholders agency"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn exact_unsafe_implicit_grant_and_unneeded_permission() {
    let demo_dir = root().join("examples/demo-tenant");
    let (r, exit) = checklist(&demo_dir, "exact-exchange-online", EXACT, &[]);
    assert_eq!(exit, 1);
    assert_eq!(outcome(&r, "Authentication 4"), "fail");
    assert_eq!(step(&r, "Authentication 4")["advice"]["kind"], "unsafe");
    assert_eq!(outcome(&r, "Emails 5 (extras)"), "fail");
    assert!(evidence(&r, "Emails 5 (extras)").contains("do not use access reviews"));
    assert_eq!(outcome(&r, "Security requirements"), "fail");
    // The general findings follow the steps.
    let rules: Vec<&str> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert!(
        rules.contains(&"PERM-001") && rules.contains(&"CRED-001"),
        "{rules:?}"
    );

    let t = demo();
    edit_app(t.path(), EXACT, |a| {
        short_secret(a);
        a["web"]["implicitGrantSettings"]["enableAccessTokenIssuance"] = json!(false);
        for r in a["requiredResourceAccess"].as_array_mut().expect("list") {
            r["resourceAccess"]
                .as_array_mut()
                .expect("list")
                .retain(|p| p["id"] != "d07a8cc0-3d51-4b77-b3b0-32704d1f69fa");
        }
    });
    edit(t.path(), "appRoleAssignments.json", |a| {
        a.retain(|x| x["appRoleId"] != "d07a8cc0-3d51-4b77-b3b0-32704d1f69fa")
    });
    let (r, exit) = checklist(t.path(), "exact-exchange-online", EXACT, &[]);
    assert_all_pass(&r, &[]);
    assert_eq!(exit, 0);
    let (r, _) = checklist(
        t.path(),
        "exact-exchange-online",
        EXACT,
        &["--as-of", "2027-04-02"],
    );
    assert_eq!(outcome(&r, "Calendar items 6"), "fail");
}

#[test]
fn markdown_checklist_for_a_go_live_ticket() {
    let out = m365audit([
        "checklist",
        "--profile",
        "sage-crm",
        "--app",
        SAGE,
        "--as-of",
        AS_OF,
        "-f",
        "markdown",
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&out), 1);
    common::snapshot_settings().bind(|| {
        insta::assert_snapshot!("checklist_sage_crm_markdown", common::stdout(&out));
    });
}

#[test]
fn candidates_user_profiles_and_errors() {
    let out = m365audit([
        "checklist",
        "--profile",
        "exact-exchange-online",
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("ca44ea0a-4ca5-5b0e-91c8-2eb1007a3a77  Exact Globe+ Exchange Online"),
        "{err}"
    );
    assert!(err.contains("--app"));

    let out = m365audit([
        "checklist",
        "--profile",
        "nope",
        "--app",
        "x",
        "examples/demo-tenant",
    ]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("sage-crm"));

    let tmp = TempDir::new("profile-file");
    let bad = tmp.write(
        "acme.toml",
        "id = \"acme\"\nvendor = \"Acme\"\ntitle = \"t\"\nguide = \"g\"\n\n[[steps]]\nnumber = \"1\"\ntitle = \"x\"\nguide = \"y\"\n[[steps.checks]]\nkind = \"permissions\"\npermissions = [{ resource = \"Microsoft Graph\", value = \"Mail.Sendd\", type = \"application\" }]\n",
    );
    let out = checklist_file(&bad, SYSAID);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("acme.toml:12:") && stderr(&out).contains("Mail.Sendd"),
        "{}",
        stderr(&out)
    );

    let good = tmp.write(
        "acme2.toml",
        "id = \"acme\"\nvendor = \"Acme\"\ntitle = \"Acme mail\"\nguide = \"g\"\n\n[[steps]]\nnumber = \"1\"\ntitle = \"Mail.Send\"\nguide = \"y\"\n[[steps.checks]]\nkind = \"permissions\"\ngranted = true\npermissions = [{ resource = \"Microsoft Graph\", value = \"Mail.Send\", type = \"application\" }]\n\n[[steps]]\nnumber = \"2\"\ntitle = \"secret\"\nguide = \"z\"\n[[steps.checks]]\nkind = \"credential-lifetime\"\ncredential = \"secret\"\nmax_days = 365\n",
    );
    let good = good.to_str().expect("utf-8");
    let (r, exit) = checklist_of(
        &common::root().join("examples/demo-tenant"),
        &["--profile-file", good],
        SYSAID,
        &[],
    );
    assert_eq!(outcome(&r, "1"), "pass");
    assert_eq!(outcome(&r, "2"), "fail");
    assert_eq!(exit, 1);

    // An RBAC for Applications role counts only when assigned to this app's service principal.
    let role = tmp.write(
        "rbac.toml",
        "id = \"rbac\"\nvendor = \"Acme\"\ntitle = \"t\"\nguide = \"g\"\n\n[[steps]]\nnumber = \"1\"\ntitle = \"role\"\nguide = \"y\"\n[[steps.checks]]\nkind = \"exchange-role\"\nrole = \"Application Mail.Send\"\n",
    );
    let role = role.to_str().expect("utf-8");
    for (app, expect) in [(EXACT, "pass"), (SYSAID, "fail")] {
        let out = m365audit([
            "checklist",
            "--profile-file",
            role,
            "--app",
            app,
            "-f",
            "json",
            "examples/demo-tenant",
        ]);
        let r: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(outcome(&r, "1"), expect, "{app}: {}", evidence(&r, "1"));
    }

    let out = m365audit(["profiles", "show", "sinch-contact-pro"]);
    assert_eq!(code(&out), 0);
    assert!(common::stdout(&out).contains("not a valid GUID"));
    let out = m365audit(["profiles", "list"]);
    assert_eq!(common::stdout(&out).lines().count(), 5);
}

/// Profile steps are check kinds from the registry: the same names, parameters and errors
/// as in rule files, refused where they make no sense, positioned in the profile.
#[test]
fn profile_steps_are_registry_kinds() {
    let tmp = TempDir::new("profile-kinds");
    let head = "id = \"acme\"\nvendor = \"Acme\"\ntitle = \"t\"\nguide = \"g\"\n\n[[steps]]\nnumber = \"1\"\ntitle = \"x\"\nguide = \"y\"\n[[steps.checks]]\n";
    for (name, check, line, message) in [
        (
            "renamed",
            "kind = \"sign-in-audience\"\nallowed = [\"AzureADMyOrg\"]\n",
            11,
            "check kind \"sign-in-audience\" is now called \"audience\"",
        ),
        (
            "rego",
            "kind = \"rego\"\npolicy = \"package x\"\n",
            11,
            "check kind \"rego\" is written in rules only, not in profiles",
        ),
        (
            "both",
            "kind = \"audience\"\naudiences = [\"AzureADMyOrg\"]\nallowed = [\"AzureADMyOrg\"]\n",
            10,
            "give exactly one of audiences (those that fail) and allowed",
        ),
        (
            "placeholder",
            "kind = \"redirect-uris\"\nplatform = \"web\"\ntemplates = [\"https://{host}/cb\"]\n",
            10,
            "template \"https://{host}/cb\" uses {host}, which [placeholders] does not describe",
        ),
        (
            "typo",
            "kind = \"extra-permission\"\n",
            11,
            "did you mean \"extra-permissions\"?",
        ),
    ] {
        let file = tmp.write(&format!("{name}.toml"), format!("{head}{check}"));
        let out = checklist_file(&file, SYSAID);
        assert_eq!(code(&out), 2, "{name}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{name}.toml:{line}:")) && err.contains(message),
            "{name}: {err}"
        );
    }

    // `extra-permissions` compares with every `permissions` step, wherever it stands: moving
    // it first changes nothing.
    let shipped = std::fs::read_to_string(common::root().join("rules/profiles/sysaid-email.toml"))
        .expect("profile");
    let (head, rest) = shipped.split_once("[[steps]]").expect("steps");
    let mut steps: Vec<String> = rest
        .split("[[steps]]")
        .map(|s| format!("[[steps]]{s}"))
        .collect();
    let extra = steps
        .iter()
        .position(|s| s.contains("kind = \"extra-permissions\""))
        .expect("an extra-permissions step");
    assert!(extra > 0);
    let moved = steps.remove(extra);
    steps.insert(0, moved);
    let reordered = tmp.write("sysaid-email.toml", format!("{head}{}", steps.concat()));
    let dir = sysaid_compliant();
    edit_app(dir.path(), SYSAID, |app| {
        app["requiredResourceAccess"][0]["resourceAccess"]
            .as_array_mut()
            .expect("resourceAccess")
            .push(
                serde_json::json!({"id": "810c84a8-4a9e-49e6-bf7d-12d183f40d01", "type": "Role"}),
            );
    });
    let (builtin, _) = checklist(dir.path(), "sysaid-email", SYSAID, &[]);
    let (user, _) = checklist_of(
        dir.path(),
        &["--profile-file", reordered.to_str().expect("utf-8")],
        SYSAID,
        &[],
    );
    assert_eq!(
        outcome(&builtin, "5.2"),
        "fail",
        "{}",
        evidence(&builtin, "5.2")
    );
    assert!(
        evidence(&builtin, "5.2").contains("Mail.Read"),
        "{}",
        evidence(&builtin, "5.2")
    );
    for number in ["5.1", "5.2", "5.9"] {
        assert_eq!(step(&builtin, number), step(&user, number), "step {number}");
    }
}
