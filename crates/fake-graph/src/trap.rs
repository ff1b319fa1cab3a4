//! The second listener: another port of 127.0.0.1, which the `--foreign-next-link` and
//! `--redirect` switches point clients at. A client that keeps its credentials on their own
//! origin never reaches it; one that does not is caught here. It records every request, and
//! counts those that carry an `Authorization` header or a client secret or assertion, which
//! `GET /_stats` on the main listener reports.
//!
//! It answers like the real thing would (an empty page, or a token), so a client that follows
//! the link carries on and reports success: exactly the failure the tests must catch.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::http::{Handler, Reply, Request};

#[derive(Default)]
pub struct Trap {
    /// `http://127.0.0.1:PORT`, once listening.
    pub base: String,
    requests: AtomicU64,
    authorization: AtomicU64,
    secrets: AtomicU64,
    /// `METHOD path` of every request received, in order.
    seen: Mutex<Vec<String>>,
}

impl Trap {
    pub fn new(base: String) -> Self {
        Trap {
            base,
            ..Trap::default()
        }
    }

    pub fn stats(&self) -> Value {
        let g = |a: &AtomicU64| a.load(Ordering::SeqCst);
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        json!({"base": self.base, "requests": g(&self.requests),
               "authorization": g(&self.authorization), "secrets": g(&self.secrets),
               "seen": seen})
    }
}

impl Handler for Trap {
    async fn handle(&self, req: Request) -> Reply {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if req.header("authorization").is_some() {
            self.authorization.fetch_add(1, Ordering::SeqCst);
        }
        let body = String::from_utf8_lossy(&req.body);
        if body.contains("client_secret") || body.contains("client_assertion") {
            self.secrets.fetch_add(1, Ordering::SeqCst);
        }
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(format!("{} {}", req.method, req.path));
        }
        if req.path.ends_with("/oauth2/v2.0/token") {
            return Reply::json(
                200,
                &json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "trap-token"}),
            );
        }
        Reply::json(200, &json!({"value": []}))
    }
}
