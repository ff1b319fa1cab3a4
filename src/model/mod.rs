//! The normalized tenant: what the rules evaluate.

mod app;
pub mod catalog;
mod tenant;

pub use app::{
    App, Credential, CredentialKind, DelegatedGrant, Holdings, ImplicitGrant, Owner, Permission,
    Platform, RedirectUri, ServicePrincipal,
};
pub use catalog::{Catalog, CatalogError, PermissionClass, PermissionKind};
pub use tenant::{Missing, Tenant, TenantInfo, build, resolve_permissions};
