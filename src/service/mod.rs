//! The use cases the CLI and the HTTP API share, on `App`: ingest a batch
//! of filing files (`intake`), answer a share query (`answers`, with
//! disclosure control in `disclose` and `kept`), run a named query or an
//! analyst's SQL (`named_queries`), compact small batches (`compact`), all
//! as of any dataset version (`versions`), and the year's outlook
//! (`outlook`); readiness and the writes a shutdown waits for
//! (`lifecycle`). The requests and responses of a share query and an
//! outlook are plain data in `figures`.
//!
//! Here: the options, the error of every use case and its kind, and the
//! `App` itself. Owns parameter checking, defaults (the latest 12 months
//! with data), the target in force for a row, the shape of the share and
//! ingest reports, and the caches of snapshots and answers. Knows nothing of
//! HTTP or of the command line; never touches polars or DataFusion types
//! directly (Arrow record batches pass through it between the engine and
//! the encoders).

use crate::domain::Period;
use crate::engine::{EngineError, Limits};
use crate::ingest::IngestError;
use crate::store::{Manifest, Warehouse, WarehouseError};
use chrono::{DateTime, FixedOffset, Utc};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use thiserror::Error;
use versions::{Loaded, ReferenceCache};

mod answers;
mod compact;
mod disclose;
pub mod figures;
mod intake;
mod kept;
mod lifecycle;
mod named_queries;
mod outlook;
mod versions;
pub use compact::{CompactPolicy, CompactReport};
pub use figures::{
    Audience, OutlookParams, OutlookResponse, OutlookScope, PathValue, ShareParams, ShareResponse, ShareRow,
};
pub use intake::{FileReport, IngestReport, IngestSource, Rejected, RejectedRecord, RejectionReport};
pub use lifecycle::{Readiness, WritePermit};
pub use named_queries::{QueryPlan, QueryStream, SqlRequest, parse_as_of};
pub use versions::StateTag;

/// The kinds of failure of a use case, whatever layer it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parameter the caller gave is wrong (a month, a code, a version).
    BadParameter,
    /// An input file refused whole: nothing was committed.
    InputRefused,
    /// A well-formed request refused for what it asks: SQL the gate
    /// refuses, a query too slow or too large, more rows than Excel takes.
    Refused,
    /// Another ingest holds the data directory, or another writer
    /// committed the version first; retry later.
    Busy,
    /// The data directory was written by a newer ecomshare.
    NewerFormat,
    /// The server is shutting down: no write begins; retry once it is back.
    ShuttingDown,
    /// Storage, engine or encoding failed: not the caller's fault.
    Internal,
}

#[derive(Debug, Error)]
pub enum AppError {
    #[error("{message}")]
    BadParameter { code: &'static str, message: String },
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Tabular(#[from] crate::engine::tabular::TabularError),
    #[error(transparent)]
    Rollup(#[from] crate::store::rollup::RollupError),
    #[error(transparent)]
    Outlook(#[from] crate::domain::outlook::OutlookError),
    #[error(transparent)]
    Audit(#[from] crate::access::audit::AuditError),
    #[error("the server is shutting down: no ingest or compaction begins now; send it again once the server is back")]
    ShuttingDown,
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadParameter { code, .. } => code,
            Self::Ingest(e) => e.code(),
            Self::Warehouse(e) => e.code(),
            Self::Engine(e) => e.code(),
            Self::Tabular(e) => e.code(),
            Self::Rollup(e) => e.code(),
            Self::Outlook(e) => e.code(),
            Self::Audit(e) => e.code(),
            Self::ShuttingDown => "shutting_down",
        }
    }

    /// What kind of failure this is, decided once here from the layer
    /// errors inside, so that a surface maps the kind (a status, an exit
    /// code) instead of matching nested errors.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::BadParameter { .. } => ErrorKind::BadParameter,
            Self::Ingest(e) if e.is_input_error() => ErrorKind::InputRefused,
            Self::Engine(e) if e.is_client_error() => ErrorKind::Refused,
            Self::Tabular(crate::engine::tabular::TabularError::TooManyRowsForExcel { .. }) => ErrorKind::Refused,
            Self::Warehouse(WarehouseError::Busy(_) | WarehouseError::Conflict { .. }) => ErrorKind::Busy,
            Self::Warehouse(WarehouseError::NewerFormat { .. }) => ErrorKind::NewerFormat,
            Self::ShuttingDown => ErrorKind::ShuttingDown,
            // The outlook's inputs come from the store: a bad one is ours.
            Self::Ingest(_)
            | Self::Engine(_)
            | Self::Tabular(_)
            | Self::Warehouse(_)
            | Self::Rollup(_)
            | Self::Outlook(_)
            | Self::Audit(_) => ErrorKind::Internal,
        }
    }

    /// The caller's input is at fault (as opposed to our storage or engine).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::BadParameter | ErrorKind::InputRefused | ErrorKind::Refused
        )
    }

    fn bad(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadParameter {
            code,
            message: message.into(),
        }
    }
}

/// Vietnam keeps UTC+7 all year (no daylight saving): Asia/Ho_Chi_Minh.
pub fn vietnam_offset() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

/// The month `now` falls in, in Asia/Ho_Chi_Minh.
pub fn month_in_vietnam(now: DateTime<Utc>) -> Period {
    let local = now.with_timezone(&vietnam_offset());
    let date = local.date_naive();
    use chrono::Datelike;
    Period::new(date.year() as u16, date.month() as u8).expect("a calendar month")
}

/// How an App runs queries.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// A directory of extra named queries (read after the built-in ones and
    /// before the data directory's `queries/`).
    pub queries_dir: Option<PathBuf>,
    pub limits: Limits,
    /// Longest an analyst's SQL or a named query may take to its first rows.
    pub query_timeout: std::time::Duration,
    /// Most rows an analyst's SQL may return.
    pub sql_row_cap: usize,
    /// Memory for cached query results.
    pub result_cache_bytes: usize,
    /// Disclosure control of protected figures.
    pub disclosure: crate::domain::disclosure::Rule,
    /// The targets' programmes in priority order (`[targets] programs`);
    /// empty: the default choice (see `domain::targets`).
    pub target_programs: Vec<String>,
    /// When months' figures become preliminary and final (`[release]`).
    pub release: crate::domain::ReleasePolicy,
    /// Filings of a batch per run of the commit's search for the filings it
    /// supersedes (see `engine::superseded_by`): 4,000,000 keeps that
    /// search's hash tables near 0.4 GiB whatever the batch's size.
    pub supersession_part_rows: u64,
    /// Judge protected tables from the contributions kept per month (see
    /// `kept`), counting from every filing only what their bounds cannot
    /// decide; false counts every table from the filings.
    pub kept_contributions: bool,
    /// Read a version's whole rollup when loading it (a server's choice:
    /// its answers then never wait on the disk); false reads each month,
    /// quarter or year when first asked (a one-shot command's).
    pub read_rollup_whole: bool,
    /// Add a batch's filings to the rollup on a second thread while the
    /// filings they supersede are found, and count two months'
    /// contributions at a time after it (a one-shot ingest's choice); false
    /// does one thing at a time, leaving a core to a server's requests.
    pub concurrent_commit: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            queries_dir: None,
            limits: Limits::default(),
            query_timeout: std::time::Duration::from_secs(30),
            sql_row_cap: 100_000,
            result_cache_bytes: 128 << 20,
            disclosure: crate::domain::disclosure::Rule::default(),
            target_programs: Vec::new(),
            release: crate::domain::ReleasePolicy::default(),
            supersession_part_rows: 4_000_000,
            kept_contributions: true,
            read_rollup_whole: true,
            concurrent_commit: true,
        }
    }
}

pub struct App {
    warehouse: Warehouse,
    loaded: Mutex<Option<Arc<Loaded>>>,
    /// Held while the latest version's snapshot is being loaded and readied.
    loading: tokio::sync::Mutex<()>,
    /// Set while a background task readies the latest version for the share
    /// API (`App::share_without_waiting`), so that one task does.
    readying: std::sync::atomic::AtomicBool,
    /// The snapshot the current one replaced: its answers stand in while
    /// the current one's are computed.
    previous: Mutex<Option<Arc<Loaded>>>,
    /// Share answers computed (not taken from a cache) since start.
    computed: std::sync::atomic::AtomicU64,
    /// Tables disclosure control counted from every filing since start.
    exact_counts: std::sync::atomic::AtomicU64,
    /// Snapshots of earlier versions asked for with `as_of`, most recent last.
    past: Mutex<Vec<Arc<Loaded>>>,
    /// The reference in force, parsed, with the texts it was parsed from and
    /// its fingerprint: every request reads the texts, few parse them.
    reference_cache: Mutex<Option<ReferenceCache>>,
    /// The log directory's settled stamp and the latest version it listed.
    version_cache: Mutex<Option<(crate::store::Stamp, u64)>>,
    catalog: crate::engine::catalog::Catalog,
    options: AppOptions,
    results: Arc<named_queries::ResultCache>,
    /// Disclosure control's kept contributions, per month (see `kept`).
    kept: Mutex<HashMap<kept::KeptKey, Arc<kept::KeptCell>>>,
    /// Readiness and the write permits (see `lifecycle`).
    lifecycle: lifecycle::Lifecycle,
    /// "Now", for the months' release states (and the default range of an
    /// empty dataset): the system clock unless [`App::with_clock`] says.
    clock: Arc<dyn crate::util::clock::Clock>,
}

/// What every answer's release states depend on besides its dataset
/// version: the policy and the epoch of "now" (see
/// `domain::release::ReleasePolicy::epoch`). In an ETag, it changes the
/// ETag exactly when a release state may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeTag {
    pub policy: crate::domain::ReleasePolicy,
    pub epoch: crate::domain::release::Epoch,
}

impl App {
    pub fn open(data: impl Into<PathBuf>) -> Result<Self, AppError> {
        Self::open_with(data, AppOptions::default())
    }

    pub fn open_with(data: impl Into<PathBuf>, options: AppOptions) -> Result<Self, AppError> {
        let warehouse = Warehouse::open(data)?;
        // What a process that died left: temporary files and folders
        // (the warehouse's own batches are its recovery's), and an audit
        // trail caught between its lines and its head.
        match crate::util::durable::sweep(warehouse.root(), &["batches"]) {
            Ok(removed) => {
                for path in removed {
                    tracing::warn!(path = %path.display(), "removed a temporary file left by a process that stopped");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not sweep temporary files"),
        }
        crate::access::audit::AuditLog::new(warehouse.root()).recover()?;
        let mut dirs: Vec<PathBuf> = options.queries_dir.iter().cloned().collect();
        dirs.push(warehouse.root().join("queries"));
        Ok(Self {
            warehouse,
            loaded: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
            readying: std::sync::atomic::AtomicBool::new(false),
            previous: Mutex::new(None),
            computed: std::sync::atomic::AtomicU64::new(0),
            exact_counts: std::sync::atomic::AtomicU64::new(0),
            past: Mutex::new(Vec::new()),
            reference_cache: Mutex::new(None),
            version_cache: Mutex::new(None),
            catalog: crate::engine::catalog::Catalog::new(dirs),
            results: Arc::new(named_queries::ResultCache::new(options.result_cache_bytes)),
            kept: Mutex::new(HashMap::new()),
            lifecycle: lifecycle::Lifecycle::default(),
            clock: Arc::new(crate::util::clock::SystemClock),
            options,
        })
    }

    /// The app reading "now" from `clock` (a rehearsal's, a test's).
    pub fn with_clock(mut self, clock: Arc<dyn crate::util::clock::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The app's clock (the server's schedule and outbox share it).
    pub fn clock(&self) -> Arc<dyn crate::util::clock::Clock> {
        self.clock.clone()
    }

    /// "Now", by the app's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The release policy figures follow.
    pub fn release_policy(&self) -> crate::domain::ReleasePolicy {
        self.options.release
    }

    /// The release states' part of an answer's identity, now.
    pub fn time_tag(&self) -> TimeTag {
        self.time_tag_at(self.now())
    }

    fn time_tag_at(&self, now: DateTime<Utc>) -> TimeTag {
        TimeTag {
            policy: self.options.release,
            epoch: self.options.release.epoch(now),
        }
    }

    /// The disclosure-control rule protected figures follow.
    pub fn disclosure_rule(&self) -> crate::domain::disclosure::Rule {
        self.options.disclosure
    }

    pub fn data_dir(&self) -> &Path {
        self.warehouse.root()
    }

    pub fn manifest(&self) -> Result<Manifest, AppError> {
        Ok(self.warehouse.latest()?)
    }

    /// How many share answers were computed rather than taken from a
    /// cache, since the app was opened.
    pub fn share_answers_computed(&self) -> u64 {
        self.computed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many protected tables were counted from every filing (their
    /// kept contributions could not decide them, or were not used) since
    /// the app was opened.
    pub fn disclosure_exact_counts(&self) -> u64 {
        self.exact_counts.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Runs a future to completion from synchronous code, on a runtime of its
/// own on the calling thread, also when that thread is one of the server's
/// blocking threads (the HTTP ingest): DataFusion spawns its partitions'
/// tasks on the current runtime, and the commit's joins must not take the
/// server's workers from the requests.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime starts")
        .block_on(future)
}

fn list(v: &Option<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    v.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && seen.insert(s.to_string()))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_changes_at_midnight_in_hanoi_not_in_greenwich() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(month_in_vietnam(t).to_string(), "2026-12");
        let t = DateTime::parse_from_rfc3339("2026-11-30T16:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(month_in_vietnam(t).to_string(), "2026-11");
    }

    #[test]
    fn lists_trim_and_dedupe() {
        assert_eq!(list(&Some(" 380, 381,,380 ".into())), vec!["380", "381"]);
        assert!(list(&None).is_empty());
    }
}
