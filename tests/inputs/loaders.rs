//! The loaders: every input format gives the same normalized app.

use crate::common::{Scan, TempDir, demo_copy, m365audit, root, stderr};
use m365audit::model::{self, App, Catalog, CredentialKind, Platform, Reach, ServicePrincipal};
use m365audit::source::{self, SourceKind};
use serde_json::Value;

/// The app with the source-specific wording of "unknown because ..." reasons blanked: a
/// manifest and an app list say differently why they lack Exchange data.
fn without_reasons(mut app: App) -> App {
    let access = &mut app.mailbox_access;
    for why in [&mut access.grants_unknown, &mut access.rbac_unknown]
        .into_iter()
        .flatten()
    {
        why.clear();
    }
    for path in &mut app.mailbox_access.paths {
        if let Reach::Unknown { reason } = &mut path.reach {
            reason.clear();
        }
    }
    app
}

fn load(name: &str) -> (SourceKind, Vec<App>) {
    let catalog = Catalog::builtin().expect("catalogue");
    let loaded = source::load(&root().join("tests/fixtures/loaders").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
    assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
    let tenant = model::build(loaded.snapshot, &catalog);
    (loaded.kind, tenant.apps)
}

#[test]
fn every_format_gives_the_same_app() {
    let formats = [
        ("graph-page.json", SourceKind::ApplicationList),
        ("az-cli.json", SourceKind::ApplicationList),
        ("powershell.json", SourceKind::ManifestGraph),
        ("manifest-graph.json", SourceKind::ManifestGraph),
        ("manifest-legacy.json", SourceKind::ManifestAzureAdGraph),
    ];
    let (_, reference) = load(formats[0].0);
    assert_eq!(reference.len(), 1);
    for (file, kind) in formats {
        let (got_kind, apps) = load(file);
        assert_eq!(got_kind, kind, "{file}");
        let strip = |apps: &[App]| {
            apps.iter()
                .cloned()
                .map(without_reasons)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            strip(&apps),
            strip(&reference),
            "{file} normalizes differently"
        );
    }
}

#[test]
fn the_normalized_app_has_every_field_the_input_gives() {
    let (_, apps) = load("manifest-legacy.json");
    let app = &apps[0];
    assert_eq!(
        app.object_id.as_deref(),
        Some("5f1d7d2c-3a7e-4c2b-9a51-0c6a4f3e2b10")
    );
    assert_eq!(
        app.app_id.as_deref(),
        Some("9c3b8f3e-6d0a-4b7e-8f21-3e5d1a2c4b60")
    );
    assert_eq!(app.display_name.as_deref(), Some("Contoso CRM"));
    assert_eq!(app.sign_in_audience.as_deref(), Some("AzureADMyOrg"));
    let uris: Vec<(&str, Platform)> = app
        .redirect_uris
        .as_ref()
        .expect("redirect URIs")
        .iter()
        .map(|r| (r.uri.as_str(), r.platform))
        .collect();
    assert_eq!(
        uris,
        [
            ("https://crm.contoso.com/signin-oidc", Platform::Web),
            (
                "https://login.microsoftonline.com/common/oauth2/nativeclient",
                Platform::PublicClient
            )
        ]
    );
    assert_eq!(app.implicit_grant.access_tokens, Some(true));
    assert_eq!(app.implicit_grant.id_tokens, Some(false));
    assert_eq!(app.fallback_public_client, Some(false));

    let secrets = app.password_credentials.as_ref().expect("secrets");
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].kind, CredentialKind::Secret);
    assert_eq!(secrets[0].hint.as_deref(), Some("Xy7"));
    assert_eq!(
        secrets[0].end.map(|d| d.to_rfc3339()).as_deref(),
        Some("2026-07-14T09:30:00+00:00")
    );
    let certs = app.key_credentials.as_ref().expect("certificates");
    assert_eq!(certs[0].kind, CredentialKind::Certificate);
    assert_eq!(certs[0].usage.as_deref(), Some("Verify"));

    let requested = app.requested_permissions.as_ref().expect("requested");
    let labels: Vec<String> = requested.iter().map(|p| p.label()).collect();
    assert_eq!(
        labels,
        [
            "Microsoft Graph Mail.Send",
            "Microsoft Graph User.Read",
            "Microsoft Graph abcdef01-2345-4678-9abc-def012345678 (unknown id)",
            "Office 365 Exchange Online full_access_as_app",
        ]
    );
    // An id the catalogue does not know stays visible, marked unknown.
    assert!(!requested[2].in_catalog && requested[2].value.is_none());
    // A manifest says nothing of grants, owners or service principals: unknown, not empty.
    assert_eq!(app.granted_app_roles, None);
    assert_eq!(app.delegated_grants, None);
    assert_eq!(app.owners, None);
    assert_eq!(app.service_principal, ServicePrincipal::Unknown);
}

#[test]
fn the_oldest_application_json_is_read() {
    let (kind, apps) = load("oldest.json");
    assert_eq!(kind, SourceKind::ManifestAzureAdGraph);
    let app = &apps[0];
    assert_eq!(
        app.object_id.as_deref(),
        Some("5f1d7d2c-3a7e-4c2b-9a51-0c6a4f3e2b10")
    );
    assert_eq!(app.sign_in_audience.as_deref(), Some("AzureADMultipleOrgs"));
    assert_eq!(app.fallback_public_client, Some(true));
    let platforms: Vec<Platform> = app
        .redirect_uris
        .as_ref()
        .expect("replyUrls")
        .iter()
        .map(|r| r.platform)
        .collect();
    assert_eq!(platforms, [Platform::Unspecified, Platform::Unspecified]);
    // Not in this format at all: unknown.
    assert_eq!(app.implicit_grant.access_tokens, None);
}

fn granted_labels(app: &App) -> Vec<String> {
    let granted = app.granted_app_roles.as_ref().expect("grants known");
    granted.iter().map(|p| p.label()).collect()
}

#[test]
fn an_export_directory_joins_grants_through_the_service_principal() {
    let catalog = Catalog::builtin().expect("catalogue");
    let loaded = source::load(&root().join("examples/demo-tenant")).expect("demo tenant");
    assert_eq!(loaded.kind, SourceKind::ExportDirectory);
    let tenant = model::build(loaded.snapshot, &catalog);
    assert_eq!(
        tenant.info.tenant.as_deref(),
        Some("contoso.onmicrosoft.com")
    );
    let by_name = |name: &str| {
        tenant
            .apps
            .iter()
            .find(|a| a.display_name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no app {name}"))
    };
    let hr = by_name("HR Notifications");
    let granted = granted_labels(hr);
    assert_eq!(granted, ["Microsoft Graph Mail.Send"]);
    let delegated = hr.delegated_grants.as_ref().expect("delegated known");
    assert_eq!(delegated[0].scopes, ["User.Read"]);
    assert_eq!(delegated[0].consent_type.as_deref(), Some("AllPrincipals"));
    assert!(matches!(
        &hr.service_principal,
        ServicePrincipal::Present(sp) if sp.enabled == Some(true)
    ));
    assert_eq!(hr.owners.as_ref().map(Vec::len), Some(1));

    let exact = by_name("Exact Globe+ Exchange Online");
    let granted = granted_labels(exact);
    assert_eq!(
        granted,
        [
            "Office 365 Exchange Online full_access_as_app",
            "Microsoft Graph AccessReview.Read.All",
            "Microsoft Graph Mail.Send"
        ]
    );

    // No service principal: nothing can be granted, and that is known.
    let old = by_name("Exact Synergy (old)");
    assert_eq!(old.service_principal, ServicePrincipal::Absent);
    assert_eq!(old.granted_app_roles.as_deref(), Some(&[][..]));
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON")
}

fn write_json(path: &std::path::Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).expect("JSON")).expect("write");
}

/// Two accepted spellings of one property in one object (a management scope exported with
/// `RecipientFilter` and `RecipientRestrictionFilter`) do not refuse the file: equal values
/// are read as one, different ones use the spelling that comes first in the object, with a
/// warning that `scan` prints and its report keeps.
#[test]
fn two_spellings_of_one_property_are_read_as_one() {
    let tmp = TempDir::new("spellings");
    let export = demo_copy(&tmp);
    let scopes_file = export.join("exchange/managementScopes.json");
    let mut scopes = read_json(&scopes_file);
    for scope in scopes.as_array_mut().expect("scopes") {
        scope["RecipientRestrictionFilter"] = scope["RecipientFilter"].clone();
    }
    write_json(&scopes_file, &scopes);
    let run = Scan::new(&export).format("json").run();
    let report = run.json();
    assert!(!run.stderr().contains("warning"), "{}", run.stderr());
    assert_eq!(report["sources"][0]["status"], "ok");
    assert_eq!(report["sources"][0]["warnings"], serde_json::json!([]));

    // Different values. applications.json as a bare array (read block by block): the second
    // app gives its audience as SignInAudience first, then as signInAudience.
    let apps_file = export.join("applications.json");
    let mut apps = read_json(&apps_file)["value"].take();
    let app = apps[1].as_object_mut().expect("an app");
    let id = app["id"].as_str().expect("id").to_string();
    let audience = app.shift_remove("signInAudience").expect("signInAudience");
    assert_ne!(audience, "PersonalMicrosoftAccount");
    app.insert("SignInAudience".into(), "PersonalMicrosoftAccount".into());
    app.insert("signInAudience".into(), audience);
    write_json(&apps_file, &apps);
    scopes[1]["RecipientRestrictionFilter"] = "Department -eq 'Sales'".into();
    write_json(&scopes_file, &scopes);

    let run = Scan::new(&export).format("json").run();
    let report = run.json();
    let err = run.stderr();
    let app_warning = format!(
        "{}: item 2 (id \"{id}\") has \"SignInAudience\" and \"signInAudience\", spellings of \
         one property, with different values; \"SignInAudience\", the first, was used",
        apps_file.display()
    );
    let scope_warning = format!(
        "{}: item 2 (Name \"Finance Mailboxes\") has \"RecipientFilter\" and \
         \"RecipientRestrictionFilter\", spellings of one property, with different values; \
         \"RecipientFilter\", the first, was used",
        scopes_file.display()
    );
    for warning in [&app_warning, &scope_warning] {
        assert!(err.contains(&format!("warning: {warning}\n")), "{err}");
    }
    assert_eq!(report["sources"][0]["status"], "ok");
    assert_eq!(
        report["sources"][0]["warnings"],
        serde_json::json!([app_warning, scope_warning])
    );
    // The audience given first is the one the rules saw.
    let audiences = |out: &std::process::Output| -> Vec<Value> {
        let doc: Value = serde_json::from_slice(&out.stdout).expect("inspect JSON");
        let apps = doc["apps"].as_array().expect("apps").clone();
        apps.into_iter()
            .filter(|a| a["object_id"] == id.as_str())
            .map(|a| a["sign_in_audience"].clone())
            .collect()
    };
    let inspected = m365audit(["inspect", export.to_str().expect("utf-8 path")]);
    assert_eq!(audiences(&inspected), ["PersonalMicrosoftAccount"]);

    // The same file alone, read whole, says the same.
    let alone = m365audit(["inspect", apps_file.to_str().expect("utf-8 path")]);
    assert!(stderr(&alone).contains(&app_warning), "{}", stderr(&alone));
    assert_eq!(audiences(&alone), ["PersonalMicrosoftAccount"]);
}

/// The same service principal as Graph (camelCase, base64 `customKeyIdentifier`), Graph
/// PowerShell (PascalCase, the identifier as an array of bytes, `/Date(ms)/` dates) and the
/// AzureAD module (`AppOwnerTenantId`) write it gives the same enterprise application: its
/// SAML signing certificate set recognized as one, its owner organization and publisher read.
#[test]
fn every_spelling_of_a_service_principal_gives_the_same_enterprise_app() {
    let tenant = "7b688916-3278-5d9c-91db-d5d81cd5dff0";
    let vendor = "3094e356-8d92-51ad-945c-24e7632486d5";
    // "VEhVTUI=" is the base64 of the bytes 84 72 85 77 66.
    let graph = serde_json::json!({
        "id": "5c8aab78-0000-4000-8000-000000000001", "appId": "2290f5cd-0000-4000-8000-000000000001",
        "displayName": "Vendor SSO", "appOwnerOrganizationId": vendor,
        "servicePrincipalType": "Application", "preferredSingleSignOnMode": "saml",
        "appRoleAssignmentRequired": true, "publisherName": "Vendor",
        "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
        "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "keyCredentials": [
            {"customKeyIdentifier": "VEhVTUI=", "keyId": "00000000-0000-4000-8000-00000000000a", "type": "AsymmetricX509Cert", "usage": "Sign", "endDateTime": "2027-06-30T00:00:00Z"},
            {"customKeyIdentifier": "VEhVTUI=", "keyId": "00000000-0000-4000-8000-00000000000b", "type": "AsymmetricX509Cert", "usage": "Verify", "endDateTime": "2027-06-30T00:00:00Z"}],
        "passwordCredentials": [
            {"customKeyIdentifier": "VEhVTUI=", "keyId": "00000000-0000-4000-8000-00000000000c", "endDateTime": "2027-06-30T00:00:00Z"},
            {"customKeyIdentifier": null, "keyId": "00000000-0000-4000-8000-00000000000d", "endDateTime": "2028-01-01T00:00:00Z"}]
    });
    let end = "/Date(1814313600000)/"; // 2027-06-30T00:00:00Z
    let powershell = serde_json::json!({
        "Id": "5c8aab78-0000-4000-8000-000000000001", "AppId": "2290f5cd-0000-4000-8000-000000000001",
        "DisplayName": "Vendor SSO", "AppOwnerOrganizationId": vendor,
        "ServicePrincipalType": "Application", "PreferredSingleSignOnMode": "saml",
        "AppRoleAssignmentRequired": true, "PublisherName": "Vendor",
        "VerifiedPublisher": {"DisplayName": null, "VerifiedPublisherId": null, "AddedDateTime": null},
        "Tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "KeyCredentials": [
            {"CustomKeyIdentifier": [84, 72, 85, 77, 66], "KeyId": "00000000-0000-4000-8000-00000000000a", "Type": "AsymmetricX509Cert", "Usage": "Sign", "EndDateTime": end},
            {"CustomKeyIdentifier": [84, 72, 85, 77, 66], "KeyId": "00000000-0000-4000-8000-00000000000b", "Type": "AsymmetricX509Cert", "Usage": "Verify", "EndDateTime": end}],
        "PasswordCredentials": [
            {"CustomKeyIdentifier": [84, 72, 85, 77, 66], "KeyId": "00000000-0000-4000-8000-00000000000c", "EndDateTime": end},
            {"CustomKeyIdentifier": null, "KeyId": "00000000-0000-4000-8000-00000000000d", "EndDateTime": "/Date(1830297600000)/"}]
    });
    let mut azuread = powershell.clone();
    let object = azuread.as_object_mut().expect("object");
    let owner = object.remove("AppOwnerOrganizationId").expect("owner");
    object.insert("AppOwnerTenantId".into(), owner);
    let mut seen = Vec::new();
    for (name, sp) in [
        ("graph", graph),
        ("powershell", powershell),
        ("azuread", azuread),
    ] {
        let tmp = TempDir::new("sp-spellings");
        let dir = tmp.path().join("export");
        std::fs::create_dir_all(&dir).expect("folder");
        write_json(&dir.join("applications.json"), &serde_json::json!([]));
        write_json(
            &dir.join("servicePrincipals.json"),
            &serde_json::json!([sp]),
        );
        write_json(
            &dir.join("snapshot.json"),
            &serde_json::json!({"tenant_id": tenant, "parts": ["applications.json", "servicePrincipals.json"]}),
        );
        let loaded = source::load(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
        let built = model::build(loaded.snapshot, &Catalog::builtin().expect("catalogue"));
        // It carries credentials of its own, so it is one of the tenant's apps.
        let [app] = built.apps.as_slice() else {
            panic!("{name}: {} apps", built.apps.len())
        };
        assert_eq!(
            app.organization.kind,
            model::OrganizationKind::Other,
            "{name}"
        );
        assert_eq!(
            app.organization.tenant_id.as_deref(),
            Some(vendor),
            "{name}"
        );
        assert_eq!(
            app.organization.publisher.as_deref(),
            Some("Vendor"),
            "{name}"
        );
        assert_eq!(app.organization.verified, Some(false), "{name}");
        let sp = app.enterprise_app().expect("present");
        assert_eq!(sp.app_role_assignment_required, Some(true), "{name}");
        let sets = sp.credential_sets();
        let saml: Vec<_> = sets
            .iter()
            .filter_map(|s| match s {
                model::CredentialSet::SamlSigning {
                    decided, members, ..
                } => Some((*decided, members.len())),
                model::CredentialSet::Single(_) => None,
            })
            .collect();
        assert_eq!(saml, [(true, 3)], "{name}: one SAML signing set of three");
        assert_eq!(sets.len(), 2, "{name}: the set and the added secret");
        seen.push(serde_json::to_value(app).expect("app serializes"));
    }
    assert_eq!(seen[0], seen[1], "Graph and Graph PowerShell");
    assert_eq!(seen[1], seen[2], "Graph PowerShell and AzureAD");
}

/// An export whose service principals were listed without their credentials (a narrower
/// `$select`, or a snapshot from before they were collected) says so once per rule, about the
/// tenant, not once per app: a 100k-app tenant would otherwise carry 300k identical lines.
#[test]
fn service_principals_without_credentials_are_not_evaluated_once_per_rule() {
    let tmp = TempDir::new("sp-no-credentials");
    let export = demo_copy(&tmp);
    let path = export.join("servicePrincipals.json");
    let mut sps = read_json(&path);
    for sp in sps["value"].as_array_mut().expect("value") {
        let sp = sp.as_object_mut().expect("object");
        sp.remove("keyCredentials");
        sp.remove("passwordCredentials");
    }
    write_json(&path, &sps);
    let report = Scan::new(&export).format("json").run().json();
    let findings = crate::common::findings(&report);
    for rule in ["SP-001", "SP-002", "CRED-001", "CRED-002"] {
        let unknown: Vec<&Value> = findings
            .iter()
            .filter(|f| f["rule_id"] == rule && f["outcome"] == "not_evaluated")
            .collect();
        assert_eq!(unknown.len(), 1, "{rule}: {unknown:#?}");
        assert_eq!(unknown[0]["subject"]["kind"], "tenant", "{rule}");
        let reason = unknown[0]["evidence"]["reason"].as_str().expect("reason");
        assert!(reason.contains("keyCredentials"), "{rule}: {reason}");
        assert!(
            !findings.iter().any(|f| f["rule_id"] == rule
                && f["outcome"] == "fail"
                && f["item"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("service principal"))),
            "{rule}: no service principal credential is judged"
        );
    }
}

/// An app registration without credentials is not "without live credentials" while its
/// service principal's are unseen (no servicePrincipals.json): USAGE-002 does not pass it,
/// and says once why.
#[test]
fn no_registration_credential_is_no_pass_while_service_principals_are_unseen() {
    let tmp = TempDir::new("usage-no-sps");
    let dir = tmp.path().join("export");
    std::fs::create_dir_all(dir.join("reports")).expect("folder");
    write_json(
        &dir.join("applications.json"),
        &serde_json::json!([{"id": "00000000-0000-4000-8000-0000000000a1",
            "appId": "11111111-0000-4000-8000-0000000000a1", "displayName": "No secrets here",
            "passwordCredentials": [], "keyCredentials": [], "requiredResourceAccess": []}]),
    );
    write_json(
        &dir.join("reports/appCredentialSignInActivities.json"),
        &serde_json::json!([]),
    );
    write_json(
        &dir.join("snapshot.json"),
        &serde_json::json!({"parts": ["applications.json", "reports/appCredentialSignInActivities.json"]}),
    );
    let report = Scan::new(&dir)
        .format("json")
        .args(["--rule", "USAGE-002", "--include-passed"])
        .run()
        .json();
    let outcomes: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["not_evaluated"], "said once, for the tenant");
}
