//! Building the normalized tenant from a snapshot: one pass over each collection to index it,
//! then one pass over the applications. Nothing is searched per app, so cost grows linearly.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::app::App;
use super::catalog::{Catalog, PermissionClass};
use super::directory::{
    Indexes, Resolver, build_app, home_tenant, is_first_party, unregistered_service_principals,
};
use super::exchange::verify;
use super::exchange::{self, EwsSwitch, Exchange};
use super::id::norm;
use super::policy::Policies;
use super::scope::{self, Inputs};
use crate::snapshot::{Part, RawApplication, Snapshot};

/// The normalized tenant of one source.
#[derive(Debug)]
pub struct Tenant {
    pub info: TenantInfo,
    /// App registrations, then service principals without one that hold permissions.
    pub apps: Vec<App>,
    pub exchange: Exchange,
    /// App ids of every app registration and service principal; `None` without
    /// servicePrincipals.json (then an unknown app id may still exist in the tenant).
    pub directory_app_ids: Option<HashSet<String>>,
    /// Microsoft's own service principals in the export; `None` without servicePrincipals.json.
    pub first_party: Option<FirstParty>,
    /// The app management policies (credential restrictions).
    pub policies: Policies,
    pub missing: Missing,
}

/// Microsoft first-party service principals, counted for the rules about their credentials
/// (those that carry one are apps of the tenant, [`AppKind::ServicePrincipal`](super::AppKind)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirstParty {
    pub service_principals: usize,
    /// How many were exported without `keyCredentials` or `passwordCredentials`.
    pub credentials_unknown: usize,
}

/// Tenant facts a rule may use (also `input.tenant` for Rego rules).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TenantInfo {
    pub tenant: Option<String>,
    pub tenant_id: Option<String>,
    /// `Get-OrganizationConfig` EwsEnabled: enabled, disabled or not_set; `None` = unknown.
    pub ews_enabled: Option<EwsSwitch>,
    /// `EwsAllowedAppIDs` (lowercase app ids); `None` = unknown.
    pub ews_allowed_app_ids: Option<Vec<String>>,
}

/// Why parts of the model are unknown, for `not_evaluated` reasons. `None` = known.
#[derive(Debug, Clone, Default)]
pub struct Missing {
    pub service_principals: Option<String>,
    /// Why every service principal's own credentials are unknown: servicePrincipals.json was
    /// read but no service principal in it has `keyCredentials` or `passwordCredentials`.
    pub service_principal_credentials: Option<String>,
    pub app_role_assignments: Option<String>,
    pub delegated_grants: Option<String>,
    /// Why an app without an `owners` property has unknown owners.
    pub owners: String,
    pub groups: Option<String>,
    pub access_policies: Option<String>,
    pub role_assignments: Option<String>,
    pub management_scopes: Option<String>,
    pub exchange_service_principals: Option<String>,
    pub cas_mailboxes: Option<String>,
    pub organization_config: Option<String>,
    /// Why the tenant's default app management policy is unknown.
    pub default_app_management_policy: Option<String>,
    /// Why the app management policies applied to single apps are unknown.
    pub app_management_policies: Option<String>,
    /// Why the apps' sign-in activity is unknown.
    pub sign_ins: Option<String>,
    /// Why the credentials' sign-in activity is unknown.
    pub credential_sign_ins: Option<String>,
    /// Why Exchange's answers for (app, mailbox) pairs are unknown.
    pub authorization_tests: Option<String>,
    /// Tested pairs the model has no app for, so nothing compares them.
    pub unmatched_tests: Option<String>,
}

impl Missing {
    /// Why the credentials of every service principal are unknown, when it is so for the
    /// whole tenant (no servicePrincipals.json, or none of its objects has them): rules then
    /// say it once for the tenant rather than once per app.
    pub fn all_service_principal_credentials(&self) -> Option<&str> {
        self.service_principals
            .as_deref()
            .or(self.service_principal_credentials.as_deref())
    }

    /// The reason granted permissions are unknown.
    pub fn granted(&self) -> String {
        self.app_role_assignments
            .as_ref()
            .or(self.service_principals.as_ref())
            .cloned()
            .unwrap_or_else(|| "granted permissions are unknown".into())
    }

    /// Everything missing for one reason (rule examples carry only an app).
    pub fn everything(why: &str) -> Missing {
        let m = || Some(why.to_string());
        Missing {
            service_principals: m(),
            // An example's service principal carries what it says: its credentials are
            // unknown only when it leaves them out.
            service_principal_credentials: None,
            app_role_assignments: m(),
            delegated_grants: m(),
            owners: why.to_string(),
            groups: m(),
            access_policies: m(),
            role_assignments: m(),
            management_scopes: m(),
            exchange_service_principals: m(),
            cas_mailboxes: m(),
            organization_config: m(),
            default_app_management_policy: m(),
            // An example gives the policy in force, if any, as the default.
            app_management_policies: None,
            // An example's app and credentials carry their own sign-in dates.
            sign_ins: None,
            credential_sign_ins: None,
            // An example's app carries its tested pairs in its mailbox access.
            authorization_tests: None,
            unmatched_tests: None,
        }
    }

    fn from_snapshot(s: &Snapshot) -> Missing {
        fn why<T>(part: &Part<T>) -> Option<String> {
            part.missing_reason().map(String::from)
        }
        let x = &s.exchange;
        let credentials_exported = |sp: &crate::snapshot::RawServicePrincipal| {
            sp.key_credentials.is_some() || sp.password_credentials.is_some()
        };
        let service_principal_credentials = s
            .service_principals
            .items()
            .filter(|sps| !sps.is_empty() && !sps.iter().any(credentials_exported))
            .map(|_| {
                "no service principal in servicePrincipals.json has keyCredentials or \
                 passwordCredentials: export it with all properties (Get-MgServicePrincipal -All, \
                 az ad sp list --all, m365audit collect)"
                    .to_string()
            });
        Missing {
            service_principals: why(&s.service_principals),
            service_principal_credentials,
            app_role_assignments: why(&s.app_role_assignments),
            delegated_grants: why(&s.oauth2_permission_grants),
            owners: s.owners_hint.to_string(),
            groups: why(&s.groups),
            access_policies: why(&x.access_policies),
            role_assignments: why(&x.role_assignments),
            management_scopes: why(&x.management_scopes),
            exchange_service_principals: why(&x.service_principals),
            cas_mailboxes: why(&x.cas_mailboxes),
            organization_config: why(&x.organization_config),
            default_app_management_policy: why(&s.policies.default),
            app_management_policies: why(&s.policies.app_policies),
            sign_ins: why(&s.sign_ins),
            credential_sign_ins: why(&s.credential_sign_ins),
            authorization_tests: why(&x.authorization_tests).map(|why| {
                format!(
                    "{why}: it holds Exchange's answers (Test-ServicePrincipalAuthorization, \
                     Test-ApplicationAccessPolicy) for chosen apps and mailboxes; run m365audit \
                     collect --exchange --verify-mailbox ADDRESS, or the PowerShell in the README"
                )
            }),
            unmatched_tests: None,
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
        p.id = norm(&p.id).into();
        p.resource_app_id = p.resource_app_id.as_deref().map(|r| norm(r).into());
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
            p.resource_name = catalog.resource_name(resource).map(Arc::from);
        }
    }
}

/// Exchange objects by the app id they name.
struct ExchangeLinks {
    policies_by_app: HashMap<String, Vec<usize>>,
    assignments_by_app: HashMap<String, Vec<usize>>,
}

impl ExchangeLinks {
    fn new(exchange: &Exchange, idx: &Indexes) -> Self {
        let mut policies_by_app: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in exchange.access_policies.iter().flatten().enumerate() {
            for app_id in &p.app_ids {
                policies_by_app.entry(app_id.clone()).or_default().push(i);
            }
        }
        let mut assignments_by_app: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in exchange.role_assignments.iter().flatten().enumerate() {
            if let Some(app_id) = assignment_app_id(a, exchange, idx) {
                assignments_by_app.entry(app_id).or_default().push(i);
            }
        }
        ExchangeLinks {
            policies_by_app,
            assignments_by_app,
        }
    }
}

/// The app id a role assignment's assignee stands for: through its Exchange service principal
/// pointer, or directly when the assignee is the Entra service principal's object id.
pub fn assignment_app_id(
    a: &exchange::RoleAssignment,
    exchange: &Exchange,
    idx: &Indexes,
) -> Option<String> {
    if let Some(sp) = a
        .service_principal
        .and_then(|i| exchange.service_principals.as_ref()?.get(i))
    {
        return sp.app_id.clone();
    }
    let assignee = norm(a.assignee.as_deref()?);
    idx.sp_by_id
        .get(&assignee)
        .and_then(|sp| sp.app_id.as_deref().map(norm))
}

/// Turns a snapshot into the normalized tenant. The snapshot is consumed: each raw
/// application is freed as soon as its app is built, so the raw and the normalized forms of
/// a large tenant are never both whole in memory.
pub fn build(mut snapshot: Snapshot, catalog: &Catalog) -> Tenant {
    let raw_apps = std::mem::take(&mut snapshot.applications);
    let builder = Builder::new(&snapshot, catalog);
    // Apps are built independently (the indexes are read-only): in parallel.
    let apps: Vec<App> = raw_apps
        .into_par_iter()
        .with_min_len(256)
        .map(|raw| builder.app(&raw))
        .collect();
    let registered = apps.iter().filter_map(|a| a.app_id.clone()).collect();
    builder.finish(apps, registered)
}

/// The tenant built in steps, so that applications can be normalized (and evaluated) while
/// they are still being read: [`new`](Self::new) indexes everything but the applications,
/// [`app`](Self::app) builds one app registration, [`finish`](Self::finish) adds the service
/// principals without one.
pub struct Builder<'s> {
    snapshot: &'s Snapshot,
    catalog: &'s Catalog,
    idx: Indexes<'s>,
    links: ExchangeLinks,
    pub info: TenantInfo,
    pub exchange: Exchange,
    pub missing: Missing,
    pub policies: Policies,
}

impl<'s> Builder<'s> {
    /// Indexes the snapshot's directory and Exchange collections; its `applications` are
    /// not read (they come to [`app`](Self::app)).
    pub fn new(snapshot: &'s Snapshot, catalog: &'s Catalog) -> Self {
        let (idx, exchange) = rayon::join(
            || Indexes::new(snapshot),
            || exchange::build(&snapshot.exchange, &snapshot.groups),
        );
        let missing = Missing::from_snapshot(snapshot);
        let links = ExchangeLinks::new(&exchange, &idx);
        let organization = exchange.organization.as_ref();
        let info = TenantInfo {
            tenant: snapshot.meta.tenant.clone(),
            tenant_id: snapshot.meta.tenant_id.clone(),
            ews_enabled: organization.and_then(|o| o.ews_enabled),
            ews_allowed_app_ids: organization.and_then(|o| o.ews_allowed_app_ids.clone()),
        };
        Builder {
            snapshot,
            catalog,
            idx,
            links,
            info,
            exchange,
            missing,
            policies: Policies::from_snapshot(snapshot),
        }
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver {
            catalog: self.catalog,
            idx: &self.idx,
        }
    }

    /// One app registration, joined with its service principal, grants and Exchange scoping.
    pub fn app(&self, raw: &RawApplication) -> App {
        let mut app = build_app(raw, self.snapshot, &self.resolver());
        app.mailbox_access = self.mailbox_access(&app);
        app
    }

    fn mailbox_access(&self, app: &App) -> scope::MailboxAccess {
        mailbox_access(
            app,
            &self.exchange,
            &self.links,
            &self.missing,
            self.catalog,
        )
    }

    /// The tenant: `apps` (app registrations built by [`app`](Self::app), in file order),
    /// then the service principals that hold permissions without an app registration.
    /// `registered` is the app ids of every app registration, which `apps` may leave out (a
    /// streamed scan that need not keep them).
    pub fn finish(self, mut apps: Vec<App>, registered: HashSet<String>) -> Tenant {
        let snapshot = self.snapshot;
        let directory_app_ids = snapshot.service_principals.items().map(|sps| {
            sps.iter()
                .filter_map(|sp| sp.app_id.as_deref().map(norm))
                .chain(registered.iter().cloned())
                .collect()
        });
        let with_rbac: HashSet<String> = self.links.assignments_by_app.keys().cloned().collect();
        let home = self
            .info
            .tenant_id
            .as_deref()
            .map(norm)
            .or_else(|| home_tenant(snapshot, &registered));
        let mut enterprise = unregistered_service_principals(
            snapshot,
            &registered,
            &with_rbac,
            home.as_deref(),
            &self.resolver(),
        );
        for app in &mut enterprise {
            app.mailbox_access = self.mailbox_access(app);
        }
        apps.extend(enterprise);
        let first_party = snapshot.service_principals.items().map(|sps| {
            let mut counts = FirstParty::default();
            for sp in sps {
                if is_first_party(sp, self.catalog) {
                    counts.service_principals += 1;
                    let known =
                        |l: &Option<Option<Vec<_>>>| l.as_ref().is_some_and(Option::is_some);
                    if !known(&sp.password_credentials) || !known(&sp.key_credentials) {
                        counts.credentials_unknown += 1;
                    }
                }
            }
            counts
        });
        let mut missing = self.missing;
        if let Some(tests) = &self.exchange.authorization_tests {
            let known: HashSet<&str> = registered
                .iter()
                .map(String::as_str)
                .chain(apps.iter().filter_map(|a| a.app_id.as_deref()))
                .collect();
            let mut strangers: Vec<&str> =
                tests.app_ids().filter(|id| !known.contains(id)).collect();
            strangers.sort_unstable();
            if !strangers.is_empty() {
                missing.unmatched_tests = Some(format!(
                    "exchange/authorizationTests.json tests app id {}, which is neither an app registration nor a service principal holding mail access in the export: its pairs are not compared",
                    strangers.join(", ")
                ));
            }
        }
        Tenant {
            info: self.info,
            apps,
            exchange: self.exchange,
            directory_app_ids,
            first_party,
            policies: self.policies,
            missing,
        }
    }
}

fn mailbox_access(
    app: &App,
    exchange: &Exchange,
    links: &ExchangeLinks,
    missing: &Missing,
    catalog: &Catalog,
) -> scope::MailboxAccess {
    let app_id = app.app_id.as_deref().unwrap_or_default();
    // Mailbox-class app-only permissions with whether each is requested and granted.
    let is_mail =
        |p: &&super::Permission| p.is_application() && p.has_class(PermissionClass::Mailbox);
    let same = |a: &super::Permission, b: &super::Permission| {
        a.id == b.id && a.resource_app_id == b.resource_app_id
    };
    let requested: Vec<&super::Permission> = app
        .requested_permissions
        .iter()
        .flatten()
        .filter(is_mail)
        .collect();
    let granted: Vec<&super::Permission> = app
        .granted_app_roles
        .iter()
        .flatten()
        .filter(is_mail)
        .collect();
    let mut entra: Vec<(&super::Permission, Option<bool>, Option<bool>)> = Vec::new();
    for &p in requested.iter().chain(granted.iter()) {
        if entra.iter().any(|(q, _, _)| same(q, p)) {
            continue;
        }
        let is_requested = app
            .requested_permissions
            .as_ref()
            .map(|_| requested.iter().any(|q| same(q, p)));
        let is_granted = app
            .granted_app_roles
            .as_ref()
            .map(|_| granted.iter().any(|q| same(q, p)));
        entra.push((p, is_requested, is_granted));
    }
    let grants_unknown = app.granted_app_roles.is_none().then(|| missing.granted());
    // Policies naming the app, and those naming every app (`-AppId *`).
    let policies = exchange.access_policies.as_ref().map(|all| {
        [app_id, "*"]
            .iter()
            .filter_map(|key| links.policies_by_app.get(*key))
            .flatten()
            .filter_map(|&i| all.get(i))
            .collect()
    });
    let assignments = exchange.role_assignments.as_ref().map(|all| {
        links
            .assignments_by_app
            .get(app_id)
            .into_iter()
            .flatten()
            .filter_map(|&i| all.get(i))
            .collect()
    });
    let role_permissions = |role: &str| catalog.application_role(role).map(<[String]>::to_vec);
    let verified = match &exchange.authorization_tests {
        Some(_) => verify::verifications(
            exchange,
            verify::AppScoping {
                app_id,
                policies: policies.clone().ok_or_else(|| {
                    missing
                        .access_policies
                        .clone()
                        .unwrap_or_else(|| "Application Access Policies are unknown".into())
                }),
                assignments: assignments.clone().ok_or_else(|| {
                    missing
                        .role_assignments
                        .clone()
                        .unwrap_or_else(|| "RBAC for Applications assignments are unknown".into())
                }),
                is_application_role: &|role| {
                    catalog.application_role(role).is_some() || role.starts_with("Application ")
                },
            },
        ),
        None => Vec::new(),
    };
    let mut access = scope::mailbox_access(Inputs {
        entra,
        grants_unknown,
        policies,
        policies_missing: missing.access_policies.clone(),
        assignments,
        assignments_missing: missing.role_assignments.clone(),
        role_permissions: &role_permissions,
    });
    access.verified = verified;
    access
}
