//! Exchange Online's own answers to "can this app reach this mailbox", set beside the model's.
//!
//! Exchange has two authorities over app-only mailbox access, and a cmdlet answers for each:
//! - `Test-ServicePrincipalAuthorization -Identity <app> -Resource <mailbox>` lists every RBAC
//!   for Applications role the app holds with `InScope` for the mailbox;
//! - `Test-ApplicationAccessPolicy -Identity <mailbox> -AppId <app>` says whether the
//!   Application Access Policies let the app's Entra permissions reach the mailbox
//!   (`AccessCheckResult` `Granted` / `Denied`). It judges the policies only: an app holding
//!   no permission is `Granted` when no policy names it.
//!
//! Each answer is compared with the model's answer to the same question: whether one of the
//! app's RBAC assignments covers the mailbox, and whether its policies let it through. Where
//! the model cannot decide (group members not exported, a management scope's recipient filter
//! on attributes the export lacks), its answer is [`Answer::Unknown`] with the reason.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{
    AccessPolicy, AccessRight, CasMailbox, Exchange, Group, RbacScope, RoleAssignment, ScopeTarget,
};
use crate::model::id::norm;
use crate::snapshot::RawAuthorizationTest;
use crate::snapshot::exchange::{EnumText, InScope};

/// `$expand=members` returns at most this many members: a list this long without a count
/// may be cut short.
const EXPAND_LIMIT: usize = 20;

/// A yes/no answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", content = "because", rename_all = "snake_case")]
pub enum Answer {
    Yes(String),
    No(String),
    Unknown(String),
}

impl Answer {
    /// `Some(true)` / `Some(false)`, or `None` when unknown.
    pub fn decided(&self) -> Option<bool> {
        match self {
            Answer::Yes(_) => Some(true),
            Answer::No(_) => Some(false),
            Answer::Unknown(_) => None,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Answer::Yes(r) | Answer::No(r) | Answer::Unknown(r) => r,
        }
    }
}

/// One authority's answer for a pair: Exchange's and the model's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comparison {
    pub exchange: Answer,
    pub model: Answer,
}

impl Comparison {
    /// Both answered, differently.
    pub fn disagrees(&self) -> bool {
        matches!(
            (self.exchange.decided(), self.model.decided()),
            (Some(a), Some(b)) if a != b
        )
    }
}

/// A tested (app, mailbox) pair: what each authority answered and what the model says.
/// `None` = that cmdlet's answer is not in the export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// The mailbox as the test named it.
    pub mailbox: String,
    /// RBAC for Applications: Test-ServicePrincipalAuthorization.
    #[serde(default)]
    pub rbac: Option<Comparison>,
    /// Application Access Policies: Test-ApplicationAccessPolicy.
    #[serde(default)]
    pub policy: Option<Comparison>,
}

/// The authorities a pair is tested for, as messages name them, with the words for their
/// yes and no.
pub const AUTHORITIES: [(&str, &str, &str); 2] = [
    ("RBAC for Applications", "in scope", "not in scope"),
    ("Application Access Policies", "granted", "denied"),
];

impl Verification {
    /// Each authority's comparison, in [`AUTHORITIES`] order (`None`: not tested).
    pub fn comparisons(&self) -> [Option<&Comparison>; 2] {
        [self.rbac.as_ref(), self.policy.as_ref()]
    }
}

/// A role row of Test-ServicePrincipalAuthorization.
#[derive(Debug, Clone)]
struct RoleTest {
    role: String,
    scope: Option<String>,
    in_scope: Option<InScope>,
}

/// Exchange's answers for one (app, mailbox) pair, from the export's rows.
#[derive(Debug, Clone, Default)]
struct Pair {
    mailbox: String,
    /// `Some(empty)` = tested and the app holds no role.
    roles: Option<Vec<RoleTest>>,
    /// AccessCheckResult of each row (several rows may repeat it).
    policy: Vec<String>,
}

/// `exchange/authorizationTests.json`, grouped by app and mailbox.
#[derive(Debug, Default)]
pub struct AuthorizationTests {
    pairs: Vec<Pair>,
    by_app: HashMap<String, Vec<usize>>,
}

impl AuthorizationTests {
    pub fn new(rows: &[RawAuthorizationTest]) -> Self {
        let mut tests = AuthorizationTests::default();
        let mut index: HashMap<(String, String), usize> = HashMap::new();
        for row in rows {
            let (Some(app), Some(mailbox)) = (row.app_id.as_deref(), row.mailbox.as_deref()) else {
                continue; // the loader refuses such rows (Required)
            };
            let key = (norm(app), mailbox.trim().to_ascii_lowercase());
            let i = *index.entry(key.clone()).or_insert_with(|| {
                tests.pairs.push(Pair {
                    mailbox: mailbox.trim().to_string(),
                    ..Pair::default()
                });
                tests
                    .by_app
                    .entry(key.0)
                    .or_default()
                    .push(tests.pairs.len() - 1);
                tests.pairs.len() - 1
            });
            let pair = &mut tests.pairs[i];
            if row.role_name.is_some() || row.in_scope.is_some() {
                let roles = pair.roles.get_or_insert_with(Vec::new);
                // `RoleName` null without `InScope` says the app holds no role; a row with
                // `InScope` answers for a role even when its name was not exported.
                if row.in_scope.is_some() || matches!(row.role_name, Some(Some(_))) {
                    roles.push(RoleTest {
                        role: match &row.role_name {
                            Some(Some(role)) => role.clone(),
                            _ => "(role name not exported)".into(),
                        },
                        scope: row.allowed_resource_scope.clone(),
                        in_scope: row.in_scope.clone(),
                    });
                }
            }
            if let Some(result) = &row.access_check_result {
                pair.policy.push(match result {
                    EnumText::Text(t) => t.trim().to_string(),
                    EnumText::Number(n) => format!("#{n}"),
                });
            }
        }
        tests
    }

    /// App ids (lowercase) with tested pairs.
    pub fn app_ids(&self) -> impl Iterator<Item = &str> {
        self.by_app.keys().map(String::as_str)
    }

    fn pairs_of(&self, app_id: &str) -> impl Iterator<Item = &Pair> {
        self.by_app
            .get(app_id)
            .into_iter()
            .flatten()
            .map(|&i| &self.pairs[i])
    }
}

/// What the model knows about one app's Exchange scoping.
pub struct AppScoping<'a> {
    pub app_id: &'a str,
    /// The policies naming the app (or every app); `Err` says why they were not exported.
    pub policies: Result<Vec<&'a AccessPolicy>, String>,
    /// The app's RBAC for Applications assignments; `Err` says why they were not exported.
    pub assignments: Result<Vec<&'a RoleAssignment>, String>,
    /// Whether a role is an application role.
    pub is_application_role: &'a dyn Fn(&str) -> bool,
}

/// The app's tested pairs, each with Exchange's and the model's answers.
pub fn verifications(exchange: &Exchange, app: AppScoping<'_>) -> Vec<Verification> {
    let Some(tests) = &exchange.authorization_tests else {
        return Vec::new();
    };
    tests
        .pairs_of(app.app_id)
        .map(|pair| {
            let target = Target::new(&pair.mailbox, exchange);
            Verification {
                mailbox: pair.mailbox.clone(),
                rbac: pair.roles.as_ref().map(|roles| Comparison {
                    exchange: exchange_rbac(roles),
                    model: model_rbac(&app, &target, exchange),
                }),
                policy: (!pair.policy.is_empty()).then(|| Comparison {
                    exchange: exchange_policy(&pair.policy),
                    model: model_policy(&app, &target, exchange),
                }),
            }
        })
        .collect()
}

fn exchange_rbac(roles: &[RoleTest]) -> Answer {
    if roles.is_empty() {
        return Answer::No("the app holds no RBAC for Applications role".into());
    }
    let describe = |r: &RoleTest| match &r.scope {
        Some(scope) => format!("{} (scope {scope})", r.role),
        None => r.role.clone(),
    };
    if let Some(r) = roles.iter().find(|r| r.in_scope == Some(InScope::Yes)) {
        return Answer::Yes(format!("{} is InScope", describe(r)));
    }
    if let Some(r) = roles
        .iter()
        .find(|r| !matches!(r.in_scope, Some(InScope::No)))
    {
        let shown = match &r.in_scope {
            Some(InScope::Other(t)) => t.clone(),
            _ => "absent".into(),
        };
        return Answer::Unknown(format!(
            "InScope of {} is {shown}: run the test with -Resource <mailbox>",
            describe(r)
        ));
    }
    Answer::No(format!(
        "no role is InScope ({})",
        roles.iter().map(describe).collect::<Vec<_>>().join(", ")
    ))
}

fn exchange_policy(results: &[String]) -> Answer {
    let granted = results.iter().all(|r| r.eq_ignore_ascii_case("Granted"));
    let denied = results.iter().all(|r| r.eq_ignore_ascii_case("Denied"));
    match (granted, denied) {
        (true, _) => Answer::Yes("AccessCheckResult Granted".into()),
        (_, true) => Answer::No("AccessCheckResult Denied".into()),
        _ if results.iter().any(|r| r.starts_with('#')) => Answer::Unknown(format!(
            "AccessCheckResult {} is a number: export with ConvertTo-Json -EnumsAsStrings",
            results.join(", ")
        )),
        _ => Answer::Unknown(format!(
            "AccessCheckResult {} is neither Granted nor Denied throughout",
            results.join(", ")
        )),
    }
}

/// The tested mailbox, by every key a scope may match it with (lowercase).
struct Target {
    label: String,
    keys: Vec<String>,
}

impl Target {
    fn new(named: &str, exchange: &Exchange) -> Self {
        let mut keys = vec![named.trim().to_ascii_lowercase()];
        if let Some(m) = exchange.find_mailbox(named) {
            keys.extend(m.keys().map(str::to_ascii_lowercase));
        }
        keys.sort();
        keys.dedup();
        Target {
            label: named.trim().to_string(),
            keys,
        }
    }

    fn is(&self, value: Option<&str>) -> bool {
        value.is_some_and(|v| self.keys.iter().any(|k| k.eq_ignore_ascii_case(v.trim())))
    }

    fn is_mailbox(&self, m: &CasMailbox) -> bool {
        m.keys().any(|k| self.is(Some(k)))
    }

    /// Whether the mailbox is a direct member of `group`, as far as the export shows.
    fn in_group(&self, group: &Group) -> Answer {
        let name = group.label();
        let Some(members) = &group.members else {
            return Answer::Unknown(format!(
                "groups.json has no members of {name}: export them with GET /groups/{{id}}/members (m365audit collect --verify-mailbox does)"
            ));
        };
        if members.iter().any(|m| {
            self.is(m.id.as_deref()) || self.is(m.mail.as_deref()) || self.is(m.upn.as_deref())
        }) {
            return Answer::Yes(format!("{} is a member of {name}", self.label));
        }
        let cut = match group.listed_count {
            Some(count) => count > members.len() as u64,
            None => members.len() == EXPAND_LIMIT,
        };
        if cut {
            return Answer::Unknown(format!(
                "groups.json lists {} members of {name}, which may not be all ($expand=members returns at most {EXPAND_LIMIT}): export GET /groups/{{id}}/members",
                members.len()
            ));
        }
        if let Some(nested) = members.iter().find(|m| m.is_group()) {
            return Answer::Unknown(format!(
                "{} is not a direct member of {name}, which holds the group {}; nested members are not exported",
                self.label,
                nested
                    .mail
                    .as_deref()
                    .or(nested.id.as_deref())
                    .unwrap_or("(unnamed)")
            ));
        }
        Answer::No(format!("{} is not a member of {name}", self.label))
    }
}

/// Whether one of the app's RBAC for Applications assignments covers the mailbox.
fn model_rbac(app: &AppScoping<'_>, target: &Target, exchange: &Exchange) -> Answer {
    let assignments = match &app.assignments {
        Ok(list) => list,
        Err(why) => return Answer::Unknown(why.clone()),
    };
    let mut unknown = None;
    let mut covering = Vec::new();
    for a in assignments.iter().filter(|a| a.is_enabled()) {
        let Some(role) = a.role.as_deref() else {
            continue;
        };
        if !(app.is_application_role)(role) {
            continue;
        }
        covering.push(format!("{role} ({})", a.scope.label()));
        let answer = match &a.scope {
            RbacScope::Organization => Answer::Yes("the whole organization".into()),
            RbacScope::Group { name } => match exchange.find_group(name) {
                Some(group) => target.in_group(group),
                None => Answer::Unknown(format!("group {name} is not in groups.json")),
            },
            RbacScope::ManagementScope { name, filter } => match filter {
                Some(f) => match member_of_group(f) {
                    Some(group) => match exchange.find_group(&group) {
                        Some(g) => target.in_group(g),
                        None => Answer::Unknown(format!(
                            "management scope {name} holds the members of group {group}, which is not in groups.json"
                        )),
                    },
                    None => Answer::Unknown(format!(
                        "management scope {name} has the recipient filter {f}, on recipient attributes the export does not hold"
                    )),
                },
                None => Answer::Unknown(format!(
                    "management scope {name} is not in managementScopes.json"
                )),
            },
            RbacScope::AdministrativeUnit { name } => Answer::Unknown(format!(
                "the members of administrative unit {name} are not exported"
            )),
            RbacScope::Other { value } => {
                Answer::Unknown(format!("write scope {value} is not interpreted"))
            }
        };
        match answer {
            Answer::Yes(why) => {
                return Answer::Yes(format!("assignment {} ({role}): {why}", a.label()));
            }
            Answer::Unknown(why) => {
                unknown.get_or_insert(format!("assignment {} ({role}): {why}", a.label()));
            }
            Answer::No(_) => {}
        }
    }
    match unknown {
        Some(why) => Answer::Unknown(why),
        None if covering.is_empty() => {
            Answer::No("the app has no RBAC for Applications assignment".into())
        }
        None => Answer::No(format!(
            "no assignment's scope holds {}: {}",
            target.label,
            covering.join(", ")
        )),
    }
}

/// The group a recipient filter of the one form the model evaluates names:
/// `MemberOfGroup -eq '<distinguished name>'`, the scope vendor guides and Microsoft's examples
/// build for RBAC for Applications. The group is the DN's first `CN=` (commas in it escaped
/// as `\,`). Any other filter gives `None`.
fn member_of_group(filter: &str) -> Option<String> {
    let f = filter.trim();
    let f = f
        .strip_prefix('(')
        .and_then(|f| f.strip_suffix(')'))
        .unwrap_or(f)
        .trim();
    let (attribute, rest) = f.split_once(char::is_whitespace)?;
    let (op, value) = rest.trim_start().split_once(char::is_whitespace)?;
    if !attribute.eq_ignore_ascii_case("MemberOfGroup") || !op.eq_ignore_ascii_case("-eq") {
        return None;
    }
    let value = value.trim();
    let quote = value.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let dn = value.strip_prefix(quote)?.strip_suffix(quote)?;
    if dn.contains(quote) {
        return None; // more than one value: not the single clause this reads
    }
    let cn = dn.get(..3).filter(|p| p.eq_ignore_ascii_case("CN="))?;
    let mut name = String::new();
    let mut chars = dn[cn.len()..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.push(chars.next()?),
            ',' => break,
            c => name.push(c),
        }
    }
    (!name.is_empty()).then_some(name)
}

/// Whether the app's Application Access Policies let its Entra permissions reach the
/// mailbox: a DenyAccess policy covering it wins; with RestrictAccess policies one of them
/// must cover it.
fn model_policy(app: &AppScoping<'_>, target: &Target, exchange: &Exchange) -> Answer {
    let policies = match &app.policies {
        Ok(list) => list,
        Err(why) => return Answer::Unknown(why.clone()),
    };
    let covers = |p: &AccessPolicy| match &p.scope {
        ScopeTarget::Group(i, _) => match exchange.groups.as_ref().and_then(|g| g.get(*i)) {
            Some(group) => target.in_group(group),
            None => Answer::Unknown(format!("scope {} is unknown", p.scope_label())),
        },
        ScopeTarget::Mailbox(i, _) => {
            match exchange.cas_mailboxes.as_ref().and_then(|m| m.get(*i)) {
                Some(m) if target.is_mailbox(m) => {
                    Answer::Yes(format!("{} is the scope", m.label()))
                }
                Some(m) => Answer::No(format!("the scope is the mailbox {}", m.label())),
                None => Answer::Unknown(format!("scope {} is unknown", p.scope_label())),
            }
        }
        ScopeTarget::NotFound => Answer::Unknown(format!(
            "scope {} is neither a group in groups.json nor a mailbox in casMailboxes.json",
            p.scope_label()
        )),
        ScopeTarget::Unknown(why) => Answer::Unknown(why.clone()),
    };
    let mut unknown: Option<String> = None;
    let mut restricts = Vec::new();
    for p in policies {
        match &p.access_right {
            Ok(AccessRight::DenyAccess) => match covers(p) {
                Answer::Yes(why) => {
                    return Answer::No(format!(
                        "DenyAccess policy on {} covers it: {why}",
                        p.scope_label()
                    ));
                }
                Answer::Unknown(why) => {
                    unknown
                        .get_or_insert(format!("DenyAccess policy on {}: {why}", p.scope_label()));
                }
                Answer::No(_) => {}
            },
            Ok(AccessRight::RestrictAccess) => restricts.push(*p),
            Err(raw) => {
                return Answer::Unknown(format!(
                    "policy {} has AccessRight {raw}, neither RestrictAccess nor DenyAccess",
                    p.label()
                ));
            }
        }
    }
    if let Some(why) = unknown {
        return Answer::Unknown(why);
    }
    if restricts.is_empty() {
        return Answer::Yes(if policies.is_empty() {
            "no Application Access Policy names the app".into()
        } else {
            "no DenyAccess policy covers it, and none restricts the app".into()
        });
    }
    for p in &restricts {
        match covers(p) {
            Answer::Yes(why) => {
                return Answer::Yes(format!(
                    "RestrictAccess policy on {} covers it: {why}",
                    p.scope_label()
                ));
            }
            Answer::Unknown(why) => {
                unknown.get_or_insert(format!(
                    "RestrictAccess policy on {}: {why}",
                    p.scope_label()
                ));
            }
            Answer::No(_) => {}
        }
    }
    match unknown {
        Some(why) => Answer::Unknown(why),
        None => Answer::No(format!(
            "{} is in no RestrictAccess scope of the app ({})",
            target.label,
            restricts
                .iter()
                .map(|p| p.scope_label())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // The builder, by the parent's re-export: tests make groups the way exports do.
    use super::super::*;
    use crate::snapshot::{ExchangeSnapshot, Part, RawGroup};
    use serde_json::json;

    /// The Exchange part built from groups given as Graph JSON (and nothing else).
    fn exchange(groups: serde_json::Value) -> Exchange {
        let groups: Vec<RawGroup> = serde_json::from_value(groups).unwrap();
        build(
            &ExchangeSnapshot::missing("not here"),
            &Part::Collected(groups),
        )
    }

    fn user(mail: &str) -> serde_json::Value {
        json!({"@odata.type": "#microsoft.graph.user", "id": format!("id-{mail}"), "mail": mail})
    }

    fn in_group(x: &Exchange, mailbox: &str) -> Answer {
        Target::new(mailbox, x).in_group(&x.groups.as_ref().unwrap()[0])
    }

    #[test]
    fn direct_members_decide_and_a_cut_list_does_not() {
        let x = exchange(
            json!([{"id": "g", "displayName": "Sales", "members": [user("a@x"), user("b@x")]}]),
        );
        assert!(matches!(in_group(&x, "A@X"), Answer::Yes(_)));
        assert!(matches!(in_group(&x, "c@x"), Answer::No(_)));
        // Graph PowerShell puts all but Id under AdditionalProperties.
        let x = exchange(json!([{"id": "g", "displayName": "Sales", "members": [
            {"Id": "u1", "AdditionalProperties": {"@odata.type": "#microsoft.graph.user", "mail": "a@x"}}
        ]}]));
        assert!(matches!(in_group(&x, "a@x"), Answer::Yes(_)));
        // Fewer members than the count says, or exactly what $expand returns at most.
        let x = exchange(
            json!([{"id": "g", "displayName": "Sales", "memberCount": 3, "members": [user("a@x")]}]),
        );
        assert!(matches!(in_group(&x, "c@x"), Answer::Unknown(r) if r.contains("may not be all")));
        let twenty: Vec<_> = (0..EXPAND_LIMIT)
            .map(|i| user(&format!("u{i}@x")))
            .collect();
        let x = exchange(json!([{"id": "g", "displayName": "Sales", "members": twenty}]));
        assert!(matches!(in_group(&x, "u3@x"), Answer::Yes(_)));
        assert!(matches!(in_group(&x, "c@x"), Answer::Unknown(_)));
        // A nested group's members are not exported: not a member here decides nothing.
        let x = exchange(json!([{"id": "g", "displayName": "Sales", "members": [
            user("a@x"), {"@odata.type": "#microsoft.graph.group", "id": "g2", "mail": "team@x"}
        ]}]));
        assert!(matches!(in_group(&x, "c@x"), Answer::Unknown(r) if r.contains("team@x")));
        // No members exported at all.
        let x = exchange(json!([{"id": "g", "displayName": "Sales", "memberCount": 2}]));
        assert!(matches!(in_group(&x, "a@x"), Answer::Unknown(r) if r.contains("/members")));
    }

    #[test]
    fn member_of_group_filters_name_their_group() {
        let dn = "CN=Contact Center Mailboxes,OU=contoso.onmicrosoft.com,DC=prod,DC=outlook,DC=com";
        for f in [
            format!("MemberOfGroup -eq '{dn}'"),
            format!("(memberofgroup  -EQ \"{dn}\")"),
        ] {
            assert_eq!(
                member_of_group(&f).as_deref(),
                Some("Contact Center Mailboxes"),
                "{f}"
            );
        }
        assert_eq!(
            member_of_group(r"MemberOfGroup -eq 'CN=Sales\, EMEA,OU=x'").as_deref(),
            Some("Sales, EMEA")
        );
        for other in [
            "Department -eq 'Finance'",
            "MemberOfGroup -ne 'CN=A,OU=x'",
            "MemberOfGroup -eq 'CN=A,OU=x' -or MemberOfGroup -eq 'CN=B,OU=x'",
            "MemberOfGroup -eq 'OU=x'",
        ] {
            assert_eq!(member_of_group(other), None, "{other}");
        }
    }

    #[test]
    fn exchange_answers_are_read_from_either_spelling() {
        let rows: Vec<RawAuthorizationTest> = serde_json::from_value(json!([
            {"AppId": "APP", "Mailbox": "a@x", "RoleName": "Application Mail.Read", "InScope": "True"},
            {"AppId": "app", "Mailbox": "A@X", "RoleName": "Application Mail.Send", "InScope": false},
            {"appId": "app", "mailbox": "a@x", "accessCheckResult": "Denied"},
            {"AppId": "app", "Mailbox": "b@x", "RoleName": null},
            {"AppId": "app", "Mailbox": "c@x", "RoleName": "Application Mail.Read", "InScope": "Not Run"},
        ]))
        .unwrap();
        let tests = AuthorizationTests::new(&rows);
        let pairs: Vec<&Pair> = tests.pairs_of("app").collect();
        assert_eq!(
            pairs.len(),
            3,
            "rows are grouped by app and mailbox, case-insensitively"
        );
        assert!(
            matches!(exchange_rbac(pairs[0].roles.as_ref().unwrap()), Answer::Yes(r) if r.contains("Mail.Read"))
        );
        assert!(matches!(exchange_policy(&pairs[0].policy), Answer::No(_)));
        assert!(
            matches!(exchange_rbac(pairs[1].roles.as_ref().unwrap()), Answer::No(r) if r.contains("no RBAC"))
        );
        assert!(
            matches!(exchange_rbac(pairs[2].roles.as_ref().unwrap()), Answer::Unknown(r) if r.contains("Not Run"))
        );
        assert!(
            matches!(exchange_policy(&["#1".into()]), Answer::Unknown(r) if r.contains("EnumsAsStrings"))
        );
    }
}
