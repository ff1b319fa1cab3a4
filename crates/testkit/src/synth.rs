//! A synthetic tenant, generated deterministically from a seed: Graph objects (applications
//! with owners, service principals, app role assignments, delegated grants, groups) and
//! Exchange Online objects (access policies, role assignments, scopes, CAS mailboxes,
//! organization config), shaped exactly as Microsoft returns them.
//!
//! It feeds the `fake-graph` server (which serves it as Graph and the Exchange admin API
//! would) and can be written in the export layout, so a live collection and an offline scan
//! of the same tenant can be compared. The mix is chosen so that every shipped rule has both
//! failing and passing subjects.

use std::io;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use m365audit::model::catalog::{Catalog, PermissionKind};
use m365audit::snapshot::layout;

pub const GRAPH: &str = "00000003-0000-0000-c000-000000000000";
pub const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";
pub const AAD_GRAPH: &str = "00000002-0000-0000-c000-000000000000";
/// Microsoft's own tenant: the owner of first-party service principals.
const MICROSOFT_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub apps: usize,
    pub seed: u64,
    /// Credential dates are spread around this instant.
    pub reference: DateTime<Utc>,
}

/// The Exchange Online part, one list per cmdlet.
#[derive(Debug, Clone, Default)]
pub struct SynthExchange {
    pub access_policies: Vec<Value>,
    pub role_assignments: Vec<Value>,
    pub management_scopes: Vec<Value>,
    pub service_principals: Vec<Value>,
    pub cas_mailboxes: Vec<Value>,
    pub organization_config: Value,
}

/// A generated tenant. Applications carry their complete `owners` list; groups carry
/// `memberCount` (served by the fake as `/groups/{id}/members/$count`).
#[derive(Debug, Clone)]
pub struct SynthTenant {
    pub tenant_id: String,
    pub domain: String,
    pub applications: Vec<Value>,
    pub service_principals: Vec<Value>,
    pub app_role_assignments: Vec<Value>,
    pub oauth2_permission_grants: Vec<Value>,
    pub groups: Vec<Value>,
    /// The direct members of each of `groups` (users with a mailbox), in the same order:
    /// served as `/groups/{id}/members`, and what the fake's Exchange tests answer from. Not
    /// in `groups.json` (a plain Graph listing has no members).
    pub group_members: Vec<Vec<Value>>,
    pub exchange: SynthExchange,
    /// `policies/defaultAppManagementPolicy.json` (one object).
    pub default_app_management_policy: Value,
    /// `policies/appManagementPolicies.json`, with `appliesTo`.
    pub app_management_policies: Vec<Value>,
    /// `reports/servicePrincipalSignInActivities.json`.
    pub sign_in_activities: Vec<Value>,
    /// `reports/appCredentialSignInActivities.json`.
    pub credential_sign_in_activities: Vec<Value>,
}

/// The two sign-in activity reports, following the apps' order rather than the random stream
/// (so adding them changed no other generated value): one app in 5 has no row (no sign-in on
/// record), the others signed in app-only within the last 120 days; one credential in 7 has no
/// row (never used), the others were used within the last 150 days.
fn sign_in_reports(
    applications: &[Value],
    service_principals: &[Value],
    now: DateTime<Utc>,
) -> (Vec<Value>, Vec<Value>) {
    let sp_of: std::collections::HashMap<&str, &str> = service_principals
        .iter()
        .filter_map(|sp| Some((sp["appId"].as_str()?, sp["id"].as_str()?)))
        .collect();
    let at = |days: usize| json!({"lastSignInDateTime": ts(now - Duration::days(days as i64))});
    let none = json!({"lastSignInDateTime": null});
    let mut apps = Vec::new();
    let mut credentials = Vec::new();
    for (i, app) in applications.iter().enumerate() {
        let app_id = app["appId"].as_str().unwrap_or_default();
        let Some(sp_id) = sp_of.get(app_id) else {
            continue;
        };
        if i % 5 != 0 {
            apps.push(json!({
                "id": app_id, "appId": app_id, "lastSignInActivity": at(i % 120),
                "applicationAuthenticationClientSignInActivity": at(i % 120),
                "delegatedClientSignInActivity": none, "delegatedResourceSignInActivity": none,
                "applicationAuthenticationResourceSignInActivity": none,
            }));
        }
        let keys = app["passwordCredentials"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (c, "clientSecret"))
            .chain(
                app["keyCredentials"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| (c, "certificate")),
            );
        for (k, (c, kind)) in keys.enumerate() {
            if (i + k) % 7 == 0 {
                continue;
            }
            credentials.push(json!({
                "id": format!("{app_id}-{k}"), "keyId": c["keyId"], "keyType": kind,
                "appId": app_id, "appObjectId": app["id"], "servicePrincipalObjectId": sp_id,
                "credentialOrigin": "application", "createdDateTime": c["startDateTime"],
                "expirationDateTime": c["endDateTime"], "signInActivity": at((i + k) % 150),
            }));
        }
    }
    (apps, credentials)
}

/// SplitMix64: small, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn guid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

fn ts(t: DateTime<Utc>) -> String {
    m365audit::dates::rfc3339(t)
}

/// A permission the generator requests or grants.
struct Perm {
    resource: &'static str,
    value: &'static str,
    kind: PermissionKind,
    id: String,
}

/// The permissions used, resolved through the catalogue (so ids are real).
struct Perms {
    mail: Vec<Perm>,
    user_read: Perm,
    ews: Perm,
    aad_user_read: Perm,
    privileged: Perm,
    mail_read: Perm,
    offline: Perm,
}

impl Perms {
    fn new(catalog: &Catalog) -> Self {
        let p = |resource: &'static str, value: &'static str, kind: PermissionKind| Perm {
            resource,
            value,
            kind,
            id: catalog
                .id_of(resource, value, kind)
                .map(String::from)
                .unwrap_or_else(|| panic!("catalogue lacks {value}")),
        };
        use PermissionKind::{Application as A, Delegated as D};
        Perms {
            mail: vec![
                p(GRAPH, "Mail.ReadWrite", A),
                p(GRAPH, "Mail.Send", A),
                p(GRAPH, "Calendars.ReadWrite", A),
            ],
            user_read: p(GRAPH, "User.Read", D),
            ews: p(EXCHANGE, "full_access_as_app", A),
            aad_user_read: p(AAD_GRAPH, "User.Read", D),
            privileged: p(GRAPH, "Directory.ReadWrite.All", A),
            mail_read: p(GRAPH, "Mail.Read", A),
            offline: p(GRAPH, "offline_access", D),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Perm> {
        self.mail.iter().chain([
            &self.user_read,
            &self.ews,
            &self.aad_user_read,
            &self.privileged,
            &self.mail_read,
            &self.offline,
        ])
    }
}

const NAMES: &[&str] = &[
    "CRM Connector",
    "Helpdesk Mail",
    "Calendar Sync",
    "ERP Mailer",
    "Contact Center",
    "Reporting",
    "HR Portal",
    "Intranet",
    "Invoice Scanner",
    "Marketing Mailer",
];

impl SynthTenant {
    pub fn generate(opts: &SynthOptions) -> SynthTenant {
        let catalog = Catalog::builtin().expect("the embedded catalogue loads");
        let perms = Perms::new(&catalog);
        let mut rng = Rng(opts.seed);
        let tenant_id = rng.guid();
        let domain = format!("synthetic{}.onmicrosoft.com", opts.seed);
        let now = opts.reference;

        // Resource service principals, defining the app roles and scopes used.
        let mut service_principals = Vec::new();
        let mut resource_sp = std::collections::HashMap::new();
        for (app_id, name) in [
            (GRAPH, "Microsoft Graph"),
            (EXCHANGE, "Office 365 Exchange Online"),
            (AAD_GRAPH, "Windows Azure Active Directory"),
        ] {
            let id = rng.guid();
            let roles: Vec<Value> = perms
                .all()
                .filter(|p| p.resource == app_id && p.kind == PermissionKind::Application)
                .map(|p| json!({"id": p.id, "value": p.value, "allowedMemberTypes": ["Application"], "isEnabled": true}))
                .collect();
            let scopes: Vec<Value> = perms
                .all()
                .filter(|p| p.resource == app_id && p.kind == PermissionKind::Delegated)
                .map(|p| json!({"id": p.id, "value": p.value, "type": "User", "isEnabled": true}))
                .collect();
            service_principals.push(json!({
                "id": id, "appId": app_id, "displayName": name,
                "servicePrincipalType": "Application", "accountEnabled": true,
                "appOwnerOrganizationId": MICROSOFT_TENANT,
                "appRoles": roles, "oauth2PermissionScopes": scopes,
                "keyCredentials": [], "passwordCredentials": [],
                "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
                "publisherName": "Microsoft Services", "appRoleAssignmentRequired": false,
                "preferredSingleSignOnMode": null, "tags": [],
            }));
            resource_sp.insert(app_id, (id, name));
        }

        let users: Vec<Value> = (0..200)
            .map(|i| {
                json!({"@odata.type": "#microsoft.graph.user", "id": rng.guid(),
                       "displayName": format!("User {i:03}"),
                       "userPrincipalName": format!("user{i:03}@{domain}")})
            })
            .collect();

        let mut applications = Vec::with_capacity(opts.apps);
        let mut app_role_assignments = Vec::new();
        let mut oauth2_permission_grants = Vec::new();
        // (appId, SP object id, name, mail app?, ews?) of registrations with a service principal.
        let mut with_sp: Vec<(String, String, String, bool, bool)> = Vec::new();

        for i in 0..opts.apps {
            let id = rng.guid();
            let app_id = rng.guid();
            let name = format!("{} {i:05}", NAMES[rng.below(NAMES.len() as u64) as usize]);
            let audience = match rng.below(100) {
                0..78 => "AzureADMyOrg",
                78..95 => "AzureADMultipleOrgs",
                _ => "AzureADandPersonalMicrosoftAccount",
            };
            let secrets: Vec<Value> = (0..[0, 1, 1, 2][rng.below(4) as usize])
                .map(|_| {
                    let start = now - Duration::days(rng.below(900) as i64);
                    let days = [90, 180, 365, 730][rng.below(4) as usize];
                    json!({"customKeyIdentifier": null, "displayName": "client secret",
                           "endDateTime": ts(start + Duration::days(days)),
                           "hint": "abc", "keyId": rng.guid(), "secretText": null,
                           "startDateTime": ts(start)})
                })
                .collect();
            let certs: Vec<Value> = if rng.chance(20) {
                let start = now - Duration::days(rng.below(400) as i64);
                vec![
                    json!({"customKeyIdentifier": "3D2D0A8F6B4E1C7A9B0E5F2D8C1A6B3E4F7D9C0B",
                            "displayName": format!("CN=app{i:05}"),
                            "endDateTime": ts(start + Duration::days(365)), "key": null,
                            "keyId": rng.guid(), "startDateTime": ts(start),
                            "type": "AsymmetricX509Cert", "usage": "Verify"}),
                ]
            } else {
                vec![]
            };
            let mut web = Vec::new();
            if rng.chance(60) {
                web.push(match rng.below(100) {
                    0..5 => format!("https://App{i:05}.contoso.com/Auth/Callback"),
                    5..8 => format!("http://app{i:05}.contoso.com/auth/callback"),
                    8..10 => "https://*.contoso.com/auth/callback".to_string(),
                    _ => format!("https://app{i:05}.contoso.com/auth/callback"),
                });
            }
            let spa: Vec<String> = if rng.chance(10) {
                vec![format!("https://spa{i:05}.contoso.com/")]
            } else {
                vec![]
            };
            let public: Vec<String> = if rng.chance(10) {
                vec!["https://login.microsoftonline.com/common/oauth2/nativeclient".into()]
            } else {
                vec![]
            };

            // What the app asks for.
            let mut requested: Vec<&Perm> = vec![&perms.user_read];
            let kind = rng.below(100);
            let mail_app = kind < 35;
            let ews = (35..40).contains(&kind);
            if mail_app {
                for p in &perms.mail {
                    if rng.chance(70) {
                        requested.push(p);
                    }
                }
                requested.push(&perms.offline);
            }
            if ews {
                requested.push(&perms.ews);
            }
            if (40..43).contains(&kind) {
                requested.push(&perms.aad_user_read);
            }
            if (43..48).contains(&kind) {
                requested.push(&perms.privileged);
            }
            let unknown = rng.chance(1).then(|| rng.guid());
            let mut rra: Vec<Value> = Vec::new();
            for resource in [GRAPH, EXCHANGE, AAD_GRAPH] {
                let mut access: Vec<Value> = requested
                    .iter()
                    .filter(|p| p.resource == resource)
                    .map(|p| {
                        let t = match p.kind {
                            PermissionKind::Application => "Role",
                            PermissionKind::Delegated => "Scope",
                        };
                        json!({"id": p.id, "type": t})
                    })
                    .collect();
                if resource == GRAPH
                    && let Some(u) = &unknown
                {
                    access.push(json!({"id": u, "type": "Role"}));
                }
                if !access.is_empty() {
                    rra.push(json!({"resourceAppId": resource, "resourceAccess": access}));
                }
            }

            let owner_count = match rng.below(100) {
                0..10 => 0,
                10..12 => 25,
                _ => 1 + rng.below(3) as usize,
            };
            let first = rng.below(users.len() as u64) as usize;
            let owners: Vec<Value> = (0..owner_count)
                .map(|k| users[(first + k) % users.len()].clone())
                .collect();

            applications.push(json!({
                "id": id, "appId": app_id, "displayName": name,
                "createdDateTime": ts(now - Duration::days(1000 + rng.below(500) as i64)),
                "signInAudience": audience,
                "identifierUris": [],
                "isFallbackPublicClient": if rng.chance(3) { json!(true) } else { Value::Null },
                "keyCredentials": certs,
                "passwordCredentials": secrets,
                "publicClient": {"redirectUris": public},
                "requiredResourceAccess": rra,
                "spa": {"redirectUris": spa},
                "web": {"homePageUrl": null, "logoutUrl": null, "redirectUris": web,
                        "implicitGrantSettings": {
                            "enableAccessTokenIssuance": rng.chance(4),
                            "enableIdTokenIssuance": rng.chance(10)}},
                "owners": owners,
            }));

            if rng.chance(7) {
                continue; // registrations without a service principal
            }
            let sp_id = rng.guid();
            // The enterprise-application properties follow the app's index, not the random
            // stream, so adding them left every other generated value as it was: one app in
            // 97 has a secret added to its service principal, one in 3 requires assignment.
            let sp_secrets = if i % 97 == 42 {
                json!([{"keyId": format!("5b000000-0000-4000-8000-{i:012}"),
                        "displayName": "added in the tenant", "hint": "Zx~",
                        "startDateTime": ts(now - Duration::days(30)),
                        "endDateTime": ts(now + Duration::days(700))}])
            } else {
                json!([])
            };
            service_principals.push(json!({
                "id": sp_id, "appId": app_id, "displayName": name,
                "servicePrincipalType": "Application", "accountEnabled": true,
                "appOwnerOrganizationId": tenant_id, "appRoles": [], "oauth2PermissionScopes": [],
                "keyCredentials": [], "passwordCredentials": sp_secrets,
                "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
                "publisherName": domain, "appRoleAssignmentRequired": i % 3 == 0,
                "preferredSingleSignOnMode": null, "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
            }));
            let mut delegated: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for p in &requested {
                match p.kind {
                    PermissionKind::Application if rng.chance(92) => {
                        let (rid, rname) = &resource_sp[p.resource];
                        app_role_assignments
                            .push(assignment(&mut rng, p, &sp_id, &name, rid, rname, now));
                    }
                    PermissionKind::Delegated if rng.chance(85) => {
                        delegated.entry(p.resource).or_default().push(p.value);
                    }
                    _ => {}
                }
            }
            if rng.chance(1) {
                let (rid, rname) = &resource_sp[GRAPH];
                app_role_assignments.push(assignment(
                    &mut rng,
                    &perms.mail_read,
                    &sp_id,
                    &name,
                    rid,
                    rname,
                    now,
                ));
            }
            for (resource, scopes) in delegated {
                oauth2_permission_grants.push(json!({
                    "clientId": sp_id, "consentType": "AllPrincipals", "id": rng.guid(),
                    "principalId": null, "resourceId": resource_sp[resource].0,
                    "scope": scopes.join(" "),
                }));
            }
            with_sp.push((app_id, sp_id, name, mail_app, ews));
        }

        let (groups, exchange) = exchange(&mut rng, &tenant_id, &domain, &with_sp, opts.apps);
        // Policies follow no random stream: a two-year secret limit for apps created since
        // 2025 (POLICY-001 fails: longer than a year), and 180 days for the first app.
        let default_app_management_policy = json!({
            "id": "00000000-0000-0000-0000-000000000000",
            "displayName": "Default app management tenant policy",
            "isEnabled": true,
            "applicationRestrictions": {
                "passwordCredentials": [{"restrictionType": "passwordLifetime", "maxLifetime": "P730D",
                                         "restrictForAppsCreatedAfterDateTime": "2025-01-01T00:00:00Z"}],
                "keyCredentials": []},
            "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []},
        });
        let app_management_policies = applications
            .first()
            .map(|app| {
                vec![json!({
                    "id": "7e3c0a1d-0000-4000-8000-000000000001",
                    "displayName": "Short secrets",
                    "isEnabled": true,
                    "restrictions": {
                        "passwordCredentials": [{"restrictionType": "passwordLifetime", "maxLifetime": "P180D",
                                                 "restrictForAppsCreatedAfterDateTime": "2026-01-01T00:00:00Z"}],
                        "keyCredentials": []},
                    "appliesTo": [{"@odata.type": "#microsoft.graph.application", "id": app["id"]}],
                })]
            })
            .unwrap_or_default();
        let (sign_in_activities, credential_sign_in_activities) =
            sign_in_reports(&applications, &service_principals, now);
        let mut groups = groups;
        let group_members = members(&mut groups, &exchange.cas_mailboxes);
        SynthTenant {
            tenant_id,
            domain,
            applications,
            service_principals,
            app_role_assignments,
            oauth2_permission_grants,
            groups,
            group_members,
            exchange,
            default_app_management_policy,
            app_management_policies,
            sign_in_activities,
            credential_sign_in_activities,
        }
    }

    /// Writes the tenant in the export layout, as `m365audit collect` would.
    pub fn write_export(&self, dir: &Path, collected_at: DateTime<Utc>) -> io::Result<()> {
        for folder in [
            layout::EXCHANGE_DIR,
            layout::POLICIES_DIR,
            layout::REPORTS_DIR,
        ] {
            std::fs::create_dir_all(dir.join(folder))?;
        }
        let files: [(&str, Value); 15] = [
            (layout::APPLICATIONS, json!(self.applications)),
            (layout::SERVICE_PRINCIPALS, json!(self.service_principals)),
            (
                layout::APP_ROLE_ASSIGNMENTS,
                json!(self.app_role_assignments),
            ),
            (
                layout::OAUTH2_PERMISSION_GRANTS,
                json!(self.oauth2_permission_grants),
            ),
            (layout::GROUPS, json!(self.groups)),
            (
                layout::ACCESS_POLICIES,
                json!(self.exchange.access_policies),
            ),
            (
                layout::ROLE_ASSIGNMENTS,
                json!(self.exchange.role_assignments),
            ),
            (
                layout::MANAGEMENT_SCOPES,
                json!(self.exchange.management_scopes),
            ),
            (
                layout::EXCHANGE_SERVICE_PRINCIPALS,
                json!(self.exchange.service_principals),
            ),
            (layout::CAS_MAILBOXES, json!(self.exchange.cas_mailboxes)),
            (
                layout::ORGANIZATION_CONFIG,
                json!([self.exchange.organization_config]),
            ),
            (
                layout::DEFAULT_APP_MANAGEMENT_POLICY,
                self.default_app_management_policy.clone(),
            ),
            (
                layout::APP_MANAGEMENT_POLICIES,
                json!(self.app_management_policies),
            ),
            (
                layout::SERVICE_PRINCIPAL_SIGN_IN_ACTIVITIES,
                json!(self.sign_in_activities),
            ),
            (
                layout::APP_CREDENTIAL_SIGN_IN_ACTIVITIES,
                json!(self.credential_sign_in_activities),
            ),
        ];
        let mut parts = Vec::new();
        for (name, value) in files {
            let text = serde_json::to_vec_pretty(&value).map_err(io::Error::other)?;
            std::fs::write(dir.join(name), text)?;
            parts.push(name);
        }
        let meta = json!({
            "tenant": self.domain, "tenant_id": self.tenant_id,
            "collected_at": ts(collected_at), "tool_version": env!("CARGO_PKG_VERSION"),
            "parts": parts,
        });
        let text = serde_json::to_vec_pretty(&meta).map_err(io::Error::other)?;
        std::fs::write(dir.join(layout::SNAPSHOT), text)
    }
}

fn assignment(
    rng: &mut Rng,
    p: &Perm,
    sp_id: &str,
    name: &str,
    resource_id: &str,
    resource_name: &str,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "id": rng.guid(), "appRoleId": p.id,
        "createdDateTime": ts(now - Duration::days(300)),
        "principalDisplayName": name, "principalId": sp_id, "principalType": "ServicePrincipal",
        "resourceDisplayName": resource_name, "resourceId": resource_id,
    })
}

/// Groups and the Exchange Online configuration for the apps that have service principals.
fn exchange(
    rng: &mut Rng,
    tenant_id: &str,
    domain: &str,
    apps: &[(String, String, String, bool, bool)],
    app_count: usize,
) -> (Vec<Value>, SynthExchange) {
    let mut ex = SynthExchange::default();
    // Scope groups: mostly mail-enabled security groups; one in eight empty, one in eight a
    // Microsoft 365 group (which an access policy cannot scope to).
    let groups: Vec<Value> = (0..(app_count / 50).clamp(4, 200))
        .map(|i| {
            let unified = i % 8 == 7;
            json!({
                "id": rng.guid(), "displayName": format!("Mail Scope {i:03}"),
                "mail": format!("mailscope{i:03}@{domain}"), "mailNickname": format!("mailscope{i:03}"),
                "mailEnabled": true, "securityEnabled": !unified,
                "groupTypes": if unified { json!(["Unified"]) } else { json!([]) },
                "proxyAddresses": [format!("SMTP:mailscope{i:03}@{domain}")],
                "memberCount": if i % 8 == 3 { 0 } else { 1 + rng.below(40) },
            })
        })
        .collect();
    let scopes: Vec<String> = (0..4).map(|i| format!("Synthetic Scope {i}")).collect();
    for (i, name) in scopes.iter().enumerate() {
        ex.management_scopes.push(json!({
            "Name": name, "Identity": name,
            "RecipientFilter": format!("CustomAttribute1 -eq 'scope{i}'"),
            "RecipientRoot": null, "ScopeRestrictionType": "RecipientScope", "Exclusive": false,
        }));
    }
    let mut ews_allowed = Vec::new();
    for (app_id, sp_id, name, mail_app, ews) in apps {
        if *mail_app {
            match rng.below(100) {
                0..30 => {
                    let g = &groups[rng.below(groups.len() as u64) as usize];
                    ex.access_policies
                        .push(policy(rng, tenant_id, app_id, g, "RestrictAccess"));
                }
                30..35 => {
                    let g = &groups[rng.below(groups.len() as u64) as usize];
                    ex.access_policies
                        .push(policy(rng, tenant_id, app_id, g, "DenyAccess"));
                }
                35..45 => {
                    ex.service_principals.push(json!({
                        "AppId": app_id, "ObjectId": sp_id, "ServiceId": sp_id,
                        "DisplayName": name, "Identity": sp_id, "Name": sp_id,
                    }));
                    let scope = &scopes[rng.below(scopes.len() as u64) as usize];
                    ex.role_assignments.push(json!({
                        "Name": format!("{name} Mail.Send"), "Identity": format!("{name} Mail.Send"),
                        "Role": "Application Mail.Send", "RoleAssignee": sp_id,
                        "RoleAssigneeName": sp_id, "RoleAssigneeType": "ServicePrincipal",
                        "CustomResourceScope": scope, "RecipientWriteScope": "CustomRecipientScope",
                        "CustomRecipientWriteScope": null, "Enabled": true,
                        "WhenCreated": "2025-11-03T09:12:00Z",
                    }));
                }
                _ => {}
            }
        }
        if *ews && rng.chance(50) {
            ews_allowed.push(app_id.clone());
        }
    }
    ex.role_assignments.push(json!({
        "Name": "ApplicationImpersonation-Legacy EWS", "Identity": "ApplicationImpersonation-Legacy EWS",
        "Role": "ApplicationImpersonation", "RoleAssignee": "Legacy EWS Integrations",
        "RoleAssigneeName": "Legacy EWS Integrations", "RoleAssigneeType": "RoleGroup",
        "CustomResourceScope": null, "RecipientWriteScope": "Organization",
        "CustomRecipientWriteScope": null, "Enabled": true, "WhenCreated": "2024-03-01T09:00:00Z",
    }));
    ex.cas_mailboxes = (0..(app_count / 20).clamp(10, 5000))
        .map(|i| {
            json!({
                "Identity": format!("Mailbox {i:05}"), "Name": format!("Mailbox {i:05}"),
                "DisplayName": format!("Mailbox {i:05}"),
                "PrimarySmtpAddress": format!("mailbox{i:05}@{domain}"),
                "ExternalDirectoryObjectId": rng.guid(),
                "EwsEnabled": !rng.chance(10), "MAPIEnabled": true, "ImapEnabled": rng.chance(30),
                "PopEnabled": rng.chance(20), "ActiveSyncEnabled": true, "OWAEnabled": true,
                "SmtpClientAuthenticationDisabled": null,
            })
        })
        .collect();
    ex.organization_config = json!({
        "Identity": domain, "EwsEnabled": null,
        "EwsAllowedAppIDs": ews_allowed.join(","), "EwsApplicationAccessPolicy": null,
    });
    (groups, ex)
}

/// Each group's members: `memberCount` consecutive mailboxes from a start that differs per
/// group (the count is lowered to the mailboxes there are). No random stream, so the rest of
/// the tenant is as before.
fn members(groups: &mut [Value], mailboxes: &[Value]) -> Vec<Vec<Value>> {
    groups
        .iter_mut()
        .enumerate()
        .map(|(i, g)| {
            let n = (g["memberCount"].as_u64().unwrap_or(0) as usize).min(mailboxes.len());
            g["memberCount"] = json!(n);
            (0..n)
                .map(|k| {
                    let m = &mailboxes[(i * 13 + k) % mailboxes.len()];
                    json!({
                        "@odata.type": "#microsoft.graph.user",
                        "id": m["ExternalDirectoryObjectId"],
                        "mail": m["PrimarySmtpAddress"],
                        "userPrincipalName": m["PrimarySmtpAddress"],
                    })
                })
                .collect()
        })
        .collect()
}

/// The `CustomAttribute1` of the `index`th mailbox, which the synthetic management scopes
/// filter on (`CustomAttribute1 -eq 'scopeN'`). Get-CASMailbox does not show it, so no
/// export holds it: only the fake's Exchange tests know it.
pub fn custom_attribute1(index: usize) -> String {
    format!("scope{}", index % 4)
}

fn policy(rng: &mut Rng, tenant_id: &str, app_id: &str, group: &Value, right: &str) -> Value {
    let sid = format!("S-1-5-21-{}-{}", rng.below(1 << 31), rng.below(1 << 20));
    let gid = group["id"].as_str().unwrap_or_default();
    let name = group["displayName"].as_str().unwrap_or_default();
    json!({
        "Identity": format!("{tenant_id}\\{app_id}:{sid};{gid}"),
        "AppId": app_id, "ScopeName": name, "ScopeIdentity": name,
        "ScopeIdentityRaw": format!("{sid};{gid}"), "AccessRight": right,
        "Description": format!("{right} {name}"), "ShardType": "All", "IsValid": true,
    })
}
