//! Structured logs (`tracing`) for head office and the terminal, one policy
//! for both: a filter from `RUST_LOG` or the configuration, text or JSON on
//! stderr (journald-friendly), and optionally a copy in a directory.
//!
//! Personal data (phone, name, birthday) must never reach a log line. Our
//! own events log ids, counts and sequence numbers only; on top of that some
//! dependencies log the values they handle at debug level, whatever the
//! operator's filter says (`tokio_postgres` logs every statement's
//! parameters, which include the phone and name head office stores), so
//! [`QUIET_TARGETS`] are held at `info` in every subscriber built here
//! ([`allowed`]). `scripts/test` proves the result: it runs the whole suite
//! at `RUST_LOG=debug` with [`LOG_DIR_ENV`] set and scans every line written
//! (`tools/logscan`).
//!
//! Logs go to stderr, never stdout: `tillcard-hq issue-code` prints the code
//! on stdout for scripts to capture.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Environment variable naming a directory that every process of ours also
/// writes its log lines to (one file per process, `PROGRAM-PID.log`). Set by
/// `scripts/test` for the no-personal-data proof; unset in production, where
/// journald collects stderr.
pub const LOG_DIR_ENV: &str = "TILLCARD_LOG_DIR";

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (`LEVEL target: message key=value`).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// Reads `TILLCARD_HQ_LOG_FORMAT` (`text`, `json`; unset = text).
    pub fn from_env() -> Result<LogFormat, String> {
        LogFormat::parse(std::env::var("TILLCARD_HQ_LOG_FORMAT").ok().as_deref())
    }

    /// Parses a format name (`None` or empty = text).
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(LogFormat::Text),
            Some(name) => name.parse().map_err(|e: LogError| e.to_string()),
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = LogError;

    fn from_str(s: &str) -> Result<LogFormat, LogError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(LogError::Format(s.to_owned())),
        }
    }
}

/// What to log and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// An `EnvFilter` directive string (`info`, `tillcard=debug,info`...).
    pub filter: String,
    /// Text or JSON.
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> LogSettings {
        LogSettings {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The filter does not parse.
    #[error("log filter {0:?} is not valid: {1}")]
    Filter(String, String),
    /// Unknown format name.
    #[error("log format {0:?} is not \"text\" or \"json\"")]
    Format(String),
    /// The log directory could not be written.
    #[error("cannot write logs to {0}: {1}")]
    Dir(PathBuf, io::Error),
    /// A subscriber was already installed in this process.
    #[error("logging was already initialised")]
    AlreadyInitialised,
}

/// Crates whose debug and trace records may carry values we handle:
/// `tokio_postgres` logs every statement's parameters at debug (phones,
/// names, birthdays on enrollment). They are capped at `info` whatever
/// `RUST_LOG` says.
pub const QUIET_TARGETS: &[&str] = &["tokio_postgres", "postgres_protocol"];

/// Whether a record may be logged at all (see [`QUIET_TARGETS`]).
pub fn allowed(meta: &tracing::Metadata<'_>) -> bool {
    *meta.level() <= tracing::Level::INFO
        || !QUIET_TARGETS.iter().any(|t| {
            meta.target()
                .strip_prefix(t)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
}

/// A subscriber: `filter`, the [`QUIET_TARGETS`] cap, `format`, written to
/// `writer` (timestamps on, no colours). For tests that capture logs.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Box::new(
        tracing_subscriber::registry()
            .with(layer(format, writer, false, true).with_filter(filter))
            .with(tracing_subscriber::filter::filter_fn(allowed)),
    )
}

/// The filter: `RUST_LOG` when set and not empty, else `settings.filter`.
pub fn env_filter(settings: &LogSettings) -> Result<EnvFilter, LogError> {
    let directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| settings.filter.clone());
    EnvFilter::builder()
        .parse(&directives)
        .map_err(|e| LogError::Filter(directives, e.to_string()))
}

/// `DIR/PROGRAM-PID.log`, opened for appending.
fn log_file(dir: &Path, program: &str) -> Result<File, LogError> {
    std::fs::create_dir_all(dir).map_err(|e| LogError::Dir(dir.to_owned(), e))?;
    let path = dir.join(format!("{program}-{}.log", std::process::id()));
    File::options()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| LogError::Dir(path, e))
}

/// The log directory from [`LOG_DIR_ENV`], when set.
pub fn log_dir_from_env() -> Option<PathBuf> {
    std::env::var_os(LOG_DIR_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Installs the process's subscriber: stderr (no colours unless stderr is a
/// terminal; no timestamp under journald, which stamps every line itself),
/// plus a copy in [`LOG_DIR_ENV`] when set. `program` names the copy's file.
/// Messages from the `log` crate (dependencies) go through the same filter.
pub fn init(program: &str, settings: &LogSettings) -> Result<(), LogError> {
    install(program, env_filter(settings)?, settings.format)
}

/// Like [`init`] at `info` in text, ignoring `RUST_LOG`: what a program
/// falls back to when its filter does not parse.
pub fn init_fallback(program: &str) -> Result<(), LogError> {
    install(program, EnvFilter::new("info"), LogFormat::Text)
}

fn install(program: &str, filter: EnvFilter, format: LogFormat) -> Result<(), LogError> {
    use std::io::IsTerminal as _;
    let copy = log_dir_from_env()
        .map(|dir| log_file(&dir, program))
        .transpose()?
        .map(Mutex::new);
    let ansi = io::stderr().is_terminal();
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let stderr = layer(format, io::stderr, ansi, !journald);
    let file = copy.map(|f| layer(format, f, false, true));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::filter::filter_fn(allowed))
        .with(stderr)
        .with(file)
        .try_init()
        .map_err(|_| LogError::AlreadyInitialised)
}

/// For test helpers: when [`LOG_DIR_ENV`] is set, installs a subscriber
/// writing to `DIR/PROGRAM-PID.log` at `RUST_LOG` (default `debug`), with the
/// same privacy caps as production. Does nothing when the variable is unset
/// or a subscriber is already installed, so every helper may call it.
pub fn init_for_tests(program: &str) {
    let Some(dir) = log_dir_from_env() else {
        return;
    };
    let settings = LogSettings {
        filter: "debug".into(),
        format: LogFormat::Text,
    };
    let (Ok(filter), Ok(file)) = (env_filter(&settings), log_file(&dir, program)) else {
        return;
    };
    let _ = subscriber(LogFormat::Text, filter, Mutex::new(file)).try_init();
}

/// A formatting layer for `writer` in `format`.
fn layer<S, W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
    time: bool,
) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let base = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match (format, time) {
        (LogFormat::Text, true) => Box::new(base),
        (LogFormat::Text, false) => Box::new(base.without_time()),
        (LogFormat::Json, true) => Box::new(base.json().with_current_span(true)),
        (LogFormat::Json, false) => Box::new(base.json().with_current_span(true).without_time()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;
    use std::sync::Arc;

    /// A writer collecting everything in memory.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn capture(filter: &str, format: LogFormat, emit: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let subscriber = subscriber(
            format,
            EnvFilter::builder().parse(filter).unwrap(),
            buffer.clone(),
        );
        tracing::subscriber::with_default(subscriber, emit);
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn postgres_statement_parameters_are_never_logged_even_at_debug() {
        let out = capture("trace", LogFormat::Text, || {
            tracing::debug!(
                target: "tokio_postgres::query",
                "executing statement s1 with parameters: [\"13800138000\"]"
            );
            tracing::debug!(target: "postgres_protocol::message", "13800138001");
            tracing::debug!(target: "tokio_postgresql_lookalike", "not capped");
            tracing::info!(target: "tokio_postgres::connection", "connection closed");
            tracing::debug!(target: "tillcard_hq::service", seq = 7, "batch applied");
        });
        assert!(!out.contains("13800138000"), "{out}");
        assert!(!out.contains("13800138001"), "{out}");
        assert!(out.contains("not capped"), "{out}");
        assert!(out.contains("connection closed"), "{out}");
        assert!(out.contains("batch applied"), "{out}");
    }

    #[test]
    fn json_format_writes_one_object_per_line() {
        let out = capture("info", LogFormat::Json, || {
            tracing::info!(seq = 3, "event queued");
        });
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["fields"]["message"], "event queued");
        assert_eq!(line["fields"]["seq"], 3);
    }

    #[test]
    fn format_names_parse_and_unknown_ones_are_refused() {
        assert_eq!("JSON".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some(" ")), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert!(LogFormat::parse(Some("xml")).is_err());
        assert_eq!("text".parse::<LogFormat>().unwrap(), LogFormat::Text);
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
