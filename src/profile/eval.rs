//! Evaluating a profile's steps on one app. A step passes when every check passes, fails
//! when any fails, and is not evaluated when the input lacks data a check needs (never a
//! pass). A step whose instruction is dead (`advice.dead_from` reached) fails whatever the
//! data says.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Advice, PermissionRef, Profile, Step, StepCheck};
use crate::checks::{Context, Evaluator, Outcomes, ScanInputs, Verdict};
use crate::model::{App, Catalog, PermissionKind, Platform, Tenant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Pass,
    Fail,
    NotEvaluated,
    Manual,
}

impl StepOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Pass => "pass",
            StepOutcome::Fail => "fail",
            StepOutcome::NotEvaluated => "not evaluated",
            StepOutcome::Manual => "manual",
        }
    }
}

/// One step's verdict and why.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub number: String,
    pub title: String,
    pub guide: String,
    pub outcome: StepOutcome,
    /// Evidence, one line each: what was found, or what is missing.
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<Advice>,
}

/// Evaluates every step of `profile` on `app`.
pub fn evaluate(
    profile: &Profile,
    app: &App,
    tenant: &Tenant,
    inputs: &ScanInputs,
    settings: &BTreeMap<String, String>,
    as_of: DateTime<Utc>,
    catalog: &Catalog,
) -> Vec<StepResult> {
    let cx = Context::new(
        as_of,
        &tenant.info,
        &tenant.missing,
        &tenant.exchange,
        inputs,
        catalog,
    );
    let listed = profile.listed_permissions();
    profile
        .steps
        .iter()
        .map(|step| {
            let env = Env {
                app,
                tenant,
                cx: &cx,
                settings,
                listed: &listed,
            };
            evaluate_step(step, &env)
        })
        .collect()
}

struct Env<'a> {
    app: &'a App,
    tenant: &'a Tenant,
    cx: &'a Context<'a>,
    settings: &'a BTreeMap<String, String>,
    listed: &'a [&'a PermissionRef],
}

/// What one check found.
#[derive(Default)]
struct Found {
    fail: Vec<String>,
    not_evaluated: Vec<String>,
    pass: Vec<String>,
    /// Shown whatever the outcome (what a guide gets wrong about a permission, ...).
    notes: Vec<String>,
}

fn evaluate_step(step: &Step, env: &Env<'_>) -> StepResult {
    let result = |outcome, evidence| StepResult {
        number: step.number.clone(),
        title: step.title.clone(),
        guide: step.guide.clone(),
        outcome,
        evidence,
        advice: step.advice.clone(),
    };
    if step.checks.is_empty() {
        return result(
            StepOutcome::Manual,
            vec!["cannot be checked from tenant data: confirm by hand".into()],
        );
    }
    let mut found = Found::default();
    for check in &step.checks {
        run(check, env, &mut found);
    }
    let notes = std::mem::take(&mut found.notes);
    let result = |outcome, mut evidence: Vec<String>| {
        evidence.extend(notes.iter().map(|n| format!("note: {n}")));
        result(outcome, evidence)
    };
    let dead = step
        .advice
        .as_ref()
        .and_then(|a| a.dead_from)
        .filter(|d| *d <= env.cx.as_of);
    if let Some(d) = dead {
        let mut evidence = vec![format!(
            "the guide's instruction no longer works (since {}): see the advice",
            crate::dates::ymd(d)
        )];
        evidence.extend(found.fail);
        evidence.extend(found.pass);
        evidence.extend(
            found
                .not_evaluated
                .into_iter()
                .map(|r| format!("not evaluated: {r}")),
        );
        return result(StepOutcome::Fail, evidence);
    }
    if !found.fail.is_empty() {
        let mut evidence = found.fail;
        evidence.extend(
            found
                .not_evaluated
                .into_iter()
                .map(|r| format!("not evaluated: {r}")),
        );
        result(StepOutcome::Fail, evidence)
    } else if !found.not_evaluated.is_empty() {
        result(StepOutcome::NotEvaluated, found.not_evaluated)
    } else {
        let evidence = if found.pass.is_empty() {
            vec!["nothing in the data contradicts the guide".into()]
        } else {
            found.pass
        };
        result(StepOutcome::Pass, evidence)
    }
}

fn run(check: &StepCheck, env: &Env<'_>, found: &mut Found) {
    let app = env.app;
    match check {
        StepCheck::Audience { allowed } => match &app.sign_in_audience {
            None => found
                .not_evaluated
                .push("the input has no signInAudience".into()),
            Some(a) if allowed.iter().any(|x| x.eq_ignore_ascii_case(a)) => {
                found.pass.push(format!("supported account types: {a}"))
            }
            Some(a) => found.fail.push(format!(
                "supported account types are {a}; the guide supports only {}",
                allowed.join(" or ")
            )),
        },
        StepCheck::RedirectUris {
            platform,
            templates,
            lowercase,
        } => redirect_uris(app, *platform, templates, *lowercase, env.settings, found),
        StepCheck::Permissions {
            granted,
            permissions,
        } => required_permissions(app, env.cx, *granted, permissions, found),
        StepCheck::ExtraPermissions { allowed, flagged } => {
            extra_permissions(app, env.cx, env.listed, allowed, flagged, found)
        }
        StepCheck::ExchangeRole { role } => {
            let Some(assignments) = &env.cx.exchange.role_assignments else {
                found.not_evaluated.push(
                    env.cx
                        .missing
                        .role_assignments
                        .clone()
                        .unwrap_or_else(|| "management role assignments were not collected".into()),
                );
                return;
            };
            // An assignment to a service principal counts only for this app's; one to a user
            // or role group (a service account, as the vendor guides set up) counts as is.
            let exchange_sps = env
                .cx
                .exchange
                .service_principals
                .as_deref()
                .unwrap_or_default();
            let app_id = app.app_id.as_deref().map(str::to_ascii_lowercase);
            let holders: Vec<String> = assignments
                .iter()
                .filter(|a| a.is_role(role) && a.is_enabled())
                .filter(|a| match a.service_principal {
                    Some(i) => exchange_sps.get(i).and_then(|sp| sp.app_id.clone()) == app_id,
                    None => !a
                        .assignee_type
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case("ServicePrincipal")),
                })
                .map(
                    |a| match a.assignee_name.as_deref().or(a.assignee.as_deref()) {
                        Some(who) => format!("{who} ({})", a.label()),
                        None => a.label(),
                    },
                )
                .collect();
            if holders.is_empty() {
                found
                    .fail
                    .push(format!("no enabled {role} role assignment"));
            } else {
                found
                    .pass
                    .push(format!("{role} is assigned to {}", holders.join(", ")));
            }
        }
        StepCheck::Rule { check, .. } => rule(check, env, found),
    }
}

fn rule(check: &Evaluator, env: &Env<'_>, found: &mut Found) {
    let mut out = Outcomes::new(true);
    match check {
        Evaluator::PerApp(c) => {
            if !c.applies_to(env.app.kind) {
                return;
            }
            c.evaluate(env.app, env.cx, &mut out);
        }
        Evaluator::PerTenant(c) => c.evaluate(env.tenant, env.cx, &mut out),
    }
    let app_id = env.app.app_id.as_deref();
    for o in out.list {
        // Tenant checks report about policies, mailboxes, ...: keep what concerns this app.
        let about_other_app = o
            .subject
            .as_ref()
            .and_then(|s| s.app_id.as_deref())
            .is_some_and(|id| Some(id) != app_id);
        if about_other_app {
            continue;
        }
        match o.verdict {
            Verdict::Fail { message, .. } => found.fail.push(message),
            Verdict::Pass { message } => found.pass.push(message),
            Verdict::NotEvaluated { reason } => found.not_evaluated.push(reason),
        }
    }
}

/// `{name}` placeholders of a template, in order.
pub fn placeholders_of(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push(&rest[start + 1..start + len]);
        rest = &rest[start + len + 1..];
    }
    out
}

/// A template as a case-insensitive, anchored regex; an unset placeholder is one URL
/// component (no `/`, `?` or `#`).
fn template_regex(template: &str, settings: &BTreeMap<String, String>) -> Option<regex::Regex> {
    let mut pattern = String::from("(?i)^");
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let len = rest[start..].find('}')?;
        pattern.push_str(&regex::escape(&rest[..start]));
        let name = &rest[start + 1..start + len];
        match settings.get(name) {
            Some(v) => pattern.push_str(&regex::escape(v)),
            None => pattern.push_str("[^/?#]+"),
        }
        rest = &rest[start + len + 1..];
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    regex::Regex::new(&pattern).ok()
}

fn platform_name(p: Platform) -> &'static str {
    match p {
        Platform::Web => "Web",
        Platform::Spa => "Single-page application",
        Platform::PublicClient => "Public client/native (mobile & desktop)",
        Platform::Unspecified => "an unspecified platform (legacy replyUrls)",
    }
}

fn redirect_uris(
    app: &App,
    platform: Platform,
    templates: &[String],
    lowercase: bool,
    settings: &BTreeMap<String, String>,
    found: &mut Found,
) {
    let Some(uris) = &app.redirect_uris else {
        found
            .not_evaluated
            .push("the input has no redirect URI data (web, spa, publicClient)".into());
        return;
    };
    let regexes: Vec<regex::Regex> = templates
        .iter()
        .filter_map(|t| template_regex(t, settings))
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
        if elsewhere.is_empty() {
            let present: Vec<String> = uris
                .iter()
                .map(|u| format!("{} ({})", u.uri, platform_name(u.platform)))
                .collect();
            found.fail.push(format!(
                "the guide needs {wanted}; registered: {}",
                if present.is_empty() {
                    "none".to_string()
                } else {
                    present.join(", ")
                }
            ));
        } else {
            found.fail.push(format!(
                "{}; the guide needs it on {}",
                elsewhere.join("; "),
                platform_name(platform)
            ));
        }
        return;
    }
    for uri in on_platform {
        if lowercase && uri != uri.to_lowercase() {
            found.fail.push(format!(
                "{uri} is not all lowercase; the guide requires lowercase"
            ));
        } else {
            found
                .pass
                .push(format!("{uri} on {}", platform_name(platform)));
        }
    }
}

fn same(p: &PermissionRef, resource: Option<&str>, id: &str, kind: Option<PermissionKind>) -> bool {
    resource == Some(p.resource_app_id.as_str()) && id == p.id && kind == Some(p.kind)
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
fn requested<'a>(app: &'a App, found: &mut Found) -> Option<&'a [crate::model::Permission]> {
    if app.requested_permissions.is_none() {
        found
            .not_evaluated
            .push("the input has no requiredResourceAccess for this app".into());
    }
    app.requested_permissions.as_deref()
}

fn required_permissions(
    app: &App,
    cx: &Context<'_>,
    granted: bool,
    permissions: &[PermissionRef],
    found: &mut Found,
) {
    let Some(requested) = requested(app, found) else {
        return;
    };
    for p in permissions {
        let is_requested = requested
            .iter()
            .any(|r| same(p, r.resource_app_id.as_deref(), &r.id, r.kind));
        let label = p.label();
        if let Some(n) = &p.note {
            found.notes.push(format!("{label}: {n}"));
        }
        if let Some(dead) = p.dead_from.filter(|d| *d <= cx.as_of) {
            let held = is_requested
                || app.granted_app_roles.as_ref().is_some_and(|g| {
                    g.iter()
                        .any(|r| same(p, r.resource_app_id.as_deref(), &r.id, r.kind))
                });
            let since = crate::dates::ymd(dead);
            if held {
                found.fail.push(format!(
                    "{label} is still configured but stopped working on {since}: remove it"
                ));
            } else {
                found.pass.push(format!(
                    "{label}: the guide asks for it, but it stopped working on {since}; correctly absent"
                ));
            }
            continue;
        }
        if !is_requested {
            found.fail.push(format!("{label} is not requested"));
            continue;
        }
        if !granted {
            found.pass.push(format!("{label} is requested"));
            continue;
        }
        let consent = match p.kind {
            PermissionKind::Application => app.granted_app_roles.as_ref().map(|g| {
                g.iter()
                    .any(|r| same(p, r.resource_app_id.as_deref(), &r.id, r.kind))
            }),
            PermissionKind::Delegated => consented(app, p),
        };
        match consent {
            None => found.not_evaluated.push(format!(
                "whether {label} is consented is unknown: {}",
                cx.missing.granted()
            )),
            Some(true) => found
                .pass
                .push(format!("{label} is requested and admin-consented")),
            Some(false) => found
                .fail
                .push(format!("{label} is requested but not admin-consented")),
        }
    }
}

fn extra_permissions(
    app: &App,
    cx: &Context<'_>,
    listed: &[&PermissionRef],
    allowed: &[PermissionRef],
    flagged: &[PermissionRef],
    found: &mut Found,
) {
    let Some(requested) = requested(app, found) else {
        return;
    };
    let in_guide = |r: &crate::model::Permission| {
        listed
            .iter()
            .copied()
            .chain(allowed)
            .any(|p| same(p, r.resource_app_id.as_deref(), &r.id, r.kind))
    };
    let granted = app.granted_app_roles.as_deref().unwrap_or_default();
    let mut extras: Vec<&crate::model::Permission> = Vec::new();
    for r in requested.iter().chain(granted) {
        if in_guide(r)
            || extras
                .iter()
                .any(|e| e.id == r.id && e.resource_app_id == r.resource_app_id)
        {
            continue;
        }
        extras.push(r);
    }
    for r in &extras {
        let why = flagged
            .iter()
            .find(|f| same(f, r.resource_app_id.as_deref(), &r.id, r.kind))
            .and_then(|f| f.note.clone())
            .unwrap_or_else(|| {
                "not in the guide's list: remove it unless another feature needs it".into()
            });
        let kind = if r.is_application() {
            "application"
        } else {
            "delegated"
        };
        found.fail.push(format!("{} ({kind}): {why}", r.label()));
    }
    if extras.is_empty() {
        if app.granted_app_roles.is_none() {
            found.not_evaluated.push(format!(
                "requested permissions are all in the guide's list; granted ones are unknown: {}",
                cx.missing.granted()
            ));
        } else {
            found
                .pass
                .push("every requested and granted permission is in the guide's list".into());
        }
    }
}
