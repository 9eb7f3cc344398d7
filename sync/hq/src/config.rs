//! Configuration of `tillcard-hq`: defaults that make `tillcard-hq` with no
//! flags just work (SQLite in the current directory), then a TOML file
//! (`--config FILE` or `TILLCARD_HQ_CONFIG`; the package installs
//! `/etc/tillcard/hq.toml`), then environment variables, which always win.
//!
//! | key | environment | default |
//! |---|---|---|
//! | `listen` | `TILLCARD_HQ_LISTEN` | `127.0.0.1:8640` |
//! | `database.sqlite` | `TILLCARD_HQ_SQLITE` | `tillcard-hq.sqlite` |
//! | `database.postgres_url` (wins over `sqlite`) | `TILLCARD_HQ_DATABASE_URL` | unset |
//! | `database.postgres_url_file` | `TILLCARD_HQ_DATABASE_URL_FILE` | unset |
//! | `database.postgres_pool_size` | `TILLCARD_HQ_DATABASE_POOL_SIZE` | 2 × CPUs + 2 (4 to 32) |
//! | `database.read_url` | `TILLCARD_HQ_DATABASE_READ_URL` | unset: the dashboard reads the primary (a streaming standby's URL: the dashboard's figures are read there, with how far it trails shown; PostgreSQL only) |
//! | `admin.token` | `TILLCARD_HQ_ADMIN_TOKEN` | unset: admin API refused |
//! | `admin.token_file` | `TILLCARD_HQ_ADMIN_TOKEN_FILE` | unset |
//! | `metrics.token` | `TILLCARD_HQ_METRICS_TOKEN` | unset: `/metrics` to loopback clients only |
//! | `metrics.token_file` | `TILLCARD_HQ_METRICS_TOKEN_FILE` | unset |
//! | `log.level` | `RUST_LOG` | `info` |
//! | `log.format` | `TILLCARD_HQ_LOG_FORMAT` | `text` |
//! | `jobs.at` | `TILLCARD_HQ_JOBS_AT` | `03:00` (store-local, `HH:MM`: the daily jobs' time) |
//! | `jobs.scope_days` | `TILLCARD_HQ_SCOPE_DAYS` | 180 (7 to 3660: days a member stays on a store's terminals after last seen there, `store::scope`) |
//! | `personal.key_file` | `TILLCARD_HQ_PERSONAL_KEY_FILE` | unset: the systemd credential below |
//! | `personal.key_credential` | `TILLCARD_HQ_PERSONAL_KEY_CREDENTIAL` | `personal-key` (`$CREDENTIALS_DIRECTORY/personal-key`) |
//! | `personal.key_version` | `TILLCARD_HQ_PERSONAL_KEY_VERSION` | 1 |
//! | `node.trusted_proxies` | `TILLCARD_HQ_TRUSTED_PROXIES` (comma-separated) | none |
//! | `node.drain_seconds` | `TILLCARD_HQ_DRAIN_SECONDS` | 0 |
//! | `node.poll_cache` | `TILLCARD_HQ_POLL_CACHE` (`on`/`off`) | on: a poll that finds nothing new answered from the node's reading of where the logs end, at most a second old (`service::poll_cache`) |
//!
//! Several nodes behind a load balancer (packaging/ha): a request from one
//! of `trusted_proxies` is counted under the client address the proxy
//! appended last to `X-Forwarded-For` (the sign-in throttle per address);
//! on SIGTERM a node answers `/health` with 503 `draining` for
//! `drain_seconds` while still serving, so the balancer takes it out
//! before it stops accepting connections.
//!
//! The personal-data key (the KEK of [`crate::personal`], 32 bytes raw or in
//! base64) is required: without a key file or the credential head office
//! refuses to start ([`Config::personal_keys`]). It is read, never logged,
//! never stored in the database.
//!
//! A database chosen in the environment replaces the file's choice whole
//! (`TILLCARD_HQ_SQLITE` over a file's `postgres_url` means SQLite). Secrets
//! can live in files readable by the service alone (`*_file`); a value given
//! directly wins over a file at the same level.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::store::{Store, StoreResult};
use tillcard_protocol::logging::{LogFormat, LogSettings};

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "TILLCARD_HQ_CONFIG";

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
    /// Connections to PostgreSQL (`TILLCARD_HQ_DATABASE_POOL_SIZE`; none:
    /// [`crate::store::postgres::default_pool_size`]).
    pub postgres_pool_size: Option<usize>,
    /// A streaming standby the dashboard's figures are read from
    /// (`TILLCARD_HQ_DATABASE_READ_URL`; none: the primary).
    pub read_url: Option<String>,
    /// Bearer token for admin endpoints (`TILLCARD_HQ_ADMIN_TOKEN`; none:
    /// admin endpoints refused).
    pub admin_token: Option<String>,
    /// Bearer token for `/metrics` (`TILLCARD_HQ_METRICS_TOKEN`; none:
    /// `/metrics` answers loopback clients only).
    pub metrics_token: Option<String>,
    /// Log filter and format.
    pub log: LogSettings,
    /// Store-local time of day of the daily jobs (`TILLCARD_HQ_JOBS_AT`,
    /// default 03:00; see [`crate::jobs`]).
    pub jobs_at: chrono::NaiveTime,
    /// Days a member stays in a store's downlink scope after last seen
    /// there (`TILLCARD_HQ_SCOPE_DAYS`, default 180; `store::scope`).
    pub scope_days: u32,
    /// Where the personal-data key is read from: `TILLCARD_HQ_PERSONAL_KEY_FILE`
    /// or `personal.key_file`, else the systemd credential
    /// (`$CREDENTIALS_DIRECTORY/<personal.key_credential>`); none when
    /// neither is given (head office then refuses to start).
    pub personal_key_file: Option<PathBuf>,
    /// Version of that key (recorded with each wrapped data key).
    pub personal_key_version: i64,
    /// Load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
    /// How long `/health` says `draining` after SIGTERM before the node
    /// stops accepting connections.
    pub drain: std::time::Duration,
    /// Whether polls that find nothing new are answered from the node's
    /// reading of where the logs end (`service::poll_cache`).
    pub poll_cache: bool,
}

/// Why the configuration could not be read. Never quotes a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// The file is not valid TOML of the expected shape.
    #[error("{0} is not a valid tillcard-hq configuration: {1}")]
    Parse(PathBuf, String),
    /// A value is not valid.
    #[error("{key}: {problem}")]
    Invalid {
        /// Where the value came from (file key or environment variable).
        key: String,
        /// What is wrong.
        problem: String,
    },
}

/// The file's shape. Unknown keys are refused, so a typo is an error at
/// start-up rather than a setting silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    #[serde(default)]
    database: FileDatabase,
    #[serde(default)]
    admin: FileAdmin,
    #[serde(default)]
    metrics: FileAdmin,
    #[serde(default)]
    log: FileLog,
    #[serde(default)]
    jobs: FileJobs,
    #[serde(default)]
    personal: FilePersonal,
    #[serde(default)]
    node: FileNode,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileNode {
    trusted_proxies: Option<Vec<String>>,
    drain_seconds: Option<u64>,
    poll_cache: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePersonal {
    key_file: Option<PathBuf>,
    key_credential: Option<String>,
    key_version: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJobs {
    at: Option<String>,
    scope_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDatabase {
    sqlite: Option<PathBuf>,
    postgres_url: Option<String>,
    postgres_url_file: Option<PathBuf>,
    postgres_pool_size: Option<usize>,
    read_url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAdmin {
    token: Option<String>,
    token_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLog {
    level: Option<String>,
    format: Option<LogFormat>,
}

/// Reads a secret from a file: the first line, trimmed; empty is an error.
fn read_secret(key: &str, path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
    let secret = text.lines().next().unwrap_or("").trim().to_owned();
    if secret.is_empty() {
        return Err(ConfigError::Invalid {
            key: key.into(),
            problem: format!("{} is empty", path.display()),
        });
    }
    Ok(secret)
}

impl Config {
    /// Reads the environment only (no file), as before the file existed.
    pub fn from_env() -> Result<Config, String> {
        Config::load(None, &|name| std::env::var(name).ok()).map_err(|e| e.to_string())
    }

    /// Reads `file` (else the file named by [`CONFIG_ENV`], else none), then
    /// the environment through `env`, which wins. `env` is a lookup so tests
    /// need not change the process environment.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let file_path = file
            .map(Path::to_path_buf)
            .or_else(|| var(CONFIG_ENV).map(PathBuf::from));
        let parsed = match &file_path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::Read(path.clone(), e))?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| ConfigError::Parse(path.clone(), e.to_string()))?
            }
            None => FileConfig::default(),
        };

        let (listen_key, listen) = match var("TILLCARD_HQ_LISTEN") {
            Some(v) => ("TILLCARD_HQ_LISTEN", v),
            None => match parsed.listen {
                Some(v) => ("listen", v),
                None => ("listen", "127.0.0.1:8640".into()),
            },
        };
        let listen = listen.parse().map_err(|_| ConfigError::Invalid {
            key: listen_key.into(),
            problem: format!("{listen:?} is not host:port"),
        })?;

        let database = if let Some(url) = var("TILLCARD_HQ_DATABASE_URL") {
            Database::Postgres(url)
        } else if let Some(path) = var("TILLCARD_HQ_DATABASE_URL_FILE") {
            Database::Postgres(read_secret(
                "TILLCARD_HQ_DATABASE_URL_FILE",
                Path::new(&path),
            )?)
        } else if let Some(path) = var("TILLCARD_HQ_SQLITE") {
            Database::Sqlite(path.into())
        } else if let Some(url) = parsed.database.postgres_url.filter(|u| !u.is_empty()) {
            Database::Postgres(url)
        } else if let Some(path) = &parsed.database.postgres_url_file {
            Database::Postgres(read_secret("database.postgres_url_file", path)?)
        } else {
            Database::Sqlite(
                parsed
                    .database
                    .sqlite
                    .unwrap_or_else(|| "tillcard-hq.sqlite".into()),
            )
        };

        let postgres_pool_size = match var("TILLCARD_HQ_DATABASE_POOL_SIZE") {
            Some(v) => Some(v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ConfigError::Invalid {
                    key: "TILLCARD_HQ_DATABASE_POOL_SIZE".into(),
                    problem: format!("{v:?} is not a number of connections (1 or more)"),
                }
            })?),
            None => match parsed.database.postgres_pool_size {
                Some(0) => {
                    return Err(ConfigError::Invalid {
                        key: "database.postgres_pool_size".into(),
                        problem: "0 connections: at least 1 is needed".into(),
                    });
                }
                size => size,
            },
        };

        let read_url = var("TILLCARD_HQ_DATABASE_READ_URL")
            .or_else(|| parsed.database.read_url.clone())
            .filter(|u| !u.is_empty());
        if read_url.is_some() && !matches!(database, Database::Postgres(_)) {
            return Err(ConfigError::Invalid {
                key: "database.read_url".into(),
                problem: "a standby to read from needs head office on PostgreSQL".into(),
            });
        }

        let admin_token = if let Some(token) = var("TILLCARD_HQ_ADMIN_TOKEN") {
            Some(token)
        } else if let Some(path) = var("TILLCARD_HQ_ADMIN_TOKEN_FILE") {
            Some(read_secret(
                "TILLCARD_HQ_ADMIN_TOKEN_FILE",
                Path::new(&path),
            )?)
        } else if let Some(token) = parsed.admin.token.filter(|t| !t.is_empty()) {
            Some(token)
        } else if let Some(path) = &parsed.admin.token_file {
            Some(read_secret("admin.token_file", path)?)
        } else {
            None
        };

        let metrics_token = if let Some(token) = var("TILLCARD_HQ_METRICS_TOKEN") {
            Some(token)
        } else if let Some(path) = var("TILLCARD_HQ_METRICS_TOKEN_FILE") {
            Some(read_secret(
                "TILLCARD_HQ_METRICS_TOKEN_FILE",
                Path::new(&path),
            )?)
        } else if let Some(token) = parsed.metrics.token.filter(|t| !t.is_empty()) {
            Some(token)
        } else if let Some(path) = &parsed.metrics.token_file {
            Some(read_secret("metrics.token_file", path)?)
        } else {
            None
        };

        let format = match var("TILLCARD_HQ_LOG_FORMAT") {
            Some(v) => v
                .parse()
                .map_err(
                    |e: tillcard_protocol::logging::LogError| ConfigError::Invalid {
                        key: "TILLCARD_HQ_LOG_FORMAT".into(),
                        problem: e.to_string(),
                    },
                )?,
            None => parsed.log.format.unwrap_or_default(),
        };
        let filter = var("RUST_LOG")
            .or(parsed.log.level)
            .unwrap_or_else(|| "info".into());

        let (jobs_key, jobs_at) = match var("TILLCARD_HQ_JOBS_AT") {
            Some(v) => ("TILLCARD_HQ_JOBS_AT", Some(v)),
            None => ("jobs.at", parsed.jobs.at),
        };
        let jobs_at = match jobs_at {
            None => crate::jobs::schedule::JobsConfig::default().time_of_day,
            Some(text) => chrono::NaiveTime::parse_from_str(&text, "%H:%M").map_err(|_| {
                ConfigError::Invalid {
                    key: jobs_key.into(),
                    problem: format!("{text:?} is not a time of day as HH:MM (03:00)"),
                }
            })?,
        };

        let credential = var("TILLCARD_HQ_PERSONAL_KEY_CREDENTIAL")
            .or(parsed.personal.key_credential)
            .unwrap_or_else(|| crate::personal::CREDENTIAL_NAME.into());
        if credential.contains('/') || credential.starts_with('.') {
            return Err(ConfigError::Invalid {
                key: "personal.key_credential".into(),
                problem: format!("{credential:?} is not a credential name"),
            });
        }
        let personal_key_file = var("TILLCARD_HQ_PERSONAL_KEY_FILE")
            .map(PathBuf::from)
            .or(parsed.personal.key_file)
            .or_else(|| var("CREDENTIALS_DIRECTORY").map(|dir| Path::new(&dir).join(&credential)));
        let personal_key_version = match var("TILLCARD_HQ_PERSONAL_KEY_VERSION") {
            Some(v) => ("TILLCARD_HQ_PERSONAL_KEY_VERSION", v.parse::<i64>().ok()),
            None => (
                "personal.key_version",
                Some(parsed.personal.key_version.unwrap_or(1)),
            ),
        };
        let personal_key_version = match personal_key_version {
            (_, Some(n)) if n >= 1 => n,
            (key, _) => {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    problem: "a key version is a whole number from 1".into(),
                });
            }
        };

        let (proxies_key, proxies) = match var("TILLCARD_HQ_TRUSTED_PROXIES") {
            Some(v) => (
                "TILLCARD_HQ_TRUSTED_PROXIES",
                v.split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            None => (
                "node.trusted_proxies",
                parsed.node.trusted_proxies.unwrap_or_default(),
            ),
        };
        let trusted_proxies = proxies
            .iter()
            .map(|a| {
                a.parse::<IpAddr>().map_err(|_| ConfigError::Invalid {
                    key: proxies_key.into(),
                    problem: format!("{a:?} is not an IP address"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let drain_seconds =
            match var("TILLCARD_HQ_DRAIN_SECONDS") {
                Some(v) => v.parse::<u64>().ok().filter(|n| *n <= 600).ok_or_else(|| {
                    ConfigError::Invalid {
                        key: "TILLCARD_HQ_DRAIN_SECONDS".into(),
                        problem: format!("{v:?} is not a number of seconds from 0 to 600"),
                    }
                })?,
                None => match parsed.node.drain_seconds {
                    Some(n) if n > 600 => {
                        return Err(ConfigError::Invalid {
                            key: "node.drain_seconds".into(),
                            problem: format!("{n} is more than 600 seconds"),
                        });
                    }
                    n => n.unwrap_or(0),
                },
            };

        let poll_cache = match var("TILLCARD_HQ_POLL_CACHE") {
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => {
                    return Err(ConfigError::Invalid {
                        key: "TILLCARD_HQ_POLL_CACHE".into(),
                        problem: format!("{v:?} is neither on nor off"),
                    });
                }
            },
            None => parsed.node.poll_cache.unwrap_or(true),
        };

        let scope_days = match var("TILLCARD_HQ_SCOPE_DAYS") {
            Some(v) => ("TILLCARD_HQ_SCOPE_DAYS", v.parse::<u32>().ok(), v),
            None => match parsed.jobs.scope_days {
                Some(n) => ("jobs.scope_days", Some(n), n.to_string()),
                None => (
                    "",
                    Some(crate::store::scope::SCOPE_DAYS_DEFAULT),
                    String::new(),
                ),
            },
        };
        let scope_days = match scope_days {
            (_, Some(n), _) if (7..=3660).contains(&n) => n,
            (key, _, text) => {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    problem: format!("{text:?} is not a number of days from 7 to 3660"),
                });
            }
        };

        Ok(Config {
            scope_days,
            trusted_proxies,
            drain: std::time::Duration::from_secs(drain_seconds),
            poll_cache,
            personal_key_file,
            personal_key_version,
            listen,
            database,
            postgres_pool_size,
            read_url,
            admin_token,
            metrics_token,
            log: LogSettings { filter, format },
            jobs_at,
        })
    }
}

impl Config {
    /// The personal-data key, read from [`Config::personal_key_file`]:
    /// refused with what to do when none is configured or it does not read.
    pub fn personal_keys(&self) -> Result<crate::personal::PersonalKeys, String> {
        let Some(path) = &self.personal_key_file else {
            return Err(format!(
                "head office needs its personal-data key (32 random bytes; members' phones, \
                 names and birthdays are encrypted under it): set TILLCARD_HQ_PERSONAL_KEY_FILE \
                 or personal.key_file in the configuration, or give the systemd credential \
                 `{}` (LoadCredential= or LoadCredentialEncrypted= in the unit). Make one with \
                 `head -c 32 /dev/urandom > FILE` and keep it apart from the database's backups",
                crate::personal::CREDENTIAL_NAME
            ));
        };
        crate::personal::PersonalKeys::read_file(path, self.personal_key_version)
            .map_err(|e| e.to_string())
    }
}

/// The configured standby for the dashboard's reads, if any (not
/// connected yet: see [`crate::store::postgres::PgStore::read_only`]).
pub fn open_standby(config: &Config) -> StoreResult<Option<Arc<dyn Store>>> {
    let Some(url) = &config.read_url else {
        return Ok(None);
    };
    // The dashboard's few readers need few connections.
    let store = crate::store::postgres::PgStore::read_only(url, 2)?;
    Ok(Some(Arc::new(store)))
}

/// Opens the configured store.
pub async fn open_store(config: &Config) -> StoreResult<Arc<dyn Store>> {
    use crate::store::postgres::{PgStore, default_pool_size};
    Ok(match &config.database {
        Database::Sqlite(path) => Arc::new(crate::store::sqlite::SqliteStore::open(path)?),
        Database::Postgres(url) => Arc::new(
            PgStore::connect_with_pool_size(
                url,
                config.postgres_pool_size.unwrap_or_else(default_pool_size),
            )
            .await?,
        ),
    })
}

#[cfg(test)]
mod tests;
