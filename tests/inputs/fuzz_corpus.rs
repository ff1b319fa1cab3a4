//! Replays every fuzz input the project keeps — the seeds (`fuzz/seed.py`) and each input a
//! fuzzer once crashed on (`fuzz/regressions/<target>/`) — through the same harness the fuzz
//! targets call. CI runs this, not the fuzzers.

use std::path::Path;

use m365audit_testkit::harness::TARGETS;

fn replay(kind: &str, expect_some: bool) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut total = 0;
    for (target, run) in TARGETS {
        let dir = root.join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            assert!(!expect_some, "{} is missing", dir.display());
            continue;
        };
        let mut files: Vec<_> = entries
            .map(|e| e.expect("a readable folder entry").path())
            .collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).expect("a readable input");
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} panicked", file.display());
            total += 1;
        }
    }
    if expect_some {
        assert!(total > 0, "no inputs under {}", root.display());
    }
}

#[test]
fn every_seed_runs_clean() {
    replay("seeds", true);
}

#[test]
fn every_input_a_fuzzer_crashed_on_runs_clean() {
    replay("regressions", false);
}
