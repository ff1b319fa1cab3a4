//! An export directory in the layout `collect` writes (see the README).
//!
//! `snapshot.json` says which files were collected. A file it lists may be empty (collected,
//! none); a file it does not list was not collected. Without `snapshot.json` (or without its
//! `parts`), whatever files are present count as collected.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::mpsc::{Receiver, channel, sync_channel};

use serde::de::DeserializeOwned;

use super::json::{Streamed, read_items, starts_as_array, stream_items};
use super::{ApplicationCheck, LoadError, Loaded, SourceKind, application_objects, read_text};
use crate::snapshot::{
    ExchangeSnapshot, Part, PolicySnapshot, RawApplication, Required, Snapshot, SnapshotMeta,
    layout,
};

pub fn load(dir: &Path) -> Result<Loaded, LoadError> {
    let (meta, mut errors, reader) = open(dir)?;
    // applications.json is most of an export: parse it on one core while the other reads
    // the rest. Warnings keep the file order either way.
    let (applications, (rest, rest_warnings, rest_errors)) = rayon::join(
        || {
            let mut warnings = Vec::new();
            let apps = reader.read(layout::APPLICATIONS, &mut warnings, read_items);
            (apps, warnings)
        },
        || {
            let mut warnings = Vec::new();
            let mut errors = Vec::new();
            let rest = reader.read_rest(meta, &mut warnings, &mut errors);
            (rest, warnings, errors)
        },
    );
    let (applications, mut warnings) = applications;
    warnings.extend(rest_warnings);
    // Without applications there is nothing to scan: that error ends this source.
    let applications = match applications? {
        Part::Collected(apps) => application_objects(&dir.join(layout::APPLICATIONS), apps, true)?,
        Part::Missing(_) => Vec::new(),
    };
    errors.extend(rest_errors);
    Ok(reader.finish(
        Snapshot {
            applications,
            ..rest
        },
        warnings,
        errors,
    ))
}

/// Reads an export folder like [`load`], but gives the items of `applications.json` to
/// `consume` while the file is still being parsed (on another thread), so that they can be
/// processed on the other core as they come.
///
/// `consume` runs on the calling thread once the other files are read. It gets them as a
/// snapshot without applications, and a channel of the applications in file order, `batch`
/// at a time, which closes after the last. The [`Loaded`] returned has no applications.
///
/// A file that does not start as a top-level array (a Graph page, UTF-16, ...) is parsed
/// whole first, and `consume` called once with all its items. A file the block reader stops
/// taking part-way (a broken element) is parsed whole too: then `consume` is called a second
/// time with all its items, and the result of the first call, which saw only some of them, is
/// dropped. (A broken file's whole parse fails, so in practice the second call does not come.)
pub fn load_streaming<R>(
    dir: &Path,
    batch: usize,
    mut consume: impl FnMut(&Snapshot, Receiver<Vec<RawApplication>>) -> R,
) -> Result<(Loaded, R), LoadError> {
    let (meta, mut errors, reader) = open(dir)?;
    let path = dir.join(layout::APPLICATIONS);
    let streamable = starts_as_array(&path);
    let (parsed, consumed, rest, warnings, rest_errors) = std::thread::scope(|threads| {
        // Bounded: when `consume` falls behind, the parser waits (and leaves its core to
        // it) instead of piling up raw applications beside the built ones.
        let (sender, batches) = sync_channel(BATCHES_AHEAD);
        let parser = threads.spawn(|| {
            let mut warnings = Vec::new();
            let mut check = ApplicationCheck::new(true);
            let mut refused = None;
            // Whether the file was parsed whole (not streamed): then the part is its items.
            let mut whole = false;
            let part = reader.read(layout::APPLICATIONS, &mut warnings, |path, warnings| {
                let streamed = stream_items(path, batch, warnings, |items| {
                    match check.batch(path, items) {
                        // A closed channel: `consume` wants no more.
                        Ok(items) => match sender.send(items) {
                            Ok(()) => ControlFlow::Continue(()),
                            Err(_) => ControlFlow::Break(()),
                        },
                        Err(e) => {
                            refused = Some(e);
                            ControlFlow::Break(())
                        }
                    }
                });
                // Closes the channel: `consume` has had every batch.
                drop(sender);
                match streamed {
                    Streamed::Done | Streamed::Stopped => Ok(Vec::new()),
                    Streamed::Whole(read) => {
                        whole = true;
                        read
                    }
                }
            });
            let part = match (part, refused) {
                (_, Some(e)) | (Err(e), None) => Err(e),
                (Ok(Part::Collected(items)), None) if whole => {
                    application_objects(&path, items, true).map(Some)
                }
                (Ok(Part::Collected(_)), None) => check.finish(&path).map(|()| None),
                // The file exists (`open` checked), so it is never missing.
                (Ok(Part::Missing(_)), None) => Ok(Some(Vec::new())),
            };
            (part, warnings)
        });
        let mut warnings = Vec::new();
        let mut errors = Vec::new();
        let rest = reader.read_rest(meta, &mut warnings, &mut errors);
        // Not streamable: the parser sends nothing, and `consume` waits for the whole file.
        let consumed = streamable.then(|| consume(&rest, batches));
        let parsed = parser
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (parsed, consumed, rest, warnings, errors)
    });
    let (applications, mut app_warnings) = parsed;
    app_warnings.extend(warnings);
    let consumed = match (applications?, consumed) {
        (None, Some(consumed)) => consumed,
        // Parsed whole: everything goes to `consume` (again, if it saw a part).
        (whole, _) => {
            let whole = whole.unwrap_or_default();
            // Unbounded: every batch is sent before `consume` runs.
            let (sender, batches) = channel();
            let mut items = whole.into_iter();
            loop {
                let chunk: Vec<RawApplication> = items.by_ref().take(batch.max(1)).collect();
                // The receiver lives until `consume` returns.
                if chunk.is_empty() || sender.send(chunk).is_err() {
                    break;
                }
            }
            drop(sender);
            consume(&rest, batches)
        }
    };
    errors.extend(rest_errors);
    Ok((reader.finish(rest, app_warnings, errors), consumed))
}

/// How many batches of applications the parser of [`load_streaming`] may be ahead of
/// `consume`.
const BATCHES_AHEAD: usize = 32;

/// Reads `snapshot.json` (a broken one is an error of the source, which is still read) and
/// checks that `dir` is an export folder: its meta, errors so far, and the reader of its
/// files.
fn open(dir: &Path) -> Result<(SnapshotMeta, Vec<LoadError>, PartReader<'_>), LoadError> {
    let mut errors = Vec::new();
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
    let listed = meta.parts.as_ref().map(|parts| {
        parts
            .iter()
            .map(|p| p.trim_start_matches("./").to_string())
            .collect()
    });
    if !dir.join(layout::APPLICATIONS).is_file() {
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
    Ok((meta, errors, PartReader { dir, listed }))
}

fn read_meta(path: &Path) -> Result<SnapshotMeta, LoadError> {
    let text = read_text(path)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    serde::Deserialize::deserialize(&mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e: serde_json::Error| {
            let message = super::json::strip_position(&e.to_string());
            LoadError::syntax(path, &text, e.line(), e.column(), message)
        })
}

/// Reads the files of an export folder.
struct PartReader<'a> {
    dir: &'a Path,
    /// The files `snapshot.json` lists as collected, if it lists them.
    listed: Option<BTreeSet<String>>,
}

impl PartReader<'_> {
    /// The loaded source, after the checks that need every file read.
    fn finish(
        &self,
        snapshot: Snapshot,
        mut warnings: Vec<String>,
        mut errors: Vec<LoadError>,
    ) -> Loaded {
        let dir = self.dir;
        warn_unknown_files(dir, &mut warnings);
        for name in self.listed.iter().flatten() {
            if !dir.join(name).is_file() {
                errors.push(LoadError::content(
                    &dir.join(name),
                    "listed in snapshot.json parts but the file is missing (incomplete copy?)",
                ));
            }
        }
        Loaded {
            path: dir.to_path_buf(),
            kind: SourceKind::ExportDirectory,
            snapshot,
            warnings,
            errors,
        }
    }

    /// Every file of the layout but applications.json (and snapshot.json, read first, whose
    /// `meta` this takes): a snapshot whose applications the caller fills in.
    fn read_rest(
        &self,
        meta: SnapshotMeta,
        warnings: &mut Vec<String>,
        errors: &mut Vec<LoadError>,
    ) -> Snapshot {
        Snapshot {
            meta,
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
                authorization_tests: self.read_or_record(
                    layout::AUTHORIZATION_TESTS,
                    warnings,
                    errors,
                ),
            },
            policies: PolicySnapshot {
                default: self.read_or_record(
                    layout::DEFAULT_APP_MANAGEMENT_POLICY,
                    warnings,
                    errors,
                ),
                app_policies: self.read_or_record(
                    layout::APP_MANAGEMENT_POLICIES,
                    warnings,
                    errors,
                ),
            },
            sign_ins: self.read_or_record(
                layout::SERVICE_PRINCIPAL_SIGN_IN_ACTIVITIES,
                warnings,
                errors,
            ),
            credential_sign_ins: self.read_or_record(
                layout::APP_CREDENTIAL_SIGN_IN_ACTIVITIES,
                warnings,
                errors,
            ),
            owners_hint: "applications.json was exported without owners (Graph $expand=owners, or Get-MgApplication -ExpandProperty Owners)",
        }
    }

    /// Reads one file of the layout, deciding from `snapshot.json` what absence and
    /// emptiness mean. The warnings `parse` gives about the file are kept only if it is read.
    fn read<T>(
        &self,
        file: &str,
        warnings: &mut Vec<String>,
        parse: impl FnOnce(&Path, &mut Vec<String>) -> Result<Vec<T>, LoadError>,
    ) -> Result<Part<T>, LoadError> {
        let path = self.dir.join(file);
        let is_listed = self.listed.as_ref().map(|l| l.contains(file));
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
        let mut file_warnings = Vec::new();
        match parse(&path, &mut file_warnings) {
            // Listed and empty: collected, and there were none.
            Err(LoadError::Empty { .. }) if is_listed == Some(true) => {
                Ok(Part::Collected(Vec::new()))
            }
            Ok(items) => {
                warnings.append(&mut file_warnings);
                Ok(Part::Collected(items))
            }
            Err(e) => Err(e),
        }
    }

    /// Like [`read`](Self::read), but a broken file is recorded as an error and the part
    /// counts as missing, so the rest of the export is still scanned.
    fn read_or_record<T: DeserializeOwned + Required>(
        &self,
        file: &'static str,
        warnings: &mut Vec<String>,
        errors: &mut Vec<LoadError>,
    ) -> Part<T> {
        let parse = |path: &Path, warnings: &mut Vec<String>| {
            let items = read_items(path, warnings)?;
            super::required(path, 0, &items)?;
            Ok(items)
        };
        match self.read(file, warnings, parse) {
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
    for sub in [
        "",
        layout::EXCHANGE_DIR,
        layout::POLICIES_DIR,
        layout::REPORTS_DIR,
    ] {
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
