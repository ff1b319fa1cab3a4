//! The findings store: each tenant's runs and the life of each finding across them (first
//! seen, last seen, resolved, reopened, waived), in SQLite (embedded, one file) or PostgreSQL
//! (shared by many hosts).
//!
//! - **One transaction per run.** [`Store::record`] writes a run and every finding change in
//!   one transaction: a run killed mid-write, or one that never reaches the store, leaves it
//!   exactly at the previous run.
//! - **Runs of one tenant take turns.** SQLite allows one writer at a time (`BEGIN
//!   IMMEDIATE`, waiting up to five minutes); PostgreSQL takes a transaction-scoped advisory
//!   lock on the tenant's name, so runs of different tenants write at once and runs of one
//!   tenant are serialized.
//! - **A steady tenant costs little.** A finding seen again unchanged is not written: while
//!   it is open, its tenant's latest run is when it was last seen (`findings.last_seen_at` is
//!   written when the row changes and when it is resolved). A run writes its run row, new,
//!   changed, reopened and resolved findings, and nothing else.
//! - **Missing data is never a fix.** An open finding that the run does not report is resolved
//!   only when its rule ran and could be evaluated for its subject; otherwise it is held open,
//!   neither seen nor resolved.
//! - **Versioned schema.** `migrations/` is applied in order, under the same locks; a store
//!   written by a newer m365audit is refused, never downgraded.

mod db;
pub mod history;
mod migrate;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::finding::{Finding, Outcome, SubjectKind, fingerprint};
use crate::report::Report;
use db::Db;
pub use db::Value;
pub use migrate::LATEST as SCHEMA_VERSION;

/// What can go wrong with a store. The caller names the store; these say what happened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{0:?} is not a store: use sqlite:PATH or postgres://USER@HOST[:PORT]/DATABASE[?sslmode=require]"
    )]
    Url(String),
    #[error(
        "the store URL carries a password: give it in a file (--store-password-file, [store] password_file) or an environment variable (--store-password-env, [store] password_env, PGPASSWORD), never in the URL"
    )]
    PasswordInUrl,
    #[error("{0}")]
    Password(String),
    #[error("cannot open: {0}")]
    Open(String),
    #[error("SQLite: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(String),
    #[error(
        "written by a newer m365audit (schema version {found}; this m365audit {tool} knows up to {known}): upgrade m365audit to use it"
    )]
    Newer {
        found: i64,
        known: i64,
        tool: &'static str,
    },
}

impl StoreError {
    fn sqlite(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }

    fn postgres(e: postgres::Error) -> Self {
        // The server's own message (with its detail) says more than the client's summary.
        let text = match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(d) => format!("{}: {d}", db.message()),
                None => db.message().to_string(),
            },
            None => {
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    text = format!("{text}: {s}");
                    source = s.source();
                }
                text
            }
        };
        StoreError::Postgres(text)
    }
}

/// Where a store is: `sqlite:PATH` or a PostgreSQL URL (without its password).
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(Box<postgres::Config>, String),
}

impl Location {
    pub fn parse(url: &str) -> Result<Location, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Url(url.into()));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let config: postgres::Config = url.parse().map_err(|_| StoreError::Url(url.into()))?;
            if config.get_password().is_some() {
                return Err(StoreError::PasswordInUrl);
            }
            return Ok(Location::Postgres(Box::new(config), url.to_string()));
        }
        Err(StoreError::Url(url.into()))
    }

    /// The default store of a reports folder.
    pub fn beside(report_dir: &Path) -> Location {
        Location::Sqlite(report_dir.join("history.sqlite"))
    }

    /// How messages name the store: never with a password (a URL with one is refused).
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => format!("sqlite:{}", p.display()),
            Location::Postgres(_, url) => url.clone(),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(..))
    }
}

/// An open store, at the schema version this m365audit writes.
pub struct Store {
    db: Db,
}

/// The store's view of one finding of a run.
#[derive(Debug, Clone)]
struct Current {
    fingerprint: String,
    rule_id: String,
    severity: &'static str,
    outcome: &'static str,
    subject_kind: &'static str,
    subject_name: Option<String>,
    app_id: Option<String>,
    item: Option<String>,
    message: String,
    subject_key: String,
    waiver: [Option<String>; 3],
}

/// One run of one tenant, as the store keeps it.
pub struct RunRecord {
    pub tenant: String,
    pub as_of: DateTime<Utc>,
    pub generated_at: DateTime<Utc>,
    pub tool_version: String,
    /// The run's report folder, when it has one.
    pub report: Option<String>,
    /// The rules evaluated: only their findings can be resolved.
    rules: Vec<String>,
    /// Failing and waived findings, one per fingerprint.
    findings: Vec<Current>,
    /// Subject keys (rule and subject) and rule ids that could not be evaluated: their open
    /// findings are held.
    held: HashSet<String>,
    not_evaluated: i64,
}

/// What recording a run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    pub run_id: i64,
    /// Findings seen for the first time.
    pub opened: u64,
    /// Findings that were resolved and are back.
    pub reopened: u64,
    /// Findings no longer reported, whose rule ran and could be evaluated.
    pub resolved: u64,
    /// Open findings not reported, kept open because their rule could not be evaluated.
    pub held: u64,
}

/// The key of a rule and subject, without the item: what a not-evaluated finding names.
fn subject_key(rule_id: &str, f: &Finding) -> String {
    let s = &f.subject;
    fingerprint(
        rule_id,
        s.kind.as_str(),
        s.app_id.as_deref(),
        s.object_id.as_deref(),
        s.identity.as_deref(),
        None,
    )
}

impl RunRecord {
    /// The run `report` reports, for the store's tenant `tenant`.
    pub fn from_report(report: &Report, tenant: &str, folder: Option<&Path>) -> RunRecord {
        let rules = &report.rules.rules;
        let mut findings: BTreeMap<&str, Current> = BTreeMap::new();
        let mut held = HashSet::new();
        let mut not_evaluated = 0;
        for f in &report.findings {
            let rule_id = rules[f.rule].id.as_str();
            match f.outcome {
                Outcome::Pass => {}
                Outcome::NotEvaluated => {
                    not_evaluated += 1;
                    held.insert(subject_key(rule_id, f));
                    // Not evaluated for the tenant as a whole: for none of its subjects.
                    if f.subject.kind == SubjectKind::Tenant {
                        held.insert(rule_id.to_string());
                    }
                }
                Outcome::Fail | Outcome::Waived => {
                    // Only a waived finding has a waiver: the evidence is parsed for those alone.
                    let waiver = match f.outcome {
                        Outcome::Waived => f.evidence.get("waiver").unwrap_or_default(),
                        _ => serde_json::Value::Null,
                    };
                    let field =
                        |k: &str| waiver.get(k).and_then(|v| v.as_str()).map(str::to_string);
                    // Two sources of one tenant may report one finding: it is kept once.
                    findings.entry(&f.fingerprint).or_insert_with(|| Current {
                        fingerprint: f.fingerprint.clone(),
                        rule_id: rule_id.to_string(),
                        severity: f.severity.as_str(),
                        outcome: f.outcome.as_str(),
                        subject_kind: f.subject.kind.as_str(),
                        subject_name: f
                            .subject
                            .display_name
                            .clone()
                            .or_else(|| f.subject.identity.clone()),
                        app_id: f.subject.app_id.clone(),
                        item: f.item.as_deref().map(str::to_string),
                        message: f.message.to_string(),
                        subject_key: subject_key(rule_id, f),
                        waiver: [field("reason"), field("expires"), field("ticket")],
                    });
                }
            }
        }
        RunRecord {
            tenant: tenant.to_string(),
            as_of: report.as_of,
            generated_at: report.generated_at,
            tool_version: report.tool_version.to_string(),
            report: folder.map(|p| p.display().to_string()),
            rules: rules.iter().map(|r| r.id.clone()).collect(),
            findings: findings.into_values().collect(),
            held,
            not_evaluated,
        }
    }

    /// This run as the trend shows it, before it is recorded.
    pub fn row(&self) -> history::RunRow {
        let (by, waived) = self.counts();
        history::RunRow {
            tenant: self.tenant.clone(),
            as_of: self.as_of,
            critical: by[0],
            high: by[1],
            medium: by[2],
            low: by[3],
            info: by[4],
            waived,
            not_evaluated: self.not_evaluated,
            opened: 0,
            resolved: 0,
            reopened: 0,
            report: self.report.clone(),
        }
    }

    /// Failing findings by severity, critical first; and the waived ones.
    fn counts(&self) -> ([i64; 5], i64) {
        let mut by = [0i64; 5];
        let mut waived = 0;
        for f in &self.findings {
            if f.outcome == Outcome::Waived.as_str() {
                waived += 1;
                continue;
            }
            let i = match f.severity {
                "critical" => 0,
                "high" => 1,
                "medium" => 2,
                "low" => 3,
                _ => 4,
            };
            by[i] += 1;
        }
        (by, waived)
    }
}

/// The advisory lock key of a tenant: the first 8 bytes of the SHA-256 of its name.
fn tenant_lock(name: &str) -> i64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    i64::from_be_bytes(first)
}

/// How long connecting to PostgreSQL may take before the store counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

impl Store {
    /// Opens (creating a SQLite file if needed) and brings the schema up to date.
    pub fn open(location: &Location, password: Option<&str>) -> Result<Store, StoreError> {
        Self::open_at(location, password, migrate::LATEST)
    }

    /// [`Store::open`], migrating no further than `version`: how the tests build a store of
    /// an earlier schema to upgrade.
    #[doc(hidden)]
    pub fn open_at(
        location: &Location,
        password: Option<&str>,
        version: i64,
    ) -> Result<Store, StoreError> {
        let db = match location {
            Location::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Open(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                Db::sqlite(path).map_err(StoreError::sqlite)?
            }
            Location::Postgres(config, _) => {
                let mut config = (**config).clone();
                if let Some(p) = password {
                    config.password(p);
                }
                if config.get_connect_timeout().is_none() {
                    config.connect_timeout(CONNECT_TIMEOUT);
                }
                if config.get_application_name().is_none() {
                    config.application_name("m365audit");
                }
                let client = config.connect(tls()?).map_err(StoreError::postgres)?;
                Db::Postgres(Box::new(client))
            }
        };
        let mut store = Store { db };
        migrate::run(&mut store.db, version)?;
        Ok(store)
    }

    /// The schema version of the open store.
    pub fn version(&mut self) -> Result<i64, StoreError> {
        migrate::current(&mut self.db)
    }

    /// Records one run in one transaction; see the module docs for what changes.
    pub fn record(&mut self, run: &RunRecord) -> Result<Recorded, StoreError> {
        self.db.batch(if self.db.is_postgres() {
            "BEGIN"
        } else {
            "BEGIN IMMEDIATE"
        })?;
        match self.record_in_transaction(run) {
            Ok(recorded) => {
                self.db.batch("COMMIT")?;
                Ok(recorded)
            }
            Err(e) => {
                let _ = self.db.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn record_in_transaction(&mut self, run: &RunRecord) -> Result<Recorded, StoreError> {
        let db = &mut self.db;
        let pg = db.is_postgres();
        if pg {
            db.exec(
                "SELECT pg_advisory_xact_lock($1)",
                &[tenant_lock(&run.tenant).into()],
            )?;
        }
        let as_of = run.as_of.timestamp();
        // The tenant's previous run: when the findings this run resolves were last seen.
        let previous = db
            .one(
                "SELECT last_run_at FROM tenants WHERE name = $1",
                &[run.tenant.as_str().into()],
            )?
            .map_or(as_of, |v| v.int());
        let tenant = db
            .one(
                "INSERT INTO tenants (name, first_run_at, last_run_at) VALUES ($1, $2, $2) \
                 ON CONFLICT (name) DO UPDATE SET last_run_at = CASE \
                 WHEN excluded.last_run_at > tenants.last_run_at THEN excluded.last_run_at \
                 ELSE tenants.last_run_at END RETURNING id",
                &[run.tenant.as_str().into(), as_of.into()],
            )?
            .map(|v| v.int())
            .ok_or_else(|| StoreError::Open("the tenant row was not written".into()))?;
        let (by, waived) = run.counts();
        let run_id = db
            .one(
                "INSERT INTO runs (tenant_id, as_of, generated_at, tool_version, report, \
                 critical, high, medium, low, info, waived, not_evaluated, opened, resolved, reopened) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, 0, 0) RETURNING id",
                &[
                    tenant.into(),
                    as_of.into(),
                    run.generated_at.timestamp().into(),
                    run.tool_version.as_str().into(),
                    run.report.as_deref().into(),
                    by[0].into(),
                    by[1].into(),
                    by[2].into(),
                    by[3].into(),
                    by[4].into(),
                    waived.into(),
                    run.not_evaluated.into(),
                ],
            )?
            .map(|v| v.int())
            .ok_or_else(|| StoreError::Open("the run row was not written".into()))?;

        // The run's findings, rules and held keys, in temporary tables the updates join.
        if pg {
            db.batch(
                "CREATE TEMP TABLE cur (fingerprint TEXT PRIMARY KEY, rule_id TEXT, severity TEXT, \
                 outcome TEXT, subject_kind TEXT, subject_name TEXT, app_id TEXT, item TEXT, \
                 message TEXT, subject_key TEXT, waiver_reason TEXT, waiver_expires TEXT, \
                 waiver_ticket TEXT) ON COMMIT DROP; \
                 CREATE TEMP TABLE ran (rule_id TEXT PRIMARY KEY) ON COMMIT DROP; \
                 CREATE TEMP TABLE held (key TEXT PRIMARY KEY) ON COMMIT DROP",
            )?;
        } else {
            db.batch(
                "CREATE TEMP TABLE IF NOT EXISTS cur (fingerprint TEXT PRIMARY KEY, rule_id TEXT, \
                 severity TEXT, outcome TEXT, subject_kind TEXT, subject_name TEXT, app_id TEXT, \
                 item TEXT, message TEXT, subject_key TEXT, waiver_reason TEXT, \
                 waiver_expires TEXT, waiver_ticket TEXT); \
                 CREATE TEMP TABLE IF NOT EXISTS ran (rule_id TEXT PRIMARY KEY); \
                 CREATE TEMP TABLE IF NOT EXISTS held (key TEXT PRIMARY KEY); \
                 DELETE FROM cur; DELETE FROM ran; DELETE FROM held",
            )?;
        }
        let rows = run.findings.iter().map(|f| {
            vec![
                Some(f.fingerprint.as_str()),
                Some(f.rule_id.as_str()),
                Some(f.severity),
                Some(f.outcome),
                Some(f.subject_kind),
                f.subject_name.as_deref(),
                f.app_id.as_deref(),
                f.item.as_deref(),
                Some(f.message.as_str()),
                Some(f.subject_key.as_str()),
                f.waiver[0].as_deref(),
                f.waiver[1].as_deref(),
                f.waiver[2].as_deref(),
            ]
        });
        db.fill("cur", 13, rows)?;
        db.fill("ran", 1, run.rules.iter().map(|r| vec![Some(r.as_str())]))?;
        db.fill("held", 1, run.held.iter().map(|k| vec![Some(k.as_str())]))?;

        let t = Value::Int(tenant);
        let at = Value::Int(as_of);
        let r = Value::Int(run_id);
        let reopened = db
            .one(
                "SELECT count(*) FROM findings f JOIN cur c ON c.fingerprint = f.fingerprint \
                 WHERE f.tenant_id = $1 AND f.resolved_at IS NOT NULL",
                std::slice::from_ref(&t),
            )?
            .map_or(0, |v| v.int()) as u64;
        // Seen again, and changed (reopened, or a new severity, message or waiver): written
        // again. A finding seen again unchanged is not written at all: its tenant's latest run
        // is when it was last seen, so a steady tenant's run writes only what changed (and
        // PostgreSQL keeps no dead row versions of the rest). Expressions read the row as it was.
        const CHANGED: [&str; 13] = [
            "rule_id",
            "severity",
            "outcome",
            "subject_kind",
            "subject_name",
            "app_id",
            "item",
            "message",
            "subject_key",
            "waiver_reason",
            "waiver_expires",
            "waiver_ticket",
            "fingerprint",
        ];
        let changed: Vec<String> = CHANGED
            .iter()
            .map(|c| format!("findings.{c} IS DISTINCT FROM c.{c}"))
            .collect();
        let set: Vec<String> = CHANGED.iter().map(|c| format!("{c} = c.{c}")).collect();
        db.exec(
            &format!(
                "UPDATE findings SET \
                 reopened_count = reopened_count + CASE WHEN resolved_at IS NULL THEN 0 ELSE 1 END, \
                 reopened_at = CASE WHEN resolved_at IS NULL THEN reopened_at ELSE $2 END, \
                 opened_at = CASE WHEN resolved_at IS NULL THEN opened_at ELSE $2 END, \
                 resolved_at = NULL, last_seen_at = $2, last_run_id = $3, {} \
                 FROM cur c WHERE findings.tenant_id = $1 AND findings.fingerprint = c.fingerprint \
                 AND (findings.resolved_at IS NOT NULL OR {})",
                set.join(", "),
                changed.join(" OR ")
            ),
            &[t.clone(), at.clone(), r.clone()],
        )?;
        let opened = db.exec(
            "INSERT INTO findings (tenant_id, fingerprint, rule_id, severity, outcome, \
             subject_kind, subject_name, app_id, item, message, subject_key, waiver_reason, \
             waiver_expires, waiver_ticket, first_seen_at, opened_at, last_seen_at, \
             reopened_count, last_run_id) \
             SELECT $1, c.fingerprint, c.rule_id, c.severity, c.outcome, c.subject_kind, \
             c.subject_name, c.app_id, c.item, c.message, c.subject_key, c.waiver_reason, \
             c.waiver_expires, c.waiver_ticket, $2, $2, $2, 0, $3 FROM cur c \
             WHERE NOT EXISTS (SELECT 1 FROM findings f \
             WHERE f.tenant_id = $1 AND f.fingerprint = c.fingerprint)",
            &[t.clone(), at.clone(), r.clone()],
        )?;
        // Open, not reported, and not reported because it is gone: its rule ran and could be
        // evaluated for its subject.
        const GONE: &str = "f.tenant_id = $1 AND f.resolved_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM cur c WHERE c.fingerprint = f.fingerprint)";
        const EVALUATED: &str = "EXISTS (SELECT 1 FROM ran WHERE ran.rule_id = f.rule_id) \
             AND NOT EXISTS (SELECT 1 FROM held h WHERE h.key = f.rule_id) \
             AND NOT EXISTS (SELECT 1 FROM held h WHERE h.key = f.subject_key)";
        let held = db
            .one(
                &format!("SELECT count(*) FROM findings f WHERE {GONE} AND NOT ({EVALUATED})"),
                std::slice::from_ref(&t),
            )?
            .map_or(0, |v| v.int()) as u64;
        db.exec(
            &format!(
                "INSERT INTO resolutions (tenant_id, fingerprint, rule_id, severity, opened_at, \
                 resolved_at, run_id) SELECT f.tenant_id, f.fingerprint, f.rule_id, f.severity, \
                 f.opened_at, $2, $3 FROM findings f WHERE {GONE} AND {EVALUATED}"
            ),
            &[t.clone(), at.clone(), r.clone()],
        )?;
        let resolved = db.exec(
            &format!(
                "UPDATE findings SET resolved_at = $2, last_run_id = $3, last_seen_at = $4 \
                 WHERE (tenant_id, fingerprint) IN \
                 (SELECT f.tenant_id, f.fingerprint FROM findings f WHERE {GONE} AND {EVALUATED})"
            ),
            &[t.clone(), at, r.clone(), previous.into()],
        )?;
        db.exec(
            "UPDATE runs SET opened = $2, resolved = $3, reopened = $4 WHERE id = $1",
            &[
                r,
                (opened as i64).into(),
                (resolved as i64).into(),
                (reopened as i64).into(),
            ],
        )?;
        Ok(Recorded {
            run_id,
            opened,
            reopened,
            resolved,
            held,
        })
    }

    /// The tenant's runs, oldest first (at most the newest `limit`): the HTML report's trend.
    pub fn trend(
        &mut self,
        tenant: &str,
        limit: usize,
    ) -> Result<Vec<history::RunRow>, StoreError> {
        let mut runs = history::runs(
            &mut self.db,
            &history::Filter {
                tenant: Some(tenant.to_string()),
                since: None,
            },
        )?;
        let excess = runs.len().saturating_sub(limit);
        runs.drain(..excess);
        Ok(runs)
    }

    /// Everything `m365audit history` shows.
    pub fn history(&mut self, filter: &history::Filter) -> Result<history::History, StoreError> {
        history::read(&mut self.db, filter)
    }

    /// Deletes runs, resolution records and resolved findings older than `cutoff`; open
    /// findings are kept however old.
    pub fn prune(&mut self, cutoff: DateTime<Utc>) -> Result<history::Pruned, StoreError> {
        history::prune(&mut self.db, cutoff.timestamp())
    }
}

/// PostgreSQL over TLS when the server offers it (`sslmode=prefer`, the default) or must
/// (`sslmode=require`), verified as the Graph connections are: by the platform's trust store.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ClientConfig::with_platform_verifier()
        .map_err(|e| StoreError::Open(format!("cannot set up TLS: {e}")))?;
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}
