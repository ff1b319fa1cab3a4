//! `m365audit collect`, and the collection step of `scan --tenant`.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::CommandError;
use crate::cli::{CollectArgs, LiveArgs};
use crate::source::live::{
    self, CertificateCredential, ClientCredential, CollectError, CollectOptions, RetryPolicy,
    Secret, Summary,
};

pub fn run(args: CollectArgs) -> Result<u8, CommandError> {
    let now = Utc::now();
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| live::default_dir(&args.tenant, now));
    let summary = collect_to(&args.tenant, &args.client_id, &args.live, &dir, args.force)?;
    eprintln!("collected {summary}");
    eprintln!("wrote {}", dir.display());
    Ok(super::exit::OK)
}

/// Collects a tenant into `dir` (written atomically).
pub(super) fn collect_to(
    tenant: &str,
    client_id: &str,
    live: &LiveArgs,
    dir: &Path,
    replace: bool,
) -> Result<Summary, CommandError> {
    let opts = options(tenant, client_id, live)?;
    let collection = live::collect(&opts, Utc::now()).map_err(command_error)?;
    collection.write(dir, replace).map_err(command_error)?;
    Ok(collection.summary)
}

fn options(tenant: &str, client_id: &str, live: &LiveArgs) -> Result<CollectOptions, CommandError> {
    if live.client_secret.is_some() {
        return Err(CommandError::Input(format!(
            "--client-secret is refused: a secret on the command line is visible in process lists and shell history; put it in the {} environment variable or a file (--client-secret-file)",
            live.client_secret_env
        )));
    }
    let tenant = tenant.trim();
    if tenant.is_empty() || tenant.contains(['/', '?', '#', ' ']) {
        return Err(CommandError::Input(format!(
            "--tenant {tenant:?}: expected a tenant id (GUID) or a domain such as contoso.onmicrosoft.com"
        )));
    }
    if !live::is_guid(client_id.trim()) {
        return Err(CommandError::Input(format!(
            "--client-id {client_id:?}: expected the app's Application (client) ID, a GUID"
        )));
    }
    for (flag, url) in [
        ("--login-url", &live.login_url),
        ("--graph-url", &live.graph_url),
        ("--exchange-url", &live.exchange_url),
    ] {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(CommandError::Input(format!(
                "{flag} {url:?}: expected an http(s) URL"
            )));
        }
    }
    Ok(CollectOptions {
        tenant: tenant.to_string(),
        client_id: client_id.trim().to_ascii_lowercase(),
        credential: credential(live)?,
        login_url: live.login_url.clone(),
        graph_url: live.graph_url.clone(),
        exchange_url: live.exchange_url.clone(),
        exchange: live.exchange,
        concurrency: usize::from(live.concurrency),
        timeout: Duration::from_secs(live.timeout.max(1)),
        retry: RetryPolicy {
            max_retries: live.max_retries,
            backoff_base: Duration::from_millis(live.backoff_ms),
            ..RetryPolicy::default()
        },
        progress: !live.quiet && std::io::stderr().is_terminal(),
    })
}

/// The credential: a certificate if given, else a secret file, else the environment variable.
fn credential(live: &LiveArgs) -> Result<ClientCredential, CommandError> {
    if let Some(cert) = &live.certificate {
        let key = live.certificate_key.as_deref().unwrap_or(cert);
        return CertificateCredential::load(cert, key)
            .map(|c| ClientCredential::Certificate(Box::new(c)))
            .map_err(command_error);
    }
    let secret = match &live.client_secret_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                CommandError::Input(format!(
                    "{}: cannot read the client secret: {e}",
                    path.display()
                ))
            })?;
            let line = text.lines().next().unwrap_or_default().trim().to_string();
            if line.is_empty() {
                return Err(CommandError::Input(format!(
                    "{}: the client secret file is empty",
                    path.display()
                )));
            }
            line
        }
        None => match std::env::var(&live.client_secret_env) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                return Err(CommandError::Input(format!(
                    "no credential: set the {} environment variable to the client secret, or give --client-secret-file FILE, or --certificate PEM",
                    live.client_secret_env
                )));
            }
        },
    };
    Ok(ClientCredential::Secret(Secret::new(secret)))
}

fn command_error(e: CollectError) -> CommandError {
    if e.is_setup() {
        CommandError::Input(e.to_string())
    } else {
        CommandError::Runtime(e.to_string())
    }
}
