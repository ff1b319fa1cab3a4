//! Live collection: Microsoft Graph and (optionally) the Exchange Online admin API, written
//! to disk in the export layout so a live run can be scanned again offline.
//!
//! Nothing is written until every request has succeeded: a run either leaves a complete
//! snapshot folder (renamed into place in one step) or nothing at all.
//!
//! Each credential goes only to its own origin, and only over https:// (or loopback): see
//! [`origin`]. [`api::Api`] checks every URL taken from an answer before sending a token to
//! it, and no redirect is followed.

pub mod api;
pub mod auth;
pub mod error;
pub mod exchange;
pub mod graph;
pub mod http;
pub mod origin;
pub mod progress;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub use auth::{CertificateCredential, ClientCredential, Secret};
pub use error::CollectError;
pub use http::RetryPolicy;
pub use origin::BaseUrl;

use crate::snapshot::layout;
use crate::temporaries;

/// Where and how to collect.
#[derive(Debug)]
pub struct CollectOptions {
    /// Tenant id (GUID) or a verified domain.
    pub tenant: String,
    pub client_id: String,
    pub credential: ClientCredential,
    pub login_url: BaseUrl,
    pub graph_url: BaseUrl,
    pub exchange_url: BaseUrl,
    /// Also read Exchange Online (access policies, RBAC, CAS mailboxes, org config).
    pub exchange: bool,
    /// Read the app management policies (Policy.Read.All).
    pub policies: bool,
    /// Read the sign-in activity reports (beta; AuditLog.Read.All, Entra ID P1/P2).
    pub usage: bool,
    /// With `exchange`: test these mailboxes against every app with mailbox access.
    pub verify: Option<Verify>,
    pub concurrency: usize,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub progress: bool,
}

/// What `--verify-mailbox` asks Exchange.
#[derive(Debug, Clone)]
pub struct Verify {
    /// The addresses to test.
    pub mailboxes: Vec<String>,
    /// App roles that reach mail, as `(resource appId, role id)` lowercase: the apps holding
    /// one are tested.
    pub mail_roles: std::collections::HashSet<(String, String)>,
}

/// A finished collection, not yet on disk.
pub struct Collection {
    /// `(export file, objects)`, in layout order.
    pub files: Vec<(&'static str, Vec<Value>)>,
    pub meta: Value,
    pub summary: Summary,
}

/// Counts for the closing line.
#[derive(Debug, Clone)]
pub struct Summary {
    pub objects: Vec<(&'static str, usize)>,
    pub requests: u64,
    pub retries: u64,
    pub throttled: u64,
    pub waited: Duration,
    pub elapsed: Duration,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let objects: Vec<String> = self
            .objects
            .iter()
            .map(|(file, n)| format!("{n} {}", file.trim_end_matches(".json")))
            .collect();
        write!(
            f,
            "{} in {:.1} s: {} requests, {} retried, {} throttled ({:.1} s of waits, summed over concurrent requests)",
            objects.join(", "),
            self.elapsed.as_secs_f64(),
            self.requests,
            self.retries,
            self.throttled,
            self.waited.as_secs_f64()
        )
    }
}

/// Collects everything (blocking; runs its own async runtime).
pub fn collect(opts: &CollectOptions, now: DateTime<Utc>) -> Result<Collection, CollectError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CollectError::Setup(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(collect_async(opts, now))
}

async fn collect_async(
    opts: &CollectOptions,
    now: DateTime<Utc>,
) -> Result<Collection, CollectError> {
    let started = Instant::now();
    let progress = progress::Progress::new(opts.progress);
    let bases = [&opts.login_url, &opts.graph_url, &opts.exchange_url];
    let proxy = !bases.iter().any(|b| b.is_loopback());
    let http = http::Http::new(
        opts.concurrency,
        opts.timeout,
        opts.retry.clone(),
        progress,
        proxy,
    )?;
    let tokens = auth::TokenSource::new(
        &opts.login_url,
        &opts.tenant,
        &opts.client_id,
        &opts.credential,
    );
    let graph_url = opts.graph_url.as_str();
    let graph_api = api::Api {
        http: &http,
        tokens: &tokens,
        base: &opts.graph_url,
        scope: format!("{graph_url}/.default"),
        headers: vec![],
    };
    let exchange_url = opts.exchange_url.as_str();
    let exchange_api = api::Api {
        http: &http,
        tokens: &tokens,
        base: &opts.exchange_url,
        scope: format!("{exchange_url}/.default"),
        headers: exchange::headers(&opts.tenant),
    };
    let v1 = format!("{graph_url}/v1.0");
    let graph_part = graph::collect(&graph_api, &v1);
    let exchange_part = async {
        if !opts.exchange {
            return Ok(None);
        }
        let files = exchange::collect(&exchange_api, exchange_url, &opts.tenant).await?;
        let policies = files
            .iter()
            .find(|(f, _)| *f == layout::ACCESS_POLICIES)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        let assignments = files
            .iter()
            .find(|(f, _)| *f == layout::ROLE_ASSIGNMENTS)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default();
        let groups = graph::groups(
            &graph_api,
            &v1,
            policies,
            assignments,
            opts.verify.is_some(),
        )
        .await?;
        Ok::<_, CollectError>(Some((files, groups)))
    };
    let policy_part = async {
        if !opts.policies {
            return Ok(None);
        }
        graph::policies(&graph_api, &v1).await.map(Some)
    };
    let usage_part = async {
        if !opts.usage {
            return Ok(None);
        }
        graph::usage(&graph_api, &format!("{graph_url}/beta"))
            .await
            .map(Some)
    };
    let collected = async {
        let (g, exchange, policies, usage) =
            tokio::try_join!(graph_part, exchange_part, policy_part, usage_part)?;
        // Which apps to test needs both Graph's grants and Exchange's assignments: after both.
        let tests = match (&opts.verify, &exchange) {
            (Some(verify), Some((exchange_files, _))) => Some(
                exchange::test_reach(
                    &exchange_api,
                    exchange_url,
                    &opts.tenant,
                    verify,
                    &g,
                    exchange_files,
                )
                .await?,
            ),
            _ => None,
        };
        Ok::<_, CollectError>((g, exchange, policies, usage, tests))
    }
    .await;
    http.progress.finish();
    let (g, exchange, policies, usage, tests) = collected?;

    let mut files: Vec<(&'static str, Vec<Value>)> = vec![
        (layout::APPLICATIONS, g.applications),
        (layout::SERVICE_PRINCIPALS, g.service_principals),
        (layout::APP_ROLE_ASSIGNMENTS, g.app_role_assignments),
        (layout::OAUTH2_PERMISSION_GRANTS, g.oauth2_permission_grants),
    ];
    if let Some((exchange_files, groups)) = exchange {
        files.push((layout::GROUPS, groups));
        files.extend(exchange_files);
    }
    if let Some(tests) = tests {
        files.push((layout::AUTHORIZATION_TESTS, tests));
    }
    if let Some((default, app_policies)) = policies {
        files.push((layout::DEFAULT_APP_MANAGEMENT_POLICY, vec![default]));
        files.push((layout::APP_MANAGEMENT_POLICIES, app_policies));
    }
    if let Some((apps, credentials)) = usage {
        files.push((layout::SERVICE_PRINCIPAL_SIGN_IN_ACTIVITIES, apps));
        files.push((layout::APP_CREDENTIAL_SIGN_IN_ACTIVITIES, credentials));
    }
    let tenant_id = match tokens.tenant_id() {
        Some(id) => Some(id),
        None => is_guid(&opts.tenant).then(|| opts.tenant.to_ascii_lowercase()),
    };
    let summary = Summary {
        objects: files.iter().map(|(f, v)| (*f, v.len())).collect(),
        requests: http.stats.requests.load(Ordering::Relaxed),
        retries: http.stats.retries.load(Ordering::Relaxed),
        throttled: http.stats.throttled.load(Ordering::Relaxed),
        waited: Duration::from_millis(http.stats.waited_ms.load(Ordering::Relaxed)),
        elapsed: started.elapsed(),
    };
    let parts: Vec<&str> = files.iter().map(|(f, _)| *f).collect();
    let meta = json!({
        "tenant": (!is_guid(&opts.tenant)).then_some(&opts.tenant),
        "tenant_id": tenant_id,
        "collected_at": crate::dates::rfc3339(now),
        "tool_version": env!("CARGO_PKG_VERSION"),
        "request_count": summary.requests,
        "parts": parts,
        "collection": {
            "graph_url": graph_url,
            "exchange_url": opts.exchange.then_some(exchange_url),
            "retries": summary.retries,
            "throttled": summary.throttled,
            "assignment_resources": g.assignment_resources,
            "not_collected": ["federatedIdentityCredentials (one call per app; CRED-004 says so)"],
        },
    });
    Ok(Collection {
        files,
        meta,
        summary,
    })
}

pub fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The `tid` claim of an access token, when the token is a readable JWT.
pub(crate) fn tid_of(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["tid"]
        .as_str()
        .filter(|t| is_guid(t))
        .map(String::from)
}

impl Collection {
    /// Writes the export folder: everything into a temporary sibling folder, then one rename.
    /// An existing non-empty `dir` is replaced only with `replace`.
    pub fn write(&self, dir: &Path, replace: bool) -> Result<(), CollectError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| CollectError::Io { path, source }
        };
        let exists = dir.exists();
        if exists && !replace && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
            return Err(CollectError::Setup(format!(
                "{}: already exists and is not empty; choose an empty folder (collect --force replaces it)",
                dir.display()
            )));
        }
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let name = dir
            .file_name()
            .ok_or_else(|| CollectError::Setup(format!("{}: not a folder name", dir.display())))?
            .to_string_lossy()
            .into_owned();
        temporaries::remove_stale(parent, |n| n == name, std::time::SystemTime::now());
        let tmp = temporaries::beside(parent, &name, temporaries::Kind::Partial);
        let result = self.write_into(&tmp).and_then(|()| {
            if exists {
                let old = temporaries::beside(parent, &name, temporaries::Kind::Old);
                std::fs::rename(dir, &old).map_err(io(dir))?;
                std::fs::rename(&tmp, dir).map_err(io(dir))?;
                let _ = std::fs::remove_dir_all(&old);
                Ok(())
            } else {
                std::fs::rename(&tmp, dir).map_err(io(dir))
            }
        });
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result
    }

    fn write_into(&self, tmp: &Path) -> Result<(), CollectError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| CollectError::Io { path, source }
        };
        let _ = std::fs::remove_dir_all(tmp);
        std::fs::create_dir_all(tmp).map_err(io(tmp))?;
        for (file, items) in &self.files {
            let path = tmp.join(file);
            // Only the folders of the files collected: no empty `reports/` without --usage.
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder).map_err(io(folder))?;
            }
            write_array(&path, items).map_err(io(&path))?;
        }
        let path = tmp.join(layout::SNAPSHOT);
        let mut text = serde_json::to_vec_pretty(&self.meta).map_err(|e| CollectError::Io {
            path: path.display().to_string(),
            source: e.into(),
        })?;
        text.push(b'\n');
        std::fs::write(&path, text).map_err(io(&path))
    }
}

/// A JSON array, one object per line: compact, yet diffable and greppable.
fn write_array(path: &Path, items: &[Value]) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(file);
    w.write_all(b"[")?;
    for (i, item) in items.iter().enumerate() {
        w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut w, item)?;
    }
    w.write_all(b"\n]\n")?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

/// The default folder for a collection: `m365audit-<tenant>-<UTC time>`.
pub fn default_dir(tenant: &str, now: DateTime<Utc>) -> PathBuf {
    let safe: String = tenant
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("m365audit-{safe}-{}", now.format("%Y%m%dT%H%M%SZ")))
}
