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
