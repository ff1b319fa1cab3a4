//! Why a live collection failed. Every variant names the request (method and URL path, never
//! a token or secret) so an admin can see what to fix.

/// A collection error. `Setup` is a usage problem (exit 2); the rest are runtime failures
/// (exit 3).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{0}")]
    Setup(String),

    #[error("token request {path} failed: HTTP {status} {code}: {description}{}", hint_text(.hint))]
    Token {
        path: String,
        status: u16,
        code: String,
        description: String,
        hint: Option<String>,
    },

    #[error("{method} {path} failed: HTTP {status}{}{}", code_text(.code), hint_text(.hint))]
    Request {
        method: String,
        path: String,
        status: u16,
        code: String,
        hint: Option<String>,
    },

    #[error("{method} {path} still failing after {attempts} attempts: {last}")]
    GaveUp {
        method: String,
        path: String,
        attempts: u32,
        last: String,
    },

    #[error("{what}")]
    Changed { what: String },

    #[error("{path}: cannot write: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn hint_text(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

fn code_text(code: &str) -> String {
    if code.is_empty() {
        String::new()
    } else {
        format!(" {code}")
    }
}

impl CollectError {
    /// True for problems with how the command was called (bad flags, unreadable key).
    pub fn is_setup(&self) -> bool {
        matches!(self, CollectError::Setup(_))
    }
}
