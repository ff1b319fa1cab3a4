//! Finding an app's permissions wherever they show (requested, granted, consented), and
//! saying why "holds no such permission" cannot be concluded when a list is unknown.

use serde_json::{Value, json};

use super::{Context, Outcomes};
use crate::model::{App, AppKind, Permission, PermissionClass, PermissionKind};

/// Evidence listing permissions by label.
pub fn permission_list(perms: &[&Permission]) -> Value {
    Value::Array(perms.iter().map(|p| json!(p.label())).collect())
}

/// How an app has a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeenAs {
    /// In the registration's requiredResourceAccess.
    Requested,
    /// An app role assignment (application permission granted).
    Granted,
    /// A delegated permission grant (consent).
    Consented,
}

/// One permission of an app, wherever it was seen.
#[derive(Debug, Clone)]
pub struct Seen {
    pub label: String,
    pub resource_app_id: Option<String>,
    pub value: Option<String>,
    pub kind: Option<PermissionKind>,
    pub seen_as: Vec<SeenAs>,
}

impl Seen {
    pub fn evidence(&self) -> Value {
        json!({
            "permission": self.label,
            "resource_app_id": self.resource_app_id,
            "value": self.value,
            "kind": self.kind,
            "seen_as": self.seen_as,
        })
    }

    /// "requested", "granted", "requested and granted", ...
    pub fn how(&self) -> String {
        let words: Vec<&str> = self
            .seen_as
            .iter()
            .map(|s| match s {
                SeenAs::Requested => "requested",
                SeenAs::Granted => "granted",
                SeenAs::Consented => "consented",
            })
            .collect();
        words.join(" and ")
    }
}

/// What a candidate permission looks like to a matcher.
pub struct Candidate<'a> {
    pub resource_app_id: Option<&'a str>,
    pub value: Option<&'a str>,
    pub kind: Option<PermissionKind>,
    pub classes: &'a [PermissionClass],
}

/// The app's permissions that `accept` takes: requested, granted as app roles, or consented as
/// delegated grants. The same permission seen several ways is one entry. `complete` is false
/// (with the reason) when a list the app could have is unknown.
pub struct Found {
    pub list: Vec<Seen>,
    pub missing: Option<String>,
}

pub fn find_permissions(
    app: &App,
    cx: &Context<'_>,
    accept: impl Fn(&Candidate<'_>) -> bool,
) -> Found {
    let mut list: Vec<Seen> = Vec::new();
    // Labels are built only for accepted permissions: most checks accept few of an app's.
    let mut add = |p: Candidate<'_>, label: &dyn Fn() -> String, how: SeenAs| {
        if !accept(&p) {
            return;
        }
        let label = label();
        let same = |s: &Seen| {
            s.resource_app_id.as_deref() == p.resource_app_id
                && s.kind == p.kind
                && s.label.eq_ignore_ascii_case(&label)
        };
        match list.iter_mut().find(|s| same(s)) {
            Some(s) if !s.seen_as.contains(&how) => s.seen_as.push(how),
            Some(_) => {}
            None => list.push(Seen {
                label,
                resource_app_id: p.resource_app_id.map(String::from),
                value: p.value.map(String::from),
                kind: p.kind,
                seen_as: vec![how],
            }),
        }
    };
    for (perms, how) in [
        (&app.requested_permissions, SeenAs::Requested),
        (&app.granted_app_roles, SeenAs::Granted),
    ] {
        for p in perms.iter().flatten() {
            let candidate = Candidate {
                resource_app_id: p.resource_app_id.as_deref(),
                value: p.value.as_deref(),
                kind: p.kind,
                classes: &p.classes,
            };
            add(candidate, &|| p.label(), how);
        }
    }
    for grant in app.delegated_grants.iter().flatten() {
        let resource = grant.resource_app_id.as_deref();
        for scope in &grant.scopes {
            let entry =
                resource.and_then(|r| cx.catalog.lookup_value(r, scope, PermissionKind::Delegated));
            let classes = entry.map(|e| &*e.classes).unwrap_or_default();
            let label = || {
                format!(
                    "{} {scope}",
                    grant
                        .resource_name
                        .as_deref()
                        .or(resource)
                        .unwrap_or("unknown resource")
                )
            };
            let candidate = Candidate {
                resource_app_id: resource,
                value: Some(scope),
                kind: Some(PermissionKind::Delegated),
                classes,
            };
            add(candidate, &label, SeenAs::Consented);
        }
    }
    let missing = if app.requested_permissions.is_none() && app.kind == AppKind::Application {
        Some("the input has no requiredResourceAccess for this app".to_string())
    } else if app.granted_app_roles.is_none() {
        Some(format!(
            "granted permissions are unknown: {}",
            cx.missing.granted()
        ))
    } else if app.delegated_grants.is_none() {
        Some(format!(
            "delegated grants are unknown: {}",
            cx.missing
                .delegated_grants
                .clone()
                .unwrap_or_else(|| cx.missing.granted())
        ))
    } else {
        None
    };
    Found { list, missing }
}

/// Records the usual outcome of a "does the app have such permissions" rule when it found
/// none: a pass if every list was known, else not evaluated.
pub fn none_found(found: &Found, what: &str, out: &mut Outcomes) {
    match &found.missing {
        None => out.pass(|| (None, format!("the app has no {what}"))),
        Some(why) => out.not_evaluated(None, why.clone()),
    }
}

/// The app's requested permissions and granted app roles, or `None` after recording why one
/// of them is unknown.
pub fn requested_and_granted<'a>(
    app: &'a App,
    cx: &Context<'_>,
    out: &mut Outcomes,
) -> Option<(&'a [Permission], &'a [Permission])> {
    let Some(requested) = &app.requested_permissions else {
        out.not_evaluated(None, "the input has no requiredResourceAccess for this app");
        return None;
    };
    let Some(granted) = &app.granted_app_roles else {
        out.not_evaluated(
            None,
            format!("granted permissions are unknown: {}", cx.missing.granted()),
        );
        return None;
    };
    Some((requested, granted))
}

/// Why "holds no such permission" cannot be concluded.
pub fn missing_permissions_reason(app: &App, cx: &Context<'_>) -> String {
    if app.requested_permissions.is_none() {
        "the input has no requiredResourceAccess for this app".into()
    } else {
        format!("granted permissions are unknown: {}", cx.missing.granted())
    }
}
