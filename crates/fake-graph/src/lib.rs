//! `fake-graph`: a stand-in for Microsoft Graph, the Entra token endpoint and the Exchange
//! Online admin API, serving a synthetic tenant on 127.0.0.1. It is what `m365audit collect`
//! is tested and benchmarked against: real HTTP, real paging, throttling and faults.
//!
//! Tests start it in-process with [`spawn`]; benches and people run the binary:
//!
//! ```text
//! FAKE_GRAPH_CLIENT_SECRET=s3cret cargo run --release -p fake-graph -- --apps 10000 --latency-ms 50
//! ```
//! Graph is served at `/` and `/graph` (`/v1.0/...`), Exchange at `/exo`
//! (`/adminapi/beta/{tenant}/InvokeCommand`), tokens at `/{tenant}/oauth2/v2.0/token`, and
//! `GET /_stats` reports the requests served (not itself counted), and what the second
//! listener (the trap, see `trap.rs`) received.

mod auth;
mod http;
mod routes;
mod trap;

pub use routes::Fault;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use clap::Parser;
use m365audit_testkit::synth::{SynthOptions, SynthTenant};

/// Serve a synthetic tenant as Microsoft Graph + Entra token endpoint + Exchange admin API,
/// on 127.0.0.1 only.
///
/// The client secret it accepts is not a flag: the binary reads it from the
/// FAKE_GRAPH_CLIENT_SECRET environment variable, tests set [`Options::client_secret`].
#[derive(Debug, Clone, Parser)]
#[command(name = "fake-graph", version)]
pub struct Options {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed on stdout)
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Number of app registrations in the synthetic tenant
    #[arg(long, default_value_t = 100)]
    pub apps: usize,
    /// Seed of the synthetic tenant (same seed, same tenant)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Credential dates are spread around this date (YYYY-MM-DD)
    #[arg(long, default_value = "2026-06-01")]
    pub reference: NaiveDate,
    /// Latency added to every request, in milliseconds
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Largest page a listing returns ($top above it is a 400, as Graph answers)
    #[arg(long, default_value_t = 999)]
    pub page_max: usize,
    /// Throttle budget: requests allowed per window before 429 (0 = no throttling)
    #[arg(long, default_value_t = 0)]
    pub throttle_requests: u32,
    /// Throttle window in milliseconds
    #[arg(long, default_value_t = 1000)]
    pub throttle_window_ms: u64,
    /// Retry-After seconds sent with 429 (and with injected 503s when --retry-after-on-503)
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Send no Retry-After header with 429 (clients must back off on their own)
    #[arg(long)]
    pub no_retry_after: bool,
    /// Share of requests (0.0-1.0) that get an injected fault
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Faults to inject, comma-separated: 429, 503, 504, reset, truncate, invalid-json
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "429,503,reset,truncate,invalid-json"
    )]
    pub faults: Vec<routes::Fault>,
    /// Every request whose path contains this text fails (persistently) with --fail-kind
    #[arg(long)]
    pub fail_path: Option<String>,
    /// Graph requests whose path contains this text are refused with 403
    /// Authorization_RequestDenied, as for an app without the permission; so are Exchange
    /// cmdlets whose name contains it, as for an app without a role that can run them
    #[arg(long, value_name = "TEXT")]
    pub forbid: Option<String>,
    /// The fault for --fail-path requests
    #[arg(long, default_value = "503")]
    pub fail_kind: routes::Fault,
    /// Listings whose path contains this text send an `@odata.nextLink` back to the page
    /// just served, so a client that follows it blindly never ends
    #[arg(long)]
    pub next_link_loop: Option<String>,
    /// Listings whose path contains this text send an `@odata.nextLink` on the trap, a second
    /// listener on another port of 127.0.0.1 (even on their last page, so listings inside
    /// `$batch` can be tried too)
    #[arg(long, value_name = "TEXT")]
    pub foreign_next_link: Option<String>,
    /// Requests whose path contains this text (the token endpoint's too) are answered with a
    /// redirect (--redirect-status) to the same path on the trap
    #[arg(long, value_name = "TEXT")]
    pub redirect: Option<String>,
    /// The status of --redirect answers: 301, 302, 303, 307 or 308
    #[arg(long, default_value_t = 302, value_parser = redirect_status)]
    pub redirect_status: u16,
    /// Answer the right client secret as expired (AADSTS7000222)
    #[arg(long)]
    pub secret_expired: bool,
    /// The client id the token endpoint accepts
    #[arg(long, default_value = "11111111-2222-3333-4444-555555555555")]
    pub client_id: String,
    /// Accept client assertions signed by this certificate's key (PEM); the client secret
    /// comes from the FAKE_GRAPH_CLIENT_SECRET environment variable
    #[arg(long)]
    pub client_cert: Option<PathBuf>,
    /// Lifetime of issued tokens, seconds
    #[arg(long, default_value_t = 3599)]
    pub token_lifetime: u64,
    /// Revoke every issued token once, after this many API requests (tests refresh on 401)
    #[arg(long)]
    pub revoke_tokens_after: Option<u64>,
    /// Answer Exchange InvokeCommand calls in a different format (no "value" array), as if the
    /// undocumented endpoint had changed
    #[arg(long)]
    pub exchange_changed: bool,
    /// Write the tenant in the export layout to this folder and exit
    #[arg(long)]
    pub export: Option<PathBuf>,
    /// The client secret the token endpoint accepts (FAKE_GRAPH_CLIENT_SECRET for the binary)
    #[arg(skip)]
    pub client_secret: Option<ClientSecret>,
}

fn redirect_status(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(n @ (301 | 302 | 303 | 307 | 308)) => Ok(n),
        _ => Err(format!(
            "{s:?}: a redirect status is 301, 302, 303, 307 or 308"
        )),
    }
}

/// A client secret: printed by nothing, `Debug` included.
#[derive(Clone)]
pub struct ClientSecret(pub String);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

impl Default for Options {
    /// Every flag at its default, no secret.
    fn default() -> Self {
        Options::parse_from(["fake-graph"])
    }
}

impl Options {
    /// Options from flags as the binary takes them (without the program name).
    pub fn from_flags<I, T>(flags: I) -> Result<Options, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let program = std::iter::once(std::ffi::OsString::from("fake-graph"));
        Options::try_parse_from(program.chain(flags.into_iter().map(Into::into)))
            .map_err(|e| e.to_string())
    }

    /// The synthetic tenant these options describe.
    pub fn tenant(&self) -> Result<SynthTenant, String> {
        Ok(SynthTenant::generate(&SynthOptions {
            apps: self.apps,
            seed: self.seed,
            reference: self.reference_instant()?,
        }))
    }

    /// `--reference` at midnight UTC.
    pub fn reference_instant(&self) -> Result<DateTime<Utc>, String> {
        self.reference
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc())
            .ok_or_else(|| "bad --reference".to_string())
    }
}

/// A running fake-graph: its listeners live on their own runtime, stopped on drop.
pub struct Server {
    /// `http://127.0.0.1:PORT` of the main listener.
    pub base: String,
    /// `http://127.0.0.1:PORT` of the trap.
    pub trap_base: String,
    /// The synthetic tenant's domain and its number of app registrations.
    pub tenant_id: String,
    pub app_count: usize,
    fake: Arc<routes::Fake>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    /// What `GET /_stats` answers: counters of the requests served, and under `"trap"` what
    /// the second listener received.
    pub fn stats(&self) -> serde_json::Value {
        self.fake.stats()
    }

    /// Serves until the process ends (for the binary).
    pub fn wait(mut self) -> ! {
        let runtime = self
            .runtime
            .take()
            .expect("a server owns its runtime until dropped");
        runtime.block_on(std::future::pending::<()>());
        unreachable!("a pending future never completes")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Connections still open are dropped with their tasks; nothing waits on them.
            runtime.shutdown_background();
        }
    }
}

/// Starts fake-graph on two free ports of 127.0.0.1 (the main listener on `--port` when set),
/// serving the tenant of `options`. It needs the client secret or `--client-cert`, or nothing
/// could get a token.
pub fn spawn(options: Options) -> Result<Server, String> {
    let tenant = options.tenant()?;
    let cert = match &options.client_cert {
        Some(p) => Some(auth::TrustedCert::load(p)?),
        None => None,
    };
    let secret = options.client_secret.clone().map(|s| s.0);
    if secret.is_none() && cert.is_none() {
        return Err(
            "set FAKE_GRAPH_CLIENT_SECRET or --client-cert: nothing could get a token".into(),
        );
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let port = options.port;
    let (listener, trap_listener) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        let trap = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| format!("cannot listen on 127.0.0.1 for the trap: {e}"))?;
        Ok::<_, String>((listener, trap))
    })?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let base = format!("http://{addr}");
    let trap_addr = trap_listener.local_addr().map_err(|e| e.to_string())?;
    let trap = Arc::new(trap::Trap::new(format!("http://{trap_addr}")));
    let config = routes::Config {
        base: base.clone(),
        latency: std::time::Duration::from_millis(options.latency_ms),
        page_max: options.page_max,
        throttle_requests: options.throttle_requests,
        throttle_window: std::time::Duration::from_millis(options.throttle_window_ms),
        retry_after: (!options.no_retry_after).then_some(options.retry_after),
        fault_rate: options.fault_rate,
        faults: options.faults,
        fail_path: options.fail_path,
        forbid: options.forbid,
        fail_kind: options.fail_kind,
        next_link_loop: options.next_link_loop,
        seed: options.seed,
        exchange_changed: options.exchange_changed,
        foreign_next_link: options.foreign_next_link,
        redirect: options.redirect,
        redirect_status: options.redirect_status,
        trap: trap.clone(),
        auth: auth::Auth::new(
            options.client_id,
            secret,
            cert,
            options.token_lifetime,
            options.revoke_tokens_after,
            options.secret_expired,
        ),
    };
    let app_count = tenant.applications.len();
    let tenant_id = tenant.tenant_id.clone();
    let fake = Arc::new(routes::Fake::new(tenant, config));
    runtime.spawn(http::serve(trap_listener, trap.clone()));
    runtime.spawn(http::serve(listener, fake.clone()));
    Ok(Server {
        base,
        trap_base: trap.base.clone(),
        tenant_id,
        app_count,
        fake,
        runtime: Some(runtime),
    })
}
