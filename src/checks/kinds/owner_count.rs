//! The `owner-count` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::App;

/// The `owner-count` kind.
pub const KIND: Kind = Kind {
    name: "owner-count",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app registration has fewer than `min` owners. Without an owner nobody is \
        accountable for rotating its credentials or answering for its permissions.",
    params: &[Param {
        name: "min",
        ty: "integer",
        default: Some("1"),
        meaning: "The fewest owners that pass.",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<OwnerCount>(de),
    keys: registry::keys_of::<OwnerCount>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerCount {
    #[serde(default = "default_min")]
    min: usize,
}

fn default_min() -> usize {
    1
}

impl Check for OwnerCount {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let Some(owners) = &app.owners else {
            out.not_evaluated(None, cx.missing.owners.clone());
            return;
        };
        if owners.len() >= self.min {
            out.pass(|| (None, format!("{} owner(s)", owners.len())));
            return;
        }
        let message = if owners.is_empty() {
            format!("{} has no owners", app.name())
        } else {
            format!(
                "{} has {} owner(s); at least {} expected",
                app.name(),
                owners.len(),
                self.min
            )
        };
        out.fail(
            None,
            message,
            evidence(json!({
                "owners": owners.iter().map(|o| o.display_name.clone().or_else(|| o.id.clone())).collect::<Vec<_>>(),
                "min": self.min,
            })),
        );
    }
}
