//! The `redirect-uris` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{BuildError, Check, Context, Outcomes, evidence};
use crate::model::{App, Platform};

/// The `redirect-uris` kind.
pub const KIND: Kind = Kind {
    name: "redirect-uris",
    scope: Scope::App,
    written_in: Written::Profiles,
    docs: "The app has a redirect URI on `platform` that matches one of `templates` (any URI \
        on the platform when there are none), all lowercase when `lowercase = true`. A \
        template's `{name}` stands for a value the admin gives with `checklist --set \
        name=value`; unset, it matches one URL component.",
    params: &[
        Param {
            name: "platform",
            ty: "string: web, spa, public_client",
            default: None,
            meaning: "The platform the guide registers the URI on.",
        },
        Param {
            name: "templates",
            ty: "list of strings (URIs with {placeholder}s from the profile's [placeholders])",
            default: Some("any URI on the platform"),
            meaning: "The URIs the guide asks for, matched case-insensitively.",
        },
        Param {
            name: "lowercase",
            ty: "boolean",
            default: Some("false"),
            meaning: "The guide requires the URI in lowercase.",
        },
    ],
    renamed_from: &[],
    build: |de, cx| {
        let check = RedirectUris::deserialize(de)?;
        let placeholders = cx.profile()?.placeholders;
        for t in &check.templates {
            for name in placeholders_of(t)? {
                if !placeholders.contains_key(name) {
                    return Err(BuildError {
                        span: None,
                        message: format!(
                            "template {t:?} uses {{{name}}}, which [placeholders] does not describe"
                        ),
                    });
                }
            }
        }
        Ok(crate::checks::Evaluator::PerApp(Box::new(check)))
    },
    keys: registry::keys_of::<RedirectUris>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectUris {
    platform: Platform,
    #[serde(default)]
    templates: Vec<String>,
    #[serde(default)]
    lowercase: bool,
}

/// `{name}` placeholders of a template, in order; an unclosed `{` is an error.
pub fn placeholders_of(template: &str) -> Result<Vec<&str>, BuildError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(BuildError {
                span: None,
                message: format!("template {template:?} has a `{{` without its `}}`"),
            });
        };
        out.push(&rest[start + 1..start + len]);
        rest = &rest[start + len + 1..];
    }
    Ok(out)
}

/// A template as a case-insensitive, anchored regex: a placeholder the admin set is its
/// value, an unset one is one URL component (no `/`, `?` or `#`). Built per evaluation
/// because the settings come with it; a checklist evaluates a handful of apps.
fn template_regex(template: &str, cx: &Context<'_>) -> Option<regex::Regex> {
    let mut pattern = String::from("(?i)^");
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let len = rest[start..].find('}')?;
        pattern.push_str(&regex::escape(&rest[..start]));
        let name = &rest[start + 1..start + len];
        match cx.settings.get(name) {
            Some(v) => pattern.push_str(&regex::escape(v)),
            None => pattern.push_str("[^/?#]+"),
        }
        rest = &rest[start + len + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    regex::Regex::new(&pattern).ok()
}

/// The platform as the Entra admin center names it.
fn platform_name(p: Platform) -> &'static str {
    match p {
        Platform::Web => "Web",
        Platform::Spa => "Single-page application",
        Platform::PublicClient => "Public client/native (mobile & desktop)",
        Platform::Unspecified => "an unspecified platform (legacy replyUrls)",
    }
}

impl Check for RedirectUris {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let platform = self.platform;
        let templates = &self.templates;
        let Some(uris) = &app.redirect_uris else {
            out.not_evaluated(
                None,
                "the input has no redirect URI data (web, spa, publicClient)",
            );
            return;
        };
        let regexes: Vec<regex::Regex> = templates
            .iter()
            .filter_map(|t| template_regex(t, cx))
            .collect();
        let fits = |uri: &str| regexes.is_empty() || regexes.iter().any(|r| r.is_match(uri));
        let wanted = if templates.is_empty() {
            format!("a redirect URI on {}", platform_name(platform))
        } else {
            format!(
                "a redirect URI on {} matching {}",
                platform_name(platform),
                templates.join(" or ")
            )
        };
        let on_platform: Vec<&str> = uris
            .iter()
            .filter(|u| u.platform == platform && fits(&u.uri))
            .map(|u| u.uri.as_str())
            .collect();
        if on_platform.is_empty() {
            let elsewhere: Vec<String> = uris
                .iter()
                .filter(|u| u.platform != platform && !templates.is_empty() && fits(&u.uri))
                .map(|u| format!("{} is registered on {}", u.uri, platform_name(u.platform)))
                .collect();
            let message = if elsewhere.is_empty() {
                let present: Vec<String> = uris
                    .iter()
                    .map(|u| format!("{} ({})", u.uri, platform_name(u.platform)))
                    .collect();
                format!(
                    "the guide needs {wanted}; registered: {}",
                    if present.is_empty() {
                        "none".to_string()
                    } else {
                        present.join(", ")
                    }
                )
            } else {
                format!(
                    "{}; the guide needs it on {}",
                    elsewhere.join("; "),
                    platform_name(platform)
                )
            };
            out.fail(
                None,
                message,
                evidence(json!({"platform": platform.as_str(), "templates": templates})),
            );
            return;
        }
        for uri in on_platform {
            if self.lowercase && uri != uri.to_lowercase() {
                out.fail(
                    Some(uri.to_string()),
                    format!("{uri} is not all lowercase; the guide requires lowercase"),
                    evidence(json!({"redirect_uri": uri})),
                );
            } else {
                out.pass(|| {
                    (
                        Some(uri.to_string()),
                        format!("{uri} on {}", platform_name(platform)),
                    )
                });
            }
        }
    }
}
