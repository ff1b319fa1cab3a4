//! The normalized tenant: what the rules evaluate.

mod app;
pub mod catalog;
pub mod consent;
mod credential;
mod directory;
pub mod exchange;
mod id;
mod normalize;
mod permission;
pub mod policy;
pub mod scope;
mod tenant;

pub use app::{
    App, AppKind, CredentialSet, EnterpriseApp, ImplicitGrant, Organization, OrganizationKind,
    Owner, Platform, RedirectUri, ServicePrincipal, SignIns,
};
pub use catalog::{Catalog, CatalogError, PermissionClass, PermissionKind};
pub use credential::{Credential, CredentialKind};
pub use exchange::Exchange;
pub use permission::{DelegatedGrant, Holdings, Permission};
pub use scope::{AccessPath, MailboxAccess, Reach, Via};
pub use tenant::{Builder, FirstParty, Missing, Tenant, TenantInfo, build, resolve_permissions};
