//! Configuration of `tillcard-hq`, from the environment, with defaults that
//! make `tillcard-hq` with no flags just work (SQLite in the current dir).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::store::{Store, StoreResult};

/// Which database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// Embedded SQLite at this path.
    Sqlite(PathBuf),
    /// PostgreSQL at this URL (`postgres://user@host:port/db`).
    Postgres(String),
}

/// Configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Listen address (`TILLCARD_HQ_LISTEN`, default `127.0.0.1:8640`).
    pub listen: SocketAddr,
    /// Database (`TILLCARD_HQ_DATABASE_URL` = `postgres://...`, else
    /// `TILLCARD_HQ_SQLITE` path, default `./tillcard-hq.sqlite`).
    pub database: Database,
    /// Bearer token for admin endpoints (`TILLCARD_HQ_ADMIN_TOKEN`; none:
    /// admin endpoints refused).
    pub admin_token: Option<String>,
}

impl Config {
    /// Reads the environment.
    pub fn from_env() -> Result<Config, String> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let listen = var("TILLCARD_HQ_LISTEN")
            .unwrap_or_else(|| "127.0.0.1:8640".into())
            .parse()
            .map_err(|_| "TILLCARD_HQ_LISTEN is not host:port".to_string())?;
        let database = match var("TILLCARD_HQ_DATABASE_URL") {
            Some(url) => Database::Postgres(url),
            None => Database::Sqlite(
                var("TILLCARD_HQ_SQLITE")
                    .unwrap_or_else(|| "tillcard-hq.sqlite".into())
                    .into(),
            ),
        };
        Ok(Config {
            listen,
            database,
            admin_token: var("TILLCARD_HQ_ADMIN_TOKEN"),
        })
    }
}

/// Opens the configured store.
pub async fn open_store(database: &Database) -> StoreResult<Arc<dyn Store>> {
    Ok(match database {
        Database::Sqlite(path) => Arc::new(crate::store::sqlite::SqliteStore::open(path)?),
        Database::Postgres(url) => Arc::new(crate::store::postgres::PgStore::connect(url).await?),
    })
}
