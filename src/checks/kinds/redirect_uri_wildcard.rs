//! The `redirect-uri-wildcard` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::uri::redirect_uris;
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `redirect-uri-wildcard` kind.
pub const KIND: Kind = Kind {
    name: "redirect-uri-wildcard",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A redirect URI containing `*`. A wildcard lets any matching site receive authorization \
        codes; Microsoft no longer accepts new ones for most apps.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<RedirectUriWildcard>(de),
    keys: registry::keys_of::<RedirectUriWildcard>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectUriWildcard {}

impl Check for RedirectUriWildcard {
    fn evaluate(&self, app: &App, _cx: &Context<'_>, out: &mut Outcomes) {
        let Some(uris) = redirect_uris(app, out) else {
            return;
        };
        let mut failed = false;
        for r in uris.iter().filter(|r| r.uri.contains('*')) {
            failed = true;
            out.fail(
                Some(r.uri.clone()),
                format!(
                    "Redirect URI {} ({}) contains a wildcard",
                    r.uri,
                    r.platform.as_str()
                ),
                evidence(json!({"uri": r.uri, "platform": r.platform.as_str()})),
            );
        }
        if !failed {
            out.pass(|| (None, format!("{} redirect URI(s), no wildcard", uris.len())));
        }
    }
}
