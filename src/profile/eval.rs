//! Evaluating a profile's steps on one app. A step passes when every check passes, fails
//! when any fails, and is not evaluated when the input lacks data a check needs (never a
//! pass). A step whose instruction is dead (`advice.dead_from` reached) fails whatever the
//! data says.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Advice, Profile, Step};
use crate::checks::{Context, Evaluator, Outcomes, ScanInputs, Verdict};
use crate::model::{App, Catalog, Tenant};

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
        &tenant.policies,
    )
    .with_settings(settings);
    profile
        .steps
        .iter()
        .map(|step| evaluate_step(step, app, tenant, &cx))
        .collect()
}

/// What a step's checks found.
#[derive(Default)]
struct Found {
    fail: Vec<String>,
    not_evaluated: Vec<String>,
    pass: Vec<String>,
    /// Shown whatever the outcome (what a guide gets wrong about a permission, ...).
    notes: Vec<String>,
}

fn evaluate_step(step: &Step, app: &App, tenant: &Tenant, cx: &Context<'_>) -> StepResult {
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
        run(&check.check, app, tenant, cx, &mut found);
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
        .filter(|d| *d <= cx.as_of);
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

/// Runs one check on the app and sorts its verdicts into `found`.
fn run(check: &Evaluator, app: &App, tenant: &Tenant, cx: &Context<'_>, found: &mut Found) {
    let mut out = Outcomes::new(true);
    match check {
        Evaluator::PerApp(c) => {
            if !c.applies_to(app.kind) {
                return;
            }
            c.evaluate(app, cx, &mut out);
        }
        Evaluator::PerTenant(c) => c.evaluate(tenant, cx, &mut out),
    }
    found.notes.append(&mut out.notes);
    let app_id = app.app_id.as_deref();
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
