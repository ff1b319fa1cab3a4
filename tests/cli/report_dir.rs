//! `scan --report-dir`: one folder per run under the tenant, a `latest/` copy, retention, the
//! previous run as the default baseline (a failed write is `report::folder`'s unit test).

use std::path::Path;
use std::process::Command;

use crate::common::{self, Scan, TempDir, code, root, stderr};
use serde_json::Value;

const TENANT: &str = "contoso.onmicrosoft.com";

/// A JSON scan of `source` on 2026-11-22 with `--report-dir DIR/reports` (and `-o
/// DIR/stdout.json`).
fn into_reports(dir: &Path, source: &Path) -> Scan {
    Scan::new(source)
        .as_of("2026-11-22")
        .format("json")
        .output(dir.join("stdout.json"))
        .arg("--report-dir")
        .arg(dir.join("reports"))
}

/// The names in a folder, sorted, without the tenant folder's `.lock` (the file runs of one
/// tenant take turns by).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    names.sort();
    names
}

#[test]
fn runs_latest_retention_and_default_baseline() {
    let tmp = TempDir::new("report-dir");
    let demo = root().join("examples/demo-tenant");
    for _ in 0..3 {
        let o = into_reports(tmp.path(), &demo)
            .args(["--keep", "2", "--report-format", "json,csv,junit"])
            .run();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let tenant = tmp.path().join("reports").join(TENANT);
    let names = entries(&tenant);
    assert_eq!(names.len(), 3, "two runs and latest: {names:?}");
    assert_eq!(names[2], "latest");
    let newest = &names[1];
    let marker = std::fs::read_to_string(tenant.join("latest/RUN")).expect("RUN");
    assert_eq!(marker.trim(), newest);
    assert_eq!(
        entries(&tenant.join(newest)),
        ["findings.csv", "findings.json", "findings.junit.xml"]
    );
    // The latest copy is the newest run, byte for byte.
    assert_eq!(
        std::fs::read(tenant.join("latest/findings.json")).expect("latest"),
        std::fs::read(tenant.join(newest).join("findings.json")).expect("run")
    );
    // Each later run was compared with the one before.
    let report = common::read_report(&tenant.join("latest/findings.json"));
    assert_eq!(report["baseline"]["new"], 0);
    assert_eq!(
        report["baseline"]["resolved"]
            .as_array()
            .expect("resolved")
            .len(),
        0
    );
    assert!(
        report["baseline"]["path"]
            .as_str()
            .expect("path")
            .ends_with("latest/findings.json")
    );
}

/// Sets `path`'s modification time `hours` back.
#[cfg(unix)]
fn age(path: &Path, hours: u64) {
    let when = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    std::fs::File::open(path)
        .and_then(|f| f.set_modified(when))
        .expect("set the modification time");
}

/// A run killed between writing and renaming leaves `.NAME.partial-PID` (and, when it was
/// replacing `latest/`, `.latest.old-PID`): the next run removes those over an hour old,
/// and leaves a fresh one, which may be another run's, alone.
#[cfg(unix)]
#[test]
fn the_next_run_removes_what_a_killed_run_left() {
    let tmp = TempDir::new("report-killed");
    let demo = root().join("examples/demo-tenant");
    let tenant = tmp.path().join("reports").join(TENANT);
    let killed = tenant.join(".20261122T060000Z.partial-4194301");
    let replaced = tenant.join(".latest.old-4194301");
    let running = tenant.join(".20261122T070000Z.partial-4194302");
    for dir in [&killed, &replaced, &running] {
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(dir.join("findings.json"), b"{\"half\":").expect("write");
    }
    age(&killed, 2);
    age(&replaced, 30);

    let o = into_reports(tmp.path(), &demo).run();
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    let names = entries(&tenant);
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(
        names[0], ".20261122T070000Z.partial-4194302",
        "the fresh one is kept"
    );
    let run = names[1].as_bytes();
    assert!(
        run.len() >= 16 && run[8] == b'T' && run[15] == b'Z',
        "a run folder: {names:?}"
    );
    assert_eq!(names[2], "latest");
}

#[test]
fn a_hostile_tenant_name_stays_inside_the_reports_folder() {
    let tmp = TempDir::new("report-traversal");
    let src = tmp.path().join("export");
    std::fs::create_dir_all(&src).expect("mkdir");
    std::fs::copy(
        root().join("examples/demo-tenant/applications.json"),
        src.join("applications.json"),
    )
    .expect("copy");
    std::fs::write(
        src.join("snapshot.json"),
        r#"{"tenant": "../../escaped", "parts": ["applications.json"]}"#,
    )
    .expect("write");
    let o = into_reports(tmp.path(), &src).run();
    assert!(code(&o) <= 1, "{}", stderr(&o));
    // The tenant's folder, and the findings store beside it.
    assert_eq!(
        entries(&tmp.path().join("reports")),
        ["_.._escaped", "history.sqlite"]
    );
    assert!(!tmp.path().join("escaped").exists());
}

/// `-o` naming something that is not a regular file (here a named pipe, standing in for
/// `/dev/null` or `/dev/stdout`) is written in place: it must still be a pipe afterwards, not a
/// plain file renamed over it.
#[cfg(unix)]
#[test]
fn output_to_a_pipe_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;

    let tmp = TempDir::new("report-fifo");
    let fifo = tmp.path().join("findings.pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).expect("read the pipe"))
    };
    let o = Scan::new("examples/demo-tenant")
        .format("json")
        .output(&fifo)
        .run();
    // If the scan never opened the pipe, the reader is still blocked in open(): release it
    // so the test fails below instead of hanging. (No reader left means this open fails.)
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
    }
    let bytes = reader.join().expect("reader");
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let report: Value = serde_json::from_slice(&bytes).expect("the report came through the pipe");
    common::validate_report(&report);
    assert_eq!(report["schema"], "m365audit/findings/v2");
    let kind = std::fs::symlink_metadata(&fifo)
        .expect("still there")
        .file_type();
    assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
    assert!(
        !entries(tmp.path()).iter().any(|n| n.contains(".tmp-")),
        "no temporary file left: {:?}",
        entries(tmp.path())
    );
}

/// Overlapping scheduled runs of one tenant: every run keeps its report, and `latest/` is one
/// of them, whole (the runs place their folders and swap `latest/` one at a time).
#[test]
fn concurrent_runs_of_one_tenant_each_keep_their_report() {
    let tmp = TempDir::new("concurrent-runs");
    let reports = tmp.path().join("reports");
    let runs: Vec<std::process::Child> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_m365audit"))
                .current_dir(root())
                .env("NO_COLOR", "1")
                .args(["scan", "--as-of", common::AS_OF, "--format", "table", "-o"])
                .arg(tmp.path().join("ignored.txt"))
                .arg("--report-dir")
                .arg(&reports)
                .args(["--report-name", "demo", "examples/demo-tenant"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("m365audit starts")
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().expect("the run ends");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tenant = reports.join("demo");
    let folders: Vec<String> = entries(&tenant)
        .into_iter()
        .filter(|n| n.starts_with("20"))
        .collect();
    assert_eq!(folders.len(), 6, "{folders:?}");
    for folder in &folders {
        common::read_report(&tenant.join(folder).join("findings.json"));
    }
    let latest = tenant.join("latest");
    let run = std::fs::read_to_string(latest.join("RUN")).expect("latest/RUN");
    assert!(folders.contains(&run.trim().to_string()), "{run}");
    assert_eq!(
        std::fs::read(latest.join("findings.json")).expect("latest"),
        std::fs::read(tenant.join(run.trim()).join("findings.json")).expect("the run")
    );
    // Nothing half-done is left beside them.
    let rest: Vec<String> = entries(&tenant)
        .into_iter()
        .filter(|n| !n.starts_with("20") && n != "latest")
        .collect();
    assert!(rest.is_empty(), "{rest:?}");
}
