//! The process's metrics in the Prometheus text format: the one recorder
//! (installed once per process), every metric's name, kind and
//! description, the histograms' buckets, and the process's own figures
//! (memory, open files, start time) read from `/proc/self` when scraped.
//!
//! Modules record with the `metrics` facade's macros (`counter!`,
//! `gauge!`, `histogram!`) by name; without an installed recorder (the
//! one-shot commands) those cost nothing. A metric recorded anywhere is
//! listed in [`METRICS`] (a test reads the sources to check it). Imports
//! nothing of this crate; knows no axum type (`http::metrics` serves it).
//!
//! No label holds a token, a unit id, a file name, a raw path or query
//! text: only route templates, methods, statuses, reason codes and other
//! small fixed sets.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// The media type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric's kind, as Prometheus names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric: its name, kind and the description its `# HELP` line gives.
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

const fn metric(kind: Kind, name: &'static str, help: &'static str) -> Metric {
    Metric { name, kind, help }
}

use Kind::{Counter, Gauge, Histogram};

/// Every metric the process records.
pub const METRICS: &[Metric] = &[
    metric(
        Counter,
        "ecomshare_http_requests_total",
        "HTTP requests answered, by route template (\"unmatched\" for none), method and status.",
    ),
    metric(
        Histogram,
        "ecomshare_http_request_duration_seconds",
        "Time from a request's arrival to its response's head, by route template and method.",
    ),
    metric(
        Counter,
        "ecomshare_ingest_batches_total",
        "Batches of filing files ingested, by outcome: committed (a new dataset version), unchanged (every file \
         ingested before), refused (an input file refused whole) or failed.",
    ),
    metric(
        Counter,
        "ecomshare_ingest_records_accepted_total",
        "Filing records accepted by committed batches.",
    ),
    metric(
        Counter,
        "ecomshare_ingest_records_rejected_total",
        "Filing records rejected by committed batches, by reason code.",
    ),
    metric(
        Histogram,
        "ecomshare_ingest_commit_duration_seconds",
        "Time from a batch's files staged to its version committed (superseded filings, rollup, manifest).",
    ),
    metric(
        Histogram,
        "ecomshare_dataset_ready_duration_seconds",
        "Time to load and ready a new dataset version before it answers requests.",
    ),
    metric(
        Gauge,
        "ecomshare_dataset_version_serving",
        "The dataset version whose snapshot answers requests (0 before one is loaded).",
    ),
    metric(
        Gauge,
        "ecomshare_dataset_version_newest",
        "The newest dataset version committed in the data directory.",
    ),
    metric(
        Gauge,
        "ecomshare_dataset_version_lag",
        "How many versions the one in service is behind the newest.",
    ),
    metric(
        Counter,
        "ecomshare_answer_cache_requests_total",
        "Look-ups in the answer caches, by cache (share_answers: share figures per version; share_bodies: encoded \
         share responses; query_results: named queries' encoded results) and result (hit or miss).",
    ),
    metric(
        Gauge,
        "ecomshare_queries_running",
        "Named queries and analysts' SQL running now.",
    ),
    metric(
        Counter,
        "ecomshare_queries_refused_total",
        "Named queries and analysts' SQL refused, by reason (too_many_queries, query_timeout, result_too_large).",
    ),
    metric(
        Counter,
        "ecomshare_report_generations_total",
        "Monthly reports asked for, by outcome: generated, kept (the archive held it for this version) or failed.",
    ),
    metric(
        Histogram,
        "ecomshare_report_generation_duration_seconds",
        "Time to build and archive a monthly report.",
    ),
    metric(
        Counter,
        "ecomshare_delivery_attempts_total",
        "Report delivery attempts, by channel (webhook, email) and outcome (delivered, retry, failed).",
    ),
    metric(
        Gauge,
        "ecomshare_outbox_deliveries",
        "Report deliveries in the outbox, by state (pending, sending, delivered, failed).",
    ),
    metric(
        Histogram,
        "ecomshare_audit_append_duration_seconds",
        "Time to append a batch of events to the audit trail (lock, write, fsync, head).",
    ),
    metric(
        Counter,
        "ecomshare_audit_events_total",
        "Events appended to the audit trail.",
    ),
    metric(
        Counter,
        "ecomshare_audit_repairs_total",
        "Audit trails brought back to a consistent state after a crash (lines adopted or a torn line cut).",
    ),
    metric(
        Gauge,
        "ecomshare_process_resident_memory_bytes",
        "Resident memory of the process.",
    ),
    metric(Gauge, "ecomshare_process_open_fds", "Open file descriptors."),
    metric(
        Gauge,
        "ecomshare_process_max_fds",
        "The limit of open file descriptors.",
    ),
    metric(
        Gauge,
        "ecomshare_process_start_time_seconds",
        "When the process started, in seconds since the Unix epoch.",
    ),
];

/// Upper bounds of every histogram's buckets, in seconds: a fast request
/// (under a millisecond) to a large commit (minutes).
pub const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0,
];

/// How often recorded histogram samples are folded into their buckets
/// between scrapes (bounds the memory they hold).
const UPKEEP: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder as the process's metrics recorder,
/// once: later calls (another router in the same test process) do
/// nothing. Returns whether metrics are recorded (false when another
/// recorder was installed first).
pub fn install() -> bool {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(SECONDS_BUCKETS)
                .expect("buckets are given");
            match builder.install_recorder() {
                Ok(handle) => {
                    for m in METRICS {
                        match m.kind {
                            Counter => metrics::describe_counter!(m.name, m.help),
                            Gauge => metrics::describe_gauge!(m.name, m.help),
                            Histogram => metrics::describe_histogram!(m.name, m.help),
                        }
                    }
                    let upkept = handle.clone();
                    let started = std::thread::Builder::new()
                        .name("metrics-upkeep".into())
                        .spawn(move || {
                            loop {
                                std::thread::sleep(UPKEEP);
                                upkept.run_upkeep();
                            }
                        });
                    if let Err(e) = started {
                        tracing::warn!(error = %e, "no metrics upkeep thread: histograms are folded at scrapes only");
                    }
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "another metrics recorder is installed: /metrics stays empty");
                    None
                }
            }
        })
        .is_some()
}

/// The metrics as Prometheus text (the process's own figures read now);
/// empty when no recorder is installed.
pub fn render() -> String {
    let Some(Some(handle)) = HANDLE.get() else {
        return String::new();
    };
    record_process();
    handle.render()
}

/// The process's memory, open files and start time, from `/proc/self`
/// (nothing where there is no `/proc`).
fn record_process() {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    if let Some(rss) = read("/proc/self/status").as_deref().and_then(resident_bytes) {
        metrics::gauge!("ecomshare_process_resident_memory_bytes").set(rss as f64);
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("ecomshare_process_open_fds").set(fds.count() as f64);
    }
    if let Some(max) = read("/proc/self/limits").as_deref().and_then(max_open_files) {
        metrics::gauge!("ecomshare_process_max_fds").set(max as f64);
    }
    let start = read("/proc/self/stat")
        .as_deref()
        .and_then(start_ticks)
        .zip(read("/proc/stat").as_deref().and_then(boot_time));
    if let Some((ticks, boot)) = start {
        metrics::gauge!("ecomshare_process_start_time_seconds").set(boot as f64 + ticks as f64 / USER_HZ);
    }
}

/// The unit of `/proc`'s times: Linux gives them in USER_HZ, 100 a second
/// on every architecture this is built for (a fixed ABI value, whatever
/// the kernel's own tick).
const USER_HZ: f64 = 100.0;

/// `VmRSS:` of `/proc/self/status`, in bytes.
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut parts = line.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

/// The soft limit of "Max open files" in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    let rest = limits.lines().find_map(|l| l.strip_prefix("Max open files"))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The process's start, in ticks after boot: field 22 of `/proc/self/stat`
/// (counted after the command name, which may hold spaces and parentheses).
fn start_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields from the 3rd (state) on: the 22nd is the 20th of them.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// The boot time (`btime`) of `/proc/stat`, in seconds since the epoch.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_as_linux_writes_them() {
        let status = "Name:\tecomshare\nVmPeak:\t  200000 kB\nVmRSS:\t   52344 kB\nThreads:\t9\n";
        assert_eq!(resident_bytes(status), Some(52344 * 1024));
        assert_eq!(resident_bytes("Name:\tx\n"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63364                63364                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024));
        // A command name with spaces and a parenthesis does not shift the fields.
        let stat = "4242 (tokio (rt) 1) S 1 4242 4242 0 -1 4194560 1234 0 0 0 10 5 0 0 20 0 9 0 987654 123456789 \
                    13000 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(start_ticks(stat), Some(987654));
        assert_eq!(start_ticks("garbage"), None);
        assert_eq!(
            boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"),
            Some(1_700_000_000)
        );
    }

    #[test]
    fn this_process_reads_its_own_figures() {
        if !std::path::Path::new("/proc/self/stat").exists() {
            return;
        }
        let read = |p: &str| std::fs::read_to_string(p).unwrap();
        assert!(resident_bytes(&read("/proc/self/status")).unwrap() > 1 << 20);
        let started = boot_time(&read("/proc/stat")).unwrap() as f64
            + start_ticks(&read("/proc/self/stat")).unwrap() as f64 / USER_HZ;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            started <= now + 1.0 && started > now - 86_400.0 * 365.0,
            "{started} {now}"
        );
    }

    /// Every metric the sources record is described here, under the
    /// naming rules: the `ecomshare_` prefix, counters ending `_total`,
    /// histograms in `_seconds`, each recorded as the kind it is
    /// described as; and every described metric is recorded somewhere.
    #[test]
    fn every_metric_recorded_is_described_and_named_by_the_rules() {
        let mut recorded = Vec::new();
        let mut files = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") || p.ends_with("telemetry.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for (macro_, kind) in [("counter!(", Counter), ("gauge!(", Gauge), ("histogram!(", Histogram)] {
                for (at, _) in text.match_indices(macro_) {
                    let rest = text[at + macro_.len()..].trim_start();
                    let name = rest
                        .strip_prefix('"')
                        .and_then(|r| r.split('"').next())
                        .unwrap_or_else(|| panic!("{}: a metric named by a literal: {}", p.display(), &rest[..40]));
                    recorded.push((name.to_string(), kind, p.display().to_string()));
                }
            }
        }
        assert!(recorded.len() > 10, "{recorded:?}");
        for (name, kind, file) in &recorded {
            let described = METRICS.iter().find(|m| m.name == name);
            assert!(
                described.is_some_and(|m| m.kind == *kind),
                "{file}: {name} is not described as a {kind:?}"
            );
        }
        for m in METRICS {
            assert!(m.name.starts_with("ecomshare_"), "{}", m.name);
            assert!(!m.help.is_empty());
            match m.kind {
                Counter => assert!(m.name.ends_with("_total"), "{}", m.name),
                Histogram => assert!(m.name.ends_with("_seconds"), "{}", m.name),
                Gauge => assert!(!m.name.ends_with("_total"), "{}", m.name),
            }
            let process = m.name.starts_with("ecomshare_process_");
            assert!(
                process || recorded.iter().any(|(n, ..)| n == m.name),
                "{} is described but never recorded",
                m.name
            );
        }
    }
}
