//! Thirty public app-registration documents (portal manifests in both formats, az CLI and
//! Graph PowerShell output, Teams Toolkit templates, fragments, files with comments) with
//! independently computed counts (`tests/fixtures/real-world/expected.json`, see INDEX.md).
//! Every application document must load with the same counts; anything else must fail with
//! an error naming the file, never panic or load silently wrong.

use crate::common::root;
use m365audit::model::{self, Catalog};
use m365audit::source;
use serde_json::Value;

#[test]
fn real_world_documents_load_with_the_expected_counts() {
    let dir = root().join("tests/fixtures/real-world");
    let expected: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    let catalog = Catalog::builtin().expect("catalogue");
    let (mut loaded_count, mut refused) = (0, Vec::new());
    for entry in &expected {
        let file = entry["file"].as_str().expect("file");
        let path = dir.join("files").join(file);
        let is_app_document = entry["valid_json"] == true && entry["format"] != "other";
        match source::load(&path) {
            Ok(loaded) => {
                loaded_count += 1;
                let tenant = model::build(loaded.snapshot, &catalog);
                let sum = |f: &dyn Fn(&model::App) -> usize| -> u64 {
                    tenant.apps.iter().map(f).sum::<usize>() as u64
                };
                let got = [
                    ("apps", tenant.apps.len() as u64),
                    (
                        "required_resource_access",
                        sum(&|a| a.requested_permissions.as_ref().map_or(0, Vec::len)),
                    ),
                    (
                        "redirect_uris",
                        sum(&|a| a.redirect_uris.as_ref().map_or(0, Vec::len)),
                    ),
                    (
                        "password_credentials",
                        sum(&|a| a.password_credentials.as_ref().map_or(0, Vec::len)),
                    ),
                    (
                        "key_credentials",
                        sum(&|a| a.key_credentials.as_ref().map_or(0, Vec::len)),
                    ),
                ];
                for (field, value) in got {
                    assert_eq!(Some(value), entry[field].as_u64(), "{file}: {field}");
                }
            }
            Err(e) => {
                assert!(
                    !is_app_document,
                    "{file} is an application document but failed: {e}"
                );
                assert!(
                    e.to_string().contains(file),
                    "{file}: error does not name the file: {e}"
                );
                refused.push(file);
            }
        }
    }
    // The application documents all loaded; what was refused is not an app registration.
    assert_eq!(loaded_count + refused.len(), expected.len());
    assert_eq!(
        refused,
        [
            "EnterpriseApplicationRegistration__requiredResourceAccess.json",
            "ScubaGear__MockManifestMissingAdminConsent.json",
            "active-directory-dotnet-daemon__sample.json",
            "active-directory-dotnet-webapp-webapi-multitenant-openidconnect__sample.json",
            "ms-identity-javascript-react-spa-dotnetcore-webapi-obo__sample.json",
            "onedrive-docs-md__filehandler-addIns.manifest.json",
        ]
    );
}

/// Public service principal and delegated grant documents (Graph docs responses, ScubaGear and
/// Zero Trust Assessment fixtures; `tests/fixtures/real-world/service-principals/INDEX.md`),
/// each exported as the file it would be, with counts computed independently
/// (`expected.json`). A document that is not what the file holds (a PATCH body, a certificate,
/// the instantiate response that nests the service principal, JSON with a trailing comma) is
/// refused with an error naming it.
#[test]
fn real_world_service_principal_documents_load_with_the_expected_counts() {
    let dir = root().join("tests/fixtures/real-world/service-principals");
    let expected: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json is JSON");
    let catalog = Catalog::builtin().expect("catalogue");
    for entry in &expected {
        let file = entry["file"].as_str().expect("file");
        let part = entry["part"].as_str().expect("part");
        let tmp = crate::common::TempDir::new("real-world-sp");
        let export = tmp.path().join("export");
        std::fs::create_dir_all(&export).expect("export folder");
        std::fs::copy(dir.join("files").join(file), export.join(part)).expect("copy");
        std::fs::write(export.join("applications.json"), "[]").expect("applications.json");
        std::fs::write(
            export.join("snapshot.json"),
            format!(r#"{{"tenant": "real-world", "parts": ["applications.json", "{part}"]}}"#),
        )
        .expect("snapshot.json");
        // A file that cannot be read is an error of the export, which goes on without it.
        let loaded = source::load(&export).expect("the export folder loads");
        if entry["loads"] == false {
            let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
            assert!(
                errors.iter().any(|e| e.contains(part)),
                "{file} is not a {part} but loaded: {errors:?}"
            );
            continue;
        }
        assert!(loaded.errors.is_empty(), "{file}: {:?}", loaded.errors);
        let snapshot = &loaded.snapshot;
        if part == "oauth2PermissionGrants.json" {
            let grants = snapshot.oauth2_permission_grants.items().expect("grants");
            let consent = |t: &str| {
                grants
                    .iter()
                    .filter(|g| g.consent_type.as_deref() == Some(t))
                    .count() as u64
            };
            assert_eq!(
                Some(grants.len() as u64),
                entry["grants"].as_u64(),
                "{file}"
            );
            assert_eq!(
                Some(consent("AllPrincipals")),
                entry["all_principals"].as_u64()
            );
            assert_eq!(Some(consent("Principal")), entry["principal"].as_u64());
            continue;
        }
        let sps = snapshot
            .service_principals
            .items()
            .expect("service principals");
        let credentials = |list: &dyn Fn(&m365audit::snapshot::RawServicePrincipal) -> usize| {
            sps.iter().map(list).sum::<usize>() as u64
        };
        let len = |l: &Option<Option<Vec<m365audit::snapshot::RawCredential>>>| {
            l.as_ref().and_then(Option::as_ref).map_or(0, Vec::len)
        };
        let got = [
            ("service_principals", sps.len() as u64),
            (
                "key_credentials",
                credentials(&|sp| len(&sp.key_credentials)),
            ),
            (
                "password_credentials",
                credentials(&|sp| len(&sp.password_credentials)),
            ),
            (
                "verified_publishers",
                sps.iter()
                    .filter(|sp| {
                        sp.verified_publisher
                            .as_ref()
                            .and_then(Option::as_ref)
                            .is_some_and(|v| {
                                v.display_name.is_some() || v.verified_publisher_id.is_some()
                            })
                    })
                    .count() as u64,
            ),
        ];
        for (field, value) in got {
            assert_eq!(Some(value), entry[field].as_u64(), "{file}: {field}");
        }
        let tenant = model::build(loaded.snapshot, &catalog);
        let first_party = tenant.first_party.expect("service principals were read");
        assert_eq!(
            Some(first_party.service_principals as u64),
            entry["microsoft"].as_u64(),
            "{file}: Microsoft first-party service principals"
        );
    }
}
