//! The warehouse's commit log: a Delta Lake table whose root is the data
//! directory (`DATA/_delta_log/`), written with delta-rs.
//!
//! Dataset version `N` is Delta version `N` (version 0 creates the empty
//! table). A batch is one Delta commit: an `Add` for each accepted-filings
//! file (partition `kind = filing`) and for the batch's superseded row ids
//! (`kind = superseded`), with the batch's [`BatchEntry`] in the commit's
//! `commitInfo` (key `ecomshare`) and a `txn` of app id `ecomshare` at the
//! dataset version. The version's manifest is the fold of those entries.
//! The log entry is put only if absent, so of two writers on one base
//! exactly one gets the version; the other gets [`WarehouseError::Conflict`]
//! and nothing of its attempt is in the log.
//!
//! The table stays at reader 1 / writer 2 (no deletion vectors, no column
//! mapping, no timestamps without a zone), log cleanup is off and checkpoints
//! are written every [`CHECKPOINT_INTERVAL`] versions, so that every version
//! stays readable by other engines. Rejections, reference copies, rollups,
//! units and ingest reports stay files beside the table (in the batch's
//! directory), named by the entry, not `Add`ed.
//!
//! Owns the log: creating the table, committing a batch, reading back what
//! each version committed. The only module that speaks to delta-rs; knows
//! nothing of polars, DataFusion or HTTP, and never opens a data file.

use super::{BatchEntry, WarehouseError, io};
use crate::domain::stored::{self, ColumnType};
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, DataType, StructField, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::{DeltaTableError, TableProperty};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The log's directory under the data directory.
pub const LOG_DIR: &str = "_delta_log";
/// The app id of the `txn` each commit carries and the key of its
/// `commitInfo` metadata.
pub const APP_ID: &str = "ecomshare";
/// A checkpoint every this many versions (Delta's default).
pub const CHECKPOINT_INTERVAL: u64 = 100;
/// Log entries are kept for this long (a century: every `as_of` stays
/// answerable), and never cleaned up.
const LOG_RETENTION: &str = "interval 36500 days";

/// The name of version `version`'s log entry.
pub fn entry_name(version: u64) -> String {
    format!("{version:020}.json")
}

/// The version of a log entry's name (`00000000000000000007.json`).
pub fn parse_entry_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".json")?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// A data file a commit adds to the table.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Relative to the data directory (`batches/00000007/filings_0.parquet`).
    pub path: String,
    /// [`stored::KIND_FILING`] or [`stored::KIND_SUPERSEDED`].
    pub kind: &'static str,
    /// Its number of rows, when known (the log's statistics).
    pub records: Option<u64>,
}

/// The files a batch adds to the table: its accepted filings, and the row
/// ids it supersedes (`superseded_rows` of them, when known).
pub fn files_of(batch: &BatchEntry, superseded_rows: Option<u64>) -> Vec<NewFile> {
    let filings = batch.files.iter().filter_map(|f| {
        f.filings.as_ref().map(|path| NewFile {
            path: path.clone(),
            kind: stored::KIND_FILING,
            records: Some(f.accepted),
        })
    });
    let superseded = batch.superseded.as_ref().map(|path| NewFile {
        path: path.clone(),
        kind: stored::KIND_SUPERSEDED,
        records: superseded_rows,
    });
    filings.chain(superseded).collect()
}

fn log_dir(root: &Path) -> PathBuf {
    root.join(LOG_DIR)
}

fn delta_error(root: &Path) -> impl Fn(DeltaTableError) -> WarehouseError + '_ {
    move |e| WarehouseError::Log {
        path: log_dir(root),
        message: e.to_string(),
    }
}

/// The newest version in the log, from its listing; `None` without a log.
pub fn latest(root: &Path) -> Result<Option<u64>, WarehouseError> {
    let dir = log_dir(root);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&dir)(e)),
    };
    let mut best = None;
    for entry in entries {
        let entry = entry.map_err(io(&dir))?;
        if let Some(v) = parse_entry_name(&entry.file_name().to_string_lossy()) {
            best = best.max(Some(v));
        }
    }
    Ok(best)
}

/// Runs delta-rs's async work to its end on a thread of its own, so that
/// the warehouse stays callable from any thread, inside a runtime or not.
fn block_on<T: Send, F: Future<Output = T>>(work: impl FnOnce() -> F + Send) -> T {
    std::thread::scope(|s| {
        let thread = s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the Delta log")
                .block_on(work())
        });
        thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn table_url(root: &Path) -> Result<url::Url, WarehouseError> {
    let root = fs::canonicalize(root).map_err(io(root))?;
    url::Url::from_directory_path(&root).map_err(|()| WarehouseError::Log {
        path: root.clone(),
        message: "the data directory's path is not absolute".into(),
    })
}

/// The table's columns: the filings', `superseded_in`, and the partition
/// column. All nullable: a filings file has no `superseded_in`, a
/// superseded-rows file only `row_id` and `superseded_in`.
fn columns() -> Vec<StructField> {
    let mut columns: Vec<StructField> = stored::FILING_COLUMNS
        .iter()
        .map(|&(name, ty)| {
            let ty = match ty {
                ColumnType::Text => DataType::STRING,
                ColumnType::Int32 => DataType::INTEGER,
                ColumnType::Int64 => DataType::LONG,
            };
            StructField::new(name, ty, true)
        })
        .collect();
    columns.push(StructField::new(stored::SUPERSEDED_IN, DataType::LONG, true));
    columns.push(StructField::new(stored::KIND, DataType::STRING, true));
    columns
}

/// Creates the empty table (version 0) unless the log has a version.
pub fn create(root: &Path) -> Result<(), WarehouseError> {
    if latest(root)?.is_some() {
        return Ok(());
    }
    let url = table_url(root)?;
    let created = block_on(|| async move {
        // Built, not loaded: loading a table not created yet logs an error.
        deltalake::DeltaTableBuilder::from_url(url)?
            .build()?
            .create()
            .with_table_name("filings")
            .with_comment("ecomshare: retail revenue filings (kind = filing) and the row ids later versions superseded (kind = superseded)")
            .with_columns(columns())
            .with_partition_columns([stored::KIND])
            .with_save_mode(SaveMode::ErrorIfExists)
            .with_configuration_property(TableProperty::EnableExpiredLogCleanup, Some("false"))
            .with_configuration_property(TableProperty::LogRetentionDuration, Some(LOG_RETENTION))
            .with_configuration_property(
                TableProperty::CheckpointInterval,
                Some(CHECKPOINT_INTERVAL.to_string()),
            )
            .await
    });
    match created {
        Ok(_) => sync_entry(root, 0),
        // Another process created it first.
        Err(_) if latest(root)?.is_some() => Ok(()),
        Err(e) => Err(delta_error(root)(e)),
    }
}

/// Commits `batch` as version `version` (the log's newest being
/// `version - 1`), adding `files`. [`WarehouseError::Conflict`] when another
/// writer committed that version first: nothing was written then.
pub fn commit(root: &Path, version: u64, batch: &BatchEntry, files: &[NewFile]) -> Result<(), WarehouseError> {
    let url = table_url(root)?;
    let mut adds = Vec::with_capacity(files.len());
    for file in files {
        let path = root.join(&file.path);
        let meta = fs::metadata(&path).map_err(io(&path))?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        adds.push(Action::Add(Add {
            path: file.path.clone(),
            partition_values: HashMap::from([(stored::KIND.to_string(), Some(file.kind.to_string()))]),
            size: meta.len() as i64,
            modification_time: modified,
            data_change: true,
            stats: file.records.map(|n| serde_json::json!({ "numRecords": n }).to_string()),
            ..Default::default()
        }));
    }
    let metadata = serde_json::json!({ "dataset_version": version, "batch": batch });
    let committed = block_on(|| async move {
        let table = deltalake::open_table_with_version(url, version - 1).await?;
        let properties = CommitProperties::default()
            .with_metadata([(APP_ID.to_string(), metadata)])
            .with_application_transaction(Transaction::new(APP_ID, version as i64))
            // A lost race is ours to resolve: delta-rs's retry would put a
            // blind append on top of a version whose revisions it never saw.
            .with_max_retries(0)
            .with_cleanup_expired_logs(Some(false));
        let prepared = CommitBuilder::from(properties)
            .with_actions(adds)
            .build(
                Some(table.snapshot()?),
                table.log_store(),
                DeltaOperation::Write {
                    mode: SaveMode::Append,
                    partition_by: Some(vec![stored::KIND.to_string()]),
                    predicate: None,
                },
            )
            .into_prepared_commit_future()
            .await?;
        let post = prepared.await?;
        let won = post.version;
        // Checkpoints: a failure leaves the commit whole (readers replay
        // the log from the previous checkpoint).
        if let Err(e) = post.await {
            tracing::warn!(version = won, error = %e, "the checkpoint after a commit failed");
        }
        Ok::<_, DeltaTableError>(won)
    });
    match committed {
        Ok(won) if won == version => sync_entry(root, version),
        Ok(won) => Err(WarehouseError::Log {
            path: log_dir(root),
            message: format!("committed as version {won}, expected {version}"),
        }),
        Err(e) if is_conflict(&e) => Err(WarehouseError::Conflict { version }),
        Err(e) => Err(delta_error(root)(e)),
    }
}

fn is_conflict(e: &DeltaTableError) -> bool {
    use deltalake::kernel::transaction::TransactionError;
    match e {
        DeltaTableError::VersionAlreadyExists(_) => true,
        DeltaTableError::Transaction { source } => matches!(
            source,
            TransactionError::MaxCommitAttempts(_) | TransactionError::VersionAlreadyExists(_)
        ),
        _ => false,
    }
}

/// Makes version `version`'s entry durable (the log store renames it into
/// place without syncing).
fn sync_entry(root: &Path, version: u64) -> Result<(), WarehouseError> {
    let dir = log_dir(root);
    let path = dir.join(entry_name(version));
    fs::File::open(&path).and_then(|f| f.sync_all()).map_err(io(&path))?;
    super::sync_dir(&dir)
}

/// The batch version `version` committed, from its log entry.
pub fn batch(root: &Path, version: u64) -> Result<BatchEntry, WarehouseError> {
    let path = log_dir(root).join(entry_name(version));
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    let corrupt = |message: String| WarehouseError::CorruptManifest {
        path: path.clone(),
        message,
    };
    for line in text.lines().filter(|l| l.contains("\"commitInfo\"")) {
        let action: serde_json::Value = serde_json::from_str(line).map_err(|e| corrupt(e.to_string()))?;
        if let Some(entry) = action.pointer("/commitInfo/ecomshare/batch") {
            let entry: BatchEntry = serde_json::from_value(entry.clone()).map_err(|e| corrupt(e.to_string()))?;
            if entry.seq != version {
                return Err(corrupt(format!("the entry names version {}", entry.seq)));
            }
            return Ok(entry);
        }
    }
    Err(corrupt("no ecomshare batch in the commit".into()))
}

/// Removes what an interrupted commit leaves in the log: entries written
/// aside and never put in place (`…json#N`, `_commit_….json.tmp`). Call
/// only while no commit runs.
pub fn recover(root: &Path) -> Result<(), WarehouseError> {
    let dir = log_dir(root);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(io(&dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains('#') || (name.starts_with("_commit_") && name.ends_with(".tmp")) {
            tracing::warn!(file = %entry.path().display(), "removing a log entry left by an interrupted commit");
            super::remove_any(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(seq: u64, name: &str) -> BatchEntry {
        BatchEntry {
            seq,
            committed_at: "2026-12-08T00:00:00Z".into(),
            ingest_time_us: 0,
            files: vec![super::super::FileEntry {
                index: 0,
                name: name.into(),
                sha256: name.into(),
                records: 1,
                accepted: 1,
                rejected: 0,
                filings: Some(format!("batches/{name}.parquet")),
                rejections: None,
            }],
            superseded: None,
            reference: None,
            rollup: None,
            units: None,
            report: None,
            submitted_by: None,
            periods: None,
        }
    }

    fn file(root: &Path, name: &str) -> NewFile {
        let path = format!("batches/{name}.parquet");
        fs::create_dir_all(root.join("batches")).unwrap();
        fs::write(root.join(&path), name).unwrap();
        NewFile {
            path,
            kind: stored::KIND_FILING,
            records: Some(1),
        }
    }

    #[test]
    fn of_two_writers_on_one_version_one_commits_and_the_other_gets_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        create(root).unwrap();
        create(root).unwrap();
        assert_eq!(latest(root).unwrap(), Some(0));
        let (a, b) = (file(root, "a"), file(root, "b"));
        commit(root, 1, &batch(1, "a"), std::slice::from_ref(&a)).unwrap();
        // The second writer read version 0 too.
        let lost = commit(root, 1, &batch(1, "b"), std::slice::from_ref(&b)).unwrap_err();
        assert!(matches!(lost, WarehouseError::Conflict { version: 1 }), "{lost}");
        assert_eq!(latest(root).unwrap(), Some(1));
        assert_eq!(super::batch(root, 1).unwrap(), batch(1, "a"));
        let entry = fs::read_to_string(log_dir(root).join(entry_name(1))).unwrap();
        assert!(entry.contains("batches/a.parquet") && !entry.contains("batches/b.parquet"));
        // On top of the version it lost to, it commits.
        commit(root, 2, &batch(2, "b"), &[b]).unwrap();
        assert_eq!(super::batch(root, 2).unwrap(), batch(2, "b"));
        recover(root).unwrap();
        let names: Vec<String> = fs::read_dir(log_dir(root))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
    }

    #[test]
    fn entry_names() {
        assert_eq!(entry_name(7), "00000000000000000007.json");
        assert_eq!(parse_entry_name("00000000000000000007.json"), Some(7));
        assert_eq!(parse_entry_name("00000000000000000007.json#1"), None);
        assert_eq!(parse_entry_name("00000000000000000007.checkpoint.parquet"), None);
        assert_eq!(parse_entry_name("7.json"), None);
    }
}
