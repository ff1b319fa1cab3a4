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

    /// A URL from an answer (a nextLink, a redirect) on another origin than the base URL the
    /// credential is for.
    #[error(transparent)]
    ForeignOrigin(Box<ForeignOrigin>),

    /// A redirect within the base URL's origin, or without a usable `Location`.
    #[error(
        "{request} answered HTTP {status}, a redirect{}: not followed; m365audit follows no redirects, and Microsoft's APIs answer these requests directly: check {flag} (nothing written)",
        location_text(.location)
    )]
    Redirect {
        request: String,
        status: u16,
        location: Option<String>,
        flag: &'static str,
    },

    #[error("{path}: cannot write: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The facts of [`CollectError::ForeignOrigin`].
#[derive(Debug, thiserror::Error)]
#[error(
    "{request}: {what} points at {origin}, another origin than {flag} ({expected}); not followed: {credential} for {flag} is sent to that origin only (nothing written)"
)]
pub struct ForeignOrigin {
    /// Method and path of the request whose answer held the URL.
    pub request: String,
    /// What the URL was, such as "its @odata.nextLink".
    pub what: String,
    /// The URL's origin; never the URL itself, which may carry more than an origin.
    pub origin: String,
    pub flag: &'static str,
    pub expected: String,
    pub credential: &'static str,
}

fn hint_text(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
}

fn location_text(location: &Option<String>) -> String {
    match location {
        Some(origin) => format!(" within {origin}"),
        None => " with no usable Location".to_string(),
    }
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
