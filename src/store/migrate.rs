//! The store's schema, one numbered migration per change, applied in order in one transaction
//! (PostgreSQL: under an advisory lock, so two first runs on an empty database do not both
//! create it). `m365audit_schema` holds the version reached.

use super::StoreError;
use super::db::Db;

/// The migrations, in order: version N is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_history.sql"),
    include_str!("migrations/0002_resolutions.sql"),
];

/// The schema version this m365audit writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key of schema changes ("m365audit" in ASCII).
const SCHEMA_LOCK: i64 = 0x6d_3336_3561_7564;

/// The version the store is at (0: empty).
pub fn current(db: &mut Db) -> Result<i64, StoreError> {
    let exists = if db.is_postgres() {
        // A query of the catalog, not `to_regclass`: that reads a catalog snapshot which may
        // predate the advisory lock's wait, and so miss the tables the lock's holder created.
        db.one(
            "SELECT count(*) FROM pg_catalog.pg_tables \
             WHERE schemaname = current_schema() AND tablename = 'm365audit_schema'",
            &[],
        )?
    } else {
        db.one(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'm365audit_schema'",
            &[],
        )?
    };
    if exists.is_none_or(|v| v.int() == 0) {
        return Ok(0);
    }
    Ok(db
        .one("SELECT max(version) FROM m365audit_schema", &[])?
        .and_then(|v| v.opt_int())
        .unwrap_or(0))
}

/// Brings the schema to `target` (at most [`LATEST`]); refuses a store already past
/// [`LATEST`].
pub fn run(db: &mut Db, target: i64) -> Result<(), StoreError> {
    // Most runs find the store up to date: checked before taking any lock.
    let found = current(db)?;
    if found > LATEST {
        return Err(newer(found));
    }
    if found >= target {
        return Ok(());
    }
    let pg = db.is_postgres();
    db.batch(if pg { "BEGIN" } else { "BEGIN IMMEDIATE" })?;
    let applied = (|| {
        if pg {
            db.exec("SELECT pg_advisory_xact_lock($1)", &[SCHEMA_LOCK.into()])?;
        }
        // Read again under the lock: another process may have migrated meanwhile.
        let found = current(db)?;
        if found > LATEST {
            return Err(newer(found));
        }
        db.batch("CREATE TABLE IF NOT EXISTS m365audit_schema (version BIGINT NOT NULL)")?;
        let id = if pg {
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        } else {
            "INTEGER PRIMARY KEY"
        };
        for version in found + 1..=target {
            db.batch(&MIGRATIONS[(version - 1) as usize].replace("{ID}", id))?;
            db.exec("DELETE FROM m365audit_schema", &[])?;
            db.exec(
                "INSERT INTO m365audit_schema (version) VALUES ($1)",
                &[version.into()],
            )?;
        }
        Ok(())
    })();
    match applied {
        Ok(()) => db.batch("COMMIT"),
        Err(e) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
    }
}

fn newer(found: i64) -> StoreError {
    StoreError::Newer {
        found,
        known: LATEST,
        tool: env!("CARGO_PKG_VERSION"),
    }
}
