//! Where credentials may go.
//!
//! A bearer token is sent only to the origin (scheme, host, port) of the base URL it was
//! issued for: `--graph-url` for Graph tokens, `--exchange-url` for Exchange tokens. The client
//! secret and the signed assertion go only to `--login-url`. A URL taken from a response
//! (`@odata.nextLink`, a next link inside a `$batch` answer, a redirect's `Location`) is
//! checked against that origin before anything is sent to it; one on another origin stops the
//! run. Real Graph never hands out such links, so one means a proxy, a middlebox or a
//! mistyped base URL is in the way, and following it would hand over a token that reads the
//! whole tenant.
//!
//! Base URLs must be `https://`, except on loopback addresses (127.0.0.0/8, `::1`,
//! `localhost`), where the tests and local stand-ins run: anywhere else `http://` would carry
//! the secret and the tokens in clear text.

use std::fmt;

use url::{Host, Url};

/// A checked base URL: `https://`, or `http://` on a loopback host; no user name, password,
/// query or fragment.
#[derive(Debug, Clone)]
pub struct BaseUrl {
    url: Url,
    /// The command-line flag it came from, for messages.
    flag: &'static str,
}

impl BaseUrl {
    /// Checks `text`, given as `flag`. The error says what is wrong and what to do; it is a
    /// usage error, raised before any connection is made.
    pub fn parse(flag: &'static str, text: &str) -> Result<BaseUrl, String> {
        let url =
            Url::parse(text.trim()).map_err(|e| format!("{flag} {text:?}: not a URL: {e}"))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => {
                let what = if flag == "--login-url" {
                    "the client secret or signed assertion, and the tokens issued for it"
                } else {
                    "the access token"
                };
                return Err(format!(
                    "{flag} {text:?}: http:// would send {what} in clear text; use https:// \
                     (http:// is accepted only for loopback addresses: 127.0.0.0/8, ::1, localhost)"
                ));
            }
            other => {
                return Err(format!(
                    "{flag} {text:?}: expected an https:// URL, not {other}://"
                ));
            }
        }
        if url.host().is_none() {
            return Err(format!("{flag} {text:?}: the URL has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "{flag} {text:?}: the URL holds a user name or password; m365audit authenticates with the app's credential only"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "{flag} {text:?}: a base URL has no query (?) or fragment (#)"
            ));
        }
        Ok(BaseUrl { url, flag })
    }

    /// The URL as given, without a trailing `/`, for building request URLs and the token
    /// scope (`{base}/.default`).
    pub fn as_str(&self) -> &str {
        self.url.as_str().trim_end_matches('/')
    }

    pub fn flag(&self) -> &'static str {
        self.flag
    }

    /// What is sent to this URL, for messages.
    pub fn credential(&self) -> &'static str {
        if self.flag == "--login-url" {
            "the client secret or signed assertion"
        } else {
            "the access token"
        }
    }

    pub fn origin(&self) -> Origin {
        Origin::of(&self.url)
    }

    /// Whether the host is a loopback address (such a URL never goes through a proxy).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.url)
    }
}

/// 127.0.0.0/8, `::1` or `localhost`. Names are not resolved: a name that resolves to a
/// loopback address is not one.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Scheme, host and port (the default port filled in), as browsers compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(url::Origin);

impl Origin {
    pub fn of(url: &Url) -> Origin {
        Origin(url.origin())
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.ascii_serialization())
    }
}

/// `link`, taken from the answer to `from`, resolved against it (a relative link stays on
/// `from`'s origin; `//host/…` does not). `None` when it is not a URL at all.
pub fn resolve(from: &str, link: &str) -> Option<Url> {
    Url::parse(from).ok()?.join(link).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_on_loopback() {
        for ok in [
            "https://graph.microsoft.com",
            "https://graph.microsoft.us/",
            "https://login.microsoftonline.com",
            "http://127.0.0.1:8080/graph",
            "http://127.3.2.1",
            "http://[::1]:9000/exo",
            "http://localhost:1234",
            "http://LOCALHOST",
        ] {
            assert!(BaseUrl::parse("--graph-url", ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("http://graph.microsoft.com", "clear text"),
            ("http://10.0.0.1", "clear text"),
            ("http://128.0.0.1", "clear text"),
            ("http://[::2]", "clear text"),
            ("http://localhost.example.com", "clear text"),
            ("http://[::ffff:10.0.0.1]", "clear text"),
            ("ftp://graph.microsoft.com", "not ftp://"),
            ("graph.microsoft.com", "not a URL"),
            (
                "https://user:pw@graph.microsoft.com",
                "user name or password",
            ),
            ("https://graph.microsoft.com?x=1", "no query"),
            ("https://graph.microsoft.com/#top", "no query"),
        ] {
            let e = BaseUrl::parse("--graph-url", bad).expect_err(bad);
            assert!(
                e.contains(why) && e.starts_with("--graph-url"),
                "{bad}: {e}"
            );
        }
        let e = BaseUrl::parse("--login-url", "http://login.example").expect_err("clear text");
        assert!(e.contains("client secret"), "{e}");
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let base = BaseUrl::parse("--graph-url", "https://Graph.Microsoft.com/").expect("valid");
        assert_eq!(base.as_str(), "https://graph.microsoft.com");
        let same = resolve(
            "https://graph.microsoft.com/v1.0/applications",
            "https://graph.microsoft.com:443/v1.0/applications?$skiptoken=X",
        )
        .expect("a URL");
        assert_eq!(Origin::of(&same), base.origin());
        for other in [
            "http://graph.microsoft.com/v1.0/applications",
            "https://graph.microsoft.com:8443/v1.0/applications",
            "https://graph.microsoft.com.evil.example/v1.0",
            "//evil.example/v1.0/applications",
        ] {
            let url =
                resolve("https://graph.microsoft.com/v1.0/applications", other).expect("a URL");
            assert_ne!(Origin::of(&url), base.origin(), "{other}");
        }
        let relative = resolve(
            "https://graph.microsoft.com/v1.0/applications",
            "/v1.0/applications?$skiptoken=Y",
        )
        .expect("a URL");
        assert_eq!(Origin::of(&relative), base.origin());
        assert_eq!(base.origin().to_string(), "https://graph.microsoft.com");
    }
}
