//! `tracing` set-up for `tillcard-hq`: human-readable text by default,
//! one JSON object per line with `TILLCARD_HQ_LOG_FORMAT=json`.
//!
//! What is logged is decided at each call site, and the rule there is: ids,
//! counts, codes and kinds only. No phone, name or birthday ever reaches a
//! log line, not even masked (event bodies, error messages built from
//! client input and conflict reasons are never logged).

use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable text (default).
    Text,
    /// One JSON object per line (with the current span's fields).
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
            None | Some("" | "text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "TILLCARD_HQ_LOG_FORMAT must be text or json, not {other:?}"
            )),
        }
    }
}

/// Crates whose DEBUG and TRACE records may carry values head office
/// handles: `tokio_postgres` logs every statement's parameters at DEBUG
/// (phones, names, birthdays on enrollment). They are capped at INFO
/// whatever `RUST_LOG` says.
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

/// Head office's subscriber: `filter` (e.g. from `RUST_LOG`), the
/// [`QUIET_TARGETS`] cap, the given format, written to `writer`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let guard = tracing_subscriber::filter::filter_fn(allowed);
    match format {
        LogFormat::Text => Box::new(
            tracing_subscriber::registry().with(
                tracing_subscriber::fmt::layer()
                    .with_writer(writer)
                    .with_filter(filter)
                    .with_filter(guard),
            ),
        ),
        LogFormat::Json => Box::new(
            tracing_subscriber::registry().with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(writer)
                    .with_filter(filter)
                    .with_filter(guard),
            ),
        ),
    }
}

/// Installs the global subscriber: `RUST_LOG` filter (default `info`), the
/// given format, standard output. Call once, first thing in `main`.
pub fn init(format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init` also routes records of crates using `log` (tokio-postgres)
    // through the same filters.
    subscriber(format, filter, std::io::stdout)
        .try_init()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn log_format_names() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        assert!(LogFormat::parse(Some("xml")).is_err());
    }
}
