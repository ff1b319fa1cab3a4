//! Temporary files and folders written beside their destination and renamed into place, so
//! that nobody ever reads half a report or half a snapshot: `.NAME.tmp-PID` (`-o FILE`),
//! `.NAME.partial-PID` and `.NAME.old-PID` (`collect` folders, `--report-dir` runs and
//! `latest/`).
//!
//! A run that fails removes its own. A run that is killed between the write and the rename
//! cannot, so the next run writing to the same folder removes those left behind: any whose
//! last change is older than [`STALE_AFTER`] and that another process made. Writing a report
//! or a snapshot takes seconds, so an hour-old temporary belongs to no run still going.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How old a temporary must be before another run removes it.
pub const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// What a temporary is for, the middle part of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file being written (`.NAME.tmp-PID`).
    File,
    /// A folder being written (`.NAME.partial-PID`).
    Partial,
    /// A folder being replaced, until the new one is in place (`.NAME.old-PID`).
    Old,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::File, Kind::Partial, Kind::Old];

    fn as_str(self) -> &'static str {
        match self {
            Kind::File => "tmp",
            Kind::Partial => "partial",
            Kind::Old => "old",
        }
    }
}

/// This process's temporary of `kind` for `name`, in `dir`.
pub fn beside(dir: &Path, name: &str, kind: Kind) -> PathBuf {
    dir.join(format!(".{name}.{}-{}", kind.as_str(), std::process::id()))
}

/// The name and process id of a temporary's file name, if it is one.
fn parse(file_name: &str) -> Option<(&str, u32)> {
    let rest = file_name.strip_prefix('.')?;
    Kind::ALL.iter().find_map(|kind| {
        let (name, pid) = rest.rsplit_once(&format!(".{}-", kind.as_str()))?;
        let pid = (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            .then(|| pid.parse().ok())
            .flatten()?;
        (!name.is_empty()).then_some((name, pid))
    })
}

/// Removes the stale temporaries in `dir` whose name `of` accepts (see the module text);
/// returns how many. Anything it cannot read or remove is left alone: cleaning up is a
/// courtesy, never a reason for the run itself to fail.
pub fn remove_stale(dir: &Path, of: impl Fn(&str) -> bool, now: SystemTime) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let own = std::process::id();
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some((name, pid)) = file_name.to_str().and_then(parse) else {
            continue;
        };
        // (`symlink_metadata`: a link named like a temporary is removed, never followed.)
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok());
        if pid == own || !of(name) || age.is_none_or(|age| age < STALE_AFTER) {
            continue;
        }
        let gone = if meta.is_dir() {
            std::fs::remove_dir_all(entry.path())
        } else {
            std::fs::remove_file(entry.path())
        };
        removed += usize::from(gone.is_ok());
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_parsed_back() {
        assert_eq!(
            parse(".20261122T060000Z.partial-42"),
            Some(("20261122T060000Z", 42))
        );
        assert_eq!(parse(".latest.old-7"), Some(("latest", 7)));
        assert_eq!(parse(".report.csv.tmp-123"), Some(("report.csv", 123)));
        for not_ours in [
            "latest",
            ".latest",
            ".latest.partial-",
            ".latest.partial-12a",
            "..partial-1",
            "x.partial-1",
            ".latest.partial-99999999999",
        ] {
            assert_eq!(parse(not_ours), None, "{not_ours}");
        }
    }

    fn aged(path: &Path, age: Duration, now: SystemTime) {
        std::fs::File::open(path)
            .and_then(|f| f.set_modified(now - age))
            .expect("set the modification time");
    }

    #[cfg(unix)] // (setting a folder's modification time through a read-only handle)
    #[test]
    fn only_old_temporaries_of_other_processes_are_removed() {
        let dir =
            std::env::temp_dir().join(format!("m365audit-temporaries-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let now = SystemTime::now();
        let hours = |h: u64| Duration::from_secs(h * 3600);
        let old_run = dir.join(".20261122T060000Z.partial-1");
        let old_file = dir.join(".findings.csv.tmp-2");
        let recent = dir.join(".20261123T060000Z.partial-3");
        let own = beside(&dir, "latest", Kind::Old);
        let other_name = dir.join(".contoso.partial-4");
        let plain = dir.join("20261122T060000Z");
        for folder in [&old_run, &recent, &own, &other_name, &plain] {
            std::fs::create_dir_all(folder.join("inner")).expect("mkdir");
        }
        std::fs::write(&old_file, b"half").expect("write");
        for path in [&old_run, &old_file, &own, &other_name, &plain] {
            aged(path, hours(2), now);
        }
        aged(&recent, Duration::from_secs(60), now);

        let removed = remove_stale(&dir, |name| name != "contoso", now);

        assert_eq!(removed, 2);
        assert!(
            !old_run.exists() && !old_file.exists(),
            "stale ones removed"
        );
        for kept in [&recent, &own, &other_name, &plain] {
            assert!(kept.exists(), "{} kept", kept.display());
        }
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
