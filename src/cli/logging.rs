//! Logging to stderr, set up once at start (before the configuration is
//! resolved, so that its errors are logged too): human-readable text, or
//! one JSON object per line (`timestamp`, `level`, `target`, `message` and
//! the event's fields beside them) for a log shipper. `ECOMSHARE_LOG`
//! filters (default `info`). Knows nothing of what is logged.

use super::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the process's log subscriber.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("ECOMSHARE_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}
