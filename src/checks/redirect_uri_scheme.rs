//! `redirect-uri-scheme`: an `http://` redirect URI on a host that is not the local machine.
//! Authorization codes and tokens sent there cross the network unencrypted.

use serde::Deserialize;
use serde_json::json;

use super::uri::{is_loopback, split};
use super::util::{evidence, redirect_uris};
use super::{Check, Context, Outcomes};
use crate::model::App;

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
