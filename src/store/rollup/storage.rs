//! The rollup's files: a version's table, one row group per part named in
//! the file's metadata, its parts read from a descriptor kept open (a file
//! written before parts is read whole); and the plain Parquet writes and
//! reads of the units files. Decides no figure.

use super::cells::{Agg, Cells};
use super::columns::{bad_period, text};
use super::parts::{At, Part, Span};
use super::{Rollup, RollupError, file_err};
use datafusion::arrow::array::{ArrayRef, BinaryArray, Decimal128Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::concat_batches;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// A rollup file kept open, its parts read on first use. The descriptor
/// stays valid when the file is replaced or removed.
#[derive(Debug)]
pub(super) struct Stored {
    path: std::path::PathBuf,
    file: std::sync::Mutex<File>,
    pub(super) metadata: ArrowReaderMetadata,
    /// The parts of its row groups, in order (`None`: a file from before
    /// parts).
    names: Option<Vec<Span>>,
    /// The parts it keeps in earlier files.
    elsewhere: Vec<Elsewhere>,
}

/// A part a rollup file keeps in an earlier one: its name, the file
/// (relative to this file's directory) and the row group there.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Elsewhere {
    part: String,
    file: String,
    row_group: usize,
}

impl Stored {
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    fn open(path: &Path) -> Result<Self, RollupError> {
        let err = file_err(path);
        let file = File::open(path).map_err(|e| err(e.to_string()))?;
        let metadata = ArrowReaderMetadata::load(&file, Default::default()).map_err(|e| err(e.to_string()))?;
        let entry = |key: &str| {
            metadata
                .metadata()
                .file_metadata()
                .key_value_metadata()
                .and_then(|kv| kv.iter().find(|e| e.key == key))
                .and_then(|e| e.value.clone())
        };
        let names: Option<Vec<Span>> = entry(PARTS_KEY)
            .map(|names| {
                names
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(|n| Span::parse(n).ok_or_else(|| err(format!("part {n:?}"))))
                    .collect::<Result<_, _>>()
            })
            .transpose()?;
        if names
            .as_ref()
            .is_some_and(|n| n.len() != metadata.metadata().num_row_groups())
        {
            return Err(err("its parts do not match its row groups".into()));
        }
        let elsewhere = match entry(ELSEWHERE_KEY) {
            Some(json) if names.is_some() => serde_json::from_str(&json).map_err(|e| err(e.to_string()))?,
            Some(_) => return Err(err("parts kept elsewhere without its own parts named".into())),
            None => Vec::new(),
        };
        Ok(Self {
            path: path.to_path_buf(),
            file: std::sync::Mutex::new(file),
            metadata,
            names,
            elsewhere,
        })
    }

    pub(super) fn read_row_group(&self, row_group: usize) -> Result<RecordBatch, RollupError> {
        let err = file_err(&self.path);
        let file = self.file.lock().expect("rollup file lock");
        let input = file.try_clone().map_err(|e| err(e.to_string()))?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(input, self.metadata.clone())
            .with_row_groups(vec![row_group])
            .with_batch_size(self.metadata.metadata().row_group(row_group).num_rows().max(1) as usize)
            .build()
            .map_err(|e| err(e.to_string()))?;
        let batches: Vec<RecordBatch> = reader
            .map(|b| b.map_err(|e| err(e.to_string())))
            .collect::<Result<_, _>>()?;
        concat_batches(&self.metadata.schema().clone(), &batches).map_err(|e| err(e.to_string()))
    }
}

/// The file's key-value entry that names its parts, one row group each.
const PARTS_KEY: &str = "ecomshare.rollup.parts";

/// The file's key-value entry that lists the parts it keeps in earlier
/// files (a JSON array of `Elsewhere`).
const ELSEWHERE_KEY: &str = "ecomshare.rollup.elsewhere";

/// The most earlier files one rollup file keeps parts in; past it, a write
/// copies every part into the new file, so a version is read from a
/// bounded number of files however many commits made it.
pub const MAX_SOURCES: usize = 24;

impl Rollup {
    /// The part `span` as one record batch, sorted by key.
    pub(super) fn part_batch(&self, span: Span, cells: &Cells) -> Result<RecordBatch, RollupError> {
        // A cell with no effective filing counts in no slice: not kept.
        let mut order: Vec<usize> = (0..cells.codes.len()).filter(|i| cells.aggs[*i].filings != 0).collect();
        order.sort_by(|a, b| cells.codes[*a].cmp(&cells.codes[*b]));
        let aggs: Vec<&Agg> = order.iter().map(|i| &cells.aggs[*i]).collect();
        let money = |f: &dyn Fn(&Agg) -> i128| -> Result<ArrayRef, RollupError> {
            Ok(Arc::new(
                aggs.iter()
                    .map(|a| Some(f(a)))
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(38, 0)
                    .map_err(|e| RollupError::Input(e.to_string()))?,
            ))
        };
        let mut bytes = Vec::new();
        let mut offsets = Vec::with_capacity(aggs.len() + 1);
        offsets.push(0i32);
        for a in &aggs {
            a.units.serialize_into(&mut bytes)?;
            offsets.push(i32::try_from(bytes.len()).map_err(|_| RollupError::Input("unit sets over 2 GiB".into()))?);
        }
        let units = BinaryArray::try_new(
            datafusion::arrow::buffer::OffsetBuffer::new(offsets.into()),
            bytes.into(),
            None,
        )
        .map_err(|e| RollupError::Input(e.to_string()))?;
        let codes = |c: usize| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(
                order.iter().map(|i| &*cells.codes[*i][c]),
            ))
        };
        let name = span.name();
        RecordBatch::try_from_iter(vec![
            (
                "period",
                Arc::new(StringArray::from_iter_values(order.iter().map(|_| name.as_str()))) as ArrayRef,
            ),
            ("district_code", codes(0)),
            ("commune_code", codes(1)),
            ("vsic_code", codes(2)),
            ("weighted_total", money(&|a| a.total)?),
            ("weighted_ecommerce", money(&|a| a.ecommerce)?),
            (
                "filings",
                Arc::new(Int64Array::from_iter_values(aggs.iter().map(|a| a.filings))),
            ),
            ("units", Arc::new(units)),
        ])
        .map_err(|e| RollupError::Input(e.to_string()))
    }

    /// Writes the rollup: one row group per part changed since it was read,
    /// and the places of the parts it did not change, which stay in the
    /// earlier files that hold them (named in the file's metadata), so a
    /// commit writes the months it touched, not the whole table. When the
    /// parts kept elsewhere would span more than [`MAX_SOURCES`] files,
    /// every part is written here instead. The quarters and years of the
    /// months changed are brought up to date first.
    pub fn write(&mut self, path: &Path) -> Result<(), RollupError> {
        self.settle_levels()?;
        let err = file_err(path);
        let file = File::create(path).map_err(|e| err(e.to_string()))?;
        let elsewhere = self.kept_elsewhere(path);
        let kept: std::collections::BTreeSet<&str> = elsewhere.iter().map(|e| e.part.as_str()).collect();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(usize::MAX >> 1))
            .build();
        let schema = self.part_batch(Span::Year(0), &Cells::default())?.schema();
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| err(e.to_string()))?;
        let mut names = Vec::new();
        for (span, part) in &self.parts {
            if self.rows(part) == 0 || kept.contains(span.name().as_str()) {
                continue;
            }
            let batch = match (part.cells.get(), &part.at) {
                // A part the commit did not read is copied as stored, one
                // at a time: the whole table is never in memory.
                (None, Some(at)) => {
                    RecordBatch::try_new(schema.clone(), at.file.read_row_group(at.row_group)?.columns().to_vec())
                        .map_err(|e| err(e.to_string()))?
                }
                _ => self.part_batch(*span, self.part(part)?)?,
            };
            writer.write(&batch).map_err(|e| err(e.to_string()))?;
            writer.flush().map_err(|e| err(e.to_string()))?;
            names.push(span.name());
        }
        if self.levels {
            writer.append_key_value_metadata(KeyValue::new(PARTS_KEY.to_string(), names.join(",")));
        }
        if !elsewhere.is_empty() {
            let json = serde_json::to_string(&elsewhere).map_err(|e| err(e.to_string()))?;
            writer.append_key_value_metadata(KeyValue::new(ELSEWHERE_KEY.to_string(), json));
        }
        let file = writer.into_inner().map_err(|e| err(e.to_string()))?;
        file.sync_all().map_err(|e| err(e.to_string()))
    }

    /// The parts a file written at `path` leaves where they are: those not
    /// changed since read from a file with named parts, unless they span
    /// more than [`MAX_SOURCES`] files (or a path cannot be made relative).
    fn kept_elsewhere(&self, path: &Path) -> Vec<Elsewhere> {
        let Some(dir) = path.parent().and_then(|d| std::fs::canonicalize(d).ok()) else {
            return Vec::new();
        };
        let mut files: BTreeMap<&Path, Option<String>> = BTreeMap::new();
        let mut kept = Vec::new();
        for (span, part) in &self.parts {
            let Some(at) = part.at.as_ref().filter(|at| at.file.names.is_some()) else {
                continue;
            };
            if self.rows(part) == 0 {
                continue;
            }
            let file = files
                .entry(&at.file.path)
                .or_insert_with(|| relative(&dir, &at.file.path))
                .clone();
            let Some(file) = file else { return Vec::new() };
            kept.push(Elsewhere {
                part: span.name(),
                file,
                row_group: at.row_group,
            });
        }
        if files.len() > MAX_SOURCES {
            return Vec::new();
        }
        kept
    }

    /// Opens a rollup file: its parts are read when first needed, those it
    /// keeps in earlier files from there. A file without the names of its
    /// parts (written before parts: one row group, months only) is read
    /// whole, its months only.
    pub fn read(path: &Path) -> Result<Self, RollupError> {
        let err = file_err(path);
        let stored = Arc::new(Stored::open(path)?);
        let mut r = Self::default();
        match &stored.names {
            Some(spans) => {
                for (row_group, span) in spans.iter().enumerate() {
                    let part = Part {
                        cells: OnceLock::new(),
                        at: Some(At {
                            file: stored.clone(),
                            row_group,
                        }),
                    };
                    r.parts.insert(*span, part);
                }
                r.levels = true;
                let dir = path.parent().unwrap_or(Path::new(""));
                let mut earlier: BTreeMap<String, Arc<Stored>> = BTreeMap::new();
                for e in &stored.elsewhere {
                    let span = Span::parse(&e.part).ok_or_else(|| err(format!("part {:?}", e.part)))?;
                    let file = match earlier.get(&e.file) {
                        Some(file) => file.clone(),
                        None => {
                            let file = Arc::new(Stored::open(&dir.join(&e.file))?);
                            earlier.insert(e.file.clone(), file.clone());
                            file
                        }
                    };
                    // The earlier file must hold that part at that row group.
                    let named = file.names.as_ref().and_then(|n| n.get(e.row_group));
                    if named != Some(&span) {
                        return Err(err(format!(
                            "part {} is not at row group {} of {}",
                            e.part, e.row_group, e.file
                        )));
                    }
                    let part = Part {
                        cells: OnceLock::new(),
                        at: Some(At {
                            file,
                            row_group: e.row_group,
                        }),
                    };
                    if r.parts.insert(span, part).is_some() {
                        return Err(err(format!("part {} is named twice", e.part)));
                    }
                }
            }
            None => {
                for row_group in 0..stored.metadata.metadata().num_row_groups() {
                    let batch = stored.read_row_group(row_group)?;
                    let period = text(&batch, "period")?;
                    let mut start = 0;
                    while start < batch.num_rows() {
                        let name = period.value(start);
                        let span = Span::parse(name).ok_or_else(|| bad_period(name))?;
                        let mut end = start;
                        while end < batch.num_rows() && period.value(end) == name {
                            end += 1;
                        }
                        // Quarters and years without the file's names of
                        // its parts are not trusted: the months are read,
                        // and the next write makes them again.
                        let Span::Month(month) = span else {
                            start = end;
                            continue;
                        };
                        let more = Cells::from_batch(&batch, start..end)?;
                        let cells = r.part_mut(Span::Month(month))?;
                        cells.codes.extend(more.codes);
                        cells.aggs.extend(more.aggs);
                        cells.index = None;
                        start = end;
                    }
                }
            }
        }
        Ok(r)
    }
}

/// `to` as a path relative to the directory `dir` (both made canonical).
fn relative(dir: &Path, to: &Path) -> Option<String> {
    let to = std::fs::canonicalize(to).ok()?;
    let (a, b): (Vec<_>, Vec<_>) = (dir.components().collect(), to.components().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut rel = std::path::PathBuf::new();
    for _ in common..a.len() {
        rel.push("..");
    }
    for c in &b[common..] {
        rel.push(c);
    }
    rel.to_str().map(str::to_string)
}

pub(super) fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<(), RollupError> {
    let err = file_err(path);
    let file = File::create(path).map_err(|e| err(e.to_string()))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| err(e.to_string()))?;
    writer.write(batch).map_err(|e| err(e.to_string()))?;
    let file = writer.into_inner().map_err(|e| err(e.to_string()))?;
    file.sync_all().map_err(|e| err(e.to_string()))
}

/// The number of row groups of a Parquet file (from its footer).
pub(super) fn row_groups(path: &Path) -> Result<usize, RollupError> {
    let err = file_err(path);
    let file = File::open(path).map_err(|e| err(e.to_string()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(e.to_string()))?;
    Ok(builder.metadata().num_row_groups())
}

/// One row group of a Parquet file, or all of them (`None`).
pub(super) fn read_row_groups(path: &Path, row_group: Option<usize>) -> Result<Vec<RecordBatch>, RollupError> {
    let err = file_err(path);
    let file = File::open(path).map_err(|e| err(e.to_string()))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(e.to_string()))?;
    if let Some(g) = row_group {
        builder = builder.with_row_groups(vec![g]);
    }
    let reader = builder.build().map_err(|e| err(e.to_string()))?;
    reader.map(|b| b.map_err(|e| err(e.to_string()))).collect()
}
