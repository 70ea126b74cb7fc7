//! Warehouse: the data directory, its versions and the atomic commit of a
//! batch.
//!
//! Layout of a data directory:
//!
//! ```text
//! DATA/.lock                        held by a committer while it writes
//! DATA/_delta_log/…0007.json        the commit of dataset version 7 (Delta Lake, see delta.rs)
//! DATA/batches/00000007/...         Parquet files of the batch committed as version 7
//! DATA/staging/...                  a batch being written (never read)
//! DATA/segments/index.json          compacted runs of small batches (see segments.rs)
//! DATA/segments/00000003-00000009/  one segment's merged files
//! DATA/reference/*.csv              optional overrides of the compiled-in reference
//! DATA/format.json                  the directory's format version (see format.rs)
//! ```
//!
//! A batch is written under `staging/`, moved to `batches/` and becomes
//! visible only when its Delta log entry is put in place (only if absent):
//! that is the commit. A version's [`Manifest`] is the fold of the batches
//! the log's entries up to it name; readers read only files it lists, which
//! never change. Owns file layout, locking and recovery; knows nothing of
//! polars, DataFusion or HTTP, and never looks inside a Parquet file.

pub mod backup;
pub mod contributions;
mod delta;
pub mod format;
mod manifest;
pub mod migrate;
mod reference_files;
pub mod rollup;
mod segments;

pub use manifest::{BatchEntry, FileEntry, Manifest};
pub use reference_files::{ReferenceFiles, builtin_reference, recorded_reference, reference_files};
pub use segments::{Compaction, Segment, SegmentIndex, SegmentPaths, version_files};

use crate::util::fault::point as fault_point;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WarehouseError {
    #[error("data directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("manifest {path} is unreadable: {message}")]
    CorruptManifest { path: PathBuf, message: String },
    #[error("the Delta log at {path}: {message}")]
    Log { path: PathBuf, message: String },
    #[error("another process committed dataset version {version} first")]
    Conflict { version: u64 },
    #[error("another ingest has held the data directory lock for more than {0:?}")]
    Busy(Duration),
    #[error("the data directory has reached its last dataset version ({MAX_VERSION})")]
    VersionLimit,
    #[error("reference data: {0}")]
    Reference(#[from] crate::domain::ReferenceError),
    #[error(
        "the data directory {path} is in format {found}, written by a newer ecomshare; this binary \
         (ecomshare {}) reads formats up to {supported}: use a newer ecomshare",
        env!("CARGO_PKG_VERSION")
    )]
    NewerFormat { path: PathBuf, found: u32, supported: u32 },
}

impl WarehouseError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io { .. } => "storage_error",
            Self::CorruptManifest { .. } => "corrupt_manifest",
            Self::Log { .. } => "storage_error",
            Self::Conflict { .. } => "commit_conflict",
            Self::Busy(_) => "busy",
            Self::VersionLimit => "version_limit",
            Self::Reference(_) => "invalid_reference",
            Self::NewerFormat { .. } => "data_format_too_new",
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> WarehouseError + '_ {
    move |source| WarehouseError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The last dataset version: row ids hold batch numbers up to 2^23 − 1.
pub const MAX_VERSION: u64 = crate::domain::provenance::MAX_BATCH;

/// How long a committer waits for another one before giving up.
pub const LOCK_WAIT: Duration = Duration::from_secs(600);

/// What a file's or directory's metadata says of its content: inode, size
/// and change times. Equal stamps mean unchanged content, except within the
/// file system's time resolution of a change; [`Stamp::settled`] tells
/// whether that window has passed, so a caller trusts only settled stamps
/// (as git does with its index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    ino: u64,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    /// The stamp of `path`; `None` when it does not exist.
    pub fn of(path: &Path) -> Result<Option<Self>, WarehouseError> {
        use std::os::unix::fs::MetadataExt;
        match fs::metadata(path) {
            Ok(m) => Ok(Some(Self {
                ino: m.ino(),
                len: m.len(),
                mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
                ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// Whether the last change is more than 2 s old: a later change then
    /// moves the times even on a file system that keeps whole seconds.
    pub fn settled(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        now - self.mtime_ns.max(self.ctime_ns) > 2_000_000_000
    }
}

#[derive(Debug, Clone)]
pub struct Warehouse {
    root: PathBuf,
    /// The batches of versions 1, 2, … read from the log so far (a
    /// committed entry never changes).
    batches: Arc<Mutex<Vec<BatchEntry>>>,
}

impl Warehouse {
    /// Opens (creating if needed) a data directory: refuses one of a newer
    /// format than this binary's, upgrades an older one (see `format`),
    /// and cleans up what an interrupted commit left behind when no commit
    /// is running. Every command and the server open it here.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, WarehouseError> {
        let w = Self {
            root: root.into(),
            batches: Arc::default(),
        };
        let found = format::read(&w.root)?;
        if let Some(found) = found {
            format::check(&w.root, found)?;
        }
        let new = format::is_new(&w.root)?;
        for dir in [w.root.join("batches"), w.root.join("staging")] {
            fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        if found != Some(format::CURRENT) {
            w.upgrade(new)?;
        }
        // A restored empty backup has no log yet.
        delta::create(&w.root)?;
        let lock = w.lock_file()?;
        if lock.try_lock().is_ok() {
            w.recover()?;
        }
        Ok(w)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where format 3 kept its manifests (`format` upgrades them to the log).
    fn manifest_dir(&self) -> PathBuf {
        self.root.join("manifest")
    }

    fn lock_file(&self) -> Result<File, WarehouseError> {
        lock_file_at(&self.root)
    }

    /// The commit lock, waiting up to `LOCK_WAIT` for a committer.
    fn lock_waiting(&self) -> Result<File, WarehouseError> {
        Self::lock_waiting_at(&self.root)
    }

    /// The commit lock of the data directory at `root`, opened or not.
    fn lock_waiting_at(root: &Path) -> Result<File, WarehouseError> {
        let lock = lock_file_at(root)?;
        let started = Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => return Ok(lock),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(WarehouseError::Busy(LOCK_WAIT)),
                Err(std::fs::TryLockError::Error(e)) => return Err(io(root)(e)),
            }
        }
    }

    /// The latest committed version (version 0, empty, before any commit).
    pub fn latest(&self) -> Result<Manifest, WarehouseError> {
        match self.latest_version()? {
            None => Ok(Manifest::empty()),
            Some(v) => self.manifest(v),
        }
    }

    /// The manifest of one committed version: the batches of the log's
    /// entries 1 to `version`.
    pub fn manifest(&self, version: u64) -> Result<Manifest, WarehouseError> {
        let mut known = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        while (known.len() as u64) < version {
            let next = known.len() as u64 + 1;
            known.push(delta::batch(&self.root, next)?);
        }
        let batches = known[..version as usize].to_vec();
        Ok(Manifest {
            format: manifest::FORMAT,
            version,
            committed_at: batches.last().map(|b| b.committed_at.clone()).unwrap_or_default(),
            batches,
        })
    }

    /// The latest committed version number, from the log's listing alone
    /// (no entry is read); `None` before any commit.
    pub fn latest_version(&self) -> Result<Option<u64>, WarehouseError> {
        Ok(delta::latest(&self.root)?.filter(|&v| v > 0))
    }

    /// The log directory's [`Stamp`]: it changes whenever an entry is added
    /// (a commit puts one in).
    pub fn manifest_stamp(&self) -> Result<Option<Stamp>, WarehouseError> {
        Stamp::of(&self.root.join(delta::LOG_DIR))
    }

    /// The [`Stamp`] of each reference file override, in the order of
    /// [`reference_files`] (`None`: no override).
    pub fn reference_stamps(&self) -> Result<Vec<Option<Stamp>>, WarehouseError> {
        let dir = self.root.join("reference");
        // Most data directories override nothing: one `stat` then.
        if Stamp::of(&dir)?.is_none() {
            return Ok(vec![None; reference_files::FILE_NAMES.len()]);
        }
        reference_files::FILE_NAMES
            .iter()
            .map(|name| Stamp::of(&dir.join(name)))
            .collect()
    }

    /// Where disclosure control keeps a month's contributions as computed
    /// at `version` with `k` enterprises per cell: derived data, the same
    /// for every version until a batch changes the month, so kept across
    /// restarts; removable at any time (it is computed again).
    pub fn kept_contributions_path(&self, month: &str, version: u64, k: usize) -> PathBuf {
        self.root
            .join("cache")
            .join("kept")
            .join(format!("{month}-v{version}-k{k}.json"))
    }

    /// Absolute path of a file the manifest lists.
    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Takes the commit lock (waiting up to `LOCK_WAIT`), cleans up after any
    /// interrupted commit and opens a batch on top of the latest version.
    pub fn begin(&self) -> Result<Batch<'_>, WarehouseError> {
        let lock = self.lock_waiting()?;
        self.recover()?;
        let base = self.latest()?;
        let seq = base.version + 1;
        if seq > MAX_VERSION {
            return Err(WarehouseError::VersionLimit);
        }
        let staging = self.root.join("staging").join(batch_dir_name(seq));
        fs::create_dir_all(&staging).map_err(io(&staging))?;
        Ok(Batch {
            warehouse: self,
            _lock: lock,
            base,
            seq,
            staging,
            files: Vec::new(),
            superseded: None,
            reference: None,
            rollup: false,
            periods: None,
            report: None,
            submitted_by: None,
            committed: false,
        })
    }

    /// Removes what no version references: staging leftovers, batch
    /// directories of versions never committed, log entries never put in
    /// place.
    /// Call only while holding the lock.
    fn recover(&self) -> Result<(), WarehouseError> {
        let latest = self.latest_version()?.unwrap_or(0);
        let staging = self.root.join("staging");
        for entry in fs::read_dir(&staging).map_err(io(&staging))? {
            let path = entry.map_err(io(&staging))?.path();
            remove_any(&path)?;
        }
        let batches = self.root.join("batches");
        for entry in fs::read_dir(&batches).map_err(io(&batches))? {
            let entry = entry.map_err(io(&batches))?;
            let name = entry.file_name().to_string_lossy().to_string();
            match name.parse::<u64>() {
                Ok(seq) if seq <= latest => {}
                _ => {
                    tracing::warn!(dir = %entry.path().display(), "removing batch left by an interrupted commit");
                    remove_any(&entry.path())?;
                }
            }
        }
        delta::recover(&self.root)?;
        self.recover_segments()
    }
}

fn lock_file_at(root: &Path) -> Result<File, WarehouseError> {
    let path = root.join(".lock");
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(&path))
}

fn remove_any(path: &Path) -> Result<(), WarehouseError> {
    let result = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

fn batch_dir_name(seq: u64) -> String {
    format!("{seq:08}")
}

fn sync_dir(path: &Path) -> Result<(), WarehouseError> {
    File::open(path).and_then(|d| d.sync_all()).map_err(io(path))
}

/// A batch being written. Dropping it without `commit` discards its files.
pub struct Batch<'w> {
    warehouse: &'w Warehouse,
    _lock: File,
    base: Manifest,
    seq: u64,
    staging: PathBuf,
    files: Vec<FileEntry>,
    /// The superseded-rows file and its number of rows.
    superseded: Option<(String, u64)>,
    reference: Option<String>,
    rollup: bool,
    periods: Option<Vec<String>>,
    report: Option<String>,
    submitted_by: Option<String>,
    committed: bool,
}

const SUPERSEDED_FILE: &str = "superseded.parquet";
const REFERENCE_FILE: &str = "reference.json";
const ROLLUP_FILE: &str = "rollup.parquet";
const UNITS_FILE: &str = "units.parquet";
const REPORT_FILE: &str = "ingest_report.json";

impl Batch<'_> {
    /// The dataset version this batch will become.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn base(&self) -> &Manifest {
        &self.base
    }

    /// Where the commit writes the row ids this batch supersedes.
    pub fn staging_superseded_path(&self) -> PathBuf {
        self.staging.join(SUPERSEDED_FILE)
    }

    /// Records that the file at `staging_superseded_path` was written, with
    /// `rows` row ids.
    pub fn set_superseded(&mut self, rows: u64) {
        self.superseded = Some((format!("batches/{}/{SUPERSEDED_FILE}", batch_dir_name(self.seq)), rows));
    }

    /// Keeps the reference tables this batch was validated against with the
    /// batch, so that the version can be read later with the reference as it
    /// stood (`as_of`).
    pub fn record_reference(&mut self, files: &ReferenceFiles) -> Result<(), WarehouseError> {
        let path = self.staging.join(REFERENCE_FILE);
        let mut f = File::create(&path).map_err(io(&path))?;
        f.write_all(files.to_json().as_bytes()).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        self.reference = Some(format!("batches/{}/{REFERENCE_FILE}", batch_dir_name(self.seq)));
        Ok(())
    }

    /// Keeps the batch's ingest report (JSON) and who submitted it, committed
    /// with the batch.
    pub fn record_report(&mut self, json: &[u8], submitted_by: Option<String>) -> Result<(), WarehouseError> {
        let path = self.staging.join(REPORT_FILE);
        let mut f = File::create(&path).map_err(io(&path))?;
        f.write_all(json).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        self.report = Some(format!("batches/{}/{REPORT_FILE}", batch_dir_name(self.seq)));
        self.submitted_by = submitted_by;
        Ok(())
    }

    /// Where the commit writes the new version's rollup and the units it adds.
    pub fn staging_rollup_paths(&self) -> (PathBuf, PathBuf) {
        (self.staging.join(ROLLUP_FILE), self.staging.join(UNITS_FILE))
    }

    /// Records that the files at `staging_rollup_paths` were written.
    pub fn set_rollup(&mut self) {
        self.rollup = true;
    }

    /// Records the months whose effective filings the batch changes.
    pub fn set_periods(&mut self, periods: Vec<String>) {
        self.periods = Some(periods);
    }

    /// Where the ingest writes file `index`'s accepted and rejected records.
    pub fn staging_paths(&self, index: usize) -> (PathBuf, PathBuf) {
        (
            self.staging.join(format!("filings_{index}.parquet")),
            self.staging.join(format!("rejections_{index}.parquet")),
        )
    }

    /// The committed version (or this batch) that already holds a file with
    /// these bytes.
    pub fn duplicate_of(&self, sha256: &str) -> Option<u64> {
        if self.files.iter().any(|f| f.sha256 == sha256) {
            return Some(self.seq);
        }
        self.base
            .batches
            .iter()
            .find(|b| b.files.iter().any(|f| f.sha256 == sha256))
            .map(|b| b.seq)
    }

    /// Records a file of this batch. Paths are given as written by
    /// `staging_paths`; the entry refers to their committed place.
    pub fn add_file(&mut self, mut entry: FileEntry) {
        let dir = format!("batches/{}", batch_dir_name(self.seq));
        entry.filings = entry.filings.map(|name| format!("{dir}/{name}"));
        entry.rejections = entry.rejections.map(|name| format!("{dir}/{name}"));
        self.files.push(entry);
    }

    /// The files added so far.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The accepted-filings files written to staging so far.
    pub fn staged_filings(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .filter_map(|f| f.filings.as_deref())
            .filter_map(|rel| Path::new(rel).file_name())
            .map(|name| self.staging.join(name))
            .collect()
    }

    /// Makes the batch the new latest version, atomically: after a crash at
    /// any point, either the log's entry of the new version exists and every
    /// file it names is in place, or the dataset is the previous version.
    pub fn commit(mut self, committed_at: &str, ingest_time_us: i64) -> Result<Manifest, WarehouseError> {
        let root = self.warehouse.root.clone();
        let mut manifest = self.base.clone();
        manifest.version = self.seq;
        manifest.committed_at = committed_at.to_string();
        let superseded = self.superseded.take();
        let superseded_rows = superseded.as_ref().map(|(_, rows)| *rows);
        manifest.batches.push(BatchEntry {
            seq: self.seq,
            committed_at: committed_at.to_string(),
            ingest_time_us,
            files: std::mem::take(&mut self.files),
            superseded: superseded.map(|(path, _)| path),
            reference: self.reference.take(),
            rollup: self
                .rollup
                .then(|| format!("batches/{}/{ROLLUP_FILE}", batch_dir_name(self.seq))),
            units: self
                .rollup
                .then(|| format!("batches/{}/{UNITS_FILE}", batch_dir_name(self.seq))),
            report: self.report.take(),
            submitted_by: self.submitted_by.take(),
            periods: self.periods.take(),
        });

        // 1. Every data file durable in staging.
        sync_dir(&self.staging)?;
        fault_point("commit:before_rename");
        // 2. Staging moves to its final place (invisible until the manifest says so).
        let final_dir = root.join("batches").join(batch_dir_name(self.seq));
        crate::util::fault::before_rename(&final_dir);
        fs::rename(&self.staging, &final_dir).map_err(io(&final_dir))?;
        sync_dir(&root.join("batches"))?;
        sync_dir(&root.join("staging"))?;
        fault_point("commit:after_rename");
        // 3. The log entry, put in place only if absent: the commit.
        let entry = manifest.batches.last().expect("the batch was just pushed");
        fault_point("commit:before_log");
        crate::util::fault::before_rename(&root.join(delta::LOG_DIR).join(delta::entry_name(self.seq)));
        match delta::commit(&root, self.seq, entry, &delta::files_of(entry, superseded_rows)) {
            Ok(()) => {}
            // Another writer has the version: this batch's files are named by
            // nothing and are removed (recovery would, under the lock).
            Err(e @ WarehouseError::Conflict { .. }) => {
                remove_any(&final_dir)?;
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        self.committed = true;
        fault_point("commit:after_commit");
        Ok(manifest)
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_any(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, sha: &str, with_filings: bool) -> FileEntry {
        FileEntry {
            index: 0,
            name: name.into(),
            sha256: sha.into(),
            records: 1,
            accepted: 1,
            rejected: 0,
            filings: with_filings.then(|| "filings_0.parquet".to_string()),
            rejections: None,
        }
    }

    #[test]
    fn commit_makes_a_new_version_and_drop_discards() {
        let dir = tempfile::tempdir().unwrap();
        let w = Warehouse::open(dir.path()).unwrap();
        assert_eq!(w.latest().unwrap().version, 0);
        {
            let mut b = w.begin().unwrap();
            let (f, _) = b.staging_paths(0);
            fs::write(&f, b"x").unwrap();
            b.add_file(entry("a.csv", "aa", true));
            // dropped: nothing committed
        }
        assert_eq!(w.latest().unwrap().version, 0);
        assert_eq!(fs::read_dir(dir.path().join("staging")).unwrap().count(), 0);

        let mut b = w.begin().unwrap();
        assert_eq!(b.seq(), 1);
        let (f, _) = b.staging_paths(0);
        fs::write(&f, b"x").unwrap();
        b.add_file(entry("a.csv", "aa", true));
        let m = b.commit("2026-01-01T00:00:00Z", 0).unwrap();
        assert_eq!(m.version, 1);
        let latest = w.latest().unwrap();
        assert_eq!(latest.version, 1);
        let listed = latest.batches[0].files[0].filings.clone().unwrap();
        assert_eq!(listed, "batches/00000001/filings_0.parquet");
        assert!(w.path_of(&listed).exists());

        let b = w.begin().unwrap();
        assert_eq!(b.duplicate_of("aa"), Some(1));
        assert_eq!(b.duplicate_of("bb"), None);
    }

    #[test]
    fn recovery_removes_uncommitted_batches() {
        let dir = tempfile::tempdir().unwrap();
        let w = Warehouse::open(dir.path()).unwrap();
        // What a crash between the rename and the log entry leaves: the
        // batch in place, the entry written aside by the log store.
        fs::create_dir_all(dir.path().join("batches/00000001")).unwrap();
        let aside = dir.path().join("_delta_log/00000000000000000001.json#1");
        fs::write(&aside, b"{").unwrap();
        let w2 = Warehouse::open(dir.path()).unwrap();
        assert!(!dir.path().join("batches/00000001").exists());
        assert!(!aside.exists());
        assert_eq!(w2.latest().unwrap().version, 0);
        drop(w);
    }
}
