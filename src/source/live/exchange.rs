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

/// Adds the cmdlet and what the app needs to an Exchange error.
fn explain(cmdlet: &str, mut e: CollectError) -> CollectError {
    match &mut e {
        CollectError::Request { status, hint, .. } => {
            *hint = Some(match status {
                401 | 403 => format!(
                    "{cmdlet}: the app needs the Exchange.ManageAsApp application permission and an Exchange role that can run it (e.g. View-Only Configuration plus View-Only Recipients, or the Global Reader directory role)"
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
