//! The two backends behind one small interface: statements with `$1`-style parameters and
//! rows of integers and text. The store's SQL is written once, in the dialect both SQLite
//! (3.35 or later: `RETURNING`, `UPDATE … FROM`) and PostgreSQL accept.

use std::path::Path;
use std::time::Duration;

use super::StoreError;

/// A parameter or a column value: the store keeps only integers and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    Text(String),
    Null,
}

impl Value {
    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            _ => 0,
        }
    }

    pub fn opt_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<Option<&str>> for Value {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Value::Null, Value::from)
    }
}

/// How long a SQLite writer waits for another process's transaction before giving up: runs of
/// a tenant write a few hundred thousand rows at most, in seconds.
const SQLITE_BUSY: Duration = Duration::from_secs(300);

pub enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<postgres::Client>),
}

impl Db {
    pub fn sqlite(path: &Path) -> Result<Db, rusqlite::Error> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(SQLITE_BUSY)?;
        // WAL lets `history` read while a run writes; `NORMAL` is durable at each commit in
        // WAL mode except against power loss, where the last run may be lost but the file
        // stays consistent.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A run reads and rewrites most of its tenant's rows: with SQLite's default 2 MB page
        // cache, a 20,000-app tenant's run re-read and re-wrote pages 70,000 times. The cache
        // grows only as pages are used; the run's temporary tables stay in memory.
        conn.pragma_update(None, "cache_size", -262_144)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        Ok(Db::Sqlite(conn))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Statements without parameters, separated by `;`.
    pub fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(c) => c.execute_batch(sql).map_err(StoreError::sqlite),
            Db::Postgres(c) => c.batch_execute(sql).map_err(StoreError::postgres),
        }
    }

    /// One statement; the number of rows it changed.
    pub fn exec(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c
                    .prepare_cached(&sqlite_sql(sql))
                    .map_err(StoreError::sqlite)?;
                let n = stmt
                    .execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))
                    .map_err(StoreError::sqlite)?;
                Ok(n as u64)
            }
            Db::Postgres(c) => {
                let boxed = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                c.execute(sql, &refs).map_err(StoreError::postgres)
            }
        }
    }

    /// One query's rows, each column an integer, text or NULL.
    pub fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>, StoreError> {
        match self {
            Db::Sqlite(c) => {
                let mut stmt = c
                    .prepare_cached(&sqlite_sql(sql))
                    .map_err(StoreError::sqlite)?;
                let width = stmt.column_count();
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params.iter().map(sqlite_value)))
                    .map_err(StoreError::sqlite)?;
                let mut out = Vec::new();
                while let Some(row) = rows.next().map_err(StoreError::sqlite)? {
                    let mut values = Vec::with_capacity(width);
                    for i in 0..width {
                        use rusqlite::types::ValueRef;
                        values.push(match row.get_ref(i).map_err(StoreError::sqlite)? {
                            ValueRef::Integer(n) => Value::Int(n),
                            // Averages and sums of integers come back as integers or reals.
                            ValueRef::Real(f) => Value::Int(f.round() as i64),
                            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into()),
                            ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                        });
                    }
                    out.push(values);
                }
                Ok(out)
            }
            Db::Postgres(c) => {
                let boxed = pg_params(params);
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                    boxed.iter().map(|b| b.as_ref()).collect();
                let rows = c.query(sql, &refs).map_err(StoreError::postgres)?;
                rows.iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| pg_value(row, i))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect()
            }
        }
    }

    /// Inserts `rows` of `width` text columns into `table`: SQLite one prepared statement per
    /// row (in-process, microseconds each); PostgreSQL one statement for all of them, each
    /// column an array `unnest` turns back into rows (one round trip, not one per finding).
    pub fn fill<'a>(
        &mut self,
        table: &str,
        width: usize,
        rows: impl Iterator<Item = Vec<Option<&'a str>>>,
    ) -> Result<(), StoreError> {
        let marks: Vec<String> = (1..=width).map(|i| format!("${i}")).collect();
        match self {
            Db::Sqlite(c) => {
                let sql = sqlite_sql(&format!(
                    "INSERT INTO {table} VALUES ({})",
                    marks.join(", ")
                ));
                let mut stmt = c.prepare_cached(&sql).map_err(StoreError::sqlite)?;
                for row in rows {
                    stmt.execute(rusqlite::params_from_iter(row))
                        .map_err(StoreError::sqlite)?;
                }
                Ok(())
            }
            Db::Postgres(c) => {
                let mut columns: Vec<Vec<Option<&str>>> = vec![Vec::new(); width];
                for row in rows {
                    for (column, value) in columns.iter_mut().zip(row) {
                        column.push(value);
                    }
                }
                let arrays: Vec<String> = marks.iter().map(|m| format!("{m}::text[]")).collect();
                let sql = format!(
                    "INSERT INTO {table} SELECT * FROM unnest({})",
                    arrays.join(", ")
                );
                let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = columns
                    .iter()
                    .map(|c| c as &(dyn postgres::types::ToSql + Sync))
                    .collect();
                c.execute(&sql, &refs).map_err(StoreError::postgres)?;
                Ok(())
            }
        }
    }

    /// The first column of the first row, if any.
    pub fn one(&mut self, sql: &str, params: &[Value]) -> Result<Option<Value>, StoreError> {
        Ok(self
            .rows(sql, params)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next()))
    }
}

/// `$1` → `?1`: SQLite's numbered parameters, bound in order.
fn sqlite_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn sqlite_value(v: &Value) -> rusqlite::types::Value {
    match v {
        Value::Int(i) => rusqlite::types::Value::Integer(*i),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        Value::Null => rusqlite::types::Value::Null,
    }
}

fn pg_params(params: &[Value]) -> Vec<Box<dyn postgres::types::ToSql + Sync>> {
    params
        .iter()
        .map(|v| -> Box<dyn postgres::types::ToSql + Sync> {
            match v {
                Value::Int(i) => Box::new(*i),
                Value::Text(s) => Box::new(s.clone()),
                Value::Null => Box::new(None::<String>),
            }
        })
        .collect()
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Value, StoreError> {
    use postgres::types::Type;
    let ty = row.columns()[i].type_().clone();
    let v = if ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int))
    } else if ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)
            .map(|v| v.map(|n| Value::Int(n.into())))
    } else if ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)
            .map(|v| v.map(|n| Value::Int(n.into())))
    } else if ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(i)
            .map(|v| v.map(|b| Value::Int(b.into())))
    } else {
        row.try_get::<_, Option<String>>(i)
            .map(|v| v.map(Value::Text))
    };
    v.map(|v| v.unwrap_or(Value::Null))
        .map_err(StoreError::postgres)
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_parameters_become_sqlites() {
        assert_eq!(
            super::sqlite_sql("SELECT $1, $12 FROM t WHERE a = '$'"),
            "SELECT ?1, ?12 FROM t WHERE a = '$'"
        );
    }
}
