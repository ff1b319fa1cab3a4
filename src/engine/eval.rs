//! Evaluating a rule set against a tenant: every rule on every app, verdicts turned into
//! findings.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::loader::RuleSet;
use crate::checks::{Context, Evaluator, Outcomes, ScanInputs, Verdict};
use crate::finding::{Finding, FindingEvidence, Outcome, Subject, SubjectKind};
use crate::model::policy::Policies;
use crate::model::{App, Catalog, Exchange, Missing, Tenant, TenantInfo};

/// Apps per parallel task: small enough to balance two cores, large enough that the
/// per-task setup (an outcome buffer) does not show.
pub const APPS_PER_TASK: usize = 256;

#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The audit instant; the only clock checks see.
    pub as_of: DateTime<Utc>,
    /// Keep `pass` findings (they are always counted).
    pub keep_passed: bool,
    pub inputs: ScanInputs,
}

#[derive(Debug, Default)]
pub struct Evaluation {
    pub findings: Vec<Finding>,
    /// Number of passes, whether or not they were kept.
    pub passed: usize,
}

/// Runs every rule on every app of the tenant, then the tenant-level rules once.
pub fn evaluate(
    rules: &RuleSet,
    tenant: &Tenant,
    source: usize,
    opts: &EvalOptions,
    catalog: &Catalog,
) -> Evaluation {
    let scope = Run {
        rules,
        source,
        opts,
        catalog,
    }
    .scope(
        &tenant.info,
        &tenant.missing,
        &tenant.exchange,
        &tenant.policies,
    );
    let mut result = scope.apps(&tenant.apps);
    scope.tenant(tenant, &mut result);
    result
}

/// What evaluation takes from the scan: the same for every app of a source.
#[derive(Clone, Copy)]
pub struct Run<'a> {
    pub rules: &'a RuleSet,
    /// The source's index in the report.
    pub source: usize,
    pub opts: &'a EvalOptions,
    pub catalog: &'a Catalog,
}

impl<'a> Run<'a> {
    /// Whether some tenant-level rule reads the built apps
    /// ([`TenantCheck::reads_apps`](crate::checks::TenantCheck::reads_apps)): a scan that
    /// evaluates apps as they are read must keep them only then.
    pub fn keeps_apps(&self) -> bool {
        self.rules.rules.iter().any(|rule| match &rule.check {
            Evaluator::PerTenant(check) => check.reads_apps(&self.opts.inputs),
            Evaluator::PerApp(_) => false,
        })
    }

    /// With the tenant-wide facts checks see.
    pub fn scope<'b>(
        self,
        info: &'b TenantInfo,
        missing: &'b Missing,
        exchange: &'b Exchange,
        policies: &'b Policies,
    ) -> Scope<'b>
    where
        'a: 'b,
    {
        Scope {
            run: self,
            info,
            missing,
            exchange,
            policies,
        }
    }
}

/// What evaluation needs besides the apps: the run and the tenant-wide facts checks see.
/// Apps can be evaluated with it in batches, as soon as they are built.
pub struct Scope<'a> {
    run: Run<'a>,
    info: &'a TenantInfo,
    missing: &'a Missing,
    exchange: &'a Exchange,
    policies: &'a Policies,
}

impl Scope<'_> {
    fn context(&self) -> Context<'_> {
        Context::new(
            self.run.opts.as_of,
            self.info,
            self.missing,
            self.exchange,
            &self.run.opts.inputs,
            self.run.catalog,
            self.policies,
        )
    }

    /// The per-app rules on `apps`, findings in app order.
    pub fn apps(&self, apps: &[App]) -> Evaluation {
        // Apps are independent: evaluate chunks of them in parallel, then concatenate in app
        // order so the report does not depend on scheduling.
        let parts: Vec<Evaluation> = apps
            .par_chunks(APPS_PER_TASK)
            .map(|apps| self.apps_here(apps))
            .collect();
        Evaluation::concat(parts)
    }

    /// [`apps`](Self::apps) on the calling thread.
    pub fn apps_here(&self, apps: &[App]) -> Evaluation {
        let mut part = Evaluation::default();
        let mut out = Outcomes::new(self.run.opts.keep_passed);
        for app in apps {
            let cx = self.context();
            // Made once per app, at its first finding; its findings share it.
            let about = std::cell::OnceCell::new();
            let about =
                || Arc::clone(about.get_or_init(|| Arc::new(crate::checks::app_subject(app))));
            for (index, rule) in self.run.rules.rules.iter().enumerate() {
                let Evaluator::PerApp(check) = &rule.check else {
                    continue;
                };
                if !check.applies_to(app.kind) {
                    continue;
                }
                out.reset_subject();
                check.evaluate(app, &cx, &mut out);
                collect(&mut out, index, rule, self.run.source, about, &mut part);
            }
        }
        part.passed = out.passed;
        part
    }

    /// The tenant-level rules, once; their findings are added to `result`.
    pub fn tenant(&self, tenant: &Tenant, result: &mut Evaluation) {
        let mut out = Outcomes::new(self.run.opts.keep_passed);
        let cx = self.context();
        for (index, rule) in self.run.rules.rules.iter().enumerate() {
            out.reset_subject();
            match &rule.check {
                Evaluator::PerTenant(check) => check.evaluate(tenant, &cx, &mut out),
                Evaluator::PerApp(check) => {
                    if let Some(reason) = check.not_evaluated_for_tenant(&tenant.missing) {
                        out.not_evaluated(None, reason);
                    }
                }
            }
            let whole_tenant = || {
                Arc::new(Subject::named(
                    SubjectKind::Tenant,
                    tenant.info.tenant.clone(),
                    tenant.info.tenant.clone(),
                ))
            };
            collect(&mut out, index, rule, self.run.source, whole_tenant, result);
        }
        result.passed += out.passed;
    }
}

impl Evaluation {
    /// The parts' findings one after the other, in one allocation of the final size.
    pub fn concat(parts: Vec<Evaluation>) -> Evaluation {
        let mut result = Evaluation {
            findings: Vec::with_capacity(parts.iter().map(|p| p.findings.len()).sum()),
            passed: 0,
        };
        for part in parts {
            result.passed += part.passed;
            result.findings.extend(part.findings);
        }
        result
    }

    /// Adds `other`'s findings after these.
    pub fn append(&mut self, other: Evaluation) {
        self.passed += other.passed;
        if self.findings.is_empty() {
            self.findings = other.findings;
        } else {
            self.findings.extend(other.findings);
        }
    }
}

/// Turns a check's verdicts into findings about `default_subject` unless they name their own.
fn collect(
    out: &mut Outcomes,
    index: usize,
    rule: &super::Rule,
    source: usize,
    default_subject: impl Fn() -> Arc<Subject>,
    result: &mut Evaluation,
) {
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
        let subject = o.subject.unwrap_or_else(&default_subject);
        let fingerprint = crate::finding::fingerprint(
            &rule.id,
            subject.kind.as_str(),
            subject.app_id.as_deref(),
            subject.object_id.as_deref(),
            subject.identity.as_deref(),
            o.item.as_deref(),
        );
        result.findings.push(Finding {
            rule: index,
            source,
            subject,
            item: o.item.map(String::into_boxed_str),
            fingerprint,
            outcome,
            severity,
            message: message.into_boxed_str(),
            evidence: FindingEvidence::new(&evidence),
        });
    }
}
