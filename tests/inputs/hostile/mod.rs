//! Hostile inputs: each gets a clear error naming the file, or is handled correctly, in
//! bounded memory, and never panics. The inputs are made here rather than kept as files:
//! some are hundreds of megabytes.

mod encodings;
mod shapes;
mod silent_pass;
mod text;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub use crate::common::demo_copy;
use crate::common::{self, AS_OF, root};

/// What a run of the binary gave, with its peak resident memory.
pub struct Run {
    pub out: Output,
    pub peak_mib: u64,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().expect("exited normally")
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    /// Exit 2 (bad input) with every needle in the error output, and no panic.
    pub fn assert_input_error(&self, needles: &[&str]) {
        let err = self.stderr();
        assert_eq!(self.code(), 2, "stderr: {err}");
        assert!(!err.contains("panicked"), "panic: {err}");
        for n in needles {
            assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
        }
    }

    /// A report was written (exit 0 or 1) and nothing panicked.
    pub fn assert_scanned(&self) {
        let err = self.stderr();
        assert!(matches!(self.code(), 0 | 1), "exit {}: {err}", self.code());
        assert!(!err.contains("panicked"), "panic: {err}");
    }
}

/// Runs `m365audit ARGS`, sampling the child's peak resident memory (`VmHWM`, a high-water
/// mark, so a sample taken late still sees an earlier peak) until it exits.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
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

/// `scan SOURCE --as-of AS_OF` plus `extra`.
pub fn scan(source: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec!["scan".into(), "--as-of".into(), AS_OF.into()];
    args.extend(extra.iter().map(Into::into));
    args.push(source.into());
    run(&args)
}

/// The demo tenant's applications, as JSON values.
pub fn demo_apps() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(root().join("examples/demo-tenant/applications.json"))
        .expect("the demo applications");
    let page: serde_json::Value = serde_json::from_str(&text).expect("a Graph page");
    page["value"].as_array().expect("a list").clone()
}

/// The findings of a JSON report, each as rule id, subject and message: what a comparison
/// of two scans of the same tenant should find equal.
pub fn report_lines(report: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(report).expect("a JSON report");
    json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["rule_id"], f["subject"]["app_id"], f["item"], f["message"]
            )
        })
        .collect()
}
