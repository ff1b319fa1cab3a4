//! Mailbox reach: every way an app reaches mailbox data, and how far each reaches.
//!
//! Exchange Online has two authorities, and an app's access is their union (Microsoft Learn,
//! "Role Based Access Control for Applications in Exchange Online"):
//! - app-only permissions granted in Entra (Graph Mail.Read, Exchange full_access_as_app, ...)
//!   reach every mailbox unless an Application Access Policy constrains them: DenyAccess wins
//!   over RestrictAccess for the same mailbox; with any RestrictAccess policy only its scope is
//!   reachable; with DenyAccess policies only, everything but their scopes is;
//! - RBAC for Applications role assignments reach the assignment's scope (the whole
//!   organization when unscoped). Application Access Policies do not constrain them.

use serde::{Deserialize, Serialize};

use super::exchange::{AccessPolicy, AccessRight, RbacScope, RoleAssignment};
use super::permission::Permission;

/// How an app reaches mailboxes (also `input.app.mailbox_access` for Rego rules).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailboxAccess {
    pub paths: Vec<AccessPath>,
    /// Application Access Policies that name the app; `None` = policies not collected.
    pub policies: Option<Vec<PolicyRef>>,
    /// Why Entra grants are unknown (then granted-only permissions are unseen).
    pub grants_unknown: Option<String>,
    /// Why RBAC for Applications assignments are unknown (then RBAC access is unseen).
    pub rbac_unknown: Option<String>,
    /// Exchange's answers for the (app, mailbox) pairs tested, beside the model's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub verified: Vec<super::exchange::verify::Verification>,
}

impl MailboxAccess {
    /// The union of the reach of every path in force: what the app can reach in all.
    pub fn overall(&self) -> Reach {
        let live: Vec<&Reach> = self
            .paths
            .iter()
            .filter(|p| p.is_granted() != Some(false))
            .map(|p| &p.reach)
            .collect();
        if live.contains(&&Reach::AllMailboxes) {
            return Reach::AllMailboxes;
        }
        // Every mailbox but some: the union keeps only what every tenant-wide path excepts.
        let excepts: Vec<&Vec<String>> = live
            .iter()
            .filter_map(|r| match r {
                Reach::AllExcept { except } => Some(except),
                _ => None,
            })
            .collect();
        if let Some(first) = excepts.first() {
            let except = first
                .iter()
                .filter(|x| excepts.iter().all(|e| e.contains(x)))
                .cloned()
                .collect();
            return Reach::AllExcept { except };
        }
        if let Some(reason) = live.iter().find_map(|r| match r {
            Reach::Unknown { reason } => Some(reason.clone()),
            _ => None,
        }) {
            return Reach::Unknown { reason };
        }
        let scoped: Vec<(&Vec<String>, &Vec<String>)> = live
            .iter()
            .filter_map(|r| match r {
                Reach::ScopedTo { scopes, except } => Some((scopes, except)),
                _ => None,
            })
            .collect();
        let Some((_, first_except)) = scoped.first() else {
            return Reach::NotGranted;
        };
        let mut scopes: Vec<String> = Vec::new();
        for scope in scoped.iter().flat_map(|(s, _)| s.iter()) {
            if !scopes.contains(scope) {
                scopes.push(scope.clone());
            }
        }
        // A mailbox another path reaches is not excepted from the union.
        let except = first_except
            .iter()
            .filter(|x| scoped.iter().all(|(_, e)| e.contains(x)))
            .cloned()
            .collect();
        Reach::ScopedTo { scopes, except }
    }

    /// Reasons some of the app's mailbox access may be unseen.
    pub fn unseen(&self) -> Vec<&str> {
        self.grants_unknown
            .iter()
            .chain(self.rbac_unknown.iter())
            .map(String::as_str)
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// An app-only permission requested or granted in Entra.
    Entra,
    /// An RBAC for Applications role assignment in Exchange Online.
    Rbac,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessPath {
    pub via: Via,
    /// `Microsoft Graph Mail.ReadWrite`, or the role (`Application Mail.Read`).
    pub permission: String,
    /// Permission values reached (`Mail.ReadWrite`, ...); empty for an unknown role.
    #[serde(default)]
    pub values: Vec<String>,
    /// Entra: in requiredResourceAccess (`None` = unknown).
    #[serde(default)]
    pub requested: Option<bool>,
    /// Entra: an app role assignment exists (`None` = unknown). RBAC: always granted.
    #[serde(default)]
    pub granted: Option<bool>,
    /// RBAC: the assignment's name.
    #[serde(default)]
    pub assignment: Option<String>,
    pub reach: Reach,
}

impl AccessPath {
    /// Whether the path is in force: granted in Entra, or an (enabled) RBAC assignment.
    pub fn is_granted(&self) -> Option<bool> {
        match self.via {
            Via::Rbac => Some(true),
            Via::Entra => self.granted,
        }
    }
}

/// How far a path reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reach {
    /// Every mailbox of the organization.
    AllMailboxes,
    /// Only the mailboxes of these scopes (groups, management scopes), less `except`.
    ScopedTo {
        scopes: Vec<String>,
        #[serde(default)]
        except: Vec<String>,
    },
    /// Every mailbox except these scopes' (DenyAccess policies only).
    AllExcept {
        except: Vec<String>,
    },
    /// Requested but not granted: no access until admin consent.
    NotGranted,
    Unknown {
        reason: String,
    },
}

impl Reach {
    /// `all mailboxes`, `scoped to X`, `all except X`, ...
    pub fn label(&self) -> String {
        match self {
            Reach::AllMailboxes => "all mailboxes".into(),
            Reach::ScopedTo { scopes, except } if except.is_empty() => {
                format!("scoped to {}", scopes.join(", "))
            }
            Reach::ScopedTo { scopes, except } => format!(
                "scoped to {} except {}",
                scopes.join(", "),
                except.join(", ")
            ),
            Reach::AllExcept { except } => format!("all except {}", except.join(", ")),
            Reach::NotGranted => "none (not granted)".into(),
            Reach::Unknown { reason } => format!("unknown: {reason}"),
        }
    }

    /// The reach in a sentence: "all mailboxes except Executives", "only Contact Center".
    pub fn describe(&self) -> String {
        match self {
            Reach::AllExcept { except } => format!("all mailboxes except {}", except.join(", ")),
            Reach::ScopedTo { scopes, except } if except.is_empty() => {
                format!("only {}", scopes.join(", "))
            }
            other => other.label(),
        }
    }

    /// Every mailbox, or every mailbox but some: what an unscoped grant gives.
    pub fn is_tenant_wide(&self) -> bool {
        matches!(self, Reach::AllMailboxes | Reach::AllExcept { .. })
    }
}

/// An Application Access Policy as the app's view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    #[serde(default)]
    pub identity: Option<String>,
    /// `restrict_access`, `deny_access`, or the raw value when it is neither.
    pub access_right: String,
    pub scope: String,
}

/// The reach of an Entra grant given the Application Access Policies that name the app.
/// `policies` is `None` when the policies were not collected (`why` says so).
pub fn entra_reach(policies: Option<&[&AccessPolicy]>, why: &str) -> Reach {
    let Some(policies) = policies else {
        return Reach::Unknown {
            reason: why.to_string(),
        };
    };
    let mut restrict = Vec::new();
    let mut deny = Vec::new();
    for p in policies {
        match &p.access_right {
            Ok(AccessRight::RestrictAccess) => restrict.push(p.scope_label()),
            Ok(AccessRight::DenyAccess) => deny.push(p.scope_label()),
            Err(raw) => {
                return Reach::Unknown {
                    reason: format!(
                        "Application Access Policy {} has AccessRight {raw}, neither RestrictAccess nor DenyAccess{}",
                        p.label(),
                        if raw.starts_with('#') {
                            " (a number: export with ConvertTo-Json -EnumsAsStrings)"
                        } else {
                            ""
                        }
                    ),
                };
            }
        }
    }
    match (restrict.is_empty(), deny.is_empty()) {
        (true, true) => Reach::AllMailboxes,
        (true, false) => Reach::AllExcept { except: deny },
        (false, _) => Reach::ScopedTo {
            scopes: restrict,
            except: deny,
        },
    }
}

/// The reach of an RBAC for Applications assignment.
pub fn rbac_reach(scope: &RbacScope) -> Reach {
    match scope {
        RbacScope::Organization => Reach::AllMailboxes,
        other => Reach::ScopedTo {
            scopes: vec![other.label()],
            except: Vec::new(),
        },
    }
}

/// Builds the app's mailbox access from its mailbox-class permissions and the Exchange
/// objects naming it. `roles` maps application role names to the permissions they grant.
pub struct Inputs<'a> {
    /// Mailbox-class app-only permissions, requested and/or granted, deduplicated.
    pub entra: Vec<(&'a Permission, Option<bool>, Option<bool>)>,
    /// Why grants are unknown, when they are.
    pub grants_unknown: Option<String>,
    pub policies: Option<Vec<&'a AccessPolicy>>,
    pub policies_missing: Option<String>,
    pub assignments: Option<Vec<&'a RoleAssignment>>,
    pub assignments_missing: Option<String>,
    pub role_permissions: &'a dyn Fn(&str) -> Option<Vec<String>>,
}

pub fn mailbox_access(inputs: Inputs<'_>) -> MailboxAccess {
    let mut access = MailboxAccess::default();
    let policies_why = inputs
        .policies_missing
        .clone()
        .unwrap_or_else(|| "Application Access Policies are unknown".into());
    let entra_granted_reach = entra_reach(inputs.policies.as_deref(), &policies_why);
    for (p, requested, granted) in &inputs.entra {
        let reach = match granted {
            Some(true) => entra_granted_reach.clone(),
            Some(false) => Reach::NotGranted,
            None => Reach::Unknown {
                reason: inputs
                    .grants_unknown
                    .clone()
                    .unwrap_or_else(|| "granted permissions are unknown".into()),
            },
        };
        access.paths.push(AccessPath {
            via: Via::Entra,
            permission: p.label(),
            values: p.value.iter().map(|v| v.to_string()).collect(),
            requested: *requested,
            granted: *granted,
            assignment: None,
            reach,
        });
    }
    access.rbac_unknown = inputs.assignments.is_none().then(|| {
        inputs
            .assignments_missing
            .clone()
            .unwrap_or_else(|| "RBAC for Applications assignments are unknown".into())
    });
    for a in inputs
        .assignments
        .iter()
        .flatten()
        .filter(|a| a.is_enabled())
    {
        let Some(role) = a.role.as_deref() else {
            continue;
        };
        let values = (inputs.role_permissions)(role);
        if values.is_none() && !role.starts_with("Application ") {
            continue; // not an application role
        }
        access.paths.push(AccessPath {
            via: Via::Rbac,
            permission: role.to_string(),
            values: values.unwrap_or_default(),
            requested: None,
            granted: Some(true),
            assignment: Some(a.label()),
            reach: rbac_reach(&a.scope),
        });
    }
    // Missing policies hide restrictions, not access: the Entra paths say "unknown" already.
    // Missing grants or RBAC assignments hide access itself.
    access.grants_unknown = inputs.grants_unknown.clone();
    access.policies = inputs.policies.as_ref().map(|list| {
        list.iter()
            .map(|p| PolicyRef {
                identity: p.identity.clone(),
                access_right: match &p.access_right {
                    Ok(AccessRight::RestrictAccess) => "restrict_access".into(),
                    Ok(AccessRight::DenyAccess) => "deny_access".into(),
                    Err(raw) => raw.clone(),
                },
                scope: p.scope_label(),
            })
            .collect()
    });
    access
}
