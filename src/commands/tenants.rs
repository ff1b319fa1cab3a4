//! `scan --all-tenants`: every `[[tenants]]` entry of the config scanned by its own
//! `m365audit scan` process, a bounded number at a time, each into its own folder of the
//! reports folder. A tenant that fails (bad credentials, unreadable export) is reported with
//! its error and does not stop the others; a separate process per tenant means one tenant's
//! failure cannot leave shared state behind.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::{CommandError, exit};
use crate::cli::ScanArgs;
use crate::config::{Config, TenantEntry};
use crate::report::folder;

/// One tenant's run.
struct Outcome {
    name: String,
    code: Option<i32>,
    summary: Option<Value>,
    stderr: String,
}

pub fn run(args: &ScanArgs, config: &Config, base: &Path) -> Result<u8, CommandError> {
    if config.tenants.is_empty() {
        return Err(CommandError::Input(
            "--all-tenants: the config file lists no [[tenants]]".into(),
        ));
    }
    let Some(config_path) = &config.path else {
        return Err(CommandError::Input(
            "--all-tenants needs a config file (m365audit.toml or --config)".into(),
        ));
    };
    let report_dir = args
        .report_dir
        .clone()
        .or_else(|| config.reports.dir.as_ref().map(|d| base.join(d)))
        .ok_or_else(|| {
            CommandError::Input(
                "--all-tenants writes one report folder per tenant: give --report-dir or [reports] dir"
                    .into(),
            )
        })?;
    // A refused base URL would fail every live tenant alike: say so once, before any run.
    if config.tenants.iter().any(|t| t.tenant.is_some()) {
        super::collect::base_urls(&args.live)?;
    }
    let exe = std::env::current_exe()
        .map_err(|e| CommandError::Runtime(format!("cannot find the m365audit binary: {e}")))?;
    let scratch = std::env::temp_dir().join(format!("m365audit-tenants-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| CommandError::Runtime(format!("{}: {e}", scratch.display())))?;

    // `--shard I/N`: this run's part; the other N-1 runs scan the rest.
    let tenants: Vec<&TenantEntry> = config
        .tenants
        .iter()
        .filter(|t| args.shard.is_none_or(|shard| shard.owns(&t.name)))
        .collect();
    if let Some(shard) = args.shard {
        eprintln!(
            "shard {shard}: {} of the {} tenant(s)",
            tenants.len(),
            config.tenants.len()
        );
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new(Vec::new());
    let workers = usize::from(args.tenant_concurrency).min(tenants.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&t) = tenants.get(i) else {
                        break;
                    };
                    let out = scratch.join(format!("{i}.json"));
                    let cmd = command(&exe, args, config_path, base, &report_dir, t, &out);
                    let outcome = run_one(cmd, t, &out);
                    if let Ok(mut r) = results.lock() {
                        r.push(outcome);
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let mut results = results.into_inner().unwrap_or_default();
    let order = |name: &str| config.tenants.iter().position(|t| t.name == name);
    results.sort_by_key(|r| order(&r.name));
    print_summary(&results, &report_dir);

    let failed = results.iter().any(|r| !matches!(r.code, Some(0) | Some(1)));
    let threshold = results.iter().any(|r| r.code == Some(1));
    Ok(if failed {
        exit::RUNTIME
    } else if threshold && !args.no_exit_codes {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// The child `m365audit scan` for one tenant.
fn command(
    exe: &Path,
    args: &ScanArgs,
    config_path: &Path,
    base: &Path,
    report_dir: &Path,
    t: &TenantEntry,
    out: &Path,
) -> Command {
    let mut cmd = Command::new(exe);
    cmd.arg("scan")
        .arg("--config")
        .arg(config_path)
        .arg("--report-dir")
        .arg(report_dir)
        .arg("--report-name")
        .arg(&t.name)
        .args(["--format", "json", "--color", "never", "-o"])
        .arg(out);
    if let Some(d) = args.eval.as_of {
        cmd.arg("--as-of").arg(crate::dates::rfc3339(d));
    }
    if let Some(s) = args.fail_on {
        cmd.arg("--fail-on").arg(s.as_str());
    }
    if let Some(s) = args.fail_on_new {
        cmd.arg("--fail-on-new").arg(s.as_str());
    }
    for f in &args.report_format {
        cmd.arg("--report-format").arg(value_name(f));
    }
    if !args.csv_columns.is_empty() {
        let columns: Vec<String> = args.csv_columns.iter().map(value_name).collect();
        cmd.arg("--csv-columns").arg(columns.join(","));
    }
    if let Some(k) = args.keep {
        cmd.arg("--keep").arg(k.to_string());
    }
    // What selects and feeds the rules applies to every tenant alike.
    for dir in &args.eval.rule_dirs {
        cmd.arg("--rules").arg(dir);
    }
    if !args.eval.only.is_empty() {
        cmd.arg("--rule").arg(args.eval.only.join(","));
    }
    for mailbox in &args.eval.mailboxes {
        cmd.arg("--mailbox").arg(mailbox);
    }
    if args.include_passed {
        cmd.arg("--include-passed");
    }
    // Every tenant's run records itself in the one store (its own transaction).
    if args.no_store {
        cmd.arg("--no-store");
    }
    if let Some(url) = &args.store.store {
        cmd.arg("--store").arg(url);
    }
    if let Some(env) = &args.store.store_password_env {
        cmd.arg("--store-password-env").arg(env);
    }
    if let Some(f) = &args.store.store_password_file {
        cmd.arg("--store-password-file").arg(f);
    }
    if let Some(tenant) = &t.tenant {
        let live = &args.live;
        cmd.arg("--tenant").arg(tenant);
        cmd.arg("--client-id")
            .arg(t.client_id.as_deref().unwrap_or_default());
        if let Some(env) = &t.client_secret_env {
            cmd.arg("--client-secret-env").arg(env);
        }
        if let Some(f) = &t.client_secret_file {
            cmd.arg("--client-secret-file").arg(base.join(f));
        }
        if let Some(c) = &t.certificate {
            cmd.arg("--certificate").arg(base.join(c));
        }
        if let Some(k) = &t.certificate_key {
            cmd.arg("--certificate-key").arg(base.join(k));
        }
        if t.exchange {
            cmd.arg("--exchange");
        }
        let url = |own: &Option<String>, default: &str| own.clone().unwrap_or(default.into());
        cmd.arg("--login-url")
            .arg(url(&t.login_url, &live.login_url))
            .arg("--graph-url")
            .arg(url(&t.graph_url, &live.graph_url))
            .arg("--exchange-url")
            .arg(url(&t.exchange_url, &live.exchange_url))
            .arg("--quiet")
            .arg("--concurrency")
            .arg(live.concurrency.to_string())
            .arg("--max-retries")
            .arg(live.max_retries.to_string())
            .arg("--backoff-ms")
            .arg(live.backoff_ms.to_string());
    }
    for s in &t.sources {
        cmd.arg(base.join(s));
    }
    cmd
}

fn run_one(mut cmd: Command, t: &TenantEntry, out: &PathBuf) -> Outcome {
    match cmd.output() {
        Ok(o) => Outcome {
            name: t.name.clone(),
            code: o.status.code(),
            summary: std::fs::read(out)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok()),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        },
        Err(e) => Outcome {
            name: t.name.clone(),
            code: None,
            summary: None,
            stderr: format!("error: cannot start m365audit: {e}"),
        },
    }
}

fn print_summary(results: &[Outcome], report_dir: &Path) {
    for r in results {
        for line in r.stderr.lines() {
            eprintln!("[{}] {line}", r.name);
        }
    }
    println!(
        "{:<28} {:<8} {:>6} {:>6} {:>8}  report",
        "tenant", "status", "fail", "new", "not eval"
    );
    for r in results {
        let status = match r.code {
            Some(0) => "ok",
            Some(1) => "over",
            Some(2) => "input",
            _ => "failed",
        };
        let s = r.summary.as_ref();
        let num = |v: Option<&Value>| {
            v.and_then(Value::as_u64)
                .map_or("-".into(), |n| n.to_string())
        };
        let error = if matches!(r.code, Some(0) | Some(1)) {
            report_dir
                .join(folder::tenant_folder(Some(&r.name)))
                .join("latest")
                .display()
                .to_string()
        } else {
            r.stderr
                .lines()
                .rev()
                .find(|l| l.starts_with("error:"))
                .unwrap_or("no report")
                .to_string()
        };
        println!(
            "{:<28} {:<8} {:>6} {:>6} {:>8}  {error}",
            r.name,
            status,
            num(s.map(|s| &s["summary"]["fail"])),
            num(s.and_then(|s| s.get("baseline")).map(|b| &b["new"])),
            num(s.map(|s| &s["summary"]["not_evaluated"])),
        );
    }
    let failed = results
        .iter()
        .filter(|r| !matches!(r.code, Some(0) | Some(1)))
        .count();
    println!(
        "{} tenant(s): {} scanned, {} failed.",
        results.len(),
        results.len() - failed,
        failed
    );
}

/// The name the command line takes for a value (`json-v1`, not the variant's name).
fn value_name<V: clap::ValueEnum>(v: &V) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}
