//! HTTP with the politeness and fault handling Microsoft's APIs ask for: bounded concurrency,
//! `Retry-After` on 429/503/504, exponential backoff with jitter otherwise, bounded retries of
//! resets, timeouts, cut-short bodies and unparsable JSON. Tokens, paging and `$batch` are
//! [`Api`](super::api::Api)'s, on top of this.
//!
//! Redirects are never followed: Graph, Entra and the Exchange admin API answer these
//! requests directly, and a redirect that carried a token or the client secret elsewhere is
//! exactly what must not happen (reqwest strips `Authorization` on a cross-origin redirect,
//! but a 307 or 308 would replay the token request's form, secret included). A 3xx answer
//! stops the run and names where it pointed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::error::{CollectError, ForeignOrigin};
use super::origin::{self, BaseUrl, Origin};
use super::progress::Progress;

/// How hard to retry.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff step when the server gives no `Retry-After`; doubles per retry.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// A `Retry-After` beyond this is capped (a misbehaving proxy must not stall a run).
    pub retry_after_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            retry_after_max: Duration::from_secs(120),
        }
    }
}

/// A response that is not retried: success, or an error status the caller interprets.
pub enum Outcome {
    Ok(Value),
    Rejected {
        status: u16,
        body: Value,
    },
    /// A 3xx answer, not followed; `location` is its `Location` header.
    Redirected {
        status: u16,
        location: Option<String>,
    },
}

/// Request counters, reported in `snapshot.json` and the closing summary.
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub throttled: AtomicU64,
    pub waited_ms: AtomicU64,
}

pub struct Http {
    client: reqwest::Client,
    permits: Semaphore,
    pub(super) retry: RetryPolicy,
    pub stats: Stats,
    pub progress: Progress,
}

/// One attempt's result before the retry decision.
enum Attempt {
    Done(Outcome),
    /// Transient: retry after `wait` (the server's `Retry-After`) or a backoff.
    Again {
        why: String,
        wait: Option<Duration>,
        throttled: bool,
    },
}

impl Http {
    /// `proxy`: whether the `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` environment applies. It
    /// must not when any base URL is a loopback `http://` one: a proxy would see its tokens in
    /// clear text (over `https://` a proxy only carries an encrypted tunnel).
    pub fn new(
        concurrency: usize,
        timeout: Duration,
        retry: RetryPolicy,
        progress: Progress,
        proxy: bool,
    ) -> Result<Self, CollectError> {
        // reqwest is built without a default TLS provider; ring is the one compiled in.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("m365audit/", env!("CARGO_PKG_VERSION")));
        if !proxy {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| CollectError::Setup(format!("cannot set up HTTP: {e}")))?;
        Ok(Http {
            client,
            permits: Semaphore::new(concurrency.max(1)),
            retry,
            stats: Stats::default(),
            progress,
        })
    }

    /// Sends a request built by `build` (called once per attempt), retrying transient
    /// failures. Statuses other than 2xx, 429, 500, 502, 503, 504 come back as `Rejected`.
    pub async fn send(
        &self,
        method: &str,
        url: &str,
        build: &(dyn Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, CollectError> + Sync),
    ) -> Result<Outcome, CollectError> {
        let mut retries = 0;
        loop {
            let request = build(&self.client)?;
            let attempt = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| CollectError::Changed {
                        what: "the request pool closed".into(),
                    })?;
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                self.progress.request();
                attempt(request).await
            };
            let (why, wait, throttled) = match attempt {
                Attempt::Done(outcome) => return Ok(outcome),
                Attempt::Again {
                    why,
                    wait,
                    throttled,
                } => (why, wait, throttled),
            };
            if retries >= self.retry.max_retries {
                return Err(CollectError::GaveUp {
                    method: method.to_string(),
                    path: path_of(url).to_string(),
                    attempts: retries + 1,
                    last: why,
                });
            }
            let wait = match wait {
                Some(w) => w.min(self.retry.retry_after_max),
                None => self.backoff(retries),
            };
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            if throttled {
                self.stats.throttled.fetch_add(1, Ordering::Relaxed);
                self.progress.throttled(wait);
            }
            self.stats
                .waited_ms
                .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }

    /// Exponential backoff with "equal jitter": half fixed, half random, so retries spread
    /// out but never collapse to zero. Six lines, so no backoff crate: the retry loop also
    /// honours `Retry-After` and the Graph throttling answers, which a generic policy would
    /// have to be taught anyway.
    pub(super) fn backoff(&self, retry: u32) -> Duration {
        let step = self
            .retry
            .backoff_base
            .saturating_mul(1u32 << retry.min(16))
            .min(self.retry.backoff_max);
        let mut b = [0u8; 8];
        let _ = SystemRandom::new().fill(&mut b);
        let r = u64::from_le_bytes(b) as f64 / u64::MAX as f64;
        step / 2 + step.mul_f64(r / 2.0)
    }
}

async fn attempt(request: reqwest::RequestBuilder) -> Attempt {
    let again = |why: String| Attempt::Again {
        why,
        wait: None,
        throttled: false,
    };
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return again(transport_error(&e)),
    };
    let status = response.status().as_u16();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let retry_after = header(reqwest::header::RETRY_AFTER)
        .as_deref()
        .and_then(parse_retry_after);
    if (300..400).contains(&status) {
        return Attempt::Done(Outcome::Redirected {
            status,
            location: header(reqwest::header::LOCATION),
        });
    }
    let bytes = match response.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return again(format!(
                "HTTP {status}, body cut short: {}",
                transport_error(&e)
            ));
        }
    };
    match status {
        200..=299 => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => Attempt::Done(Outcome::Ok(v)),
            Err(e) => again(format!("HTTP {status} with invalid JSON: {e}")),
        },
        429 | 500 | 502 | 503 | 504 => Attempt::Again {
            why: format!(
                "HTTP {status}{}",
                error_code(&bytes)
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            ),
            wait: retry_after,
            throttled: status == 429,
        },
        _ => Attempt::Done(Outcome::Rejected {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }),
    }
}

fn error_code(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    v["error"]["code"]
        .as_str()
        .or_else(|| v["error"].as_str())
        .map(String::from)
}

/// A transport error without the URL (errors name requests by path themselves).
fn transport_error(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "connection dropped while reading the body"
    } else {
        "connection failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// `Retry-After`: delta-seconds or an HTTP date.
pub(super) fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The path of a URL (errors name requests by path: no host, no query).
pub fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split('?').next().unwrap_or(path)
}

/// `url`, named by `what` in the answer to `request`, must be on `base`'s origin.
pub(super) fn check_origin(
    base: &BaseUrl,
    request: &str,
    what: &str,
    url: &reqwest::Url,
) -> Result<(), CollectError> {
    let origin = Origin::of(url);
    if origin == base.origin() {
        return Ok(());
    }
    Err(CollectError::ForeignOrigin(Box::new(ForeignOrigin {
        request: request.to_string(),
        what: what.to_string(),
        origin: origin.to_string(),
        flag: base.flag(),
        expected: base.origin().to_string(),
        credential: base.credential(),
    })))
}

/// A 3xx answer to `request` (sent to `url`): never followed, and named by where it pointed.
pub(super) fn redirect_error(
    base: &BaseUrl,
    request: &str,
    url: &str,
    status: u16,
    location: Option<String>,
) -> CollectError {
    let target = location.as_deref().and_then(|l| origin::resolve(url, l));
    if let Some(target) = &target
        && let Err(foreign) = check_origin(
            base,
            request,
            &format!("its redirect (HTTP {status})"),
            target,
        )
    {
        return foreign;
    }
    CollectError::Redirect {
        request: request.to_string(),
        status,
        location: target.map(|t| format!("{}", Origin::of(&t))),
        flag: base.flag(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_is_an_error_naming_where_it_pointed() {
        let base = BaseUrl::parse("--graph-url", "https://graph.microsoft.com").expect("valid");
        let url = "https://graph.microsoft.com/v1.0/applications?$top=999";
        let request = "GET /v1.0/applications";
        let error = |location: Option<&str>| {
            redirect_error(&base, request, url, 302, location.map(String::from)).to_string()
        };
        let foreign = error(Some("https://login.example.net/steal?x=1"));
        assert!(
            foreign.starts_with("GET /v1.0/applications: its redirect (HTTP 302) points at https://login.example.net, another origin than --graph-url (https://graph.microsoft.com)"),
            "{foreign}"
        );
        assert!(
            !foreign.contains("steal"),
            "only the origin is named: {foreign}"
        );
        let within = error(Some("/v1.0/applications?$skiptoken=1"));
        assert!(
            within.contains(
                "answered HTTP 302, a redirect within https://graph.microsoft.com: not followed"
            ),
            "{within}"
        );
        assert!(error(None).contains("with no usable Location"));
        assert!(error(Some("http://[bad")).contains("with no usable Location"));
    }
}
