//! Building the normalized tenant from a snapshot: one pass over each collection to index it,
//! then one pass over the applications. Nothing is searched per app, so cost grows linearly.

use std::collections::HashMap;

use serde::Serialize;

use super::app::{App, ServicePrincipal};
use super::catalog::{Catalog, PermissionKind};
use super::normalize::{
    credential, fallback_public_client, implicit_grant, norm, owner, redirect_uris,
};
use super::permission::{DelegatedGrant, Permission};
use crate::snapshot::{
    RawAppRoleAssignment, RawApplication, RawOAuth2PermissionGrant, RawServicePrincipal, Snapshot,
};

/// The normalized tenant of one source.
#[derive(Debug)]
pub struct Tenant {
    pub info: TenantInfo,
    pub apps: Vec<App>,
    pub missing: Missing,
}

/// Tenant facts a rule may use (also `input.tenant` for Rego rules).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantInfo {
    pub tenant: Option<String>,
    pub tenant_id: Option<String>,
}

/// Why parts of the model are unknown, for `not_evaluated` reasons. `None` = known.
#[derive(Debug, Clone, Default)]
pub struct Missing {
    pub service_principals: Option<String>,
    pub app_role_assignments: Option<String>,
    pub delegated_grants: Option<String>,
    /// Why an app without an `owners` property has unknown owners.
    pub owners: String,
}

impl Missing {
    /// The reason granted permissions are unknown.
    pub fn granted(&self) -> String {
        self.app_role_assignments
            .as_ref()
            .or(self.service_principals.as_ref())
            .cloned()
            .unwrap_or_else(|| "granted permissions are unknown".into())
    }
}

/// The nil GUID is the "default access" app role: an assignment of it grants no permission.
const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

struct Indexes<'s> {
    sp_by_app_id: HashMap<String, &'s RawServicePrincipal>,
    sp_by_id: HashMap<String, &'s RawServicePrincipal>,
    /// `(resource appId, permission id, kind)` → value, from resource service principals'
    /// own `appRoles`/`oauth2PermissionScopes`: names permissions the catalogue lacks.
    tenant_definitions: HashMap<(String, String, PermissionKind), String>,
    assignments_by_principal: Option<HashMap<String, Vec<&'s RawAppRoleAssignment>>>,
    grants_by_client: Option<HashMap<String, Vec<&'s RawOAuth2PermissionGrant>>>,
}

impl<'s> Indexes<'s> {
    fn new(snapshot: &'s Snapshot) -> Self {
        let sps = snapshot.service_principals.items().unwrap_or_default();
        let mut sp_by_app_id = HashMap::with_capacity(sps.len());
        let mut sp_by_id = HashMap::with_capacity(sps.len());
        let mut tenant_definitions = HashMap::new();
        for sp in sps {
            if let Some(id) = &sp.id {
                sp_by_id.insert(norm(id), sp);
            }
            let Some(app_id) = &sp.app_id else { continue };
            let app_id = norm(app_id);
            for (defs, kind) in [
                (&sp.app_roles, PermissionKind::Application),
                (&sp.oauth2_permission_scopes, PermissionKind::Delegated),
            ] {
                for def in defs.iter().flatten() {
                    if let (Some(id), Some(value)) = (&def.id, &def.value) {
                        tenant_definitions.insert((app_id.clone(), norm(id), kind), value.clone());
                    }
                }
            }
            sp_by_app_id.insert(app_id, sp);
        }
        let assignments_by_principal = snapshot.app_role_assignments.items().map(|list| {
            let mut map: HashMap<String, Vec<&RawAppRoleAssignment>> = HashMap::new();
            for a in list {
                if let Some(principal) = &a.principal_id {
                    map.entry(norm(principal)).or_default().push(a);
                }
            }
            map
        });
        let grants_by_client = snapshot.oauth2_permission_grants.items().map(|list| {
            let mut map: HashMap<String, Vec<&RawOAuth2PermissionGrant>> = HashMap::new();
            for g in list {
                if let Some(client) = &g.client_id {
                    map.entry(norm(client)).or_default().push(g);
                }
            }
            map
        });
        Indexes {
            sp_by_app_id,
            sp_by_id,
            tenant_definitions,
            assignments_by_principal,
            grants_by_client,
        }
    }
}

/// Resolves the permissions of a hand-written app (a rule example) through the catalogue, as
/// the loader does for exports: examples then need only resource, id and kind.
pub fn resolve_permissions(app: &mut App, catalog: &Catalog) {
    for p in app
        .requested_permissions
        .iter_mut()
        .chain(app.granted_app_roles.iter_mut())
        .flatten()
    {
        p.id = norm(&p.id);
        p.resource_app_id = p.resource_app_id.as_deref().map(norm);
        let (Some(resource), Some(kind)) = (p.resource_app_id.as_deref(), p.kind) else {
            continue;
        };
        if let Some(entry) = catalog.lookup(resource, &p.id, kind) {
            p.value.get_or_insert_with(|| entry.value.clone());
            p.in_catalog = true;
            if p.classes.is_empty() {
                p.classes = entry.classes.clone();
            }
        }
        if p.resource_name.is_none() {
            p.resource_name = catalog.resource_name(resource).map(String::from);
        }
    }
}

/// Turns a snapshot into the normalized tenant.
pub fn build(snapshot: &Snapshot, catalog: &Catalog) -> Tenant {
    let idx = Indexes::new(snapshot);
    let resolver = Resolver { catalog, idx: &idx };
    let apps = snapshot
        .applications
        .iter()
        .map(|raw| build_app(raw, snapshot, &resolver))
        .collect();
    Tenant {
        info: TenantInfo {
            tenant: snapshot.meta.tenant.clone(),
            tenant_id: snapshot.meta.tenant_id.clone(),
        },
        apps,
        missing: Missing {
            service_principals: snapshot
                .service_principals
                .missing_reason()
                .map(String::from),
            app_role_assignments: snapshot
                .app_role_assignments
                .missing_reason()
                .map(String::from),
            delegated_grants: snapshot
                .oauth2_permission_grants
                .missing_reason()
                .map(String::from),
            owners: snapshot.owners_hint.to_string(),
        },
    }
}

struct Resolver<'a> {
    catalog: &'a Catalog,
    idx: &'a Indexes<'a>,
}

impl Resolver<'_> {
    fn permission(
        &self,
        resource_app_id: Option<String>,
        resource_display_name: Option<&str>,
        id: &str,
        kind: Option<PermissionKind>,
    ) -> Permission {
        let id = norm(id);
        let entry = match (&resource_app_id, kind) {
            (Some(r), Some(k)) => self.catalog.lookup(r, &id, k),
            _ => None,
        };
        let value = match (entry, &resource_app_id, kind) {
            (Some(e), _, _) => Some(e.value.clone()),
            (None, Some(r), Some(k)) => self
                .idx
                .tenant_definitions
                .get(&(r.clone(), id.clone(), k))
                .cloned(),
            _ => None,
        };
        let resource_name = resource_app_id
            .as_deref()
            .and_then(|r| self.resource_name(r))
            .or_else(|| resource_display_name.map(String::from));
        Permission {
            resource_app_id,
            resource_name,
            id,
            kind,
            value,
            in_catalog: entry.is_some(),
            classes: entry.map(|e| e.classes.clone()).unwrap_or_default(),
        }
    }

    /// The catalogue's name of a resource, else its service principal's display name.
    fn resource_name(&self, resource_app_id: &str) -> Option<String> {
        self.catalog
            .resource_name(resource_app_id)
            .map(String::from)
            .or_else(|| {
                self.idx
                    .sp_by_app_id
                    .get(resource_app_id)
                    .and_then(|sp| sp.display_name.clone())
            })
    }

    /// The appId of a resource service principal, from its object id.
    fn resource_app_id(&self, resource_object_id: Option<&str>) -> Option<String> {
        let sp = self.idx.sp_by_id.get(&norm(resource_object_id?))?;
        sp.app_id.as_deref().map(norm)
    }
}

fn build_app(raw: &RawApplication, snapshot: &Snapshot, r: &Resolver) -> App {
    let app_id = raw.app_id.as_deref().map(norm);

    let service_principal = match (&snapshot.service_principals.items(), &app_id) {
        (Some(_), Some(app_id)) => match r.idx.sp_by_app_id.get(app_id) {
            Some(sp) => ServicePrincipal::Present {
                object_id: sp.id.as_deref().map(norm),
                enabled: sp.account_enabled.flatten(),
            },
            None => ServicePrincipal::Absent,
        },
        _ => ServicePrincipal::Unknown,
    };
    let sp_object_id = match &service_principal {
        ServicePrincipal::Present { object_id, .. } => object_id.clone(),
        _ => None,
    };
    // Grants hang off the service principal: none without one, unknown without the files.
    let granted_app_roles = match (&service_principal, &r.idx.assignments_by_principal) {
        (ServicePrincipal::Absent, _) => Some(Vec::new()),
        (ServicePrincipal::Present { .. }, Some(by_principal)) => Some(
            sp_object_id
                .as_ref()
                .and_then(|id| by_principal.get(id))
                .map(|list| {
                    list.iter()
                        .filter(|a| {
                            a.app_role_id
                                .as_deref()
                                .is_some_and(|id| norm(id) != DEFAULT_ACCESS_ROLE)
                        })
                        .map(|a| {
                            r.permission(
                                r.resource_app_id(a.resource_id.as_deref()),
                                a.resource_display_name.as_deref(),
                                a.app_role_id.as_deref().unwrap_or_default(),
                                Some(PermissionKind::Application),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => None,
    };
    let delegated_grants = match (&service_principal, &r.idx.grants_by_client) {
        (ServicePrincipal::Absent, _) => Some(Vec::new()),
        (ServicePrincipal::Present { .. }, Some(by_client)) => Some(
            sp_object_id
                .as_ref()
                .and_then(|id| by_client.get(id))
                .map(|list| list.iter().map(|g| delegated_grant(g, r)).collect())
                .unwrap_or_default(),
        ),
        _ => None,
    };

    App {
        object_id: raw.id.as_deref().or(raw.object_id.as_deref()).map(norm),
        app_id,
        display_name: raw.display_name.clone().or_else(|| raw.name.clone()),
        sign_in_audience: raw.sign_in_audience.clone().or_else(|| {
            raw.available_to_other_tenants.map(|any| {
                if any {
                    "AzureADMultipleOrgs".to_string()
                } else {
                    "AzureADMyOrg".to_string()
                }
            })
        }),
        redirect_uris: redirect_uris(raw),
        implicit_grant: implicit_grant(raw),
        fallback_public_client: fallback_public_client(raw),
        password_credentials: raw
            .password_credentials
            .as_ref()
            .and_then(Option::as_ref)
            .map(|list| list.iter().map(|c| credential(c, true)).collect()),
        key_credentials: raw
            .key_credentials
            .as_ref()
            .and_then(Option::as_ref)
            .map(|list| list.iter().map(|c| credential(c, false)).collect()),
        federated_credentials: raw.federated_identity_credentials.as_ref().map(Vec::len),
        requested_permissions: raw
            .required_resource_access
            .as_ref()
            .and_then(Option::as_ref)
            .map(|list| {
                list.iter()
                    .flat_map(|rra| {
                        let resource = rra.resource_app_id.as_deref().map(norm);
                        rra.resource_access
                            .iter()
                            .flatten()
                            .filter_map(move |ra| Some((resource.clone(), ra.id.as_deref()?, ra)))
                    })
                    .map(|(resource, id, ra)| {
                        r.permission(
                            resource,
                            None,
                            id,
                            ra.kind
                                .as_deref()
                                .and_then(PermissionKind::from_resource_access_type),
                        )
                    })
                    .collect()
            }),
        granted_app_roles,
        delegated_grants,
        owners: raw
            .owners
            .as_ref()
            .and_then(Option::as_ref)
            .map(|list| list.iter().map(owner).collect()),
        service_principal,
    }
}

fn delegated_grant(g: &RawOAuth2PermissionGrant, r: &Resolver) -> DelegatedGrant {
    let resource_app_id = r.resource_app_id(g.resource_id.as_deref());
    DelegatedGrant {
        resource_name: resource_app_id.as_deref().and_then(|a| r.resource_name(a)),
        resource_app_id,
        consent_type: g.consent_type.clone(),
        principal_id: g.principal_id.as_deref().map(norm),
        scopes: g
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect(),
    }
}
