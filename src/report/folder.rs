//! The reports folder of scheduled runs: `<dir>/<tenant>/<UTC timestamp>/findings.<ext>`, a
//! `latest/` copy beside them, and retention. A run's folder is written under a temporary
//! name and renamed into place in one step, so a crashed or killed run never leaves a
//! half-written report where readers (or the next run's baseline) would find it. Runs of one
//! tenant place their folders, swap `latest/` and prune one at a time, under an advisory lock
//! on the tenant folder's `.lock`; reading `latest/` takes it shared.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Format, Report};
use crate::temporaries;

/// A folder name from a tenant name: letters, digits, `.`, `-` and `_` only, no leading dot,
/// so a tenant name can never point outside the reports folder.
pub fn tenant_folder(tenant: Option<&str>) -> String {
    let raw = tenant.unwrap_or("unknown-tenant");
    let safe: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    if safe.is_empty() {
        "unknown-tenant".into()
    } else {
        safe.chars().take(100).collect()
    }
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Table => "txt",
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        Format::JsonV1 => "v1.json",
        Format::Csv => "csv",
        Format::Markdown => "md",
        Format::Junit => "junit.xml",
        Format::Sarif => "sarif",
        Format::Html => "html",
    }
}

/// The previous run's report for `tenant` that a baseline can be read from, if any (its
/// JSON, else its JSON Lines, else its v1 JSON), read by `load` while no other run of the
/// tenant is swapping `latest/`.
pub fn previous<T>(
    dir: &Path,
    tenant: &str,
    load: impl FnOnce(&Path) -> T,
) -> std::io::Result<Option<(PathBuf, T)>> {
    let tenant_dir = dir.join(tenant);
    if !tenant_dir.is_dir() {
        return Ok(None);
    }
    let _lock = lock(&tenant_dir, Lock::Shared)?;
    let latest = tenant_dir.join("latest");
    Ok([Format::Json, Format::Jsonl, Format::JsonV1]
        .into_iter()
        .map(|f| latest.join(format!("findings.{}", extension(f))))
        .find(|p| p.is_file())
        .map(|p| {
            let loaded = load(&p);
            (p, loaded)
        }))
}

/// Where a run was written.
pub struct Written {
    pub run: PathBuf,
    pub removed: usize,
}

/// Writes the report in every format into a new run folder, refreshes `latest/`, and keeps
/// the newest `keep` run folders (all when `None`).
pub fn write(
    report: &Report,
    dir: &Path,
    tenant: &str,
    formats: &[Format],
    keep: Option<usize>,
) -> std::io::Result<Written> {
    write_then(report, dir, tenant, formats, keep, |_| Ok(()), |_| ()).map(|(w, ())| w)
}

/// [`write`], then `locked(&written)` while the tenant's lock is still held: runs of one
/// tenant record themselves in the findings store in the order they refreshed `latest/`.
pub fn write_and<T>(
    report: &Report,
    dir: &Path,
    tenant: &str,
    formats: &[Format],
    keep: Option<usize>,
    locked: impl FnOnce(&Written) -> T,
) -> std::io::Result<(Written, T)> {
    write_then(report, dir, tenant, formats, keep, |_| Ok(()), locked)
}

/// [`write`], calling `after_temp_write` once the temporary run folder is complete and before
/// it is renamed into place: the unit tests fail there, to prove nothing partial is left.
fn write_then<T>(
    report: &Report,
    dir: &Path,
    tenant: &str,
    formats: &[Format],
    keep: Option<usize>,
    after_temp_write: impl FnOnce(&Path) -> std::io::Result<()>,
    locked: impl FnOnce(&Written) -> T,
) -> std::io::Result<(Written, T)> {
    let tenant_dir = dir.join(tenant);
    std::fs::create_dir_all(&tenant_dir)?;
    // Everything in the tenant's folder is this module's: a run killed earlier left these.
    temporaries::remove_stale(&tenant_dir, |_| true, std::time::SystemTime::now());
    let stamp = report.generated_at.format("%Y%m%dT%H%M%SZ").to_string();
    // Written under a name of this process's, then renamed into place under the lock.
    let tmp = temporaries::beside(&tenant_dir, &stamp, temporaries::Kind::Partial);
    let written = (|| {
        std::fs::create_dir_all(&tmp)?;
        for format in formats {
            let path = tmp.join(format!("findings.{}", extension(*format)));
            let file = std::fs::File::create(&path)?;
            let mut w = std::io::BufWriter::new(file);
            super::write(report, *format, &mut w, false)?;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
        }
        after_temp_write(&tmp)
    })();
    let placed = written.and_then(|()| {
        // Runs of one tenant (overlapping cron jobs) name their folders, refresh `latest/`
        // and prune one at a time: two renames onto one name, or two swaps of `latest/`,
        // would lose a report.
        let _lock = lock(&tenant_dir, Lock::Exclusive)?;
        let mut name = stamp.clone();
        let mut n = 1;
        while tenant_dir.join(&name).exists() {
            n += 1;
            name = format!("{stamp}-{n}");
        }
        let run = tenant_dir.join(&name);
        std::fs::rename(&tmp, &run)?;
        refresh_latest(&tenant_dir, &run)?;
        let removed = match keep {
            Some(k) => prune(&tenant_dir, k)?,
            None => 0,
        };
        let written = Written { run, removed };
        let then = locked(&written);
        Ok((written, then))
    });
    if placed.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    placed
}

/// How [`lock`] holds the tenant folder.
#[derive(Clone, Copy)]
enum Lock {
    /// Reading `latest/`: many at once.
    Shared,
    /// Placing a run: one at a time.
    Exclusive,
}

/// The tenant folder's lock file (`.lock`), held until the file is dropped. An advisory
/// `flock`: every m365audit run takes it, other tools may read the folder as before.
fn lock(tenant_dir: &Path, how: Lock) -> std::io::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(tenant_dir.join(".lock"))?;
    match how {
        Lock::Shared => file.lock_shared()?,
        Lock::Exclusive => file.lock()?,
    }
    Ok(file)
}

/// `latest/` becomes a copy of `run`, swapped in by renames.
fn refresh_latest(tenant_dir: &Path, run: &Path) -> std::io::Result<()> {
    let tmp = temporaries::beside(tenant_dir, "latest", temporaries::Kind::Partial);
    let old = temporaries::beside(tenant_dir, "latest", temporaries::Kind::Old);
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    for entry in std::fs::read_dir(run)? {
        let entry = entry?;
        std::fs::copy(entry.path(), tmp.join(entry.file_name()))?;
    }
    let latest = tenant_dir.join("latest");
    if latest.exists() {
        std::fs::rename(&latest, &old)?;
    }
    std::fs::rename(&tmp, &latest)?;
    let _ = std::fs::remove_dir_all(&old);
    let mut marker = std::fs::File::create(latest.join("RUN"))?;
    writeln!(
        marker,
        "{}",
        run.file_name().unwrap_or_default().to_string_lossy()
    )
}

/// Run folders are named by their UTC timestamp (`20261122T060000Z`, `…-2`).
fn is_run(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 16 && b[8] == b'T' && b[15] == b'Z' && b[..8].iter().all(u8::is_ascii_digit)
}

fn prune(tenant_dir: &Path, keep: usize) -> std::io::Result<usize> {
    let mut runs: Vec<String> = std::fs::read_dir(tenant_dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_run(n))
        .collect();
    runs.sort();
    let excess = runs.len().saturating_sub(keep.max(1));
    for old in &runs[..excess] {
        std::fs::remove_dir_all(tenant_dir.join(old))?;
    }
    Ok(excess)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_cannot_escape_the_folder() {
        assert_eq!(
            tenant_folder(Some("contoso.onmicrosoft.com")),
            "contoso.onmicrosoft.com"
        );
        assert_eq!(tenant_folder(Some("../../etc")), "_.._etc");
        assert_eq!(tenant_folder(Some("/abs/path")), "_abs_path");
        assert_eq!(tenant_folder(Some("..")), "unknown-tenant");
        assert_eq!(tenant_folder(None), "unknown-tenant");
        assert!(is_run("20261122T060000Z") && is_run("20261122T060000Z-2"));
        assert!(!is_run("latest") && !is_run(".20261122T060000Z.partial-1"));
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("a folder")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failed_write_leaves_no_partial_folder_and_latest_untouched() {
        let rules = crate::engine::RuleSet { rules: Vec::new() };
        let at = |h| {
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 22, h, 0, 0)
                .single()
                .expect("a date")
        };
        let first = Report::new(&rules, Vec::new(), Vec::new(), 0, at(6), at(6), false);
        let root = std::env::temp_dir().join(format!("m365audit-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let formats = [Format::Json, Format::Csv];
        write(&first, &root, "t", &formats, None).expect("the first run is written");
        let tenant = root.join("t");
        let before = names(&tenant);
        let latest = std::fs::read(tenant.join("latest/findings.json")).expect("latest");

        let second = Report::new(&rules, Vec::new(), Vec::new(), 0, at(7), at(7), false);
        let mut seen = Vec::new();
        let failed = write_then(
            &second,
            &root,
            "t",
            &formats,
            None,
            |tmp| {
                seen = names(tmp);
                Err(std::io::Error::other("the disk filled up"))
            },
            |_| (),
        );
        assert_eq!(
            failed.err().map(|e| e.to_string()).as_deref(),
            Some("the disk filled up")
        );
        assert_eq!(
            seen,
            ["findings.csv", "findings.json"],
            "failed once complete"
        );
        assert_eq!(names(&tenant), before, "no new run folder, no temporary");
        assert_eq!(
            std::fs::read(tenant.join("latest/findings.json")).expect("latest"),
            latest
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
