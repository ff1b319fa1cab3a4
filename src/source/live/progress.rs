//! The progress line on standard error: objects and pages fetched per collection, requests,
//! and time spent waiting on throttling. Hidden when stderr is not a terminal or `--quiet`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Default)]
struct Counts {
    objects: BTreeMap<&'static str, u64>,
    pages: u64,
    requests: u64,
    throttle_waits: u64,
    waited: Duration,
}

pub struct Progress {
    bar: Option<ProgressBar>,
    counts: Mutex<Counts>,
}

impl Progress {
    pub fn new(visible: bool) -> Self {
        let bar = visible.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>3} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            counts: Mutex::new(Counts::default()),
        }
    }

    pub fn hidden() -> Self {
        Progress::new(false)
    }

    fn update(&self, f: impl FnOnce(&mut Counts)) {
        let Ok(mut c) = self.counts.lock() else {
            return;
        };
        f(&mut c);
        if let Some(bar) = &self.bar {
            let objects: Vec<String> = c.objects.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let mut msg = format!(
                "{} · {} pages, {} requests",
                objects.join(", "),
                c.pages,
                c.requests
            );
            if c.throttle_waits > 0 {
                msg.push_str(&format!(
                    ", throttled {}× ({:.1} s waited)",
                    c.throttle_waits,
                    c.waited.as_secs_f64()
                ));
            }
            bar.set_message(msg);
        }
    }

    pub fn page(&self, collection: &'static str, objects: u64) {
        self.update(|c| {
            *c.objects.entry(collection).or_default() += objects;
            c.pages += 1;
        });
    }

    pub fn request(&self) {
        self.update(|c| c.requests += 1);
    }

    pub fn throttled(&self, wait: Duration) {
        self.update(|c| {
            c.throttle_waits += 1;
            c.waited += wait;
        });
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
