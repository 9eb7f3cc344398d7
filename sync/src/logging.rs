//! `tracing` set-up for `tillcard-hq`: human-readable text by default,
//! one JSON object per line with `TILLCARD_HQ_LOG_FORMAT=json`.
//!
//! What is logged is decided at each call site, and the rule there is: ids,
//! counts, codes and kinds only. No phone, name or birthday ever reaches a
//! log line, not even masked (event bodies, error messages built from
//! client input and conflict reasons are never logged).

use tracing_subscriber::EnvFilter;

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

/// Installs the global subscriber: `RUST_LOG` filter (default `info`), the
/// given format. Call once, first thing in `main`.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
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
