//! The findings store and `history`: runs recorded in SQLite (beside the reports folder, by
//! default) and PostgreSQL (a throwaway cluster on 127.0.0.1, see `common::pg`); findings
//! followed across runs by fingerprint (days open, resolved, reopened, held open while their
//! rule cannot be evaluated); one transaction per run, whatever kills it; migrations; a store
//! that cannot be reached or is too new fails the run after its reports are written.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::pg::{self, Cluster};
use crate::common::{self, TempDir, code, m365audit, stderr, stdout};

const TENANT: &str = "contoso.onmicrosoft.com";

/// `scan EXPORT --report-dir REPORTS --as-of DATE --format json -o OUT EXTRA...`.
fn scan(export: &Path, reports: &Path, as_of: &str, extra: &[&str]) -> Output {
    let out = reports.with_extension(format!("{as_of}.json"));
    let mut args: Vec<String> = vec![
        "scan".into(),
        export.display().to_string(),
        "--report-dir".into(),
        reports.display().to_string(),
        "--as-of".into(),
        as_of.into(),
        "--format".into(),
        "json".into(),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    m365audit(args)
}

/// `history ARGS --format json`, parsed.
fn history(args: &[&str]) -> Value {
    let mut all: Vec<&str> = vec!["history"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let o = m365audit(&all);
    assert_eq!(code(&o), 0, "history {args:?}: {}", stderr(&o));
    let h = serde_json::from_str(&stdout(&o)).expect("history JSON");
    common::validate_against(&h, "src/report/history.schema.json");
    h
}

/// The export's applications without the one named `name`.
fn remove_app(export: &Path, name: &str) {
    let path = export.join("applications.json");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("applications")).expect("json");
    let apps = doc["value"].as_array_mut().expect("a Graph page");
    let before = apps.len();
    apps.retain(|a| a["displayName"] != name);
    assert_eq!(apps.len(), before - 1, "{name} is in the demo tenant");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
}

fn rows<'a>(h: &'a Value, view: &str) -> &'a Vec<Value> {
    h[view].as_array().expect("a view")
}

fn run_folders(reports: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(reports.join(TENANT))
        .expect("the tenant's folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("20"))
        .collect();
    names.sort();
    names
}

/// The done-when of the store: a few runs of the demo tenant with a changed export, and
/// `history` shows days open, resolved and reopened findings, and the mean time to resolve.
#[test]
fn history_follows_findings_across_runs_of_a_changing_export() {
    let tmp = TempDir::new("store-history");
    let export = common::demo_copy(&tmp);
    let original = std::fs::read(export.join("applications.json")).expect("applications");
    let reports = tmp.path().join("reports");

    let first = scan(&export, &reports, "2026-11-22", &[]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(
        stderr(&first).contains(&format!(
            "store sqlite:{}: recorded run 1 of {TENANT}",
            reports.join("history.sqlite").display()
        )),
        "{}",
        stderr(&first)
    );
    remove_app(&export, "Contoso Mail Archiver");
    let second = scan(&export, &reports, "2026-11-29", &[]);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    std::fs::write(export.join("applications.json"), &original).expect("restore");
    let third = scan(&export, &reports, "2026-12-06", &[]);
    assert_eq!(code(&third), 0, "{}", stderr(&third));

    let h = history(&[
        "--report-dir",
        &reports.display().to_string(),
        "--tenant",
        TENANT,
    ]);
    let runs = rows(&h, "runs");
    assert_eq!(runs.len(), 3);
    let archiver = |rows: &Vec<Value>| -> Vec<Value> {
        rows.iter()
            .filter(|r| r["subject"] == "Contoso Mail Archiver")
            .cloned()
            .collect()
    };
    // The app's findings were resolved by the second run, a week after they were first seen.
    let resolved: Vec<Value> = archiver(rows(&h, "resolved"))
        .into_iter()
        .filter(|r| r["resolved_at"] == "2026-11-29T00:00:00Z")
        .collect();
    assert!(resolved.len() >= 2, "{resolved:?}");
    for r in &resolved {
        assert_eq!(r["days_open"], 7, "{r}");
    }
    assert!(runs[1]["resolved"].as_i64() >= Some(resolved.len() as i64));
    // ... and came back with the third.
    let reopened = archiver(rows(&h, "reopened"));
    // Each came back, unless the week passed changed it (a credential's finding by date).
    assert!(reopened.len() >= 2, "{reopened:?}");
    for r in &reopened {
        assert!(
            resolved
                .iter()
                .any(|s| s["fingerprint"] == r["fingerprint"]),
            "{r}"
        );
        assert_eq!(r["reopened"], 1);
        assert_eq!(r["open"], true);
        assert_eq!(r["last_reopened"], "2026-12-06T00:00:00Z");
    }
    assert!(runs[2]["reopened"].as_i64() >= Some(reopened.len() as i64));
    // Open findings: the reopened ones since the third run, the others since the first.
    let open = rows(&h, "open");
    for o in open {
        if o["subject"] == "Contoso Mail Archiver" && o["reopened"] == 1 {
            assert_eq!(o["days_open"], 0, "{o}");
            assert_eq!(o["first_seen"], "2026-11-22T00:00:00Z");
        }
    }
    assert!(
        open.iter()
            .any(|o| o["days_open"] == 14 && o["first_seen"] == "2026-11-22T00:00:00Z"),
        "findings open since the first run are 14 days open at the third"
    );
    // The mean time to resolve of a rule whose only resolutions are the archiver's: a week.
    let credential_rule = resolved[0]["rule_id"].as_str().expect("a rule");
    let mttr = rows(&h, "mttr")
        .iter()
        .find(|m| m["rule_id"] == credential_rule)
        .expect("the rule's mean time");
    assert!(mttr["resolved"].as_i64() >= Some(1));

    // The other formats show the same views.
    let table = m365audit(["history", "--report-dir", &reports.display().to_string()]);
    assert_eq!(code(&table), 0, "{}", stderr(&table));
    for needle in [
        "Runs: 3",
        "Reopened findings:",
        "Resolved findings:",
        "Mean time to resolve",
        "Contoso Mail Archiver",
    ] {
        assert!(
            stdout(&table).contains(needle),
            "{needle}: {}",
            stdout(&table)
        );
    }
    let csv = m365audit([
        "history",
        "--report-dir",
        &reports.display().to_string(),
        "--view",
        "open",
        "--format",
        "csv",
    ]);
    assert_eq!(code(&csv), 0, "{}", stderr(&csv));
    let csv_text = stdout(&csv);
    let lines: Vec<&str> = csv_text.lines().collect();
    assert!(lines[0].starts_with("tenant,rule_id,severity,subject"));
    assert_eq!(lines.len(), open.len() + 1);
    let md = m365audit([
        "history",
        "--report-dir",
        &reports.display().to_string(),
        "--format",
        "markdown",
    ]);
    assert!(stdout(&md).contains("## Reopened findings ("));
    let all_csv = m365audit([
        "history",
        "--report-dir",
        &reports.display().to_string(),
        "--format",
        "csv",
    ]);
    common::assert_input_error(&all_csv, &["CSV holds one table", "--view"]);

    // --since: only what happened from the second run on.
    let since = history(&[
        "--report-dir",
        &reports.display().to_string(),
        "--since",
        "2026-11-29",
    ]);
    assert_eq!(rows(&since, "runs").len(), 2);
    assert_eq!(
        rows(&since, "open").len(),
        open.len(),
        "open findings however old"
    );

    // The HTML report of a run with a store shows the trend: one bar per run.
    let html = tmp.path().join("report.html");
    let o = m365audit([
        "scan",
        &export.display().to_string(),
        "--report-dir",
        &reports.display().to_string(),
        "--as-of",
        "2026-12-13",
        "--format",
        "html",
        "-o",
        &html.display().to_string(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(page.contains("id=\"trend\""), "a trend section");
    let bars = page.matches("<rect ").count();
    assert!(bars >= 4, "at least one bar per run (4 runs): {bars}");
    assert!(page.contains("2026-11-22") && page.contains("2026-12-13"));
}

/// Missing data is never a fix: findings of rules the run did not evaluate (left out with
/// --rule, or lacking their input) stay open.
#[test]
fn findings_of_rules_not_evaluated_stay_open() {
    let tmp = TempDir::new("store-held");
    let export = common::demo_copy(&tmp);
    let reports = tmp.path().join("reports");
    let r = reports.display().to_string();
    assert_eq!(code(&scan(&export, &reports, "2026-11-22", &[])), 0);
    let open_before = rows(&history(&["--report-dir", &r]), "open").len();

    let only = scan(&export, &reports, "2026-11-23", &["--rule", "CRED-001"]);
    assert_eq!(code(&only), 0, "{}", stderr(&only));
    assert!(
        stderr(&only).contains("0 resolved") && stderr(&only).contains("kept open"),
        "{}",
        stderr(&only)
    );
    // Without the Exchange export, the Exchange rules cannot be evaluated.
    std::fs::remove_dir_all(export.join("exchange")).expect("remove exchange/");
    let manifest = export.join("snapshot.json");
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest).expect("read")).expect("json");
    snapshot["parts"]
        .as_array_mut()
        .expect("parts")
        .retain(|p| !p.as_str().is_some_and(|p| p.starts_with("exchange/")));
    std::fs::write(&manifest, snapshot.to_string()).expect("write");
    let no_exchange = scan(&export, &reports, "2026-11-24", &[]);
    assert_eq!(code(&no_exchange), 0, "{}", stderr(&no_exchange));
    let h = history(&["--report-dir", &r]);
    assert_eq!(rows(&h, "open").len(), open_before, "nothing resolved");
    assert!(
        rows(&h, "resolved").is_empty(),
        "{:?}",
        rows(&h, "resolved")
    );
    let exo_open = rows(&h, "open")
        .iter()
        .filter(|o| o["rule_id"].as_str().is_some_and(|r| r.starts_with("EXO-")))
        .count();
    assert!(exo_open > 0, "the Exchange findings are still open");
}

/// Runs with input that could not be read do not touch the store (they would resolve the
/// findings of what they could not read); the reports are written and the exit is 2.
#[test]
fn a_partial_scan_does_not_update_the_store() {
    let tmp = TempDir::new("store-partial");
    let export = common::demo_copy(&tmp);
    let reports = tmp.path().join("reports");
    assert_eq!(code(&scan(&export, &reports, "2026-11-22", &[])), 0);
    std::fs::write(export.join("servicePrincipals.json"), "{ not json").expect("break");
    let o = scan(&export, &reports, "2026-11-23", &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not updated"), "{}", stderr(&o));
    assert_eq!(run_folders(&reports).len(), 2, "the report is written");
    let h = history(&["--report-dir", &reports.display().to_string()]);
    assert_eq!(rows(&h, "runs").len(), 1);
}

/// A store written by a newer m365audit is refused by name; the run's reports are written and
/// it exits 3. So does a store that cannot be reached.
#[test]
fn a_newer_or_unreachable_store_fails_the_run_after_the_reports() {
    let tmp = TempDir::new("store-newer");
    let export = common::demo_copy(&tmp);
    let reports = tmp.path().join("reports");
    assert_eq!(code(&scan(&export, &reports, "2026-11-22", &[])), 0);
    let db = reports.join("history.sqlite");
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute("UPDATE m365audit_schema SET version = 99", []))
        .expect("pretend a newer m365audit wrote it");
    let o = scan(&export, &reports, "2026-11-23", &[]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "error: store sqlite:{}: written by a newer m365audit (schema version 99",
            db.display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(run_folders(&reports).len(), 2, "the report is written");
    let h = m365audit(["history", "--report-dir", &reports.display().to_string()]);
    assert_eq!(code(&h), 3);
    assert!(stderr(&h).contains("upgrade m365audit"), "{}", stderr(&h));

    // Nothing listens on this loopback port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let url = format!("postgres://m365audit@127.0.0.1:{port}/history");
    let o = scan(&export, &reports, "2026-11-24", &["--store", &url]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("error: store {url}: PostgreSQL:")),
        "{}",
        stderr(&o)
    );
    assert_eq!(run_folders(&reports).len(), 3, "the report is written");
}

/// Store URLs are checked before scanning; a password in one is refused, and never echoed.
#[test]
fn store_urls_are_checked_and_never_carry_a_password() {
    let tmp = TempDir::new("store-url");
    let reports = tmp.path().join("reports");
    let demo = common::root().join("examples/demo-tenant");
    let o = scan(
        &demo,
        &reports,
        "2026-11-22",
        &["--store", "postgres://admin:hunter2@127.0.0.1/x"],
    );
    common::assert_input_error(&o, &["--store", "password", "--store-password-file"]);
    assert!(!stderr(&o).contains("hunter2"));
    assert!(!reports.exists(), "nothing scanned or written");
    let o = scan(&demo, &reports, "2026-11-22", &["--store", "mysql://x"]);
    common::assert_input_error(&o, &["\"mysql://x\" is not a store", "sqlite:PATH"]);
    // `history` never creates a store where there is none.
    let o = m365audit([
        "history",
        "--store",
        &format!("sqlite:{}", tmp.path().join("none.sqlite").display()),
    ]);
    common::assert_input_error(&o, &["no findings store here yet"]);
    assert!(!tmp.path().join("none.sqlite").exists());
    // --no-store: nothing recorded.
    let o = scan(&demo, &reports, "2026-11-22", &["--no-store"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!reports.join("history.sqlite").exists());
}

/// A store of the previous schema is upgraded in place, its data kept (and its resolved
/// findings' episodes carried into the mean time to resolve).
#[test]
fn a_schema_1_store_is_migrated() {
    use m365audit::store::{Location, SCHEMA_VERSION, Store};
    let tmp = TempDir::new("store-migrate");
    let db = tmp.path().join("old.sqlite");
    let location = Location::Sqlite(db.clone());
    let mut old = Store::open_at(&location, None, 1).expect("a schema 1 store");
    assert_eq!(old.version().expect("version"), 1);
    drop(old);
    let c = rusqlite::Connection::open(&db).expect("open");
    c.execute_batch(
        "INSERT INTO tenants (id, name, first_run_at, last_run_at) VALUES (1, 'contoso.onmicrosoft.com', 1700000000, 1700864000);
         INSERT INTO runs (tenant_id, as_of, generated_at, tool_version, critical, high, medium, low, info, waived, not_evaluated, opened, resolved, reopened)
           VALUES (1, 1700000000, 1700000000, '0.0.9', 0, 2, 0, 0, 0, 0, 0, 2, 0, 0),
                  (1, 1700864000, 1700864000, '0.0.9', 0, 1, 0, 0, 0, 0, 0, 0, 1, 0);
         INSERT INTO findings (tenant_id, fingerprint, rule_id, severity, outcome, subject_kind, subject_name, message,
           first_seen_at, opened_at, last_seen_at, resolved_at, reopened_count, last_run_id)
           VALUES (1, 'aa', 'CRED-001', 'high', 'fail', 'application', 'Old App', 'expired', 1700000000, 1700000000, 1700000000, 1700864000, 0, 2),
                  (1, 'bb', 'CRED-004', 'high', 'fail', 'application', 'Other App', 'a secret', 1700000000, 1700000000, 1700864000, NULL, 0, 2);",
    )
    .expect("schema 1 rows");
    drop(c);
    let h = history(&["--store", &format!("sqlite:{}", db.display())]);
    assert_eq!(rows(&h, "runs").len(), 2);
    assert_eq!(rows(&h, "open").len(), 1);
    assert_eq!(rows(&h, "open")[0]["days_open"], 10);
    let mttr = rows(&h, "mttr");
    assert_eq!(mttr.len(), 1, "{mttr:?}");
    assert_eq!(mttr[0]["rule_id"], "CRED-001");
    assert_eq!(mttr[0]["mean_days"], 10.0);
    let mut upgraded = Store::open(&location, None).expect("reopen");
    assert_eq!(upgraded.version().expect("version"), SCHEMA_VERSION);
}

/// Overlapping runs of one tenant (two cron jobs) each keep their report folder and their
/// store entry; `latest/` is the last one recorded, whole.
#[test]
fn concurrent_runs_of_one_tenant_each_record_their_run() {
    let tmp = TempDir::new("store-concurrent");
    concurrent_runs(&tmp.path().join("reports"), None);
}

/// As above, into PostgreSQL: its advisory lock serializes runs of one tenant.
#[test]
fn concurrent_runs_of_one_tenant_each_record_their_run_in_postgres() {
    let Some(cluster) = Cluster::start("concurrent_runs_in_postgres") else {
        return;
    };
    let url = cluster.database("concurrent");
    let tmp = TempDir::new("store-pg-concurrent");
    concurrent_runs(&tmp.path().join("reports"), Some(&url));
}

/// Five runs of the demo tenant at once into `reports` and the store at `url` (or the
/// default beside the reports); every one is kept, in the folder and in the store.
fn concurrent_runs(reports: &Path, url: Option<&str>) {
    let demo = common::root().join("examples/demo-tenant");
    let store: Vec<&str> = url.map(|u| vec!["--store", u]).unwrap_or_default();
    let children: Vec<_> = (0..5)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_m365audit"))
                .arg("scan")
                .arg(&demo)
                .arg("--report-dir")
                .arg(reports)
                .args([
                    "--as-of",
                    "2026-11-22",
                    "--format",
                    "json",
                    "-o",
                    "/dev/null",
                ])
                .args(&store)
                .env("PGPASSWORD", pg::PASSWORD)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start")
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().expect("wait");
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let folders = run_folders(reports);
    assert_eq!(folders.len(), 5);
    let reports_arg = reports.display().to_string();
    let mut args = vec!["history", "--report-dir", &reports_arg, "--format", "json"];
    args.extend(&store);
    let o = Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args(&args)
        .env("PGPASSWORD", pg::PASSWORD)
        .output()
        .expect("history");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let h: Value = serde_json::from_str(&stdout(&o)).expect("json");
    let runs = rows(&h, "runs");
    assert_eq!(runs.len(), 5);
    let mut recorded: Vec<String> = runs
        .iter()
        .map(|r| {
            Path::new(r["report"].as_str().expect("a report folder"))
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let last = recorded.last().cloned().expect("a run");
    recorded.sort();
    assert_eq!(recorded, folders, "one store entry per report folder");
    let latest = std::fs::read_to_string(reports.join(TENANT).join("latest/RUN")).expect("RUN");
    assert_eq!(latest.trim(), last, "latest/ is the run recorded last");
    let latest_json = common::read_report(&reports.join(TENANT).join("latest/findings.json"));
    assert!(
        latest_json["findings"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    // The first run opened the findings; the others saw them again.
    assert!(runs[0]["opened"].as_i64() > Some(0));
    assert!(
        runs[1..]
            .iter()
            .all(|r| r["opened"] == 0 && r["resolved"] == 0)
    );
}

/// The store's tables, minus what differs between two runs of the same input (when and
/// where the report was written): equal dumps, equal stores.
fn sqlite_dump(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).expect("open");
    let mut out = Vec::new();
    for sql in [
        "SELECT id, tenant_id, as_of, critical, high, medium, low, info, waived, not_evaluated, opened, resolved, reopened FROM runs ORDER BY id",
        "SELECT * FROM findings ORDER BY tenant_id, fingerprint",
        "SELECT * FROM resolutions ORDER BY tenant_id, fingerprint, resolved_at",
    ] {
        let mut stmt = c.prepare(sql).expect("prepare");
        let width = stmt.column_count();
        let mut rows = stmt.query([]).expect("query");
        while let Some(row) = rows.next().expect("row") {
            let cells: Vec<String> = (0..width)
                .map(|i| format!("{:?}", row.get_ref(i).expect("cell")))
                .collect();
            out.push(cells.join("|"));
        }
    }
    out
}

/// Killed with SIGKILL while it writes the store, a run leaves the store at the previous run
/// or at its own, never between; the next run records normally.
#[test]
fn a_run_killed_while_writing_the_store_leaves_it_whole() {
    let tmp = TempDir::new("store-kill");
    let export = tmp.path().join("export");
    // Large enough that recording a run takes a while to interrupt.
    common::gen_tenant(6000, 3, &export);
    let reports = tmp.path().join("reports");
    let scan_args = |as_of: &str| -> Vec<String> {
        vec![
            "scan".into(),
            export.display().to_string(),
            "--report-dir".into(),
            reports.display().to_string(),
            "--report-name".into(),
            "big".into(),
            "--report-format".into(),
            "csv".into(),
            "--as-of".into(),
            as_of.into(),
            "--format".into(),
            "csv".into(),
            "-o".into(),
            "/dev/null".into(),
        ]
    };
    let o = m365audit(scan_args("2026-06-01"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let db = reports.join("history.sqlite");
    let before = sqlite_dump(&db);
    // What the second run writes when nobody kills it, in a copy of the store.
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&copy).expect("mkdir");
    std::fs::copy(&db, copy.join("history.sqlite")).expect("copy");
    let mut whole_args = scan_args("2026-12-01");
    whole_args.extend([
        "--store".into(),
        format!("sqlite:{}", copy.join("history.sqlite").display()),
    ]);
    let o = m365audit(&whole_args);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let after = sqlite_dump(&copy.join("history.sqlite"));
    assert_ne!(before, after, "the second run changes the store");

    // The run folder appears (renamed into place) just before the store is written: kill then.
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args(scan_args("2026-12-01"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let tenant = reports.join("big");
    let started = std::time::Instant::now();
    loop {
        let runs = std::fs::read_dir(&tenant)
            .expect("tenant folder")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with("20"))
            .count();
        if runs == 2 || started.elapsed() > std::time::Duration::from_secs(120) {
            break;
        }
        if child.try_wait().expect("poll").is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let status = child.wait().expect("wait");
    let now = sqlite_dump(&db);
    assert!(
        now == before || now == after,
        "the store is at one run or the other (killed: {})",
        !status.success()
    );
    eprintln!(
        "killed run left the store at the {} run",
        if now == before { "previous" } else { "new" }
    );
    // The next run records normally.
    let o = m365audit(scan_args("2026-12-02"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let h = history(&["--report-dir", &reports.display().to_string()]);
    let expected = if now == before { 2 } else { 3 };
    assert_eq!(rows(&h, "runs").len(), expected);
}

// PostgreSQL: a throwaway cluster per test, skipped with one line when not installed.

/// `scan` into a PostgreSQL store with the password from a file, then from a variable;
/// `history` reads it back; a wrong password is a store failure naming the store, not the
/// password.
#[test]
fn postgres_store_records_runs_with_the_password_from_a_file_or_variable() {
    let Some(cluster) = Cluster::start("postgres_store_records_runs") else {
        return;
    };
    let url = cluster.database("history");
    let tmp = TempDir::new("store-pg");
    let export = common::demo_copy(&tmp);
    let reports = tmp.path().join("reports");
    let pw = cluster.password_file().display().to_string();
    let o = scan(
        &export,
        &reports,
        "2026-11-22",
        &["--store", &url, "--store-password-file", &pw],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("store {url}: recorded run 1")),
        "{}",
        stderr(&o)
    );
    remove_app(&export, "Contoso Mail Archiver");
    let o = Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args([
            "scan",
            &export.display().to_string(),
            "--report-dir",
            &reports.display().to_string(),
        ])
        .args([
            "--as-of",
            "2026-11-29",
            "--format",
            "json",
            "-o",
            "/dev/null",
        ])
        .args(["--store", &url, "--store-password-env", "STORE_PW"])
        .env("STORE_PW", pg::PASSWORD)
        .output()
        .expect("run");
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains(pg::PASSWORD));

    let out = Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args(["history", "--store", &url, "--format", "json"])
        .env("PGPASSWORD", pg::PASSWORD)
        .output()
        .expect("history");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let h: Value = serde_json::from_str(&stdout(&out)).expect("json");
    common::validate_against(&h, "src/report/history.schema.json");
    assert_eq!(rows(&h, "runs").len(), 2);
    assert!(
        rows(&h, "resolved")
            .iter()
            .any(|r| r["subject"] == "Contoso Mail Archiver" && r["days_open"] == 7)
    );

    // The same history from SQLite and PostgreSQL: one set of queries, two backends.
    let sqlite = tmp.path().join("sqlite-reports");
    std::fs::write(
        export.join("applications.json"),
        std::fs::read(common::root().join("examples/demo-tenant/applications.json")).expect("read"),
    )
    .expect("restore");
    assert_eq!(code(&scan(&export, &sqlite, "2026-11-22", &[])), 0);
    remove_app(&export, "Contoso Mail Archiver");
    assert_eq!(code(&scan(&export, &sqlite, "2026-11-29", &[])), 0);
    let s = history(&["--report-dir", &sqlite.display().to_string()]);
    for view in ["open", "resolved", "mttr"] {
        assert_eq!(rows(&s, view), rows(&h, view), "{view}");
    }

    let wrong = tmp.write("wrong", "not-the-password\n");
    let o = scan(
        &export,
        &reports,
        "2026-11-30",
        &[
            "--store",
            &url,
            "--store-password-file",
            &wrong.display().to_string(),
        ],
    );
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("error: store {url}: PostgreSQL:")),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("not-the-password"));
    let mut client = cluster.client("history");
    let version: i64 = client
        .query_one("SELECT version FROM m365audit_schema", &[])
        .expect("version")
        .get(0);
    assert_eq!(version, m365audit::store::SCHEMA_VERSION);
}

/// Migrations on PostgreSQL: from an empty database, and from schema 1 with data.
#[test]
fn postgres_migrates_from_empty_and_from_schema_1() {
    use m365audit::store::{Location, Store};
    let Some(cluster) = Cluster::start("postgres_migrates") else {
        return;
    };
    let url = cluster.database("old");
    let location = Location::parse(&url).expect("a URL");
    let mut old = Store::open_at(&location, Some(pg::PASSWORD), 1).expect("schema 1");
    assert_eq!(old.version().expect("version"), 1);
    drop(old);
    let mut client = cluster.client("old");
    client
        .batch_execute(
            "INSERT INTO tenants (name, first_run_at, last_run_at) VALUES ('t', 1700000000, 1700864000);
             INSERT INTO findings (tenant_id, fingerprint, rule_id, severity, outcome, subject_kind, message,
               first_seen_at, opened_at, last_seen_at, resolved_at, reopened_count)
               SELECT id, 'aa', 'CRED-001', 'high', 'fail', 'application', 'm', 1700000000, 1700000000, 1700000000, 1700864000, 0 FROM tenants;",
        )
        .expect("schema 1 rows");
    let mut store = Store::open(&location, Some(pg::PASSWORD)).expect("migrated");
    assert_eq!(
        store.version().expect("version"),
        m365audit::store::SCHEMA_VERSION
    );
    let n: i64 = client
        .query_one("SELECT count(*) FROM resolutions", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 1, "the closed episode is carried over");

    let fresh = cluster.database("fresh");
    let mut store =
        Store::open(&Location::parse(&fresh).expect("url"), Some(pg::PASSWORD)).expect("fresh");
    assert_eq!(
        store.version().expect("version"),
        m365audit::store::SCHEMA_VERSION
    );
    // Opening again changes nothing.
    let mut again =
        Store::open(&Location::parse(&fresh).expect("url"), Some(pg::PASSWORD)).expect("again");
    assert_eq!(
        again.version().expect("version"),
        m365audit::store::SCHEMA_VERSION
    );
}

/// PostgreSQL: a run killed with SIGKILL mid-write leaves the store at one run or the other.
#[test]
fn postgres_run_killed_while_writing_leaves_the_store_whole() {
    let Some(cluster) = Cluster::start("postgres_run_killed") else {
        return;
    };
    let url = cluster.database("kill");
    let tmp = TempDir::new("store-pg-kill");
    let export = tmp.path().join("export");
    common::gen_tenant(6000, 3, &export);
    let reports = tmp.path().join("reports");
    let pw = cluster.password_file().display().to_string();
    let args = |as_of: &str| -> Vec<String> {
        [
            "scan",
            &export.display().to_string(),
            "--report-dir",
            &reports.display().to_string(),
            "--report-name",
            "big",
            "--report-format",
            "csv",
            "--as-of",
            as_of,
            "--format",
            "csv",
            "-o",
            "/dev/null",
            "--store",
            &url,
            "--store-password-file",
            &pw,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let o = m365audit(args("2026-06-01"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // What the second run writes when nobody kills it, in a copy of the database.
    cluster
        .client("postgres")
        .batch_execute("CREATE DATABASE kill_ref TEMPLATE kill")
        .expect("copy the database");
    let mut whole = args("2026-12-01");
    let at = whole.iter().position(|a| a == &url).expect("the URL");
    whole[at] = cluster.url("kill_ref");
    whole[3] = tmp.path().join("ref-reports").display().to_string();
    let o = m365audit(&whole);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let after = pg_dump(&mut cluster.client("kill_ref"));
    let mut client = cluster.client("kill");
    let dump = pg_dump;
    let before = dump(&mut client);
    let mut child = Command::new(env!("CARGO_BIN_EXE_m365audit"))
        .args(args("2026-12-01"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let tenant = reports.join("big");
    let started = std::time::Instant::now();
    while std::fs::read_dir(&tenant)
        .expect("tenant")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("20"))
        .count()
        < 2
        && started.elapsed() < std::time::Duration::from_secs(120)
        && child.try_wait().expect("poll").is_none()
    {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    // The server notices the closed connection and rolls back.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let now = dump(&mut client);
    assert_ne!(before, after, "the second run changes the store");
    assert!(
        now == before || now == after,
        "the store is at one run or the other"
    );
    eprintln!(
        "killed run left the store at the {} run",
        if now == before { "previous" } else { "new" }
    );
    let o = m365audit(args("2026-12-02"));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let runs: i64 = client
        .query_one("SELECT count(*) FROM runs", &[])
        .expect("count")
        .get(0);
    assert_eq!(runs, if now == before { 2 } else { 3 });
}

/// A PostgreSQL store's rows as JSON text, minus when and where each report was written.
fn pg_dump(client: &mut postgres::Client) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT row_to_json(r)::text FROM (SELECT id, tenant_id, as_of, critical, high, medium, low, info, waived, not_evaluated, opened, resolved, reopened FROM runs ORDER BY id) r",
        "SELECT row_to_json(f)::text FROM (SELECT * FROM findings ORDER BY tenant_id, fingerprint) f",
        "SELECT row_to_json(s)::text FROM (SELECT * FROM resolutions ORDER BY tenant_id, fingerprint, resolved_at) s",
    ] {
        for row in client.query(sql, &[]).expect("dump") {
            out.push(row.get(0));
        }
    }
    out
}

/// Many tenants on many hosts: three shard processes at once (an Indexed Job's completions),
/// each scanning its tenants live from their own fake-graph, all recording into one
/// PostgreSQL store. Every tenant appears exactly once, with one run per pass, and its open
/// findings are those of its latest report.
#[test]
fn shard_processes_share_one_postgres_store() {
    const SECRET: &str = "Xq8~shard-test-secret.Jm2uT7vFz3kL0pWcYb9N";
    let Some(cluster) = Cluster::start("shard_processes_share_one_postgres_store") else {
        return;
    };
    let url = cluster.database("shards");
    let fakes: Vec<fake_graph::Server> = (0..3)
        .map(|i| {
            let seed = (21 + i).to_string();
            let mut options =
                fake_graph::Options::from_flags(["--seed", &seed, "--apps", "30"]).expect("flags");
            options.client_secret = Some(fake_graph::ClientSecret(SECRET.to_string()));
            fake_graph::spawn(options).expect("fake-graph starts")
        })
        .collect();
    let tmp = TempDir::new("store-shards");
    let names: Vec<String> = (0..7).map(|i| format!("customer-{i:02}")).collect();
    let mut toml = format!(
        "[reports]\ndir = \"reports\"\n\n[store]\nurl = \"{url}\"\npassword_file = \"{}\"\n",
        cluster.password_file().display()
    );
    for (i, name) in names.iter().enumerate() {
        let fake = &fakes[i % fakes.len()];
        toml.push_str(&format!(
            "\n[[tenants]]\nname = \"{name}\"\ntenant = \"{}\"\n\
             client_id = \"11111111-2222-3333-4444-555555555555\"\n\
             client_secret_env = \"SHARD_SECRET\"\nexchange = true\n\
             login_url = \"{1}\"\ngraph_url = \"{1}/graph\"\nexchange_url = \"{1}/exo\"\n",
            fake.tenant_id, fake.base,
        ));
    }
    let config = tmp.write("m365audit.toml", toml);
    let pass = |as_of: &str| {
        let children: Vec<_> = ["0/3", "1/3", "2/3"]
            .iter()
            .map(|shard| {
                Command::new(env!("CARGO_BIN_EXE_m365audit"))
                    .args([
                        "scan",
                        "--config",
                        &config.display().to_string(),
                        "--all-tenants",
                    ])
                    .args(["--shard", shard, "--as-of", as_of])
                    .env("SHARD_SECRET", SECRET)
                    .env_remove("PGPASSWORD")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start a shard")
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().expect("wait");
            assert_eq!(code(&o), 0, "{}\n{}", stdout(&o), stderr(&o));
            assert!(!stderr(&o).contains(SECRET) && !stderr(&o).contains(pg::PASSWORD));
        }
    };
    pass("2026-11-22");
    pass("2026-11-23");

    let mut client = cluster.client("shards");
    let tenants: Vec<String> = client
        .query("SELECT name FROM tenants ORDER BY name", &[])
        .expect("tenants")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(tenants, names, "every tenant exactly once");
    for name in &names {
        let runs = client
            .query(
                "SELECT r.opened, r.resolved, r.reopened FROM runs r JOIN tenants t ON t.id = r.tenant_id \
                 WHERE t.name = $1 ORDER BY r.as_of",
                &[name],
            )
            .expect("runs");
        assert_eq!(runs.len(), 2, "{name}: one run per pass");
        let (opened, resolved): (i64, i64) = (runs[1].get(0), runs[1].get(1));
        assert_eq!(
            (opened, resolved),
            (0, 0),
            "{name}: the same tenant the next day"
        );
        let open: i64 = client
            .query_one(
                "SELECT count(*) FROM findings f JOIN tenants t ON t.id = f.tenant_id \
                 WHERE t.name = $1 AND f.resolved_at IS NULL",
                &[name],
            )
            .expect("open")
            .get(0);
        let latest = common::read_report(
            &tmp.path()
                .join("reports")
                .join(name)
                .join("latest/findings.json"),
        );
        let failing = common::findings(&latest)
            .iter()
            .filter(|f| f["outcome"] == "fail" || f["outcome"] == "waived")
            .map(|f| f["fingerprint"].as_str().unwrap_or_default().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .len() as i64;
        assert!(
            failing > 0,
            "{name}: the synthetic tenant has failing findings"
        );
        assert_eq!(
            open, failing,
            "{name}: open findings are its latest report's"
        );
    }
}

/// A waived finding is kept open with its waiver's reason and expiry; when the waiver lapses,
/// the same finding fails again, never counted as a new one. `history prune` deletes what is
/// older than N days, and keeps open findings however old.
#[test]
fn waivers_are_kept_and_prune_keeps_open_findings() {
    let tmp = TempDir::new("store-waiver");
    let reports = tmp.path().join("reports");
    let config = tmp.write(
        "m365audit.toml",
        format!(
            "[reports]\ndir = \"{}\"\n\n[[waivers]]\nrule = \"CRED-003\"\n\
             subject = \"4a3722f9-bd6b-509b-b704-1fa20ed4773a\"\n\
             item = \"d8bbbef0-90c8-51a4-90e7-8b46dfdb7739\"\n\
             reason = \"Vendor requires 24 months\"\nexpires = \"2026-11-30\"\nticket = \"CHG-1\"\n",
            reports.display()
        ),
    );
    let c = config.display().to_string();
    let demo = common::root()
        .join("examples/demo-tenant")
        .display()
        .to_string();
    let credential = |h: &Value| -> Value {
        rows(h, "open")
            .iter()
            .find(|o| {
                o["rule_id"] == "CRED-003" && o["item"] == "d8bbbef0-90c8-51a4-90e7-8b46dfdb7739"
            })
            .cloned()
            .expect("the waived credential's finding")
    };
    for as_of in ["2026-11-22", "2026-12-06"] {
        let o = m365audit([
            "scan",
            &demo,
            "--config",
            &c,
            "--as-of",
            as_of,
            "--format",
            "json",
            "-o",
            "/dev/null",
        ]);
        assert!(code(&o) <= 1, "{}", stderr(&o));
        if as_of == "2026-11-22" {
            let waived = credential(&history(&["--config", &c]));
            assert_eq!(waived["outcome"], "waived");
            assert_eq!(waived["waiver_reason"], "Vendor requires 24 months");
            assert_eq!(waived["waiver_expires"], "2026-11-30");
        }
    }
    let h = history(&["--config", &c, "--since", "2026-12-01"]);
    let waived = credential(&h);
    // The waiver expired before the second run: the finding fails again, open since the first.
    assert_eq!(waived["outcome"], "fail");
    assert_eq!(waived["waiver_reason"], Value::Null);
    assert_eq!(waived["first_seen"], "2026-11-22T00:00:00Z");
    assert_eq!(waived["days_open"], 14);
    let runs = rows(&h, "runs");
    assert_eq!(runs.len(), 1, "--since: the second run only");
    assert_eq!(runs[0]["waived"], 0);
    let all = history(&["--config", &c]);
    assert_eq!(
        rows(&all, "runs")[0]["waived"],
        1,
        "the first run waived it"
    );

    let o = m365audit([
        "history",
        "prune",
        "--config",
        &c,
        "--keep-days",
        "7",
        "--as-of",
        "2026-12-06",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("deleted 1 run(s)") && stdout(&o).contains("open findings are kept"),
        "{}",
        stdout(&o)
    );
    let after = history(&["--config", &c]);
    assert_eq!(rows(&after, "runs").len(), 1);
    assert_eq!(rows(&after, "open").len(), rows(&all, "open").len());
}
