//! Applying waivers: a matching failing finding becomes `waived` (its evidence kept, the
//! waiver's reason added); a waiver past its `expires` date waives nothing and is reported;
//! a waiver that matches nothing is reported too, so stale entries do not pile up.

use chrono::{DateTime, NaiveDate, Utc};

use super::RuleSet;
use crate::finding::{Finding, Outcome};

/// A finding accepted for a reason, until a date.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub rule: String,
    /// App id or object id (apps), or the identity (policies, role assignments, mailboxes).
    pub subject: String,
    /// Credential key id, URI, permission...: only that part of the subject.
    pub item: Option<String>,
    pub reason: String,
    /// Last day the waiver applies (YYYY-MM-DD, inclusive).
    pub expires: Option<String>,
    pub ticket: Option<String>,
    /// Where in the config file it is, for messages.
    pub position: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaiverState {
    /// Waived at least one finding.
    Applied,
    /// Past its expiry date: the findings it names fail again.
    Expired,
    /// Matches no finding of this run.
    Unmatched,
}

impl WaiverState {
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverState::Applied => "applied",
            WaiverState::Expired => "expired",
            WaiverState::Unmatched => "unmatched",
        }
    }
}

/// What became of one waiver in this run.
#[derive(Debug, Clone)]
pub struct WaiverStatus {
    pub waiver: Waiver,
    pub state: WaiverState,
    /// Findings it waived (or, expired, would have waived).
    pub findings: usize,
}

impl WaiverStatus {
    pub fn describe(&self) -> String {
        let w = &self.waiver;
        let what = format!(
            "waiver {} for {}{}",
            w.rule,
            w.subject,
            w.item
                .as_deref()
                .map(|i| format!(" [{i}]"))
                .unwrap_or_default()
        );
        match self.state {
            WaiverState::Applied => format!("{what}: waives {} finding(s)", self.findings),
            WaiverState::Expired => format!(
                "{what}: expired on {}; {} finding(s) are no longer waived",
                w.expires.as_deref().unwrap_or("?"),
                self.findings
            ),
            WaiverState::Unmatched => format!("{what}: matches no finding (remove it?)"),
        }
    }
}

fn matches(w: &Waiver, f: &Finding, rule_id: &str) -> bool {
    let eq = |a: Option<&str>, b: &str| a.is_some_and(|a| a.eq_ignore_ascii_case(b));
    rule_id.eq_ignore_ascii_case(&w.rule)
        && (eq(f.subject.app_id.as_deref(), &w.subject)
            || eq(f.subject.object_id.as_deref(), &w.subject)
            || eq(f.subject.identity.as_deref(), &w.subject))
        && w.item.as_deref().is_none_or(|i| eq(f.item.as_deref(), i))
}

/// Adds `part`'s statuses (of the same waivers, applied to other findings) to `total`'s: the
/// counts add up, and a waiver is unmatched only if it matched nothing in either.
pub fn merge(total: &mut Vec<WaiverStatus>, part: Vec<WaiverStatus>) {
    if total.is_empty() {
        *total = part;
        return;
    }
    for (t, p) in total.iter_mut().zip(part) {
        t.findings += p.findings;
        if t.state == WaiverState::Unmatched && p.state == WaiverState::Applied {
            t.state = WaiverState::Applied;
        }
    }
}

/// Applies the waivers to the failing findings; returns each waiver's state.
pub fn apply(
    waivers: &[Waiver],
    findings: &mut [Finding],
    rules: &RuleSet,
    as_of: DateTime<Utc>,
) -> Vec<WaiverStatus> {
    let today = as_of.date_naive();
    waivers
        .iter()
        .map(|w| {
            let expired = w
                .expires
                .as_deref()
                .and_then(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
                .is_some_and(|e| e < today);
            let mut count = 0;
            for f in findings.iter_mut() {
                if f.outcome != Outcome::Fail || !matches(w, f, &rules.rules[f.rule].id) {
                    continue;
                }
                count += 1;
                if !expired {
                    f.outcome = Outcome::Waived;
                    f.evidence.insert(
                        "waiver",
                        serde_json::json!({"reason": w.reason, "expires": w.expires, "ticket": w.ticket}),
                    );
                }
            }
            let state = match (expired, count) {
                (true, _) => WaiverState::Expired,
                (false, 0) => WaiverState::Unmatched,
                (false, _) => WaiverState::Applied,
            };
            WaiverStatus {
                waiver: w.clone(),
                state,
                findings: count,
            }
        })
        .collect()
}
