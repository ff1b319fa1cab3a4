//! `m365audit collect`, and the collection step of `scan --tenant`.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::CommandError;
use crate::cli::{CollectArgs, LiveArgs};
use crate::report::defused;
use crate::source::live::{
    self, BaseUrl, CertificateCredential, ClientCredential, CollectError, CollectOptions,
    RetryPolicy, Secret, Summary,
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
    let [login_url, graph_url, exchange_url] = base_urls(live)?;
    Ok(CollectOptions {
        tenant: tenant.to_string(),
        client_id: client_id.trim().to_ascii_lowercase(),
        credential: credential(live)?,
        login_url,
        graph_url,
        exchange_url,
        exchange: live.exchange,
        policies: !live.no_policies,
        usage: live.usage,
        verify: (!live.verify_mailboxes.is_empty())
            .then(|| verify_options(&live.verify_mailboxes))
            .transpose()?,
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

/// The mailboxes to test and which app roles reach mail (the catalogue's mailbox class).
fn verify_options(mailboxes: &[String]) -> Result<live::Verify, CommandError> {
    let mut wanted: Vec<String> = Vec::new();
    for m in mailboxes {
        let m = m.trim();
        if m.is_empty() || m.contains(['/', '?', '#']) || m.chars().any(char::is_whitespace) {
            return Err(CommandError::Input(format!(
                "--verify-mailbox {m:?}: expected a mailbox address such as alice@contoso.com"
            )));
        }
        if !wanted.iter().any(|w| w.eq_ignore_ascii_case(m)) {
            wanted.push(m.to_string());
        }
    }
    let catalog =
        crate::model::Catalog::builtin().map_err(|e| CommandError::Runtime(e.to_string()))?;
    Ok(live::Verify {
        mailboxes: wanted,
        mail_roles: catalog
            .app_roles_in(crate::model::PermissionClass::Mailbox)
            .into_iter()
            .collect(),
    })
}

/// `--login-url`, `--graph-url`, `--exchange-url`, checked before any connection: https://,
/// or http:// on a loopback address only.
pub(super) fn base_urls(live: &LiveArgs) -> Result<[BaseUrl; 3], CommandError> {
    let parse = |flag, url: &str| BaseUrl::parse(flag, url).map_err(CommandError::Input);
    Ok([
        parse("--login-url", &live.login_url)?,
        parse("--graph-url", &live.graph_url)?,
        parse("--exchange-url", &live.exchange_url)?,
    ])
}

/// The credential: a certificate if given, else a secret file, else the environment variable.
fn credential(live: &LiveArgs) -> Result<ClientCredential, CommandError> {
    if let Some(cert) = &live.certificate {
        let key = live.certificate_key.as_deref().unwrap_or(cert);
        warn_if_others_can_read(key, "certificate key");
        return CertificateCredential::load(cert, key)
            .map(|c| ClientCredential::Certificate(Box::new(c)))
            .map_err(command_error);
    }
    let secret = match &live.client_secret_file {
        Some(path) => {
            warn_if_others_can_read(path, "client secret");
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

/// A secret file that other users can read or change gets a warning with the `chmod` that
/// fixes it, as ssh does for private keys. A warning, not a refusal: the secret is already
/// exposed, and refusing would only stop a scheduled audit.
pub(super) fn warn_if_others_can_read(path: &Path, what: &str) {
    if let Some(mode) = others_can_access(path) {
        eprintln!(
            "warning: {}: the {what} file can be read by other users (mode {mode:04o}); make it private: chmod 600 {}",
            defused(&path.display().to_string()),
            defused(&shell_word(&path.display().to_string())),
        );
    }
}

/// The permission bits of `path` when others, or a group this process is not in, have any
/// access to it. A group of this process's own is not "other users": a Kubernetes Secret
/// mounted for a non-root pod is readable through the pod's `fsGroup` (mode 0440).
#[cfg(unix)]
fn others_can_access(path: &Path) -> Option<u32> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(path).ok()?;
    let mode = meta.permissions().mode() & 0o7777;
    let group_is_ours = own_groups().contains(&meta.gid());
    let exposed = mode & 0o007 != 0 || (mode & 0o070 != 0 && !group_is_ours);
    exposed.then_some(mode)
}

/// This process's group ids, real, effective and supplementary (Linux: `/proc/self/status`;
/// elsewhere none, so any group access is warned about).
#[cfg(unix)]
fn own_groups() -> Vec<u32> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter_map(|l| l.strip_prefix("Gid:").or_else(|| l.strip_prefix("Groups:")))
        .flat_map(|ids| ids.split_whitespace().filter_map(|id| id.parse().ok()))
        .collect()
}

/// Windows files carry ACLs, which this check does not read.
#[cfg(not(unix))]
fn others_can_access(_: &Path) -> Option<u32> {
    None
}

/// `text` as one shell word: quoted when it holds anything but plain path characters.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn command_error(e: CollectError) -> CommandError {
    if e.is_setup() {
        CommandError::Input(e.to_string())
    } else {
        CommandError::Runtime(e.to_string())
    }
}
