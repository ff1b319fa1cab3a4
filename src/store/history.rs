//! The store's queries behind `m365audit history`, the HTML trend and `history prune`. Days
//! open are counted to each tenant's latest run, never to the wall clock: the same store
//! gives the same answer tomorrow.

use chrono::{DateTime, Utc};

use super::StoreError;
use super::db::{Db, Value};
pub use crate::report::history::{
    History, MttrRow, OpenRow, Pruned, ReopenedRow, ResolvedRow, RunRow, StoredFinding,
};

/// Which tenants and since when.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub tenant: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

impl Filter {
    /// `$1` the tenant name (or NULL for all), `$2` the instant (or 0).
    fn params(&self) -> [Value; 2] {
        [
            self.tenant.as_deref().into(),
            self.since.map_or(0, |s| s.timestamp()).into(),
        ]
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::from_timestamp(v.int(), 0).unwrap_or_default()
}

fn text(v: &Value) -> String {
    v.text().unwrap_or_default().to_string()
}

fn opt_text(v: &Value) -> Option<String> {
    v.text().map(str::to_string)
}

/// The columns every finding view selects first, in this order.
const FINDING: &str = "t.name, f.rule_id, f.severity, f.subject_name, f.item, f.fingerprint";

/// A row's first six columns, selected as [`FINDING`].
fn finding(r: &[Value]) -> StoredFinding {
    StoredFinding {
        tenant: text(&r[0]),
        rule_id: text(&r[1]),
        severity: text(&r[2]),
        subject: opt_text(&r[3]),
        item: opt_text(&r[4]),
        fingerprint: text(&r[5]),
    }
}

pub fn runs(db: &mut Db, filter: &Filter) -> Result<Vec<RunRow>, StoreError> {
    let rows = db.rows(
        "SELECT t.name, r.as_of, r.critical, r.high, r.medium, r.low, r.info, r.waived, \
         r.not_evaluated, r.opened, r.resolved, r.reopened, r.report \
         FROM runs r JOIN tenants t ON t.id = r.tenant_id \
         WHERE (CAST($1 AS TEXT) IS NULL OR t.name = $1) AND r.as_of >= $2 \
         ORDER BY t.name, r.as_of, r.id",
        &filter.params(),
    )?;
    Ok(rows
        .iter()
        .map(|r| RunRow {
            tenant: text(&r[0]),
            as_of: instant(&r[1]),
            critical: r[2].int(),
            high: r[3].int(),
            medium: r[4].int(),
            low: r[5].int(),
            info: r[6].int(),
            waived: r[7].int(),
            not_evaluated: r[8].int(),
            opened: r[9].int(),
            resolved: r[10].int(),
            reopened: r[11].int(),
            report: opt_text(&r[12]),
        })
        .collect())
}

/// The severities in order, worst first, for `ORDER BY`.
const SEVERITY_RANK: &str = "CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 \
     WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";

pub fn read(db: &mut Db, filter: &Filter) -> Result<History, StoreError> {
    let params = filter.params();
    let runs = runs(db, filter)?;
    // Open findings are listed however old: `since` limits what happened, not what is.
    let open = db
        .rows(
            &format!(
                "SELECT {FINDING}, f.outcome, f.app_id, f.first_seen_at, f.opened_at, \
                 t.last_run_at - f.opened_at, f.reopened_count, f.waiver_reason, f.waiver_expires \
                 FROM findings f JOIN tenants t ON t.id = f.tenant_id \
                 WHERE (CAST($1 AS TEXT) IS NULL OR t.name = $1) AND CAST($2 AS BIGINT) >= 0 AND f.resolved_at IS NULL \
                 ORDER BY f.opened_at, {SEVERITY_RANK}, t.name, f.rule_id, f.subject_name, f.fingerprint"
            ),
            &params,
        )?
        .iter()
        .map(|r| OpenRow {
            finding: finding(r),
            outcome: text(&r[6]),
            app_id: opt_text(&r[7]),
            first_seen: instant(&r[8]),
            open_since: instant(&r[9]),
            days_open: r[10].int().max(0) / SECONDS_PER_DAY,
            reopened: r[11].int(),
            waiver_reason: opt_text(&r[12]),
            waiver_expires: opt_text(&r[13]),
        })
        .collect();
    let reopened = db
        .rows(
            &format!(
                "SELECT {FINDING}, f.reopened_count, f.reopened_at, f.resolved_at IS NULL \
                 FROM findings f JOIN tenants t ON t.id = f.tenant_id \
                 WHERE (CAST($1 AS TEXT) IS NULL OR t.name = $1) AND f.reopened_count > 0 \
                 AND coalesce(f.reopened_at, 0) >= $2 \
                 ORDER BY f.reopened_count DESC, {SEVERITY_RANK}, t.name, f.rule_id, f.fingerprint"
            ),
            &params,
        )?
        .iter()
        .map(|r| ReopenedRow {
            finding: finding(r),
            reopened: r[6].int(),
            last_reopened: r[7].opt_int().and_then(|s| DateTime::from_timestamp(s, 0)),
            open: r[8].int() != 0,
        })
        .collect();
    let resolved = db
        .rows(
            "SELECT t.name, s.rule_id, s.severity, f.subject_name, f.item, s.fingerprint, \
             s.opened_at, s.resolved_at \
             FROM resolutions s JOIN tenants t ON t.id = s.tenant_id \
             LEFT JOIN findings f ON f.tenant_id = s.tenant_id AND f.fingerprint = s.fingerprint \
             WHERE (CAST($1 AS TEXT) IS NULL OR t.name = $1) AND s.resolved_at >= $2 \
             ORDER BY s.resolved_at DESC, t.name, s.rule_id, s.fingerprint",
            &params,
        )?
        .iter()
        .map(|r| ResolvedRow {
            finding: finding(r),
            open_since: instant(&r[6]),
            resolved_at: instant(&r[7]),
            days_open: (r[7].int() - r[6].int()).max(0) / SECONDS_PER_DAY,
        })
        .collect();
    // Summed in seconds as integers (PostgreSQL's avg of integers is a numeric), divided here.
    let mttr = db
        .rows(
            "SELECT s.rule_id, count(*), CAST(sum(s.resolved_at - s.opened_at) AS BIGINT), \
             (SELECT count(*) FROM findings f JOIN tenants t2 ON t2.id = f.tenant_id \
              WHERE f.rule_id = s.rule_id AND f.resolved_at IS NULL \
              AND (CAST($1 AS TEXT) IS NULL OR t2.name = $1)) \
             FROM resolutions s JOIN tenants t ON t.id = s.tenant_id \
             WHERE (CAST($1 AS TEXT) IS NULL OR t.name = $1) AND s.resolved_at >= $2 \
             GROUP BY s.rule_id ORDER BY s.rule_id",
            &params,
        )?
        .iter()
        .map(|r| {
            let count = r[1].int();
            MttrRow {
                rule_id: text(&r[0]),
                resolved: count,
                mean_days: r[2].int() as f64 / count.max(1) as f64 / SECONDS_PER_DAY as f64,
                open_now: r[3].int(),
            }
        })
        .collect();
    Ok(History {
        schema: crate::report::history::SCHEMA,
        store: String::new(),
        tenant: filter.tenant.clone(),
        since: filter.since,
        runs,
        open,
        reopened,
        resolved,
        mttr,
    })
}

/// One transaction: runs, resolutions and resolved findings before `cutoff` (Unix seconds).
pub fn prune(db: &mut Db, cutoff: i64) -> Result<Pruned, StoreError> {
    db.batch(if db.is_postgres() {
        "BEGIN"
    } else {
        "BEGIN IMMEDIATE"
    })?;
    let pruned = (|| {
        let c = [Value::Int(cutoff)];
        Ok(Pruned {
            runs: db.exec("DELETE FROM runs WHERE as_of < $1", &c)?,
            resolutions: db.exec("DELETE FROM resolutions WHERE resolved_at < $1", &c)?,
            findings: db.exec(
                "DELETE FROM findings WHERE resolved_at IS NOT NULL AND resolved_at < $1",
                &c,
            )?,
        })
    })();
    match pruned {
        Ok(p) => {
            db.batch("COMMIT")?;
            Ok(p)
        }
        Err(e) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
    }
}
