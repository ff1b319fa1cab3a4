//! `cargo fuzz run profile_file`: see `m365audit_testkit::harness::profile_file` for what it feeds and checks.
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: m365audit_testkit::harness::fuzz_init(),
    |data: &[u8]| m365audit_testkit::harness::profile_file(data)
);
