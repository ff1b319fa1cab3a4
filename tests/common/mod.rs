//! Helpers shared by the integration test binaries (`cli`, `inputs`, `html`): run the real
//! binary from the crate root ([`m365audit`], [`run`]), scan with [`Scan`], temporary folders,
//! copies of the demo tenant, and the settings every snapshot is taken with.

#![allow(dead_code)]

pub mod pg;

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The audit date every fixture is written against.
pub const AS_OF: &str = "2026-06-01";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `m365audit ARGS` in the crate root.
pub fn m365audit<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(args).out
}

/// What a run of the binary gave, with its peak resident memory. It derefs to the
/// [`Output`], so `code(&run)` and `stderr(&run)` work as they do on an `Output`.
pub struct Run {
    pub out: Output,
    pub peak_mib: u64,
}

impl std::ops::Deref for Run {
    type Target = Output;

    fn deref(&self) -> &Output {
        &self.out
    }
}

impl Run {
    pub fn code(&self) -> i32 {
        code(&self.out)
    }

    pub fn stderr(&self) -> String {
        stderr(&self.out)
    }

    pub fn stdout(&self) -> String {
        stdout(&self.out)
    }

    /// Standard output parsed as JSON; panics with the exit code and standard error if it is not.
    /// A findings report is checked against its JSON Schema ([`validate_report`]).
    pub fn json(&self) -> serde_json::Value {
        let value = serde_json::from_slice(&self.out.stdout).unwrap_or_else(|e| {
            panic!(
                "no JSON on standard output ({e}); exit {:?}; stderr:\n{}",
                self.out.status.code(),
                self.stderr()
            )
        });
        validate_report(&value);
        value
    }

    /// Standard output as JSON Lines, each line checked against the JSON Lines schema.
    pub fn jsonl(&self) -> Vec<serde_json::Value> {
        parse_jsonl(&self.stdout())
    }

    /// Exit `expected`, or a panic showing standard error.
    pub fn assert_code(&self, expected: i32) -> &Run {
        assert_eq!(self.code(), expected, "{}", self.stderr());
        self
    }

    /// Exit 2 (bad input) with every needle in the error output, and no panic.
    pub fn assert_input_error(&self, needles: &[&str]) -> &Run {
        assert_input_error(&self.out, needles);
        self
    }

    /// A report was written (exit 0 or 1) and nothing panicked.
    pub fn assert_scanned(&self) -> &Run {
        let err = self.stderr();
        assert!(matches!(self.code(), 0 | 1), "exit {}: {err}", self.code());
        assert!(!err.contains("panicked"), "panic: {err}");
        self
    }
}

/// Runs `m365audit ARGS` in the crate root (standard input empty, `NO_COLOR` set), sampling the
/// child's peak resident memory (`VmHWM`, a high-water mark, so a sample taken late still sees
/// an earlier peak) until it exits.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the m365audit binary starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf).expect("read child output");
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Run {
        out: Output {
            status,
            stdout: stdout.join().expect("stdout reader"),
            stderr: stderr.join().expect("stderr reader"),
        },
        peak_mib: peak_kib / 1024,
    }
}

/// `m365audit scan`, built up and run:
/// `Scan::new("examples/demo-tenant").format("json").arg("--include-passed").run().json()`.
/// The audit date is [`AS_OF`] unless [`Scan::as_of`] says otherwise; the sources come last on
/// the command line, after every option.
#[must_use = "a Scan does nothing until it is run"]
pub struct Scan {
    sources: Vec<OsString>,
    as_of: String,
    args: Vec<OsString>,
}

impl Scan {
    /// A scan of one source (a file or an export folder).
    pub fn new(source: impl AsRef<OsStr>) -> Scan {
        Scan::of([source])
    }

    /// A scan of several sources, in this order.
    pub fn of<I, S>(sources: I) -> Scan
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Scan {
            sources: sources.into_iter().map(|s| s.as_ref().into()).collect(),
            as_of: AS_OF.to_string(),
            args: Vec::new(),
        }
    }

    /// `--as-of DATE` instead of [`AS_OF`].
    #[allow(clippy::wrong_self_convention, reason = "named for the --as-of option")]
    pub fn as_of(mut self, date: &str) -> Scan {
        self.as_of = date.to_string();
        self
    }

    /// `--format FORMAT`.
    pub fn format(self, format: &str) -> Scan {
        self.args(["--format", format])
    }

    /// `-o PATH`.
    pub fn output(self, path: impl AsRef<OsStr>) -> Scan {
        self.arg("-o").arg(path)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Scan {
        self.args.push(arg.as_ref().into());
        self
    }

    pub fn args<I, S>(self, args: I) -> Scan
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        args.into_iter().fold(self, Scan::arg)
    }

    /// Runs `m365audit scan --as-of DATE ARGS... SOURCES...`.
    pub fn run(self) -> Run {
        let mut args: Vec<OsString> = vec!["scan".into(), "--as-of".into(), self.as_of.into()];
        args.extend(self.args);
        args.extend(self.sources);
        run(args)
    }
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

/// Exit 2 (bad input) with every needle in the error output, and no panic.
pub fn assert_input_error(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(code(out), 2, "stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
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

/// Copies the folder `from`, with everything under it, to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from).expect("read the folder to copy") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
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

/// The JSON Schema a findings report names in `schema`, if it is one of ours.
fn schema_for(schema: &str) -> Option<&'static str> {
    match schema {
        "m365audit/findings/v1" => Some("src/report/json/findings-v1.schema.json"),
        "m365audit/findings/v2" => Some("src/report/json/findings-v2.schema.json"),
        "m365audit/findings-jsonl/v1" => Some("src/report/json/findings-jsonl-v1.schema.json"),
        _ => None,
    }
}

fn validator(path: &str) -> &'static jsonschema::Validator {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> =
        OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache.entry(path.to_string()).or_insert_with(|| {
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root().join(path)).expect("schema"))
                .expect("the schema is JSON");
        Box::leak(Box::new(
            jsonschema::validator_for(&schema).expect("the schema compiles"),
        ))
    })
}

/// Panics unless `value` matches the schema at `path` (relative to the crate root).
pub fn validate_against(value: &serde_json::Value, path: &str) {
    let errors: Vec<String> = validator(path)
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "does not match {path}:\n{}",
        errors.join("\n")
    );
}

/// A findings report (v1 or v2) is checked against its schema, and a v2 report's indices
/// against its `subjects` and `sources`; other JSON passes through.
pub fn validate_report(value: &serde_json::Value) {
    let Some(path) = value["schema"].as_str().and_then(schema_for) else {
        return;
    };
    validate_against(value, path);
    if value["schema"] == "m365audit/findings/v2" {
        let subjects = value["subjects"].as_array().map_or(0, Vec::len) as u64;
        let sources = value["sources"].as_array().map_or(0, Vec::len) as u64;
        for f in value["findings"].as_array().into_iter().flatten() {
            assert!(f["subject"].as_u64().is_some_and(|i| i < subjects), "{f}");
            assert!(f["source"].as_u64().is_some_and(|i| i < sources), "{f}");
            assert!(
                value["rules"]
                    .get(f["rule_id"].as_str().unwrap_or(""))
                    .is_some(),
                "{f}"
            );
        }
    }
}

/// Reads a report file written by a test (JSON, or JSON Lines by its extension) and checks
/// it against its schema.
pub fn read_report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: cannot read: {e}", path.display()));
    let value: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    validate_report(&value);
    value
}

/// JSON Lines, every line checked against the JSON Lines schema: a header first, a summary
/// last, findings between.
pub fn parse_jsonl(text: &str) -> Vec<serde_json::Value> {
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    for line in &lines {
        validate_against(line, "src/report/json/findings-jsonl-v1.schema.json");
    }
    assert!(lines.len() >= 2, "no header and summary: {text}");
    assert_eq!(lines[0]["type"], "header");
    assert_eq!(lines[lines.len() - 1]["type"], "summary");
    assert!(
        lines[1..lines.len() - 1]
            .iter()
            .all(|l| l["type"] == "finding")
    );
    lines
}

/// A v2 report's findings with their subject, source path and rule text written out, as v1
/// had them: what tests about one finding read.
pub fn findings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    let rules = &report["rules"];
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            if let Some(i) = f["subject"].as_u64() {
                f["subject"] = report["subjects"][i as usize].clone();
            }
            if let Some(i) = f["source"].as_u64() {
                f["source"] = report["sources"][i as usize]["path"].clone();
            }
            let rule = &rules[f["rule_id"].as_str().unwrap_or("")];
            for key in ["slug", "title", "remediation", "references"] {
                if f.get(key).is_none() && !rule[key].is_null() {
                    f[key] = rule[key].clone();
                }
            }
            f
        })
        .collect()
}
