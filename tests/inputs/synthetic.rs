//! A generated 1,000-app tenant (gen-tenant, fixed seed) scans, and the counts of findings
//! that can be derived straight from the generated JSON match: expired credentials (CRED-001),
//! apps without a service principal (APP-004), apps without owners (APP-003) and plain-http
//! redirect URIs (URI-002). The counts of every rule are pinned in a snapshot, so a change
//! in the generator or a rule shows up in review.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crate::common::{self, AS_OF, Scan, TempDir, code, stderr};
use serde_json::Value;

const APPS: usize = 1000;
const SEED: u64 = 7;

fn read(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("generated file");
    match serde_json::from_str(&text).expect("generated JSON") {
        Value::Array(items) => items,
        Value::Object(mut page) => match page.remove("value") {
            Some(Value::Array(items)) => items,
            other => panic!("{}: unexpected page {other:?}", path.display()),
        },
        other => panic!("{}: unexpected {other:?}", path.display()),
    }
}

fn strings<'a>(v: &'a Value, path: &[&str]) -> Vec<&'a str> {
    let mut v = v;
    for key in path {
        v = &v[*key];
    }
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn generated_tenant_scans_with_the_counts_its_data_implies() {
    let tmp = TempDir::new("synthetic");
    let dir = tmp.path().join("tenant");
    common::gen_tenant(APPS, SEED, &dir);

    let out = Scan::new(&dir).format("json").run();
    assert!(matches!(code(&out), 0 | 1), "{}", stderr(&out));
    let report = out.json();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for f in report["findings"].as_array().expect("findings") {
        let key = format!(
            "{} {}",
            f["rule_id"].as_str().expect("rule id"),
            f["outcome"].as_str().expect("outcome")
        );
        *counts.entry(key).or_default() += 1;
    }
    let count = |key: &str| counts.get(key).copied().unwrap_or(0);

    // Expected counts, straight from the generated files.
    let apps = read(&dir.join("applications.json"));
    let sps = read(&dir.join("servicePrincipals.json"));
    assert_eq!(apps.len(), APPS);
    let as_of = format!("{AS_OF}T00:00:00Z");
    let expired = apps
        .iter()
        .flat_map(|a| {
            let mut creds = a["passwordCredentials"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            creds.extend(a["keyCredentials"].as_array().cloned().unwrap_or_default());
            creds
        })
        .filter(|c| {
            c["endDateTime"]
                .as_str()
                .is_some_and(|end| end <= as_of.as_str())
        })
        .count();
    let sp_app_ids: HashSet<String> = sps
        .iter()
        .filter_map(|sp| sp["appId"].as_str().map(str::to_ascii_lowercase))
        .collect();
    let without_sp = apps
        .iter()
        .filter(|a| !sp_app_ids.contains(&a["appId"].as_str().expect("appId").to_ascii_lowercase()))
        .count();
    let without_owners = apps
        .iter()
        .filter(|a| a["owners"].as_array().is_some_and(Vec::is_empty))
        .count();
    let loopback = ["localhost", "127.0.0.1", "[::1]"];
    let plain_http = apps
        .iter()
        .flat_map(|a| {
            let mut uris = strings(a, &["web", "redirectUris"]);
            uris.extend(strings(a, &["spa", "redirectUris"]));
            uris.extend(strings(a, &["publicClient", "redirectUris"]));
            uris
        })
        .filter(|u| {
            u.strip_prefix("http://").is_some_and(|rest| {
                let host = rest.split(['/', ':']).next().unwrap_or_default();
                !loopback.contains(&host)
            })
        })
        .count();

    assert!(
        expired > 0 && without_sp > 0 && plain_http > 0,
        "seed gives each case"
    );
    assert_eq!(count("CRED-001 fail"), expired, "{counts:#?}");
    assert_eq!(count("APP-004 fail"), without_sp, "{counts:#?}");
    assert_eq!(count("APP-003 fail"), without_owners, "{counts:#?}");
    assert_eq!(count("URI-002 fail"), plain_http, "{counts:#?}");
    assert!(report["summary"]["apps"].as_u64().expect("apps") >= APPS as u64);

    common::snapshot_settings().bind(|| {
        insta::assert_json_snapshot!("synthetic-1k-seed7-counts", counts);
    });
}
