//! The `ews-permission` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::ews::{self, Timeline};
use crate::checks::permissions::{find_permissions, none_found};
use crate::checks::registry::{self, Kind, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::model::{App, AppKind, PermissionClass};

/// The `ews-permission` kind.
pub const KIND: Kind = Kind {
    name: "ews-permission",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "The app requests or holds Exchange Web Services permissions. EWS in Exchange Online is \
        being retired; the finding says when and whether the organization's EWS controls let \
        this app through today.",
    params: ews::TIMELINE_PARAMS,
    renamed_from: &[],
    build: |de, _| registry::app::<EwsPermission>(de),
    keys: registry::keys_of::<EwsPermission>,
};

#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct EwsPermission {
    timeline: Timeline,
}

impl Check for EwsPermission {
    fn evaluate(&self, app: &App, cx: &Context<'_>, out: &mut Outcomes) {
        let found = find_permissions(app, cx, |p| p.classes.contains(&PermissionClass::Ews));
        if found.list.is_empty() {
            none_found(&found, "EWS permission", out);
            return;
        }
        let access = ews::access(app.app_id.as_deref(), cx, &self.timeline);
        let names: Vec<String> = found
            .list
            .iter()
            .map(|s| format!("{} ({})", s.label, s.how()))
            .collect();
        out.fail(
            None,
            format!(
                "{} uses EWS: {}. {}; the organization's EWS controls: {}",
                app.name(),
                names.join(", "),
                self.timeline.describe(cx.as_of),
                access.label()
            ),
            evidence(json!({
                "ews_permissions": found.list.iter().map(|s| s.evidence()).collect::<Vec<_>>(),
                "ews_disabled_from": self.timeline.disabled_from,
                "ews_shutdown": self.timeline.shutdown,
                "organization_ews": access.label(),
            })),
        );
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
