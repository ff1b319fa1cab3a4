//! Routing, paging, `$select`/`$expand`, `$batch`, the Exchange InvokeCommand endpoint,
//! throttling and fault injection.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use m365audit_testkit::synth::SynthTenant;
use serde_json::{Map, Value, json};

use crate::auth::Auth;
use crate::http::{Handler, Reply, Request, encode, split_target};
use crate::trap::Trap;

/// Expanded navigation properties stop here, with no nextLink (as Graph does for
/// directory objects).
const EXPAND_LIMIT: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    TooMany,
    Unavailable,
    GatewayTimeout,
    Reset,
    Truncate,
    InvalidJson,
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "429" => Fault::TooMany,
            "503" => Fault::Unavailable,
            "504" => Fault::GatewayTimeout,
            "reset" => Fault::Reset,
            "truncate" => Fault::Truncate,
            "invalid-json" => Fault::InvalidJson,
            _ => {
                return Err(format!(
                    "unknown fault {s:?} (429, 503, 504, reset, truncate, invalid-json)"
                ));
            }
        })
    }
}

pub struct Config {
    pub base: String,
    pub latency: Duration,
    pub page_max: usize,
    pub throttle_requests: u32,
    pub throttle_window: Duration,
    pub retry_after: Option<u64>,
    pub fault_rate: f64,
    pub faults: Vec<Fault>,
    pub fail_path: Option<String>,
    pub forbid: Option<String>,
    pub fail_kind: Fault,
    pub next_link_loop: Option<String>,
    pub seed: u64,
    pub exchange_changed: bool,
    pub foreign_next_link: Option<String>,
    pub redirect: Option<String>,
    pub redirect_status: u16,
    /// The second listener, where foreign links and redirects point.
    pub trap: std::sync::Arc<Trap>,
    pub auth: Auth,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    token: AtomicU64,
    graph: AtomicU64,
    batch: AtomicU64,
    batch_inner: AtomicU64,
    exchange: AtomicU64,
    throttled: AtomicU64,
    faults: AtomicU64,
    unauthorized: AtomicU64,
}

pub struct Fake {
    tenant: SynthTenant,
    config: Config,
    stats: Stats,
    app_by_id: HashMap<String, usize>,
    group_by_id: HashMap<String, usize>,
    sp_ids: std::collections::HashSet<String>,
    /// Resource SP object id → its app role assignments.
    assigned_to: HashMap<String, Vec<usize>>,
    window: Mutex<(Instant, u32)>,
}

impl Fake {
    pub fn new(tenant: SynthTenant, config: Config) -> Self {
        let index = |list: &[Value]| -> HashMap<String, usize> {
            list.iter()
                .enumerate()
                .filter_map(|(i, v)| Some((v["id"].as_str()?.to_string(), i)))
                .collect()
        };
        let app_by_id = index(&tenant.applications);
        let group_by_id = index(&tenant.groups);
        let sp_ids = index(&tenant.service_principals).into_keys().collect();
        let mut assigned_to: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in tenant.app_role_assignments.iter().enumerate() {
            if let Some(r) = a["resourceId"].as_str() {
                assigned_to.entry(r.to_string()).or_default().push(i);
            }
        }
        Fake {
            tenant,
            config,
            stats: Stats::default(),
            app_by_id,
            group_by_id,
            sp_ids,
            assigned_to,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    pub(crate) fn stats(&self) -> Value {
        let s = &self.stats;
        let g = |a: &AtomicU64| a.load(Ordering::SeqCst);
        json!({"requests": g(&s.requests), "token": g(&s.token), "graph": g(&s.graph),
               "batch": g(&s.batch), "batch_inner": g(&s.batch_inner), "exchange": g(&s.exchange),
               "throttled": g(&s.throttled), "faults": g(&s.faults), "unauthorized": g(&s.unauthorized),
               "trap": self.config.trap.stats()})
    }

    /// Whether listings under `path` point their nextLink at the trap.
    fn foreign(&self, path: &str) -> bool {
        (self.config.foreign_next_link.as_deref()).is_some_and(|p| path.contains(p))
    }

    /// `--redirect`: the same request's target on the trap.
    fn redirect(&self, req: &Request) -> Option<Reply> {
        let text = self.config.redirect.as_deref()?;
        if !req.path.contains(text) {
            return None;
        }
        let query: Vec<String> = (req.query.iter())
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let mut location = format!("{}{}", self.config.trap.base, req.path);
        if !query.is_empty() {
            location = format!("{location}?{}", query.join("&"));
        }
        Some(Reply::Response {
            status: self.config.redirect_status,
            headers: vec![("Location".into(), location)],
            body: Vec::new(),
        })
    }

    /// A deterministic number in [0, 1) for the n-th request.
    fn roll(&self, n: u64, salt: u64) -> f64 {
        let mut z = n
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(self.config.seed ^ salt);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn injected(&self, n: u64) -> Option<Fault> {
        if self.config.faults.is_empty() || self.roll(n, 1) >= self.config.fault_rate {
            return None;
        }
        let k = (self.roll(n, 2) * self.config.faults.len() as f64) as usize;
        self.config.faults.get(k).copied()
    }

    fn throttled(&self) -> bool {
        if self.config.throttle_requests == 0 {
            return false;
        }
        let Ok(mut w) = self.window.lock() else {
            return false;
        };
        if w.0.elapsed() >= self.config.throttle_window {
            *w = (Instant::now(), 0);
        }
        w.1 += 1;
        w.1 > self.config.throttle_requests
    }

    fn too_many(&self) -> Reply {
        let reply = graph_error(429, "TooManyRequests", "Too many requests").with_header(
            "x-ms-throttle-scope",
            "Tenant_Application/ReadWrite/fake/fake".into(),
        );
        match self.config.retry_after {
            Some(s) => reply.with_header("Retry-After", s.to_string()),
            None => reply,
        }
    }

    fn fault(&self, fault: Fault) -> Reply {
        self.stats.faults.fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::TooMany => self.too_many(),
            Fault::Unavailable => graph_error(503, "serviceNotAvailable", "Service unavailable"),
            Fault::GatewayTimeout => graph_error(504, "gatewayTimeout", "Gateway timeout"),
            Fault::Reset => Reply::Reset,
            Fault::Truncate => Reply::Truncated {
                status: 200,
                body: serde_json::to_vec(&json!({"value": vec![json!({"id": "cut"}); 50]}))
                    .unwrap_or_default(),
            },
            Fault::InvalidJson => Reply::Response {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: b"{\"value\": [{\"id\": \"x\",, ]".to_vec(),
            },
        }
    }

    fn graph_audience(&self, aud: &str) -> bool {
        aud == "https://graph.microsoft.com"
            || aud == self.config.base
            || aud == format!("{}/graph", self.config.base)
    }

    fn exchange_audience(&self, aud: &str) -> bool {
        aud == "https://outlook.office365.com" || aud == format!("{}/exo", self.config.base)
    }

    async fn route(&self, req: &Request, n: u64) -> Reply {
        if req.method == "POST" && req.path.ends_with("/oauth2/v2.0/token") {
            self.stats.token.fetch_add(1, Ordering::SeqCst);
            let (_, form) = split_target(&format!("?{}", String::from_utf8_lossy(&req.body)));
            let host = req.header("host").unwrap_or("127.0.0.1");
            let url = format!("http://{host}{}", req.path);
            return match self.config.auth.token(&form, &url) {
                Ok(v) => Reply::json(200, &v),
                Err((status, v)) => Reply::json(status, &v),
            };
        }
        let path = req.path.strip_prefix("/graph").unwrap_or(&req.path);
        // The sign-in reports are beta; everything is served from both versions.
        if let Some(rest) = path
            .strip_prefix("/v1.0")
            .or_else(|| path.strip_prefix("/beta"))
        {
            if let Err(why) =
                self.config
                    .auth
                    .check(req.header("authorization"), |a| self.graph_audience(a), n)
            {
                self.stats.unauthorized.fetch_add(1, Ordering::SeqCst);
                return graph_error(401, "InvalidAuthenticationToken", why);
            }
            if rest == "/$batch" && req.method == "POST" {
                self.stats.batch.fetch_add(1, Ordering::SeqCst);
                return self.batch(req, n);
            }
            self.stats.graph.fetch_add(1, Ordering::SeqCst);
            if let Some(forbidden) = &self.config.forbid
                && rest.contains(forbidden.as_str())
            {
                return graph_error(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                );
            }
            if req.method != "GET" {
                return graph_error(405, "Request_BadRequest", "only GET is served");
            }
            let base = format!(
                "{}{}",
                self.config.base,
                &req.path[..req.path.len() - rest.len()]
            );
            let (status, body) = self.graph_get(rest, &req.query, &req.headers, &base);
            return match body {
                Body::Json(v) => Reply::json(status, &v),
                Body::Text(t) => Reply::Response {
                    status,
                    headers: vec![("Content-Type".into(), "text/plain".into())],
                    body: t.into_bytes(),
                },
            };
        }
        let exo = req.path.strip_prefix("/exo").unwrap_or(&req.path);
        if exo.starts_with("/adminapi/") && exo.ends_with("/InvokeCommand") && req.method == "POST"
        {
            self.stats.exchange.fetch_add(1, Ordering::SeqCst);
            if let Err(why) = self.config.auth.check(
                req.header("authorization"),
                |a| self.exchange_audience(a),
                n,
            ) {
                self.stats.unauthorized.fetch_add(1, Ordering::SeqCst);
                return graph_error(401, "InvalidAuthenticationToken", why);
            }
            return self.invoke_command(req);
        }
        graph_error(404, "Request_ResourceNotFound", "no such route")
    }

    /// One Graph GET (direct or inside `$batch`). `path` starts after `/v1.0`.
    fn graph_get(
        &self,
        path: &str,
        query: &[(String, String)],
        headers: &HashMap<String, String>,
        base: &str,
    ) -> (u16, Body) {
        let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let select: Option<Vec<&str>> =
            param("$select").map(|s| s.split(',').map(str::trim).collect());
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let t = &self.tenant;
        let listing =
            |len: usize, item: &dyn Fn(usize) -> Value| self.page(len, item, path, query, base);
        match segments.as_slice() {
            ["reports", "servicePrincipalSignInActivities"] => {
                listing(t.sign_in_activities.len(), &|i| {
                    project(&t.sign_in_activities[i], select.as_deref())
                })
            }
            ["reports", "appCredentialSignInActivities"] => {
                listing(t.credential_sign_in_activities.len(), &|i| {
                    project(&t.credential_sign_in_activities[i], select.as_deref())
                })
            }
            ["policies", "defaultAppManagementPolicy"] => (
                200,
                Body::Json(project(&t.default_app_management_policy, select.as_deref())),
            ),
            // Served with appliesTo whatever `$expand` says: the client always asks for it.
            ["policies", "appManagementPolicies"] => {
                listing(t.app_management_policies.len(), &|i| {
                    project(&t.app_management_policies[i], select.as_deref())
                })
            }
            ["applications"] => {
                let owners_select = match param("$expand") {
                    None => None,
                    Some("owners") => Some(None),
                    Some(e) => match e
                        .strip_prefix("owners($select=")
                        .and_then(|r| r.strip_suffix(')'))
                    {
                        Some(fields) => Some(Some(fields.split(',').collect::<Vec<_>>())),
                        None => return bad("Request_BadRequest", "unsupported $expand"),
                    },
                };
                let item = |i: usize| {
                    let a = &t.applications[i];
                    let mut v = project(a, select.as_deref());
                    if let Some(fields) = &owners_select {
                        let owners: Vec<Value> = a["owners"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .take(EXPAND_LIMIT)
                            .map(|o| project(o, fields.as_deref()))
                            .collect();
                        v.as_object_mut()
                            .map(|m| m.insert("owners".into(), Value::Array(owners)));
                    } else if let Some(m) = v.as_object_mut() {
                        m.remove("owners");
                    }
                    v
                };
                listing(t.applications.len(), &item)
            }
            ["applications", id, "owners"] => match self.app_by_id.get(*id) {
                Some(&i) => {
                    let owners = t.applications[i]["owners"]
                        .as_array()
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    listing(owners.len(), &|k| project(&owners[k], select.as_deref()))
                }
                None => not_found(id),
            },
            [key] if key.starts_with("servicePrincipals(appId='") => {
                let app_id = key
                    .trim_start_matches("servicePrincipals(appId='")
                    .trim_end_matches("')");
                match t.service_principals.iter().find(|s| s["appId"] == app_id) {
                    Some(sp) => (200, Body::Json(project(sp, select.as_deref()))),
                    None => not_found(app_id),
                }
            }
            ["servicePrincipals"] => listing(t.service_principals.len(), &|i| {
                project(&t.service_principals[i], select.as_deref())
            }),
            ["servicePrincipals", id, "appRoleAssignedTo"] => {
                if !self.sp_ids.contains(*id) {
                    return not_found(id);
                }
                let list = self
                    .assigned_to
                    .get(*id)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                listing(list.len(), &|k| {
                    project(&t.app_role_assignments[list[k]], select.as_deref())
                })
            }
            ["oauth2PermissionGrants"] => listing(t.oauth2_permission_grants.len(), &|i| {
                project(&t.oauth2_permission_grants[i], select.as_deref())
            }),
            ["groups", id] => match self.group_by_id.get(*id) {
                Some(&i) => {
                    let mut g = project(&t.groups[i], select.as_deref());
                    g.as_object_mut().map(|m| m.remove("memberCount"));
                    (200, Body::Json(g))
                }
                None => not_found(id),
            },
            ["groups", id, "members"] => match self.group_by_id.get(*id) {
                Some(&i) => {
                    let members = &t.group_members[i];
                    listing(members.len(), &|k| project(&members[k], select.as_deref()))
                }
                None => not_found(id),
            },
            ["groups", id, "members", "$count"] => {
                if headers.get("consistencylevel").map(String::as_str) != Some("eventual") {
                    return bad(
                        "Request_BadRequest",
                        "Count is not currently supported without ConsistencyLevel: eventual",
                    );
                }
                match self.group_by_id.get(*id) {
                    Some(&i) => (200, Body::Text(t.groups[i]["memberCount"].to_string())),
                    None => not_found(id),
                }
            }
            _ => (
                404,
                Body::Json(
                    json!({"error": {"code": "Request_ResourceNotFound", "message": format!("no route {path}")}}),
                ),
            ),
        }
    }

    /// One page of a listing, `$top` (default 100, at most `page_max`) and `$skiptoken`.
    fn page(
        &self,
        len: usize,
        item: &dyn Fn(usize) -> Value,
        path: &str,
        query: &[(String, String)],
        base: &str,
    ) -> (u16, Body) {
        let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let top = match param("$top").map(str::parse::<usize>) {
            None => 100,
            Some(Ok(n)) if (1..=self.config.page_max).contains(&n) => n,
            Some(_) => return bad("Request_BadRequest", "Invalid page size specified"),
        };
        // Graph caps pages at 100 objects when a directory listing uses $expand.
        let top = if param("$expand").is_some() {
            top.min(100)
        } else {
            top
        };
        let start = match param("$skiptoken") {
            None => 0,
            Some(t) => match skip_decode(t) {
                Some(s) if s <= len => s,
                _ => return bad("Request_BadRequest", "Invalid skip token"),
            },
        };
        let end = (start + top).min(len);
        let mut body = Map::new();
        body.insert(
            "@odata.context".into(),
            json!(format!("{base}/$metadata#{}", path.trim_start_matches('/'))),
        );
        let foreign = self.foreign(path);
        if end < len || foreign {
            let mut q: Vec<String> = query
                .iter()
                .filter(|(k, _)| k != "$skiptoken")
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            let looping = (self.config.next_link_loop.as_deref()).is_some_and(|p| path.contains(p));
            let next = if looping { start } else { end };
            q.push(format!("$skiptoken={}", skip_encode(next)));
            let base = if foreign {
                base.replacen(&self.config.base, &self.config.trap.base, 1)
            } else {
                base.to_string()
            };
            body.insert(
                "@odata.nextLink".into(),
                json!(format!("{base}{path}?{}", q.join("&"))),
            );
        }
        let page: Vec<Value> = (start..end).map(item).collect();
        body.insert("value".into(), Value::Array(page));
        (200, Body::Json(Value::Object(body)))
    }

    fn batch(&self, req: &Request, n: u64) -> Reply {
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return graph_error(400, "BadRequest", "Invalid batch payload format.");
        };
        let Some(requests) = body["requests"].as_array() else {
            return graph_error(400, "BadRequest", "requests is required");
        };
        if requests.len() > 20 {
            return graph_error(
                400,
                "BadRequest",
                "Number of batch request steps exceeds the maximum of 20.",
            );
        }
        let base = format!("{}/v1.0", self.config.base);
        let mut responses = Vec::new();
        for (k, r) in requests.iter().enumerate() {
            self.stats.batch_inner.fetch_add(1, Ordering::SeqCst);
            let id = r["id"].clone();
            let url = r["url"].as_str().unwrap_or_default();
            let headers: HashMap<String, String> = r["headers"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            // Inner requests are throttled one by one, as Graph does.
            let inner = n.wrapping_mul(31).wrapping_add(k as u64 + 1);
            let throttle = self.config.fault_rate > 0.0
                && self.config.faults.contains(&Fault::TooMany)
                && self.roll(inner, 3) < self.config.fault_rate;
            if throttle {
                self.stats.faults.fetch_add(1, Ordering::SeqCst);
                let mut h = Map::new();
                if let Some(s) = self.config.retry_after {
                    h.insert("Retry-After".into(), json!(s.to_string()));
                }
                responses.push(json!({"id": id, "status": 429, "headers": h,
                    "body": {"error": {"code": "TooManyRequests", "message": "Too many requests"}}}));
                continue;
            }
            let (path, query) = split_target(url);
            let (status, body) = self.graph_get(&path, &query, &headers, &base);
            let body = match body {
                Body::Json(v) => v,
                Body::Text(t) => Value::String(t),
            };
            responses.push(json!({"id": id, "status": status,
                "headers": {"Content-Type": "application/json"}, "body": body}));
        }
        Reply::json(200, &json!({"responses": responses}))
    }

    /// The mailbox an Exchange parameter names (address, name or object id), by index.
    fn mailbox(&self, key: &str) -> Option<usize> {
        self.tenant.exchange.cas_mailboxes.iter().position(|m| {
            [
                "PrimarySmtpAddress",
                "Identity",
                "Name",
                "ExternalDirectoryObjectId",
            ]
            .iter()
            .any(|k| m[*k].as_str().is_some_and(|v| v.eq_ignore_ascii_case(key)))
        })
    }

    /// Whether the mailbox is a member of the group with this object id.
    fn in_group(&self, group_id: &str, mailbox: usize) -> bool {
        let id = &self.tenant.exchange.cas_mailboxes[mailbox]["ExternalDirectoryObjectId"];
        self.group_by_id
            .get(group_id)
            .is_some_and(|&g| self.tenant.group_members[g].iter().any(|m| &m["id"] == id))
    }

    /// Test-ServicePrincipalAuthorization and Test-ApplicationAccessPolicy, answered from
    /// the synthetic tenant: scope groups by their members, the synthetic management scopes
    /// (`CustomAttribute1 -eq 'scopeN'`) by an attribute only the fake knows.
    fn exchange_test(&self, cmdlet: &str, params: &Value) -> Result<Vec<Value>, String> {
        let ex = &self.tenant.exchange;
        let text = |k: &str| params[k].as_str().unwrap_or_default().to_string();
        let not_found = |what: &str| {
            format!(
                "The operation couldn't be performed because object '{what}' couldn't be found."
            )
        };
        if cmdlet == "Test-ApplicationAccessPolicy" {
            let (address, app_id) = (text("Identity"), text("AppId").to_ascii_lowercase());
            let mailbox = self.mailbox(&address).ok_or_else(|| not_found(&address))?;
            let covers = |p: &Value| {
                let raw = p["ScopeIdentityRaw"].as_str().unwrap_or_default();
                let group = raw.rsplit_once(';').map(|(_, g)| g).unwrap_or_default();
                self.in_group(group, mailbox)
            };
            let mine: Vec<&Value> = ex
                .access_policies
                .iter()
                .filter(|p| {
                    p["AppId"]
                        .as_str()
                        .is_some_and(|a| a.eq_ignore_ascii_case(&app_id) || a == "*")
                })
                .collect();
            let right = |p: &&&Value, r: &str| p["AccessRight"] == r;
            let denied = mine
                .iter()
                .filter(|p| right(p, "DenyAccess"))
                .any(|p| covers(p));
            let restricts: Vec<&&Value> =
                mine.iter().filter(|p| right(p, "RestrictAccess")).collect();
            let granted = !denied && (restricts.is_empty() || restricts.iter().any(|p| covers(p)));
            let m = &ex.cas_mailboxes[mailbox];
            return Ok(vec![json!({
                "AppId": app_id, "Mailbox": m["Name"], "MailboxId": m["ExternalDirectoryObjectId"],
                "MailboxSid": format!("S-1-5-21-0-0-{mailbox}"),
                "AccessCheckResult": if granted { "Granted" } else { "Denied" },
            })]);
        }
        let (identity, resource) = (text("Identity"), text("Resource"));
        let sp = ex
            .service_principals
            .iter()
            .find(|sp| {
                ["Identity", "AppId", "ObjectId", "Name", "DisplayName"]
                    .iter()
                    .any(|k| {
                        sp[*k]
                            .as_str()
                            .is_some_and(|v| v.eq_ignore_ascii_case(&identity))
                    })
            })
            .ok_or_else(|| not_found(&identity))?;
        let mailbox = match resource.as_str() {
            "" => None,
            r => Some(self.mailbox(r).ok_or_else(|| not_found(r))?),
        };
        Ok(ex
            .role_assignments
            .iter()
            .filter(|a| a["RoleAssignee"] == sp["ObjectId"] && a["Enabled"] != false)
            .map(|a| {
                let role = a["Role"].as_str().unwrap_or_default();
                let scope = a["CustomResourceScope"].as_str();
                let in_scope = match (mailbox, scope) {
                    (None, _) => json!("Not Run"),
                    (Some(_), None) => json!(true),
                    (Some(m), Some(name)) => {
                        let filter = ex
                            .management_scopes
                            .iter()
                            .find(|s| s["Name"] == name)
                            .and_then(|s| s["RecipientFilter"].as_str())
                            .unwrap_or_default();
                        json!(filter == format!("CustomAttribute1 -eq '{}'", m365audit_testkit::synth::custom_attribute1(m)))
                    }
                };
                json!({
                    "RoleName": role,
                    "GrantedPermissions": role.trim_start_matches("Application "),
                    "AllowedResourceScope": scope.unwrap_or("Organization"),
                    "ScopeType": if scope.is_some() { "CustomRecipientScope" } else { "Organization" },
                    "InScope": in_scope,
                })
            })
            .collect())
    }

    fn invoke_command(&self, req: &Request) -> Reply {
        let Ok(body) = serde_json::from_slice::<Value>(&req.body) else {
            return graph_error(400, "BadRequest", "invalid JSON body");
        };
        let name = body["CmdletInput"]["CmdletName"]
            .as_str()
            .unwrap_or_default();
        if let Some(forbidden) = &self.config.forbid
            && name.contains(forbidden.as_str())
        {
            return graph_error(
                403,
                "Forbidden",
                &format!("The user isn't assigned to any management roles that include {name}."),
            );
        }
        let ex = &self.tenant.exchange;
        let params = &body["CmdletInput"]["Parameters"];
        let tested;
        let items: &[Value] = match name {
            "Test-ServicePrincipalAuthorization" | "Test-ApplicationAccessPolicy" => {
                tested = match self.exchange_test(name, params) {
                    Ok(rows) => rows,
                    Err(message) => return graph_error(404, "NotFound", &message),
                };
                &tested
            }
            "Get-ApplicationAccessPolicy" => &ex.access_policies,
            "Get-ManagementRoleAssignment" => &ex.role_assignments,
            "Get-ManagementScope" => &ex.management_scopes,
            "Get-ServicePrincipal" => &ex.service_principals,
            "Get-CASMailbox" => &ex.cas_mailboxes,
            "Get-OrganizationConfig" => std::slice::from_ref(&ex.organization_config),
            _ => {
                return graph_error(
                    400,
                    "BadRequest",
                    &format!("The term '{name}' is not recognized as a name of a cmdlet"),
                );
            }
        };
        let page_size = req
            .header("prefer")
            .and_then(|p| {
                p.split(';')
                    .find_map(|x| x.trim().strip_prefix("odata.maxpagesize="))
            })
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1000)
            .clamp(1, 1000);
        let start = match req.param("$skiptoken").map(skip_decode) {
            None => 0,
            Some(Some(s)) if s <= items.len() => s,
            Some(_) => return graph_error(400, "BadRequest", "Invalid skip token"),
        };
        let end = (start + page_size).min(items.len());
        if self.config.exchange_changed {
            return Reply::json(200, &json!({"Results": items[start..end].to_vec()}));
        }
        let mut out = Map::new();
        out.insert(
            "@odata.context".into(),
            json!(format!(
                "{}{}/$metadata#Collection(Exchange.GenericHashTable)",
                self.config.base, req.path
            )),
        );
        out.insert(
            "adminapi.warnings@odata.type".into(),
            json!("#Collection(String)"),
        );
        out.insert("@adminapi.warnings".into(), json!([]));
        out.insert("value".into(), Value::Array(items[start..end].to_vec()));
        let foreign = self.foreign(&req.path);
        if end < items.len() || foreign {
            let base = if foreign {
                &self.config.trap.base
            } else {
                &self.config.base
            };
            out.insert(
                "@odata.nextLink".into(),
                json!(format!(
                    "{base}{}?$skiptoken={}",
                    req.path,
                    skip_encode(end)
                )),
            );
        }
        Reply::json(200, &Value::Object(out))
    }
}

enum Body {
    Json(Value),
    Text(String),
}

fn bad(code: &str, message: &str) -> (u16, Body) {
    (
        400,
        Body::Json(json!({"error": {"code": code, "message": message}})),
    )
}

fn not_found(id: &str) -> (u16, Body) {
    (
        404,
        Body::Json(json!({"error": {"code": "Request_ResourceNotFound",
            "message": format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present.")}})),
    )
}

fn graph_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"error": {"code": code, "message": message,
        "innerError": {"date": "2026-01-01T00:00:00", "request-id": "00000000-0000-0000-0000-000000000000"}}}),
    )
}

/// Opaque to clients: they must follow nextLink as given.
fn skip_encode(offset: usize) -> String {
    format!("X{:x}", (offset as u64) ^ 0x5eed_cafe)
}

fn skip_decode(token: &str) -> Option<usize> {
    let n = u64::from_str_radix(token.strip_prefix('X')?, 16).ok()?;
    usize::try_from(n ^ 0x5eed_cafe).ok()
}

/// Keeps the selected top-level properties (`id` always, as Graph does).
fn project(v: &Value, select: Option<&[&str]>) -> Value {
    let (Some(fields), Some(obj)) = (select, v.as_object()) else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, val) in obj {
        if k == "id" || k == "@odata.type" || fields.iter().any(|f| f == k) {
            out.insert(k.clone(), val.clone());
        }
    }
    Value::Object(out)
}

impl Handler for Fake {
    async fn handle(&self, req: Request) -> Reply {
        if req.path == "/_stats" {
            return Reply::json(200, &self.stats());
        }
        let n = self.stats.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        if let Some(p) = &self.config.fail_path
            && (req.path.contains(p.as_str())
                || req.query.iter().any(|(_, v)| v.contains(p.as_str())))
        {
            return self.fault(self.config.fail_kind);
        }
        if let Some(reply) = self.redirect(&req) {
            return reply;
        }
        if self.throttled() {
            self.stats.throttled.fetch_add(1, Ordering::SeqCst);
            return self.too_many();
        }
        if let Some(f) = self.injected(n) {
            return self.fault(f);
        }
        self.route(&req, n).await
    }
}
