//! App: the use cases shared by the CLI and the HTTP API — ingest a batch of
//! filing files (and keep the new version's rollup), answer a share query,
//! run a named query or an analyst's SQL (`queries.rs`), as of any version —
//! composed from ingest, warehouse, engine, rollup, catalog and tabular.
//!
//! Owns parameter checking, defaults (the latest 12 months with data), the
//! target in force for a row, the shape of the share and ingest reports, and
//! the caches of snapshots and answers. Knows nothing of HTTP or of the
//! command line; never touches polars or DataFusion types directly (Arrow
//! record batches pass through it between the engine and the encoders).

use crate::domain::{Cell, Dim, Figures, Period, Reference, Slice, Status};
use crate::engine::{EngineError, Limits, Snapshot};
use crate::ingest::{self, FileContext, Format, IngestError};
use crate::store::rollup::{Rollup, UnitDictionary};
use crate::store::{FileEntry, Manifest, Warehouse, WarehouseError};
use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use thiserror::Error;

mod compact;
mod disclose;
mod kept;
mod named_queries;
pub use compact::{CompactPolicy, CompactReport};
pub use named_queries::{QueryPlan, QueryStream, SqlRequest, parse_as_of};

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
    Tabular(#[from] crate::present::tabular::TabularError),
    #[error(transparent)]
    Rollup(#[from] crate::store::rollup::RollupError),
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
        }
    }

    /// The caller's input is at fault (as opposed to our storage or engine).
    pub fn is_client_error(&self) -> bool {
        match self {
            Self::BadParameter { .. } => true,
            Self::Ingest(e) => e.is_input_error(),
            Self::Warehouse(WarehouseError::Busy(_)) => false,
            Self::Engine(e) => e.is_client_error(),
            Self::Tabular(e) => matches!(e, crate::present::tabular::TabularError::TooManyRowsForExcel { .. }),
            Self::Warehouse(_) | Self::Rollup(_) => false,
        }
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

/// A file to ingest.
pub enum IngestSource {
    /// A file on disk; its format comes from the extension.
    Path(PathBuf),
    /// Bytes received (e.g. over HTTP) with a name and a format.
    Bytes {
        name: String,
        format: Option<Format>,
        bytes: Vec<u8>,
    },
    /// An upload spooled to a file, with the name and format it came with.
    Spooled {
        name: String,
        format: Option<Format>,
        path: PathBuf,
    },
}

impl IngestSource {
    fn name(&self) -> String {
        match self {
            Self::Path(p) => p.display().to_string(),
            Self::Bytes { name, .. } | Self::Spooled { name, .. } => name.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub dataset_version: u64,
    /// Whether this batch created a new dataset version (false when every file was a duplicate).
    pub committed: bool,
    pub files: Vec<FileReport>,
    pub rejections: Vec<RejectionReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub records: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicate_file: bool,
    /// For a duplicate file: the dataset version that already holds its bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of_version: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectionReport {
    pub file: String,
    pub record: u64,
    pub reason: &'static str,
    pub message: String,
}

/// Who figures are for: the full figures (admins, the command line) or the
/// figures protected by disclosure control (every other role, the public
/// dashboard, the reports).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Audience {
    #[default]
    Full,
    Protected,
}

/// Raw share-query parameters, as given on the command line or in a URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ShareParams {
    /// Set by the caller's role, never from a request's parameters.
    pub audience: Audience,
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub district: Option<String>,
    pub sector: Option<String>,
    pub vsic: Option<String>,
    /// A dataset version to answer as of, instead of the current one.
    pub as_of: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ShareResponse {
    pub from: String,
    pub to: String,
    pub by: Vec<&'static str>,
    pub dataset_version: u64,
    /// The province target in force for the `to` year.
    pub target: Option<f64>,
    pub rows: Vec<ShareRow>,
    pub total: ShareRow,
    /// The first month of the commune level ("2025-07") when the range
    /// crosses it and the figures are by district: from that month a
    /// district's figures are its former area's (the communes whose former
    /// district it is, by the majority rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series_break: Option<&'static str>,
}

/// A row of figures. A row withheld by disclosure control has
/// `suppressed: true`, its figures emptied here and written as nulls.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRow {
    /// Key and name fields of the row's dimensions (absent for the others).
    pub keys: BTreeMap<&'static str, Option<String>>,
    /// Σ weight × total revenue, exact, in VND.
    pub total_revenue_vnd: String,
    /// Σ weight × e-commerce revenue, exact, in VND.
    pub ecommerce_revenue_vnd: String,
    pub share: Option<f64>,
    pub target: Option<f64>,
    pub gap_pp: Option<f64>,
    /// E-commerce revenue still needed for the share to reach the target at
    /// the current total: max(0, target × total − e-commerce), exact, in VND;
    /// null without a target.
    pub ecommerce_needed_vnd: Option<String>,
    pub status: Status,
    pub filings: u64,
    pub units: u64,
    pub suppressed: bool,
}

impl ShareRow {
    /// Withholds the row's figures (its keys and target stay).
    fn suppress(&mut self) {
        self.total_revenue_vnd.clear();
        self.ecommerce_revenue_vnd.clear();
        self.share = None;
        self.gap_pp = None;
        self.ecommerce_needed_vnd = None;
        self.status = Status::Suppressed;
        self.filings = 0;
        self.units = 0;
        self.suppressed = true;
    }
}

impl Serialize for ShareRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in &self.keys {
            m.serialize_entry(k, v)?;
        }
        let shown = !self.suppressed;
        m.serialize_entry("total_revenue_vnd", &shown.then_some(&self.total_revenue_vnd))?;
        m.serialize_entry("ecommerce_revenue_vnd", &shown.then_some(&self.ecommerce_revenue_vnd))?;
        m.serialize_entry("share", &self.share)?;
        m.serialize_entry("target", &self.target)?;
        m.serialize_entry("gap_pp", &self.gap_pp)?;
        m.serialize_entry("ecommerce_needed_vnd", &self.ecommerce_needed_vnd)?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("filings", &shown.then_some(self.filings))?;
        m.serialize_entry("units", &shown.then_some(self.units))?;
        m.serialize_entry("suppressed", &self.suppressed)?;
        m.end()
    }
}

/// What a snapshot was built from, to know when to rebuild it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateTag {
    pub dataset_version: u64,
    pub reference: u64,
}

struct Loaded {
    tag: StateTag,
    reference: Arc<Reference>,
    snapshot: Snapshot,
    /// Answers already given on this snapshot: a dataset version never
    /// changes, so neither do its figures. Keyed by the parameters and the
    /// current month (which the default range depends on for an empty dataset).
    /// Each answer is computed once however many requests ask for it at the
    /// same time: the first computes; the others take the previous
    /// version's answer when it has one, else wait for the result.
    answers: Mutex<HashMap<(ShareParams, Period), Arc<AnswerCell>>>,
    /// The disclosure-controlled month × district × sector table analysts'
    /// SQL reads (`cells`), built on first use.
    protected_cells: tokio::sync::OnceCell<datafusion::arrow::array::RecordBatch>,
    /// Each batch of the version and the months it changed (`None`: every month).
    batch_months: Vec<(u64, Option<BTreeSet<String>>)>,
}

impl Loaded {
    /// The version whose batch last changed `month`'s effective filings (0
    /// when none did): the month's filings are the same in every version
    /// from that one to this.
    fn changed_by(&self, month: &str) -> u64 {
        self.batch_months
            .iter()
            .rev()
            .find(|(_, months)| months.as_ref().is_none_or(|m| m.contains(month)))
            .map_or(0, |(seq, _)| *seq)
    }
}

/// One share answer, computed at most once per snapshot.
#[derive(Default)]
struct AnswerCell {
    value: tokio::sync::OnceCell<Arc<ShareResponse>>,
    /// Set by the request that computes the value (cleared if it fails).
    started: std::sync::atomic::AtomicBool,
}

/// Answers kept per snapshot before the cache starts afresh.
const MAX_CACHED_ANSWERS: usize = 512;

/// Answers of the snapshot before that a new version computes before it is
/// installed (`App::ready_latest`); others are computed when asked.
const READIED_ANSWERS: usize = 64;

/// Snapshots of past versions (`as_of`) kept loaded.
const MAX_PAST_SNAPSHOTS: usize = 4;

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
            supersession_part_rows: 4_000_000,
            kept_contributions: true,
            read_rollup_whole: true,
            concurrent_commit: true,
        }
    }
}

/// The reference in force as last read: its texts, the stamps of the
/// override files when they were settled, the parsed tables and their
/// fingerprint.
struct ReferenceCache {
    texts: crate::store::ReferenceFiles,
    stamps: Option<Vec<Option<crate::store::Stamp>>>,
    reference: Arc<Reference>,
    fingerprint: u64,
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
    /// The manifest directory's settled stamp and the latest version it listed.
    version_cache: Mutex<Option<(crate::store::Stamp, u64)>>,
    catalog: crate::engine::catalog::Catalog,
    options: AppOptions,
    results: Arc<named_queries::ResultCache>,
    /// Disclosure control's kept contributions, per month (see `kept`).
    kept: Mutex<HashMap<kept::KeptKey, Arc<kept::KeptCell>>>,
}

impl App {
    pub fn open(data: impl Into<PathBuf>) -> Result<Self, AppError> {
        Self::open_with(data, AppOptions::default())
    }

    pub fn open_with(data: impl Into<PathBuf>, options: AppOptions) -> Result<Self, AppError> {
        let warehouse = Warehouse::open(data)?;
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
            options,
        })
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

    pub fn reference(&self) -> Result<Arc<Reference>, AppError> {
        Ok(self.reference_in_force()?.0)
    }

    /// The reference in force and its fingerprint, parsed again only when
    /// the texts in force changed.
    fn reference_in_force(&self) -> Result<(Arc<Reference>, u64), AppError> {
        // Unchanged settled stamps of the override files: the texts are
        // those already parsed, and no file is read.
        let stamps = self.warehouse.reference_stamps()?;
        let settled = stamps.iter().flatten().all(|s| s.settled());
        let mut cache = self.reference_cache.lock().expect("reference cache lock");
        if let Some(cached) = cache.as_ref()
            && settled
            && cached.stamps.as_ref() == Some(&stamps)
        {
            return Ok((cached.reference.clone(), cached.fingerprint));
        }
        let files = crate::store::reference_files(&self.warehouse)?;
        if let Some(cached) = cache.as_mut()
            && cached.texts == files
        {
            cached.stamps = settled.then_some(stamps);
            return Ok((cached.reference.clone(), cached.fingerprint));
        }
        let reference = Arc::new(files.parse()?);
        let fingerprint = reference_fingerprint(&reference);
        *cache = Some(ReferenceCache {
            texts: files,
            stamps: settled.then_some(stamps),
            reference: reference.clone(),
            fingerprint,
        });
        Ok((reference, fingerprint))
    }

    /// The latest dataset version, from the manifest directory's listing,
    /// listed again only when the directory's settled stamp changes.
    fn latest_version(&self) -> Result<u64, AppError> {
        let stamp = self.warehouse.manifest_stamp()?;
        let mut cache = self.version_cache.lock().expect("version cache lock");
        if let (Some((cached, version)), Some(now)) = (cache.as_ref(), stamp)
            && *cached == now
        {
            return Ok(*version);
        }
        let version = self.warehouse.latest_version()?.unwrap_or(0);
        *cache = stamp.filter(|s| s.settled()).map(|s| (s, version));
        Ok(version)
    }

    /// The latest dataset version (0 before the first commit); lists the
    /// manifest directory only.
    pub fn dataset_version(&self) -> Result<u64, AppError> {
        Ok(self.warehouse.latest_version()?.unwrap_or(0))
    }

    /// Cheap fingerprint of the data a figure depends on.
    pub fn state_tag(&self) -> Result<StateTag, AppError> {
        Ok(self.current()?.0)
    }

    /// The state tag and the reference in force. Lists the manifest
    /// directory but parses no manifest: a request that finds its snapshot
    /// cached reads only the small reference files.
    fn current(&self) -> Result<(StateTag, Arc<Reference>), AppError> {
        let (reference, fingerprint) = self.reference_in_force()?;
        let tag = StateTag {
            dataset_version: self.latest_version()?,
            reference: fingerprint,
        };
        Ok((tag, reference))
    }

    /// Ingests a batch of files as one commit. A file that cannot be read at
    /// all refuses the whole batch and changes nothing.
    pub fn ingest(&self, sources: Vec<IngestSource>) -> Result<IngestReport, AppError> {
        self.ingest_as(sources, None)
    }

    /// `ingest` on behalf of an access token: the batch records its id, and
    /// its ingest report is kept with it (`ingest_report`).
    pub fn ingest_as(
        &self,
        sources: Vec<IngestSource>,
        submitted_by: Option<String>,
    ) -> Result<IngestReport, AppError> {
        self.ingest_with(sources, &ingest::InputOptions::default(), submitted_by)
    }

    /// `ingest_as` for files written as `options` declares (encoding,
    /// delimiter, vi-VN numbers), every file of the batch alike.
    pub fn ingest_with(
        &self,
        sources: Vec<IngestSource>,
        options: &ingest::InputOptions,
        submitted_by: Option<String>,
    ) -> Result<IngestReport, AppError> {
        if sources.len() > ingest::MAX_FILES_PER_BATCH {
            return Err(AppError::bad(
                "too_many_files",
                format!("at most {} files per batch", ingest::MAX_FILES_PER_BATCH),
            ));
        }
        let reference_files = crate::store::reference_files(&self.warehouse)?;
        let reference = reference_files.parse()?;
        let now = Utc::now();
        let ingest_time_us = now.timestamp_micros();
        let mut batch = self.warehouse.begin()?;
        let mut files = Vec::new();
        let mut rejections = Vec::new();
        for (index, source) in sources.into_iter().enumerate() {
            let name = source.name();
            let (reader, format): (Box<dyn Read>, Option<Format>) = match source {
                IngestSource::Path(path) => {
                    let format = Format::from_path(&path.to_string_lossy());
                    let file = std::fs::File::open(&path).map_err(|source| IngestError::Io {
                        file: name.clone(),
                        source,
                    })?;
                    (Box::new(std::io::BufReader::with_capacity(1 << 20, file)), format)
                }
                IngestSource::Bytes { format, bytes, .. } => (Box::new(std::io::Cursor::new(bytes)), format),
                IngestSource::Spooled { format, path, .. } => {
                    let file = std::fs::File::open(&path).map_err(|source| IngestError::Io {
                        file: name.clone(),
                        source,
                    })?;
                    (Box::new(std::io::BufReader::with_capacity(1 << 20, file)), format)
                }
            };
            let format = format.ok_or_else(|| IngestError::UnsupportedFormat { file: name.clone() })?;
            let (filings_path, rejections_path) = batch.staging_paths(index);
            let ctx = FileContext {
                reference: &reference,
                current_month: month_in_vietnam(now),
                batch_seq: batch.seq(),
                file_index: index as u32,
                ingest_time_us,
                numbers: options.numbers,
            };
            let result = ingest::ingest_file(reader, format, options, &name, &ctx, &filings_path, &rejections_path)?;
            if let Some(version) = batch.duplicate_of(&result.sha256) {
                for p in [&filings_path, &rejections_path] {
                    let _ = std::fs::remove_file(p);
                }
                files.push(FileReport {
                    file: name,
                    records: result.records,
                    accepted: 0,
                    rejected: 0,
                    duplicate_file: true,
                    duplicate_of_version: Some(version),
                });
                continue;
            }
            let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
            batch.add_file(FileEntry {
                index: index as u32,
                name: name.clone(),
                sha256: result.sha256.clone(),
                records: result.records,
                accepted: result.accepted,
                rejected: result.rejected,
                filings: result.wrote_filings.then(|| file_name(&filings_path)).flatten(),
                rejections: result.wrote_rejections.then(|| file_name(&rejections_path)).flatten(),
            });
            rejections.extend(result.rejections.into_iter().map(|r| RejectionReport {
                file: name.clone(),
                record: r.record,
                reason: r.reason.code(),
                message: r.message,
            }));
            files.push(FileReport {
                file: name,
                records: result.records,
                accepted: result.accepted,
                rejected: result.rejected,
                duplicate_file: false,
                duplicate_of_version: None,
            });
        }
        let (dataset_version, committed) = if batch.is_empty() {
            (batch.base().version, false)
        } else {
            // Decide once, at commit, which earlier filings this batch supersedes.
            let (filings, superseded) = self.version_files(batch.base())?;
            let staged = batch.staged_filings();
            let started = std::time::Instant::now();
            // One run per `supersession_part_rows` filings of the batch, so
            // the commit's hash tables stay small however large the batch.
            let accepted: u64 = batch.files().iter().map(|f| f.accepted).sum();
            let parts = accepted.div_ceil(self.options.supersession_part_rows.max(1)).max(1) as u32;
            // The new version's rollup: the previous one, plus this batch's
            // filings (added on this thread while another finds the filings
            // they supersede: the two share nothing), minus those.
            let find = || {
                let losers = block_on(crate::engine::superseded_by(&filings, &superseded, &staged, parts));
                tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    parts,
                    "commit: superseded filings found"
                );
                losers
            };
            let add = || {
                self.base_rollup(batch.base()).and_then(|(mut rollup, mut units)| {
                    block_on(async {
                        add_all(&mut rollup, &mut units, crate::engine::scan_filings(&staged).await?).await
                    })?;
                    Ok((rollup, units))
                })
            };
            let (losers, added) = if self.options.concurrent_commit {
                std::thread::scope(|s| {
                    let finding = s.spawn(find);
                    let added = add();
                    match finding.join() {
                        Ok(losers) => (losers, added),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                })
            } else {
                (find(), add())
            };
            let losers = losers?;
            let (mut rollup, mut units) = added?;
            let mut ids = crate::engine::row_ids(&losers)?;
            ids.sort_unstable();
            if !ids.is_empty() {
                ingest::write_row_ids(&batch.staging_superseded_path(), &ids, batch.seq())?;
                batch.set_superseded();
            }
            for b in &losers {
                rollup.apply(b, &mut units, -1)?;
            }
            let (rollup_path, units_path) = batch.staging_rollup_paths();
            rollup.write(&rollup_path)?;
            units.write_added(&units_path)?;
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                cells = rollup.cells(),
                new_units = units.added(),
                "commit: rollup written"
            );
            batch.set_rollup();
            batch.set_periods(rollup.touched_periods());
            batch.record_reference(&reference_files)?;
            let kept = IngestReport {
                dataset_version: batch.seq(),
                committed: true,
                files: files.clone(),
                rejections: rejections.clone(),
            };
            let json = serde_json::to_vec(&kept).expect("an ingest report serializes");
            batch.record_report(&json, submitted_by)?;
            let committed_at = now.to_rfc3339_opts(SecondsFormat::Micros, true);
            let manifest = batch.commit(&committed_at, ingest_time_us)?;
            (manifest.version, true)
        };
        Ok(IngestReport {
            dataset_version,
            committed,
            files,
            rejections,
        })
    }

    /// The batches committed so far, newest first: version, time, submitter
    /// and per-file counts — those of `submitted_by` only, when given.
    pub fn ingests(&self, submitted_by: Option<&str>) -> Result<Vec<serde_json::Value>, AppError> {
        let manifest = self.manifest()?;
        Ok(manifest
            .batches
            .iter()
            .rev()
            .filter(|b| submitted_by.is_none_or(|id| b.submitted_by.as_deref() == Some(id)))
            .map(|b| {
                serde_json::json!({
                    "dataset_version": b.seq,
                    "committed_at": b.committed_at,
                    "submitted_by": b.submitted_by,
                    "report": b.report.as_ref().map(|_| format!("/api/v1/ingests/{}", b.seq)),
                    "files": b.files.iter().map(|f| serde_json::json!({
                        "file": f.name, "records": f.records, "accepted": f.accepted, "rejected": f.rejected,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect())
    }

    /// The kept ingest report of the batch that made `version`, with who
    /// submitted it; `None` when there is no such batch or it kept none.
    pub fn ingest_report(&self, version: u64) -> Result<Option<(serde_json::Value, Option<String>)>, AppError> {
        let manifest = self.manifest()?;
        let Some(batch) = manifest.batches.iter().find(|b| b.seq == version) else {
            return Ok(None);
        };
        let Some(path) = &batch.report else {
            return Ok(None);
        };
        let full = self.warehouse.path_of(path);
        let io = |source| WarehouseError::Io {
            path: full.clone(),
            source,
        };
        let bytes = std::fs::read(&full).map_err(io)?;
        let report =
            serde_json::from_slice(&bytes).map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        Ok(Some((report, batch.submitted_by.clone())))
    }

    /// The rollup of `manifest`'s version and its unit dictionary, to build
    /// the next version's on: read from its files, or — for a version
    /// committed before rollups — computed from its effective filings.
    fn base_rollup(&self, manifest: &Manifest) -> Result<(Rollup, UnitDictionary), AppError> {
        let units: Vec<PathBuf> = manifest.units_files().map(|p| self.warehouse.path_of(p)).collect();
        if let Some(path) = manifest.rollup_file() {
            return Ok((
                Rollup::read(&self.warehouse.path_of(path))?,
                UnitDictionary::read(&units)?,
            ));
        }
        let (mut rollup, mut dictionary) = (Rollup::default(), UnitDictionary::default());
        if manifest.version > 0 {
            tracing::info!(
                version = manifest.version,
                "building the rollup of a version from before rollups"
            );
            let (filings, superseded) = self.version_files(manifest)?;
            block_on(async {
                let rows = crate::engine::scan_effective(&filings, &superseded).await?;
                add_all(&mut rollup, &mut dictionary, rows).await
            })?;
        }
        Ok((rollup, dictionary))
    }

    /// Absolute paths of the files to read for a version's filings and
    /// superseded row ids: its batches' own, or the compacted segments
    /// that stand for runs of them (the same rows).
    fn version_files(&self, manifest: &Manifest) -> Result<(Vec<PathBuf>, Vec<PathBuf>), AppError> {
        let index = self.warehouse.segments()?;
        let (filings, superseded) = crate::store::version_files(manifest, &index);
        let absolute = |v: Vec<String>| v.iter().map(|p| self.warehouse.path_of(p)).collect();
        Ok((absolute(filings), absolute(superseded)))
    }

    /// The latest version's snapshot, waiting for a load in progress.
    async fn load(&self) -> Result<Arc<Loaded>, AppError> {
        Ok(self.load_with(true).await?.0)
    }

    /// The latest version's snapshot. Without `wait`, when the snapshot
    /// installed is of an earlier dataset version, that one (its answers
    /// name their version; `App::share_without_waiting` starts readying the
    /// latest). A new reference alone is always waited for: an answer of
    /// the same version under the old reference would say nothing of it.
    /// Also says whether the snapshot is of the state read when asked
    /// (false: the one before).
    async fn load_with(&self, wait: bool) -> Result<(Arc<Loaded>, bool), AppError> {
        let (tag, _) = self.current()?;
        let installed = self.loaded.lock().expect("cache lock").clone();
        match installed {
            Some(l) if l.tag == tag => Ok((l, true)),
            Some(before) if !wait && before.tag.dataset_version != tag.dataset_version => Ok((before, false)),
            _ => Ok((self.ready_latest().await?, true)),
        }
    }

    /// Makes `loaded` the current snapshot; the one it replaces stands in
    /// while its answers are computed.
    fn install(&self, loaded: Arc<Loaded>) {
        let before = self.loaded.lock().expect("cache lock").replace(loaded);
        *self.previous.lock().expect("cache lock") = before;
        // Results of the previous current version answer no more requests.
        self.results.retain_as_of();
    }

    /// Loads the latest version and readies it before any request reads
    /// it, then installs it. A server does this after a commit of its own
    /// (so that the committer's next answers are the new version's), and in
    /// the background when the share API first sees a version committed
    /// elsewhere. Meanwhile the share API answers from the snapshot before
    /// (its answers name their version) and callers that must have the
    /// latest version wait. Returns the version.
    pub async fn publish_latest(&self) -> Result<u64, AppError> {
        Ok(self.ready_latest().await?.tag.dataset_version)
    }

    /// [`App::publish_latest`], returning the snapshot. Readying is
    /// disclosure control's contributions of the months the version's last
    /// batch changed, and the answers the snapshot it replaces had given
    /// (the dashboard's), at most [`READIED_ANSWERS`]: so no request waits
    /// seconds for a new version's first answers.
    async fn ready_latest(&self) -> Result<Arc<Loaded>, AppError> {
        let _loading = self.loading.lock().await;
        let (tag, reference) = self.current()?;
        let installed = self.loaded.lock().expect("cache lock").clone();
        if let Some(l) = installed.as_ref().filter(|l| l.tag == tag) {
            return Ok(l.clone());
        }
        let loaded = self.load_version(tag, reference).await?;
        if let Err(e) = self.keep_contributions_of(&loaded, false).await {
            // Counted when a protected answer first needs them, then.
            tracing::warn!(error = %e, "counting a new version's contributions failed");
        }
        // Answers are keyed by the month they were asked in (the default
        // range depends on it): those of an earlier month are asked no more.
        let month = month_in_vietnam(Utc::now());
        let given: Vec<(ShareParams, Period)> = match &installed {
            Some(before) => {
                let answers = before.answers.lock().expect("answers lock");
                answers
                    .iter()
                    .filter(|(key, cell)| key.1 == month && cell.value.initialized())
                    .map(|(key, _)| key.clone())
                    .take(READIED_ANSWERS)
                    .collect()
            }
            None => Vec::new(),
        };
        let mut readied = 0;
        for key in given {
            // A failure here is the request's to report, when it asks.
            if let Ok(answer) = self.compute_share(&key.0, &loaded, false).await {
                let cell = AnswerCell {
                    value: tokio::sync::OnceCell::new_with(Some(Arc::new(answer))),
                    started: std::sync::atomic::AtomicBool::new(true),
                };
                loaded.answers.lock().expect("answers lock").insert(key, Arc::new(cell));
                readied += 1;
            }
        }
        tracing::debug!(
            version = tag.dataset_version,
            answers = readied,
            "a new version readied"
        );
        self.install(loaded.clone());
        Ok(loaded)
    }

    async fn load_version(&self, tag: StateTag, reference: Arc<Reference>) -> Result<Arc<Loaded>, AppError> {
        let manifest = match tag.dataset_version {
            0 => Manifest::empty(),
            version => self.warehouse.manifest(version)?,
        };
        let (files, superseded) = self.version_files(&manifest)?;
        let rollup = match manifest.rollup_file() {
            // Reading a large rollup takes a CPU for a while: not on a
            // thread that serves requests.
            Some(path) => {
                let path = self.warehouse.path_of(path);
                let whole = self.options.read_rollup_whole;
                let read = tokio::task::spawn_blocking(move || {
                    let rollup = Rollup::read(&path)?;
                    if whole {
                        rollup.load_all()?;
                    }
                    Ok::<_, crate::store::rollup::RollupError>(rollup)
                });
                Some(Arc::new(read.await.map_err(|e| {
                    AppError::Engine(EngineError::Shape(format!("reading the rollup failed: {e}")))
                })??))
            }
            None => None,
        };
        let snapshot = Snapshot::load(&files, &superseded, reference.clone(), self.options.limits, rollup).await?;
        Ok(Arc::new(Loaded {
            tag,
            reference,
            snapshot,
            answers: Mutex::new(HashMap::new()),
            protected_cells: tokio::sync::OnceCell::new(),
            batch_months: manifest
                .batches
                .iter()
                .map(|b| (b.seq, b.periods.as_ref().map(|p| p.iter().cloned().collect())))
                .collect(),
        }))
    }

    /// The snapshot of `as_of` (a version of this warehouse, read with the
    /// reference tables kept with it), or of the current version with the
    /// reference in force when `None`.
    async fn load_at(&self, as_of: Option<u64>) -> Result<Arc<Loaded>, AppError> {
        let (tag, current_reference) = self.current()?;
        let version = match as_of {
            None => return self.load().await,
            Some(v) if v > tag.dataset_version => {
                return Err(AppError::bad(
                    "unknown_version",
                    format!("as_of={v}: the warehouse is at version {}", tag.dataset_version),
                ));
            }
            Some(v) => v,
        };
        let recorded = match version {
            0 => None,
            v => self.warehouse.manifest(v)?.reference_file().map(str::to_string),
        };
        let reference = match recorded {
            Some(path) => Arc::new(crate::store::recorded_reference(&self.warehouse, &path)?),
            None => current_reference,
        };
        let tag = StateTag {
            dataset_version: version,
            reference: reference_fingerprint(&reference),
        };
        if let Some(hit) = self.past.lock().expect("past lock").iter().find(|l| l.tag == tag) {
            return Ok(hit.clone());
        }
        let loaded = self.load_version(tag, reference).await?;
        let mut past = self.past.lock().expect("past lock");
        if past.len() >= MAX_PAST_SNAPSHOTS {
            past.remove(0);
        }
        past.push(loaded.clone());
        Ok(loaded)
    }

    /// Answers a share query: the figures of every group, the total, their
    /// targets and standing, of the latest version (or `as_of`).
    pub async fn share(&self, params: &ShareParams) -> Result<ShareResponse, AppError> {
        Ok(self.share_with(params, true).await?.0)
    }

    /// [`App::share`] for a caller that takes one answer on its own (the
    /// share API): while another request loads the latest version, or
    /// computes this answer for it, the answer of the version before is
    /// given rather than waited for. Its `dataset_version` says which
    /// version it is. Never for `as_of`; never for callers that combine
    /// several answers (pages, charts, reports), which must agree.
    ///
    /// Also says whether the answer is the latest state's (dataset version
    /// and reference, as [`App::state_tag`] gave them when asked; always for
    /// `as_of`): only such an answer may be kept under that state's ETag.
    pub async fn share_without_waiting(
        self: &Arc<Self>,
        params: &ShareParams,
    ) -> Result<(ShareResponse, bool), AppError> {
        let answer = self.share_with(params, params.as_of.is_some()).await?;
        if !answer.1 && !self.readying.swap(true, std::sync::atomic::Ordering::AcqRel) {
            // A version not installed yet: ready it in the background.
            let app = self.clone();
            tokio::spawn(async move {
                if let Err(e) = app.publish_latest().await {
                    tracing::warn!(error = %e, "readying the latest version failed");
                }
                app.readying.store(false, std::sync::atomic::Ordering::Release);
            });
        }
        Ok(answer)
    }

    async fn share_with(&self, params: &ShareParams, wait: bool) -> Result<(ShareResponse, bool), AppError> {
        let (loaded, latest) = match parse_as_of(params.as_of.as_deref())? {
            None => self.load_with(wait).await?,
            as_of => (self.load_at(as_of).await?, true),
        };
        let key = (params.clone(), month_in_vietnam(Utc::now()));
        let cell = {
            let mut answers = loaded.answers.lock().expect("answers lock");
            if answers.len() >= MAX_CACHED_ANSWERS && !answers.contains_key(&key) {
                answers.clear();
            }
            answers.entry(key.clone()).or_default().clone()
        };
        if let Some(response) = cell.value.get() {
            return Ok((ShareResponse::clone(response), latest));
        }
        let first = !cell.started.swap(true, std::sync::atomic::Ordering::AcqRel);
        if !first
            && !wait
            && let Some(response) = self.previous_answer(&loaded, &key)
        {
            // Another request computes this answer for a new version:
            // meanwhile the version before answers (its figures say which
            // version they are), rather than keep this request waiting.
            return Ok((response, false));
        }
        let response = cell
            .value
            .get_or_try_init(|| async { self.compute_share(params, &loaded, false).await.map(Arc::new) })
            .await;
        match response {
            Ok(response) => Ok((ShareResponse::clone(response), latest)),
            Err(e) => {
                cell.started.store(false, std::sync::atomic::Ordering::Release);
                Err(e)
            }
        }
    }

    /// `share` without the per-version cache of answers: always runs the
    /// engine (benchmarks of the query itself use it).
    pub async fn share_uncached(&self, params: &ShareParams) -> Result<ShareResponse, AppError> {
        let loaded = self.load_at(parse_as_of(params.as_of.as_deref())?).await?;
        self.compute_share(params, &loaded, false).await
    }

    /// `share_uncached` from a scan of the raw filings, bypassing the
    /// version's rollup: tests and benchmarks compare the two paths.
    pub async fn share_from_filings(&self, params: &ShareParams) -> Result<ShareResponse, AppError> {
        let loaded = self.load_at(parse_as_of(params.as_of.as_deref())?).await?;
        self.compute_share(params, &loaded, true).await
    }

    /// Whether the current version has a rollup.
    pub async fn has_rollup(&self) -> Result<bool, AppError> {
        Ok(self.load().await?.snapshot.has_rollup())
    }

    /// The answer for `key` of the version loaded before `current`, if it
    /// was computed and is of another dataset version (an answer of the
    /// same version under the reference before would not say so).
    fn previous_answer(&self, current: &Loaded, key: &(ShareParams, Period)) -> Option<ShareResponse> {
        let previous = self.previous.lock().expect("cache lock").clone()?;
        if previous.tag.dataset_version == current.tag.dataset_version {
            return None;
        }
        let answers = previous.answers.lock().expect("answers lock");
        answers
            .get(key)
            .and_then(|c| c.value.get())
            .map(|r| ShareResponse::clone(r))
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

    async fn compute_share(&self, params: &ShareParams, loaded: &Loaded, raw: bool) -> Result<ShareResponse, AppError> {
        self.computed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reference = &loaded.reference;
        let slice = self.resolve(params, loaded).await?;
        let crate::engine::Breakdown {
            cells,
            total: total_cell,
        } = if raw {
            loaded.snapshot.breakdown_raw(&slice).await?
        } else {
            loaded.snapshot.breakdown(&slice).await?
        };
        let to_year = slice.to.year();
        let single_district = (slice.districts.len() == 1).then(|| slice.districts[0].as_str());
        let district_pos = slice.by.iter().position(|d| *d == Dim::District);
        let cells = match district_pos {
            Some(pos) => fill_districts(cells, pos, slice.by.len(), reference, &slice),
            None => cells,
        };
        let rows = cells
            .iter()
            .map(|cell| {
                let district = district_pos.and_then(|p| cell.keys[p].as_deref()).or(single_district);
                let target = reference.target_for(to_year, district);
                share_row(&slice.by, &cell.keys, &cell.figures, target, reference)
            })
            .collect();
        let total = share_row(
            &[],
            &[],
            &total_cell,
            reference.target_for(to_year, single_district),
            reference,
        );
        let mut response = ShareResponse {
            from: slice.from.to_string(),
            to: slice.to.to_string(),
            by: slice.by.iter().map(|d| d.name()).collect(),
            dataset_version: loaded.tag.dataset_version,
            target: reference.target_for(to_year, None).map(|t| t.share()),
            rows,
            total,
            series_break: crosses_reform(&slice).then_some(crate::domain::reference::REFORM_TEXT),
        };
        if params.audience == Audience::Protected {
            let dims = disclose::totals_dims(&slice.by);
            let counted = Slice {
                by: dims.clone(),
                ..slice.clone()
            };
            let rule = &self.options.disclosure;
            let decided = self.options.kept_contributions
                && disclose::protect(
                    &mut response,
                    &slice.by,
                    &dims,
                    &self.kept_parts(loaded, &counted).await?,
                    rule,
                );
            if !decided {
                let exact = self.exact_parts(loaded, &counted).await?;
                disclose::protect(&mut response, &slice.by, &dims, &exact, rule);
            }
        }
        Ok(response)
    }

    async fn resolve(&self, p: &ShareParams, loaded: &Loaded) -> Result<Slice, AppError> {
        let reference = &loaded.reference;
        let period = |name: &str, v: &Option<String>| -> Result<Option<Period>, AppError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => Period::parse(s).map(Some).ok_or_else(|| {
                    AppError::bad("invalid_period", format!("{name}={s:?} is not a month written YYYY-MM"))
                }),
            }
        };
        let from = period("from", &p.from)?;
        let to = period("to", &p.to)?;
        let latest = match to {
            Some(t) => t,
            None => match loaded.snapshot.period_range().await? {
                Some((_, hi)) => hi,
                None => month_in_vietnam(Utc::now()),
            },
        };
        let to = to.unwrap_or(latest);
        let from = match from {
            Some(f) => f,
            None => to.add_months(-11).unwrap_or(to),
        };
        if from > to {
            return Err(AppError::bad("invalid_range", format!("from={from} is after to={to}")));
        }
        let mut by = Vec::new();
        for name in list(&p.by) {
            let dim = Dim::parse(&name).ok_or_else(|| {
                AppError::bad(
                    "invalid_dimension",
                    format!(
                        "by={name:?} is not a dimension; use a comma list of {}",
                        Dim::ALL.map(|d| d.name()).join(", ")
                    ),
                )
            })?;
            if !by.contains(&dim) {
                by.push(dim);
            }
        }
        let codes = |values: Vec<String>, known: &dyn Fn(&str) -> bool, code: &'static str, what: &str| match values
            .iter()
            .find(|v| !known(v))
        {
            Some(bad) => Err(AppError::bad(code, format!("{bad:?} is not a known {what}"))),
            None => Ok(values),
        };
        if by.contains(&Dim::Commune) && from < crate::domain::reference::REFORM {
            return Err(AppError::bad(
                "invalid_range",
                format!(
                    "by=commune needs from={} or later: communes replaced districts on 1 July 2025 (from={from})",
                    crate::domain::reference::REFORM
                ),
            ));
        }
        Ok(Slice {
            from,
            to,
            by,
            districts: codes(
                list(&p.district),
                &|c| reference.district(c).is_some(),
                "unknown_district",
                "district code",
            )?,
            sectors: codes(
                list(&p.sector),
                &|c| reference.sector(c).is_some(),
                "unknown_sector",
                "sector group code",
            )?,
            vsic: codes(
                list(&p.vsic),
                &|c| reference.vsic(c).is_some(),
                "unknown_vsic",
                "VSIC code",
            )?,
        })
    }
}

/// Adds every filing `scan` yields to `rollup`, then gives the units met
/// for the first time their final positions.
async fn add_all(
    rollup: &mut Rollup,
    units: &mut UnitDictionary,
    mut rows: crate::engine::Rows,
) -> Result<(), AppError> {
    while let Some(b) = rows.next().await {
        rollup.apply(&b?, units, 1)?;
    }
    rollup.settle_units(units)?;
    Ok(())
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

fn reference_fingerprint(r: &Reference) -> u64 {
    let mut h = DefaultHasher::new();
    for d in &r.districts {
        (
            &d.district_code,
            &d.district_name,
            &d.name_en,
            &d.valid_from,
            &d.valid_to,
        )
            .hash(&mut h);
        (d.lat.to_bits(), d.lon.to_bits()).hash(&mut h);
    }
    for s in &r.sectors {
        (&s.group_code, &s.group_name, &s.name_en).hash(&mut h);
    }
    for v in &r.vsic {
        (&v.vsic_code, &v.group_code, &v.vsic_name).hash(&mut h);
    }
    for t in &r.targets {
        (t.year, &t.scope, t.numerator, t.denominator).hash(&mut h);
    }
    h.finish()
}

/// Whether a slice's figures are by district (broken down or filtered)
/// over months on both sides of the 2025 reform.
fn crosses_reform(slice: &Slice) -> bool {
    let reform = crate::domain::reference::REFORM;
    slice.from < reform && slice.to >= reform && (slice.by.contains(&Dim::District) || !slice.districts.is_empty())
}

/// Adds a no-data cell for every district (of the filter, or of the
/// reference: those whose area existed in the slice's months) missing from
/// each combination of the other keys.
fn fill_districts(cells: Vec<Cell>, pos: usize, width: usize, reference: &Reference, slice: &Slice) -> Vec<Cell> {
    let districts: Vec<&str> = if slice.districts.is_empty() {
        reference
            .districts
            .iter()
            .filter(|d| reference.district_area_in(&d.district_code, slice.from, slice.to))
            .map(|d| d.district_code.as_str())
            .collect()
    } else {
        slice.districts.iter().map(String::as_str).collect()
    };
    let others = |keys: &[Option<String>]| -> Vec<Option<String>> {
        keys.iter()
            .enumerate()
            .filter(|(i, _)| *i != pos)
            .map(|(_, k)| k.clone())
            .collect()
    };
    let mut combos: BTreeSet<Vec<Option<String>>> = cells.iter().map(|c| others(&c.keys)).collect();
    if width == 1 {
        combos.insert(Vec::new());
    }
    let present: HashSet<Vec<Option<String>>> = cells.iter().map(|c| c.keys.clone()).collect();
    let mut out = cells;
    for combo in &combos {
        for d in &districts {
            let mut keys = combo.clone();
            keys.insert(pos, Some(d.to_string()));
            if !present.contains(&keys) {
                out.push(Cell {
                    keys,
                    figures: Figures::default(),
                });
            }
        }
    }
    out.sort_by(|a, b| a.keys.cmp(&b.keys));
    out
}

fn share_row(
    by: &[Dim],
    keys: &[Option<String>],
    f: &Figures,
    target: Option<&crate::domain::Target>,
    reference: &Reference,
) -> ShareRow {
    let mut map = BTreeMap::new();
    for (dim, key) in by.iter().zip(keys) {
        map.insert(dim.key_field(), key.clone());
        if let Some(name_field) = dim.name_field() {
            let name = key.as_deref().and_then(|k| match dim {
                Dim::District => reference.district(k).map(|d| d.district_name.clone()),
                Dim::Commune => reference.commune(k).map(|c| c.commune_name.clone()),
                Dim::Sector => reference.sector(k).map(|s| s.group_name.clone()),
                Dim::Vsic => reference.vsic(k).map(|v| v.vsic_name.clone()),
                _ => None,
            });
            map.insert(name_field, name);
        }
    }
    ShareRow {
        keys: map,
        total_revenue_vnd: f.total.to_string(),
        ecommerce_revenue_vnd: f.ecommerce.to_string(),
        share: f.share(),
        target: target.map(|t| t.share()),
        gap_pp: f.gap_pp(target),
        ecommerce_needed_vnd: f.ecommerce_needed(target).map(|v| v.to_string()),
        status: f.status(target),
        filings: f.filings,
        units: f.units,
        suppressed: false,
    }
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

    /// Regression (issue 8): after a commit at 100M filings every
    /// connection stalled for seconds while the new version was loaded and
    /// its answers computed. While one request loads it, or computes an
    /// answer for it, the others take the version before's answer.
    #[test]
    fn while_a_new_version_is_loaded_or_answered_the_others_take_the_version_before() {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
        let ingest = |units: std::ops::Range<u32>| {
            let mut text =
                String::from("unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd\n");
            for n in units {
                let unit = crate::domain::unit_id::complete_tax_code(&format!("28{n:07}")).unwrap_or_default();
                if !unit.is_empty() {
                    text.push_str(&format!("{unit},380,4711,2025-01,1000,100\n"));
                }
            }
            let report = app
                .ingest(vec![IngestSource::Bytes {
                    name: "f.csv".into(),
                    format: Some(Format::Csv),
                    bytes: text.into_bytes(),
                }])
                .unwrap();
            assert!(report.committed);
        };
        let params = ShareParams {
            from: Some("2025-01".into()),
            to: Some("2025-01".into()),
            by: Some("district".into()),
            ..ShareParams::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let version = |app: &Arc<App>| {
            let answer = rt.block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(10), app.share_without_waiting(&params)).await
            });
            let (answer, latest) = answer.expect("answered without waiting").unwrap();
            assert_eq!(latest, answer.dataset_version == app.dataset_version().unwrap());
            answer.dataset_version
        };
        ingest(0..20);
        assert_eq!(version(&app), 1);

        // Version 2 committed; another request is loading and readying it.
        ingest(20..40);
        let loading = app.loading.try_lock().unwrap();
        assert_eq!(version(&app), 1, "the version before, while another request readies");
        let strict = rt
            .block_on(async { tokio::time::timeout(std::time::Duration::from_millis(300), app.share(&params)).await });
        assert!(strict.is_err(), "App::share waits for the new version");
        drop(loading);
        // The share API never loads a version itself: it readies it in the
        // background, answering from the version before meanwhile.
        let mut seen = Vec::new();
        for _ in 0..200 {
            seen.push(version(&app));
            if seen.last() == Some(&2) {
                break;
            }
            rt.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(10)).await });
        }
        assert_eq!(seen.last(), Some(&2), "then the new version");
        assert!(seen.iter().all(|v| [1, 2].contains(v)));

        // Version 3 installed; another request is computing this answer.
        ingest(40..60);
        assert_eq!(rt.block_on(app.publish_latest()).unwrap(), 3);
        let loaded = app.loaded.lock().unwrap().clone().unwrap();
        let key = (params.clone(), month_in_vietnam(Utc::now()));
        let cell = Arc::new(AnswerCell::default());
        loaded.answers.lock().unwrap().insert(key, cell.clone());
        cell.started.store(true, std::sync::atomic::Ordering::Release);
        assert_eq!(version(&app), 2, "the version before, while another request computes");
        assert_eq!(
            rt.block_on(app.share(&params)).unwrap().dataset_version,
            3,
            "App::share never"
        );
        cell.started.store(false, std::sync::atomic::Ordering::Release);
        assert_eq!(version(&app), 3, "then the new version's own answer");
        // Asked as of a version, an answer is never another version's.
        let as_of = ShareParams {
            as_of: Some("1".into()),
            ..params.clone()
        };
        let (answer, latest) = rt.block_on(app.share_without_waiting(&as_of)).unwrap();
        assert_eq!((answer.dataset_version, latest), (1, true));
    }

    /// Regression (issue 8): while a month was uploaded at 100M filings,
    /// the first request for each dashboard answer of the new version
    /// waited 3–5 s (the month's contributions, then the answer, computed on
    /// request), and wrk's p99.9 was 3.5 s. A version is now readied before
    /// it is installed.
    #[test]
    fn a_published_version_has_its_answers_and_contributions_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let app = Arc::new(App::open(dir.path().join("data")).unwrap());
        let ingest = |month: &str, units: std::ops::Range<u32>| {
            let mut text =
                String::from("unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd\n");
            for n in units {
                let unit = crate::domain::unit_id::complete_tax_code(&format!("28{n:07}")).unwrap_or_default();
                if !unit.is_empty() {
                    let district = 380 + n % 3;
                    text.push_str(&format!("{unit},{district},4711,{month},{},{}\n", 1000 + n, 10 * n));
                }
            }
            let report = app
                .ingest(vec![IngestSource::Bytes {
                    name: format!("{month}.csv"),
                    format: Some(Format::Csv),
                    bytes: text.into_bytes(),
                }])
                .unwrap();
            assert!(report.committed);
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let asked: Vec<ShareParams> = [Audience::Full, Audience::Protected]
            .into_iter()
            .flat_map(|audience| {
                [None, Some("district"), Some("period")].map(|by| ShareParams {
                    audience,
                    from: Some("2025-01".into()),
                    to: Some("2025-02".into()),
                    by: by.map(str::to_string),
                    ..ShareParams::default()
                })
            })
            .collect();
        let k = crate::domain::disclosure::kept_per_cell(&app.options.disclosure);
        let kept = |month: &str, version: u64| {
            let cell = app.kept.lock().unwrap().get(&(month.to_string(), version, k)).cloned();
            cell.is_some_and(|cell| cell.initialized())
        };
        ingest("2025-01", 0..40);
        assert_eq!(rt.block_on(app.publish_latest()).unwrap(), 1);
        assert!(
            kept("2025-01", 1),
            "the month the batch changed has its contributions kept"
        );
        for params in &asked {
            assert_eq!(
                rt.block_on(app.share_without_waiting(params))
                    .unwrap()
                    .0
                    .dataset_version,
                1
            );
        }

        ingest("2025-02", 0..40);
        assert_eq!(rt.block_on(app.publish_latest()).unwrap(), 2);
        assert!(kept("2025-02", 2));
        // Every answer the version before had given is the new version's
        // already, and equals the answer computed afresh.
        let computed = app.share_answers_computed();
        for params in &asked {
            let (answer, latest) = rt.block_on(app.share_without_waiting(params)).unwrap();
            assert!(latest);
            assert_eq!(answer.dataset_version, 2);
            let fresh = rt.block_on(app.share_uncached(params)).unwrap();
            assert_eq!(
                serde_json::to_value(&answer).unwrap(),
                serde_json::to_value(&fresh).unwrap()
            );
        }
        assert_eq!(
            app.share_answers_computed(),
            computed + asked.len() as u64,
            "only the fresh answers were computed"
        );
        assert_eq!(
            rt.block_on(app.publish_latest()).unwrap(),
            2,
            "publishing again changes nothing"
        );
    }

    #[test]
    fn lists_trim_and_dedupe() {
        assert_eq!(list(&Some(" 380, 381,,380 ".into())), vec!["380", "381"]);
        assert!(list(&None).is_empty());
    }
}
