//! The permission catalogue: permission ids of Microsoft Graph, Office 365 Exchange Online and
//! Azure AD Graph with their values and sources (`rules/catalog/permissions.json`), and the
//! permission classes the rules use (`rules/catalog/permission-classes.toml`). Both are
//! embedded in the binary.
//!
//! Lookups are always by `(resourceAppId, id, type)`: Exchange Online reuses some Graph ids
//! for same-named roles but not others, and Azure AD Graph uses one id for a role and a scope.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

const PERMISSIONS_JSON: &str = include_str!("../../rules/catalog/permissions.json");
const CLASSES_TOML: &str = include_str!("../../rules/catalog/permission-classes.toml");
const ROLES_TOML: &str = include_str!("../../rules/catalog/exchange-application-roles.toml");
const FIRST_PARTY_TOML: &str = include_str!("../../rules/catalog/first-party-apps.toml");

/// The tenant Microsoft registers its first-party apps in (Microsoft Services): their
/// service principals carry it as `appOwnerOrganizationId`.
pub const MICROSOFT_SERVICES_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// Delegated (`Scope`) or application (`Role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionKind {
    Delegated,
    Application,
}

impl PermissionKind {
    /// From `resourceAccess[].type`; Microsoft writes `Scope`/`Role`, hand-edited files vary
    /// in case.
    pub fn from_resource_access_type(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("Scope") {
            Some(PermissionKind::Delegated)
        } else if s.eq_ignore_ascii_case("Role") {
            Some(PermissionKind::Application)
        } else {
            None
        }
    }
}

/// Groups of permissions that rules treat alike. The names are the table names in
/// `permission-classes.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PermissionClass {
    /// App-only access to mail, calendars, contacts or mailbox settings of every mailbox.
    Mailbox,
    /// Exchange Web Services, app-only or delegated.
    Ews,
    /// IMAP, POP, SMTP AUTH, Exchange ActiveSync.
    LegacyProtocol,
    /// Tenant takeover: grant roles or permissions, act as other apps, rewrite users.
    PrivilegedDirectory,
    /// Delegated access to the signed-in user's mail, calendars, contacts or mailbox
    /// settings (and what is shared with them): matched on scope values, by pattern.
    MailboxDelegated,
}

#[derive(Debug, Clone)]
pub struct CatalogEntry {
    /// The id, lowercase (shared with every permission resolved to this entry).
    pub id: Arc<str>,
    pub value: Arc<str>,
    pub description: String,
    /// `verified` (two or more independent sources) or `single-source`.
    pub verification: String,
    pub classes: Arc<[PermissionClass]>,
}

#[derive(Debug)]
struct Resource {
    /// The appId, lowercase.
    app_id: Arc<str>,
    name: Arc<str>,
    app_roles: HashMap<String, CatalogEntry>,
    scopes: HashMap<String, CatalogEntry>,
}

#[derive(Debug)]
pub struct Catalog {
    resources: HashMap<String, Resource>,
    /// `(resource appId, lowercase pattern, class)`: a pattern is a scope value, or a prefix
    /// followed by `*`.
    scope_patterns: Vec<(Arc<str>, String, PermissionClass)>,
    /// Microsoft first-party app ids (lowercase) → name.
    first_party: HashMap<String, String>,
    /// Exchange application roles (lowercase name) → permissions they grant.
    application_roles: HashMap<String, Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("rules/catalog/permissions.json: {0}")]
    Permissions(serde_json::Error),
    #[error("rules/catalog/permission-classes.toml: {0}")]
    Classes(String),
    #[error("rules/catalog/exchange-application-roles.toml: {0}")]
    Roles(String),
    #[error("rules/catalog/first-party-apps.toml: {0}")]
    FirstParty(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FirstPartyFile {
    sources: BTreeMap<String, String>,
    apps: BTreeMap<String, FirstPartyApp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FirstPartyApp {
    name: String,
    sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    roles: BTreeMap<String, Vec<String>>,
}

// Shapes of the two data files.
#[derive(Deserialize)]
struct PermissionsFile {
    resources: Vec<ResourceFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceFile {
    app_id: String,
    name: String,
    app_roles: Vec<EntryFile>,
    oauth2_permission_scopes: Vec<EntryFile>,
}

#[derive(Deserialize)]
struct EntryFile {
    id: String,
    value: String,
    description_short: String,
    verification: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassFile {
    #[allow(dead_code)] // documentation for readers of the file
    description: String,
    #[allow(dead_code)]
    sources: Vec<String>,
    /// Resource name → app role values.
    #[serde(default)]
    application: BTreeMap<String, Vec<String>>,
    /// Resource name → scope values.
    #[serde(default)]
    delegated: BTreeMap<String, Vec<String>>,
    /// Resource name → scope values or prefixes ending in `*` (`Mail.*`), matched on the
    /// values delegated grants name, whether or not the catalogue lists them.
    #[serde(default)]
    scope_patterns: BTreeMap<String, Vec<String>>,
}

impl Catalog {
    /// The catalogue embedded in the binary.
    pub fn builtin() -> Result<Catalog, CatalogError> {
        let mut catalog = Self::parse(PERMISSIONS_JSON, CLASSES_TOML)?;
        let roles: RolesFile =
            toml::from_str(ROLES_TOML).map_err(|e| CatalogError::Roles(e.to_string()))?;
        catalog.application_roles = roles
            .roles
            .into_iter()
            .map(|(name, perms)| (name.to_ascii_lowercase(), perms))
            .collect();
        let first_party: FirstPartyFile = toml::from_str(FIRST_PARTY_TOML)
            .map_err(|e| CatalogError::FirstParty(e.to_string()))?;
        if let Some((id, source)) = first_party.apps.iter().find_map(|(id, app)| {
            app.sources
                .iter()
                .find(|s| !first_party.sources.contains_key(*s))
                .map(|s| (id, s))
        }) {
            return Err(CatalogError::FirstParty(format!(
                "{id} cites source {source:?}, which [sources] does not define"
            )));
        }
        catalog.first_party = first_party
            .apps
            .into_iter()
            .map(|(id, app)| (id.to_ascii_lowercase(), app.name))
            .collect();
        for r in catalog.resources.values() {
            catalog
                .first_party
                .entry(r.app_id.to_string())
                .or_insert_with(|| r.name.to_string());
        }
        Ok(catalog)
    }

    /// The name of a Microsoft first-party app the catalogue knows by its app id.
    pub fn first_party_name(&self, app_id: &str) -> Option<&str> {
        self.first_party.get(app_id).map(String::as_str)
    }

    /// Whether a delegated scope value (as a grant names it) is in `class` by the class's
    /// scope patterns. A grant whose resource is unknown matches any resource's patterns:
    /// an unresolved resource must not hide a mailbox scope.
    pub fn scope_in_class(
        &self,
        resource_app_id: Option<&str>,
        value: &str,
        class: PermissionClass,
    ) -> bool {
        // Patterns are stored lowercase; values compare case-insensitively, as Entra does.
        self.scope_patterns.iter().any(|(resource, pattern, c)| {
            *c == class
                && resource_app_id.is_none_or(|r| **resource == *r)
                && match pattern.strip_suffix('*') {
                    Some(prefix) => value
                        .get(..prefix.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
                    None => value.eq_ignore_ascii_case(pattern),
                }
        })
    }

    /// Every app role in `class`, as `(resource appId, role id)`, lowercase.
    pub fn app_roles_in(&self, class: PermissionClass) -> Vec<(String, String)> {
        let mut roles: Vec<(String, String)> = self
            .resources
            .values()
            .flat_map(|r| {
                r.app_roles
                    .values()
                    .filter(move |e| e.classes.contains(&class))
                    .map(|e| (r.app_id.to_string(), e.id.to_string()))
            })
            .collect();
        roles.sort();
        roles
    }

    /// The permissions an Exchange application role (RBAC for Applications) grants.
    pub fn application_role(&self, role: &str) -> Option<&[String]> {
        self.application_roles
            .get(&role.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    fn parse(permissions: &str, classes: &str) -> Result<Catalog, CatalogError> {
        let file: PermissionsFile =
            serde_json::from_str(permissions).map_err(CatalogError::Permissions)?;
        let entries = |list: Vec<EntryFile>| -> HashMap<String, CatalogEntry> {
            list.into_iter()
                .map(|e| {
                    let id = e.id.to_ascii_lowercase();
                    (
                        id.clone(),
                        CatalogEntry {
                            id: id.into(),
                            value: e.value.into(),
                            description: e.description_short,
                            verification: e.verification,
                            classes: Arc::new([]),
                        },
                    )
                })
                .collect()
        };
        let mut resources: HashMap<String, Resource> = file
            .resources
            .into_iter()
            .map(|r| {
                let app_id = r.app_id.to_ascii_lowercase();
                (
                    app_id.clone(),
                    Resource {
                        app_id: app_id.into(),
                        name: r.name.into(),
                        app_roles: entries(r.app_roles),
                        scopes: entries(r.oauth2_permission_scopes),
                    },
                )
            })
            .collect();

        let mut classes: BTreeMap<PermissionClass, ClassFile> =
            toml::from_str(classes).map_err(|e| CatalogError::Classes(e.to_string()))?;
        let mut scope_patterns = Vec::new();
        for (&class, def) in &mut classes {
            for (resource_name, patterns) in std::mem::take(&mut def.scope_patterns) {
                let resource = resources
                    .values()
                    .find(|r| *r.name == *resource_name)
                    .ok_or_else(|| {
                        CatalogError::Classes(format!(
                            "class {class:?}: unknown resource {resource_name:?}"
                        ))
                    })?;
                for pattern in patterns {
                    scope_patterns.push((
                        resource.app_id.clone(),
                        pattern.to_ascii_lowercase(),
                        class,
                    ));
                }
            }
        }
        let members = classes.into_iter().flat_map(|(class, def)| {
            let application = def
                .application
                .into_iter()
                .map(move |(r, v)| (class, PermissionKind::Application, r, v));
            let delegated = def
                .delegated
                .into_iter()
                .map(move |(r, v)| (class, PermissionKind::Delegated, r, v));
            application.chain(delegated)
        });
        for (class, kind, resource_name, values) in members {
            let resource = resources
                .values_mut()
                .find(|r| *r.name == *resource_name)
                .ok_or_else(|| {
                    CatalogError::Classes(format!(
                        "class {class:?}: unknown resource {resource_name:?}"
                    ))
                })?;
            let table = match kind {
                PermissionKind::Application => &mut resource.app_roles,
                PermissionKind::Delegated => &mut resource.scopes,
            };
            for value in values {
                let entry = table.values_mut().find(|e| *e.value == *value).ok_or_else(|| {
                    CatalogError::Classes(format!(
                        "class {class:?}: {resource_name} has no {kind:?} permission {value:?} in permissions.json"
                    ))
                })?;
                entry.classes = entry.classes.iter().copied().chain([class]).collect();
            }
        }
        Ok(Catalog {
            resources,
            scope_patterns,
            first_party: HashMap::new(),
            application_roles: HashMap::new(),
        })
    }

    /// The catalogue's name for a resource (`Microsoft Graph`, ...).
    pub fn resource_name(&self, resource_app_id: &str) -> Option<&str> {
        self.resources.get(resource_app_id).map(|r| &*r.name)
    }

    /// The catalogue's shared copies of a resource's appId and name.
    pub fn resource_names(&self, resource_app_id: &str) -> Option<(&Arc<str>, &Arc<str>)> {
        self.resources
            .get(resource_app_id)
            .map(|r| (&r.app_id, &r.name))
    }

    /// Looks a permission up by its value (`Mail.Send`), for delegated grants, which name
    /// scopes by value. Values compare case-insensitively, as Entra does.
    pub fn lookup_value(
        &self,
        resource_app_id: &str,
        value: &str,
        kind: PermissionKind,
    ) -> Option<&CatalogEntry> {
        let resource = self.resources.get(resource_app_id)?;
        let table = match kind {
            PermissionKind::Application => &resource.app_roles,
            PermissionKind::Delegated => &resource.scopes,
        };
        table.values().find(|e| e.value.eq_ignore_ascii_case(value))
    }

    /// A resource named by its catalogue name (case-insensitive) or appId: `(appId, name)`.
    pub fn resource(&self, name_or_id: &str) -> Option<(&str, &str)> {
        let key = name_or_id.trim().to_ascii_lowercase();
        self.resources
            .iter()
            .find(|(id, r)| **id == key || r.name.eq_ignore_ascii_case(&key))
            .map(|(id, r)| (id.as_str(), &*r.name))
    }

    /// The id of a permission named by its value (case-insensitive).
    pub fn id_of(&self, resource_app_id: &str, value: &str, kind: PermissionKind) -> Option<&str> {
        let resource = self.resources.get(resource_app_id)?;
        let table = match kind {
            PermissionKind::Application => &resource.app_roles,
            PermissionKind::Delegated => &resource.scopes,
        };
        table
            .iter()
            .find(|(_, e)| e.value.eq_ignore_ascii_case(value))
            .map(|(id, _)| id.as_str())
    }

    /// Looks a permission up by `(resourceAppId, id, type)`. Ids are expected lowercase.
    pub fn lookup(
        &self,
        resource_app_id: &str,
        id: &str,
        kind: PermissionKind,
    ) -> Option<&CatalogEntry> {
        let resource = self.resources.get(resource_app_id)?;
        match kind {
            PermissionKind::Application => resource.app_roles.get(id),
            PermissionKind::Delegated => resource.scopes.get(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
    const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
    const AADG: &str = "00000002-0000-0000-c000-000000000000";

    #[test]
    fn lookups_are_keyed_by_resource_id_and_type() {
        let c = Catalog::builtin().unwrap();
        // Same id on Graph and Exchange Online, both Mail.ReadWrite app roles.
        let id = "e2a3a72e-5f79-4c64-b1b1-878b674786c9";
        assert_eq!(
            c.lookup(GRAPH, id, PermissionKind::Application)
                .unwrap()
                .value
                .as_ref(),
            "Mail.ReadWrite"
        );
        assert_eq!(
            c.lookup(EXO, id, PermissionKind::Application)
                .unwrap()
                .value
                .as_ref(),
            "Mail.ReadWrite"
        );
        // The vendor guide's 12466101 is Calendars.ReadWrite.Shared, a delegated scope.
        let shared = "12466101-c9b8-439a-8589-dd09ee67e8e9";
        assert_eq!(
            c.lookup(GRAPH, shared, PermissionKind::Delegated)
                .unwrap()
                .value
                .as_ref(),
            "Calendars.ReadWrite.Shared"
        );
        assert!(
            c.lookup(GRAPH, shared, PermissionKind::Application)
                .is_none()
        );
        // Azure AD Graph: one id for the Directory.Read.All role and scope.
        let dir = "5778995a-e1bf-45b8-affa-663a9f3f4d04";
        assert!(c.lookup(AADG, dir, PermissionKind::Application).is_some());
        assert!(c.lookup(AADG, dir, PermissionKind::Delegated).is_some());
        assert_eq!(c.resource_name(EXO), Some("Office 365 Exchange Online"));
    }

    #[test]
    fn mailbox_class_covers_graph_and_exchange_roles_only() {
        let c = Catalog::builtin().unwrap();
        let full_access = c
            .lookup(
                EXO,
                "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
                PermissionKind::Application,
            )
            .unwrap();
        assert_eq!(&*full_access.value, "full_access_as_app");
        assert_eq!(
            *full_access.classes,
            [PermissionClass::Mailbox, PermissionClass::Ews]
        );
        // Delegated Mail.ReadWrite is not app-only mailbox access.
        let delegated = c
            .lookup(
                GRAPH,
                "024d486e-b451-40bb-833d-3e66d98c5c73",
                PermissionKind::Delegated,
            )
            .unwrap();
        assert_eq!(&*delegated.value, "Mail.ReadWrite");
        assert!(delegated.classes.is_empty());
    }

    #[test]
    fn a_class_naming_an_unknown_permission_is_an_error() {
        let bad = "[mailbox]\ndescription = \"\"\nsources = []\n[mailbox.application]\n\"Microsoft Graph\" = [\"Mail.ReadEverything\"]\n";
        let err = Catalog::parse(PERMISSIONS_JSON, bad).unwrap_err();
        assert!(err.to_string().contains("Mail.ReadEverything"), "{err}");
    }
}
