//! The `implicit-grant` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `implicit-grant` kind.
pub const KIND: Kind = Kind {
    name: "implicit-grant",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "Implicit-grant issuance of access tokens (or ID tokens) is enabled. Implicit grant \
        returns tokens in the browser's URL fragment; Microsoft discourages it even for \
        single-page apps, and daemons never need it.",
    params: &[Param {
        name: "token",
        ty: "\"access\" or \"id\"",
        default: Some("\"access\""),
        meaning: "Which implicit-grant issuance to flag: access tokens or ID tokens.",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<ImplicitGrantCheck>(de),
    keys: registry::keys_of::<ImplicitGrantCheck>,
};

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Token {
    #[default]
    Access,
    Id,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImplicitGrantCheck {
    /// Which implicit-grant setting to check: `access` (default) or `id`.
    #[serde(default)]
    token: Token,
}

impl Check for ImplicitGrantCheck {
    fn evaluate(&self, app: &App, _cx: &Context<'_>, out: &mut Outcomes) {
        let (enabled, setting, legacy) = match self.token {
            Token::Access => (
                app.implicit_grant.access_tokens,
                "web.implicitGrantSettings.enableAccessTokenIssuance",
                "oauth2AllowImplicitFlow",
            ),
            Token::Id => (
                app.implicit_grant.id_tokens,
                "web.implicitGrantSettings.enableIdTokenIssuance",
                "oauth2AllowIdTokenImplicitFlow",
            ),
        };
        match enabled {
            None => out.not_evaluated(
                None,
                format!("the input has neither {setting} nor {legacy} for this app"),
            ),
            Some(false) => out.pass(|| (None, format!("{setting} is off"))),
            Some(true) => out.fail(
                None,
                format!(
                    "{} has implicit-grant {} token issuance enabled ({setting})",
                    app.name(),
                    match self.token {
                        Token::Access => "access",
                        Token::Id => "ID",
                    }
                ),
                evidence(
                    json!({"setting": setting, "legacy_manifest_setting": legacy, "enabled": true}),
                ),
            ),
        }
    }
}
