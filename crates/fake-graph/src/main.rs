//! The `fake-graph` binary, for benches and manual runs: `fake-graph --help`.

use clap::Parser;
use fake_graph::Options;

fn main() -> std::process::ExitCode {
    match run(Options::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-graph: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(mut options: Options) -> Result<(), String> {
    if let Some(dir) = options.export.clone() {
        let tenant = options.tenant()?;
        tenant
            .write_export(&dir, options.reference_instant()?)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        println!(
            "wrote {} ({} apps)",
            dir.display(),
            tenant.applications.len()
        );
        return Ok(());
    }
    options.client_secret = std::env::var("FAKE_GRAPH_CLIENT_SECRET")
        .ok()
        .map(fake_graph::ClientSecret);
    let server = fake_graph::spawn(options)?;
    // Tests and benches read the address from this first line.
    println!(
        "fake-graph listening on {} (tenant {}, {} apps; trap on {})",
        server.base, server.tenant_id, server.app_count, server.trap_base
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    server.wait()
}
