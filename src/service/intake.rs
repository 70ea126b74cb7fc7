//! The ingest pipeline as a use case: a batch of filing files read and
//! validated (by `ingest`), staged, the filings it supersedes found and the
//! new version's rollup made (by the engine and the rollup), then committed
//! as one version of the store. Also the kept ingest reports.

use super::{App, AppError, block_on, month_in_vietnam};
use crate::ingest::{self, FileContext, Format, IngestError};
use crate::store::rollup::{Rollup, UnitDictionary, UnitHashes};
use crate::store::{Batch, FileEntry, Manifest, WarehouseError};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file to ingest. Its format is decided from its content, its name's
/// extension and the format it was sent as (`format`: what its media type
/// declares; `None` when it declares none), all of which must agree
/// (`ingest::decide`).
pub enum IngestSource {
    /// A file on disk.
    Path(PathBuf),
    /// Bytes received (e.g. over HTTP) with a name and a declared format.
    Bytes {
        name: String,
        format: Option<Format>,
        bytes: Vec<u8>,
    },
    /// An upload spooled to a file, with the name and declared format it
    /// came with.
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

/// A record a batch rejected, as it was given: what the filer fixes and
/// sends again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRecord {
    pub file: String,
    /// 1-based index of the data record in its file, header excluded.
    pub record: u64,
    /// The reason code (`RejectReason::code`).
    pub reason: String,
    /// The ingest's message, naming the column and value at fault.
    pub message: String,
    /// The record's values under the contract's columns, in the order of
    /// `ingest::COLUMNS`, as given (`None`: the file had no such value).
    pub values: Vec<Option<String>>,
}

impl RejectedRecord {
    /// The value given under a contract column.
    pub fn value(&self, column: &str) -> Option<&str> {
        let at = ingest::COLUMNS.iter().position(|c| *c == column)?;
        self.values.get(at)?.as_deref()
    }
}

/// The records a batch rejected: the first ones asked for, and how many
/// there are in all.
#[derive(Debug, Clone, Default)]
pub struct Rejected {
    pub records: Vec<RejectedRecord>,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectionReport {
    pub file: String,
    pub record: u64,
    pub reason: &'static str,
    pub message: String,
}

impl App {
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
        // From the first file to the commit: a shutdown waits for it.
        let _write = self.write_permit()?;
        let result = self.ingest_batch(sources, options, submitted_by);
        count_batch(&result);
        result
    }

    fn ingest_batch(
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
        let mut batch = self.warehouse.begin()?;
        let mut report = IngestReport {
            dataset_version: batch.base().version,
            committed: false,
            files: Vec::new(),
            rejections: Vec::new(),
        };
        for (index, source) in sources.into_iter().enumerate() {
            let ctx = FileContext {
                reference: &reference,
                current_month: month_in_vietnam(now),
                batch_seq: batch.seq(),
                file_index: index as u32,
                ingest_time_us: now.timestamp_micros(),
                numbers: options.numbers,
            };
            stage_file(&mut batch, source, options, &ctx, &mut report)?;
        }
        tracing::debug!(
            ms = (Utc::now() - now).num_milliseconds(),
            records = report.files.iter().map(|f| f.records).sum::<u64>(),
            "batch staged"
        );
        if !batch.is_empty() {
            let staged = std::time::Instant::now();
            self.supersede_and_roll_up(&mut batch)?;
            batch.record_reference(&reference_files)?;
            let kept = IngestReport {
                dataset_version: batch.seq(),
                committed: true,
                ..report.clone()
            };
            let json = serde_json::to_vec(&kept).expect("an ingest report serializes");
            batch.record_report(&json, submitted_by)?;
            let committed_at = now.to_rfc3339_opts(SecondsFormat::Micros, true);
            let manifest = batch.commit(&committed_at, now.timestamp_micros())?;
            report.dataset_version = manifest.version;
            report.committed = true;
            metrics::histogram!("ecomshare_ingest_commit_duration_seconds").record(staged.elapsed());
        }
        Ok(report)
    }

    /// Decides once, at commit, which earlier filings the staged batch
    /// supersedes, and stages the new version's rollup: the previous one,
    /// plus the batch's filings (added on this thread while another finds
    /// the filings they supersede: the two share nothing), minus those.
    fn supersede_and_roll_up(&self, batch: &mut Batch<'_>) -> Result<(), AppError> {
        let (filings, superseded) = self.version_files(batch.base())?;
        let staged = batch.staged_filings();
        let started = std::time::Instant::now();
        // Parts of at most `supersession_part_rows` of the batch's filings,
        // so the commit's hash tables stay small however large the batch.
        let part_rows = self.options.supersession_part_rows;
        let find = || {
            let losers = block_on(crate::engine::superseded_by(&filings, &superseded, &staged, part_rows));
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "commit: superseded filings found"
            );
            losers
        };
        let add = || {
            self.base_rollup(batch.base(), &staged)
                .and_then(|(mut rollup, mut units)| {
                    tracing::debug!(
                        ms = started.elapsed().as_millis() as u64,
                        files = rollup.files(),
                        "commit: the previous rollup and the batch's units read"
                    );
                    block_on(async {
                        add_all(&mut rollup, &mut units, crate::engine::scan_filings(&staged).await?).await
                    })?;
                    tracing::debug!(
                        ms = started.elapsed().as_millis() as u64,
                        "commit: the batch added to the rollup"
                    );
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
            batch.set_superseded(ids.len() as u64);
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
        Ok(())
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

    /// The records the batch that made `version` rejected, file by file in
    /// record order, at most `limit` of them (read from the rejections
    /// Parquet of each file, no further than needed), with their total;
    /// `None` when no batch made that version.
    pub fn rejected_records(&self, version: u64, limit: usize) -> Result<Option<Rejected>, AppError> {
        let manifest = self.manifest()?;
        let Some(batch) = manifest.batches.iter().find(|b| b.seq == version) else {
            return Ok(None);
        };
        let mut rejected = Rejected {
            records: Vec::new(),
            total: batch.files.iter().map(|f| f.rejected).sum(),
        };
        for path in batch.files.iter().filter_map(|f| f.rejections.as_deref()) {
            if rejected.records.len() >= limit {
                break;
            }
            let full = self.warehouse.path_of(path);
            let room = limit - rejected.records.len();
            let records = read_rejections(&full, room).map_err(|e| WarehouseError::Io {
                path: full.clone(),
                source: e,
            })?;
            rejected.records.extend(records);
        }
        Ok(Some(rejected))
    }

    /// The rollup of `manifest`'s version and its unit dictionary (read for
    /// the units of the `staged` filings), to build the next version's on:
    /// read from its files, or — for a version committed before rollups, or
    /// whose rollup files are lost or damaged — computed from its effective
    /// filings.
    fn base_rollup(&self, manifest: &Manifest, staged: &[PathBuf]) -> Result<(Rollup, UnitDictionary), AppError> {
        let units: Vec<PathBuf> = manifest.units_files().map(|p| self.warehouse.path_of(p)).collect();
        if let Some(path) = manifest.rollup_file() {
            match Rollup::read(&self.warehouse.path_of(path)) {
                Ok(rollup) => {
                    let wanted = block_on(async {
                        let mut wanted = UnitHashes::default();
                        let mut rows = crate::engine::scan_columns(staged, &["unit_id"]).await?;
                        while let Some(b) = rows.next().await {
                            wanted.add(b?.column(0))?;
                        }
                        Ok::<_, AppError>(wanted)
                    })?;
                    return Ok((rollup, UnitDictionary::read_for(&units, wanted)?));
                }
                Err(e) => tracing::warn!(
                    version = manifest.version,
                    error = %e,
                    "the rollup of the version cannot be read: building it from its filings"
                ),
            }
        }
        // Every unit keeps the position its units file gave it (the
        // dictionary is those files, end to end); only new ones are added.
        let (mut rollup, mut dictionary) = (Rollup::default(), UnitDictionary::read(&units)?);
        if manifest.version > 0 {
            tracing::info!(
                version = manifest.version,
                "building the rollup of a version from its filings"
            );
            let (filings, superseded) = self.version_files(manifest)?;
            block_on(async {
                let rows = crate::engine::scan_effective(&filings, &superseded).await?;
                add_all(&mut rollup, &mut dictionary, rows).await
            })?;
        }
        Ok((rollup, dictionary))
    }
}

/// A batch's outcome in the metrics: committed (with its records accepted
/// and rejected by reason), unchanged, refused or failed.
fn count_batch(result: &Result<IngestReport, AppError>) {
    let outcome = match result {
        Ok(report) if report.committed => {
            let accepted: u64 = report.files.iter().map(|f| f.accepted).sum();
            metrics::counter!("ecomshare_ingest_records_accepted_total").increment(accepted);
            let mut rejected = std::collections::BTreeMap::<&'static str, u64>::new();
            for r in &report.rejections {
                *rejected.entry(r.reason).or_default() += 1;
            }
            for (reason, n) in rejected {
                metrics::counter!("ecomshare_ingest_records_rejected_total", "reason" => reason).increment(n);
            }
            "committed"
        }
        Ok(_) => "unchanged",
        Err(e) if e.is_client_error() => "refused",
        Err(_) => "failed",
    };
    metrics::counter!("ecomshare_ingest_batches_total", "outcome" => outcome).increment(1);
}

/// Reads, validates and stages one file of a batch, adding its counts and
/// rejections to `report`; a file whose bytes a version already holds is
/// reported as a duplicate and staged not at all.
fn stage_file(
    batch: &mut Batch<'_>,
    source: IngestSource,
    options: &ingest::InputOptions,
    ctx: &FileContext<'_>,
    report: &mut IngestReport,
) -> Result<(), AppError> {
    let name = source.name();
    let (reader, format) = open(source, &name, options)?;
    let index = ctx.file_index;
    let (filings_path, rejections_path) = batch.staging_paths(index as usize);
    let result = ingest::ingest_file(reader, format, options, &name, ctx, &filings_path, &rejections_path)?;
    if let Some(version) = batch.duplicate_of(&result.sha256) {
        for p in [&filings_path, &rejections_path] {
            let _ = std::fs::remove_file(p);
        }
        report.files.push(FileReport {
            file: name,
            records: result.records,
            accepted: 0,
            rejected: 0,
            duplicate_file: true,
            duplicate_of_version: Some(version),
        });
        return Ok(());
    }
    let file_name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    batch.add_file(FileEntry {
        index,
        name: name.clone(),
        sha256: result.sha256.clone(),
        records: result.records,
        accepted: result.accepted,
        rejected: result.rejected,
        filings: result.wrote_filings.then(|| file_name(&filings_path)).flatten(),
        rejections: result.wrote_rejections.then(|| file_name(&rejections_path)).flatten(),
    });
    report
        .rejections
        .extend(result.rejections.into_iter().map(|r| RejectionReport {
            file: name.clone(),
            record: r.record,
            reason: r.reason.code(),
            message: r.message,
        }));
    report.files.push(FileReport {
        file: name,
        records: result.records,
        accepted: result.accepted,
        rejected: result.rejected,
        duplicate_file: false,
        duplicate_of_version: None,
    });
    Ok(())
}

/// A source's bytes as a reader, and its format: decided from its first
/// bytes, its name and the format it was sent as.
fn open(
    source: IngestSource,
    name: &str,
    options: &ingest::InputOptions,
) -> Result<(Box<dyn Read + Send>, Format), IngestError> {
    let io = |source| IngestError::Io {
        file: name.to_string(),
        source,
    };
    let file = |path: &Path| {
        std::fs::File::open(path)
            .map(|f| std::io::BufReader::with_capacity(1 << 20, f))
            .map_err(io)
    };
    let (mut reader, declared) = match source {
        IngestSource::Path(path) => (file(&path)?, None),
        IngestSource::Spooled { format, path, .. } => (file(&path)?, format),
        IngestSource::Bytes { format, bytes, .. } => {
            let head = &bytes[..bytes.len().min(ingest::HEAD_BYTES)];
            let format = ingest::decide(name, format, head, options)?;
            return Ok((Box::new(std::io::Cursor::new(bytes)), format));
        }
    };
    let mut head = Vec::with_capacity(ingest::HEAD_BYTES);
    (&mut reader)
        .take(ingest::HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    let format = ingest::decide(name, declared, &head, options)?;
    Ok((Box::new(std::io::Cursor::new(head).chain(reader)), format))
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

/// The first `limit` rejected records of one rejections Parquet file
/// (`file`, `record`, `reason`, `message` and the contract's columns, as
/// `ingest` writes them).
fn read_rejections(path: &Path, limit: usize) -> std::io::Result<Vec<RejectedRecord>> {
    use datafusion::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::compute::cast;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path)?)
        .map_err(|e| invalid(e.to_string()))?
        .with_batch_size(limit.clamp(1, 8192))
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    let column = |batch: &RecordBatch, name: &str, to: &DataType| {
        let c = batch
            .column_by_name(name)
            .ok_or_else(|| invalid(format!("the rejections file has no column {name}")))?;
        cast(c, to).map_err(|e| invalid(e.to_string()))
    };
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| invalid(e.to_string()))?;
        let text = |name: &str| -> std::io::Result<StringArray> {
            let c = column(&batch, name, &DataType::Utf8)?;
            Ok(c.as_any().downcast_ref::<StringArray>().expect("cast to Utf8").clone())
        };
        let records = column(&batch, "record", &DataType::Int64)?;
        let records = records.as_any().downcast_ref::<Int64Array>().expect("cast to Int64");
        let (file, reason, message) = (text("file")?, text("reason")?, text("message")?);
        let values = ingest::COLUMNS.iter().map(|c| text(c)).collect::<Result<Vec<_>, _>>()?;
        let get = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
        for i in 0..batch.num_rows() {
            if out.len() >= limit {
                return Ok(out);
            }
            out.push(RejectedRecord {
                file: get(&file, i).unwrap_or_default(),
                record: records.value(i).max(0) as u64,
                reason: get(&reason, i).unwrap_or_default(),
                message: get(&message, i).unwrap_or_default(),
                values: values.iter().map(|v| get(v, i)).collect(),
            });
        }
    }
    Ok(out)
}
