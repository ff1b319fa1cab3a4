//! Evaluating a rule set against a tenant: every rule on every app, verdicts turned into
//! findings.

use chrono::{DateTime, Utc};

use super::finding::{Finding, Outcome, Subject, SubjectKind};
use super::loader::RuleSet;
use crate::checks::{Context, Outcomes, Verdict};
use crate::model::{App, Tenant};

#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    /// The audit instant; the only clock checks see.
    pub as_of: DateTime<Utc>,
    /// Keep `pass` findings (they are always counted).
    pub keep_passed: bool,
}

#[derive(Debug, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Number of passes, whether or not they were kept.
    pub passed: usize,
}

pub fn subject(app: &App) -> Subject {
    Subject {
        kind: SubjectKind::Application,
        app_id: app.app_id.clone(),
        object_id: app.object_id.clone(),
        display_name: app.display_name.clone(),
    }
}

/// Runs every rule on every app of the tenant.
pub fn evaluate(rules: &RuleSet, tenant: &Tenant, source: usize, opts: &EvalOptions) -> Evaluation {
    let mut result = Evaluation::default();
    let mut out = Outcomes::new(opts.keep_passed);
    for app in &tenant.apps {
        let cx = Context::new(opts.as_of, &tenant.info, &tenant.missing);
        for (index, rule) in rules.rules.iter().enumerate() {
            rule.check.evaluate(app, &cx, &mut out);
            for o in out.list.drain(..) {
                let (outcome, severity, message, evidence) = match o.verdict {
                    Verdict::Fail {
                        severity,
                        message,
                        evidence,
                    } => (
                        Outcome::Fail,
                        severity.unwrap_or(rule.severity),
                        message,
                        evidence,
                    ),
                    Verdict::Pass { message } => {
                        (Outcome::Pass, rule.severity, message, Default::default())
                    }
                    Verdict::NotEvaluated { reason } => {
                        let mut evidence = serde_json::Map::new();
                        evidence.insert("reason".into(), reason.clone().into());
                        (
                            Outcome::NotEvaluated,
                            rule.severity,
                            format!("not evaluated: {reason}"),
                            evidence,
                        )
                    }
                };
                result.findings.push(Finding {
                    rule: index,
                    source,
                    subject: subject(app),
                    item: o.item,
                    outcome,
                    severity,
                    message,
                    evidence,
                });
            }
        }
    }
    result.passed = out.passed;
    result
}
