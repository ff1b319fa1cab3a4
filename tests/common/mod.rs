//! Helpers shared by the integration test binaries (`cli`, `inputs`, `html`): run the real
//! binary from the crate root.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The audit date every fixture is written against.
pub const AS_OF: &str = "2026-06-01";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `m365audit ARGS` in the crate root.
pub fn m365audit<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the m365audit binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

/// Scans with `--format json` and returns the parsed report.
pub fn scan_json(sources: &[&str], extra: &[&str]) -> (serde_json::Value, Output) {
    let mut args = vec!["scan", "--format", "json", "--as-of", AS_OF];
    args.extend_from_slice(extra);
    args.extend_from_slice(sources);
    let out = m365audit(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scan {sources:?} did not print JSON ({e}); exit {:?}; stderr:\n{}",
            out.status.code(),
            stderr(&out)
        )
    });
    (json, out)
}

/// How many rules the binary ships: `rules list`, not a number written into tests.
pub fn shipped_rule_count() -> usize {
    let out = m365audit(["rules", "list", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    rules.len()
}

/// How many apps a scan of `source` evaluates: the apps `inspect` prints (app registrations,
/// and service principals evaluated with them).
pub fn app_count(source: &str) -> usize {
    let out = m365audit(["inspect", source]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    json["apps"].as_array().expect("apps").len()
}

/// insta settings for every snapshot: kept in `tests/snapshots/` under the name the test gives
/// it, not prefixed with the test's module, so a test moved to another module or binary keeps
/// its snapshot.
pub fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("tests/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Writes a synthetic tenant in the export layout to `dir`, as `gen-tenant` does.
pub fn gen_tenant(apps: usize, seed: u64, dir: &Path) {
    use m365audit_testkit::synth::{SynthOptions, SynthTenant};
    let reference = chrono::NaiveDate::from_ymd_opt(2026, 6, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a date")
        .and_utc();
    SynthTenant::generate(&SynthOptions {
        apps,
        seed,
        reference,
    })
    .write_export(dir, reference)
    .expect("the synthetic tenant is written");
}

/// A temporary directory, removed on drop (tempfile), with a helper to write files into it.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// `name` goes into the folder's name, so a leftover (a test killed) says whose it was.
    pub fn new(name: &str) -> TempDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("m365audit-test-{name}-"))
            .tempdir()
            .expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&p, text).expect("write temp file");
        p
    }
}

/// A copy of the demo tenant's export folder, as `export` inside `dir`, to change files in.
pub fn demo_copy(dir: &TempDir) -> PathBuf {
    let to = dir.path().join("export");
    copy_dir(&root().join("examples/demo-tenant"), &to);
    to
}

/// Copies a folder and everything in it.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
