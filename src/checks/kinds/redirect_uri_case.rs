//! The `redirect-uri-case` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::uri::redirect_uris;
use crate::checks::uri::split;
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `redirect-uri-case` kind.
pub const KIND: Kind = Kind {
    name: "redirect-uri-case",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A redirect URI with upper-case letters in its scheme, host or path. Entra compares \
        redirect URIs exactly, and some products (Sage CRM) build theirs in lowercase, so a \
        mixed-case registration breaks sign-in. Query and fragment are left alone.",
    params: &[Param {
        name: "ignore_prefixes",
        ty: "list of strings",
        default: Some("[]"),
        meaning: "URIs starting with one of these (case-insensitively) are case-sensitive by design (Windows broker SIDs, iOS bundle ids) and skipped.",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<RedirectUriCase>(de),
    keys: registry::keys_of::<RedirectUriCase>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectUriCase {
    /// URIs starting with one of these (compared case-insensitively) are platform-defined
    /// and case-sensitive by design (Windows broker SIDs, iOS bundle ids): skipped.
    #[serde(default)]
    ignore_prefixes: Vec<String>,
}

impl Check for RedirectUriCase {
    fn evaluate(&self, app: &App, _cx: &Context<'_>, out: &mut Outcomes) {
        let Some(uris) = redirect_uris(app, out) else {
            return;
        };
        let mut failed = false;
        for r in uris {
            let lower = r.uri.to_ascii_lowercase();
            if self
                .ignore_prefixes
                .iter()
                .any(|p| lower.starts_with(&p.to_ascii_lowercase()))
            {
                continue;
            }
            let Some(parts) = split(&r.uri) else {
                out.not_evaluated(Some(r.uri.clone()), "not an absolute URI");
                continue;
            };
            let upper: Vec<&str> = [
                ("scheme", parts.scheme),
                ("host", parts.host),
                ("path", parts.path),
            ]
            .into_iter()
            .filter(|(_, text)| text.chars().any(|c| c.is_ascii_uppercase()))
            .map(|(name, _)| name)
            .collect();
            if upper.is_empty() {
                continue;
            }
            failed = true;
            let suggested = lowercase_except_query(&r.uri);
            out.fail(
                Some(r.uri.clone()),
                format!(
                    "Redirect URI {} ({}) has upper-case letters in its {}; register {}",
                    r.uri,
                    r.platform.as_str(),
                    upper.join(" and "),
                    suggested
                ),
                evidence(json!({
                    "uri": r.uri,
                    "platform": r.platform.as_str(),
                    "upper_case_in": upper,
                    "lowercase": suggested,
                })),
            );
        }
        if !failed {
            out.pass(|| {
                (
                    None,
                    format!("{} redirect URI(s), all lowercase", uris.len()),
                )
            });
        }
    }
}

/// The URI with scheme, authority and path lowercased; query and fragment as they were.
fn lowercase_except_query(uri: &str) -> String {
    let cut = uri.find(['?', '#']).unwrap_or(uri.len());
    format!("{}{}", uri[..cut].to_lowercase(), &uri[cut..])
}
