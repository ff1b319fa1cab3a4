//! The `access-policy-scope` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Context, Outcomes, TenantCheck};
use crate::finding::{Subject, SubjectKind};
use crate::model::Tenant;
use crate::model::exchange::{AccessPolicy, ScopeTarget};

/// The `access-policy-scope` kind.
pub const KIND: Kind = Kind {
    name: "access-policy-scope",
    scope: Scope::Tenant,
    written_in: Written::Anywhere,
    docs: "An Application Access Policy whose scope is not a valid target: missing from \
        groups.json (deleted?), not a mail-enabled security group, or a group with no members. \
        Exchange requires a mail-enabled security group (or one mailbox); a policy pointing at \
        anything else does not scope what the admin thinks it scopes.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::tenant::<AccessPolicyScope>(de),
    keys: registry::keys_of::<AccessPolicyScope>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPolicyScope {}

fn subject(p: &AccessPolicy) -> Subject {
    Subject {
        app_id: p.app_ids.first().cloned(),
        ..Subject::named(
            SubjectKind::AccessPolicy,
            p.identity.clone(),
            Some(p.scope_label()),
        )
    }
}

impl TenantCheck for AccessPolicyScope {
    fn reads_apps(&self, _inputs: &crate::checks::ScanInputs) -> bool {
        false
    }

    fn evaluate(&self, tenant: &Tenant, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(policies) = &tenant.exchange.access_policies else {
            out.not_evaluated(None, cx.missing.access_policies.clone().unwrap_or_default());
            return;
        };
        if policies.is_empty() {
            out.pass(|| (None, "no Application Access Policies".into()));
            return;
        }
        let groups = tenant.exchange.groups.as_deref().unwrap_or_default();
        let mailboxes = tenant.exchange.cas_mailboxes.as_deref().unwrap_or_default();
        for p in policies {
            out.about(subject(p));
            let scope = p.scope_label();
            let fail = |out: &mut Outcomes, problem: String, extra: serde_json::Value| {
                let mut e = evidence(json!({
                    "policy": p.identity,
                    "app_ids": p.app_ids,
                    "scope_name": p.scope_name,
                    "scope_identity": p.scope_identity,
                }));
                if let serde_json::Value::Object(m) = extra {
                    e.extend(m);
                }
                out.fail(
                    Some(scope.clone()),
                    format!("Application Access Policy scope {scope} {problem}"),
                    e,
                );
            };
            match &p.scope {
                ScopeTarget::Unknown(why) => out.not_evaluated(Some(scope.clone()), why.clone()),
                ScopeTarget::NotFound => fail(
                    out,
                    "is in neither groups.json nor casMailboxes.json: deleted or renamed? The policy no longer scopes the app".into(),
                    json!({}),
                ),
                ScopeTarget::Mailbox(i, how) => {
                    let label = mailboxes.get(*i).map(|m| m.label()).unwrap_or_default();
                    out.pass(|| (Some(scope.clone()), format!("scoped to the mailbox {label} (matched by {how})")));
                }
                ScopeTarget::Group(i, how) => {
                    let Some(g) = groups.get(*i) else { continue };
                    let group = json!({
                        "group_id": g.id, "group": g.label(), "matched_by": how,
                        "mail_enabled": g.mail_enabled, "security_enabled": g.security_enabled,
                        "group_types": g.group_types, "member_count": g.member_count,
                    });
                    match (g.is_mail_enabled_security(), g.member_count) {
                        (Some(false), _) => fail(
                            out,
                            format!("is {}, not a mail-enabled security group", describe_kind(g)),
                            group,
                        ),
                        (None, _) => out.not_evaluated(
                            Some(scope.clone()),
                            "groups.json lacks mailEnabled/securityEnabled for the scope group",
                        ),
                        (Some(true), Some(0)) => fail(
                            out,
                            "has no members: the app reaches no mailbox through it".into(),
                            group,
                        ),
                        (Some(true), None) => out.not_evaluated(
                            Some(scope.clone()),
                            "groups.json has no member count for the scope group (collect with memberCount)",
                        ),
                        (Some(true), Some(n)) => out.pass(|| {
                            (Some(scope.clone()), format!("mail-enabled security group with {n} member(s)"))
                        }),
                    }
                }
            }
        }
    }
}

fn describe_kind(g: &crate::model::exchange::Group) -> &'static str {
    let unified = g
        .group_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case("Unified"));
    match (unified, g.mail_enabled, g.security_enabled) {
        (true, _, _) => "a Microsoft 365 group",
        (_, Some(true), Some(false)) => "a distribution group",
        (_, Some(false), Some(true)) => "a security group that is not mail-enabled",
        _ => "not a mail-enabled security group",
    }
}
