//! The `audience` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::permissions::missing_permissions_reason;
use crate::checks::permissions::permission_list;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, PermissionClass};

/// The `audience` kind.
pub const KIND: Kind = Kind {
    name: "audience",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app's sign-in audience (supported account types) is one of `audiences`, or \
        with `allowed` is not one of those. With `with_app_only_mail = true`, `audiences` fail \
        only when the app also holds app-only mailbox permissions.",
    params: &[
        Param {
            name: "audiences",
            ty: "list of strings: AzureADMyOrg, AzureADMultipleOrgs, AzureADandPersonalMicrosoftAccount, PersonalMicrosoftAccount",
            default: Some("not set; give audiences or allowed"),
            meaning: "The sign-in audiences that fail.",
        },
        Param {
            name: "allowed",
            ty: "list of strings, as for audiences",
            default: Some("not set; give audiences or allowed"),
            meaning: "The only sign-in audiences that pass (what a vendor guide supports).",
        },
        Param {
            name: "with_app_only_mail",
            ty: "boolean",
            default: Some("false"),
            meaning: "With audiences: fail only when the app also holds app-only mailbox permissions.",
        },
    ],
    renamed_from: &["sign-in-audience"],
    build: |de, _| registry::app::<Audience>(de),
    keys: registry::keys_of::<Params>,
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
    /// The audiences named, and whether they are the ones that fail or the only ones that pass.
    audiences: Vec<String>,
    allowed: bool,
    with_app_only_mail: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    audiences: Option<Vec<String>>,
    #[serde(default)]
    allowed: Option<Vec<String>>,
    #[serde(default)]
    with_app_only_mail: bool,
}

impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let p = Params::deserialize(d)?;
        let (audiences, allowed) = match (p.audiences, p.allowed) {
            (Some(a), None) => (a, false),
            (None, Some(a)) if !p.with_app_only_mail => (a, true),
            (None, Some(_)) => {
                return Err(D::Error::custom(
                    "with_app_only_mail goes with audiences, not allowed",
                ));
            }
            _ => {
                return Err(D::Error::custom(
                    "give exactly one of audiences (those that fail) and allowed (the only ones that pass)",
                ));
            }
        };
        if let Some(bad) = audiences.iter().find(|a| !KNOWN.contains(&a.as_str())) {
            return Err(D::Error::custom(format!(
                "unknown audience {bad:?}: expected one of {}",
                KNOWN.join(", ")
            )));
        }
        Ok(Audience {
            audiences,
            allowed,
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
        let named = self
            .audiences
            .iter()
            .any(|a| a.eq_ignore_ascii_case(audience));
        if self.allowed {
            if named {
                out.pass(|| (None, format!("supported account types: {audience}")));
            } else {
                out.fail(
                    None,
                    format!(
                        "supported account types are {audience}; allowed: {}",
                        self.audiences.join(" or ")
                    ),
                    evidence(json!({"sign_in_audience": audience, "allowed": self.audiences})),
                );
            }
            return;
        }
        if !named {
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
