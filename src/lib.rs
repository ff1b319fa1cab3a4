//! m365audit: a compliance scanner for the Entra ID app registrations and enterprise
//! applications (service principals) that third-party products use to reach Exchange Online
//! mail and calendars. Every app is read with whose it is (this tenant, Microsoft, another
//! organization and its publisher), the credentials it can be signed in with (its
//! registration's and those added to its service principal) and every way it reaches
//! mailboxes (app-only grants, RBAC for Applications, delegated consent), checked against
//! Exchange Online's own answers where the export has them (`model::exchange::verify`).
//!
//! The data runs one way: files or live APIs ([`source`]) give raw Microsoft objects
//! ([`snapshot`]), normalized into a tenant ([`model`]), which the rules ([`engine`], running
//! the kinds in [`checks`]) turn into [`finding`]s, which [`report`] writes; [`plan`] ranks
//! the apps with failing findings into an action plan; [`store`] keeps each tenant's runs and
//! the life of each finding across them.
//!
//! The modules sit in layers, and a module imports only from layers below its own (the test
//! `tests/cli/layout.rs` reads this diagram and holds the code to it; modules on one line do not
//! import each other):
//!
//! ```text
//! commands                               the subcommands: glue between the command line and the rest
//! cli                                    the command line's definition (clap)
//! config                                 m365audit.toml, parsed into engine and report options
//! store                                  the findings store: runs and findings across runs (SQLite, PostgreSQL)
//! report                                 one writer per format, checklists, the reports folder, history views
//! plan                                   the action plan: apps ranked by a risk score, with steps
//! pipeline, profile                      the streamed scan of a folder; vendor checklists
//! engine                                 rule files, evaluation, waivers
//! checks                                 the check API, every check kind, Rego
//! model, source                          the normalized tenant; reading exports, live collection
//! snapshot                               raw Microsoft objects, as exported
//! finding, diagnostics, dates, temporaries   findings, positions, dates, temporary files
//! ```
//!
//! Inside a module, submodules do not import each other in a cycle (the same test).
//!
//! This package is the product and ships one binary, `m365audit`. The synthetic tenant, the
//! fuzz harness and the bench tools are in `crates/testkit`, the loopback Graph server in
//! `crates/fake-graph`: tests reach them as dev-dependencies, the binary never does.

pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod dates;
pub mod diagnostics;
pub mod engine;
pub mod finding;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod profile;
pub mod report;
pub mod snapshot;
pub mod source;
pub mod store;
pub mod temporaries;

pub use commands::run;
