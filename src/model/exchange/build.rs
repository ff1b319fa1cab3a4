//! Building the Exchange part of the model from the snapshot's `exchange/` files and
//! `groups.json`, and resolving its cross references once.

use std::collections::HashMap;

use super::*;
use crate::model::id::norm;
use crate::snapshot::exchange::EnumText;
use crate::snapshot::{
    ExchangeSnapshot, Part, RawAccessPolicy, RawCasMailbox, RawExchangeServicePrincipal, RawGroup,
    RawManagementScope, RawOrganizationConfig, RawRoleAssignment,
};
fn enum_text(v: &Option<EnumText>) -> Option<String> {
    match v {
        Some(EnumText::Text(s)) => Some(s.clone()),
        Some(EnumText::Number(n)) => Some(format!("#{n}")),
        None => None,
    }
}

fn flag(v: Option<Option<bool>>) -> Option<bool> {
    v.flatten()
}

/// Builds the Exchange part from the snapshot's `exchange/` files and `groups.json`.
pub fn build(raw: &ExchangeSnapshot, groups_part: &Part<RawGroup>) -> Exchange {
    let groups: Option<Vec<Group>> = groups_part.items().map(|g| g.iter().map(group).collect());
    let cas_mailboxes: Option<Vec<CasMailbox>> = raw
        .cas_mailboxes
        .items()
        .map(|m| m.iter().map(cas_mailbox).collect());
    let service_principals: Option<Vec<ExchangeServicePrincipal>> = raw
        .service_principals
        .items()
        .map(|s| s.iter().map(exchange_sp).collect());
    let management_scopes: Option<Vec<ManagementScope>> = raw
        .management_scopes
        .items()
        .map(|s| s.iter().map(management_scope).collect());

    let group_index = groups.as_deref().map(GroupIndex::new);
    let mailbox_index = cas_mailboxes.as_deref().map(MailboxIndex::new);
    let groups_reason = groups_part
        .missing_reason()
        .unwrap_or("the scope matches no group or mailbox")
        .to_string();
    let access_policies = raw.access_policies.items().map(|list| {
        list.iter()
            .map(|p| {
                access_policy(
                    p,
                    group_index.as_ref(),
                    mailbox_index.as_ref(),
                    &groups_reason,
                )
            })
            .collect()
    });

    let sp_index = service_principals.as_deref().map(SpIndex::new);
    let role_assignments = raw.role_assignments.items().map(|list| {
        list.iter()
            .map(|a| role_assignment(a, sp_index.as_ref(), management_scopes.as_deref()))
            .collect()
    });
    let organization = raw
        .organization_config
        .items()
        .and_then(|c| c.first())
        .map(organization_config);

    let authorization_tests = raw
        .authorization_tests
        .items()
        .map(crate::model::exchange::verify::AuthorizationTests::new);
    Exchange {
        access_policies,
        role_assignments,
        management_scopes,
        service_principals,
        cas_mailboxes,
        organization,
        groups,
        authorization_tests,
    }
}

fn group(g: &RawGroup) -> Group {
    Group {
        id: g.id.as_deref().map(norm),
        display_name: g.display_name.clone(),
        mail: g.mail.clone(),
        mail_enabled: g.mail_enabled,
        security_enabled: g.security_enabled,
        group_types: g.group_types.clone().unwrap_or_default(),
        member_count: g
            .member_count
            .or_else(|| g.members.as_ref().map(|m| m.len() as u64)),
        members: g.members.as_ref().map(|list| {
            list.iter()
                .map(|m| Member {
                    odata_type: m.get(|m| &m.odata_type).map(String::from),
                    id: m.get(|m| &m.id).map(norm),
                    mail: m.get(|m| &m.mail).map(String::from),
                    upn: m.get(|m| &m.user_principal_name).map(String::from),
                })
                .collect()
        }),
        listed_count: g.member_count,
        mail_nickname: g.mail_nickname.clone(),
        proxy_addresses: g.proxy_addresses.clone().unwrap_or_default(),
    }
}

fn cas_mailbox(m: &RawCasMailbox) -> CasMailbox {
    CasMailbox {
        identity: m.identity.clone(),
        name: m.name.clone(),
        primary_smtp_address: m.primary_smtp_address.clone(),
        external_directory_object_id: m.external_directory_object_id.as_deref().map(norm),
        protocols: Protocols {
            ews: flag(m.ews_enabled),
            mapi: flag(m.mapi_enabled),
            imap: flag(m.imap_enabled),
            pop: flag(m.pop_enabled),
            active_sync: flag(m.active_sync_enabled),
            owa: flag(m.owa_enabled),
            smtp: flag(m.smtp_client_authentication_disabled).map(|disabled| !disabled),
        },
    }
}

fn exchange_sp(s: &RawExchangeServicePrincipal) -> ExchangeServicePrincipal {
    ExchangeServicePrincipal {
        app_id: s.app_id.as_deref().map(norm),
        object_id: s.object_id.as_deref().or(s.service_id.as_deref()).map(norm),
        display_name: s.display_name.clone(),
        identity: s.identity.clone(),
        name: s.name.clone(),
    }
}

fn management_scope(s: &RawManagementScope) -> ManagementScope {
    ManagementScope {
        name: s.name.clone().or_else(|| s.identity.clone()),
        recipient_filter: s.recipient_filter.clone(),
    }
}

fn organization_config(c: &RawOrganizationConfig) -> OrganizationConfig {
    OrganizationConfig {
        ews_enabled: c.ews_enabled.map(|v| match v {
            Some(true) => EwsSwitch::Enabled,
            Some(false) => EwsSwitch::Disabled,
            None => EwsSwitch::NotSet,
        }),
        ews_allowed_app_ids: c.ews_allowed_app_ids.as_ref().map(|v| {
            v.as_ref()
                .map(|list| list.0.iter().map(|id| norm(id)).collect())
                .unwrap_or_default()
        }),
        ews_application_access_policy: enum_text(&c.ews_application_access_policy),
    }
}

/// Lookups of groups by the keys Exchange may name them with.
struct GroupIndex {
    by_id: HashMap<String, usize>,
    by_address: HashMap<String, usize>,
    by_nickname: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

impl GroupIndex {
    fn new(groups: &[Group]) -> Self {
        let mut idx = GroupIndex {
            by_id: HashMap::new(),
            by_address: HashMap::new(),
            by_nickname: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (i, g) in groups.iter().enumerate() {
            if let Some(id) = &g.id {
                idx.by_id.insert(id.clone(), i);
            }
            for addr in g.mail.iter().chain(g.proxy_addresses.iter()) {
                let addr = addr
                    .strip_prefix("smtp:")
                    .or_else(|| addr.strip_prefix("SMTP:"))
                    .unwrap_or(addr);
                idx.by_address.insert(addr.to_ascii_lowercase(), i);
            }
            if let Some(n) = &g.mail_nickname {
                idx.by_nickname.insert(n.to_ascii_lowercase(), i);
            }
            if let Some(n) = &g.display_name {
                idx.by_name
                    .entry(n.to_ascii_lowercase())
                    .or_default()
                    .push(i);
            }
        }
        idx
    }

    /// Finds the group a policy scope names, and by which property.
    fn find(&self, keys: &[&str]) -> Option<(usize, &'static str)> {
        for key in keys {
            let k = key.trim().to_ascii_lowercase();
            if let Some(&i) = self.by_id.get(&k) {
                return Some((i, "object id"));
            }
            if let Some(&i) = self.by_address.get(&k) {
                return Some((i, "mail address"));
            }
            if let Some(&i) = self.by_nickname.get(&k) {
                return Some((i, "mail nickname"));
            }
        }
        for key in keys {
            if let Some([i]) = self
                .by_name
                .get(&key.trim().to_ascii_lowercase())
                .map(Vec::as_slice)
            {
                return Some((*i, "display name (unique)"));
            }
        }
        None
    }
}

struct MailboxIndex {
    by_key: HashMap<String, (usize, &'static str)>,
}

impl MailboxIndex {
    fn new(mailboxes: &[CasMailbox]) -> Self {
        let mut by_key = HashMap::new();
        for (i, m) in mailboxes.iter().enumerate() {
            let keys = [
                (&m.external_directory_object_id, "object id"),
                (&m.primary_smtp_address, "mail address"),
                (&m.identity, "identity"),
                (&m.name, "name"),
            ];
            for (key, how) in keys {
                if let Some(k) = key {
                    by_key.entry(k.to_ascii_lowercase()).or_insert((i, how));
                }
            }
        }
        MailboxIndex { by_key }
    }

    fn find(&self, keys: &[&str]) -> Option<(usize, &'static str)> {
        keys.iter()
            .find_map(|k| self.by_key.get(&k.trim().to_ascii_lowercase()).copied())
    }
}

/// The keys a policy names its scope by. `ScopeIdentityRaw` (`<SID>;<object id>`) and the
/// policy's `Identity` (`...:<SID>;<object id>`) end in the scope's Entra object id; then
/// `ScopeIdentity` (the Exchange name) and `ScopeName` (the display name).
fn scope_keys(p: &RawAccessPolicy) -> Vec<&str> {
    fn object_id(s: Option<&str>) -> Option<&str> {
        s.and_then(|s| s.rsplit_once(';'))
            .map(|(_, guid)| guid.trim())
            .filter(|g| g.len() == 36 && g.chars().filter(|c| *c == '-').count() == 4)
    }
    object_id(p.scope_identity_raw.as_deref())
        .into_iter()
        .chain(object_id(p.identity.as_deref()))
        .chain(p.scope_identity.as_deref())
        .chain(p.scope_name.as_deref())
        .collect()
}

fn access_policy(
    p: &RawAccessPolicy,
    groups: Option<&GroupIndex>,
    mailboxes: Option<&MailboxIndex>,
    groups_reason: &str,
) -> AccessPolicy {
    let keys = scope_keys(p);
    let scope = match (
        groups.and_then(|g| g.find(&keys)),
        mailboxes.and_then(|m| m.find(&keys)),
    ) {
        (Some((i, how)), _) => ScopeTarget::Group(i, how),
        (None, Some((i, how))) => ScopeTarget::Mailbox(i, how),
        (None, None) if groups.is_some() && mailboxes.is_some() => ScopeTarget::NotFound,
        (None, None) if groups.is_some() => ScopeTarget::Unknown(
            "not in groups.json, and casMailboxes.json (where a single-mailbox scope would be) was not collected".into(),
        ),
        (None, None) => ScopeTarget::Unknown(groups_reason.to_string()),
    };
    let access_right = match &p.access_right {
        Some(EnumText::Text(t)) if t.eq_ignore_ascii_case("RestrictAccess") => {
            Ok(AccessRight::RestrictAccess)
        }
        Some(EnumText::Text(t)) if t.eq_ignore_ascii_case("DenyAccess") => {
            Ok(AccessRight::DenyAccess)
        }
        other => Err(enum_text(other).unwrap_or_else(|| "(missing)".into())),
    };
    AccessPolicy {
        identity: p.identity.clone(),
        app_ids: p
            .app_id
            .as_ref()
            .map(|l| l.0.iter().map(|a| norm(a)).collect())
            .unwrap_or_default(),
        access_right,
        scope_name: p.scope_name.clone(),
        scope_identity: p.scope_identity.clone(),
        scope,
        description: p.description.clone(),
    }
}

/// Exchange service principal pointers by every id and name an assignment may use.
struct SpIndex {
    by_key: HashMap<String, usize>,
}

impl SpIndex {
    fn new(sps: &[ExchangeServicePrincipal]) -> Self {
        let mut by_key = HashMap::new();
        // Ids first so that they win over a name that happens to look the same.
        for (i, sp) in sps.iter().enumerate() {
            for k in [&sp.object_id, &sp.app_id].into_iter().flatten() {
                by_key.insert(k.clone(), i);
            }
        }
        for (i, sp) in sps.iter().enumerate() {
            for k in [&sp.identity, &sp.name].into_iter().flatten() {
                by_key.entry(k.to_ascii_lowercase()).or_insert(i);
            }
        }
        SpIndex { by_key }
    }

    fn find(&self, keys: &[Option<&str>]) -> Option<usize> {
        keys.iter()
            .flatten()
            .find_map(|k| self.by_key.get(&k.trim().to_ascii_lowercase()).copied())
    }
}

fn role_assignment(
    a: &RawRoleAssignment,
    sps: Option<&SpIndex>,
    scopes: Option<&[ManagementScope]>,
) -> RoleAssignment {
    let named = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let scope = if let Some(name) =
        named(&a.custom_resource_scope).or_else(|| named(&a.custom_recipient_write_scope))
    {
        let filter = scopes.and_then(|list| {
            list.iter()
                .find(|s| {
                    s.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                })
                .and_then(|s| s.recipient_filter.clone())
        });
        RbacScope::ManagementScope { name, filter }
    } else if let Some(name) = named(&a.recipient_administrative_unit_scope) {
        RbacScope::AdministrativeUnit { name }
    } else if let Some(name) = named(&a.recipient_group_scope) {
        RbacScope::Group { name }
    } else {
        match enum_text(&a.recipient_write_scope).as_deref() {
            None | Some("Organization") | Some("Default") => RbacScope::Organization,
            Some(other) => RbacScope::Other {
                value: other.to_string(),
            },
        }
    };
    RoleAssignment {
        name: a.name.clone(),
        identity: a.identity.clone(),
        role: a.role.clone(),
        assignee: a.role_assignee.clone(),
        assignee_name: a.role_assignee_name.clone(),
        assignee_type: enum_text(&a.role_assignee_type),
        scope,
        enabled: a.enabled.flatten(),
        service_principal: sps.and_then(|idx| {
            idx.find(&[a.role_assignee.as_deref(), a.role_assignee_name.as_deref()])
        }),
    }
}
