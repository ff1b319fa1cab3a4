//! The action plan: one row per app with failing findings, ranked by a risk score whose every
//! point is explained, with the steps that fix it in the order to take them.
//!
//! [`Facts::of`] sums up an app (reach, permission power, credentials, owner);
//! [`build`] attributes the findings of a scan to apps, scores each app and merges its
//! findings' `[plan]` steps. Waived findings count for nothing; findings about the tenant, or
//! about an Exchange object or mailbox that names no app of the scan, make one row per tenant
//! ranked by their severities alone.
//!
//! The score is the sum of integer points (the README's "Action plan" section has the table):
//!
//! | factor | points |
//! |---|---|
//! | reach | all mailboxes (or a tenant-takeover permission) 40, all but some 35, delegated consent for all users 30, unknown 25, scoped 15, delegated consent by some users 10, none 0 |
//! | power | write, send or full access 20, read 10 |
//! | credential | live client secret 15, live certificate 5; a live credential 365 days old or more +5 |
//! | owner | another organization, publisher not verified 15; unknown 10; another organization, verified 5; this tenant or Microsoft 0 |
//! | unused | USAGE-001 found the app unused: 15 |
//! | findings | critical 10, high 6, medium 3, low 1, info 0; at most 20 |

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::RuleSet;
use crate::engine::rule::{CommandTarget, PLACEHOLDERS, placeholders};
use crate::finding::{Finding, Organization, OrganizationKind, Outcome, Severity, SubjectKind};
use crate::model::consent::{Consent, mail_consents};
use crate::model::{App, AppKind, Catalog, Credential, CredentialKind, PermissionClass, Reach};

/// How far an app reaches mailboxes: the wider of its app-only reach and its delegated mail
/// consent. Ordered from narrowest to widest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Breadth {
    /// No mailbox access in force.
    None,
    /// Delegated mailbox scopes some users consented to.
    UserConsent,
    /// App-only access scoped to some mailboxes.
    Scoped,
    /// App-only access whose reach the input does not show.
    Unknown,
    /// Delegated mailbox scopes an administrator consented to for all users.
    AdminConsent,
    /// App-only access to every mailbox but some.
    AllExcept,
    /// App-only access to every mailbox.
    All,
    /// A tenant-takeover permission (the `privileged-directory` class, e.g. Graph
    /// Directory.ReadWrite.All): the app can grant itself any mailbox permission.
    Takeover,
}

impl Breadth {
    pub fn points(self) -> u32 {
        match self {
            Breadth::All | Breadth::Takeover => 40,
            Breadth::AllExcept => 35,
            Breadth::AdminConsent => 30,
            Breadth::Unknown => 25,
            Breadth::Scoped => 15,
            Breadth::UserConsent => 10,
            Breadth::None => 0,
        }
    }

    /// The factor's short text.
    pub fn label(self) -> &'static str {
        match self {
            Breadth::Takeover => "tenant takeover",
            Breadth::All => "reach all mailboxes",
            Breadth::AllExcept => "reach all but some",
            Breadth::AdminConsent => "consent for all users",
            Breadth::Unknown => "reach unknown",
            Breadth::Scoped => "reach scoped",
            Breadth::UserConsent => "consent by users",
            Breadth::None => "no mailbox reach",
        }
    }
}

/// What the app may do in the mailboxes it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Power {
    None,
    /// Read only (`*.Read`, `*.ReadBasic`).
    Read,
    /// Change, send or open the whole mailbox (`*.ReadWrite`, `Mail.Send`,
    /// `full_access_as_app`, `EWS.AccessAsApp`, the protocols' `AccessAsUser.All`).
    Write,
}

impl Power {
    pub fn points(self) -> u32 {
        match self {
            Power::Write => 20,
            Power::Read => 10,
            Power::None => 0,
        }
    }

    /// The power a mailbox permission value gives.
    pub fn of_value(value: &str) -> Power {
        let v = value.to_ascii_lowercase();
        let writes = [
            "readwrite",
            "send",
            "full_access",
            "accessas",
            "importexport",
            "manage",
        ];
        if writes.iter().any(|w| v.contains(w)) {
            Power::Write
        } else {
            Power::Read
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Power::Write => "write/send",
            Power::Read => "read",
            Power::None => "no mailbox power",
        }
    }
}

/// The app's credentials that can sign it in on the audit date: its registration's, and
/// those added to its service principal (SAML signing certificates left out: they sign
/// tokens, they do not sign in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Credentials {
    /// Live client secrets (and symmetric keys, which are secrets too).
    pub live_secrets: usize,
    /// Live certificates and other key credentials.
    pub live_certificates: usize,
    /// Age in days, on the audit date, of the oldest live credential with a start date.
    pub oldest_live_days: Option<i64>,
    /// Whether the input lists the credentials at all.
    pub known: bool,
}

/// A live credential this many days old or more adds [`OLD_CREDENTIAL_POINTS`].
pub const OLD_CREDENTIAL_DAYS: i64 = 365;
pub const OLD_CREDENTIAL_POINTS: u32 = 5;
/// What USAGE-001 (an unused mail app) adds: removing the app is the cheapest fix.
pub const UNUSED_POINTS: u32 = 15;
/// The most the findings' severities add.
pub const FINDINGS_CAP: u32 = 20;
/// The check kind whose failing findings mark an app unused.
pub const UNUSED_KIND: &str = "unused-mail-app";

impl Credentials {
    fn of(app: &App, as_of: DateTime<Utc>) -> Credentials {
        let live =
            |c: &&Credential| c.start.is_none_or(|s| s <= as_of) && c.end.is_none_or(|e| e > as_of);
        let mut own: Vec<&Credential> = app.credentials().collect();
        if let Some(sp) = app.enterprise_app() {
            own.extend(
                sp.credential_sets()
                    .into_iter()
                    .filter_map(|set| match set {
                        crate::model::CredentialSet::Single(c) => Some(c),
                        crate::model::CredentialSet::SamlSigning { .. } => None,
                    }),
            );
        }
        let live: Vec<&Credential> = own.into_iter().filter(live).collect();
        let is_secret = |c: &&&Credential| {
            matches!(
                c.kind,
                CredentialKind::Secret | CredentialKind::SymmetricKey
            )
        };
        Credentials {
            live_secrets: live.iter().filter(is_secret).count(),
            live_certificates: live.iter().filter(|c| !is_secret(c)).count(),
            oldest_live_days: live
                .iter()
                .filter_map(|c| c.start)
                .min()
                .map(|start| (as_of - start).num_days()),
            known: app.credentials_known()
                || app
                    .enterprise_app()
                    .is_some_and(|sp| sp.credentials_known()),
        }
    }

    /// The credential factor: the strongest kind of live credential.
    fn kind_points(&self) -> (u32, &'static str) {
        if self.live_secrets > 0 {
            (15, "secret")
        } else if self.live_certificates > 0 {
            (5, "certificate")
        } else {
            (0, "no live credential")
        }
    }
}

/// What the plan needs to know about one app: who it is and what makes it risky. Owned and
/// small, so a report can keep it after the tenant is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The index of the scanned source the app is in.
    pub source: usize,
    pub kind: AppKind,
    /// Display name, else app id, else object id.
    pub name: String,
    pub app_id: Option<String>,
    /// The application object's id (app registrations).
    pub object_id: Option<String>,
    /// The service principal's object id, when the tenant has one.
    pub sp_object_id: Option<String>,
    pub organization: Organization,
    pub breadth: Breadth,
    /// The reach in words: "all mailboxes except Executives", "delegated consent for all users".
    pub reach: String,
    pub power: Power,
    pub credentials: Credentials,
}

impl Facts {
    /// The app's facts on the audit date (the source is 0; see [`Facts::in_source`]).
    pub fn of(app: &App, as_of: DateTime<Utc>, catalog: &Catalog) -> Facts {
        let access = &app.mailbox_access;
        let in_force: Vec<&crate::model::AccessPath> = access
            .paths
            .iter()
            .filter(|p| p.is_granted() != Some(false))
            .collect();
        let overall = access.overall();
        let app_only = match &overall {
            Reach::AllMailboxes => Breadth::All,
            Reach::AllExcept { .. } => Breadth::AllExcept,
            Reach::Unknown { .. } => Breadth::Unknown,
            Reach::ScopedTo { .. } => Breadth::Scoped,
            Reach::NotGranted => Breadth::None,
        };
        let consents = mail_consents(app, catalog).unwrap_or_default();
        // A grant of unknown consent type may be for everyone: it counts as admin consent.
        let for_all = consents.iter().any(|c| c.consent != Some(Consent::OneUser));
        let users: std::collections::BTreeSet<&str> = consents
            .iter()
            .filter(|c| c.consent == Some(Consent::OneUser))
            .filter_map(|c| c.grant.principal_id.as_deref())
            .collect();
        let delegated = if for_all {
            Breadth::AdminConsent
        } else if !consents.is_empty() {
            Breadth::UserConsent
        } else {
            Breadth::None
        };
        let takeover: Vec<String> = app
            .granted_app_roles
            .iter()
            .flatten()
            .filter(|p| p.has_class(PermissionClass::PrivilegedDirectory))
            .map(|p| p.label())
            .collect();
        let breadth = if takeover.is_empty() {
            app_only.max(delegated)
        } else {
            Breadth::Takeover
        };
        let reach = if breadth == Breadth::Takeover {
            format!(
                "every mailbox, by granting itself any permission ({})",
                takeover.join(", ")
            )
        } else if breadth == Breadth::None {
            "no mailbox access".to_string()
        } else if app_only >= delegated {
            overall.describe()
        } else if for_all {
            "delegated mail consent for all users".to_string()
        } else {
            format!("delegated mail consent by {} user(s)", users.len().max(1))
        };
        let power = in_force
            .iter()
            .map(|p| {
                // An application role the catalogue does not know still reaches mail.
                p.values
                    .iter()
                    .map(|v| Power::of_value(v))
                    .max()
                    .unwrap_or(Power::Read)
            })
            .chain(
                consents
                    .iter()
                    .flat_map(|c| c.scopes.iter().map(|s| Power::of_value(s))),
            )
            .max()
            .unwrap_or(Power::None);
        let power = if takeover.is_empty() {
            power
        } else {
            Power::Write
        };
        Facts {
            source: 0,
            kind: app.kind,
            name: app.name().to_string(),
            app_id: app.app_id.clone(),
            object_id: app.object_id.clone(),
            sp_object_id: app.enterprise_app().and_then(|sp| sp.object_id.clone()),
            organization: app.organization.clone(),
            breadth,
            reach,
            power,
            credentials: Credentials::of(app, as_of),
        }
    }

    /// The same facts, for an app of source `source`.
    pub fn in_source(mut self, source: usize) -> Facts {
        self.source = source;
        self
    }
}

/// One term of a row's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Factor {
    /// `reach`, `power`, `credential`, `credential_age`, `owner`, `unused` or `findings`.
    pub name: &'static str,
    pub points: u32,
    /// The short text a table shows: "reach all mailboxes", "secret", "findings".
    pub why: String,
    /// The longer explanation: the reach in words, the credential's age, the severities.
    pub detail: String,
}

/// Points per failing finding of each severity, before [`FINDINGS_CAP`].
pub fn severity_points(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 10,
        Severity::High => 6,
        Severity::Medium => 3,
        Severity::Low => 1,
        Severity::Info => 0,
    }
}

/// The owner factor: whose app it is.
fn owner_points(org: &Organization) -> (u32, &'static str, String) {
    match (org.kind, org.verified) {
        (OrganizationKind::Other, Some(true)) => (5, "other org verified", org.describe()),
        (OrganizationKind::Other, _) => (15, "other org unverified", org.describe()),
        (OrganizationKind::Unknown, _) => (10, "owner unknown", org.describe()),
        (OrganizationKind::ThisTenant | OrganizationKind::Microsoft, _) => {
            (0, "own or Microsoft app", org.describe())
        }
    }
}

/// The findings factor: severity points, capped.
fn findings_factor(severities: &[Severity]) -> Factor {
    let raw: u32 = severities.iter().map(|s| severity_points(*s)).sum();
    let mut counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| {
            let n = severities.iter().filter(|s| *s == sev).count();
            (n > 0).then(|| format!("{n} {sev}"))
        })
        .collect();
    if raw > FINDINGS_CAP {
        counts.push(format!("{raw} points, capped at {FINDINGS_CAP}"));
    }
    Factor {
        name: "findings",
        points: raw.min(FINDINGS_CAP),
        why: "findings".into(),
        detail: counts.join(", "),
    }
}

/// The factors of an app's score (those worth no points left out): `unused` when USAGE-001
/// found it unused, `severities` those of its failing, unwaived findings.
pub fn app_factors(facts: &Facts, unused: bool, severities: &[Severity]) -> Vec<Factor> {
    let mut factors = Vec::new();
    let mut add = |name: &'static str, points: u32, why: &str, detail: String| {
        if points > 0 {
            factors.push(Factor {
                name,
                points,
                why: why.to_string(),
                detail,
            });
        }
    };
    add(
        "reach",
        facts.breadth.points(),
        facts.breadth.label(),
        facts.reach.clone(),
    );
    add(
        "power",
        facts.power.points(),
        facts.power.label(),
        format!(
            "the strongest mailbox permission in force is {}",
            facts.power.label()
        ),
    );
    let c = &facts.credentials;
    let (points, kind) = c.kind_points();
    add(
        "credential",
        points,
        kind,
        format!(
            "{} live secret(s), {} live certificate(s)",
            c.live_secrets, c.live_certificates
        ),
    );
    if let Some(days) = c.oldest_live_days.filter(|d| *d >= OLD_CREDENTIAL_DAYS) {
        add(
            "credential_age",
            OLD_CREDENTIAL_POINTS,
            "old credential",
            format!("a live credential started {days} days before the audit date"),
        );
    }
    let (points, why, detail) = owner_points(&facts.organization);
    add("owner", points, why, detail);
    add(
        "unused",
        if unused { UNUSED_POINTS } else { 0 },
        "unused",
        "USAGE-001: no sign-in in the report's window; removing the app is the cheapest fix".into(),
    );
    let findings = findings_factor(severities);
    if findings.points > 0 {
        factors.push(findings);
    }
    factors
}

/// A remediation step of a row: the findings whose rules name the same step text, merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub order: u32,
    pub text: String,
    /// The rules whose failing findings the step closes, sorted.
    pub rule_ids: Vec<String>,
    /// The commands, with the findings' ids filled in (placeholders the findings do not give
    /// stay as `<app object id>` style text). A command is listed once per row, at the first
    /// step that needs it.
    pub commands: Vec<String>,
    /// The most severe finding the step closes.
    pub severity: Severity,
}

/// What a row is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    App(Box<Facts>),
    /// The tenant as a whole, and Exchange objects and mailboxes that name no app of the
    /// scan (its name, when the source gives one).
    Tenant {
        source: usize,
        name: Option<String>,
    },
}

/// One row of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1 for the first row.
    pub rank: usize,
    /// The sum of the factors' points.
    pub score: u32,
    pub target: Target,
    /// USAGE-001 found the app unused.
    pub unused: bool,
    pub factors: Vec<Factor>,
    /// In the order to take them; empty past the rows [`build`] was asked steps for.
    pub steps: Vec<Step>,
    /// Failing findings (waived ones not counted).
    pub failing: usize,
    /// Findings about the app that could not be evaluated: the plan may miss some of its risk.
    pub not_evaluated: usize,
    /// Findings about the app that a waiver accepts.
    pub waived: usize,
}

impl Row {
    pub fn name(&self) -> &str {
        match &self.target {
            Target::App(f) => &f.name,
            Target::Tenant { name, .. } => name.as_deref().unwrap_or("tenant"),
        }
    }

    pub fn facts(&self) -> Option<&Facts> {
        match &self.target {
            Target::App(f) => Some(f),
            Target::Tenant { .. } => None,
        }
    }

    pub fn source(&self) -> usize {
        match &self.target {
            Target::App(f) => f.source,
            Target::Tenant { source, .. } => *source,
        }
    }

    /// `application`, `service_principal` or `tenant`.
    pub fn kind(&self) -> &'static str {
        match &self.target {
            Target::App(f) => match f.kind {
                AppKind::Application => "application",
                AppKind::ServicePrincipal => "service_principal",
            },
            Target::Tenant { .. } => "tenant",
        }
    }
}

/// The ranked plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Highest score first.
    pub rows: Vec<Row>,
    /// Failing findings in the plan (waived ones not counted).
    pub failing: usize,
    /// Findings that could not be evaluated, in all.
    pub not_evaluated: usize,
    /// Waived findings, in all.
    pub waived: usize,
}

impl Plan {
    /// Rows about apps (not the tenant rows).
    pub fn app_rows(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.target, Target::App(_)))
            .count()
    }
}

/// Which row a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    App(usize),
    Tenant(usize),
}

/// Builds the plan from the facts of the scanned apps, the scan's findings (with waivers
/// applied) and the rules they came from. `tenants[i]` names source `i`'s tenant.
///
/// A finding belongs to the app whose app id its subject names (a finding about an app's
/// service principal, an access policy or a role assignment for it, included), else whose
/// application or service principal object id it names; every other finding belongs to its
/// source's tenant row.
///
/// Only the first `steps_for` rows (all with `None`) get their steps: ranking needs every
/// row's score, but the steps, with their commands filled in, are most of the work and a
/// caller showing the first rows of a large tenant's plan needs no more.
pub fn build(
    facts: Vec<Facts>,
    findings: &[Finding],
    rules: &RuleSet,
    tenants: &[Option<String>],
    steps_for: Option<usize>,
) -> Plan {
    // Per source, each app's ids (lowercase) → its facts. The model's ids are lowercase
    // already, so a finding's ids are looked up as they are: no string per finding.
    let mut by_id: Vec<HashMap<String, usize>> = Vec::new();
    for (i, f) in facts.iter().enumerate() {
        if by_id.len() <= f.source {
            by_id.resize_with(f.source + 1, HashMap::new);
        }
        for id in [&f.app_id, &f.object_id, &f.sp_object_id]
            .into_iter()
            .flatten()
        {
            by_id[f.source].entry(id.to_ascii_lowercase()).or_insert(i);
        }
    }
    let key_of = |f: &Finding| {
        let s = &f.subject;
        let ids = by_id.get(f.source);
        [&s.app_id, &s.object_id]
            .into_iter()
            .flatten()
            .find_map(|id| {
                let ids = ids?;
                if id.bytes().any(|b| b.is_ascii_uppercase()) {
                    ids.get(&id.to_ascii_lowercase())
                } else {
                    ids.get(id.as_str())
                }
            })
            .map_or(Key::Tenant(f.source), |&i| Key::App(i))
    };
    let mut groups: std::collections::BTreeMap<Key, Group<'_>> = Default::default();
    let mut plan = Plan::default();
    for f in findings {
        let counted = match f.outcome {
            Outcome::Fail => &mut plan.failing,
            Outcome::NotEvaluated => &mut plan.not_evaluated,
            Outcome::Waived => &mut plan.waived,
            Outcome::Pass => continue,
        };
        *counted += 1;
        let group = groups.entry(key_of(f)).or_default();
        match f.outcome {
            Outcome::Fail => group.failing.push(f),
            Outcome::NotEvaluated => group.not_evaluated += 1,
            _ => group.waived += 1,
        }
    }
    let mut facts: Vec<Option<Facts>> = facts.into_iter().map(Some).collect();
    // Each row with its failing findings, for its steps once ranked.
    let mut ranked: Vec<(Row, Vec<&Finding>)> = Vec::new();
    for (key, group) in groups {
        if group.failing.is_empty() {
            continue;
        }
        let severities: Vec<Severity> = group.failing.iter().map(|f| f.severity).collect();
        let unused = group
            .failing
            .iter()
            .any(|f| rules.rules[f.rule].kind == UNUSED_KIND);
        let (target, factors) = match key {
            Key::App(i) => {
                let Some(app) = facts.get_mut(i).and_then(Option::take) else {
                    continue;
                };
                let factors = app_factors(&app, unused, &severities);
                (Target::App(Box::new(app)), factors)
            }
            Key::Tenant(source) => {
                let factor = findings_factor(&severities);
                (
                    Target::Tenant {
                        source,
                        name: tenants.get(source).cloned().flatten(),
                    },
                    (factor.points > 0).then_some(factor).into_iter().collect(),
                )
            }
        };
        let row = Row {
            rank: 0,
            score: factors.iter().map(|f| f.points).sum(),
            unused: unused && matches!(target, Target::App(_)),
            target,
            factors,
            steps: Vec::new(),
            failing: group.failing.len(),
            not_evaluated: group.not_evaluated,
            waived: group.waived,
        };
        ranked.push((row, group.failing));
    }
    ranked.sort_by(|(a, _), (b, _)| {
        b.score
            .cmp(&a.score)
            .then(b.unused.cmp(&a.unused))
            .then_with(|| owner_rank(b).cmp(&owner_rank(a)))
            .then_with(|| a.name().cmp(b.name()))
            .then_with(|| a.source().cmp(&b.source()))
            .then_with(|| {
                let id = |r: &Row| r.facts().and_then(|f| f.app_id.clone());
                id(a).cmp(&id(b))
            })
    });
    plan.rows = ranked
        .into_iter()
        .enumerate()
        .map(|(i, (mut row, failing))| {
            row.rank = i + 1;
            if steps_for.is_none_or(|n| i < n) {
                row.steps = steps(&failing, rules, target_facts(&row.target));
            }
            row
        })
        .collect();
    plan
}

/// Among rows of equal score and usage: another organization's unverified app first,
/// Microsoft's last (the owner factor gives this tenant and Microsoft no points).
fn owner_rank(row: &Row) -> u8 {
    match row
        .facts()
        .map(|f| (f.organization.kind, f.organization.verified))
    {
        Some((OrganizationKind::Other, Some(true))) => 3,
        Some((OrganizationKind::Other, _)) => 5,
        Some((OrganizationKind::Unknown, _)) => 4,
        Some((OrganizationKind::ThisTenant, _)) => 2,
        None => 1,
        Some((OrganizationKind::Microsoft, _)) => 0,
    }
}

fn target_facts(target: &Target) -> Option<&Facts> {
    match target {
        Target::App(f) => Some(f),
        Target::Tenant { .. } => None,
    }
}

#[derive(Default)]
struct Group<'f> {
    failing: Vec<&'f Finding>,
    not_evaluated: usize,
    waived: usize,
}

/// A command rendered for one finding: complete when every placeholder had a value.
struct Rendered<'r> {
    template: &'r str,
    text: String,
    complete: bool,
}

/// The steps of a row: each finding's rule step, merged by text, in order.
fn steps(findings: &[&Finding], rules: &RuleSet, facts: Option<&Facts>) -> Vec<Step> {
    struct Draft<'r> {
        order: u32,
        text: String,
        rule_ids: std::collections::BTreeSet<&'r str>,
        commands: Vec<Rendered<'r>>,
        severity: Severity,
    }
    let mut drafts: Vec<Draft<'_>> = Vec::new();
    for f in findings {
        let rule = &rules.rules[f.rule];
        let step = rule.plan.as_ref();
        let fallback;
        let step = match step {
            Some(step) => step,
            None => {
                fallback = crate::engine::rule::PlanStep::fallback(&rule.title);
                &fallback
            }
        };
        let i = match drafts.iter().position(|d| d.text == step.step) {
            Some(i) => i,
            None => {
                drafts.push(Draft {
                    order: step.order,
                    text: step.step.clone(),
                    rule_ids: Default::default(),
                    commands: Vec::new(),
                    severity: f.severity,
                });
                drafts.len() - 1
            }
        };
        let draft = &mut drafts[i];
        draft.order = draft.order.min(step.order);
        draft.severity = draft.severity.max(f.severity);
        draft.rule_ids.insert(&rule.id);
        let evidence = f.evidence.to_map();
        if let Some(template) = rule
            .plan
            .as_ref()
            .and_then(|p| p.command_template(&targets(f, &evidence)))
        {
            let (text, complete) = render(template, f, &evidence, facts);
            draft.commands.push(Rendered {
                template,
                text,
                complete,
            });
        }
    }
    drafts.sort_by(|a, b| {
        a.order
            .cmp(&b.order)
            .then(b.severity.cmp(&a.severity))
            .then_with(|| a.text.cmp(&b.text))
    });
    // Each command is listed once, at the first step that needs it.
    let mut listed: Vec<String> = Vec::new();
    drafts
        .into_iter()
        .map(|d| {
            // A command missing a value is dropped when the same command was filled in for
            // another finding of the step.
            let mut commands: Vec<String> = Vec::new();
            for c in &d.commands {
                let filled_elsewhere = !c.complete
                    && d.commands
                        .iter()
                        .any(|o| o.complete && o.template == c.template);
                if !filled_elsewhere && !listed.contains(&c.text) {
                    listed.push(c.text.clone());
                    commands.push(c.text.clone());
                }
            }
            Step {
                order: d.order,
                text: d.text,
                rule_ids: d.rule_ids.into_iter().map(String::from).collect(),
                commands,
                severity: d.severity,
            }
        })
        .collect()
}

/// Whether the finding is about a certificate or other key credential (its evidence says
/// which kind of credential).
fn about_key_credential(evidence: &crate::finding::Evidence) -> bool {
    evidence
        .get("credential")
        .and_then(|v| v.as_str())
        .is_some_and(|kind| kind != "secret")
}

/// The `[plan.command_for]` keys that fit a finding, most specific first.
fn targets(f: &Finding, evidence: &crate::finding::Evidence) -> Vec<CommandTarget> {
    let key = about_key_credential(evidence);
    match f.subject.kind {
        SubjectKind::Application if key => vec![
            CommandTarget::ApplicationCertificate,
            CommandTarget::Application,
        ],
        SubjectKind::Application => vec![CommandTarget::Application],
        SubjectKind::ServicePrincipal if key => vec![
            CommandTarget::ServicePrincipalCertificate,
            CommandTarget::ServicePrincipal,
        ],
        SubjectKind::ServicePrincipal => vec![CommandTarget::ServicePrincipal],
        SubjectKind::RoleAssignment => vec![CommandTarget::RoleAssignment],
        SubjectKind::AccessPolicy => vec![CommandTarget::AccessPolicy],
        SubjectKind::Mailbox => vec![CommandTarget::Mailbox],
        SubjectKind::Tenant => vec![CommandTarget::Tenant],
    }
}

/// Whether a value may be pasted into a command: ids and addresses from another tenant's
/// export must not end a quoted string or start a new command. Ids are letters, digits and
/// `-`; addresses add `.`, `_`, `@` and `+`; identities (always written in double quotes)
/// may hold anything printable but quotes, `$` and backticks.
fn plain(name: &str, value: &str) -> bool {
    let ok = |c: char| match name {
        "mailbox" => c.is_ascii_alphanumeric() || "-._@+".contains(c),
        "identity" => (c.is_ascii_graphic() || c == ' ') && !"\"'`$".contains(c),
        _ => c.is_ascii_alphanumeric() || c == '-',
    };
    !value.is_empty() && value.len() <= 512 && value.chars().all(ok)
}

/// A placeholder's value for a finding, when it has one.
fn value(
    name: &str,
    f: &Finding,
    evidence: &crate::finding::Evidence,
    facts: Option<&Facts>,
) -> Option<String> {
    let s = &f.subject;
    let text = |key: &str| evidence.get(key).and_then(|v| v.as_str()).map(String::from);
    match name {
        "app_id" => s
            .app_id
            .clone()
            .or_else(|| facts.and_then(|f| f.app_id.clone())),
        "object_id" => match s.kind {
            SubjectKind::Application => s.object_id.clone(),
            _ => None,
        }
        .or_else(|| facts.and_then(|f| f.object_id.clone())),
        "sp_object_id" => match s.kind {
            SubjectKind::ServicePrincipal => s.object_id.clone(),
            _ => None,
        }
        .or_else(|| facts.and_then(|f| f.sp_object_id.clone())),
        "key_id" => text("key_id").or_else(|| {
            // CRED-005 lists the app's secrets: one secret is the one to replace.
            match evidence.get("secrets").and_then(|v| v.as_array()) {
                Some(list) if list.len() == 1 => list[0]
                    .get("key_id")
                    .and_then(|v| v.as_str())
                    .map(String::from),
                _ => None,
            }
        }),
        "mailbox" => text("mailbox").or_else(|| match s.kind {
            SubjectKind::Mailbox => s.identity.clone(),
            _ => None,
        }),
        "identity" => s.identity.clone(),
        _ => None,
    }
}

/// Fills a command template for a finding; the flag says whether every placeholder had a
/// (plain) value.
fn render(
    template: &str,
    f: &Finding,
    evidence: &crate::finding::Evidence,
    facts: Option<&Facts>,
) -> (String, bool) {
    let mut out = String::with_capacity(template.len() + 64);
    let mut complete = true;
    let mut last = 0;
    for (range, name) in placeholders(template) {
        out.push_str(&template[last..range.start]);
        match value(name, f, evidence, facts).filter(|v| plain(name, v)) {
            Some(v) => out.push_str(&v),
            None => {
                complete = false;
                let shown = PLACEHOLDERS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or("<?>", |(_, shown)| shown);
                out.push_str(shown);
            }
        }
        last = range.end;
    }
    out.push_str(&template[last..]);
    (out, complete)
}

/// The factors in one line: `reach all mailboxes +40 · secret +15 · findings +12`.
pub fn compact(factors: &[Factor]) -> String {
    factors
        .iter()
        .map(|f| format!("{} +{}", f.why, f.points))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str) -> Facts {
        Facts {
            source: 0,
            kind: AppKind::Application,
            name: name.into(),
            app_id: Some(format!("{name}-app")),
            object_id: Some(format!("{name}-object")),
            sp_object_id: Some(format!("{name}-sp")),
            organization: Organization::this_tenant(),
            breadth: Breadth::None,
            reach: "no mailbox access".into(),
            power: Power::None,
            credentials: Credentials::default(),
        }
    }

    fn score(facts: &Facts, unused: bool, severities: &[Severity]) -> u32 {
        let factors = app_factors(facts, unused, severities);
        factors.iter().map(|f| f.points).sum()
    }

    /// An unused app reaching every mailbox with a secret, from an unverified vendor, ranks
    /// above a scoped, used, certificate-holding app of this tenant, whatever their findings.
    #[test]
    fn broad_unused_secret_third_party_outranks_a_tidy_scoped_app() {
        let risky = Facts {
            breadth: Breadth::All,
            reach: "all mailboxes".into(),
            power: Power::Read,
            credentials: Credentials {
                live_secrets: 1,
                known: true,
                ..Credentials::default()
            },
            organization: Organization {
                kind: OrganizationKind::Other,
                verified: Some(false),
                ..Organization::default()
            },
            ..facts("risky")
        };
        let tidy = Facts {
            breadth: Breadth::Scoped,
            reach: "only Contact Center".into(),
            power: Power::Write,
            credentials: Credentials {
                live_certificates: 1,
                known: true,
                ..Credentials::default()
            },
            ..facts("tidy")
        };
        let risky_score = score(&risky, true, &[Severity::Low]);
        let tidy_score = score(&tidy, false, &[Severity::Critical; 5]);
        assert_eq!(risky_score, 40 + 10 + 15 + 15 + 15 + 1);
        assert_eq!(tidy_score, 15 + 20 + 5 + FINDINGS_CAP);
        assert!(risky_score > tidy_score, "{risky_score} vs {tidy_score}");
    }

    #[test]
    fn factors_sum_to_the_score_and_leave_out_zeros() {
        let f = Facts {
            breadth: Breadth::AllExcept,
            power: Power::Write,
            credentials: Credentials {
                live_secrets: 1,
                oldest_live_days: Some(700),
                known: true,
                ..Credentials::default()
            },
            ..facts("a")
        };
        let factors = app_factors(&f, false, &[Severity::High, Severity::Medium]);
        let names: Vec<&str> = factors.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            ["reach", "power", "credential", "credential_age", "findings"]
        );
        assert_eq!(
            compact(&factors),
            "reach all but some +35 · write/send +20 · secret +15 · old credential +5 · findings +9"
        );
    }

    #[test]
    fn the_findings_factor_is_capped() {
        let f = findings_factor(&[Severity::Critical; 3]);
        assert_eq!(f.points, FINDINGS_CAP);
        assert_eq!(f.detail, "3 critical, 30 points, capped at 20");
    }

    #[test]
    fn owners_rank_unverified_vendors_first() {
        let points = |kind, verified| {
            owner_points(&Organization {
                kind,
                verified,
                ..Organization::default()
            })
            .0
        };
        let unverified = points(OrganizationKind::Other, Some(false));
        let unknown = points(OrganizationKind::Unknown, None);
        let verified = points(OrganizationKind::Other, Some(true));
        let own = points(OrganizationKind::ThisTenant, None);
        assert!(unverified > unknown && unknown > verified && verified > own);
        assert_eq!(points(OrganizationKind::Microsoft, None), 0);
    }

    #[test]
    fn permission_values_have_power() {
        for write in [
            "Mail.ReadWrite",
            "Mail.Send",
            "full_access_as_app",
            "EWS.AccessAsApp",
            "EWS.AccessAsUser.All",
            "Calendars.ReadWrite.Shared",
        ] {
            assert_eq!(Power::of_value(write), Power::Write, "{write}");
        }
        for read in ["Mail.Read", "Mail.ReadBasic.All", "Calendars.Read.Shared"] {
            assert_eq!(Power::of_value(read), Power::Read, "{read}");
        }
    }

    /// A finding of the shipped rule `id` about `subject`.
    fn finding(
        rules: &RuleSet,
        id: &str,
        subject: crate::finding::Subject,
        outcome: Outcome,
        evidence: serde_json::Value,
    ) -> Finding {
        let rule = rules
            .rules
            .iter()
            .position(|r| r.id == id)
            .expect("a shipped rule");
        Finding {
            rule,
            source: 0,
            subject: std::sync::Arc::new(subject),
            item: None,
            fingerprint: String::new(),
            outcome,
            severity: rules.rules[rule].severity,
            message: "m".into(),
            evidence: crate::finding::FindingEvidence::new(
                evidence.as_object().expect("an object"),
            ),
        }
    }

    fn about(f: &Facts) -> crate::finding::Subject {
        crate::finding::Subject {
            kind: SubjectKind::Application,
            app_id: f.app_id.clone(),
            object_id: f.object_id.clone(),
            display_name: Some(f.name.clone()),
            identity: None,
            organization: Some(f.organization.clone()),
        }
    }

    #[test]
    fn build_attributes_ranks_and_leaves_waived_findings_out() {
        let rules = RuleSet::load(&[]).expect("the shipped rules");
        let unused = Facts {
            breadth: Breadth::All,
            power: Power::Write,
            ..facts("unused")
        };
        let scoped = Facts {
            breadth: Breadth::Scoped,
            ..facts("scoped")
        };
        let policy = crate::finding::Subject {
            kind: SubjectKind::AccessPolicy,
            app_id: scoped.app_id.clone(),
            identity: Some("tenant\\scoped:S-1-5;group".into()),
            ..crate::finding::Subject::named(SubjectKind::AccessPolicy, None, None)
        };
        let tenant = crate::finding::Subject::named(
            SubjectKind::Tenant,
            Some("contoso.onmicrosoft.com".into()),
            Some("contoso.onmicrosoft.com".into()),
        );
        let no_evidence = serde_json::json!({});
        let findings = vec![
            finding(
                &rules,
                "USAGE-001",
                about(&unused),
                Outcome::Fail,
                no_evidence.clone(),
            ),
            finding(
                &rules,
                "CRED-001",
                about(&unused),
                Outcome::Fail,
                serde_json::json!({"credential": "secret", "key_id": "k1"}),
            ),
            finding(
                &rules,
                "SCOPE-003",
                policy,
                Outcome::Fail,
                no_evidence.clone(),
            ),
            finding(
                &rules,
                "URI-003",
                about(&scoped),
                Outcome::Waived,
                no_evidence.clone(),
            ),
            finding(
                &rules,
                "APP-003",
                about(&scoped),
                Outcome::NotEvaluated,
                no_evidence.clone(),
            ),
            finding(
                &rules,
                "POLICY-001",
                tenant,
                Outcome::Fail,
                no_evidence.clone(),
            ),
            finding(
                &rules,
                "APP-002",
                about(&unused),
                Outcome::Pass,
                no_evidence,
            ),
        ];
        let plan = build(
            vec![scoped.clone(), unused.clone()],
            &findings,
            &rules,
            &[Some("contoso.onmicrosoft.com".into())],
            None,
        );
        let names: Vec<&str> = plan.rows.iter().map(Row::name).collect();
        assert_eq!(names, ["unused", "scoped", "contoso.onmicrosoft.com"]);
        assert_eq!((plan.failing, plan.waived, plan.not_evaluated), (4, 1, 1));
        let first = &plan.rows[0];
        assert!(first.unused);
        assert_eq!(first.rank, 1);
        assert_eq!(
            first.score,
            first.factors.iter().map(|f| f.points).sum::<u32>()
        );
        assert_eq!(first.steps[0].rule_ids, ["USAGE-001"]);
        assert_eq!(
            first.steps[0].commands,
            ["Remove-MgApplication -ApplicationId unused-object"]
        );
        assert_eq!(
            first.steps[1].commands,
            ["Remove-MgApplicationPassword -ApplicationId unused-object -KeyId k1"]
        );
        // The access policy's finding is the scoped app's; its waived and not-evaluated
        // findings are counted, not scored.
        let second = &plan.rows[1];
        assert_eq!(second.steps.len(), 1);
        assert_eq!(second.steps[0].rule_ids, ["SCOPE-003"]);
        assert_eq!(
            (second.failing, second.waived, second.not_evaluated),
            (1, 1, 1)
        );
        assert!(second.steps[0].commands[0].starts_with(
            "Remove-ApplicationAccessPolicy -Identity \"tenant\\scoped:S-1-5;group\"; New-ApplicationAccessPolicy -AppId scoped-app "
        ));
        let tenant_row = &plan.rows[2];
        assert_eq!(tenant_row.kind(), "tenant");
        assert_eq!(tenant_row.factors.len(), 1);
        assert_eq!(tenant_row.factors[0].name, "findings");
    }

    #[test]
    fn a_value_that_is_not_plain_is_never_pasted() {
        let rules = RuleSet::load(&[]).expect("the shipped rules");
        let app = facts("app");
        let f = finding(
            &rules,
            "CRED-001",
            about(&app),
            Outcome::Fail,
            serde_json::json!({"credential": "secret", "key_id": "k1; Remove-MgUser -UserId x"}),
        );
        let plan = build(
            vec![app.clone()],
            std::slice::from_ref(&f),
            &rules,
            &[],
            None,
        );
        assert_eq!(
            plan.rows[0].steps[0].commands,
            ["Remove-MgApplicationPassword -ApplicationId app-object -KeyId <key id>"]
        );
        // Asked for no steps, the row is ranked and scored all the same.
        let ranked_only = build(vec![app], &[f], &rules, &[], Some(0));
        assert!(ranked_only.rows[0].steps.is_empty());
        assert_eq!(ranked_only.rows[0].score, plan.rows[0].score);
    }

    #[test]
    fn placeholder_values_must_be_plain() {
        assert!(plain("key_id", "d8bbbef0-90c8-51a4-90e7-8b46dfdb7739"));
        assert!(!plain("key_id", "x; Remove-MgUser"));
        assert!(plain("mailbox", "svc-sensehq@contoso.com"));
        assert!(!plain("mailbox", "a\"b@contoso.com"));
        assert!(plain("identity", "Tenant\\app:S-1-5-21;guid"));
        assert!(!plain("identity", "x\"; Remove-Mailbox -Identity \"y"));
        assert!(!plain("identity", "$(Remove-Mailbox)"));
    }
}
