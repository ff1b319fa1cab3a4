//! Sources: where the data lives, turned into a [`Snapshot`]. Offline sources are an export
//! directory (the layout `collect` writes) or a single file of applications / one manifest;
//! the live source ([`live`]) reads Microsoft Graph and Exchange Online and writes that layout.
//!
//! A file that cannot be read is an error naming it (with line and column for JSON). What is
//! read with a doubt is a warning in [`Loaded::warnings`], which `scan` prints and its
//! reports keep: a file not listed in `snapshot.json`, a file that is not part of the
//! layout, an object that gives one property in two spellings with different values (the
//! first in the object is used; see [`json`]).

mod error;
mod export;
mod file;
pub mod json;
pub mod live;

use std::fmt;
use std::path::{Path, PathBuf};

pub use error::LoadError;

use crate::snapshot::{RawApplication, Required, Snapshot};

/// What kind of input a source turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    ExportDirectory,
    /// A list of applications: `az ad app list`, Graph page(s), `Get-MgApplication | ConvertTo-Json`.
    ApplicationList,
    /// One Entra portal manifest in Microsoft Graph format.
    ManifestGraph,
    /// One Entra portal manifest in the legacy Azure AD Graph format.
    ManifestAzureAdGraph,
}

impl SourceKind {
    /// The stable name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::ExportDirectory => "export-directory",
            SourceKind::ApplicationList => "application-list",
            SourceKind::ManifestGraph => "manifest-graph",
            SourceKind::ManifestAzureAdGraph => "manifest-azure-ad-graph",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source read from disk. `errors` are files that failed while the rest was usable: the
/// rules that need them report `not_evaluated`, and the run exits 2.
#[derive(Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub kind: SourceKind,
    pub snapshot: Snapshot,
    pub warnings: Vec<String>,
    pub errors: Vec<LoadError>,
}

pub use export::load_streaming;

/// Reads one source: a directory in the export layout, or a single JSON file.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| LoadError::io(path, e))?;
    if meta.is_dir() {
        export::load(path)
    } else {
        file::load(path)
    }
}

/// Reads a file and decodes it to text.
pub(crate) fn read_text(path: &Path) -> Result<String, LoadError> {
    let bytes = std::fs::read(path).map_err(|e| LoadError::io(path, e))?;
    json::decode_text(path, bytes)
}

/// Refuses a list that is not application registrations (a service principal export, a list
/// of users, ...) instead of scanning it as apps with every property unknown. Objects nested
/// as `{"application": {...}}` (application template instantiation) are unwrapped.
pub(crate) fn application_objects(
    path: &Path,
    items: Vec<RawApplication>,
    joined: bool,
) -> Result<Vec<RawApplication>, LoadError> {
    let mut check = ApplicationCheck::new(joined);
    let items = check.batch(path, items)?;
    check.finish(path)?;
    Ok(items)
}

/// [`application_objects`] a batch at a time, for a list read as a stream.
pub(crate) struct ApplicationCheck {
    /// Items checked so far.
    seen: usize,
    /// Whether any had a property only application registrations have.
    any_application: bool,
    /// Whether the apps are joined with other files by `appId` (an export folder), so each
    /// must have one. A single manifest or list is joined with nothing.
    joined: bool,
}

impl ApplicationCheck {
    pub(crate) fn new(joined: bool) -> Self {
        ApplicationCheck {
            seen: 0,
            any_application: false,
            joined,
        }
    }

    /// The next items of the list, unwrapped, or the error that refuses the list.
    pub(crate) fn batch(
        &mut self,
        path: &Path,
        items: Vec<RawApplication>,
    ) -> Result<Vec<RawApplication>, LoadError> {
        let items: Vec<RawApplication> = items
            .into_iter()
            .map(|app| match app.application {
                Some(inner) if !app.has_application_properties() => *inner,
                _ => app,
            })
            .collect();
        if let Some(i) = items.iter().position(|a| a.looks_like_service_principal()) {
            return Err(LoadError::content(
                path,
                format!(
                    "item {} is a service principal, not an application registration \
                     (scan the export directory, or export applications: az ad app list / \
                     Get-MgApplication -All)",
                    self.seen + i + 1
                ),
            ));
        }
        if self.joined {
            required(path, self.seen, &items)?;
        }
        self.seen += items.len();
        self.any_application |= items.iter().any(RawApplication::has_application_properties);
        Ok(items)
    }

    /// After the last batch: a non-empty list must hold at least one app registration.
    pub(crate) fn finish(&self, path: &Path) -> Result<(), LoadError> {
        if self.seen > 0 && !self.any_application {
            return Err(LoadError::content(
                path,
                "no application registrations found: no object has requiredResourceAccess, \
                 passwordCredentials, keyCredentials, web, spa, publicClient, signInAudience \
                 or replyUrlsWithType",
            ));
        }
        Ok(())
    }
}

/// Refuses a file with an object that lacks a [`Required`] property, naming the object by
/// its place in the file; `items` start at index `first` (from 0) of the file.
pub(crate) fn required<T: Required>(
    path: &Path,
    first: usize,
    items: &[T],
) -> Result<(), LoadError> {
    let Some((i, name)) = items
        .iter()
        .enumerate()
        .find_map(|(i, item)| item.missing_property().map(|name| (i, name)))
    else {
        return Ok(());
    };
    Err(LoadError::content(
        path,
        format!(
            "item {} has no \"{name}\", which every such object has: the file was exported \
             with fewer properties or edited (export all properties; for Graph, without $select)",
            first + i + 1
        ),
    ))
}
