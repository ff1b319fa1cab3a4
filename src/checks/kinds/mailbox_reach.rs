//! The `mailbox-reach` check kind: see [`KIND`].

use serde::Deserialize;
use serde_json::json;

use crate::checks::evidence;
use crate::checks::registry::{self, Kind, Param, Scope, Written};
use crate::checks::{Check, Context, Outcomes};
use crate::finding::Severity;
use crate::model::{AccessPath, App, AppKind, Reach, Via};

/// The `mailbox-reach` kind.
pub const KIND: Kind = Kind {
    name: "mailbox-reach",
    scope: Scope::App,
    written_in: Written::Anywhere,
    docs: "A granted app-only mailbox permission, or an RBAC for Applications assignment, that \
        reaches every mailbox (or every mailbox but some): nothing restricts it to the \
        mailboxes the integration needs. One finding per permission or assignment.",
    params: &[Param {
        name: "critical",
        ty: "list of strings (permission values)",
        default: Some("[]"),
        meaning: "Permissions whose unscoped reach is critical rather than high: write or send as anyone.",
    }],
    renamed_from: &[],
    build: |de, _| registry::app::<MailboxReach>(de),
    keys: registry::keys_of::<MailboxReach>,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailboxReach {
    /// Permission values that make an unscoped path critical (write or send as anyone).
    #[serde(default)]
    critical: Vec<String>,
}

/// A stable name for the path: the permission, or the role and its assignment.
fn item(path: &AccessPath) -> String {
    match (&path.via, &path.assignment) {
        (Via::Rbac, Some(a)) => format!("{} ({a})", path.permission),
        _ => path.permission.clone(),
    }
}

impl Check for MailboxReach {
    fn evaluate(&self, app: &App, _cx: &Context<'_>, out: &mut Outcomes) {
        let access = &app.mailbox_access;
        let scoped_rbac = access
            .paths
            .iter()
            .any(|p| p.via == Via::Rbac && !p.reach.is_tenant_wide());
        let mut decided = 0;
        for path in &access.paths {
            match (path.is_granted(), &path.reach) {
                (Some(false), _) => {}
                (_, Reach::Unknown { reason }) => {
                    decided += 1;
                    out.not_evaluated(Some(item(path)), reason.clone());
                }
                (_, reach) if reach.is_tenant_wide() => {
                    decided += 1;
                    let critical = path
                        .values
                        .iter()
                        .any(|v| self.critical.iter().any(|c| c.eq_ignore_ascii_case(v)));
                    let how = match path.via {
                        Via::Entra => {
                            let mut s = "granted in Entra and no RestrictAccess policy limits it"
                                .to_string();
                            if scoped_rbac {
                                s.push_str(" (the app's scoped RBAC for Applications assignment does not limit Entra grants: see SCOPE-005)");
                            }
                            s
                        }
                        Via::Rbac => format!(
                            "RBAC for Applications assignment {} has no resource scope",
                            path.assignment.as_deref().unwrap_or("(unnamed)")
                        ),
                    };
                    out.fail_at(
                        critical.then_some(Severity::Critical),
                        Some(item(path)),
                        format!(
                            "{} can reach {} with {}: {how}",
                            app.name(),
                            reach.describe(),
                            path.permission
                        ),
                        evidence(json!({
                            "via": path.via,
                            "permission": path.permission,
                            "values": path.values,
                            "reach": reach.label(),
                            "assignment": path.assignment,
                            "access_policies": access.policies,
                        })),
                    );
                }
                (_, reach) => {
                    decided += 1;
                    let label = reach.label();
                    out.pass(|| (Some(item(path)), format!("{}: {label}", path.permission)));
                }
            }
        }
        let unseen = access.unseen();
        if !unseen.is_empty() {
            out.not_evaluated(
                None,
                format!("access not visible in the input: {}", unseen.join("; ")),
            );
        } else if decided == 0 {
            out.pass(|| (None, "no app-only access to mailboxes".into()));
        }
    }

    fn applies_to(&self, _kind: AppKind) -> bool {
        true
    }
}
