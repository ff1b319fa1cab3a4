//! Splitting redirect URIs into the parts the URI rules look at. The `url` crate would
//! normalise case, which is exactly what URI-001 must see, so the split is done by hand on
//! the raw text (RFC 3986 §3: scheme ":" ["//" authority] path ["?" query] ["#" fragment]).

use std::net::Ipv4Addr;

use super::Outcomes;
use crate::model::{App, RedirectUri};

#[derive(Debug, PartialEq, Eq)]
pub struct UriParts<'a> {
    pub scheme: &'a str,
    /// Host without user info and port; IPv6 hosts keep their brackets.
    pub host: &'a str,
    pub path: &'a str,
}

/// Splits an absolute URI, or returns `None` when the text is not one (templates with
/// placeholders such as `${{TAB_ENDPOINT}}/auth`, relative paths, ...).
pub fn split(uri: &str) -> Option<UriParts<'_>> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let rest = &uri[colon + 1..];
    let before_query = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let Some(hier) = before_query.strip_prefix("//") else {
        return Some(UriParts {
            scheme,
            host: "",
            path: before_query,
        });
    };
    let authority_end = hier.find('/').unwrap_or(hier.len());
    let authority = &hier[..authority_end];
    let path = &hier[authority_end..];
    let host_port = &authority[authority.rfind('@').map_or(0, |i| i + 1)..];
    let host = if host_port.starts_with('[') {
        &host_port[..host_port.find(']').map_or(host_port.len(), |i| i + 1)]
    } else {
        match host_port.rfind(':') {
            Some(i) if host_port[i + 1..].chars().all(|c| c.is_ascii_digit()) => &host_port[..i],
            _ => host_port,
        }
    };
    Some(UriParts { scheme, host, path })
}

/// `localhost`, 127.0.0.0/8 or `[::1]`: the hosts Entra accepts `http://` redirects for.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// The app's redirect URIs; records `not_evaluated` when the input has none.
pub fn redirect_uris<'a>(app: &'a App, out: &mut Outcomes) -> Option<&'a [RedirectUri]> {
    let uris = app.redirect_uris.as_deref();
    if uris.is_none() {
        out.not_evaluated(
            None,
            "the input has no redirect URIs for this app, or not for all of web, spa and publicClient",
        );
    }
    uris
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_scheme_host_and_path() {
        let p = split("HTTPS://Crm.Example.com:8443/CRM/custompages/oauth/callback.html?a=B#X")
            .unwrap();
        assert_eq!(p.scheme, "HTTPS");
        assert_eq!(p.host, "Crm.Example.com");
        assert_eq!(p.path, "/CRM/custompages/oauth/callback.html");
        let p = split("http://user@[::1]:3000").unwrap();
        assert_eq!((p.host, p.path), ("[::1]", ""));
        let p = split("urn:ietf:wg:oauth:2.0:oob").unwrap();
        assert_eq!(
            (p.scheme, p.host, p.path),
            ("urn", "", "ietf:wg:oauth:2.0:oob")
        );
        assert_eq!(split("${{TAB_ENDPOINT}}/auth-end.html"), None);
        assert_eq!(split("/relative/path"), None);
    }

    #[test]
    fn loopback_hosts() {
        assert!(is_loopback("localhost"));
        assert!(is_loopback("LOCALHOST"));
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("127.8.9.10"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("localhost.example.com"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("crm"));
    }
}
