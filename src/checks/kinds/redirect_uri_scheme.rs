//! The `redirect-uri-scheme` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::uri::redirect_uris;
use crate::checks::uri::{is_loopback, split};
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `redirect-uri-scheme` kind.
pub const KIND: Kind = Kind {
    name: "redirect-uri-scheme",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "An `http://` redirect URI on a host that is not the local machine. Authorization codes \
        and tokens sent there cross the network unencrypted.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<RedirectUriScheme>(de),
    keys: registry::keys_of::<RedirectUriScheme>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectUriScheme {}

impl Check for RedirectUriScheme {
    fn evaluate(&self, app: &App, _cx: &Context<'_>, out: &mut Outcomes) {
        let Some(uris) = redirect_uris(app, out) else {
            return;
        };
        let mut failed = false;
        for r in uris {
            let Some(parts) = split(&r.uri) else {
                out.not_evaluated(Some(r.uri.clone()), "not an absolute URI");
                continue;
            };
            if !parts.scheme.eq_ignore_ascii_case("http") || is_loopback(parts.host) {
                continue;
            }
            failed = true;
            out.fail(
                Some(r.uri.clone()),
                format!(
                    "Redirect URI {} ({}) uses http:// on host {}; use https://",
                    r.uri,
                    r.platform.as_str(),
                    parts.host
                ),
                evidence(
                    json!({"uri": r.uri, "platform": r.platform.as_str(), "host": parts.host}),
                ),
            );
        }
        if !failed {
            out.pass(|| {
                (
                    None,
                    format!(
                        "{} redirect URI(s), none plain http off loopback",
                        uris.len()
                    ),
                )
            });
        }
    }
}
