//! One API (Graph or the Exchange admin API) over [`Http`]: its token, attached only on its own
//! origin; paging (`@odata.nextLink` followed as given, once [`Api::follow`] has checked its
//! origin); and `$batch` with per-request retries.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::auth::{Secret, TokenSource};
use super::error::CollectError;
use super::http::{Http, Outcome, check_origin, parse_retry_after, path_of, redirect_error};
use super::origin::{self, BaseUrl};

/// Graph's `$batch` limit.
pub const BATCH_MAX: usize = 20;
/// A listing longer than this many pages is taken for a server that never ends it.
const MAX_PAGES: usize = 100_000;

/// One API (Graph or the Exchange admin API): a token scope on top of [`Http`], and the one
/// origin that token may be sent to.
pub struct Api<'a> {
    pub http: &'a Http,
    pub tokens: &'a TokenSource<'a>,
    /// `--graph-url` or `--exchange-url`: the token is for it, and goes nowhere else.
    pub base: &'a BaseUrl,
    /// `{resource}/.default`.
    pub scope: String,
    /// Added to every request (Exchange wants its own set).
    pub headers: Vec<(&'static str, String)>,
}

impl Api<'_> {
    /// One call; a 401 fetches a fresh token and tries once more. Non-2xx answers other than
    /// the transient ones (retried by [`Http::send`]) are errors naming the request.
    ///
    /// `url` must be on the API's origin: URLs from answers come through [`Api::follow`],
    /// which says where they came from; this check is the last line, at the one place a
    /// token is attached.
    pub async fn call(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Value, CollectError> {
        let request = format!("{method} {}", path_of(url));
        let target = reqwest::Url::parse(url).map_err(|e| CollectError::Changed {
            what: format!("{request}: not a URL: {e}"),
        })?;
        check_origin(self.base, &request, "the request", &target)?;
        let mut rejected: Option<Secret> = None;
        let mut refreshed = false;
        loop {
            let token = self
                .tokens
                .token(self.http, &self.scope, rejected.as_ref())
                .await?;
            let build = |client: &reqwest::Client| {
                let mut rb = match method {
                    "POST" => client.post(target.clone()),
                    _ => client.get(target.clone()),
                };
                rb = rb
                    .bearer_auth(token.expose())
                    .header("client-request-id", uuid::Uuid::new_v4().to_string());
                for (k, v) in &self.headers {
                    rb = rb.header(*k, v);
                }
                if let Some(b) = body {
                    rb = rb.json(b);
                }
                Ok(rb)
            };
            match self.http.send(method, url, &build).await? {
                Outcome::Rejected { status: 401, .. } if !refreshed => {
                    refreshed = true;
                    rejected = Some(token);
                }
                Outcome::Rejected { status, body } => {
                    return Err(request_error(method, url, status, &body));
                }
                Outcome::Redirected { status, location } => {
                    return Err(redirect_error(self.base, &request, url, status, location));
                }
                Outcome::Ok(v) => return Ok(v),
            }
        }
    }

    /// `link`, which the answer to `request` (sent to `from`) gave as `what` (such as
    /// "its @odata.nextLink"), as the URL to send the next request to: resolved against `from`
    /// and on this API's origin, or an error that names the link's origin and the request.
    pub fn follow(
        &self,
        request: &str,
        from: &str,
        what: &str,
        link: &str,
    ) -> Result<String, CollectError> {
        let url = origin::resolve(from, link).ok_or_else(|| CollectError::Changed {
            what: format!("{request}: {what} is not a URL"),
        })?;
        check_origin(self.base, request, what, &url)?;
        Ok(url.into())
    }

    /// Every item of a listing: follows `@odata.nextLink` until there is none. Exchange's
    /// InvokeCommand pages by POSTing the same body to the nextLink.
    pub async fn list(
        &self,
        collection: &'static str,
        method: &str,
        first: &str,
        body: Option<&Value>,
    ) -> Result<Vec<Value>, CollectError> {
        let mut items = Vec::new();
        let mut url = first.to_string();
        let mut seen = HashSet::new();
        loop {
            let page = self.call(method, &url, body).await?;
            let next = self.page_items(&page, &url, collection, &mut items)?;
            match next {
                None => return Ok(items),
                Some(next) => {
                    let request = format!("{method} {}", path_of(&url));
                    let next = self.follow(&request, &url, "its @odata.nextLink", &next)?;
                    if !seen.insert(next.clone()) || seen.len() > MAX_PAGES {
                        return Err(CollectError::Changed {
                            what: format!(
                                "{method} {}: the server's @odata.nextLink repeats itself; stopped instead of looping (nothing written)",
                                path_of(first)
                            ),
                        });
                    }
                    url = next;
                }
            }
        }
    }

    /// Moves a page's `value` into `items`; returns its nextLink.
    fn page_items(
        &self,
        page: &Value,
        url: &str,
        collection: &'static str,
        items: &mut Vec<Value>,
    ) -> Result<Option<String>, CollectError> {
        let Some(values) = page.get("value").and_then(Value::as_array) else {
            return Err(CollectError::Changed {
                what: format!(
                    "{}: the response has no \"value\" array; the API's answer format has changed",
                    path_of(url)
                ),
            });
        };
        self.http.progress.page(collection, values.len() as u64);
        items.extend(values.iter().cloned());
        Ok(page
            .get("@odata.nextLink")
            .and_then(Value::as_str)
            .map(String::from))
    }

    /// GETs many relative Graph URLs through `$batch` (20 per batch, batches run
    /// concurrently). Inner 429/5xx answers are retried; the rest come back per request, in
    /// order, as `(status, body)`.
    pub async fn batch_get(
        &self,
        batch_url: &str,
        requests: &[(String, Vec<(&'static str, &'static str)>)],
    ) -> Result<Vec<(u16, Value)>, CollectError> {
        let chunks = requests
            .chunks(BATCH_MAX)
            .map(|chunk| self.batch_chunk(batch_url, chunk));
        let results = futures_util::future::join_all(chunks).await;
        let mut out = Vec::with_capacity(requests.len());
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    async fn batch_chunk(
        &self,
        batch_url: &str,
        chunk: &[(String, Vec<(&'static str, &'static str)>)],
    ) -> Result<Vec<(u16, Value)>, CollectError> {
        let mut results: Vec<Option<(u16, Value)>> = vec![None; chunk.len()];
        let mut retries = 0u32;
        loop {
            let pending: Vec<usize> = (0..chunk.len()).filter(|&i| results[i].is_none()).collect();
            if pending.is_empty() {
                return Ok(results.into_iter().flatten().collect());
            }
            let requests: Vec<Value> = pending
                .iter()
                .map(|&i| {
                    let headers: serde_json::Map<String, Value> = chunk[i]
                        .1
                        .iter()
                        .map(|(k, v)| (k.to_string(), json!(v)))
                        .collect();
                    json!({"id": i.to_string(), "method": "GET", "url": chunk[i].0, "headers": headers})
                })
                .collect();
            let body = json!({ "requests": requests });
            let answer = self.call("POST", batch_url, Some(&body)).await?;
            let Some(responses) = answer["responses"].as_array() else {
                return Err(CollectError::Changed {
                    what: format!(
                        "{}: the batch response has no \"responses\" array",
                        path_of(batch_url)
                    ),
                });
            };
            let mut wait: Option<Duration> = None;
            let mut last = String::new();
            for r in responses {
                let Some(i) = r["id"].as_str().and_then(|s| s.parse::<usize>().ok()) else {
                    continue;
                };
                if i >= chunk.len() {
                    continue;
                }
                let status = r["status"].as_u64().unwrap_or(0) as u16;
                if matches!(status, 429 | 500 | 502 | 503 | 504) {
                    let after = r["headers"]
                        .as_object()
                        .and_then(|h| {
                            h.iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                        })
                        .and_then(|(_, v)| v.as_str().and_then(parse_retry_after));
                    wait = wait.max(after);
                    last = format!("GET {} inside $batch: HTTP {status}", path_of(&chunk[i].0));
                    if status == 429 {
                        self.http.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                results[i] = Some((status, r["body"].clone()));
            }
            if results.iter().all(Option::is_some) {
                continue;
            }
            if last.is_empty() {
                return Err(CollectError::Changed {
                    what: format!(
                        "{}: the batch response lacks some requests' answers",
                        path_of(batch_url)
                    ),
                });
            }
            if retries >= self.http.retry.max_retries {
                return Err(CollectError::GaveUp {
                    method: "POST".into(),
                    path: path_of(batch_url).to_string(),
                    attempts: retries + 1,
                    last,
                });
            }
            let wait = wait
                .map(|w| w.min(self.http.retry.retry_after_max))
                .unwrap_or_else(|| self.http.backoff(retries));
            self.http.stats.retries.fetch_add(1, Ordering::Relaxed);
            self.http.progress.throttled(wait);
            self.http
                .stats
                .waited_ms
                .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            retries += 1;
        }
    }
}

/// A Graph/Exchange error answer, naming the request.
fn request_error(method: &str, url: &str, status: u16, body: &Value) -> CollectError {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    let hint = match status {
        403 if path_of(url).contains("/reports/") => Some(
            "the sign-in activity reports need AuditLog.Read.All (application) and a tenant with \
             Microsoft Entra ID P1 or P2: grant the permission (or check the licence), or collect \
             without --usage (USAGE-001 and USAGE-002 are then not evaluated)"
                .to_string(),
        ),
        403 if path_of(url).contains("/policies/") => Some(
            "the app lacks Policy.Read.All (application), which reading app management policies \
             needs: grant it, or collect with --no-policies (POLICY-001 and POLICY-002 are then not \
             evaluated)"
                .to_string(),
        ),
        403 => Some(
            "the app lacks a permission: see `m365audit collect --help` for the permissions it needs"
                .to_string(),
        ),
        404 if path_of(url).contains("/adminapi/") => Some(
            "the Exchange Online admin API endpoint was not found; it is undocumented and may have changed"
                .to_string(),
        ),
        _ => (!message.is_empty()).then(|| message.chars().take(300).collect()),
    };
    CollectError::Request {
        method: method.to_string(),
        path: path_of(url).to_string(),
        status,
        code,
        hint,
    }
}
