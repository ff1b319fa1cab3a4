//! Phase timings on stderr when `M365AUDIT_TIMINGS` is set: where a scan spends its time
//! (reading with evaluation, report, write), without a profiler. The clock here is for the
//! operator only; no check ever sees it.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("M365AUDIT_TIMINGS").is_some_and(|v| !v.is_empty()))
}

/// Measures consecutive phases: each `lap` reports the time since the previous one.
pub struct Laps {
    last: Instant,
}

impl Laps {
    pub fn start() -> Self {
        Laps {
            last: Instant::now(),
        }
    }

    pub fn lap(&mut self, phase: &str) {
        if enabled() {
            let now = Instant::now();
            eprintln!(
                "timing: {phase}: {:.1} ms{}",
                (now - self.last).as_secs_f64() * 1000.0,
                memory()
            );
            self.last = now;
        }
    }
}

/// Resident and peak resident memory so far (Linux only): which phase holds the memory.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(|v| {
            v.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
                / 1024
        })
    };
    match (field("VmRSS:"), field("VmHWM:")) {
        (Some(rss), Some(peak)) => format!(" (RSS {rss} MiB, peak {peak} MiB)"),
        _ => String::new(),
    }
}
