//! Joins across the Entra directory: an app registration to its service principal, and the
//! service principal to its app role assignments and delegated grants (by object id), each
//! resolved through the catalogue. Every collection is indexed once.

use std::collections::HashMap;
use std::sync::Arc;

use super::app::{
    App, AppKind, EnterpriseApp, Organization, OrganizationKind, ServicePrincipal, SignIns,
};
use super::catalog::{Catalog, MICROSOFT_SERVICES_TENANT, PermissionClass, PermissionKind};
use super::id::norm;
use super::normalize::{credentials, fallback_public_client, implicit_grant, owner, redirect_uris};
use super::permission::{DelegatedGrant, Permission};
use crate::snapshot::{
    RawAppRoleAssignment, RawApplication, RawOAuth2PermissionGrant, RawServicePrincipal,
    RawServicePrincipalSignInActivity, Snapshot,
};

/// The nil GUID is the "default access" app role: an assignment of it grants no permission.
const DEFAULT_ACCESS_ROLE: &str = "00000000-0000-0000-0000-000000000000";

/// Service principals by a normalized id.
type SpIndex<'s> = HashMap<String, &'s RawServicePrincipal>;
/// `(resource appId, permission id, kind)` → value.
type Definitions = HashMap<(String, String, PermissionKind), String>;

pub(super) struct Indexes<'s> {
    pub(super) sp_by_app_id: SpIndex<'s>,
    pub(super) sp_by_id: SpIndex<'s>,
    /// `(resource appId, permission id, kind)` → value, from resource service principals'
    /// own `appRoles`/`oauth2PermissionScopes`: names permissions the catalogue lacks.
    tenant_definitions: Definitions,
    pub(super) assignments_by_principal: Option<HashMap<String, Vec<&'s RawAppRoleAssignment>>>,
    grants_by_client: Option<HashMap<String, Vec<&'s RawOAuth2PermissionGrant>>>,
    /// The sign-in activity report's rows by app id; `None` without the report.
    sign_ins: Option<HashMap<String, &'s RawServicePrincipalSignInActivity>>,
    /// The last sign-in of each credential by key id; `None` without the report.
    credential_sign_ins: Option<HashMap<String, Option<chrono::DateTime<chrono::Utc>>>>,
}

impl<'s> Indexes<'s> {
    pub(super) fn new(snapshot: &'s Snapshot) -> Self {
        // Three independent indexes over the three big collections: built side by side.
        let (
            (sp_by_app_id, sp_by_id, tenant_definitions),
            (assignments_by_principal, grants_by_client),
        ) = rayon::join(
            || Self::service_principals(snapshot),
            || {
                rayon::join(
                    || {
                        snapshot
                            .app_role_assignments
                            .items()
                            .map(|list| group_by(list, |a| a.principal_id.as_deref()))
                    },
                    || {
                        snapshot
                            .oauth2_permission_grants
                            .items()
                            .map(|list| group_by(list, |g| g.client_id.as_deref()))
                    },
                )
            },
        );
        let sign_ins = snapshot.sign_ins.items().map(|rows| {
            rows.iter()
                .filter_map(|r| Some((norm(r.app_id.as_deref()?), r)))
                .collect()
        });
        let credential_sign_ins = snapshot.credential_sign_ins.items().map(|rows| {
            let mut by_key: HashMap<String, Option<chrono::DateTime<chrono::Utc>>> =
                HashMap::with_capacity(rows.len());
            for r in rows {
                let Some(key) = r.key_id.as_deref() else {
                    continue;
                };
                let at = r
                    .sign_in_activity
                    .as_ref()
                    .and_then(|a| a.last_sign_in_date_time);
                // A key used from several resources has a row per resource: keep the latest.
                let entry = by_key.entry(norm(key)).or_default();
                *entry = (*entry).max(at);
            }
            by_key
        });
        Indexes {
            sp_by_app_id,
            sp_by_id,
            tenant_definitions,
            assignments_by_principal,
            grants_by_client,
            sign_ins,
            credential_sign_ins,
        }
    }

    /// Service principals by app id and by object id, and the permissions they define.
    fn service_principals(snapshot: &'s Snapshot) -> (SpIndex<'s>, SpIndex<'s>, Definitions) {
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
        (sp_by_app_id, sp_by_id, tenant_definitions)
    }
}

/// Items by a normalized id they name (assignments by principal, grants by client).
fn group_by<T>(list: &[T], key: impl Fn(&T) -> Option<&str>) -> HashMap<String, Vec<&T>> {
    let mut map: HashMap<String, Vec<&T>> = HashMap::with_capacity(list.len());
    for item in list {
        if let Some(id) = key(item) {
            map.entry(norm(id)).or_default().push(item);
        }
    }
    map
}

pub(super) struct Resolver<'a> {
    pub(super) catalog: &'a Catalog,
    pub(super) idx: &'a Indexes<'a>,
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
                .map(|v| Arc::from(v.as_str())),
            _ => None,
        };
        // Catalogue resources and permissions share the catalogue's strings.
        let known = resource_app_id
            .as_deref()
            .and_then(|r| self.catalog.resource_names(r));
        let (resource_app_id, resource_name) = match known {
            Some((app_id, name)) => (Some(app_id.clone()), Some(name.clone())),
            None => (
                resource_app_id.as_deref().map(Arc::from),
                resource_app_id
                    .as_deref()
                    .and_then(|r| self.resource_name(r))
                    .or_else(|| resource_display_name.map(String::from))
                    .map(Arc::from),
            ),
        };
        Permission {
            resource_app_id,
            resource_name,
            id: entry.map_or_else(|| Arc::from(id), |e| e.id.clone()),
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

/// An app's sign-in activity: unknown without the report, no record without its row.
fn sign_ins(app_id: Option<&str>, idx: &Indexes) -> SignIns {
    let Some(rows) = &idx.sign_ins else {
        return SignIns::Unknown;
    };
    let Some(row) = app_id.and_then(|id| rows.get(id)) else {
        return SignIns::NoRecord;
    };
    let at = |a: &Option<crate::snapshot::RawSignInActivity>| {
        a.as_ref().and_then(|a| a.last_sign_in_date_time)
    };
    SignIns::Recorded {
        last: at(&row.last_sign_in_activity),
        app_only: at(&row.application_authentication_client_sign_in_activity),
        delegated: at(&row.delegated_client_sign_in_activity),
        as_resource: at(&row.delegated_resource_sign_in_activity)
            .max(at(&row.application_authentication_resource_sign_in_activity)),
    }
}

/// Fills in each credential's last sign-in from the credential report.
fn credential_sign_ins(app: &mut App, idx: &Indexes) {
    let Some(by_key) = &idx.credential_sign_ins else {
        return;
    };
    let sp = match &mut app.service_principal {
        ServicePrincipal::Present(sp) => Some(sp),
        _ => None,
    };
    let sp_lists = sp
        .map(|sp| [&mut sp.password_credentials, &mut sp.key_credentials])
        .into_iter()
        .flatten();
    for list in [&mut app.password_credentials, &mut app.key_credentials]
        .into_iter()
        .chain(sp_lists)
        .flatten()
    {
        for c in list.iter_mut() {
            c.last_sign_in = c
                .key_id
                .as_deref()
                .and_then(|k| by_key.get(k).copied().flatten());
        }
    }
}

/// The service principal of an app id: present, absent, or unknown without the file.
fn service_principal_of(
    app_id: Option<&str>,
    snapshot: &Snapshot,
    idx: &Indexes,
) -> ServicePrincipal {
    match (snapshot.service_principals.items(), app_id) {
        (Some(_), Some(app_id)) => match idx.sp_by_app_id.get(app_id) {
            Some(sp) => sp_present(sp),
            None => ServicePrincipal::Absent,
        },
        _ => ServicePrincipal::Unknown,
    }
}

fn sp_present(sp: &RawServicePrincipal) -> ServicePrincipal {
    ServicePrincipal::Present(Box::new(EnterpriseApp {
        object_id: sp.id.as_deref().map(norm),
        enabled: sp.account_enabled.flatten(),
        password_credentials: credentials(&sp.password_credentials, true),
        key_credentials: credentials(&sp.key_credentials, false),
        app_role_assignment_required: sp.app_role_assignment_required.flatten(),
        preferred_single_sign_on_mode: sp
            .preferred_single_sign_on_mode
            .clone()
            .map(|m| m.filter(|m| !m.is_empty())),
        service_principal_type: sp.service_principal_type.clone(),
        tags: sp.tags.as_ref().map(|t| t.0.clone()),
    }))
}

/// The tenant a service principal's app is registered in, as the export states it.
fn owner_tenant(sp: &RawServicePrincipal) -> Option<&str> {
    sp.app_owner_organization_id
        .as_deref()
        .or(sp.app_owner_tenant_id.as_deref())
}

/// Whether a service principal is one of Microsoft's own apps: registered in Microsoft's
/// tenant, or an app id the catalogue lists.
pub(super) fn is_first_party(sp: &RawServicePrincipal, catalog: &Catalog) -> bool {
    owner_tenant(sp).is_some_and(|t| t.eq_ignore_ascii_case(MICROSOFT_SERVICES_TENANT))
        || sp
            .app_id
            .as_deref()
            .is_some_and(|id| catalog.first_party_name(&norm(id)).is_some())
}

/// The organization a service principal's app belongs to. `registered_here`: the app has a
/// registration in this tenant; `home`: this tenant's id, when known.
pub(super) fn organization(
    sp: Option<&RawServicePrincipal>,
    registered_here: bool,
    home: Option<&str>,
    catalog: &Catalog,
) -> Organization {
    let Some(sp) = sp else {
        return if registered_here {
            Organization::this_tenant()
        } else {
            Organization::default()
        };
    };
    let tenant_id = owner_tenant(sp).map(norm);
    let first_party = is_first_party(sp, catalog);
    let managed_identity = sp
        .service_principal_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity"));
    let kind = if registered_here {
        OrganizationKind::ThisTenant
    } else if first_party {
        OrganizationKind::Microsoft
    } else if managed_identity || (tenant_id.is_some() && tenant_id.as_deref() == home) {
        OrganizationKind::ThisTenant
    } else if tenant_id.is_some() {
        OrganizationKind::Other
    } else {
        OrganizationKind::Unknown
    };
    let named = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let (publisher, verified) = match &sp.verified_publisher {
        None => (named(&sp.publisher_name), None),
        Some(Some(v)) if v.display_name.is_some() || v.verified_publisher_id.is_some() => (
            named(&v.display_name).or_else(|| named(&sp.publisher_name)),
            Some(true),
        ),
        Some(_) => (named(&sp.publisher_name), Some(false)),
    };
    Organization {
        kind,
        tenant_id,
        publisher,
        verified,
    }
}

/// Application permissions granted to a service principal. Grants hang off the service
/// principal: none without one, unknown without the files.
fn granted_app_roles(sp: &ServicePrincipal, r: &Resolver) -> Option<Vec<Permission>> {
    match (sp, &r.idx.assignments_by_principal) {
        (ServicePrincipal::Absent, _) => Some(Vec::new()),
        (ServicePrincipal::Present(sp), Some(by_principal)) => Some(
            sp.object_id
                .as_ref()
                .and_then(|id| by_principal.get(id))
                .map(|list| {
                    list.iter()
                        .filter(|a| is_permission(a))
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
    }
}

/// Whether an app role assignment grants a permission (the nil role is default access).
fn is_permission(a: &RawAppRoleAssignment) -> bool {
    a.app_role_id
        .as_deref()
        .is_some_and(|id| norm(id) != DEFAULT_ACCESS_ROLE)
}

fn delegated_grants(sp: &ServicePrincipal, r: &Resolver) -> Option<Vec<DelegatedGrant>> {
    match (sp, &r.idx.grants_by_client) {
        (ServicePrincipal::Absent, _) => Some(Vec::new()),
        (ServicePrincipal::Present(sp), Some(by_client)) => Some(
            sp.object_id
                .as_ref()
                .and_then(|id| by_client.get(id))
                .map(|list| list.iter().map(|g| delegated_grant(g, r)).collect())
                .unwrap_or_default(),
        ),
        _ => None,
    }
}

/// Service principals with no app registration in this tenant (other organizations' apps,
/// Microsoft's, managed identities) that reach data or can be signed in as: they hold
/// application permissions, `extra` names them (app ids with RBAC for Applications
/// assignments), they carry a credential of their own, or users consented to mailbox scopes
/// for them. The rest (most of a tenant's service principals: Microsoft's resources, apps
/// nobody consented to mail for) have nothing the rules look at.
pub(super) fn unregistered_service_principals(
    snapshot: &Snapshot,
    registered: &std::collections::HashSet<String>,
    extra: &std::collections::HashSet<String>,
    home: Option<&str>,
    r: &Resolver,
) -> Vec<App> {
    let Some(sps) = snapshot.service_principals.items() else {
        return Vec::new();
    };
    let holds_roles = |sp: &RawServicePrincipal| {
        let (Some(id), Some(by_principal)) = (&sp.id, &r.idx.assignments_by_principal) else {
            return false;
        };
        by_principal
            .get(&norm(id))
            .is_some_and(|list| list.iter().any(|a| is_permission(a)))
    };
    let has_credential = |sp: &RawServicePrincipal| {
        [&sp.password_credentials, &sp.key_credentials]
            .into_iter()
            .any(|list| {
                list.as_ref()
                    .and_then(Option::as_ref)
                    .is_some_and(|l| !l.is_empty())
            })
    };
    let has_mail_consent = |sp: &RawServicePrincipal| {
        let (Some(id), Some(by_client)) = (&sp.id, &r.idx.grants_by_client) else {
            return false;
        };
        by_client.get(&norm(id)).is_some_and(|grants| {
            grants.iter().any(|g| {
                let resource = r.resource_app_id(g.resource_id.as_deref());
                g.scope
                    .as_deref()
                    .unwrap_or_default()
                    .split_whitespace()
                    .any(|scope| {
                        r.catalog.scope_in_class(
                            resource.as_deref(),
                            scope,
                            PermissionClass::MailboxDelegated,
                        )
                    })
            })
        })
    };
    sps.iter()
        .filter(|sp| {
            let app_id = sp.app_id.as_deref().map(norm).unwrap_or_default();
            !registered.contains(&app_id)
                && (holds_roles(sp)
                    || extra.contains(&app_id)
                    || has_credential(sp)
                    || has_mail_consent(sp))
        })
        .map(|sp| {
            let service_principal = sp_present(sp);
            let app_id = sp.app_id.as_deref().map(norm);
            let mut app = App {
                kind: AppKind::ServicePrincipal,
                sign_ins: sign_ins(app_id.as_deref(), r.idx),
                app_id,
                display_name: sp.display_name.clone(),
                organization: organization(Some(sp), false, home, r.catalog),
                granted_app_roles: granted_app_roles(&service_principal, r),
                delegated_grants: delegated_grants(&service_principal, r),
                service_principal,
                ..App::default()
            };
            credential_sign_ins(&mut app, r.idx);
            app
        })
        .collect()
}

/// This tenant's id as its own apps' service principals state it: the
/// `appOwnerOrganizationId` most service principals of registered apps carry. For exports
/// without a tenant id in `snapshot.json`.
pub(super) fn home_tenant(
    snapshot: &Snapshot,
    registered: &std::collections::HashSet<String>,
) -> Option<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for sp in snapshot.service_principals.items().unwrap_or_default() {
        let (Some(app_id), Some(owner)) = (sp.app_id.as_deref(), owner_tenant(sp)) else {
            continue;
        };
        if registered.contains(&norm(app_id)) {
            *counts.entry(norm(owner)).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(id, _)| id)
}

pub(super) fn build_app(raw: &RawApplication, snapshot: &Snapshot, r: &Resolver) -> App {
    let app_id = raw.app_id.as_deref().map(norm);
    let service_principal = service_principal_of(app_id.as_deref(), snapshot, r.idx);
    let sp = app_id
        .as_deref()
        .and_then(|id| r.idx.sp_by_app_id.get(id).copied());
    let granted_app_roles = granted_app_roles(&service_principal, r);
    let delegated_grants = delegated_grants(&service_principal, r);

    let mut app = App {
        kind: AppKind::Application,
        sign_ins: sign_ins(app_id.as_deref(), r.idx),
        object_id: raw.id.as_deref().or(raw.object_id.as_deref()).map(norm),
        app_id,
        display_name: raw.display_name.clone().or_else(|| raw.name.clone()),
        created: raw.created_date_time,
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
        password_credentials: credentials(&raw.password_credentials, true),
        key_credentials: credentials(&raw.key_credentials, false),
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
        organization: organization(sp, true, None, r.catalog),
        ..App::default()
    };
    credential_sign_ins(&mut app, r.idx);
    app
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
