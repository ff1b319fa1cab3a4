//! Finding an app's permissions wherever they show (requested, granted, consented), saying
//! why "holds no such permission" cannot be concluded when a list is unknown, and the
//! permissions a profile names (resolved through the catalogue when it is loaded).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use toml::Spanned;

use super::{BuildError, Context, Outcomes, reflow};
use crate::model::{App, AppKind, Catalog, Permission, PermissionClass, PermissionKind};

/// A permission a profile names, resolved through the catalogue at load.
#[derive(Debug, Clone)]
pub struct PermissionRef {
    pub resource_app_id: String,
    pub resource_name: String,
    pub id: String,
    pub value: String,
    pub kind: PermissionKind,
    /// Shown with the requirement (e.g. what the guide got wrong about it).
    pub note: Option<String>,
    /// From this date the permission no longer works: it must be absent.
    pub dead_from: Option<DateTime<Utc>>,
}

impl PermissionRef {
    pub fn label(&self) -> String {
        let kind = match self.kind {
            PermissionKind::Application => "application",
            PermissionKind::Delegated => "delegated",
        };
        format!("{} {} ({kind})", self.resource_name, self.value)
    }

    /// Whether `p` is this permission (same API, id and type).
    pub fn is(&self, p: &Permission) -> bool {
        p.resource_app_id.as_deref() == Some(self.resource_app_id.as_str())
            && *p.id == *self.id
            && p.kind == Some(self.kind)
    }
}

/// A permission as a profile writes it:
/// `{ resource = "Microsoft Graph", value = "Mail.Send", type = "application" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionEntry {
    resource: Spanned<String>,
    value: Spanned<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    dead_from: Option<Spanned<String>>,
}

impl PermissionEntry {
    /// Resolves the names through the catalogue; an unknown one is an error at its span.
    pub fn resolve(self, catalog: &Catalog) -> Result<PermissionRef, BuildError> {
        let at = |span: std::ops::Range<usize>, message: String| BuildError {
            span: Some(span),
            message,
        };
        let kind = match self.kind.get_ref().as_str() {
            "application" => PermissionKind::Application,
            "delegated" => PermissionKind::Delegated,
            other => {
                return Err(at(
                    self.kind.span(),
                    format!("permission type {other:?}: expected \"application\" or \"delegated\""),
                ));
            }
        };
        let Some((resource_app_id, resource_name)) = catalog.resource(self.resource.get_ref())
        else {
            return Err(at(
                self.resource.span(),
                format!(
                    "unknown resource {:?}: use a catalogue resource name (Microsoft Graph, Office 365 Exchange Online) or an appId (Azure AD Graph: 00000002-0000-0000-c000-000000000000)",
                    self.resource.get_ref()
                ),
            ));
        };
        let Some(id) = catalog.id_of(resource_app_id, self.value.get_ref(), kind) else {
            return Err(at(
                self.value.span(),
                format!(
                    "{resource_name} has no {} permission {:?} in the catalogue",
                    self.kind.get_ref(),
                    self.value.get_ref()
                ),
            ));
        };
        let value = catalog
            .lookup(resource_app_id, id, kind)
            .map(|e| e.value.to_string())
            .unwrap_or_else(|| self.value.get_ref().clone());
        let dead_from = match self.dead_from {
            None => None,
            Some(d) => Some(crate::dates::parse_datetime(d.get_ref()).ok_or_else(|| {
                at(
                    d.span(),
                    format!("{:?} is not a date (YYYY-MM-DD)", d.get_ref()),
                )
            })?),
        };
        Ok(PermissionRef {
            resource_app_id: resource_app_id.to_string(),
            resource_name: resource_name.to_string(),
            id: id.to_string(),
            value,
            kind,
            note: self.note.map(|n| reflow(&n)),
            dead_from,
        })
    }
}

/// Resolves a list of entries.
pub fn resolve_all(
    entries: Vec<PermissionEntry>,
    catalog: &Catalog,
) -> Result<Vec<PermissionRef>, BuildError> {
    entries.into_iter().map(|e| e.resolve(catalog)).collect()
}

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
