//! Live collection against `fake-graph`, a real HTTP server on 127.0.0.1: the collected
//! snapshot scans exactly like the tenant's export files; faults and throttling change
//! nothing; a persistent fault stops the run with exit 3 and leaves nothing behind; tokens
//! are refreshed on 401; secrets and tokens never reach a file or a log, nor another origin
//! (a nextLink or a redirect to fake-graph's second listener, the trap).

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{self, Scan, TempDir, code, stderr, stdout};
use serde_json::Value;

const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const SECRET: &str = "Xq8~not-a-real-secret.Jm2uT7vFz3kL0pWcYb9N";
const TENANT: &str = "synthetic7.onmicrosoft.com";

/// A fake-graph running in this process, stopped on drop.
struct Fake {
    server: fake_graph::Server,
    base: String,
}

impl Fake {
    /// Starts fake-graph with these flags (as its binary takes them) on seed 7.
    fn start(args: &[&str]) -> Fake {
        let mut options = fake_graph::Options::from_flags(["--seed", "7"].iter().chain(args))
            .unwrap_or_else(|e| panic!("fake-graph flags {args:?}: {e}"));
        options.client_secret = Some(fake_graph::ClientSecret(SECRET.to_string()));
        let server = fake_graph::spawn(options).expect("fake-graph starts");
        let base = server.base.clone();
        Fake { server, base }
    }

    /// Counters of the requests served.
    fn stats(&self) -> Value {
        self.server.stats()
    }

    /// What the trap (the second listener, on another port) received.
    fn trap(&self) -> Value {
        self.stats()["trap"].clone()
    }

    /// The arguments pointing m365audit at this fake.
    fn urls(&self) -> Vec<String> {
        vec![
            "--login-url".into(),
            self.base.clone(),
            "--graph-url".into(),
            format!("{}/graph", self.base),
            "--exchange-url".into(),
            format!("{}/exo", self.base),
        ]
    }
}

/// Runs m365audit with the secret in the environment (and nothing else from the caller's).
fn m365audit(args: &[String], secret: Option<&str>) -> Output {
    m365audit_with(args, secret, &[])
}

/// [`m365audit`] with more environment variables.
fn m365audit_with(args: &[String], secret: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_m365audit"));
    cmd.args(args)
        .env_remove("M365AUDIT_CLIENT_SECRET")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied());
    if let Some(s) = secret {
        cmd.env("M365AUDIT_CLIENT_SECRET", s);
    }
    cmd.output().expect("m365audit runs")
}

/// `m365audit COMMAND --tenant --client-id EXTRA...` pointed at `fake`.
fn args(command: &str, fake: &Fake, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [command, "--tenant", TENANT, "--client-id", CLIENT_ID]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    args.extend(fake.urls());
    args
}

fn collect(fake: &Fake, out: &Path, extra: &[&str]) -> Output {
    let out = out.display().to_string();
    let mut a = args(
        "collect",
        fake,
        &["--exchange", "--backoff-ms", "2", "-o", &out],
    );
    a.extend(extra.iter().map(|s| s.to_string()));
    m365audit(&a, Some(SECRET))
}

fn assert_ok(o: &Output, what: &str) {
    assert_eq!(code(o), 0, "{what} failed:\n{}", stderr(o));
}

/// The JSON findings of a scan, without the parts that name the source folder.
fn findings(dir: &Path) -> (Value, Value) {
    let report = Scan::new(dir)
        .as_of("2026-06-01")
        .format("json")
        .arg("--include-passed")
        .run()
        .json();
    let mut f = Value::Array(common::findings(&report));
    for item in f.as_array_mut().expect("findings") {
        item.as_object_mut().expect("object").remove("source");
    }
    (f, report["summary"].clone())
}

/// Every data file of an export folder (snapshot.json differs per run by design).
fn data_files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for sub in ["", "exchange"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub))
            .expect("folder")
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file() && e.file_name() != "snapshot.json")
            .map(|e| e.path())
            .collect();
        names.sort();
        for p in names {
            let text = std::fs::read_to_string(&p).expect("read");
            files.push((
                p.strip_prefix(dir).expect("inside").display().to_string(),
                text,
            ));
        }
    }
    files
}

#[test]
fn collected_snapshot_scans_like_the_export_files() {
    let tmp = TempDir::new("collect-equal");
    let fake = Fake::start(&["--apps", "400"]);
    let live = tmp.path().join("live");
    let o = collect(&fake, &live, &["--usage"]);
    assert_ok(&o, "collect");
    assert!(
        stderr(&o).contains("collected 400 applications"),
        "{}",
        stderr(&o)
    );

    let export = tmp.path().join("export");
    let options = fake_graph::Options {
        seed: 7,
        apps: 400,
        ..fake_graph::Options::default()
    };
    let reference = options.reference_instant().expect("reference");
    options
        .tenant()
        .expect("tenant")
        .write_export(&export, reference)
        .expect("the export is written");

    let (live_findings, live_summary) = findings(&live);
    let (export_findings, export_summary) = findings(&export);
    assert_eq!(live_summary, export_summary);
    assert!(live_summary["fail"].as_u64().expect("fail count") > 100);
    assert_eq!(live_findings, export_findings);
    // The service principals' own properties were selected: credentials added to them are
    // seen, and no enterprise-application rule lacks data.
    let of = |rule: &str, outcome: &str| {
        live_findings
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule_id"] == rule && f["outcome"] == outcome)
            .count()
    };
    assert!(of("SP-001", "fail") > 0, "SP-001 fails on the fake tenant");
    for rule in [
        "SP-001",
        "SP-002",
        "CRED-001",
        "APP-006",
        "POLICY-001",
        "USAGE-001",
        "USAGE-002",
    ] {
        assert_eq!(of(rule, "not_evaluated"), 0, "{rule} has its data");
    }
    assert!(
        of("USAGE-002", "fail") > 0,
        "the fake has never-used credentials"
    );

    // snapshot.json says what was collected, so "collected, none" stays distinct.
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(live.join("snapshot.json")).expect("meta"))
            .expect("JSON");
    assert_eq!(meta["tenant"], TENANT);
    // Exchange's reach answers are asked for only with --verify-mailbox (tested below).
    assert_eq!(
        meta["parts"].as_array().expect("parts").len(),
        m365audit::snapshot::layout::ALL.len() - 2,
        "every file of the layout but snapshot.json and exchange/authorizationTests.json"
    );
    let served = fake.stats();
    assert_eq!(meta["request_count"], served["requests"]);
}

#[test]
fn owners_beyond_the_expand_limit_are_completed() {
    let tmp = TempDir::new("collect-owners");
    let fake = Fake::start(&["--apps", "200"]);
    let live = tmp.path().join("live");
    assert_ok(&collect(&fake, &live, &[]), "collect");
    let apps: Value = serde_json::from_str(
        &std::fs::read_to_string(live.join("applications.json")).expect("apps"),
    )
    .expect("JSON");
    let most = apps
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["owners"].as_array().map_or(0, Vec::len))
        .max()
        .expect("apps");
    assert_eq!(
        most, 25,
        "the synthetic tenant has apps with 25 owners; $expand shows 20"
    );
    assert!(fake.stats()["batch"].as_u64().expect("batch") >= 2);
}

#[test]
fn faults_and_throttling_do_not_change_the_snapshot() {
    let tmp = TempDir::new("collect-faults");
    let clean = Fake::start(&["--apps", "300"]);
    let reference = tmp.path().join("clean");
    assert_ok(&collect(&clean, &reference, &[]), "fault-free collect");

    let flaky = Fake::start(&[
        "--apps",
        "300",
        "--fault-rate",
        "0.1",
        "--faults",
        "429,503,504,reset,truncate,invalid-json",
        "--retry-after",
        "0",
    ]);
    let faulty = tmp.path().join("faulty");
    let o = collect(&flaky, &faulty, &["--max-retries", "8"]);
    assert_ok(&o, "collect under faults");
    let stats = flaky.stats();
    assert!(stats["faults"].as_u64().expect("faults") >= 3, "{stats}");
    assert_eq!(data_files(&faulty), data_files(&reference));

    let throttled = Fake::start(&[
        "--apps",
        "300",
        "--throttle-requests",
        "4",
        "--throttle-window-ms",
        "100",
        "--no-retry-after",
    ]);
    let slow = tmp.path().join("throttled");
    let o = collect(&throttled, &slow, &["--max-retries", "10"]);
    assert_ok(&o, "collect under throttling");
    assert!(throttled.stats()["throttled"].as_u64().expect("throttled") > 0);
    assert_eq!(data_files(&slow), data_files(&reference));
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(slow.join("snapshot.json")).expect("meta"))
            .expect("JSON");
    assert!(meta["collection"]["throttled"].as_u64().expect("count") > 0);
}

/// The sign-in reports need AuditLog.Read.All and an Entra ID P1/P2 tenant: a 403 stops
/// `--usage` naming both, and nothing is written.
#[test]
fn usage_without_audit_log_read_all_stops_naming_permission_and_licence() {
    let tmp = TempDir::new("collect-usage");
    let fake = Fake::start(&["--apps", "20", "--forbid", "/reports/"]);
    let out = tmp.path().join("refused");
    let o = collect(&fake, &out, &["--usage"]);
    let err = stderr(&o);
    assert_eq!(code(&o), 3, "{err}");
    assert!(
        err.contains("/beta/reports/") && err.contains("HTTP 403"),
        "{err}"
    );
    for needed in ["AuditLog.Read.All", "P1 or P2", "without --usage"] {
        assert!(err.contains(needed), "{needed} in {err}");
    }
    assert!(!out.exists(), "a partial snapshot was left");
    // Without --usage the reports are not asked for.
    let without = tmp.path().join("without");
    assert_ok(&collect(&fake, &without, &[]), "collect without --usage");
    assert!(
        !without.join("reports").exists(),
        "no reports folder without --usage"
    );
}

/// The app management policies need Policy.Read.All: without it the run stops naming the
/// permission and the way around it, and `--no-policies` collects the rest, the policy rules
/// then saying they were not collected.
#[test]
fn policies_without_policy_read_all_stop_the_run_unless_skipped() {
    let tmp = TempDir::new("collect-policies");
    let fake = Fake::start(&["--apps", "20", "--forbid", "/policies/"]);
    let out = tmp.path().join("refused");
    let o = collect(&fake, &out, &[]);
    let err = stderr(&o);
    assert_eq!(code(&o), 3, "{err}");
    assert!(
        err.contains("/policies/") && err.contains("HTTP 403"),
        "{err}"
    );
    assert!(
        err.contains("Policy.Read.All") && err.contains("--no-policies"),
        "{err}"
    );
    assert!(!out.exists(), "a partial snapshot was left");

    let skipped = tmp.path().join("skipped");
    assert_ok(
        &collect(&fake, &skipped, &["--no-policies"]),
        "collect --no-policies",
    );
    assert!(
        !skipped
            .join("policies/defaultAppManagementPolicy.json")
            .exists()
    );
    let (without, _) = findings(&skipped);
    for rule in ["POLICY-001", "POLICY-002"] {
        let reasons: Vec<&str> = without
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule_id"] == rule)
            .map(|f| f["evidence"]["reason"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(reasons.len(), 1, "{rule}: once, for the tenant");
        assert!(
            reasons[0].contains("was not collected"),
            "{rule}: {reasons:?}"
        );
    }

    // With the permission, both files are collected and read.
    let allowed = Fake::start(&["--apps", "20"]);
    let full = tmp.path().join("full");
    assert_ok(&collect(&allowed, &full, &[]), "collect");
    let (with, _) = findings(&full);
    let policy_001: Vec<&Value> = with
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule_id"] == "POLICY-001")
        .collect();
    assert_eq!(policy_001.len(), 1);
    assert_eq!(
        policy_001[0]["outcome"], "fail",
        "the fake allows 730-day secrets"
    );
}

#[test]
fn a_persistent_fault_exits_3_naming_the_request_and_writes_nothing() {
    let tmp = TempDir::new("collect-persistent");
    for (kind, expect) in [
        ("503", "HTTP 503"),
        ("truncate", "cut short"),
        ("reset", "connection"),
        ("invalid-json", "invalid JSON"),
    ] {
        let fake = Fake::start(&[
            "--apps",
            "50",
            "--fail-path",
            "appRoleAssignedTo",
            "--fail-kind",
            kind,
        ]);
        let out = tmp.path().join(format!("never-{kind}"));
        let o = collect(&fake, &out, &["--max-retries", "2"]);
        let err = stderr(&o);
        assert_eq!(code(&o), 3, "{kind}: {err}");
        assert!(err.contains("/appRoleAssignedTo"), "{kind}: {err}");
        assert!(
            err.contains("after 3 attempts") && err.contains(expect),
            "{kind}: {err}"
        );
        assert!(!out.exists(), "{kind}: a partial snapshot was left");
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .filter_map(Result::ok)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // With no retries allowed, the first failure stops the run; Exchange calls are named too.
    let fake = Fake::start(&["--apps", "10", "--fail-path", "/exo/", "--fail-kind", "503"]);
    let o = collect(&fake, &tmp.path().join("x"), &["--max-retries", "0"]);
    assert_eq!(code(&o), 3);
    assert!(
        stderr(&o).contains("POST /exo/adminapi/beta/"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_revoked_token_is_refreshed_once() {
    let tmp = TempDir::new("collect-401");
    let fake = Fake::start(&["--apps", "150", "--revoke-tokens-after", "6"]);
    let out = tmp.path().join("snap");
    assert_ok(&collect(&fake, &out, &[]), "collect with a revoked token");
    let stats = fake.stats();
    assert!(
        stats["unauthorized"].as_u64().expect("401s") >= 1,
        "{stats}"
    );
    assert!(stats["token"].as_u64().expect("tokens") >= 3, "{stats}");
}

#[test]
fn token_errors_say_what_to_fix() {
    let tmp = TempDir::new("collect-token");
    let fake = Fake::start(&["--apps", "5"]);
    let out = tmp.path().join("s").display().to_string();
    let args = args("collect", &fake, &["-o", &out]);

    let o = m365audit(&args, Some("wrong-secret"));
    assert_eq!(code(&o), 3);
    assert!(stderr(&o).contains("AADSTS7000215") && stderr(&o).contains("client secret is wrong"));

    let o = m365audit(&args, None);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("M365AUDIT_CLIENT_SECRET"),
        "{}",
        stderr(&o)
    );

    let mut argv = args.clone();
    argv.extend(["--client-secret".to_string(), SECRET.to_string()]);
    let o = m365audit(&argv, None);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("refused"), "{}", stderr(&o));
    assert!(!stderr(&o).contains(SECRET));
    assert!(!Path::new(&out).exists());
}

#[test]
fn a_next_link_loop_and_an_expired_secret_stop_with_exit_3_and_write_nothing() {
    let tmp = TempDir::new("collect-loop");
    // Applications are listed with $expand=owners, so 250 of them take three pages.
    let fake = Fake::start(&["--apps", "250", "--next-link-loop", "/applications"]);
    let out = tmp.path().join("loop");
    let o = collect(&fake, &out, &[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("@odata.nextLink repeats itself"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "a partial snapshot was left");

    let fake = Fake::start(&["--apps", "5", "--secret-expired"]);
    let out = tmp.path().join("expired");
    let o = collect(&fake, &out, &[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("AADSTS7000222") && stderr(&o).contains("client secret has expired"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(SECRET) && !stdout(&o).contains(SECRET));
    assert!(!out.exists());
}

#[test]
fn certificate_credentials_sign_a_client_assertion() {
    let tmp = TempDir::new("collect-cert");
    let auth = common::root().join("tests/fixtures/auth");
    let cert = auth.join("cert.pem").display().to_string();
    let fake = Fake::start(&["--apps", "20", "--client-cert", &cert]);
    for key in ["key.pem", "key-pkcs1.pem", "other-key.pem"] {
        let out = tmp.path().join(key);
        let (key_path, out_arg) = (
            auth.join(key).display().to_string(),
            out.display().to_string(),
        );
        let a = [
            "--certificate",
            &cert,
            "--certificate-key",
            &key_path,
            "-o",
            &out_arg,
        ];
        let o = m365audit(&args("collect", &fake, &a), None);
        if key == "other-key.pem" {
            assert_eq!(code(&o), 2);
            assert!(
                stderr(&o).contains("does not belong to the certificate"),
                "{}",
                stderr(&o)
            );
            assert!(!out.exists());
        } else {
            assert_ok(&o, key);
            assert!(out.join("applications.json").exists());
        }
    }
}

#[test]
fn scan_tenant_collects_then_scans_and_never_writes_the_secret() {
    let tmp = TempDir::new("scan-tenant");
    let fake = Fake::start(&["--apps", "120", "--revoke-tokens-after", "3"]);
    let kept = tmp.path().join("kept");
    let report = tmp.path().join("report.json");
    let (kept_arg, report_arg) = (kept.display().to_string(), report.display().to_string());
    let args = args(
        "scan",
        &fake,
        &[
            "--exchange",
            "--keep-snapshot",
            &kept_arg,
            "--as-of",
            "2026-06-01",
            "--format",
            "json",
            "-o",
            &report_arg,
        ],
    );
    // With everything m365audit can say about itself on: phase timings, full backtraces.
    let verbose = [("M365AUDIT_TIMINGS", "1"), ("RUST_BACKTRACE", "full")];
    let o = m365audit_with(&args, Some(SECRET), &verbose);
    assert_ok(&o, "scan --tenant");
    assert!(stderr(&o).contains("timing: "), "the timings are on");
    let scanned = common::read_report(&report);
    assert_eq!(scanned["summary"]["apps"], 120);
    let (offline, _) = findings(&kept);
    let failing: Vec<&Value> = offline
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f["outcome"] != "pass")
        .collect();
    assert_eq!(
        scanned["findings"].as_array().expect("findings").len(),
        failing.len()
    );

    // Neither the secret nor any issued token ("fake-<hex>") is in any file or log.
    let mut texts = vec![stderr(&o), String::from_utf8_lossy(&o.stdout).into_owned()];
    texts.push(std::fs::read_to_string(&report).expect("report"));
    texts.extend(data_files(&kept).into_iter().map(|(_, t)| t));
    texts.push(std::fs::read_to_string(kept.join("snapshot.json")).expect("meta"));
    for t in &texts {
        assert!(!t.contains(SECRET), "the secret leaked");
        assert!(!t.contains("fake-"), "a token leaked");
    }
}

#[test]
fn tokens_are_refreshed_before_they_expire() {
    let tmp = TempDir::new("collect-expiry");
    // Two-second tokens are refreshed after one second, before any request is refused.
    let fake = Fake::start(&[
        "--apps",
        "1000",
        "--latency-ms",
        "150",
        "--token-lifetime",
        "2",
    ]);
    assert_ok(&collect(&fake, &tmp.path().join("s"), &[]), "collect");
    let stats = fake.stats();
    assert_eq!(stats["unauthorized"], 0, "{stats}");
    assert!(stats["token"].as_u64().expect("tokens") >= 3, "{stats}");
}

#[test]
fn a_changed_exchange_api_stops_with_a_message_saying_so() {
    let tmp = TempDir::new("collect-exo-changed");
    let fake = Fake::start(&["--apps", "10", "--exchange-changed"]);
    let out = tmp.path().join("s");
    let o = collect(&fake, &out, &[]);
    assert_eq!(code(&o), 3);
    let err = stderr(&o);
    assert!(
        err.contains("Exchange admin API, Get-") && err.contains("has changed"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Collects from `fake` into a new folder `dir`, and asserts that the run stopped with exit 3
/// before writing anything, and that the trap received nothing at all: no request, so no token
/// and no secret. Returns what the run printed on standard error.
fn stopped_at_the_origin(fake: &Fake, dir: &Path, what: &str) -> String {
    std::fs::create_dir_all(dir).expect("a folder");
    let out = dir.join("snap");
    let o = &collect(fake, &out, &[]);
    let err = stderr(o);
    assert_eq!(code(o), 3, "{what}: {err}");
    let trap = fake.trap();
    let trap_origin = trap["base"].as_str().expect("the trap's address");
    assert!(
        err.contains(trap_origin),
        "{what}: the message names the link's origin {trap_origin}: {err}"
    );
    assert_eq!(trap["requests"], 0, "{what}: the trap was reached: {trap}");
    assert_eq!(trap["authorization"], 0, "{what}: a token left: {trap}");
    assert_eq!(trap["secrets"], 0, "{what}: the secret left: {trap}");
    assert!(!out.exists(), "{what}: a snapshot was written");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("the output's folder")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(leftovers.is_empty(), "{what}: {leftovers:?} left behind");
    assert!(
        !err.contains(SECRET) && !err.contains("fake-"),
        "{what}: {err}"
    );
    err
}

#[test]
fn a_next_link_on_another_origin_stops_the_run_and_no_token_follows_it() {
    let tmp = TempDir::new("collect-foreign-link");
    for (path, apps, request, flag) in [
        // A Graph listing followed directly.
        (
            "/applications",
            "250",
            "GET /graph/v1.0/applications:",
            "--graph-url",
        ),
        // A listing inside a $batch answer: owner lists longer than $expand's 20.
        ("/owners", "200", "/owners inside $batch:", "--graph-url"),
        // Exchange's InvokeCommand pages.
        (
            "/InvokeCommand",
            "20",
            "POST /exo/adminapi/beta/",
            "--exchange-url",
        ),
    ] {
        let fake = Fake::start(&["--apps", apps, "--foreign-next-link", path]);
        let err = stopped_at_the_origin(&fake, &tmp.path().join(&path[1..]), path);
        assert!(
            err.contains(request) && err.contains("@odata.nextLink"),
            "{path}: the message names the request that returned the link: {err}"
        );
        assert!(
            err.contains(&format!("another origin than {flag} ({})", fake.base)),
            "{path}: {err}"
        );
    }
}

#[test]
fn a_redirect_to_another_origin_is_not_followed() {
    let tmp = TempDir::new("collect-redirect");
    for (path, status, request) in [
        ("/v1.0/applications", "302", "GET /graph/v1.0/applications"),
        // A 307 keeps the method and the body: followed, it would post the secret there.
        (
            "/oauth2/v2.0/token",
            "307",
            "POST /synthetic7.onmicrosoft.com/oauth2/v2.0/token",
        ),
        ("/InvokeCommand", "308", "POST /exo/adminapi/beta/"),
    ] {
        let fake = Fake::start(&[
            "--apps",
            "20",
            "--redirect",
            path,
            "--redirect-status",
            status,
        ]);
        let err = stopped_at_the_origin(&fake, &tmp.path().join(status), path);
        assert!(
            err.contains(request) && err.contains(&format!("its redirect (HTTP {status})")),
            "{path}: {err}"
        );
    }
}

#[test]
fn http_on_a_host_other_than_loopback_is_refused_before_any_connection() {
    let tmp = TempDir::new("collect-http");
    let fake = Fake::start(&["--apps", "5"]);
    let out = tmp.path().join("snap");
    let out_arg = out.display().to_string();
    // `.invalid` never resolves (RFC 6761): even a client that tried would reach nothing.
    for flag in ["--login-url", "--graph-url", "--exchange-url"] {
        let mut a = args("collect", &fake, &["--exchange", "-o", &out_arg]);
        let at = a.iter().position(|x| x == flag).expect("the flag") + 1;
        a[at] = "http://graph.example.invalid".into();
        let o = m365audit(&a, Some(SECRET));
        let err = stderr(&o);
        assert_eq!(code(&o), 2, "{flag}: {err}");
        assert!(
            err.contains(flag) && err.contains("clear text") && err.contains("use https://"),
            "{flag}: {err}"
        );
    }
    assert_eq!(fake.stats()["requests"], 0, "a request was made");
    assert!(!out.exists());

    // Loopback http:// stays allowed (every other test here uses it), as do names and
    // addresses written differently.
    let mut a = args("collect", &fake, &["-o", &out_arg]);
    let at = a.iter().position(|x| x == "--login-url").expect("the flag") + 1;
    a[at] = a[at].replace("127.0.0.1", "localhost");
    assert_ok(&m365audit(&a, Some(SECRET)), "http://localhost");
}

#[cfg(unix)]
#[test]
fn secret_files_other_users_can_read_get_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("collect-perms");
    let fake = Fake::start(&["--apps", "5"]);
    // A space in the name: the chmod the warning suggests must quote it.
    let file = tmp.path().join("client secret.txt");
    std::fs::write(&file, format!("{SECRET}\n")).expect("write");
    // Group access is exposure only through a group this process is not in: as root, the file
    // is also given to `nogroup` (65534), which it is not.
    let foreign_group = std::os::unix::fs::chown(&file, None, Some(65534)).is_ok();
    if foreign_group {
        std::os::unix::fs::chown(&file, None, Some(0)).expect("chgrp back");
    }
    let cases = [
        (0o644, true, false),
        (0o640, false, false),
        (0o640, foreign_group, true),
        (0o600, false, false),
        (0o400, false, false),
    ];
    for (mode, warned, foreign) in cases {
        if foreign && foreign_group {
            std::os::unix::fs::chown(&file, None, Some(65534)).expect("chgrp");
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let out = tmp.path().join(format!("snap-{mode:o}-{foreign}"));
        let (file_arg, out_arg) = (file.display().to_string(), out.display().to_string());
        let o = m365audit(
            &args(
                "collect",
                &fake,
                &["--client-secret-file", &file_arg, "-o", &out_arg],
            ),
            None,
        );
        assert_ok(&o, &format!("mode {mode:o}"));
        let err = stderr(&o);
        // The path is quoted for the shell where it needs it.
        let warning = format!(
            "warning: {file_arg}: the client secret file can be read by other users (mode {mode:04o}); make it private: chmod 600 '{file_arg}'"
        );
        assert_eq!(err.contains(&warning), warned, "mode {mode:o}: {err}");
        assert!(!err.contains(SECRET));
        if foreign && foreign_group {
            std::os::unix::fs::chown(&file, None, Some(0)).expect("chgrp back");
        }
    }

    // The certificate's key, in a file of its own or inside the certificate file.
    let auth = common::root().join("tests/fixtures/auth");
    let cert = tmp.path().join("cert.pem");
    let key = tmp.path().join("key.pem");
    std::fs::copy(auth.join("cert.pem"), &cert).expect("copy");
    std::fs::copy(auth.join("key.pem"), &key).expect("copy");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o604)).expect("chmod");
    let (cert_arg, key_arg) = (cert.display().to_string(), key.display().to_string());
    let fake = Fake::start(&["--apps", "5", "--client-cert", &cert_arg]);
    let out = tmp.path().join("cert-snap").display().to_string();
    let o = m365audit(
        &args(
            "collect",
            &fake,
            &[
                "--certificate",
                &cert_arg,
                "--certificate-key",
                &key_arg,
                "-o",
                &out,
            ],
        ),
        None,
    );
    assert_ok(&o, "certificate");
    assert!(
        stderr(&o).contains(&format!(
            "warning: {key_arg}: the certificate key file can be read by other users (mode 0604)"
        )),
        "{}",
        stderr(&o)
    );
}

/// `--verify-mailbox` asks Exchange (here fake-graph, which answers from its own tenant
/// model: scope groups by their members, management scopes by an attribute no export holds)
/// about every app with app-only mailbox access; VERIFY-001 finds the model agreeing
/// wherever it can decide, and says why where it cannot. A mailbox Exchange does not know
/// stops the run naming it.
#[test]
fn verify_mailbox_exports_exchange_answers_the_model_agrees_with() {
    let tmp = TempDir::new("collect-verify");
    let fake = Fake::start(&["--apps", "200"]);
    let out = tmp.path().join("verified");
    let addresses = [
        "mailbox00001@synthetic7.onmicrosoft.com",
        "mailbox00003@synthetic7.onmicrosoft.com",
    ];
    let o = collect(
        &fake,
        &out,
        &[
            "--usage",
            "--verify-mailbox",
            addresses[0],
            "--verify-mailbox",
            addresses[1],
        ],
    );
    assert_ok(&o, "collect --usage --exchange --verify-mailbox");
    let read = |file: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(file)).expect(file)).expect(file)
    };
    let rows = read("exchange/authorizationTests.json");
    let rows = rows.as_array().expect("rows");
    for address in addresses {
        assert!(
            rows.iter().any(|r| r["Mailbox"] == address),
            "{address} tested"
        );
    }
    let count = |pred: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| pred(r)).count();
    assert!(
        count(&|r| r["AccessCheckResult"] == "Denied") > 0,
        "a policy denies"
    );
    assert!(
        count(&|r| r["AccessCheckResult"] == "Granted") > 0,
        "a policy grants"
    );
    assert!(count(&|r| r["InScope"].is_boolean()) > 0, "RBAC answers");
    let groups = read("groups.json");
    for g in groups.as_array().expect("groups") {
        let members = g["members"].as_array().expect("members exported");
        assert_eq!(Some(members.len() as u64), g["memberCount"].as_u64(), "{g}");
    }
    let report = Scan::new(&out)
        .as_of("2026-06-01")
        .format("json")
        .args(["--rule", "VERIFY-001", "--include-passed"])
        .run()
        .json();
    let outcomes = |o: &str| {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["outcome"] == o)
            .count()
    };
    assert_eq!(outcomes("fail"), 0, "{report:#}");
    // What else the run collected is read too: the usage rules have their reports.
    let usage = Scan::new(&out)
        .as_of("2026-06-01")
        .format("json")
        .args(["--rule", "USAGE-001", "--rule", "USAGE-002"])
        .run()
        .json();
    assert_eq!(usage["summary"]["not_evaluated"], 0, "{usage:#}");
    // Two addresses per tested app, every one decided except where a recipient filter is.
    assert!(
        outcomes("pass") > 0 && outcomes("not_evaluated") > 0,
        "{report:#}"
    );
    assert!(
        report.to_string().contains("recipient filter"),
        "says why a pair is not decided"
    );

    let unknown = tmp.path().join("unknown");
    let o = collect(
        &fake,
        &unknown,
        &["--verify-mailbox", "nobody@synthetic7.onmicrosoft.com"],
    );
    let err = stderr(&o);
    assert_eq!(code(&o), 3, "{err}");
    assert!(
        err.contains("nobody@synthetic7.onmicrosoft.com") && err.contains("--verify-mailbox"),
        "{err}"
    );
    assert!(!unknown.exists(), "a partial snapshot was left");
    // An app whose Exchange role does not include the test cmdlets is told how to find one.
    let forbidden = Fake::start(&[
        "--apps",
        "200",
        "--forbid",
        "Test-ServicePrincipalAuthorization",
    ]);
    let refused = tmp.path().join("refused");
    let o = collect(&forbidden, &refused, &["--verify-mailbox", addresses[0]]);
    let err = stderr(&o);
    assert_eq!(code(&o), 3, "{err}");
    for needed in [
        "HTTP 403",
        "Get-ManagementRole -Cmdlet Test-ServicePrincipalAuthorization",
        "without --verify-mailbox",
    ] {
        assert!(err.contains(needed), "{needed} in {err}");
    }
    assert!(!refused.exists(), "a partial snapshot was left");
    // Without --exchange there is no Exchange to ask.
    let mut a = args(
        "collect",
        &fake,
        &["--verify-mailbox", addresses[0], "-o", "unused"],
    );
    a.retain(|x| x != "--exchange");
    assert_eq!(code(&m365audit(&a, Some(SECRET))), 2);
}
