//! The `audience` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::missing_permissions_reason;
use crate::checks::permissions::permission_list;
use crate::checks::registry::{self, Kind, Param, Scope};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, PermissionClass};

/// The `audience` kind.
pub const KIND: Kind = Kind {
    name: "audience",
    scope: Scope::App,
    docs: "The app's sign-in audience is one of `audiences`; with `with_app_only_mail = true`, \
        only when the app also holds app-only mailbox permissions.",
    params: &[
        Param {
            name: "audiences",
            ty: "list of strings: AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount, PersonalMicrosoftAccount",
            default: None,
            meaning: "The sign-in audiences that fail.",
        },
        Param {
            name: "with_app_only_mail",
            ty: "boolean",
            default: Some("false"),
            meaning: "Fail only when the app also holds app-only mailbox permissions.",
        },
    ],
    renamed_from: &[],
    build: |de, _| registry::app::<Audience>(de),
    keys: registry::keys_of::<Audience>,
};

/// The `signInAudience` values Entra documents.
const KNOWN: [&str; 4] = [
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

#[derive(Debug)]
pub struct Audience {
    audiences: Vec<String>,
    with_app_only_mail: bool,
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            audiences: Vec<String>,
            #[serde(default)]
            with_app_only_mail: bool,
        }
        let p = Params::deserialize(d)?;
        if let Some(bad) = p.audiences.iter().find(|a| !KNOWN.contains(&a.as_str())) {
            return Err(serde::de::Error::custom(format!(
                "unknown audience {bad:?}: expected one of {}",
                KNOWN.join(", ")
            )));
        }
        Ok(Audience {
            audiences: p.audiences,
            with_app_only_mail: p.with_app_only_mail,
        })
    }
}

impl Check for Audience {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(audience) = &app.sign_in_audience else {
            out.not_evaluated(None, "the input has no signInAudience for this app");
            return;
        };
        if !self
            .audiences
            .iter()
            .any(|a| a.eq_ignore_ascii_case(audience))
        {
            out.pass(|| (None, format!("audience {audience}")));
            return;
        }
        if !self.with_app_only_mail {
            out.fail(
                None,
                format!("{} has sign-in audience {audience}", app.name()),
                evidence(json!({"sign_in_audience": audience})),
            );
            return;
        }
        let mail = app.holdings(|p| p.is_application() && p.has_class(PermissionClass::Mailbox));
        if !mail.found.is_empty() {
            out.fail(
                None,
                format!(
                    "{} is multi-tenant ({audience}) and holds app-only mailbox permissions",
                    app.name()
                ),
                evidence(json!({
                    "sign_in_audience": audience,
                    "mailbox_permissions": permission_list(&mail.found),
                })),
            );
        } else if mail.complete {
            out.pass(|| {
                (
                    None,
                    format!("audience {audience}, no app-only mailbox permissions"),
                )
            });
        } else {
            out.not_evaluated(None, missing_permissions_reason(app, cx));
        }
    }
}
