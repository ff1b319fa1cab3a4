//! Raw Exchange Online objects as `<cmdlet> | ConvertTo-Json` writes them (PascalCase, as
//! PowerShell names properties; camelCase is accepted too), and Graph groups.
//!
//! Enum-typed properties (AccessRight, RoleAssigneeType, ...) are strings when exported with
//! PowerShell 7's `ConvertTo-Json -EnumsAsStrings` or read through the REST-based module, and
//! numbers otherwise; both are accepted here and the model decides what a number means.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::de::{StringList, datetime, present};

/// A property that may be a string or (an enum exported without -EnumsAsStrings) a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnumText {
    Text(String),
    Number(i64),
}

impl<'de> Deserialize<'de> for EnumText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = EnumText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EnumText, E> {
                Ok(EnumText::Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<EnumText, E> {
                Ok(EnumText::Number(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<EnumText, E> {
                i64::try_from(v)
                    .map(EnumText::Number)
                    .map_err(|_| E::custom("number out of range"))
            }
        }
        d.deserialize_any(V)
    }
}

/// `Get-ApplicationAccessPolicy`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawAccessPolicy {
    #[serde(alias = "identity")]
    pub identity: Option<String>,
    /// One app id, or several (the cmdlet accepts a list).
    #[serde(rename = "AppId", alias = "AppID", alias = "appId")]
    pub app_id: Option<StringList>,
    #[serde(alias = "scopeName")]
    pub scope_name: Option<String>,
    #[serde(alias = "scopeIdentity")]
    pub scope_identity: Option<String>,
    #[serde(alias = "scopeIdentityRaw")]
    pub scope_identity_raw: Option<String>,
    #[serde(alias = "accessRight")]
    pub access_right: Option<EnumText>,
    #[serde(alias = "description")]
    pub description: Option<String>,
}

/// `Get-ManagementRoleAssignment`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawRoleAssignment {
    #[serde(alias = "name")]
    pub name: Option<String>,
    #[serde(alias = "identity")]
    pub identity: Option<String>,
    #[serde(alias = "role")]
    pub role: Option<String>,
    #[serde(alias = "roleAssignee")]
    pub role_assignee: Option<String>,
    #[serde(alias = "roleAssigneeName")]
    pub role_assignee_name: Option<String>,
    #[serde(alias = "roleAssigneeType")]
    pub role_assignee_type: Option<EnumText>,
    #[serde(alias = "customResourceScope")]
    pub custom_resource_scope: Option<String>,
    #[serde(alias = "recipientWriteScope")]
    pub recipient_write_scope: Option<EnumText>,
    #[serde(alias = "customRecipientWriteScope")]
    pub custom_recipient_write_scope: Option<String>,
    #[serde(alias = "recipientAdministrativeUnitScope")]
    pub recipient_administrative_unit_scope: Option<String>,
    #[serde(alias = "recipientGroupScope")]
    pub recipient_group_scope: Option<String>,
    #[serde(default, deserialize_with = "present", alias = "enabled")]
    pub enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "datetime", alias = "whenCreated")]
    pub when_created: Option<DateTime<Utc>>,
}

/// `Get-ManagementScope`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawManagementScope {
    #[serde(alias = "name")]
    pub name: Option<String>,
    #[serde(alias = "identity")]
    pub identity: Option<String>,
    /// `Get-ManagementScope` shows the filter as `RecipientFilter`; `RecipientRestrictionFilter`
    /// is the parameter name of New-ManagementScope, accepted too.
    #[serde(
        rename = "RecipientFilter",
        alias = "recipientFilter",
        alias = "RecipientRestrictionFilter",
        alias = "recipientRestrictionFilter"
    )]
    pub recipient_filter: Option<String>,
    #[serde(alias = "recipientRoot")]
    pub recipient_root: Option<String>,
    #[serde(alias = "scopeRestrictionType")]
    pub scope_restriction_type: Option<EnumText>,
    #[serde(alias = "exclusive")]
    pub exclusive: Option<bool>,
}

/// `Get-ServicePrincipal` (Exchange Online's pointer to an Entra service principal).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawExchangeServicePrincipal {
    #[serde(alias = "AppID", alias = "appId")]
    pub app_id: Option<String>,
    /// The Entra service principal's object id.
    #[serde(alias = "objectId")]
    pub object_id: Option<String>,
    #[serde(alias = "serviceId")]
    pub service_id: Option<String>,
    #[serde(alias = "displayName")]
    pub display_name: Option<String>,
    #[serde(alias = "identity")]
    pub identity: Option<String>,
    #[serde(alias = "name")]
    pub name: Option<String>,
}

/// `Get-CASMailbox`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawCasMailbox {
    #[serde(alias = "identity")]
    pub identity: Option<String>,
    #[serde(alias = "name")]
    pub name: Option<String>,
    #[serde(alias = "displayName")]
    pub display_name: Option<String>,
    #[serde(alias = "primarySmtpAddress")]
    pub primary_smtp_address: Option<String>,
    #[serde(alias = "externalDirectoryObjectId")]
    pub external_directory_object_id: Option<String>,
    #[serde(default, deserialize_with = "present", alias = "ewsEnabled")]
    pub ews_enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present", alias = "imapEnabled")]
    pub imap_enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present", alias = "popEnabled")]
    pub pop_enabled: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "present",
        rename = "MAPIEnabled",
        alias = "MapiEnabled",
        alias = "mapiEnabled"
    )]
    pub mapi_enabled: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present", alias = "activeSyncEnabled")]
    pub active_sync_enabled: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "present",
        rename = "OWAEnabled",
        alias = "OwaEnabled",
        alias = "owaEnabled"
    )]
    pub owa_enabled: Option<Option<bool>>,
    #[serde(
        default,
        deserialize_with = "present",
        alias = "smtpClientAuthenticationDisabled"
    )]
    pub smtp_client_authentication_disabled: Option<Option<bool>>,
}

/// `Get-OrganizationConfig` (the EWS controls).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawOrganizationConfig {
    #[serde(alias = "identity")]
    pub identity: Option<String>,
    /// `$true`, `$false`, or `$null` (per-mailbox settings decide).
    #[serde(default, deserialize_with = "present", alias = "ewsEnabled")]
    pub ews_enabled: Option<Option<bool>>,
    /// A comma-separated string (as Set-OrganizationConfig takes it) or an array.
    #[serde(
        default,
        deserialize_with = "present",
        rename = "EwsAllowedAppIDs",
        alias = "EwsAllowedAppIds",
        alias = "ewsAllowedAppIDs",
        alias = "ewsAllowedAppIds"
    )]
    pub ews_allowed_app_ids: Option<Option<StringList>>,
    #[serde(alias = "ewsApplicationAccessPolicy")]
    pub ews_application_access_policy: Option<EnumText>,
}

/// A Graph group (groups referenced by mailbox scopes).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawGroup {
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(alias = "DisplayName")]
    pub display_name: Option<String>,
    #[serde(alias = "Mail")]
    pub mail: Option<String>,
    #[serde(alias = "MailNickname")]
    pub mail_nickname: Option<String>,
    #[serde(alias = "ProxyAddresses")]
    pub proxy_addresses: Option<Vec<String>>,
    #[serde(alias = "MailEnabled")]
    pub mail_enabled: Option<bool>,
    #[serde(alias = "SecurityEnabled")]
    pub security_enabled: Option<bool>,
    #[serde(alias = "GroupTypes")]
    pub group_types: Option<Vec<String>>,
    /// Written by `m365audit collect`; `members@odata.count` (Graph `$count`) and a
    /// `members` array are read too.
    #[serde(alias = "MemberCount", alias = "members@odata.count")]
    pub member_count: Option<u64>,
    /// The direct members, as `/groups/{id}/members` lists them (`m365audit collect
    /// --verify-mailbox` writes them) or `$expand=members` embeds them (at most 20).
    #[serde(alias = "Members")]
    pub members: Option<Vec<RawMember>>,
}

/// A group member as Graph lists it (a `directoryObject`: a user, group, contact, ...).
/// Graph PowerShell (`Get-MgGroupMember`) puts all but `Id` under `AdditionalProperties`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawMember {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    #[serde(alias = "Id")]
    pub id: Option<String>,
    #[serde(alias = "Mail")]
    pub mail: Option<String>,
    #[serde(alias = "UserPrincipalName")]
    pub user_principal_name: Option<String>,
    #[serde(alias = "AdditionalProperties")]
    pub additional_properties: Option<Box<RawMember>>,
}

impl RawMember {
    /// A property, from the object or else its `AdditionalProperties`.
    pub fn get(&self, of: fn(&RawMember) -> &Option<String>) -> Option<&str> {
        of(self).as_deref().or_else(|| {
            self.additional_properties
                .as_deref()
                .and_then(|extra| of(extra).as_deref())
        })
    }
}

/// `InScope` of Test-ServicePrincipalAuthorization: `true`/`false`, or the text the
/// PowerShell table shows (`True`, `False`, `Not Run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InScope {
    Yes,
    No,
    /// `Not Run` (no -Resource given) or any other text: no answer.
    Other(String),
}

impl<'de> Deserialize<'de> for InScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = InScope;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("true, false or a text such as \"Not Run\"")
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<InScope, E> {
                Ok(if v { InScope::Yes } else { InScope::No })
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<InScope, E> {
                Ok(match v.trim() {
                    t if t.eq_ignore_ascii_case("true") => InScope::Yes,
                    t if t.eq_ignore_ascii_case("false") => InScope::No,
                    t => InScope::Other(t.to_string()),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A row of `exchange/authorizationTests.json`: one answer of Exchange Online to "can this
/// app reach this mailbox", with the app and mailbox tested added (the cmdlets' outputs do
/// not always name both). Rows of `Test-ServicePrincipalAuthorization -Identity <app>
/// -Resource <mailbox>` carry `RoleName` and `InScope`, one per RBAC for Applications role
/// the app holds (a row with `RoleName` null records that it holds none); rows of
/// `Test-ApplicationAccessPolicy -Identity <mailbox> -AppId <app>` carry `AccessCheckResult`.
/// Other properties (a `Cmdlet` column, `MailboxId`, ...) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RawAuthorizationTest {
    #[serde(rename = "AppId", alias = "AppID", alias = "appId")]
    pub app_id: Option<String>,
    #[serde(alias = "mailbox")]
    pub mailbox: Option<String>,
    #[serde(default, deserialize_with = "present", alias = "roleName")]
    pub role_name: Option<Option<String>>,
    #[serde(alias = "grantedPermissions")]
    pub granted_permissions: Option<StringList>,
    #[serde(alias = "allowedResourceScope")]
    pub allowed_resource_scope: Option<String>,
    #[serde(alias = "scopeType")]
    pub scope_type: Option<EnumText>,
    #[serde(alias = "inScope")]
    pub in_scope: Option<InScope>,
    #[serde(alias = "accessCheckResult")]
    pub access_check_result: Option<EnumText>,
}
