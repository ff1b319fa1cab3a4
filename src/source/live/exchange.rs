//! The Exchange Online admin API: `POST {exchange}/adminapi/beta/{tenant}/InvokeCommand`,
//! the REST endpoint the Exchange Online PowerShell module (V3) uses. Microsoft does not
//! document it, so everything about it lives here, and an answer that does not look as
//! expected stops the collection with a message saying so rather than guessing.

use serde_json::{Value, json};

use super::api::Api;
use super::error::CollectError;
use crate::snapshot::layout;

/// The cmdlets run, their parameters, and the export file each one fills.
pub const CMDLETS: [(&str, &str, &str); 6] = [
    ("Get-ApplicationAccessPolicy", "{}", layout::ACCESS_POLICIES),
    (
        "Get-ManagementRoleAssignment",
        "{}",
        layout::ROLE_ASSIGNMENTS,
    ),
    ("Get-ManagementScope", "{}", layout::MANAGEMENT_SCOPES),
    (
        "Get-ServicePrincipal",
        "{}",
        layout::EXCHANGE_SERVICE_PRINCIPALS,
    ),
    (
        "Get-CASMailbox",
        r#"{"ResultSize": "Unlimited"}"#,
        layout::CAS_MAILBOXES,
    ),
    // EwsAllowedAppIDs is only filled in with this switch.
    (
        "Get-OrganizationConfig",
        r#"{"RetrieveEwsOperationAccessPolicy": true}"#,
        layout::ORGANIZATION_CONFIG,
    ),
];

/// The headers the module sends. The anchor mailbox routes the call to the tenant's
/// system mailbox; it needs the tenant's domain, so a tenant given by id goes without.
pub fn headers(tenant: &str) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("X-ResponseFormat", "json".to_string()),
        ("X-SerializationLevel", "Full".to_string()),
        ("X-ClientApplication", "ExoManagementModule".to_string()),
        ("Prefer", "odata.maxpagesize=1000".to_string()),
        ("Accept", "application/json".to_string()),
    ];
    if tenant.contains('.') {
        h.push((
            "X-AnchorMailbox",
            format!("UPN:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}"),
        ));
    }
    h
}

/// Runs every cmdlet (concurrently) and returns `(export file, objects)`.
pub async fn collect(
    api: &Api<'_>,
    exchange_url: &str,
    tenant: &str,
) -> Result<Vec<(&'static str, Vec<Value>)>, CollectError> {
    let url = format!(
        "{}/adminapi/beta/{tenant}/InvokeCommand",
        exchange_url.trim_end_matches('/')
    );
    let runs = CMDLETS.iter().map(|(cmdlet, params, file)| {
        let url = url.clone();
        async move {
            let params: Value = serde_json::from_str(params).unwrap_or_else(|_| json!({}));
            let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}});
            let items = api
                .list("exchange", "POST", &url, Some(&body))
                .await
                .map_err(|e| explain(cmdlet, e))?;
            for item in &items {
                if !item.is_object() {
                    return Err(CollectError::Changed {
                        what: format!(
                            "Exchange admin API, {cmdlet}: the answer holds {} where objects were expected; the undocumented endpoint has changed",
                            kind(item)
                        ),
                    });
                }
            }
            Ok::<_, CollectError>((*file, items))
        }
    });
    futures_util::future::try_join_all(runs).await
}

/// Exchange's own answers for every app with app-only mailbox access and each mailbox of
/// `verify`: Test-ApplicationAccessPolicy always, Test-ServicePrincipalAuthorization for apps
/// with an Exchange service principal (the others can hold no RBAC for Applications role).
/// Each row gets the app id and the address tested, which the cmdlets' outputs do not
/// always carry; an app holding no role gets one row with `RoleName` null.
pub async fn test_reach(
    api: &Api<'_>,
    exchange_url: &str,
    tenant: &str,
    verify: &super::Verify,
    graph: &super::graph::GraphData,
    exchange_files: &[(&'static str, Vec<Value>)],
) -> Result<Vec<Value>, CollectError> {
    let url = format!(
        "{}/adminapi/beta/{tenant}/InvokeCommand",
        exchange_url.trim_end_matches('/')
    );
    let file = |name: &str| {
        exchange_files
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, v)| v.as_slice())
            .unwrap_or_default()
    };
    let text = |v: &Value, k: &str| v[k].as_str().map(str::to_ascii_lowercase);
    // Service principal object id → app id, for principals and resources alike.
    let app_of: std::collections::HashMap<String, String> = graph
        .service_principals
        .iter()
        .filter_map(|sp| Some((text(sp, "id")?, text(sp, "appId")?)))
        .collect();
    let mut apps: std::collections::BTreeSet<String> = graph
        .app_role_assignments
        .iter()
        .filter(|a| {
            let resource = text(a, "resourceId").and_then(|r| app_of.get(&r).cloned());
            match (resource, text(a, "appRoleId")) {
                (Some(resource), Some(role)) => verify.mail_roles.contains(&(resource, role)),
                _ => false,
            }
        })
        .filter_map(|a| app_of.get(&text(a, "principalId")?).cloned())
        .collect();
    // Exchange's pointers: app id → the identity Test-ServicePrincipalAuthorization takes.
    let pointers: std::collections::HashMap<String, String> =
        file(layout::EXCHANGE_SERVICE_PRINCIPALS)
            .iter()
            .filter_map(|sp| {
                let identity = sp["Identity"].as_str().or(sp["ObjectId"].as_str())?;
                Some((text(sp, "AppId")?, identity.to_string()))
            })
            .collect();
    let object_ids: std::collections::HashMap<String, String> =
        file(layout::EXCHANGE_SERVICE_PRINCIPALS)
            .iter()
            .filter_map(|sp| Some((text(sp, "ObjectId")?, text(sp, "AppId")?)))
            .collect();
    for a in file(layout::ROLE_ASSIGNMENTS) {
        let is_app_role = a["Role"]
            .as_str()
            .is_some_and(|r| r.starts_with("Application "));
        if let Some(app) = text(a, "RoleAssignee").and_then(|id| object_ids.get(&id))
            && is_app_role
        {
            apps.insert(app.clone());
        }
    }
    let mut calls = Vec::new();
    for app in &apps {
        for mailbox in &verify.mailboxes {
            calls.push((
                app.clone(),
                mailbox.clone(),
                "Test-ApplicationAccessPolicy",
                json!({"Identity": mailbox, "AppId": app}),
            ));
            if let Some(identity) = pointers.get(app) {
                calls.push((
                    app.clone(),
                    mailbox.clone(),
                    "Test-ServicePrincipalAuthorization",
                    json!({"Identity": identity, "Resource": mailbox}),
                ));
            }
        }
    }
    let runs = calls.into_iter().map(|(app, mailbox, cmdlet, params)| {
        let url = url.clone();
        async move {
            let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}});
            let rows = api
                .list("exchange tests", "POST", &url, Some(&body))
                .await
                .map_err(|e| {
                    explain(&format!("{cmdlet} for app {app} and mailbox {mailbox}"), e)
                })?;
            let mut rows: Vec<Value> = rows.into_iter().filter(Value::is_object).collect();
            if rows.is_empty() && cmdlet == "Test-ServicePrincipalAuthorization" {
                rows.push(json!({"RoleName": null}));
            }
            for row in &mut rows {
                if let Some(obj) = row.as_object_mut() {
                    obj.insert("AppId".into(), json!(app));
                    obj.insert("Mailbox".into(), json!(mailbox));
                }
            }
            Ok::<_, CollectError>(rows)
        }
    });
    Ok(futures_util::future::try_join_all(runs)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Adds the cmdlet and what the app needs to an Exchange error.
fn explain(cmdlet: &str, mut e: CollectError) -> CollectError {
    match &mut e {
        CollectError::Request { status, hint, .. } => {
            *hint = Some(match status {
                401 | 403 if cmdlet.starts_with("Test-") => format!(
                    "{cmdlet}: the app needs the Exchange.ManageAsApp application permission and an Exchange role that includes the cmdlet (Get-ManagementRole -Cmdlet {} lists them); or collect without --verify-mailbox",
                    cmdlet.split_whitespace().next().unwrap_or(cmdlet)
                ),
                401 | 403 => format!(
                    "{cmdlet}: the app needs the Exchange.ManageAsApp application permission and an Exchange role that can run it (e.g. View-Only Configuration plus View-Only Recipients, or the Global Reader directory role)"
                ),
                404 => format!(
                    "{cmdlet}: Exchange cannot find the app or the mailbox; check the --verify-mailbox address"
                ),
                _ => match hint.take() {
                    Some(h) => format!("{cmdlet}: {h}"),
                    None => cmdlet.to_string(),
                },
            });
        }
        CollectError::Changed { what } => *what = format!("Exchange admin API, {cmdlet}: {what}"),
        CollectError::ForeignOrigin(f) => f.request = format!("{} ({cmdlet})", f.request),
        CollectError::Redirect { request, .. } => *request = format!("{request} ({cmdlet})"),
        _ => {}
    }
    e
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
