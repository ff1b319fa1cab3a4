//! Exchange Online configuration, normalized: Application Access Policies, management role
//! assignments (ApplicationImpersonation and RBAC for Applications), scopes, service principal
//! pointers, CAS mailboxes, the organization's EWS controls, and the Graph groups policies
//! scope to.
//!
//! The types are here; `build` makes them from the snapshot. Cross references are resolved
//! there, once: a policy's scope to a group or mailbox, a role
//! assignment's assignee to the app it names. Ids are matched first; names only where
//! Exchange gives nothing else, and then only when unambiguous (the match is recorded).

use serde::{Deserialize, Serialize};

mod build;
pub mod verify;

pub use build::build;

/// The Exchange part of a tenant. `None` = the file was not collected.
#[derive(Debug, Default)]
pub struct Exchange {
    pub access_policies: Option<Vec<AccessPolicy>>,
    pub role_assignments: Option<Vec<RoleAssignment>>,
    pub management_scopes: Option<Vec<ManagementScope>>,
    pub service_principals: Option<Vec<ExchangeServicePrincipal>>,
    pub cas_mailboxes: Option<Vec<CasMailbox>>,
    pub organization: Option<OrganizationConfig>,
    pub groups: Option<Vec<Group>>,
    /// Exchange's own answers for tested (app, mailbox) pairs.
    pub authorization_tests: Option<verify::AuthorizationTests>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRight {
    /// The app may reach only the scope's mailboxes.
    RestrictAccess,
    /// The app may reach every mailbox except the scope's.
    DenyAccess,
}

#[derive(Debug, Clone)]
pub struct AccessPolicy {
    pub identity: Option<String>,
    /// Lowercase app ids the policy names.
    pub app_ids: Vec<String>,
    /// `Err` carries the raw value when it is not RestrictAccess/DenyAccess.
    pub access_right: Result<AccessRight, String>,
    pub scope_name: Option<String>,
    pub scope_identity: Option<String>,
    pub scope: ScopeTarget,
    pub description: Option<String>,
}

impl AccessPolicy {
    /// How the policy's scope is named in messages.
    pub fn scope_label(&self) -> String {
        self.scope_name
            .clone()
            .or_else(|| self.scope_identity.clone())
            .unwrap_or_else(|| "(unnamed scope)".into())
    }

    pub fn label(&self) -> String {
        self.identity.clone().unwrap_or_else(|| self.scope_label())
    }
}

/// What a policy's scope resolved to.
#[derive(Debug, Clone, PartialEq)]
pub enum ScopeTarget {
    /// An index into `Exchange::groups`, and which property matched.
    Group(usize, &'static str),
    /// An index into `Exchange::cas_mailboxes` (a policy may scope to one mailbox).
    Mailbox(usize, &'static str),
    /// Neither groups.json nor casMailboxes.json has it.
    NotFound,
    /// groups.json was not collected (nor a mailbox matched): the reason.
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct RoleAssignment {
    pub name: Option<String>,
    pub identity: Option<String>,
    pub role: Option<String>,
    pub assignee: Option<String>,
    pub assignee_name: Option<String>,
    pub assignee_type: Option<String>,
    pub scope: RbacScope,
    pub enabled: Option<bool>,
    /// The Exchange service principal pointer the assignee names, if it names one.
    pub service_principal: Option<usize>,
}

impl RoleAssignment {
    pub fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.identity.clone())
            .unwrap_or_else(|| "(unnamed role assignment)".into())
    }

    pub fn is_role(&self, role: &str) -> bool {
        self.role
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(role))
    }

    /// Disabled assignments grant nothing; unknown counts as enabled (the default).
    pub fn is_enabled(&self) -> bool {
        self.enabled != Some(false)
    }
}

/// Which recipients a management role assignment covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RbacScope {
    /// The whole organization: every mailbox.
    Organization,
    /// A management scope (`-CustomResourceScope`, or a custom recipient write scope).
    ManagementScope {
        name: String,
        filter: Option<String>,
    },
    AdministrativeUnit {
        name: String,
    },
    Group {
        name: String,
    },
    /// A write scope this tool does not interpret (e.g. MyGAL, Self).
    Other {
        value: String,
    },
}

impl RbacScope {
    pub fn is_organization(&self) -> bool {
        matches!(self, RbacScope::Organization)
    }

    pub fn label(&self) -> String {
        match self {
            RbacScope::Organization => "the whole organization".into(),
            RbacScope::ManagementScope { name, .. } => format!("management scope {name}"),
            RbacScope::AdministrativeUnit { name } => format!("administrative unit {name}"),
            RbacScope::Group { name } => format!("group {name}"),
            RbacScope::Other { value } => format!("write scope {value}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ManagementScope {
    pub name: Option<String>,
    pub recipient_filter: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ExchangeServicePrincipal {
    /// Lowercase.
    pub app_id: Option<String>,
    /// The Entra service principal's object id, lowercase.
    pub object_id: Option<String>,
    pub display_name: Option<String>,
    pub identity: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CasMailbox {
    pub identity: Option<String>,
    pub name: Option<String>,
    pub primary_smtp_address: Option<String>,
    pub external_directory_object_id: Option<String>,
    pub protocols: Protocols,
}

impl CasMailbox {
    /// Everything a user or a cmdlet may name the mailbox by: address, identity, name and
    /// object id.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        [
            &self.primary_smtp_address,
            &self.identity,
            &self.name,
            &self.external_directory_object_id,
        ]
        .into_iter()
        .flatten()
        .map(String::as_str)
    }

    pub fn label(&self) -> String {
        self.primary_smtp_address
            .clone()
            .or_else(|| self.identity.clone())
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| "(unnamed mailbox)".into())
    }
}

/// A mailbox's client protocols (`Set-CASMailbox`; the admin center's "Manage email apps").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protocols {
    pub ews: Option<bool>,
    pub mapi: Option<bool>,
    pub imap: Option<bool>,
    pub pop: Option<bool>,
    pub active_sync: Option<bool>,
    pub owa: Option<bool>,
    /// Authenticated SMTP, from `SmtpClientAuthenticationDisabled` (inverted; `null` means
    /// the organization setting applies, so it is unknown here).
    pub smtp: Option<bool>,
}

/// The organization's EWS switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EwsSwitch {
    Enabled,
    Disabled,
    /// `$null`: per-mailbox and other EWS settings decide.
    NotSet,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrganizationConfig {
    /// `None` when the export lacks the property.
    pub ews_enabled: Option<EwsSwitch>,
    /// Lowercase app ids; `Some(empty)` = no allow list; `None` = not exported.
    pub ews_allowed_app_ids: Option<Vec<String>>,
    pub ews_application_access_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub mail_enabled: Option<bool>,
    pub security_enabled: Option<bool>,
    /// Microsoft 365 groups have `Unified` here.
    pub group_types: Vec<String>,
    pub member_count: Option<u64>,
    /// The direct members, when exported.
    pub members: Option<Vec<Member>>,
    /// The member count the export states (`members@odata.count`, `memberCount`), to tell
    /// a complete member list from a cut one.
    pub listed_count: Option<u64>,
    mail_nickname: Option<String>,
    proxy_addresses: Vec<String>,
}

/// A direct member of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// `#microsoft.graph.user`, `#microsoft.graph.group`, ...; `None` when not exported.
    pub odata_type: Option<String>,
    pub id: Option<String>,
    pub mail: Option<String>,
    pub upn: Option<String>,
}

impl Member {
    pub fn is_group(&self) -> bool {
        self.odata_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("#microsoft.graph.group"))
    }
}

impl Group {
    pub fn label(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.mail.clone())
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| "(unnamed group)".into())
    }

    /// A mail-enabled security group: what an Application Access Policy must scope to.
    pub fn is_mail_enabled_security(&self) -> Option<bool> {
        let unified = self
            .group_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Unified"));
        Some(self.mail_enabled? && self.security_enabled? && !unified)
    }
}

impl Exchange {
    /// The group an RBAC assignment's `RecipientGroupScope` names (id, address or name).
    pub fn find_group(&self, key: &str) -> Option<&Group> {
        let key = key.trim();
        self.groups.as_ref()?.iter().find(|g| {
            [&g.id, &g.mail, &g.display_name, &g.mail_nickname]
                .into_iter()
                .flatten()
                .any(|v| v.eq_ignore_ascii_case(key))
        })
    }

    /// The CAS mailbox a user named (address, name, identity or object id).
    pub fn find_mailbox(&self, key: &str) -> Option<&CasMailbox> {
        let key = key.trim();
        self.cas_mailboxes
            .as_ref()?
            .iter()
            .find(|m| m.keys().any(|v| v.eq_ignore_ascii_case(key)))
    }
}
