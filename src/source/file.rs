//! A single file: a list of applications or one portal manifest, told apart by shape.

use std::path::Path;

use super::json::{Shape, parse_items_with_shape};
use super::{LoadError, Loaded, SourceKind, application_objects, read_text};
use crate::snapshot::{
    ExchangeSnapshot, Part, PolicySnapshot, RawApplication, Snapshot, SnapshotMeta,
};

pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let text = read_text(path)?;
    let mut warnings = Vec::new();
    let parsed = parse_items_with_shape::<RawApplication>(path, text, &mut warnings)?;
    let apps = application_objects(path, parsed.items, false)?;
    let kind = match (parsed.shape, apps.as_slice()) {
        (Shape::Object, [app]) if is_legacy_manifest(app) => SourceKind::ManifestAzureAdGraph,
        (Shape::Object, [_]) => SourceKind::ManifestGraph,
        _ => SourceKind::ApplicationList,
    };
    if apps.is_empty() {
        warnings.push(format!(
            "{}: the list holds no applications",
            path.display()
        ));
    }
    let why = match kind {
        SourceKind::ManifestGraph | SourceKind::ManifestAzureAdGraph => "a manifest",
        _ => "a list of applications",
    };
    let missing = |what: &str| format!("{why} has no {what}; scan an export directory");
    Ok(Loaded {
        path: path.to_path_buf(),
        kind,
        snapshot: Snapshot {
            meta: SnapshotMeta::default(),
            applications: apps,
            service_principals: Part::Missing(missing("service principals")),
            app_role_assignments: Part::Missing(missing(
                "app role assignments (granted permissions)",
            )),
            oauth2_permission_grants: Part::Missing(missing("delegated permission grants")),
            groups: Part::Missing(missing("groups")),
            exchange: ExchangeSnapshot::missing(&missing("Exchange Online configuration")),
            policies: PolicySnapshot::missing(&missing("app management policies")),
            sign_ins: Part::Missing(missing("sign-in activity reports")),
            credential_sign_ins: Part::Missing(missing("credential sign-in activity reports")),
            owners_hint: if matches!(kind, SourceKind::ApplicationList) {
                "the list was exported without owners (Get-MgApplication -ExpandProperty Owners, or Graph $expand=owners)"
            } else {
                "a manifest does not list owners; scan an export directory"
            },
        },
        warnings,
        errors: Vec::new(),
    })
}

/// The legacy Azure AD Graph manifest format, per Microsoft's deprecation notes: it has
/// `replyUrlsWithType` where the Graph format has `web`/`spa`/`publicClient`, and its own
/// names for the implicit-flow and public-client flags.
fn is_legacy_manifest(app: &RawApplication) -> bool {
    app.reply_urls_with_type.is_some()
        || app.reply_urls.is_some()
        || app.oauth2_allow_implicit_flow.is_some()
        || app.oauth2_allow_id_token_implicit_flow.is_some()
        || app.allow_public_client.is_some()
        || app.available_to_other_tenants.is_some()
}
