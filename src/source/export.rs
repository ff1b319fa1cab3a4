//! An export directory in the layout `collect` writes (see the README).
//!
//! `snapshot.json` says which files were collected. A file it lists may be empty (collected,
//! none); a file it does not list was not collected. Without `snapshot.json` (or without its
//! `parts`), whatever files are present count as collected.

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::json::read_items;
use super::{LoadError, Loaded, SourceKind, application_objects, read_text};
use crate::snapshot::{ExchangeSnapshot, Part, Snapshot, SnapshotMeta, layout};

pub fn load(dir: &Path) -> Result<Loaded, LoadError> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let meta_path = dir.join(layout::SNAPSHOT);
    let meta = if meta_path.is_file() {
        match read_meta(&meta_path) {
            Ok(meta) => meta,
            Err(e) => {
                errors.push(e);
                SnapshotMeta::default()
            }
        }
    } else {
        SnapshotMeta::default()
    };
    let listed: Option<BTreeSet<&str>> = meta
        .parts
        .as_ref()
        .map(|parts| parts.iter().map(|p| p.trim_start_matches("./")).collect());

    let apps_path = dir.join(layout::APPLICATIONS);
    if !apps_path.is_file() {
        return Err(LoadError::content(
            dir,
            format!(
                "not an export directory: it has no {} (expected the layout m365audit collect writes: \
                 snapshot.json, applications.json, servicePrincipals.json, appRoleAssignments.json, \
                 oauth2PermissionGrants.json, exchange/...)",
                layout::APPLICATIONS
            ),
        ));
    }

    let reader = PartReader {
        dir,
        listed: listed.as_ref(),
    };
    // applications.json is most of an export: parse it on one core while the other reads
    // the rest. Warnings keep the file order either way.
    let (applications, (rest, rest_warnings, rest_errors)) = rayon::join(
        || {
            let mut warnings = Vec::new();
            let apps = reader.read(layout::APPLICATIONS, &mut warnings);
            (apps, warnings)
        },
        || {
            let mut warnings = Vec::new();
            let mut errors = Vec::new();
            let rest = reader.read_rest(&mut warnings, &mut errors);
            (rest, warnings, errors)
        },
    );
    let (applications, app_warnings) = applications;
    warnings.extend(app_warnings);
    warnings.extend(rest_warnings);
    errors.extend(rest_errors);
    // Without applications there is nothing to scan: that error ends this source.
    let applications = match applications? {
        Part::Collected(apps) => application_objects(&apps_path, apps)?,
        Part::Missing(_) => Vec::new(),
    };

    warn_unknown_files(dir, &mut warnings);
    if let Some(listed) = &listed {
        for name in listed {
            if !dir.join(name).is_file() {
                errors.push(LoadError::content(
                    &dir.join(name),
                    "listed in snapshot.json parts but the file is missing (incomplete copy?)",
                ));
            }
        }
    }

    Ok(Loaded {
        path: dir.to_path_buf(),
        kind: SourceKind::ExportDirectory,
        snapshot: Snapshot {
            meta,
            applications,
            ..rest
        },
        warnings,
        errors,
    })
}

fn read_meta(path: &Path) -> Result<SnapshotMeta, LoadError> {
    let text = read_text(path)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    serde::Deserialize::deserialize(&mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e: serde_json::Error| LoadError::Syntax {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
}

struct PartReader<'a> {
    dir: &'a Path,
    listed: Option<&'a BTreeSet<&'a str>>,
}

impl PartReader<'_> {
    /// Every file of the layout but applications.json (and snapshot.json, read first): a
    /// snapshot whose applications and meta the caller fills in.
    fn read_rest(&self, warnings: &mut Vec<String>, errors: &mut Vec<LoadError>) -> Snapshot {
        Snapshot {
            meta: SnapshotMeta::default(),
            applications: Vec::new(),
            service_principals: self.read_or_record(layout::SERVICE_PRINCIPALS, warnings, errors),
            app_role_assignments: self.read_or_record(
                layout::APP_ROLE_ASSIGNMENTS,
                warnings,
                errors,
            ),
            oauth2_permission_grants: self.read_or_record(
                layout::OAUTH2_PERMISSION_GRANTS,
                warnings,
                errors,
            ),
            groups: self.read_or_record(layout::GROUPS, warnings, errors),
            exchange: ExchangeSnapshot {
                access_policies: self.read_or_record(layout::ACCESS_POLICIES, warnings, errors),
                role_assignments: self.read_or_record(layout::ROLE_ASSIGNMENTS, warnings, errors),
                management_scopes: self.read_or_record(layout::MANAGEMENT_SCOPES, warnings, errors),
                service_principals: self.read_or_record(
                    layout::EXCHANGE_SERVICE_PRINCIPALS,
                    warnings,
                    errors,
                ),
                cas_mailboxes: self.read_or_record(layout::CAS_MAILBOXES, warnings, errors),
                organization_config: self.read_or_record(
                    layout::ORGANIZATION_CONFIG,
                    warnings,
                    errors,
                ),
            },
            owners_hint: "applications.json was exported without owners (Graph $expand=owners, or Get-MgApplication -ExpandProperty Owners)",
        }
    }

    /// Reads one file of the layout, deciding from `snapshot.json` what absence and
    /// emptiness mean.
    fn read<T: DeserializeOwned>(
        &self,
        file: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Part<T>, LoadError> {
        let path = self.dir.join(file);
        let is_listed = self.listed.map(|l| l.contains(file));
        if !path.is_file() {
            // A listed-but-missing file is reported once, by the caller's parts check.
            return Ok(Part::Missing(match is_listed {
                Some(true) => format!("{file} is listed in snapshot.json but missing"),
                _ => format!("{file} was not collected"),
            }));
        }
        if is_listed == Some(false) {
            warnings.push(format!(
                "{}: not listed in snapshot.json parts; read anyway",
                path.display()
            ));
        }
        match read_items(&path) {
            // Listed and empty: collected, and there were none.
            Err(LoadError::Empty { .. }) if is_listed == Some(true) => {
                Ok(Part::Collected(Vec::new()))
            }
            read => read.map(Part::Collected),
        }
    }

    /// Like [`read`](Self::read), but a broken file is recorded as an error and the part
    /// counts as missing, so the rest of the export is still scanned.
    fn read_or_record<T: DeserializeOwned>(
        &self,
        file: &'static str,
        warnings: &mut Vec<String>,
        errors: &mut Vec<LoadError>,
    ) -> Part<T> {
        match self.read(file, warnings) {
            Ok(part) => part,
            Err(e) => {
                errors.push(e);
                Part::Missing(format!("{file} could not be read"))
            }
        }
    }
}

/// JSON files that are not part of the layout are probably a mistake (a misspelt name, a
/// file from another tool): say so rather than ignore them silently.
fn warn_unknown_files(dir: &Path, warnings: &mut Vec<String>) {
    let known: BTreeSet<&str> = layout::ALL.iter().copied().collect();
    for sub in ["", layout::EXCHANGE_DIR] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut unknown: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| name.to_ascii_lowercase().ends_with(".json"))
            .map(|name| {
                if sub.is_empty() {
                    name
                } else {
                    format!("{sub}/{name}")
                }
            })
            .filter(|rel| !known.contains(rel.as_str()))
            .collect();
        unknown.sort();
        for rel in unknown {
            warnings.push(format!(
                "{}: not a file of the export layout; ignored",
                dir.join(rel).display()
            ));
        }
    }
}
