//! Which findings store a command uses, and its password: the command line, then `[store]`,
//! then the default beside the reports folder. The password is read from a file or an
//! environment variable when the store is opened, and is never printed.

use std::path::{Path, PathBuf};

use super::CommandError;
use crate::cli::StoreArgs;
use crate::config::Config;
use crate::store::{Location, Store, StoreError};

/// Where the password comes from.
enum Password {
    None,
    Env(String),
    File(PathBuf),
}

/// A store chosen, not yet opened.
pub(super) struct Chosen {
    pub location: Location,
    password: Password,
}

/// The store for `args` and `config` (paths relative to `base`), else the default beside
/// `report_dir`, else none. A malformed URL is a usage error, found before any scanning.
pub(super) fn choose(
    args: &StoreArgs,
    config: &Config,
    base: &Path,
    report_dir: Option<&Path>,
) -> Result<Option<Chosen>, CommandError> {
    let location = match (&args.store, &config.store.url) {
        (Some(url), _) => Some(Location::parse(url)),
        (None, Some(url)) => Some(Location::parse(url).map(|l| match l {
            Location::Sqlite(p) => Location::Sqlite(base.join(p)),
            other => other,
        })),
        (None, None) => report_dir.map(|d| Ok(Location::beside(d))),
    };
    let Some(location) = location else {
        return Ok(None);
    };
    let location = location.map_err(|e| CommandError::Input(format!("--store: {e}")))?;
    let password = if let Some(f) = &args.store_password_file {
        Password::File(f.clone())
    } else if let Some(e) = &args.store_password_env {
        Password::Env(e.clone())
    } else if let Some(f) = &config.store.password_file {
        Password::File(base.join(f))
    } else if let Some(e) = &config.store.password_env {
        Password::Env(e.clone())
    } else if std::env::var_os("PGPASSWORD").is_some() {
        Password::Env("PGPASSWORD".into())
    } else {
        Password::None
    };
    Ok(Some(Chosen { location, password }))
}

impl Chosen {
    /// How messages name the store.
    pub fn shown(&self) -> String {
        self.location.shown()
    }

    /// Connects (PostgreSQL) or opens (SQLite) and migrates.
    pub fn open(&self) -> Result<Store, StoreError> {
        let password = if self.location.is_postgres() {
            self.password()?
        } else {
            None
        };
        Store::open(&self.location, password.as_deref())
    }

    fn password(&self) -> Result<Option<String>, StoreError> {
        match &self.password {
            Password::None => Ok(None),
            Password::Env(name) => std::env::var(name).map(Some).map_err(|_| {
                StoreError::Password(format!(
                    "the password variable {name} is not set (or not UTF-8)"
                ))
            }),
            Password::File(path) => {
                super::collect::warn_if_others_can_read(path, "store password");
                let text = std::fs::read_to_string(path).map_err(|e| {
                    StoreError::Password(format!(
                        "cannot read the password file {}: {e}",
                        path.display()
                    ))
                })?;
                // A Secret's file, or one written with `echo`, ends in a newline that is
                // not part of the password.
                Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()))
            }
        }
    }
}
