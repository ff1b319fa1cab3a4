//! The normalized tenant: what the rules evaluate.

mod app;
pub mod catalog;
mod credential;
mod normalize;
mod permission;
mod tenant;

pub use app::{App, ImplicitGrant, Owner, Platform, RedirectUri, ServicePrincipal};
pub use catalog::{Catalog, CatalogError, PermissionClass, PermissionKind};
pub use credential::{Credential, CredentialKind};
pub use permission::{DelegatedGrant, Holdings, Permission};
pub use tenant::{Missing, Tenant, TenantInfo, build, resolve_permissions};
