//! Permissions an app requests or holds, resolved through the catalogue.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::catalog::{PermissionClass, PermissionKind};

/// A permission, requested or granted, resolved through the catalogue.
///
/// The strings are shared (`Arc<str>`): a large tenant holds millions of permissions but only
/// a few thousand distinct ids, values and resource names, and a resolved permission points
/// at the catalogue's copies instead of allocating four strings of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    /// appId of the API (`00000003-...` for Microsoft Graph); lowercase.
    pub resource_app_id: Option<Arc<str>>,
    #[serde(default)]
    pub resource_name: Option<Arc<str>>,
    /// Permission id (app role or scope id); lowercase.
    pub id: Arc<str>,
    /// `None` when the input's `type` is neither `Scope` nor `Role`.
    pub kind: Option<PermissionKind>,
    /// `Mail.ReadWrite` etc.; `None` when the id is unknown.
    #[serde(default)]
    pub value: Option<Arc<str>>,
    /// Whether the id is in the permission catalogue.
    #[serde(default)]
    pub in_catalog: bool,
    #[serde(default)]
    pub classes: Arc<[PermissionClass]>,
}

impl Permission {
    pub fn is_application(&self) -> bool {
        self.kind == Some(PermissionKind::Application)
    }

    pub fn has_class(&self, class: PermissionClass) -> bool {
        self.classes.contains(&class)
    }

    /// `Microsoft Graph Mail.ReadWrite`, or the ids when unresolved.
    pub fn label(&self) -> String {
        let resource = self
            .resource_name
            .as_deref()
            .or(self.resource_app_id.as_deref())
            .unwrap_or("unknown resource");
        match &self.value {
            Some(v) => format!("{resource} {v}"),
            None => format!("{resource} {} (unknown id)", self.id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegatedGrant {
    #[serde(default)]
    pub resource_app_id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    /// `AllPrincipals` (admin consent for all users) or `Principal` (one user).
    #[serde(default)]
    pub consent_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// What an app holds of some kind of permission, across requested and granted.
#[derive(Debug)]
pub struct Holdings<'a> {
    pub found: Vec<&'a Permission>,
    /// Both the requested and the granted lists were known, so "none found" is a fact.
    pub complete: bool,
}
