//! What is read from Microsoft Graph, and how: whole listings with `$select` of only the
//! fields the model reads, granted permissions resource-side (one listing per resource, not
//! one call per app), `$batch` for the few per-object calls that remain.

use std::collections::HashSet;

use serde_json::Value;

use super::api::Api;
use super::error::CollectError;

/// Application properties the model reads (owners come through `$expand`).
const APPLICATION_SELECT: &str = "id,appId,displayName,createdDateTime,signInAudience,\
identifierUris,isFallbackPublicClient,keyCredentials,passwordCredentials,publicClient,\
requiredResourceAccess,spa,web";
const OWNER_SELECT: &str = "id,displayName,userPrincipalName";
/// `appRoles` and `oauth2PermissionScopes` name permissions the catalogue does not know, and
/// say which service principals are resources worth asking for assignments. The rest is what
/// the enterprise-application rules read: credentials added to the service principal
/// (metadata only: list calls never return key or secret values), whose app it is, and who
/// may use it.
const SERVICE_PRINCIPAL_SELECT: &str = "id,appId,displayName,accountEnabled,appRoles,\
oauth2PermissionScopes,servicePrincipalType,appOwnerOrganizationId,keyCredentials,\
passwordCredentials,verifiedPublisher,publisherName,appRoleAssignmentRequired,\
preferredSingleSignOnMode,tags";
const ASSIGNMENT_SELECT: &str = "id,appRoleId,principalId,principalType,principalDisplayName,\
resourceId,resourceDisplayName,createdDateTime";
const GROUP_SELECT: &str =
    "id,displayName,mail,mailNickname,mailEnabled,securityEnabled,groupTypes,proxyAddresses";
/// Graph returns at most this many expanded objects per parent, with no nextLink.
const EXPAND_LIMIT: usize = 20;

/// The resources whose application permissions the catalogue knows: Microsoft Graph, Office
/// 365 Exchange Online, Azure AD Graph. Their assignments are listed first, by appId, while
/// the service principal listing is still running.
pub const CATALOGUE_RESOURCES: [&str; 3] = [
    "00000003-0000-0000-c000-000000000000",
    "00000002-0000-0ff1-ce00-000000000000",
    "00000002-0000-0000-c000-000000000000",
];

/// The tenant's default app management policy and the policies applied to single apps (with
/// the objects they apply to). Policy.Read.All.
pub async fn policies(api: &Api<'_>, v1: &str) -> Result<(Value, Vec<Value>), CollectError> {
    let default_url = format!("{v1}/policies/defaultAppManagementPolicy");
    let listing_url = format!("{v1}/policies/appManagementPolicies?$expand=appliesTo");
    let (default, app_policies) = tokio::try_join!(
        api.call("GET", &default_url, None),
        api.list("appManagementPolicies", "GET", &listing_url, None),
    )?;
    Ok((default, app_policies))
}

/// The sign-in activity reports (Graph beta: their shapes may change): per app, and per
/// credential. AuditLog.Read.All; the tenant needs Microsoft Entra ID P1 or P2.
pub async fn usage(api: &Api<'_>, beta: &str) -> Result<(Vec<Value>, Vec<Value>), CollectError> {
    let apps = format!("{beta}/reports/servicePrincipalSignInActivities");
    let credentials = format!("{beta}/reports/appCredentialSignInActivities");
    tokio::try_join!(
        api.list("servicePrincipalSignInActivities", "GET", &apps, None),
        api.list("appCredentialSignInActivities", "GET", &credentials, None),
    )
}

pub struct GraphData {
    pub applications: Vec<Value>,
    pub service_principals: Vec<Value>,
    pub app_role_assignments: Vec<Value>,
    pub oauth2_permission_grants: Vec<Value>,
    /// Resource service principals whose assignments were listed.
    pub assignment_resources: usize,
}

/// Reads the directory. The three chains (applications, service principals + assignments,
/// delegated grants) run concurrently; each follows its own nextLinks.
pub async fn collect(api: &Api<'_>, v1: &str) -> Result<GraphData, CollectError> {
    let applications = async {
        let url = format!(
            "{v1}/applications?$select={APPLICATION_SELECT}&$expand=owners($select={OWNER_SELECT})&$top=999"
        );
        let mut apps = api.list("applications", "GET", &url, None).await?;
        complete_owners(api, v1, &mut apps).await?;
        Ok::<_, CollectError>(apps)
    };
    let principals = async {
        let early = async {
            let ids = catalogue_resource_ids(api, v1).await?;
            let lists = ids.iter().map(|id| assigned_to(api, v1, id));
            let lists = futures_util::future::try_join_all(lists).await?;
            Ok::<_, CollectError>((ids, lists.into_iter().flatten().collect::<Vec<_>>()))
        };
        let url = format!("{v1}/servicePrincipals?$select={SERVICE_PRINCIPAL_SELECT}&$top=999");
        let (sps, (done, mut assignments)) =
            tokio::try_join!(api.list("servicePrincipals", "GET", &url, None), early)?;
        // Every other service principal that defines app roles is a resource an app may
        // hold permissions on; a grant can only name a role its resource defines.
        let rest: Vec<String> = sps
            .iter()
            .filter(|sp| sp["appRoles"].as_array().is_some_and(|r| !r.is_empty()))
            .filter_map(|sp| sp["id"].as_str())
            .filter(|id| !done.iter().any(|d| d == id))
            .map(String::from)
            .collect();
        assignments.extend(assigned_to_many(api, v1, &rest).await?);
        // Users and groups assigned to enterprise apps grant no API permission.
        assignments.retain(|a| a["principalType"].as_str() == Some("ServicePrincipal"));
        Ok::<_, CollectError>((sps, assignments, done.len() + rest.len()))
    };
    let grants_url = format!("{v1}/oauth2PermissionGrants?$top=999");
    let grants = api.list("oauth2PermissionGrants", "GET", &grants_url, None);
    let (applications, (service_principals, app_role_assignments, assignment_resources), grants) =
        tokio::try_join!(applications, principals, grants)?;
    Ok(GraphData {
        applications,
        service_principals,
        app_role_assignments,
        oauth2_permission_grants: grants,
        assignment_resources,
    })
}

/// Object ids of the catalogue's resource service principals present in the tenant (one
/// `$batch` of alternate-key lookups; a resource the tenant lacks answers 404).
async fn catalogue_resource_ids(api: &Api<'_>, v1: &str) -> Result<Vec<String>, CollectError> {
    let requests: Vec<(String, Vec<(&str, &str)>)> = CATALOGUE_RESOURCES
        .iter()
        .map(|app_id| {
            (
                format!("/servicePrincipals(appId='{app_id}')?$select=id,appId"),
                vec![],
            )
        })
        .collect();
    let answers = api.batch_get(&format!("{v1}/$batch"), &requests).await?;
    let mut ids = Vec::new();
    for ((url, _), (status, body)) in requests.iter().zip(answers) {
        match status {
            200 => {
                if let Some(id) = body["id"].as_str() {
                    ids.push(id.to_string());
                }
            }
            404 => {}
            _ => return Err(inner_error(url, status, &body)),
        }
    }
    Ok(ids)
}

/// All assignments of one resource, in one paged listing.
async fn assigned_to(api: &Api<'_>, v1: &str, resource: &str) -> Result<Vec<Value>, CollectError> {
    let url = format!(
        "{v1}/servicePrincipals/{resource}/appRoleAssignedTo?$select={ASSIGNMENT_SELECT}&$top=999"
    );
    api.list("appRoleAssignments", "GET", &url, None).await
}

/// Assignments of many resources: first pages through `$batch`, further pages followed one
/// listing per resource.
async fn assigned_to_many(
    api: &Api<'_>,
    v1: &str,
    resources: &[String],
) -> Result<Vec<Value>, CollectError> {
    let requests: Vec<(String, Vec<(&str, &str)>)> = resources
        .iter()
        .map(|id| {
            (
                format!(
                    "/servicePrincipals/{id}/appRoleAssignedTo?$select={ASSIGNMENT_SELECT}&$top=999"
                ),
                vec![],
            )
        })
        .collect();
    let answers = api.batch_get(&format!("{v1}/$batch"), &requests).await?;
    let mut out = Vec::new();
    let mut more = Vec::new();
    for ((url, _), (status, body)) in requests.iter().zip(answers) {
        match status {
            200 => {
                let (items, next) = page(api, v1, &body, url)?;
                api.http
                    .progress
                    .page("appRoleAssignments", items.len() as u64);
                out.extend(items);
                more.extend(next);
            }
            // Deleted between the listing and now: nothing to assign.
            404 => {}
            _ => return Err(inner_error(url, status, &body)),
        }
    }
    let rest = more
        .iter()
        .map(|next| api.list("appRoleAssignments", "GET", next, None));
    for list in futures_util::future::try_join_all(rest).await? {
        out.extend(list);
    }
    Ok(out)
}

/// `$expand` stops at 20 owners without saying whether there are more; apps showing 20 get
/// their complete owner list through `$batch`.
async fn complete_owners(api: &Api<'_>, v1: &str, apps: &mut [Value]) -> Result<(), CollectError> {
    let capped: Vec<usize> = (0..apps.len())
        .filter(|&i| {
            apps[i]["owners"]
                .as_array()
                .is_some_and(|o| o.len() >= EXPAND_LIMIT)
        })
        .collect();
    if capped.is_empty() {
        return Ok(());
    }
    let requests: Vec<(String, Vec<(&str, &str)>)> = capped
        .iter()
        .map(|&i| {
            let id = apps[i]["id"].as_str().unwrap_or_default();
            (
                format!("/applications/{id}/owners?$select={OWNER_SELECT}&$top=999"),
                vec![],
            )
        })
        .collect();
    let answers = api.batch_get(&format!("{v1}/$batch"), &requests).await?;
    for ((&i, (url, _)), (status, body)) in capped.iter().zip(&requests).zip(answers) {
        match status {
            200 => {
                let (mut owners, next) = page(api, v1, &body, url)?;
                if let Some(next) = next {
                    owners.extend(api.list("owners", "GET", &next, None).await?);
                }
                apps[i]["owners"] = Value::Array(owners);
            }
            // The app was deleted meanwhile: its owners are unknown, not "the first 20".
            404 => {
                if let Some(o) = apps[i].as_object_mut() {
                    o.remove("owners");
                }
            }
            _ => return Err(inner_error(url, status, &body)),
        }
    }
    Ok(())
}

/// Groups that Application Access Policies scope to, with their member counts. A policy names
/// its scope by object id (the end of `ScopeIdentityRaw`); scopes that are mailboxes, not
/// groups, answer 404 and are skipped (casMailboxes.json covers them).
pub async fn groups(
    api: &Api<'_>,
    v1: &str,
    policies: &[Value],
    assignments: &[Value],
    with_members: bool,
) -> Result<Vec<Value>, CollectError> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut add = |id: &str| {
        let id = id.trim().to_ascii_lowercase();
        if super::is_guid(&id) && seen.insert(id.clone()) {
            ids.push(id);
        }
    };
    for p in policies {
        let raw = p["ScopeIdentityRaw"]
            .as_str()
            .or_else(|| p["Identity"].as_str())
            .unwrap_or_default();
        if let Some((_, id)) = raw.rsplit_once(';') {
            add(id);
        }
    }
    // RBAC for Applications assignments scoped to a group name it by id or by name; by name
    // they are found by the model in groups.json only if a policy scopes to them too.
    for a in assignments {
        if let Some(id) = a["RecipientGroupScope"].as_str() {
            add(id);
        }
    }
    let mut requests: Vec<(String, Vec<(&str, &str)>)> = Vec::new();
    for id in &ids {
        requests.push((format!("/groups/{id}?$select={GROUP_SELECT}"), vec![]));
        // $count needs the advanced-query header.
        requests.push((
            format!("/groups/{id}/members/$count"),
            vec![("ConsistencyLevel", "eventual")],
        ));
    }
    let answers = api.batch_get(&format!("{v1}/$batch"), &requests).await?;
    let mut groups = Vec::new();
    for (pair, req) in answers.chunks(2).zip(requests.chunks(2)) {
        let [(status, group), (count_status, count)] = pair else {
            continue;
        };
        match status {
            200 => {}
            404 => continue,
            _ => return Err(inner_error(&req[0].0, *status, group)),
        }
        let mut group = group.clone();
        if *count_status == 200 {
            let n = count
                .as_u64()
                .or_else(|| count.as_str().and_then(|s| s.trim().parse().ok()));
            if let (Some(n), Some(obj)) = (n, group.as_object_mut()) {
                obj.insert("memberCount".into(), Value::from(n));
            }
        }
        groups.push(group);
    }
    if with_members {
        // Each group's direct members, all pages: $expand=members would stop at 20.
        let lists = groups.iter().map(|g| {
            let id = g["id"].as_str().unwrap_or_default().to_string();
            async move {
                api.list(
                    "group members",
                    "GET",
                    &format!("{v1}/groups/{id}/members?$select={MEMBER_SELECT}&$top=999"),
                    None,
                )
                .await
            }
        });
        let lists = futures_util::future::try_join_all(lists).await?;
        for (group, members) in groups.iter_mut().zip(lists) {
            if let Some(obj) = group.as_object_mut() {
                obj.insert("members".into(), Value::Array(members));
            }
        }
    }
    Ok(groups)
}

/// What a group member needs for the model to match it with a mailbox.
const MEMBER_SELECT: &str = "id,mail,userPrincipalName";

/// A batch answer's items and nextLink; `url` is the inner request's, relative to `v1`. The
/// nextLink is checked like any other ([`Api::follow`]): a batch answer is no more trusted
/// than a page.
fn page(
    api: &Api<'_>,
    v1: &str,
    body: &Value,
    url: &str,
) -> Result<(Vec<Value>, Option<String>), CollectError> {
    let request = format!("GET {} inside $batch", url.split('?').next().unwrap_or(url));
    let Some(items) = body["value"].as_array() else {
        return Err(CollectError::Changed {
            what: format!("{request}: the answer has no \"value\" array"),
        });
    };
    let next = match body["@odata.nextLink"].as_str() {
        Some(link) => {
            Some(api.follow(&request, &format!("{v1}{url}"), "its @odata.nextLink", link)?)
        }
        None => None,
    };
    Ok((items.clone(), next))
}

fn inner_error(url: &str, status: u16, body: &Value) -> CollectError {
    CollectError::Request {
        method: "GET".into(),
        path: format!("{} (inside $batch)", url.split('?').next().unwrap_or(url)),
        status,
        code: body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        hint: body["error"]["message"]
            .as_str()
            .map(|m| m.chars().take(300).collect()),
    }
}
