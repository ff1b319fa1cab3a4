//! The `reach-disagrees-with-exchange` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::{Value, json};

use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes, evidence};
use crate::model::exchange::verify::{AUTHORITIES, Answer, Comparison, Verification};
use crate::model::{App, AppKind, Missing, Via};

/// The `reach-disagrees-with-exchange` kind.
pub const KIND: Kind = Kind {
    name: "reach-disagrees-with-exchange",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "For each (app, mailbox) pair in exchange/authorizationTests.json, compares Exchange \
        Online's answers with the model's: Test-ServicePrincipalAuthorization (is one of the \
        app's RBAC for Applications roles in scope for the mailbox?) with the app's role \
        assignments and their scopes, and Test-ApplicationAccessPolicy (do the Application \
        Access Policies let the app reach it?) with the policies naming the app. One finding \
        per pair where an answer differs; a pair the model cannot decide (group members not \
        exported, a recipient filter) is not evaluated, with the reason. An app with app-only \
        mailbox access and no tested pair is not evaluated.",
    params: &[],
    renamed_from: &[],
    build: |de, _| registry::app::<ReachDisagreesWithExchange>(de),
    keys: registry::keys_of::<ReachDisagreesWithExchange>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachDisagreesWithExchange {}

impl Check for ReachDisagreesWithExchange {
    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }

    fn not_evaluated_for_tenant(&self, missing: &Missing) -> Option<String> {
        missing
            .authorization_tests
            .clone()
            .or_else(|| missing.unmatched_tests.clone())
    }

    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        if cx.missing.authorization_tests.is_some() {
            return; // said once for the tenant
        }
        let access = &app.mailbox_access;
        if access.verified.is_empty() {
            if access
                .paths
                .iter()
                .any(|p| p.via == Via::Rbac || p.is_granted() != Some(false))
            {
                out.not_evaluated(
                    None,
                    "no pair of this app and a mailbox was tested: run m365audit collect --exchange \
                     --verify-mailbox ADDRESS, or the README's PowerShell for this app",
                );
            }
            return;
        }
        for v in &access.verified {
            let item = Some(v.mailbox.clone());
            let sides = || AUTHORITIES.iter().zip(v.comparisons());
            if sides().any(|(_, c)| c.is_some_and(Comparison::disagrees)) {
                out.fail(item, message(app, v), evidence(pair_evidence(v)));
                continue;
            }
            let undecided: Vec<String> = sides()
                .filter_map(|((name, _, _), c)| match (&c?.exchange, &c?.model) {
                    (Answer::Unknown(why), _) => Some(format!("{name}: Exchange's answer: {why}")),
                    (_, Answer::Unknown(why)) => {
                        Some(format!("{name}: the model cannot decide: {why}"))
                    }
                    _ => None,
                })
                .collect();
            if undecided.is_empty() {
                out.pass(|| {
                    (
                        item,
                        format!("Exchange and the model agree on {}", v.mailbox),
                    )
                });
            } else {
                out.not_evaluated(item, undecided.join("; "));
            }
        }
    }
}

/// "Exchange says … can reach …; the model says it cannot, because …".
fn message(app: &App, v: &Verification) -> String {
    let mut parts = Vec::new();
    for ((name, yes, no), c) in AUTHORITIES.iter().zip(v.comparisons()) {
        let Some(c) = c.filter(|c| c.disagrees()) else {
            continue;
        };
        let verb = |a: &Answer| if a.decided() == Some(true) { yes } else { no };
        parts.push(format!(
            "{name}: Exchange says {} ({}); the model says {} ({})",
            verb(&c.exchange),
            c.exchange.reason(),
            verb(&c.model),
            c.model.reason()
        ));
    }
    format!(
        "{} and mailbox {}: Exchange's answer differs from the model's. {}",
        app.name(),
        v.mailbox,
        parts.join(". ")
    )
}

fn side(c: &Option<Comparison>) -> Value {
    match c {
        None => Value::Null,
        Some(c) => json!({
            "exchange": answer(&c.exchange),
            "model": answer(&c.model),
            "agree": !c.disagrees(),
        }),
    }
}

fn answer(a: &Answer) -> Value {
    let said = match a.decided() {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    json!({"answer": said, "because": a.reason()})
}

fn pair_evidence(v: &Verification) -> Value {
    json!({
        "mailbox": v.mailbox,
        "rbac_for_applications": side(&v.rbac),
        "application_access_policies": side(&v.policy),
    })
}
