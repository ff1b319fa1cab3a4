//! The `permissions` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::permissions::{PermissionEntry, resolve_all};
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{BuildError, Check, Context, Evaluator, Outcomes, PermissionRef, evidence};
use crate::model::{App, Permission, PermissionKind};

/// The `permissions` kind.
pub const KIND: Kind = Kind {
    name: "permissions",
    scope: Scope::App,
    written_in: Written::Profiles,
    docs: "The app requests each permission the guide lists (and with `granted = true` holds it \
        with admin consent). A permission with `dead_from` stopped working on that date: from \
        then on it must be absent. These are the guide's permissions that `extra-permissions` \
        compares the app's against.",
    params: &[
        Param {
            name: "permissions",
            ty: "list of { resource, value, type = \"application\" | \"delegated\", note?, dead_from? }",
            default: None,
            meaning: "The guide's permissions; resource is a catalogue name (Microsoft Graph, Office 365 Exchange Online) or an appId, note is shown with the step whatever its outcome.",
        },
        Param {
            name: "granted",
            ty: "boolean",
            default: Some("false"),
            meaning: "Also require admin consent (an app role assignment, or an AllPrincipals delegated grant).",
        },
    ],
    renamed_from: &[],
    build: |de, cx| {
        let p = Params::deserialize(de)?;
        Ok(Evaluator::PerApp(Box::new(Permissions::new(
            p,
            cx.profile()?.catalog,
        )?)))
    },
    keys: registry::keys_of::<Params>,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default)]
    granted: bool,
    permissions: Vec<PermissionEntry>,
}

#[derive(Debug)]
pub struct Permissions {
    granted: bool,
    permissions: Vec<PermissionRef>,
}

impl Permissions {
    pub fn new(p: Params, catalog: &crate::model::Catalog) -> Result<Self, BuildError> {
        Ok(Permissions {
            granted: p.granted,
            permissions: resolve_all(p.permissions, catalog)?,
        })
    }

    /// The permissions the guide lists.
    pub fn listed(&self) -> &[PermissionRef] {
        &self.permissions
    }
}

/// Whether a delegated permission is admin-consented (an AllPrincipals grant names it).
fn consented(app: &App, p: &PermissionRef) -> Option<bool> {
    let grants = app.delegated_grants.as_ref()?;
    Some(grants.iter().any(|g| {
        g.resource_app_id.as_deref() == Some(p.resource_app_id.as_str())
            && g.consent_type
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case("AllPrincipals"))
            && g.scopes.iter().any(|s| s.eq_ignore_ascii_case(&p.value))
    }))
}

/// The app's requested permissions, or `None` after recording that they are unknown.
pub fn requested<'a>(app: &'a App, out: &mut Outcomes) -> Option<&'a [Permission]> {
    if app.requested_permissions.is_none() {
        out.not_evaluated(None, "the input has no requiredResourceAccess for this app");
    }
    app.requested_permissions.as_deref()
}

impl Check for Permissions {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(requested) = requested(app, out) else {
            return;
        };
        let app_roles = app.granted_app_roles.as_deref();
        for p in &self.permissions {
            let is_requested = requested.iter().any(|r| p.is(r));
            let label = p.label();
            let fail = |out: &mut Outcomes, message: String| {
                out.fail(
                    Some(label.clone()),
                    message,
                    evidence(json!({"permission": label, "resource_app_id": p.resource_app_id, "id": p.id})),
                );
            };
            if let Some(n) = &p.note {
                out.note(format!("{label}: {n}"));
            }
            if let Some(dead) = p.dead_from.filter(|d| *d <= cx.as_of) {
                let held = is_requested || app_roles.is_some_and(|g| g.iter().any(|r| p.is(r)));
                let since = crate::dates::ymd(dead);
                if held {
                    fail(
                        out,
                        format!(
                            "{label} is still configured but stopped working on {since}: remove it"
                        ),
                    );
                } else {
                    out.pass(|| {
                        (
                            Some(label.clone()),
                            format!(
                                "{label}: the guide asks for it, but it stopped working on {since}; correctly absent"
                            ),
                        )
                    });
                }
                continue;
            }
            if !is_requested {
                fail(out, format!("{label} is not requested"));
                continue;
            }
            if !self.granted {
                out.pass(|| (Some(label.clone()), format!("{label} is requested")));
                continue;
            }
            let consent = match p.kind {
                PermissionKind::Application => app_roles.map(|g| g.iter().any(|r| p.is(r))),
                PermissionKind::Delegated => consented(app, p),
            };
            match consent {
                None => out.not_evaluated(
                    Some(label.clone()),
                    format!(
                        "whether {label} is consented is unknown: {}",
                        cx.missing.granted()
                    ),
                ),
                Some(true) => out.pass(|| {
                    (
                        Some(label.clone()),
                        format!("{label} is requested and admin-consented"),
                    )
                }),
                Some(false) => fail(out, format!("{label} is requested but not admin-consented")),
            }
        }
    }
}
