//! Small helpers shared by check kinds.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Context, Outcomes};
use crate::dates::rfc3339;
use crate::finding::Evidence;
use crate::model::{
    App, AppKind, Credential, CredentialKind, Permission, PermissionClass, PermissionKind,
    RedirectUri,
};

/// Which credentials a check looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialFilter {
    #[default]
    Any,
    /// Client secrets (`passwordCredentials`).
    #[serde(alias = "password")]
    Secret,
    /// Certificates and other key credentials (`keyCredentials`).
    #[serde(alias = "key")]
    Certificate,
}

impl CredentialFilter {
    /// The credentials the filter selects, and why part of them is unknown, if it is.
    pub fn select(self, app: &App) -> (Vec<&Credential>, Option<&'static str>) {
        let mut out = Vec::new();
        let mut secrets_unknown = false;
        let mut keys_unknown = false;
        if self != CredentialFilter::Certificate {
            match &app.password_credentials {
                Some(list) => out.extend(list),
                None => secrets_unknown = true,
            }
        }
        if self != CredentialFilter::Secret {
            match &app.key_credentials {
                Some(list) => out.extend(list),
                None => keys_unknown = true,
            }
        }
        let reason = match (secrets_unknown, keys_unknown) {
            (false, false) => None,
            (true, false) => Some("the input has no passwordCredentials for this app"),
            (false, true) => Some("the input has no keyCredentials for this app"),
            (true, true) => {
                Some("the input has no passwordCredentials or keyCredentials for this app")
            }
        };
        (out, reason)
    }
}

/// Credentials with their end dates, as the expiry checks need them.
pub struct Dated<'a> {
    pub list: Vec<(&'a Credential, DateTime<Utc>)>,
    /// False when part of the data was missing (and recorded as not evaluated).
    pub complete: bool,
}

impl CredentialFilter {
    /// The selected credentials that have an end date. Records `not_evaluated` for a
    /// credential list the input lacks and for each credential without an end date.
    pub fn dated<'a>(self, app: &'a App, out: &mut Outcomes) -> Dated<'a> {
        let (credentials, unknown) = self.select(app);
        if let Some(reason) = unknown {
            out.not_evaluated(None, reason);
        }
        let mut complete = unknown.is_none();
        let mut list = Vec::with_capacity(credentials.len());
        for c in credentials {
            match c.end {
                Some(end) => list.push((c, end)),
                None => {
                    complete = false;
                    out.not_evaluated(
                        Some(credential_item(c)),
                        "the credential has no end date in the input",
                    );
                }
            }
        }
        Dated { list, complete }
    }
}

/// The app's redirect URIs; records `not_evaluated` when the input has none.
pub fn redirect_uris<'a>(app: &'a App, out: &mut Outcomes) -> Option<&'a [RedirectUri]> {
    let uris = app.redirect_uris.as_deref();
    if uris.is_none() {
        out.not_evaluated(
            None,
            "the input has no redirect URIs for this app, or not for all of web, spa and publicClient",
        );
    }
    uris
}

/// A credential's name in findings: its key id, else its display name.
pub fn credential_item(c: &Credential) -> String {
    c.key_id
        .clone()
        .or_else(|| c.display_name.clone())
        .unwrap_or_else(|| "(credential without key id)".into())
}

/// "Client secret", "Certificate", ... for messages.
pub fn credential_noun(c: &Credential) -> &'static str {
    match c.kind {
        CredentialKind::Secret => "Client secret",
        CredentialKind::Certificate => "Certificate",
        CredentialKind::SymmetricKey => "Symmetric key",
        CredentialKind::OtherKey => "Key credential",
    }
}

/// Standard evidence for a credential: kind, key id, name, hint, dates.
pub fn credential_evidence(c: &Credential) -> Evidence {
    let mut e = Evidence::new();
    e.insert("credential".into(), json!(c.kind.as_str()));
    e.insert("key_id".into(), json!(c.key_id));
    if let Some(name) = &c.display_name {
        e.insert("display_name".into(), json!(name));
    }
    if let Some(hint) = &c.hint {
        e.insert("hint".into(), json!(hint));
    }
    if let Some(usage) = &c.usage {
        e.insert("usage".into(), json!(usage));
    }
    e.insert("start".into(), json!(c.start.map(rfc3339)));
    e.insert("end".into(), json!(c.end.map(rfc3339)));
    e
}

/// Whole days from `from` to `to`, rounded toward zero.
pub fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days()
}

/// "1 day" / "3 days".
pub fn plural_days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// Whether a credential can be used at `as_of`: started (or start unknown) and not ended.
/// `None` when its end date is unknown.
pub fn is_current(c: &Credential, as_of: DateTime<Utc>) -> Option<bool> {
    let end = c.end?;
    Some(end > as_of && c.start.is_none_or(|s| s <= as_of))
}

/// A credential's lifetime in days, not counting 29 February, so a "12 months" secret is
/// 365 days and a "24 months" secret 730 days whichever years it spans.
pub fn lifetime_days(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    let span = end - start;
    let leap_days = leap_days_between(start.date_naive(), end.date_naive());
    (span - TimeDelta::days(leap_days)).num_days()
}

/// Number of 29 Februaries in `(start, end]`.
fn leap_days_between(start: NaiveDate, end: NaiveDate) -> i64 {
    if end <= start {
        return 0;
    }
    (start.year()..=end.year())
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 2, 29))
        .filter(|d| *d > start && *d <= end)
        .count() as i64
}

/// Evidence listing permissions by label.
pub fn permission_list(perms: &[&Permission]) -> Value {
    Value::Array(perms.iter().map(|p| json!(p.label())).collect())
}

/// Builds evidence from a `json!` object literal.
pub fn evidence(v: Value) -> Evidence {
    match v {
        Value::Object(map) => map,
        other => {
            let mut e = Evidence::new();
            e.insert("value".into(), other);
            e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::dates::parse_datetime(s).unwrap()
    }

    #[test]
    fn lifetimes_ignore_leap_days() {
        assert_eq!(lifetime_days(at("2023-06-01"), at("2025-06-01")), 730);
        assert_eq!(lifetime_days(at("2024-03-01"), at("2026-03-01")), 730);
        assert_eq!(lifetime_days(at("2023-06-01"), at("2024-06-01")), 365);
        assert_eq!(lifetime_days(at("2023-06-01"), at("2024-06-02")), 366);
        assert_eq!(
            lifetime_days(at("2025-01-01T10:00:00Z"), at("2025-07-01T09:00:00Z")),
            180
        );
    }

    #[test]
    fn a_credential_is_current_between_start_and_end() {
        let c = Credential {
            kind: CredentialKind::Secret,
            key_id: None,
            display_name: None,
            hint: None,
            start: Some(at("2026-01-01")),
            end: Some(at("2026-12-31")),
            usage: None,
        };
        assert_eq!(is_current(&c, at("2026-06-01")), Some(true));
        assert_eq!(is_current(&c, at("2025-12-31")), Some(false));
        assert_eq!(is_current(&c, at("2026-12-31")), Some(false));
        let no_end = Credential { end: None, ..c };
        assert_eq!(is_current(&no_end, at("2026-06-01")), None);
    }
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
