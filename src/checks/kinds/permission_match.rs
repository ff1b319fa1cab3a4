//! The `permission-match` check kind: see [`KIND`].

use serde::Deserialize;

use crate::checks::evidence;
use crate::checks::permissions::{find_permissions, none_found};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind, PermissionClass, PermissionKind};

/// The `permission-match` kind.
pub const KIND: Kind = Kind {
    name: "permission-match",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app requests, holds (app role assignment) or has consented (delegated grant) a \
        permission of a class (`privileged-directory`, `legacy-protocol`, ...) or of a \
        resource (Azure AD Graph). One finding per permission.",
    params: &[
        Param {
            name: "class",
            ty: "string: mailbox, ews, legacy-protocol, privileged-directory",
            default: Some("not set; give class or resource"),
            meaning: "A permission class of the catalogue (rules/catalog/permission-classes.toml).",
        },
        Param {
            name: "resource",
            ty: "string (a resource appId)",
            default: Some("not set; give class or resource"),
            meaning: "Every permission on this API, e.g. 00000002-0000-0000-c000-000000000000 for Azure AD Graph.",
        },
        Param {
            name: "kinds",
            ty: "list of \"application\", \"delegated\"",
            default: Some("both"),
            meaning: "Which permission types count.",
        },
        Param {
            name: "note",
            ty: "string",
            default: Some("none"),
            meaning: "A sentence added to each finding's message.",
        },
    ],
    renamed_from: &[],
    build: |de, _| registry::app::<PermissionMatch>(de),
    keys: registry::keys_of::<PermissionMatch>,
};

#[derive(Debug)]
pub struct PermissionMatch {
    class: Option<PermissionClass>,
    resource: Option<String>,
    kinds: Vec<PermissionKind>,
    /// A sentence appended to each finding's message.
    note: Option<String>,
}

impl<'de> Deserialize<'de> for PermissionMatch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            class: Option<PermissionClass>,
            /// A resource appId: every permission on that API.
            resource: Option<String>,
            kinds: Option<Vec<PermissionKind>>,
            note: Option<String>,
        }
        let p = Params::deserialize(d)?;
        if p.class.is_none() == p.resource.is_none() {
            return Err(serde::de::Error::custom(
                "give exactly one of `class` (a permission class) or `resource` (a resource appId)",
            ));
        }
        Ok(PermissionMatch {
            class: p.class,
            resource: p.resource.map(|r| r.to_ascii_lowercase()),
            kinds: p
                .kinds
                .unwrap_or_else(|| vec![PermissionKind::Application, PermissionKind::Delegated]),
            note: p.note,
        })
    }
}

impl Check for PermissionMatch {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let found = find_permissions(app, cx, |p| {
            p.kind.is_some_and(|k| self.kinds.contains(&k))
                && self.class.is_none_or(|c| p.classes.contains(&c))
                && self
                    .resource
                    .as_deref()
                    .is_none_or(|r| p.resource_app_id == Some(r))
        });
        if found.list.is_empty() {
            none_found(&found, "such permission", out);
            return;
        }
        for seen in &found.list {
            let kind = match seen.kind {
                Some(PermissionKind::Application) => "application",
                _ => "delegated",
            };
            let mut message = format!("{} {} {} ({kind})", app.name(), seen.how(), seen.label);
            if let Some(note) = &self.note {
                message.push_str(": ");
                message.push_str(note);
            }
            out.fail(Some(seen.label.clone()), message, evidence(seen.evidence()));
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
