//! What m365audit's tests, fuzz targets and benches share, kept out of the shipped binary:
//!
//! - [`synth`]: a deterministic synthetic tenant (`gen-tenant` writes it as an export folder,
//!   `fake-graph` serves it);
//! - [`harness`]: the fuzz targets' entry points, also replayed by `cargo test`;
//! - the bench tools `gen-tenant` and `parse-floor` (`src/bin/`).

pub mod harness;
pub mod synth;
