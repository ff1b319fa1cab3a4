//! Helpers shared by the kinds about enterprise applications: whose app it is, the mailbox
//! scopes users and admins consented to, and the mailbox access an app holds.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::registry::Param;
use super::{Context, Outcomes};
use crate::finding::Severity;
pub use crate::model::consent::{Consent, MailConsent, mail_consents};

/// The parameter of the consent kinds that raises their severity for unverified publishers.
pub const UNVERIFIED_PUBLISHER: Param = Param {
    name: "unverified_publisher",
    ty: "severity",
    default: Some("\"high\""),
    meaning: "The severity when the app's publisher is not verified (or the export does not say).",
};

/// The default of [`UNVERIFIED_PUBLISHER`].
pub fn high() -> Severity {
    Severity::High
}
use crate::model::{App, Organization, OrganizationKind, PermissionClass, Via};

/// Why whose app it is is unknown, and how to export it.
pub const ORGANIZATION_UNKNOWN: &str = "the service principal has no appOwnerOrganizationId in \
the export, so whose app it is is unknown: export service principals with all their properties \
(Get-MgServicePrincipal -All, az ad sp list --all, or m365audit collect)";

/// Why a publisher's verification is unknown, and how to export it.
pub const VERIFICATION_UNKNOWN: &str = "the service principal has no verifiedPublisher in the \
export: export service principals with all their properties (Get-MgServicePrincipal -All, \
az ad sp list --all, or m365audit collect)";

/// For rules about other organizations' apps: the app's organization when it is another
/// organization's. This tenant's and Microsoft's apps are not what such a rule is about (no
/// outcome); an app whose organization is unknown is recorded as not evaluated.
pub fn other_organization<'a>(app: &'a App, out: &mut Outcomes) -> Option<&'a Organization> {
    match app.organization.kind {
        OrganizationKind::Other => Some(&app.organization),
        OrganizationKind::ThisTenant | OrganizationKind::Microsoft => None,
        OrganizationKind::Unknown => {
            out.not_evaluated(None, ORGANIZATION_UNKNOWN);
            None
        }
    }
}

/// For the consent rules: another organization's app with its mailbox consents. Records
/// not evaluated when whose app it is or its grants are unknown; `None` for this tenant's and
/// Microsoft's apps.
pub fn foreign_mail_consents<'a>(
    app: &'a App,
    cx: &Context<'_>,
    out: &mut Outcomes,
) -> Option<(&'a Organization, Vec<MailConsent<'a>>)> {
    let org = other_organization(app, out)?;
    let Some(consents) = mail_consents(app, cx.catalog) else {
        out.not_evaluated(None, grants_unknown_reason(cx));
        return None;
    };
    Some((org, consents))
}

/// Why an app's delegated grants are unknown.
pub fn grants_unknown_reason(cx: &Context<'_>) -> String {
    cx.missing
        .delegated_grants
        .clone()
        .unwrap_or_else(|| "the app's delegated permission grants are unknown".into())
}

/// Mailbox access the app holds app-only: granted mailbox permissions and RBAC for
/// Applications assignments, by label. Requested-but-not-granted permissions are not held.
pub fn app_only_mail_access(app: &App) -> Vec<String> {
    let mut held = BTreeSet::new();
    for p in app.granted_app_roles.iter().flatten() {
        if p.is_application() && p.has_class(PermissionClass::Mailbox) {
            held.insert(p.label());
        }
    }
    for path in &app.mailbox_access.paths {
        if path.via == Via::Rbac {
            held.insert(format!("RBAC for Applications: {}", path.permission));
        }
    }
    held.into_iter().collect()
}

/// Why "reaches no mail" cannot be said of any app of the tenant: RBAC for Applications
/// assignments are unknown, so app-only access through Exchange is unseen. Kinds that pass
/// apps without mail access say it once for the tenant and stay silent on those apps.
pub fn rbac_unseen_for_tenant(missing: &crate::model::Missing) -> Option<String> {
    missing.role_assignments.as_ref().map(|why| {
        format!("apps without app-only mail access in Entra are not judged: RBAC for Applications assignments are unknown ({why})")
    })
}

/// Privileged directory permissions the app is granted (PERM-004's class), by label.
pub fn privileged_access(app: &App) -> Vec<String> {
    let mut held: Vec<String> = app
        .granted_app_roles
        .iter()
        .flatten()
        .filter(|p| p.is_application() && p.has_class(PermissionClass::PrivilegedDirectory))
        .map(|p| p.label())
        .collect();
    held.sort();
    held.dedup();
    held
}

/// The organization as evidence.
pub fn organization_evidence(org: &Organization) -> Value {
    json!({
        "kind": org.kind,
        "tenant_id": org.tenant_id,
        "publisher": org.publisher,
        "verified_publisher": org.verified,
    })
}
