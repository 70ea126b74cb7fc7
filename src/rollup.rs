//! Rollups: the exact aggregates of a dataset version's effective filings
//! by period × district × VSIC code — Σ weight × total revenue and
//! Σ weight × e-commerce revenue (micro-đồng, `i128`), the effective filing
//! count, and the set of reporting units as a roaring bitmap over a unit
//! dictionary, so that any union of cells counts distinct units exactly.
//!
//! Kept at each commit next to the raw data (`batches/N/rollup.parquet`, the
//! whole table of version N; `batches/N/units.parquet`, the units first seen
//! in batch N, whose positions across batches are the dictionary), and
//! updated from the previous version's: a batch's filings are added, the
//! filings they supersede subtracted. A cell's unit set only grows: a unit is
//! in a cell exactly when one of its keys (unit, district, VSIC code,
//! period) falls in the cell, and a key, once filed, always has a filing in
//! force. Any slice of the share API is answered from the cells, with the
//! same figures as the scan of the raw filings.
//!
//! Plain data in and out (Arrow record batches, Parquet files); no engine,
//! no HTTP.

use crate::domain::{Breakdown, Cell, Dim, Figures, Period, Reference, Slice, WeightedVnd};
use datafusion::arrow::array::{Array, ArrayRef, BinaryArray, Decimal128Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use roaring::RoaringBitmap;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RollupError {
    #[error("rollup file {file}: {message}")]
    File { file: String, message: String },
    #[error("rollup input: {0}")]
    Input(String),
}

impl RollupError {
    pub fn code(&self) -> &'static str {
        "rollup_failed"
    }
}

fn file_err(path: &Path) -> impl Fn(String) -> RollupError + '_ {
    move |message| RollupError::File {
        file: path.display().to_string(),
        message,
    }
}

/// A cell: one month, district and VSIC code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub period: String,
    pub district: String,
    pub vsic: String,
}

/// A cell's aggregates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Agg {
    /// Σ total revenue × weight_micro (micro-đồng).
    pub total: i128,
    pub ecommerce: i128,
    pub filings: i64,
    pub units: RoaringBitmap,
}

impl Agg {
    fn merge(&mut self, other: &Agg) {
        self.total += other.total;
        self.ecommerce += other.ecommerce;
        self.filings += other.filings;
        self.units |= &other.units;
    }

    fn figures(&self) -> Figures {
        Figures {
            total: WeightedVnd::from_micro(self.total),
            ecommerce: WeightedVnd::from_micro(self.ecommerce),
            filings: self.filings as u64,
            units: self.units.len(),
        }
    }
}

/// The unit ids of a dataset, each with its position (the bitmaps' bits).
#[derive(Debug, Default, Clone)]
pub struct UnitDictionary {
    index: HashMap<String, u32>,
    /// Units first seen since the dictionary was read, in index order.
    added: Vec<String>,
}

impl UnitDictionary {
    /// Reads the dictionary from its per-batch files, in batch order.
    pub fn read(files: &[impl AsRef<Path>]) -> Result<Self, RollupError> {
        let mut d = Self::default();
        for f in files {
            for batch in read_parquet(f.as_ref())? {
                let ids = strings(batch.column(0))?;
                for i in 0..ids.len() {
                    let next = d.index.len() as u32;
                    d.index.insert(ids.value(i).to_string(), next);
                }
            }
        }
        Ok(d)
    }

    /// The position of `unit`, assigning the next one to a unit not seen yet.
    pub fn index_of(&mut self, unit: &str) -> Result<u32, RollupError> {
        if let Some(i) = self.index.get(unit) {
            return Ok(*i);
        }
        let next =
            u32::try_from(self.index.len()).map_err(|_| RollupError::Input("more than 2^32 distinct units".into()))?;
        self.index.insert(unit.to_string(), next);
        self.added.push(unit.to_string());
        Ok(next)
    }

    /// Writes the units added since the dictionary was read.
    pub fn write_added(&self, path: &Path) -> Result<(), RollupError> {
        let batch = RecordBatch::try_from_iter(vec![(
            "unit_id",
            Arc::new(StringArray::from_iter_values(self.added.iter())) as ArrayRef,
        )])
        .map_err(|e| RollupError::Input(e.to_string()))?;
        write_parquet(path, &batch)
    }

    pub fn added(&self) -> usize {
        self.added.len()
    }
}

/// The columns a batch of filings must have to be added or subtracted:
/// unit_id, district_code, vsic_code, period, total_revenue_vnd,
/// ecommerce_revenue_vnd, weight_micro (by name, any order, more allowed).
pub const INPUT_COLUMNS: [&str; 7] = [
    "unit_id",
    "district_code",
    "vsic_code",
    "period",
    "total_revenue_vnd",
    "ecommerce_revenue_vnd",
    "weight_micro",
];

/// The aggregates of one dataset version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    cells: HashMap<CellKey, Agg>,
}

fn strings(a: &ArrayRef) -> Result<StringArray, RollupError> {
    let utf8 = cast(a, &DataType::Utf8).map_err(|e| RollupError::Input(e.to_string()))?;
    Ok(utf8
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8 gives a StringArray")
        .clone())
}

fn ints<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array, RollupError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| RollupError::Input(format!("no BIGINT column {name}")))
}

fn text(batch: &RecordBatch, name: &str) -> Result<StringArray, RollupError> {
    strings(
        batch
            .column_by_name(name)
            .ok_or_else(|| RollupError::Input(format!("no column {name}")))?,
    )
}

impl Rollup {
    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    /// Adds (`sign` = 1) or subtracts (`sign` = −1) a batch of filings.
    /// Subtracting leaves unit sets as they are (see the module comment).
    pub fn apply(&mut self, batch: &RecordBatch, units: &mut UnitDictionary, sign: i8) -> Result<(), RollupError> {
        let unit = text(batch, "unit_id")?;
        let district = text(batch, "district_code")?;
        let vsic = text(batch, "vsic_code")?;
        let period = text(batch, "period")?;
        let total = ints(batch, "total_revenue_vnd")?;
        let ecommerce = ints(batch, "ecommerce_revenue_vnd")?;
        let weight = ints(batch, "weight_micro")?;
        for i in 0..batch.num_rows() {
            let key = CellKey {
                period: period.value(i).to_string(),
                district: district.value(i).to_string(),
                vsic: vsic.value(i).to_string(),
            };
            let w = i128::from(weight.value(i));
            let agg = self.cells.entry(key).or_default();
            let (t, e) = (i128::from(total.value(i)) * w, i128::from(ecommerce.value(i)) * w);
            if sign > 0 {
                agg.total += t;
                agg.ecommerce += e;
                agg.filings += 1;
                agg.units.insert(units.index_of(unit.value(i))?);
            } else {
                agg.total -= t;
                agg.ecommerce -= e;
                agg.filings -= 1;
            }
        }
        Ok(())
    }

    /// The table as one record batch, sorted by key.
    pub fn to_batch(&self) -> Result<RecordBatch, RollupError> {
        let mut keys: Vec<&CellKey> = self.cells.keys().collect();
        keys.sort();
        let agg = |k: &&CellKey| &self.cells[*k];
        let money = |f: &dyn Fn(&Agg) -> i128| -> Result<ArrayRef, RollupError> {
            Ok(Arc::new(
                keys.iter()
                    .map(|k| Some(f(agg(k))))
                    .collect::<Decimal128Array>()
                    .with_precision_and_scale(38, 0)
                    .map_err(|e| RollupError::Input(e.to_string()))?,
            ))
        };
        let mut blobs = Vec::with_capacity(keys.len());
        for k in &keys {
            let mut buf = Vec::with_capacity(agg(k).units.serialized_size());
            agg(k)
                .units
                .serialize_into(&mut buf)
                .map_err(|e| RollupError::Input(e.to_string()))?;
            blobs.push(buf);
        }
        RecordBatch::try_from_iter(vec![
            (
                "period",
                Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.period.as_str()))) as ArrayRef,
            ),
            (
                "district_code",
                Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.district.as_str()))),
            ),
            (
                "vsic_code",
                Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.vsic.as_str()))),
            ),
            ("weighted_total", money(&|a| a.total)?),
            ("weighted_ecommerce", money(&|a| a.ecommerce)?),
            (
                "filings",
                Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| agg(k).filings))),
            ),
            (
                "units",
                Arc::new(BinaryArray::from_iter_values(blobs.iter().map(Vec::as_slice))),
            ),
        ])
        .map_err(|e| RollupError::Input(e.to_string()))
    }

    pub fn write(&self, path: &Path) -> Result<(), RollupError> {
        write_parquet(path, &self.to_batch()?)
    }

    pub fn read(path: &Path) -> Result<Self, RollupError> {
        let mut r = Self::default();
        for batch in read_parquet(path)? {
            let bad = |m: &str| file_err(path)(m.to_string());
            let period = text(&batch, "period")?;
            let district = text(&batch, "district_code")?;
            let vsic = text(&batch, "vsic_code")?;
            let dec = |name: &str| {
                batch
                    .column_by_name(name)
                    .and_then(|c| c.as_any().downcast_ref::<Decimal128Array>().cloned())
                    .ok_or_else(|| bad(&format!("no DECIMAL column {name}")))
            };
            let (total, ecommerce) = (dec("weighted_total")?, dec("weighted_ecommerce")?);
            let filings = ints(&batch, "filings")?;
            let units = batch
                .column_by_name("units")
                .and_then(|c| c.as_any().downcast_ref::<BinaryArray>())
                .ok_or_else(|| bad("no BINARY column units"))?;
            for i in 0..batch.num_rows() {
                let bitmap = RoaringBitmap::deserialize_from(units.value(i)).map_err(|e| bad(&e.to_string()))?;
                r.cells.insert(
                    CellKey {
                        period: period.value(i).to_string(),
                        district: district.value(i).to_string(),
                        vsic: vsic.value(i).to_string(),
                    },
                    Agg {
                        total: total.value(i),
                        ecommerce: ecommerce.value(i),
                        filings: filings.value(i),
                        units: bitmap,
                    },
                );
            }
        }
        Ok(r)
    }

    /// The first and last month with an effective filing.
    pub fn period_range(&self) -> Option<(Period, Period)> {
        let periods = self.cells.iter().filter(|(_, a)| a.filings > 0).map(|(k, _)| &k.period);
        let lo = periods.clone().min()?;
        let hi = periods.max()?;
        Some((Period::parse(lo)?, Period::parse(hi)?))
    }

    /// The figures of every group of `slice.by` with effective filings,
    /// sorted by keys (nulls last), and of the whole slice — as the engine's
    /// scan of the raw filings gives them. Sector groups come from
    /// `reference` (a VSIC code it does not know has no sector).
    pub fn breakdown(&self, slice: &Slice, reference: &Reference) -> Breakdown {
        let (from, to) = (slice.from.to_string(), slice.to.to_string());
        let mut groups: HashMap<Vec<Option<String>>, Agg> = HashMap::new();
        let mut total = Agg::default();
        for (k, a) in &self.cells {
            if a.filings == 0 || k.period < from || k.period > to {
                continue;
            }
            if !slice.districts.is_empty() && !slice.districts.contains(&k.district) {
                continue;
            }
            if !slice.vsic.is_empty() && !slice.vsic.contains(&k.vsic) {
                continue;
            }
            let sector = reference.vsic(&k.vsic).map(|v| v.group_code.as_str());
            if !slice.sectors.is_empty() && !sector.is_some_and(|s| slice.sectors.iter().any(|x| x == s)) {
                continue;
            }
            total.merge(a);
            if slice.by.is_empty() {
                continue;
            }
            let keys: Vec<Option<String>> = slice
                .by
                .iter()
                .map(|d| match d {
                    Dim::District => Some(k.district.clone()),
                    Dim::Sector => sector.map(str::to_string),
                    Dim::Vsic => Some(k.vsic.clone()),
                    Dim::Period => Some(k.period.clone()),
                    Dim::Quarter => Period::parse(&k.period).map(|p| p.quarter().to_string()),
                    Dim::Year => Some(k.period[..4].to_string()),
                })
                .collect();
            groups.entry(keys).or_default().merge(a);
        }
        let mut cells: Vec<Cell> = groups
            .into_iter()
            .map(|(keys, a)| Cell {
                keys,
                figures: a.figures(),
            })
            .collect();
        cells.sort_by(|a, b| nulls_last(&a.keys, &b.keys));
        Breakdown {
            cells,
            total: total.figures(),
        }
    }
}

/// Orders keys element by element, a missing key after any present one.
fn nulls_last(a: &[Option<String>], b: &[Option<String>]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<(), RollupError> {
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

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, RollupError> {
    let err = file_err(path);
    let file = File::open(path).map_err(|e| err(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| err(e.to_string()))?
        .build()
        .map_err(|e| err(e.to_string()))?;
    reader.map(|b| b.map_err(|e| err(e.to_string()))).collect()
}

/// The schema `apply` reads (for callers that build input batches).
pub fn input_schema() -> Arc<Schema> {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    let i = |n: &str| Field::new(n, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        s("unit_id"),
        s("district_code"),
        s("vsic_code"),
        s("period"),
        i("total_revenue_vnd"),
        i("ecommerce_revenue_vnd"),
        i("weight_micro"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::builtin_reference;

    type Filing<'a> = (&'a str, &'a str, &'a str, &'a str, i64, i64, i64);

    fn filings(rows: &[Filing<'_>]) -> RecordBatch {
        let text = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from_iter_values(v)) };
        let int = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from_iter_values(v)) };
        RecordBatch::try_new(
            input_schema(),
            vec![
                text(rows.iter().map(|r| r.0).collect()),
                text(rows.iter().map(|r| r.1).collect()),
                text(rows.iter().map(|r| r.2).collect()),
                text(rows.iter().map(|r| r.3).collect()),
                int(rows.iter().map(|r| r.4).collect()),
                int(rows.iter().map(|r| r.5).collect()),
                int(rows.iter().map(|r| r.6).collect()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_revision_subtracts_what_it_supersedes_and_units_stay_exact() {
        let mut units = UnitDictionary::default();
        let mut r = Rollup::default();
        let v1 = filings(&[
            ("u1", "380", "4711", "2025-01", 1000, 100, 1_000_000),
            ("u2", "380", "4711", "2025-01", 500, 50, 2_500_000),
            ("u1", "381", "4711", "2025-02", 700, 7, 1_000_000),
        ]);
        r.apply(&v1, &mut units, 1).unwrap();
        // u1 revises its January filing.
        let revised = filings(&[("u1", "380", "4711", "2025-01", 2000, 300, 1_000_000)]);
        let superseded = filings(&[("u1", "380", "4711", "2025-01", 1000, 100, 1_000_000)]);
        r.apply(&revised, &mut units, 1).unwrap();
        r.apply(&superseded, &mut units, -1).unwrap();

        let reference = builtin_reference();
        let slice = Slice {
            from: Period::parse("2025-01").unwrap(),
            to: Period::parse("2025-02").unwrap(),
            by: vec![Dim::District],
            districts: vec![],
            sectors: vec![],
            vsic: vec![],
        };
        let b = r.breakdown(&slice, &reference);
        assert_eq!(b.cells.len(), 2);
        let jan = &b.cells[0].figures;
        assert_eq!(jan.total.micro(), 2000 * 1_000_000 + 500 * 2_500_000);
        assert_eq!(jan.ecommerce.micro(), 300 * 1_000_000 + 50 * 2_500_000);
        assert_eq!((jan.filings, jan.units), (2, 2));
        assert_eq!((b.total.filings, b.total.units), (3, 2), "u1 counted once across cells");

        // The table survives a round trip through its file.
        let dir = tempfile::tempdir().unwrap();
        r.write(&dir.path().join("r.parquet")).unwrap();
        assert_eq!(Rollup::read(&dir.path().join("r.parquet")).unwrap(), r);
        units.write_added(&dir.path().join("u.parquet")).unwrap();
        let mut again = UnitDictionary::read(&[dir.path().join("u.parquet")]).unwrap();
        assert_eq!(again.index_of("u2").unwrap(), 1);
        assert_eq!(again.added(), 0);
    }

    #[test]
    fn keys_sort_with_missing_ones_last() {
        let mut keys = [vec![None], vec![Some("B".to_string())], vec![Some("A".to_string())]];
        keys.sort_by(|a, b| nulls_last(a, b));
        assert_eq!(keys[0], vec![Some("A".to_string())]);
        assert_eq!(keys[2], vec![None]);
    }
}
