//! m365audit: a compliance scanner for the Entra ID app registrations that third-party
//! products use to reach Exchange Online mail and calendars.
//!
//! Data path, one direction: [`source`] (files) → [`snapshot`] (raw Microsoft objects) →
//! [`model`] (normalized tenant) → [`engine`] + [`checks`] (rules) → findings → [`report`].
//!
//! This package is the product and ships one binary, `m365audit`. The synthetic tenant, the
//! fuzz harness and the bench tools are in `crates/testkit`, the loopback Graph server in
//! `crates/fake-graph`: tests reach them as dev-dependencies, the binary never does.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dates;
pub mod engine;
pub mod model;
pub mod profile;
pub mod report;
pub mod snapshot;
pub mod source;
pub mod temporaries;

pub use commands::run;
