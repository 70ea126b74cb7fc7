//! Logging to stderr, set up once at start (before the configuration is
//! resolved, so that its errors are logged too): human-readable text, or
//! one JSON object per line (`timestamp`, `level`, `target`, `message` and
//! the event's fields beside them) for a log shipper. `ECOMSHARE_LOG`
//! filters (default `info`; delta-rs at `warn` unless named). Knows
//! nothing of what is logged.

use super::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the process's log subscriber.
pub fn init(format: LogFormat) {
    let spec = std::env::var("ECOMSHARE_LOG").unwrap_or_else(|_| "info".into());
    // delta-rs's kernel reports every log read at info (a table not created
    // yet among them): warnings only, unless the filter names it.
    let spec = if spec.contains("kernel") || spec.contains("deltalake") {
        spec
    } else {
        format!("{spec},buoyant_kernel=warn,deltalake_core=warn")
    };
    let filter = EnvFilter::try_new(spec).unwrap_or_else(|_| "info".into());
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
