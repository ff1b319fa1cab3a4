//! The `m365audit` binary, run as a user runs it: one module per command or promise. Run one
//! module with `cargo test --test cli MODULE::` (e.g. `cargo test --test cli checklist::`).
//!
//! - `baseline`: `scan --baseline`, `--fail-on-new` and `diff`
//! - `checklist`: `checklist` and each shipped go-live profile
//! - `collect`: `collect` and `scan --tenant` against an in-process fake Graph
//! - `config`: `m365audit.toml`, `init`, waivers
//! - `deploy`: the container build and Kubernetes manifests in `deploy/`, validated
//! - `formats`: Markdown, JUnit and SARIF reports against the JSON report
//! - `json_formats`: JSON v2, JSON Lines and v1 against each other; diff and baseline of each
//! - `layout`: the repository root is the product; the module layers of `src/lib.rs`
//! - `mailbox_reach`: `reach` and the SCOPE rules
//! - `outputs`: the JSON schemas, CSV, the table, completions and the manual page
//! - `plan`: `plan`, the ranked action plan, in every format
//! - `readme`: the README's generated sections
//! - `report_dir`: `scan --report-dir`
//! - `rule_fixtures`: each rule's pass and fail fixtures, snapshot-tested
//! - `rules_cli`: `rules list`, `rules test`, `explain`, user rules and scan options
//! - `store`: the findings store (SQLite, PostgreSQL) and `history`
//! - `tenants`: `scan --all-tenants`

#[path = "../common/mod.rs"]
mod common;

mod baseline;
mod checklist;
mod collect;
mod config;
mod deploy;
mod formats;
mod json_formats;
mod layout;
mod mailbox_reach;
mod outputs;
mod plan;
mod readme;
mod report_dir;
mod rule_fixtures;
mod rules_cli;
mod store;
mod tenants;
