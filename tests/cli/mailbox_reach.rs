//! Mailbox reach: how far each app reaches, as `reach` reports it and the SCOPE rules judge it,
//! including the interaction rules Microsoft documents (Deny over Restrict, RBAC scopes not
//! limiting Entra grants) and missing Exchange data.

use crate::common::{Scan, code, m365audit, stderr, stdout};
use serde_json::Value;

/// `reach --format json` for one source: app display name → (overall reach, path reaches).
fn reach(source: &str) -> Vec<(String, String, Vec<String>)> {
    let out = m365audit(["reach", "--format", "json", source]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Vec<Value> = serde_json::from_slice(&out.stdout).expect("reach JSON");
    doc[0]["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .map(|a| {
            let paths = a["mailbox_access"]["paths"]
                .as_array()
                .expect("paths")
                .iter()
                .map(|p| {
                    format!(
                        "{}: {}",
                        p["permission"].as_str().expect("permission"),
                        label(&p["reach"])
                    )
                })
                .collect();
            (
                a["display_name"].as_str().expect("name").to_string(),
                a["reach"].as_str().expect("reach").to_string(),
                paths,
            )
        })
        .collect()
}

fn label(reach: &Value) -> String {
    let list = |v: &Value| -> String {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    match reach["kind"].as_str().expect("kind") {
        "all_mailboxes" => "all".into(),
        "scoped_to" => format!(
            "scoped to [{}] except [{}]",
            list(&reach["scopes"]),
            list(&reach["except"])
        ),
        "all_except" => format!("all except [{}]", list(&reach["except"])),
        other => other.into(),
    }
}

#[test]
fn deny_wins_over_restrict_and_scoped_rbac_stays_scoped() {
    let apps = reach("tests/fixtures/SCOPE-001/pass");
    let by_name = |n: &str| apps.iter().find(|a| a.0 == n).expect(n).clone();
    let helpdesk = by_name("Helpdesk mail");
    assert_eq!(helpdesk.1, "scoped to Support Mailboxes except VIPs");
    let notifier = by_name("Notifier");
    assert_eq!(notifier.1, "scoped to management scope Sales");
}

#[test]
fn an_rbac_assignment_without_scope_reaches_every_mailbox() {
    let apps = reach("tests/fixtures/SCOPE-001/fail");
    let notifier = apps.iter().find(|a| a.0 == "Notifier").expect("Notifier");
    assert_eq!(notifier.1, "all mailboxes");
    assert_eq!(notifier.2, ["Application Mail.Send: all"]);
}

#[test]
fn an_entra_grant_undoes_a_scoped_rbac_assignment() {
    let apps = reach("tests/fixtures/SCOPE-005/fail");
    assert_eq!(apps[0].1, "all mailboxes");
    assert_eq!(
        apps[0].2,
        [
            "Microsoft Graph Mail.Send: all",
            "Application Mail.Send: scoped to [management scope Finance] except []"
        ]
    );
}

#[test]
fn missing_exchange_data_is_not_evaluated_never_passed() {
    let out = Scan::new("tests/fixtures/mailbox-reach/no-exchange")
        .format("json")
        .arg("--include-passed")
        .run();
    let report = out.json();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let findings = report["findings"].as_array().expect("findings");
    // EXO-002 is left out: an app without delegated EWS passes it whatever Exchange says.
    for rule in [
        "SCOPE-001",
        "SCOPE-002",
        "SCOPE-003",
        "SCOPE-004",
        "SCOPE-005",
        "SCOPE-006",
        "EXO-001",
    ] {
        let outcomes: Vec<&str> = findings
            .iter()
            .filter(|f| f["rule_id"] == rule)
            .map(|f| f["outcome"].as_str().expect("outcome"))
            .collect();
        assert!(
            !outcomes.is_empty() && outcomes.iter().all(|o| *o == "not_evaluated"),
            "{rule}: {outcomes:?}"
        );
    }
    let reasons: Vec<&str> = findings
        .iter()
        .filter(|f| f["outcome"] == "not_evaluated")
        .filter_map(|f| f["evidence"]["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("exchange/applicationAccessPolicies.json was not collected"))
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("exchange/managementRoleAssignments.json was not collected"))
    );
}

#[test]
fn the_demo_tenant_reach_is_what_its_exchange_configuration_says() {
    let apps = reach("examples/demo-tenant");
    let overall: Vec<(&str, &str)> = apps.iter().map(|a| (a.0.as_str(), a.1.as_str())).collect();
    assert_eq!(
        overall,
        [
            ("Acme Mail Insights", "all mailboxes"),
            ("Exact Globe+ Exchange Online", "all mailboxes"),
            ("HR Notifications", "all mailboxes"),
            ("SysAid Helpdesk Mail", "all except Executives"),
            ("Contoso Mail Archiver", "scoped to Archive Team"),
            (
                "Sinch Contact Pro - Mail",
                "scoped to Contact Center Mailboxes"
            ),
            (
                "Sinch Contact Pro - Mail (certificate)",
                "scoped to management scope Contact Center Mailboxes"
            ),
            ("Calendar Sync (test)", "none (not granted)"),
            ("Exact Synergy (old)", "none (not granted)"),
            ("Fabrikam Helpdesk", "none (not granted)"),
            ("MailMerge Magic", "none (not granted)"),
            ("Microsoft Graph Command Line Tools", "none (not granted)"),
            ("Sage CRM - Exchange Integration", "none (not granted)"),
            ("SenseHQ Calendar Sync", "none (not granted)"),
            ("Teams Meeting Scheduler", "none (not granted)"),
        ]
    );
}

/// Delegated mailbox consent is reach too: admin consent for all users, or each user's own,
/// listed beside app-only access with whose app it is.
#[test]
fn reach_lists_delegated_mailbox_consent_and_whose_app_it_is() {
    let out = m365audit(["reach", "--format", "json", "examples/demo-tenant"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Vec<Value> = serde_json::from_slice(&out.stdout).expect("reach JSON");
    let app = |name: &str| {
        doc[0]["apps"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|a| a["display_name"] == name)
            .unwrap_or_else(|| panic!("{name} in reach"))
            .clone()
    };
    let mailmerge = app("MailMerge Magic");
    assert_eq!(mailmerge["organization"]["kind"], "other");
    assert_eq!(mailmerge["organization"]["verified"], false);
    let consent = mailmerge["delegated_consent"].as_array().expect("consent");
    assert_eq!(consent.len(), 3, "one grant per consenting user");
    assert!(consent.iter().all(|c| c["consent"] == "one user"));
    let fabrikam = app("Fabrikam Helpdesk");
    assert_eq!(fabrikam["organization"]["publisher"], "Fabrikam, Inc.");
    assert_eq!(fabrikam["delegated_consent"][0]["consent"], "all users");
    assert_eq!(
        fabrikam["delegated_consent"][0]["scopes"],
        serde_json::json!(["Mail.ReadWrite", "Mail.Send"])
    );
    assert_eq!(
        app("Microsoft Graph Command Line Tools")["organization"]["kind"],
        "microsoft"
    );
    assert_eq!(
        app("HR Notifications")["organization"]["kind"],
        "this_tenant"
    );

    let csv = stdout(&m365audit([
        "reach",
        "--format",
        "csv",
        "examples/demo-tenant",
    ]));
    for expected in [
        "MailMerge Magic,",
        ",mailmerge-magic.example (unverified),delegated consent,Microsoft Graph Contacts.Read Mail.Read,'-,3 users,",
        ",\"Fabrikam, Inc. (verified)\",delegated consent,Microsoft Graph Mail.ReadWrite Mail.Send,'-,all users,",
    ] {
        assert!(csv.contains(expected), "{expected} in {csv}");
    }
    let table = stdout(&m365audit(["reach", "examples/demo-tenant"]));
    assert!(
        table.contains("app(s) with delegated mailbox consent"),
        "{table}"
    );
}

#[test]
fn the_compliant_rbac_app_has_no_scope_finding() {
    let report = Scan::new("examples/demo-tenant")
        .format("json")
        .run()
        .json();
    let sinch_cert: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["subject"]["display_name"] == "Sinch Contact Pro - Mail (certificate)")
        .map(|f| f["rule_id"].as_str().expect("id"))
        .collect();
    assert!(sinch_cert.is_empty(), "{sinch_cert:?}");
}

#[test]
fn reach_names_a_missing_app() {
    let out = m365audit(["reach", "--app", "No Such App", "examples/demo-tenant"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("no app with app id, object id or display name \"No Such App\""));
    let out = m365audit(["reach", "examples/demo-tenant"]);
    assert!(
        stdout(&out).contains("reach every mailbox"),
        "{}",
        stdout(&out)
    );
}
