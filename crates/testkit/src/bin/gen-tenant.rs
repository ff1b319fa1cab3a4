//! `gen-tenant`: writes a deterministic synthetic tenant in the export layout, for benchmarks
//! and tests. The same seed always gives the same files.
//!
//! ```text
//! cargo run --release --bin gen-tenant -- --apps 100000 --seed 1 --out target/bench-data/100k
//! ```

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Parser;
use m365audit_testkit::synth::{SynthOptions, SynthTenant};

/// Write a synthetic tenant (applications with owners and credentials, service principals,
/// app role assignments, delegated grants, groups and Exchange Online configuration) as an
/// export folder.
#[derive(Debug, Parser)]
#[command(name = "gen-tenant", version)]
struct Args {
    /// Number of app registrations
    #[arg(long, default_value_t = 1000)]
    apps: usize,
    /// Seed: the same seed gives the same tenant
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Credential dates are spread around this date (YYYY-MM-DD)
    #[arg(long, default_value = "2026-06-01")]
    reference: NaiveDate,
    /// Folder to write (created; existing files are replaced)
    #[arg(long)]
    out: PathBuf,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let Some(reference) = args.reference.and_hms_opt(0, 0, 0).map(|d| d.and_utc()) else {
        eprintln!("gen-tenant: bad --reference");
        return std::process::ExitCode::from(2);
    };
    let started = std::time::Instant::now();
    let tenant = SynthTenant::generate(&SynthOptions {
        apps: args.apps,
        seed: args.seed,
        reference,
    });
    if let Err(e) = tenant.write_export(&args.out, reference) {
        eprintln!("gen-tenant: {}: {e}", args.out.display());
        return std::process::ExitCode::from(3);
    }
    eprintln!(
        "wrote {} ({} apps, {} service principals, {} assignments, seed {}) in {:.1} s",
        args.out.display(),
        tenant.applications.len(),
        tenant.service_principals.len(),
        tenant.app_role_assignments.len(),
        args.seed,
        started.elapsed().as_secs_f64()
    );
    std::process::ExitCode::SUCCESS
}
