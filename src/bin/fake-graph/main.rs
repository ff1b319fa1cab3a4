//! `fake-graph`: a stand-in for Microsoft Graph, the Entra token endpoint and the Exchange
//! Online admin API, serving a synthetic tenant on 127.0.0.1. It is what `m365audit collect`
//! is tested and benchmarked against: real HTTP, real paging, throttling and faults.
//!
//! ```text
//! FAKE_GRAPH_CLIENT_SECRET=s3cret cargo run --release --bin fake-graph -- --apps 10000 --latency-ms 50
//! ```
//! Graph is served at `/` and `/graph` (`/v1.0/...`), Exchange at `/exo`
//! (`/adminapi/beta/{tenant}/InvokeCommand`), tokens at `/{tenant}/oauth2/v2.0/token`, and
//! `GET /_stats` reports the requests served (not itself counted), and what the second
//! listener (the trap, see `trap.rs`) received.

mod auth;
mod http;
mod routes;
mod trap;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Parser;
use m365audit::synth::{SynthOptions, SynthTenant};

/// Serve a synthetic tenant as Microsoft Graph + Entra token endpoint + Exchange admin API,
/// on 127.0.0.1 only.
#[derive(Debug, Parser)]
#[command(name = "fake-graph", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed on stdout)
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Number of app registrations in the synthetic tenant
    #[arg(long, default_value_t = 100)]
    apps: usize,
    /// Seed of the synthetic tenant (same seed, same tenant)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Credential dates are spread around this date (YYYY-MM-DD)
    #[arg(long, default_value = "2026-06-01")]
    reference: NaiveDate,
    /// Latency added to every request, in milliseconds
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Largest page a listing returns ($top above it is a 400, as Graph answers)
    #[arg(long, default_value_t = 999)]
    page_max: usize,
    /// Throttle budget: requests allowed per window before 429 (0 = no throttling)
    #[arg(long, default_value_t = 0)]
    throttle_requests: u32,
    /// Throttle window in milliseconds
    #[arg(long, default_value_t = 1000)]
    throttle_window_ms: u64,
    /// Retry-After seconds sent with 429 (and with injected 503s when --retry-after-on-503)
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// Send no Retry-After header with 429 (clients must back off on their own)
    #[arg(long)]
    no_retry_after: bool,
    /// Share of requests (0.0-1.0) that get an injected fault
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Faults to inject, comma-separated: 429, 503, 504, reset, truncate, invalid-json
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "429,503,reset,truncate,invalid-json"
    )]
    faults: Vec<routes::Fault>,
    /// Every request whose path contains this text fails (persistently) with --fail-kind
    #[arg(long)]
    fail_path: Option<String>,
    /// The fault for --fail-path requests
    #[arg(long, default_value = "503")]
    fail_kind: routes::Fault,
    /// Listings whose path contains this text send an `@odata.nextLink` back to the page
    /// just served, so a client that follows it blindly never ends
    #[arg(long)]
    next_link_loop: Option<String>,
    /// Listings whose path contains this text send an `@odata.nextLink` on the trap, a second
    /// listener on another port of 127.0.0.1 (even on their last page, so listings inside
    /// `$batch` can be tried too)
    #[arg(long, value_name = "TEXT")]
    foreign_next_link: Option<String>,
    /// Requests whose path contains this text (the token endpoint's too) are answered with a
    /// redirect (--redirect-status) to the same path on the trap
    #[arg(long, value_name = "TEXT")]
    redirect: Option<String>,
    /// The status of --redirect answers: 301, 302, 303, 307 or 308
    #[arg(long, default_value_t = 302, value_parser = redirect_status)]
    redirect_status: u16,
    /// Answer the right client secret as expired (AADSTS7000222)
    #[arg(long)]
    secret_expired: bool,
    /// The client id the token endpoint accepts
    #[arg(long, default_value = "11111111-2222-3333-4444-555555555555")]
    client_id: String,
    /// Accept client assertions signed by this certificate's key (PEM); the client secret
    /// comes from the FAKE_GRAPH_CLIENT_SECRET environment variable
    #[arg(long)]
    client_cert: Option<PathBuf>,
    /// Lifetime of issued tokens, seconds
    #[arg(long, default_value_t = 3599)]
    token_lifetime: u64,
    /// Revoke every issued token once, after this many API requests (tests refresh on 401)
    #[arg(long)]
    revoke_tokens_after: Option<u64>,
    /// Answer Exchange InvokeCommand calls in a different format (no "value" array), as if the
    /// undocumented endpoint had changed
    #[arg(long)]
    exchange_changed: bool,
    /// Write the tenant in the export layout to this folder and exit
    #[arg(long)]
    export: Option<PathBuf>,
}

fn redirect_status(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(n @ (301 | 302 | 303 | 307 | 308)) => Ok(n),
        _ => Err(format!(
            "{s:?}: a redirect status is 301, 302, 303, 307 or 308"
        )),
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-graph: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let reference: DateTime<Utc> = args
        .reference
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .ok_or("bad --reference")?;
    let tenant = SynthTenant::generate(&SynthOptions {
        apps: args.apps,
        seed: args.seed,
        reference,
    });
    if let Some(dir) = &args.export {
        tenant
            .write_export(dir, reference)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        println!(
            "wrote {} ({} apps)",
            dir.display(),
            tenant.applications.len()
        );
        return Ok(());
    }
    let secret = std::env::var("FAKE_GRAPH_CLIENT_SECRET").ok();
    let cert = match &args.client_cert {
        Some(p) => Some(auth::TrustedCert::load(p)?),
        None => None,
    };
    if secret.is_none() && cert.is_none() {
        return Err(
            "set FAKE_GRAPH_CLIENT_SECRET or --client-cert: nothing could get a token".into(),
        );
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
                .await
                .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let base = format!("http://{addr}");
        let trap_listener =
            tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
                .await
                .map_err(|e| format!("cannot listen on 127.0.0.1 for the trap: {e}"))?;
        let trap_addr = trap_listener.local_addr().map_err(|e| e.to_string())?;
        let trap = Arc::new(trap::Trap::new(format!("http://{trap_addr}")));
        tokio::spawn(http::serve(trap_listener, trap.clone()));
        let config = routes::Config {
            base: base.clone(),
            latency: std::time::Duration::from_millis(args.latency_ms),
            page_max: args.page_max,
            throttle_requests: args.throttle_requests,
            throttle_window: std::time::Duration::from_millis(args.throttle_window_ms),
            retry_after: (!args.no_retry_after).then_some(args.retry_after),
            fault_rate: args.fault_rate,
            faults: args.faults,
            fail_path: args.fail_path,
            fail_kind: args.fail_kind,
            next_link_loop: args.next_link_loop,
            seed: args.seed,
            exchange_changed: args.exchange_changed,
            foreign_next_link: args.foreign_next_link,
            redirect: args.redirect,
            redirect_status: args.redirect_status,
            trap: trap.clone(),
            auth: auth::Auth::new(
                args.client_id,
                secret,
                cert,
                args.token_lifetime,
                args.revoke_tokens_after,
                args.secret_expired,
            ),
        };
        let app_count = tenant.applications.len();
        let tenant_id = tenant.tenant_id.clone();
        let state = Arc::new(routes::Fake::new(tenant, config));
        println!(
            "fake-graph listening on {base} (tenant {tenant_id}, {app_count} apps; trap on {})",
            trap.base
        );
        use std::io::Write;
        let _ = std::io::stdout().flush();
        http::serve(listener, state).await;
        Ok(())
    })
}
