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
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, Decimal128Array, Int64Array, RecordBatch, StringArray, StringViewArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use roaring::{MultiOps, RoaringBitmap};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
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

/// A cell: one month, district, commune (empty before the 2025 reform) and
/// VSIC code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    pub period: String,
    pub district: String,
    pub commune: String,
    pub vsic: String,
}

/// The codes of a cell within a month.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct CellCodes {
    pub district: String,
    /// Empty before the 2025 reform.
    pub commune: String,
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

/// The unit ids of a dataset, each with its position (the bitmaps' bits).
#[derive(Debug, Default, Clone)]
pub struct UnitDictionary {
    index: FastMap<String, u32>,
    /// Units met since the last `settle`, by provisional position.
    provisional: FastMap<String, u32>,
    /// (district, VSIC code, unit) of each provisional unit's first filing.
    first_seen: Vec<(String, String, String)>,
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

    /// The position of `unit`, or for a unit not seen yet a provisional one
    /// (from the dictionary's size on), kept with the district and VSIC code
    /// of its first filing until [`Rollup::settle_units`] numbers it for good.
    fn position(&mut self, unit: &str, district: &str, vsic: &str) -> Result<u32, RollupError> {
        if let Some(i) = self.index.get(unit) {
            return Ok(*i);
        }
        if let Some(i) = self.provisional.get(unit) {
            return Ok(*i);
        }
        let next = u32::try_from(self.index.len() + self.first_seen.len())
            .map_err(|_| RollupError::Input("more than 2^32 distinct units".into()))?;
        self.provisional.insert(unit.to_string(), next);
        self.first_seen
            .push((district.to_string(), vsic.to_string(), unit.to_string()));
        Ok(next)
    }

    /// Numbers the provisional units in (district, VSIC code, unit) order —
    /// the units of a cell then sit in a few runs of consecutive positions,
    /// which keeps unit sets small and their unions fast — and returns the
    /// final position of each provisional one (indexed from the first).
    fn settle(&mut self) -> Result<Vec<u32>, RollupError> {
        let base = self.index.len() as u32;
        let mut order: Vec<usize> = (0..self.first_seen.len()).collect();
        order.sort_unstable_by(|a, b| self.first_seen[*a].cmp(&self.first_seen[*b]));
        let mut remap = vec![0u32; order.len()];
        for (rank, provisional) in order.into_iter().enumerate() {
            remap[provisional] = base + rank as u32;
        }
        let mut named: Vec<(u32, String)> = std::mem::take(&mut self.first_seen)
            .into_iter()
            .zip(&remap)
            .map(|((_, _, unit), position)| (*position, unit))
            .collect();
        named.sort_unstable();
        self.provisional.clear();
        for (position, unit) in named {
            debug_assert_eq!(position as usize, self.index.len());
            self.index.insert(unit.clone(), position);
            self.added.push(unit);
        }
        Ok(remap)
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
/// unit_id, district_code, commune_code (null or empty before the 2025
/// reform), vsic_code, period, total_revenue_vnd, ecommerce_revenue_vnd,
/// weight_micro (by name, any order, more allowed).
pub const INPUT_COLUMNS: [&str; 8] = [
    "unit_id",
    "district_code",
    "commune_code",
    "vsic_code",
    "period",
    "total_revenue_vnd",
    "ecommerce_revenue_vnd",
    "weight_micro",
];

/// A fast, non-cryptographic hasher (FxHash's mixing) for the commit's
/// per-filing lookups: keys are validated codes and tax numbers, not
/// adversarial input, and SipHash would be most of the rollup's cost.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// Small integer ids for the codes of one key column.
#[derive(Debug, Clone, Default)]
struct Interner(FastMap<String, u64>);

impl Interner {
    fn id(&mut self, s: &str) -> u64 {
        if let Some(i) = self.0.get(s) {
            return *i;
        }
        let next = self.0.len() as u64;
        self.0.insert(s.to_string(), next);
        next
    }
}

/// The aggregates of one dataset version.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    keys: Vec<CellKey>,
    aggs: Vec<Agg>,
    /// Cell position by (period, district, commune, VSIC) ids packed in 32
    /// bits each.
    index: FastMap<u128, usize>,
    periods: Interner,
    districts: Interner,
    communes: Interner,
    vsics: Interner,
    /// The same figures by period × district only (VSIC code empty), made
    /// on first use: slices with no sector or VSIC code in them are
    /// answered from these ~60 times fewer cells.
    coarse: std::sync::OnceLock<Box<Rollup>>,
    /// The months of the filings applied since this rollup was read.
    touched: std::collections::BTreeSet<String>,
}

impl PartialEq for Rollup {
    fn eq(&self, other: &Self) -> bool {
        self.sorted() == other.sorted()
    }
}

/// A string column, as stored (`Utf8`) or as DataFusion reads it
/// (`Utf8View`), or absent (every value empty). A null reads as empty.
enum Text {
    Utf8(StringArray),
    View(StringViewArray),
    Absent(usize),
}

impl Text {
    fn value(&self, i: usize) -> &str {
        match self {
            Text::Utf8(a) if a.is_valid(i) => a.value(i),
            Text::View(a) if a.is_valid(i) => a.value(i),
            _ => "",
        }
    }

    fn len(&self) -> usize {
        match self {
            Text::Utf8(a) => a.len(),
            Text::View(a) => a.len(),
            Text::Absent(n) => *n,
        }
    }
}

fn strings(a: &ArrayRef) -> Result<Text, RollupError> {
    if let Some(v) = a.as_any().downcast_ref::<StringViewArray>() {
        return Ok(Text::View(v.clone()));
    }
    let utf8 = cast(a, &DataType::Utf8).map_err(|e| RollupError::Input(e.to_string()))?;
    Ok(Text::Utf8(
        utf8.as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8 gives a StringArray")
            .clone(),
    ))
}

fn ints<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array, RollupError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| RollupError::Input(format!("no BIGINT column {name}")))
}

fn text(batch: &RecordBatch, name: &str) -> Result<Text, RollupError> {
    strings(
        batch
            .column_by_name(name)
            .ok_or_else(|| RollupError::Input(format!("no column {name}")))?,
    )
}

/// A column written only since the 2025 reform's communes: empty when absent.
fn commune_text(batch: &RecordBatch) -> Result<Text, RollupError> {
    match batch.column_by_name("commune_code") {
        Some(c) => strings(c),
        None => Ok(Text::Absent(batch.num_rows())),
    }
}

impl Rollup {
    pub fn cells(&self) -> usize {
        self.keys.len()
    }

    /// The cells in key order.
    fn sorted(&self) -> Vec<(&CellKey, &Agg)> {
        let mut cells: Vec<(&CellKey, &Agg)> = self.keys.iter().zip(&self.aggs).collect();
        cells.sort_by(|a, b| a.0.cmp(b.0));
        cells
    }

    /// The position of cell (period, district, commune, vsic), created
    /// empty if new.
    fn slot(&mut self, period: &str, district: &str, commune: &str, vsic: &str) -> usize {
        let id = |i: u64| u128::from(i as u32);
        let key = (id(self.periods.id(period)) << 96)
            | (id(self.districts.id(district)) << 64)
            | (id(self.communes.id(commune)) << 32)
            | id(self.vsics.id(vsic));
        if let Some(i) = self.index.get(&key) {
            return *i;
        }
        self.keys.push(CellKey {
            period: period.to_string(),
            district: district.to_string(),
            commune: commune.to_string(),
            vsic: vsic.to_string(),
        });
        self.aggs.push(Agg::default());
        self.index.insert(key, self.aggs.len() - 1);
        self.aggs.len() - 1
    }

    /// Adds (`sign` = 1) or subtracts (`sign` = −1) a batch of filings.
    /// Subtracting leaves unit sets as they are (see the module comment).
    pub fn apply(&mut self, batch: &RecordBatch, units: &mut UnitDictionary, sign: i8) -> Result<(), RollupError> {
        let unit = text(batch, "unit_id")?;
        let district = text(batch, "district_code")?;
        let commune = commune_text(batch)?;
        let vsic = text(batch, "vsic_code")?;
        let period = text(batch, "period")?;
        let total = ints(batch, "total_revenue_vnd")?;
        let ecommerce = ints(batch, "ecommerce_revenue_vnd")?;
        let weight = ints(batch, "weight_micro")?;
        let mut last_period = None;
        for i in 0..batch.num_rows() {
            // Filings come sorted by month: a set lookup per change only.
            if last_period != Some(period.value(i)) {
                last_period = Some(period.value(i));
                if !self.touched.contains(period.value(i)) {
                    self.touched.insert(period.value(i).to_string());
                }
            }
            let slot = self.slot(period.value(i), district.value(i), commune.value(i), vsic.value(i));
            let w = i128::from(weight.value(i));
            let (t, e) = (i128::from(total.value(i)) * w, i128::from(ecommerce.value(i)) * w);
            if sign > 0 {
                let u = units.position(unit.value(i), district.value(i), vsic.value(i))?;
                let agg = &mut self.aggs[slot];
                agg.total += t;
                agg.ecommerce += e;
                agg.filings += 1;
                agg.units.insert(u);
            } else {
                let agg = &mut self.aggs[slot];
                agg.total -= t;
                agg.ecommerce -= e;
                agg.filings -= 1;
            }
        }
        Ok(())
    }

    /// The months of the filings added or subtracted since this rollup
    /// was read: the months whose figures the batch changed.
    pub fn touched_periods(&self) -> Vec<String> {
        self.touched.iter().cloned().collect()
    }

    /// Gives the units first met in the filings added since the last call
    /// their final positions (see `UnitDictionary`), renumbering them in the
    /// cells' unit sets, and stores each set in its most compact form.
    pub fn settle_units(&mut self, units: &mut UnitDictionary) -> Result<(), RollupError> {
        let base = units.index.len() as u32;
        let remap = units.settle()?;
        for a in &mut self.aggs {
            if a.units.max().is_some_and(|m| m >= base) {
                let mut moved: Vec<u32> = a
                    .units
                    .iter()
                    .filter(|u| *u >= base)
                    .map(|u| remap[(u - base) as usize])
                    .collect();
                moved.sort_unstable();
                a.units.remove_range(base..);
                a.units |= RoaringBitmap::from_sorted_iter(moved).expect("sorted positions");
            }
            a.units.optimize();
        }
        Ok(())
    }

    /// The table as one record batch, sorted by key.
    pub fn to_batch(&self) -> Result<RecordBatch, RollupError> {
        let cells = self.sorted();
        let keys: Vec<&CellKey> = cells.iter().map(|c| c.0).collect();
        let aggs: std::collections::HashMap<&CellKey, &Agg> = cells.iter().copied().collect();
        let agg = |k: &&CellKey| aggs[*k];
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
                "commune_code",
                Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.commune.as_str()))),
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
            let commune = commune_text(&batch)?;
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
                let mut bitmap = RoaringBitmap::deserialize_from(units.value(i)).map_err(|e| bad(&e.to_string()))?;
                // Runs keep the file small; unions are much faster without
                // them (merging run containers is quadratic in the runs).
                bitmap.remove_run_compression();
                let slot = r.slot(period.value(i), district.value(i), commune.value(i), vsic.value(i));
                r.aggs[slot] = Agg {
                    total: total.value(i),
                    ecommerce: ecommerce.value(i),
                    filings: filings.value(i),
                    units: bitmap,
                };
            }
        }
        Ok(r)
    }

    /// The first and last month with an effective filing.
    pub fn period_range(&self) -> Option<(Period, Period)> {
        let periods = self
            .keys
            .iter()
            .zip(&self.aggs)
            .filter(|(_, a)| a.filings > 0)
            .map(|(k, _)| &k.period);
        let lo = periods.clone().min()?;
        let hi = periods.max()?;
        Some((Period::parse(lo)?, Period::parse(hi)?))
    }

    /// The figures of every group of `slice.by` with effective filings,
    /// sorted by keys (nulls last), and of the whole slice — as the engine's
    /// scan of the raw filings gives them. Sector groups come from
    /// `reference` (a VSIC code it does not know has no sector).
    ///
    /// One pass over the cells with borrowed keys (no allocation per cell),
    /// then one multi-way union of unit sets per group.
    pub fn breakdown(&self, slice: &Slice, reference: &Reference) -> Breakdown {
        let by_area_and_time = slice.sectors.is_empty()
            && slice.vsic.is_empty()
            && !slice
                .by
                .iter()
                .any(|d| matches!(d, Dim::Sector | Dim::Vsic | Dim::Commune));
        if by_area_and_time {
            self.coarse().scan(slice, reference)
        } else {
            self.scan(slice, reference)
        }
    }

    /// The period × district level of this rollup.
    fn coarse(&self) -> &Rollup {
        self.coarse.get_or_init(|| {
            let mut groups: HashMap<(&str, &str), Group<'_>> = HashMap::new();
            for (k, a) in self.keys.iter().zip(&self.aggs) {
                groups.entry((&k.period, &k.district)).or_default().add(a);
            }
            let mut coarse = Rollup::default();
            for ((period, district), g) in groups {
                let slot = coarse.slot(period, district, "", "");
                coarse.aggs[slot] = g.into_agg();
            }
            Box::new(coarse)
        })
    }

    fn scan(&self, slice: &Slice, reference: &Reference) -> Breakdown {
        let (from, to) = (slice.from.to_string(), slice.to.to_string());
        let by = &slice.by;
        let mut groups: HashMap<GroupKey<'_>, Group<'_>> = HashMap::new();
        let mut total = Group::default();
        for (k, a) in self.keys.iter().zip(&self.aggs) {
            if a.filings == 0 {
                continue;
            }
            let Some(key) = group_key(
                slice,
                reference,
                (&from, &to),
                &k.period,
                (&k.district, &k.commune, &k.vsic),
            ) else {
                continue;
            };
            if by.is_empty() {
                total.add(a);
                continue;
            }
            groups.entry(key).or_default().add(a);
        }
        // Each group's units are united once; the total's units are the
        // union of the groups' (not of every cell again).
        let groups: Vec<(GroupKey<'_>, Agg)> = groups.into_iter().map(|(k, g)| (k, g.into_agg())).collect();
        let total = if by.is_empty() {
            total.into_agg()
        } else {
            let mut t = Group::default();
            for (_, a) in &groups {
                t.add(a);
            }
            t.into_agg()
        };
        let mut cells: Vec<Cell> = groups
            .iter()
            .map(|(key, a)| Cell {
                keys: key[..by.len()].iter().copied().map(KeyPart::to_key).collect(),
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

impl Agg {
    fn figures(&self) -> Figures {
        Figures {
            total: WeightedVnd::from_micro(self.total),
            ecommerce: WeightedVnd::from_micro(self.ecommerce),
            filings: self.filings as u64,
            units: self.units.len(),
        }
    }
}

/// At most this many dimensions in a breakdown (each of `Dim` once).
const MAX_DIMS: usize = Dim::ALL.len();

/// The keys (in `slice.by` order) of the group that the cell `codes` of
/// month `period` falls in, or `None` when the slice leaves the cell out —
/// the grouping of [`Rollup::breakdown`].
pub fn group_of(slice: &Slice, reference: &Reference, period: &str, codes: &CellCodes) -> Option<Vec<Option<String>>> {
    let (from, to) = (slice.from.to_string(), slice.to.to_string());
    let cell = (codes.district.as_str(), codes.commune.as_str(), codes.vsic.as_str());
    let key = group_key(slice, reference, (&from, &to), period, cell)?;
    Some(key[..slice.by.len()].iter().copied().map(KeyPart::to_key).collect())
}

/// [`group_of`] with borrowed parts; `range` is the slice's months written out.
fn group_key<'a>(
    slice: &Slice,
    reference: &'a Reference,
    range: (&str, &str),
    period: &'a str,
    (district, commune, vsic): (&'a str, &'a str, &'a str),
) -> Option<GroupKey<'a>> {
    if period < range.0 || period > range.1 {
        return None;
    }
    if !slice.districts.is_empty() && !slice.districts.iter().any(|d| d == district) {
        return None;
    }
    if !slice.vsic.is_empty() && !slice.vsic.iter().any(|v| v == vsic) {
        return None;
    }
    let sector = reference.vsic(vsic).map(|v| v.group_code.as_str());
    if !slice.sectors.is_empty() && !sector.is_some_and(|s| slice.sectors.iter().any(|x| x == s)) {
        return None;
    }
    let mut key: GroupKey<'a> = [KeyPart::Null; MAX_DIMS];
    for (slot, d) in key.iter_mut().zip(&slice.by) {
        *slot = match d {
            Dim::District => KeyPart::Text(district),
            Dim::Commune if commune.is_empty() => KeyPart::Null,
            Dim::Commune => KeyPart::Text(commune),
            Dim::Sector => sector.map_or(KeyPart::Null, KeyPart::Text),
            Dim::Vsic => KeyPart::Text(vsic),
            Dim::Period => KeyPart::Text(period),
            Dim::Quarter => match Period::parse(period) {
                Some(p) => KeyPart::Quarter(p.year(), (p.month() - 1) / 3 + 1),
                None => KeyPart::Null,
            },
            Dim::Year => KeyPart::Text(&period[..4]),
        };
    }
    Some(key)
}

/// One key of a group, borrowed from the cell it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KeyPart<'a> {
    Null,
    Text(&'a str),
    Quarter(u16, u8),
}

impl KeyPart<'_> {
    fn to_key(self) -> Option<String> {
        match self {
            KeyPart::Null => None,
            KeyPart::Text(s) => Some(s.to_string()),
            KeyPart::Quarter(y, q) => Some(format!("{y:04}-Q{q}")),
        }
    }
}

type GroupKey<'a> = [KeyPart<'a>; MAX_DIMS];

/// A group being summed: exact sums now, unit sets united at the end.
#[derive(Default)]
struct Group<'a> {
    total: i128,
    ecommerce: i128,
    filings: i64,
    units: Vec<&'a RoaringBitmap>,
}

impl<'a> Group<'a> {
    fn add(&mut self, a: &'a Agg) {
        self.total += a.total;
        self.ecommerce += a.ecommerce;
        self.filings += a.filings;
        self.units.push(&a.units);
    }

    fn into_agg(self) -> Agg {
        Agg {
            total: self.total,
            ecommerce: self.ecommerce,
            filings: self.filings,
            units: self.units.into_iter().union(),
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
        r.settle_units(&mut units).unwrap();

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
