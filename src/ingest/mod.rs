//! Ingest: a filing file (CSV, tab-separated text, JSON, XLSX, XLS or ODS)
//! in, validated columns out, written as Parquet for the warehouse.
//!
//! Owns the filing format (column names; which format a file is in,
//! `sniff`; the reading of each into string columns: `read`, `workbook`,
//! `xls` with `cfb`, `ods`) and the columnar application of the validation
//! rules in `domain::rules`, in their contractual order. It is the only
//! module that knows polars. It never decides where files live or when a batch commits
//! (that is `store`), and never computes a share.

mod cfb;
mod ods;
mod read;
pub mod sniff;
pub mod text;
mod validate;
pub mod workbook;
mod xls;

use crate::domain::{Period, Reference, RejectReason};
use polars::prelude::*;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use thiserror::Error;

pub use read::{
    ANY_MEDIA_TYPE, CHUNK_RECORDS, Format, ODS_MEDIA_TYPE, TSV_MEDIA_TYPE, XLS_MEDIA_TYPE, XLSX_MEDIA_TYPE,
};
pub use sniff::{HEAD_BYTES, decide};

/// The filing columns, as named in the contract.
pub const UNIT_ID: &str = "unit_id";
pub const DISTRICT_CODE: &str = "district_code";
pub const SECTOR_CODE: &str = "sector_code";
pub const PERIOD: &str = "period";
pub const TOTAL: &str = "total_revenue_vnd";
pub const ECOMMERCE: &str = "ecommerce_revenue_vnd";
pub const SUBMITTED_AT: &str = "submitted_at";
pub const WEIGHT: &str = "weight";
pub const UNIT_NAME: &str = "unit_name";
/// The commune-level unit (5 digits) of a filing for a month from the 2025
/// reform on; `district_code` may then be left empty (it is derived).
pub const COMMUNE_CODE: &str = "commune_code";

/// Required in every record; `district_code` only when `commune_code` is
/// empty, and its column only when there is no `commune_code` column.
pub const REQUIRED: [&str; 6] = [UNIT_ID, DISTRICT_CODE, SECTOR_CODE, PERIOD, TOTAL, ECOMMERCE];
pub const OPTIONAL: [&str; 4] = [SUBMITTED_AT, WEIGHT, UNIT_NAME, COMMUNE_CODE];
pub const COLUMNS: [&str; 10] = [
    UNIT_ID,
    DISTRICT_CODE,
    SECTOR_CODE,
    PERIOD,
    TOTAL,
    ECOMMERCE,
    SUBMITTED_AT,
    WEIGHT,
    UNIT_NAME,
    COMMUNE_CODE,
];

pub use crate::domain::provenance::{MAX_FILES_PER_BATCH, MAX_RECORDS_PER_FILE};

/// The formats read, in messages.
pub const FORMATS_READ: &str = "CSV (.csv, text/csv), tab-separated text (.tsv, text/tab-separated-values), \
Excel's Unicode text (.txt, text/plain), JSON (.json, application/json), Excel workbooks (.xlsx, .xls) \
and OpenDocument spreadsheets (.ods)";

/// A file refused whole: nothing of it is kept.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("{file}: the file is not valid UTF-8 (near data record {record})")]
    NotUtf8 { file: String, record: u64 },
    #[error("{file}: {message}; declare its encoding ({})", text::Encoding::NAMES)]
    Encoding { file: String, message: String },
    #[error("{file}: {message}")]
    Workbook {
        file: String,
        code: &'static str,
        message: String,
    },
    #[error("{file}: the file is empty (no header row)")]
    Empty { file: String },
    #[error("{file}: required column(s) missing from the header: {}", columns.join(", "))]
    MissingColumns { file: String, columns: Vec<String> },
    #[error("{file}: column {column} appears more than once in the header")]
    DuplicateColumn { file: String, column: String },
    #[error("{file}: not a JSON array of objects: {message}")]
    InvalidJson { file: String, message: String },
    #[error("{file}: {message} (the formats read: {})", FORMATS_READ)]
    UnsupportedFormat { file: String, message: String },
    /// The format a name or media type declares is not the content's.
    #[error("{file}: {message}")]
    FormatMismatch { file: String, message: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: more than {MAX_RECORDS_PER_FILE} records; split the file")]
    TooManyRecords { file: String },
    #[error("{file}: writing columns failed: {message}")]
    Columns { file: String, message: String },
}

impl IngestError {
    /// Stable code for the error shape of the CLI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotUtf8 { .. } => "not_utf8",
            Self::Encoding { .. } => "invalid_encoding",
            Self::Workbook { code, .. } => code,
            Self::Empty { .. } => "empty_file",
            Self::MissingColumns { .. } => "missing_columns",
            Self::DuplicateColumn { .. } => "duplicate_column",
            Self::InvalidJson { .. } => "invalid_json",
            Self::UnsupportedFormat { .. } => "unsupported_format",
            Self::FormatMismatch { .. } => "format_mismatch",
            Self::Io { .. } => "io_error",
            Self::TooManyRecords { .. } => "too_many_records",
            Self::Columns { .. } => "internal",
        }
    }

    /// True when the input itself is at fault (a 4xx), false for our side.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Self::Io { .. } | Self::Columns { .. })
    }

    pub fn file(&self) -> &str {
        match self {
            Self::NotUtf8 { file, .. }
            | Self::Encoding { file, .. }
            | Self::Workbook { file, .. }
            | Self::Empty { file }
            | Self::MissingColumns { file, .. }
            | Self::DuplicateColumn { file, .. }
            | Self::InvalidJson { file, .. }
            | Self::UnsupportedFormat { file, .. }
            | Self::FormatMismatch { file, .. }
            | Self::Io { file, .. }
            | Self::TooManyRecords { file }
            | Self::Columns { file, .. } => file,
        }
    }
}

/// What a file's records are checked against, and where they come from.
pub struct FileContext<'a> {
    pub reference: &'a Reference,
    /// The current month in Asia/Ho_Chi_Minh: later periods are rejected.
    pub current_month: Period,
    pub batch_seq: u64,
    pub file_index: u32,
    /// Instant of ingest (µs since the epoch), for filings without submitted_at.
    pub ingest_time_us: i64,
    /// How the file writes numbers (vi-VN only when the upload declares it).
    pub numbers: crate::domain::rules::NumberLocale,
}

/// How a file is written, as its upload declares (defaults: detected).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct InputOptions {
    pub encoding: text::Encoding,
    /// `,`, `;` or a tab; detected from the header line when absent.
    pub delimiter: Option<u8>,
    pub numbers: crate::domain::rules::NumberLocale,
    /// A workbook's sheet to read (default: the first).
    pub sheet: Option<String>,
}

impl InputOptions {
    /// From the names used on the command line and in URLs; `Err` names the
    /// bad one.
    pub fn parse(encoding: Option<&str>, delimiter: Option<&str>, locale: Option<&str>) -> Result<Self, String> {
        let encoding = match encoding {
            None => text::Encoding::Auto,
            Some(e) => text::Encoding::parse(e)
                .ok_or_else(|| format!("encoding {e:?} is not one of {}", text::Encoding::NAMES))?,
        };
        let delimiter = match delimiter.map(|d| {
            if d == "\t" {
                d.to_string()
            } else {
                d.trim().to_ascii_lowercase()
            }
        }) {
            None => None,
            Some(d) => match d.as_str() {
                "" | "auto" => None,
                "," | "comma" => Some(b','),
                ";" | "semicolon" => Some(b';'),
                "\t" | "tab" => Some(b'\t'),
                other => return Err(format!("delimiter {other:?} is not comma, semicolon or tab")),
            },
        };
        Ok(Self {
            encoding,
            delimiter,
            numbers: numbers(locale)?,
            sheet: None,
        })
    }
}

fn numbers(locale: Option<&str>) -> Result<crate::domain::rules::NumberLocale, String> {
    match locale.map(str::trim) {
        None | Some("") => Ok(crate::domain::rules::NumberLocale::Plain),
        Some("vi") | Some("vi-VN") => Ok(crate::domain::rules::NumberLocale::Vi),
        Some(other) => Err(format!("locale {other:?} is not vi")),
    }
}

/// One rejected record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based index of the data record in its file, header excluded.
    pub record: u64,
    pub reason: RejectReason,
    pub message: String,
}

/// The outcome of one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub records: u64,
    pub accepted: u64,
    pub rejected: u64,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub rejections: Vec<Rejection>,
    /// Whether the filings Parquet file was written (it is not when nothing was accepted).
    pub wrote_filings: bool,
    /// Whether the rejections Parquet file was written.
    pub wrote_rejections: bool,
}

/// Reads, validates and writes one file. Accepted records go to
/// `filings_path`, rejected ones with their reasons to `rejections_path`;
/// each file is created only when it has rows. On error the caller discards
/// whatever was written.
pub fn ingest_file(
    input: impl Read + Send,
    format: Format,
    options: &InputOptions,
    name: &str,
    ctx: &FileContext<'_>,
    filings_path: &Path,
    rejections_path: &Path,
) -> Result<FileResult, IngestError> {
    let mut sink = Sink::new(name, ctx, filings_path, rejections_path);
    // Reading (decoding, hashing, splitting into string columns) on a
    // thread of its own while this one validates and writes the chunk
    // before: the two overlap, at most `READ_AHEAD` chunks apart, so memory
    // stays bounded however large the file.
    let (chunks, received) = std::sync::mpsc::sync_channel::<DataFrame>(READ_AHEAD);
    let (sunk, read) = std::thread::scope(|s| {
        let reader = s.spawn(move || {
            let mut hashing = HashingReader {
                inner: input,
                hasher: Sha256::new(),
            };
            read::read_chunks(&mut hashing, format, name, options, &mut |raw| {
                // Refused only once the validating side has stopped on an
                // error of its own, which is the one reported.
                chunks.send(raw).map_err(|_| IngestError::Io {
                    file: name.to_string(),
                    source: std::io::Error::other("validation stopped"),
                })
            })?;
            Ok(crate::util::digest::hex(&hashing.hasher.finalize()))
        });
        // `received` is consumed: on an error it is dropped at once, which
        // ends the reader's next send.
        let sunk = received.into_iter().try_for_each(|raw| sink.chunk(raw));
        let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (sunk, read)
    });
    // Chunks are validated in file order, so an error of the validating
    // side comes from an earlier record than any the reader met after it.
    sunk?;
    sink.finish(read?)
}

/// Chunks read ahead of the one being validated and written.
const READ_AHEAD: usize = 1;

/// Reads and validates a file without writing anything: its records, and
/// how many would be accepted and rejected. The fuzz targets drive the
/// readers and the validator through it.
pub fn check(
    input: impl Read,
    format: Format,
    options: &InputOptions,
    name: &str,
    ctx: &FileContext<'_>,
) -> Result<(u64, u64, u64), IngestError> {
    let (mut records, mut accepted, mut rejected) = (0u64, 0u64, 0u64);
    let columns = columns_error(name);
    let mut on_chunk = |raw: DataFrame| -> Result<(), IngestError> {
        let checked = validate::validate(&raw, ctx).map_err(columns)?;
        let (a, r) = checked.split(&raw, name, ctx).map_err(columns)?;
        records += raw.height() as u64;
        accepted += a.height() as u64;
        rejected += r.height() as u64;
        Ok(())
    };
    let mut input = input;
    read::read_chunks(&mut input, format, name, options, &mut on_chunk)?;
    Ok((records, accepted, rejected))
}

/// Turns a polars error on `file` into the ingest's error.
fn columns_error(file: &str) -> impl Fn(PolarsError) -> IngestError + Copy + '_ {
    move |e| IngestError::Columns {
        file: file.to_string(),
        message: e.to_string(),
    }
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Receives raw chunks, validates them and streams both outputs to Parquet.
struct Sink<'a> {
    name: &'a str,
    ctx: &'a FileContext<'a>,
    filings_path: &'a Path,
    rejections_path: &'a Path,
    filings: Option<BatchedWriter<File>>,
    rejections_writer: Option<BatchedWriter<File>>,
    records: u64,
    accepted: u64,
    rejections: Vec<Rejection>,
}

impl<'a> Sink<'a> {
    fn new(name: &'a str, ctx: &'a FileContext<'a>, filings_path: &'a Path, rejections_path: &'a Path) -> Self {
        Self {
            name,
            ctx,
            filings_path,
            rejections_path,
            filings: None,
            rejections_writer: None,
            records: 0,
            accepted: 0,
            rejections: Vec::new(),
        }
    }

    fn columns_err(&self, e: PolarsError) -> IngestError {
        columns_error(self.name)(e)
    }

    fn chunk(&mut self, raw: DataFrame) -> Result<(), IngestError> {
        let height = raw.height() as u64;
        if self.records + height > MAX_RECORDS_PER_FILE {
            return Err(IngestError::TooManyRecords {
                file: self.name.to_string(),
            });
        }
        let checked = validate::validate(&raw, self.ctx).map_err(|e| self.columns_err(e))?;
        let (accepted, rejected) = checked
            .split(&raw, self.name, self.ctx)
            .map_err(|e| self.columns_err(e))?;
        self.records += height;
        self.accepted += accepted.height() as u64;
        self.rejections.extend(checked.rejections());
        if accepted.height() > 0 {
            for part in laid_out(&accepted).map_err(|e| self.columns_err(e))? {
                write_batch(&mut self.filings, self.filings_path, &part, self.name)?;
            }
        }
        if rejected.height() > 0 {
            write_batch(&mut self.rejections_writer, self.rejections_path, &rejected, self.name)?;
        }
        Ok(())
    }

    fn finish(self, sha256: String) -> Result<FileResult, IngestError> {
        let wrote_filings = self.filings.is_some();
        let wrote_rejections = self.rejections_writer.is_some();
        for (writer, path) in [
            (self.filings, self.filings_path),
            (self.rejections_writer, self.rejections_path),
        ] {
            finish_writer(writer, path, self.name)?;
        }
        Ok(FileResult {
            records: self.records,
            accepted: self.accepted,
            rejected: self.rejections.len() as u64,
            sha256,
            rejections: self.rejections,
            wrote_filings,
            wrote_rejections,
        })
    }
}

/// Accepted filings in the warehouse's layout: sorted by period, district
/// and VSIC code, one part per period, each written as its own row group.
/// A filter on period then skips whole row groups by their statistics, and
/// district and VSIC codes run together within a group (long dictionary
/// runs, tight min/max). A filing's place in the file carries no meaning:
/// its provenance is in its columns.
fn laid_out(df: &DataFrame) -> PolarsResult<Vec<DataFrame>> {
    // One integer per row orders by period, district and VSIC code at once
    // (validated codes are digits): much cheaper than sorting three string
    // columns, and rows of equal keys keep their order.
    let period = df.column("period")?.str()?;
    let district = df.column("district_code")?.str()?;
    let vsic = df.column("vsic_code")?.str()?;
    let digits = |s: Option<&str>| {
        s.map_or(0, |s| {
            s.bytes()
                .filter(u8::is_ascii_digit)
                .fold(0u64, |n, b| n.saturating_mul(10).saturating_add(u64::from(b - b'0')))
        })
    };
    let mut keyed: Vec<(u64, IdxSize)> = period
        .iter()
        .zip(district.iter())
        .zip(vsic.iter())
        .enumerate()
        .map(|(i, ((p, d), v))| {
            // VSIC codes have 4 or 5 digits: padded on the right to 6, so
            // that numbers order as the strings do ("4711" < "47111" < "4712").
            let v = v.map_or(0, |v| digits(Some(v)) * 10u64.pow(6u32.saturating_sub(v.len() as u32)));
            let key = (digits(p).min((1 << 24) - 1) << 40) | (digits(d).min(1023) << 30) | v.min((1 << 30) - 1);
            (key, i as IdxSize)
        })
        .collect();
    keyed.sort_unstable();
    let order = IdxCa::from_vec("order".into(), keyed.iter().map(|(_, i)| *i).collect());
    let sorted = df.take(&order)?;
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..=keyed.len() {
        if i == keyed.len() || keyed[i].0 >> 40 != keyed[start].0 >> 40 {
            let mut part = sorted.slice(start as i64, i - start);
            part.rechunk_mut();
            parts.push(part);
            start = i;
        }
    }
    Ok(parts)
}

/// Merges filings Parquet files (of several batches) into one, in the
/// warehouse's layout (see `laid_out`); every row is kept as it is, its
/// provenance columns included. Returns the rows written. The inputs are
/// read whole: the caller bounds their total size.
pub fn merge_filings(inputs: &[std::path::PathBuf], output: &Path) -> Result<u64, IngestError> {
    let all = read_all(inputs)?;
    let name = output.display().to_string();
    let mut writer = None;
    for part in laid_out(&all).map_err(columns_error(&name))? {
        write_batch(&mut writer, output, &part, &name)?;
    }
    finish_writer(writer, output, &name)?;
    Ok(all.height() as u64)
}

/// Merges superseded-row-ids Parquet files into one (rows as they are).
pub fn merge_row_ids(inputs: &[std::path::PathBuf], output: &Path) -> Result<u64, IngestError> {
    let all = read_all(inputs)?;
    let name = output.display().to_string();
    let mut writer = None;
    write_batch(&mut writer, output, &all, &name)?;
    finish_writer(writer, output, &name)?;
    Ok(all.height() as u64)
}

fn read_all(inputs: &[std::path::PathBuf]) -> Result<DataFrame, IngestError> {
    let mut all: Option<DataFrame> = None;
    for path in inputs {
        let name = path.display().to_string();
        let columns = columns_error(&name);
        let file = File::open(path).map_err(|source| IngestError::Io {
            file: name.clone(),
            source,
        })?;
        let df = ParquetReader::new(file).finish().map_err(columns)?;
        match all.as_mut() {
            None => all = Some(df),
            Some(a) => {
                a.vstack_mut(&df).map_err(columns)?;
            }
        }
    }
    let mut all = all.unwrap_or_default();
    all.rechunk_mut();
    Ok(all)
}

fn finish_writer(writer: Option<BatchedWriter<File>>, path: &Path, name: &str) -> Result<(), IngestError> {
    if let Some(w) = writer {
        w.finish().map_err(columns_error(name))?;
        File::open(path)
            .and_then(|f| f.sync_all())
            .map_err(|source| IngestError::Io {
                file: name.to_string(),
                source,
            })?;
    }
    Ok(())
}

/// Writes the row ids a batch supersedes (one Int64 column `row_id`),
/// durably. Used by the commit, which decides them with the engine.
pub fn write_row_ids(path: &Path, ids: &[i64], superseded_in: u64) -> Result<(), IngestError> {
    let name = path.display().to_string();
    let mut df = DataFrame::new(
        ids.len(),
        vec![
            Int64Chunked::from_slice("row_id".into(), ids).into_column(),
            Int64Chunked::full("superseded_in".into(), superseded_in as i64, ids.len()).into_column(),
        ],
    )
    .map_err(columns_error(&name))?;
    let file = File::create(path).map_err(|source| IngestError::Io {
        file: name.clone(),
        source,
    })?;
    ParquetWriter::new(&file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(columns_error(&name))?;
    file.sync_all().map_err(|source| IngestError::Io { file: name, source })
}

fn write_batch(
    writer: &mut Option<BatchedWriter<File>>,
    path: &Path,
    df: &DataFrame,
    name: &str,
) -> Result<(), IngestError> {
    let columns_err = columns_error(name);
    if writer.is_none() {
        let file = File::create(path).map_err(|source| IngestError::Io {
            file: name.to_string(),
            source,
        })?;
        let w = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .batched(df.schema())
            .map_err(columns_err)?;
        *writer = Some(w);
    }
    writer
        .as_mut()
        .expect("writer was just created")
        .write_batch(df)
        .map_err(columns_err)
}
