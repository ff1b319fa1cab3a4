//! Phase timings on stderr when `M365AUDIT_TIMINGS` is set: where a scan spends its time
//! (load, model, rules, report), without a profiler. The clock here is for the operator only;
//! no check ever sees it.

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
                "timing: {phase}: {:.1} ms",
                (now - self.last).as_secs_f64() * 1000.0
            );
            self.last = now;
        }
    }
}
