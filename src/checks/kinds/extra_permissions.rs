//! The `extra-permissions` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use super::permissions::requested;
use crate::checks::permissions::{PermissionEntry, resolve_all};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Evaluator, Outcomes, PermissionRef, evidence};
use crate::model::{App, Permission};

/// The `extra-permissions` kind.
pub const KIND: Kind = Kind {
    name: "extra-permissions",
    scope: Scope::App,
    written_in: Written::Profiles,
    docs: "Every permission the app requests or holds (app role assignment) is one the guide \
        lists (in the profile's `permissions` steps) or one of `allowed`. Each other one fails: \
        with its `flagged` note when there is one, else as not in the guide's list. Unlike \
        `granted-not-requested`, which compares an app's grants with its own requests, this \
        compares both with the guide.",
    params: &[
        Param {
            name: "allowed",
            ty: "list of { resource, value, type, note?, dead_from? }, as for permissions",
            default: Some("none"),
            meaning: "Also allowed: what the guide marks optional, and the sign-in basics.",
        },
        Param {
            name: "flagged",
            ty: "list of { resource, value, type, note }, as for permissions",
            default: Some("none"),
            meaning: "Extras with a reason, shown as the finding (e.g. a guide asks for a permission its feature does not use).",
        },
    ],
    renamed_from: &[],
    build: |de, cx| {
        let p = Params::deserialize(de)?;
        let profile = cx.profile()?;
        let mut known = profile.listed.to_vec();
        known.extend(resolve_all(p.allowed, profile.catalog)?);
        Ok(Evaluator::PerApp(Box::new(ExtraPermissions {
            known,
            flagged: resolve_all(p.flagged, profile.catalog)?,
        })))
    },
    keys: registry::keys_of::<Params>,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default)]
    allowed: Vec<PermissionEntry>,
    #[serde(default)]
    flagged: Vec<PermissionEntry>,
}

#[derive(Debug)]
pub struct ExtraPermissions {
    /// The guide's list and the allowed extras.
    known: Vec<PermissionRef>,
    flagged: Vec<PermissionRef>,
}

impl Check for ExtraPermissions {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(requested) = requested(app, out) else {
            return;
        };
        let granted = app.granted_app_roles.as_deref().unwrap_or_default();
        let mut extras: Vec<&Permission> = Vec::new();
        for r in requested.iter().chain(granted) {
            let seen = extras
                .iter()
                .any(|e| e.id == r.id && e.resource_app_id == r.resource_app_id);
            if seen || self.known.iter().any(|p| p.is(r)) {
                continue;
            }
            extras.push(r);
        }
        for r in &extras {
            let why = self
                .flagged
                .iter()
                .find(|f| f.is(r))
                .and_then(|f| f.note.clone())
                .unwrap_or_else(|| {
                    "not in the guide's list: remove it unless another feature needs it".into()
                });
            let kind = if r.is_application() {
                "application"
            } else {
                "delegated"
            };
            let label = r.label();
            out.fail(
                Some(label.clone()),
                format!("{label} ({kind}): {why}"),
                evidence(
                    json!({"permission": label, "resource_app_id": r.resource_app_id, "id": r.id}),
                ),
            );
        }
        if !extras.is_empty() {
            return;
        }
        if app.granted_app_roles.is_none() {
            out.not_evaluated(
                None,
                format!(
                    "requested permissions are all in the guide's list; granted ones are unknown: {}",
                    cx.missing.granted()
                ),
            );
        } else {
            out.pass(|| {
                (
                    None,
                    "every requested and granted permission is in the guide's list".into(),
                )
            });
        }
    }
}
