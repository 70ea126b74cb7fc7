//! Rollups: the exact aggregates of a dataset version's effective filings
//! by period × district × VSIC code — Σ weight × total revenue and
//! Σ weight × e-commerce revenue (micro-đồng, `i128`), the effective filing
//! count, and the set of reporting units as a roaring bitmap over a unit
//! dictionary, so that any union of cells counts distinct units exactly.
//!
//! Kept at each commit next to the raw data (`batches/N/rollup.parquet`, the
//! whole table of version N; `batches/N/units.parquet`, the units first seen
//! in batch N, whose positions across batches are the dictionary), in parts
//! of one row group each: a month's cells, and the same by quarter and by
//! year (unions of their months' cells), so that a slice of whole quarters or
//! years unites a few sets per group instead of one per month. Each version's
//! table is made from the previous version's: a batch's filings are added,
//! the filings they supersede subtracted, and the quarters and years of the
//! months it changed made again. Parts are read when first needed, unit sets
//! decoded when first united. A cell's unit set only grows: a unit is
//! in a cell exactly when one of its keys (unit, district, VSIC code,
//! period) falls in the cell, and a key, once filed, always has a filing in
//! force. Any slice of the share API is answered from the cells, with the
//! same figures as the scan of the raw filings.
//!
//! Also sums one month's filings by cell and enterprise for disclosure
//! control (`EnterpriseTotals`).
//!
//! Plain data in and out (Arrow record batches, Parquet files); no engine,
//! no HTTP.

use crate::domain::disclosure::{Contributions, enterprise_number, enterprise_of};
use crate::domain::{Breakdown, Cell, Dim, Figures, Period, Quarter, Reference, Slice, WeightedVnd};
use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, Decimal128Array, Int64Array, RecordBatch, StringArray, StringViewArray,
};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;
use roaring::{MultiOps, RoaringBitmap};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::{Arc, OnceLock};
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

/// The codes of a cell within a month.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct CellCodes {
    pub district: String,
    /// Empty before the 2025 reform.
    pub commune: String,
    pub vsic: String,
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

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A cell's aggregates.
#[derive(Debug, Clone, Default)]
pub struct Agg {
    /// Σ total revenue × weight_micro (micro-đồng).
    pub total: i128,
    pub ecommerce: i128,
    pub filings: i64,
    units: Units,
}

impl PartialEq for Agg {
    fn eq(&self, other: &Self) -> bool {
        (self.total, self.ecommerce, self.filings) == (other.total, other.ecommerce, other.filings)
            && matches!((self.units.get(), other.units.get()), (Ok(a), Ok(b)) if a == b)
    }
}

/// A cell's unit set. Read from a file it stays in its stored form (the
/// portable serialization, runs kept) until a question needs it, so a
/// one-shot query decodes only its months' sets and a commit rewrites the
/// sets it did not change byte for byte.
#[derive(Debug, Clone, Default)]
struct Units {
    set: OnceLock<RoaringBitmap>,
    /// The set as stored; `None` once changed (or never stored).
    stored: Option<(Arc<BinaryArray>, u32)>,
}

impl Units {
    fn of(set: RoaringBitmap) -> Self {
        Self {
            set: OnceLock::from(set),
            stored: None,
        }
    }

    fn get(&self) -> Result<&RoaringBitmap, RollupError> {
        if let Some(set) = self.set.get() {
            return Ok(set);
        }
        let Some((array, i)) = &self.stored else {
            return Ok(self.set.get_or_init(RoaringBitmap::new));
        };
        let mut set = RoaringBitmap::deserialize_from(array.value(*i as usize))
            .map_err(|e| RollupError::Input(format!("a stored unit set is damaged: {e}")))?;
        // Runs keep the file small; unions are much faster without them
        // (merging run containers is quadratic in the runs).
        set.remove_run_compression();
        Ok(self.set.get_or_init(|| set))
    }

    fn get_mut(&mut self) -> Result<&mut RoaringBitmap, RollupError> {
        self.get()?;
        self.stored = None;
        Ok(self.set.get_mut().expect("decoded just above"))
    }

    /// Whether the set may differ from its stored form.
    fn changed(&self) -> bool {
        self.stored.is_none()
    }

    /// Appends the set's portable serialization: the stored bytes when
    /// unchanged.
    fn serialize_into(&self, buf: &mut Vec<u8>) -> Result<(), RollupError> {
        match &self.stored {
            Some((array, i)) => {
                buf.extend_from_slice(array.value(*i as usize));
                Ok(())
            }
            None => self
                .get()?
                .serialize_into(buf)
                .map_err(|e| RollupError::Input(e.to_string())),
        }
    }
}

/// A cell's codes within its part: district, commune, VSIC code.
type Codes = [Box<str>; 3];

/// The cells of one part of the calendar: a month, or (made from its
/// months at each commit) a quarter or a year.
#[derive(Debug, Clone, Default)]
struct Cells {
    codes: Vec<Codes>,
    aggs: Vec<Agg>,
    /// Cell position by codes, made when filings are first applied.
    index: Option<CellIndex>,
    /// The same figures by district alone (made on first use: slices with
    /// no sector, VSIC code or commune in them are answered from these ~60
    /// times fewer cells).
    by_district: OnceLock<Vec<(Box<str>, Agg)>>,
}

impl Cells {
    /// The position of the cell `codes`, created empty if new (looked up
    /// once per run of rows of one cell).
    fn slot_in_run<'a>(&mut self, runs: &mut Runs<'a>, codes: [&'a str; 3]) -> usize {
        self.by_district.take();
        let index = self.index.get_or_insert_with(|| {
            let mut index = CellIndex::default();
            for c in &self.codes {
                index.position([&c[0], &c[1], &c[2]]);
            }
            index
        });
        let (cells, aggs) = (&mut self.codes, &mut self.aggs);
        runs.position(index, codes, || {
            cells.push(codes.map(Box::from));
            aggs.push(Agg::default());
        }) as usize
    }

    /// Reads a part's row group (or rows) from a record batch.
    fn from_batch(batch: &RecordBatch, rows: std::ops::Range<usize>) -> Result<Self, RollupError> {
        let [_, district, commune, vsic] = key_columns(batch)?;
        let dec = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<Decimal128Array>())
                .ok_or_else(|| RollupError::Input(format!("no DECIMAL column {name}")))
        };
        let (total, ecommerce) = (dec("weighted_total")?, dec("weighted_ecommerce")?);
        let filings = ints(batch, "filings")?;
        let units = Arc::new(
            batch
                .column_by_name("units")
                .and_then(|c| c.as_any().downcast_ref::<BinaryArray>())
                .ok_or_else(|| RollupError::Input("no BINARY column units".into()))?
                .clone(),
        );
        let mut cells = Cells::default();
        for i in rows {
            cells
                .codes
                .push([district.value(i).into(), commune.value(i).into(), vsic.value(i).into()]);
            cells.aggs.push(Agg {
                total: total.value(i),
                ecommerce: ecommerce.value(i),
                filings: filings.value(i),
                units: Units {
                    set: OnceLock::new(),
                    stored: Some((units.clone(), i as u32)),
                },
            });
        }
        Ok(cells)
    }

    /// Its figures by district (cells with effective filings only).
    fn by_district(&self) -> Result<&[(Box<str>, Agg)], RollupError> {
        if let Some(done) = self.by_district.get() {
            return Ok(done);
        }
        let mut groups: HashMap<&str, Group<'_>> = HashMap::new();
        for (codes, a) in self.codes.iter().zip(&self.aggs) {
            if a.filings != 0 {
                groups.entry(&codes[0]).or_default().add(a)?;
            }
        }
        let mut done: Vec<(Box<str>, Agg)> = groups.into_iter().map(|(d, g)| (d.into(), g.into_agg())).collect();
        done.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(self.by_district.get_or_init(|| done))
    }
}

/// The cells of a part by their codes' ids: a lookup per filing hashes
/// three short codes and allocates nothing.
#[derive(Debug, Clone, Default)]
struct CellIndex {
    ids: FastMap<Box<str>, u32>,
    cells: FastMap<u128, u32>,
}

impl CellIndex {
    /// The position of the cell `codes` and whether it is new (positions
    /// are given in the order cells are first met).
    fn position(&mut self, codes: [&str; 3]) -> (u32, bool) {
        let key = self.key(codes);
        let next = self.cells.len() as u32;
        match self.cells.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
            std::collections::hash_map::Entry::Vacant(e) => (*e.insert(next), true),
        }
    }

    fn key(&mut self, codes: [&str; 3]) -> u128 {
        codes.iter().fold(0u128, |key, code| {
            let id = match self.ids.get(*code) {
                Some(id) => *id,
                None => {
                    let id = self.ids.len() as u32;
                    self.ids.insert((*code).into(), id);
                    id
                }
            };
            (key << 32) | u128::from(id)
        })
    }
}

/// Filings come sorted by district and VSIC code within a month: a run of
/// rows of one cell looks its position up once.
#[derive(Default)]
struct Runs<'a> {
    last: Option<([&'a str; 3], u32)>,
}

impl<'a> Runs<'a> {
    /// The position of `codes`, from `index` when it is not the previous
    /// row's; `new` is called for a cell met for the first time.
    fn position(&mut self, index: &mut CellIndex, codes: [&'a str; 3], new: impl FnOnce()) -> u32 {
        match self.last {
            Some((c, at)) if c == codes => at,
            _ => {
                let (at, is_new) = index.position(codes);
                if is_new {
                    new();
                }
                self.last = Some((codes, at));
                at
            }
        }
    }
}

/// Where a part of the calendar falls: a month, a quarter or a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Span {
    Month(Period),
    Quarter(Quarter),
    Year(u16),
}

impl Span {
    /// A part's name: "2025-01", "2025-Q1", "2025".
    fn parse(name: &str) -> Option<Self> {
        if let Some(p) = Period::parse(name) {
            return Some(Span::Month(p));
        }
        if let Some(q) = Quarter::parse(name) {
            return Some(Span::Quarter(q));
        }
        (name.len() == 4).then(|| name.parse().ok().map(Span::Year))?
    }

    fn name(self) -> String {
        match self {
            Span::Month(p) => p.to_string(),
            Span::Quarter(q) => q.to_string(),
            Span::Year(y) => format!("{y:04}"),
        }
    }

    /// Its first and last month.
    fn months(self) -> (Period, Period) {
        match self {
            Span::Month(m) => (m, m),
            Span::Quarter(q) => q.months(),
            Span::Year(y) => (
                Period::new(y, 1).expect("a valid month"),
                Period::new(y, 12).expect("a valid month"),
            ),
        }
    }

    /// The quarter and the year a month falls in.
    fn levels_of(month: Period) -> [Span; 2] {
        [Span::Quarter(month.quarter()), Span::Year(month.year())]
    }
}

/// One part of a rollup: loaded, or still in its file.
#[derive(Debug, Clone, Default)]
struct Part {
    cells: OnceLock<Cells>,
    /// Its row group in the file it was read from, while not loaded.
    row_group: Option<usize>,
}

/// A rollup file kept open, its parts read on first use. The descriptor
/// stays valid when the file is replaced or removed.
#[derive(Debug)]
struct Stored {
    path: std::path::PathBuf,
    file: std::sync::Mutex<File>,
    metadata: ArrowReaderMetadata,
}

impl Stored {
    fn read_row_group(&self, row_group: usize) -> Result<RecordBatch, RollupError> {
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

/// The aggregates of one dataset version: cells by period × district ×
/// commune × VSIC code, in parts by month, and the same by quarter and by
/// year so that a slice of whole quarters or years unites a few cells per
/// group instead of one per month.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    parts: BTreeMap<Span, Part>,
    /// Whether the quarter and year parts are there (files written before
    /// them have months only; the next commit adds them).
    levels: bool,
    stored: Option<Arc<Stored>>,
    /// The months of the filings applied since this rollup was read.
    touched: std::collections::BTreeSet<String>,
}

impl PartialEq for Rollup {
    fn eq(&self, other: &Self) -> bool {
        match (self.sorted(), other.sorted()) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
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

/// The key columns of a batch: period, district, commune, VSIC code.
fn key_columns(batch: &RecordBatch) -> Result<[Text; 4], RollupError> {
    Ok([
        text(batch, "period")?,
        text(batch, "district_code")?,
        commune_text(batch)?,
        text(batch, "vsic_code")?,
    ])
}

fn bad_period(name: &str) -> RollupError {
    RollupError::Input(format!("period {name:?} is not a month, quarter or year"))
}

/// One month's weighted totals by cell and enterprise, summed as the
/// month's effective filings stream by: what disclosure control keeps
/// ([`Contributions`]). Numbers, not strings: about 50
/// bytes per cell and enterprise, so a month of 2.8M filings takes some
/// 150 MiB.
#[derive(Debug, Default)]
pub struct EnterpriseTotals {
    index: CellIndex,
    codes: Vec<CellCodes>,
    totals: FastMap<(u32, u64), i128>,
}

impl EnterpriseTotals {
    /// Adds a batch of filings (`unit_id`, `district_code`, `commune_code`
    /// — empty or absent before the reform —, `vsic_code`,
    /// `total_revenue_vnd`, `weight_micro`). A dependent unit
    /// (`XXXXXXXXXX-NNN`) counts under its parent tax code.
    pub fn add(&mut self, batch: &RecordBatch) -> Result<(), RollupError> {
        let unit = text(batch, "unit_id")?;
        let (district, commune, vsic) = (
            text(batch, "district_code")?,
            commune_text(batch)?,
            text(batch, "vsic_code")?,
        );
        let (total, weight) = (ints(batch, "total_revenue_vnd")?, ints(batch, "weight_micro")?);
        let mut runs = Runs::default();
        for i in 0..batch.num_rows() {
            let codes = [district.value(i), commune.value(i), vsic.value(i)];
            let cell = runs.position(&mut self.index, codes, || {
                self.codes.push(CellCodes {
                    district: codes[0].to_string(),
                    commune: codes[1].to_string(),
                    vsic: codes[2].to_string(),
                })
            });
            let e = enterprise_of(unit.value(i));
            let number = enterprise_number(e)
                .ok_or_else(|| RollupError::Input(format!("enterprise {e:?} is not a tax code or personal number")))?;
            *self.totals.entry((cell, number)).or_default() += i128::from(total.value(i)) * i128::from(weight.value(i));
        }
        Ok(())
    }

    /// Each cell with its enterprises' count and total and the `k` largest
    /// enterprise totals.
    pub fn finish(self, k: usize) -> Vec<(CellCodes, Contributions)> {
        let mut by_cell: Vec<Vec<(u64, i128)>> = vec![Vec::new(); self.codes.len()];
        for ((cell, number), total) in self.totals {
            by_cell[cell as usize].push((number, total));
        }
        self.codes
            .into_iter()
            .zip(by_cell)
            .map(|(codes, totals)| (codes, Contributions::from_totals(totals, k)))
            .collect()
    }
}

impl Rollup {
    /// The number of month cells (without reading any part).
    pub fn cells(&self) -> usize {
        self.parts
            .iter()
            .filter(|(span, _)| matches!(span, Span::Month(_)))
            .map(|(_, part)| self.rows(part))
            .sum()
    }

    /// A part's number of cells, from the file's metadata while not read.
    fn rows(&self, part: &Part) -> usize {
        match (part.cells.get(), &self.stored, part.row_group) {
            (Some(cells), _, _) => cells.aggs.iter().filter(|a| a.filings != 0).count(),
            (None, Some(stored), Some(rg)) => stored.metadata.metadata().row_group(rg).num_rows() as usize,
            _ => 0,
        }
    }

    /// A part's cells, read from the file on first use.
    fn part<'a>(&self, part: &'a Part) -> Result<&'a Cells, RollupError> {
        if let Some(cells) = part.cells.get() {
            return Ok(cells);
        }
        let (Some(stored), Some(row_group)) = (&self.stored, part.row_group) else {
            return Ok(part.cells.get_or_init(Cells::default));
        };
        let batch = stored.read_row_group(row_group)?;
        let cells = Cells::from_batch(&batch, 0..batch.num_rows())?;
        Ok(part.cells.get_or_init(|| cells))
    }

    /// A part's cells to change, read first if need be.
    fn part_mut(&mut self, span: Span) -> Result<&mut Cells, RollupError> {
        if let Some(part) = self.parts.get(&span) {
            self.part(part)?;
        }
        let part = self.parts.entry(span).or_default();
        part.cells.get_or_init(Cells::default);
        Ok(part.cells.get_mut().expect("loaded just above"))
    }

    /// Reads every part not read yet (a server does this once per version,
    /// off the threads that answer).
    pub fn load_all(&self) -> Result<(), RollupError> {
        for part in self.parts.values() {
            self.part(part)?;
        }
        Ok(())
    }

    /// Every cell of every part (months, then quarters and years), in key
    /// order.
    fn sorted(&self) -> Result<Vec<(String, &Codes, &Agg)>, RollupError> {
        let mut cells = Vec::new();
        for (span, part) in &self.parts {
            let name = span.name();
            let part = self.part(part)?;
            let mut these: Vec<(String, &Codes, &Agg)> = part
                .codes
                .iter()
                .zip(&part.aggs)
                .map(|(c, a)| (name.clone(), c, a))
                .collect();
            these.sort_by(|a, b| a.1.cmp(b.1));
            cells.extend(these);
        }
        Ok(cells)
    }

    /// Adds (`sign` = 1) or subtracts (`sign` = −1) a batch of filings.
    /// Subtracting leaves unit sets as they are (see the module comment).
    pub fn apply(&mut self, batch: &RecordBatch, units: &mut UnitDictionary, sign: i8) -> Result<(), RollupError> {
        let unit = text(batch, "unit_id")?;
        let [period, district, commune, vsic] = key_columns(batch)?;
        let total = ints(batch, "total_revenue_vnd")?;
        let ecommerce = ints(batch, "ecommerce_revenue_vnd")?;
        let weight = ints(batch, "weight_micro")?;
        let mut i = 0;
        // Filings come sorted by month: one part per run of a month.
        while i < batch.num_rows() {
            let name = period.value(i);
            let month = Period::parse(name).ok_or_else(|| bad_period(name))?;
            self.touched.insert(name.to_string());
            let cells = self.part_mut(Span::Month(month))?;
            let mut runs = Runs::default();
            while i < batch.num_rows() && period.value(i) == name {
                let slot = cells.slot_in_run(&mut runs, [district.value(i), commune.value(i), vsic.value(i)]);
                let w = i128::from(weight.value(i));
                let (t, e) = (i128::from(total.value(i)) * w, i128::from(ecommerce.value(i)) * w);
                let agg = &mut cells.aggs[slot];
                if sign > 0 {
                    let u = units.position(unit.value(i), district.value(i), vsic.value(i))?;
                    agg.total += t;
                    agg.ecommerce += e;
                    agg.filings += 1;
                    agg.units.get_mut()?.insert(u);
                } else {
                    agg.total -= t;
                    agg.ecommerce -= e;
                    agg.filings -= 1;
                }
                i += 1;
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
    /// cells' unit sets, and stores each changed set in its most compact
    /// form. Sets still as stored hold no new unit.
    pub fn settle_units(&mut self, units: &mut UnitDictionary) -> Result<(), RollupError> {
        let base = units.index.len() as u32;
        let remap = units.settle()?;
        // Only month parts get filings; only those read can have changed.
        for (_, part) in self.parts.iter_mut().filter(|(s, _)| matches!(s, Span::Month(_))) {
            let Some(cells) = part.cells.get_mut() else { continue };
            for a in cells.aggs.iter_mut().filter(|a| a.units.changed()) {
                let set = a.units.get_mut()?;
                if set.max().is_some_and(|m| m >= base) {
                    let mut moved: Vec<u32> = set
                        .iter()
                        .filter(|u| *u >= base)
                        .map(|u| remap[(u - base) as usize])
                        .collect();
                    moved.sort_unstable();
                    set.remove_range(base..);
                    *set |= RoaringBitmap::from_sorted_iter(moved).expect("sorted positions");
                }
                set.optimize();
            }
        }
        Ok(())
    }

    /// Makes again the quarters and years of the months changed since the
    /// rollup was read (all of them, for a rollup read from a file without
    /// them).
    fn settle_levels(&mut self) -> Result<(), RollupError> {
        let stale: std::collections::BTreeSet<Span> = self
            .parts
            .keys()
            .filter_map(|s| match s {
                Span::Month(m) if !self.levels || self.touched.contains(&s.name()) => Some(Span::levels_of(*m)),
                _ => None,
            })
            .flatten()
            .collect();
        for level in stale {
            let cells = self.level(level)?;
            self.parts.insert(
                level,
                Part {
                    cells: OnceLock::from(cells),
                    row_group: None,
                },
            );
        }
        self.levels = true;
        Ok(())
    }

    /// The cells of a quarter or a year, from its months' (cells with
    /// effective filings only, as a slice of those months counts them).
    fn level(&self, level: Span) -> Result<Cells, RollupError> {
        let (first, last) = level.months();
        let mut groups: BTreeMap<&Codes, Group<'_>> = BTreeMap::new();
        for (_, part) in self.parts.range(Span::Month(first)..=Span::Month(last)) {
            let cells = self.part(part)?;
            for (codes, a) in cells.codes.iter().zip(&cells.aggs) {
                if a.filings != 0 {
                    groups.entry(codes).or_default().add(a)?;
                }
            }
        }
        let mut cells = Cells::default();
        for (codes, g) in groups {
            let mut agg = g.into_agg();
            agg.units.get_mut()?.optimize();
            cells.codes.push(codes.clone());
            cells.aggs.push(agg);
        }
        Ok(cells)
    }

    /// The part `span` as one record batch, sorted by key.
    fn part_batch(&self, span: Span, cells: &Cells) -> Result<RecordBatch, RollupError> {
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

    /// Writes the rollup: one row group per part, named in the file's
    /// metadata, so that a reader reads only the parts it needs. The
    /// quarters and years of the months changed are made again first.
    pub fn write(&mut self, path: &Path) -> Result<(), RollupError> {
        self.settle_levels()?;
        let err = file_err(path);
        let file = File::create(path).map_err(|e| err(e.to_string()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(usize::MAX >> 1))
            .build();
        let schema = self.part_batch(Span::Year(0), &Cells::default())?.schema();
        let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| err(e.to_string()))?;
        let mut names = Vec::new();
        for (span, part) in &self.parts {
            if self.rows(part) == 0 {
                continue;
            }
            let batch = match (part.cells.get(), &self.stored, part.row_group) {
                // A part the commit did not read is copied as stored, one
                // at a time: the whole table is never in memory.
                (None, Some(stored), Some(rg)) => {
                    RecordBatch::try_new(schema.clone(), stored.read_row_group(rg)?.columns().to_vec())
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
        let file = writer.into_inner().map_err(|e| err(e.to_string()))?;
        file.sync_all().map_err(|e| err(e.to_string()))
    }

    /// Opens a rollup file: its parts are read when first needed. A file
    /// without the names of its parts (written before parts: one row group,
    /// months only) is read whole, its months only.
    pub fn read(path: &Path) -> Result<Self, RollupError> {
        let err = file_err(path);
        let file = File::open(path).map_err(|e| err(e.to_string()))?;
        let metadata = ArrowReaderMetadata::load(&file, Default::default()).map_err(|e| err(e.to_string()))?;
        let named: Option<Vec<Span>> = metadata
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|e| e.key == PARTS_KEY))
            .and_then(|e| e.value.as_deref())
            .map(|names| {
                names
                    .split(',')
                    .filter(|n| !n.is_empty())
                    .map(|n| Span::parse(n).ok_or_else(|| err(format!("part {n:?}"))))
                    .collect::<Result<_, _>>()
            })
            .transpose()?;
        let stored = Arc::new(Stored {
            path: path.to_path_buf(),
            file: std::sync::Mutex::new(file),
            metadata,
        });
        let mut r = Self::default();
        match named {
            Some(spans) if spans.len() == stored.metadata.metadata().num_row_groups() => {
                for (row_group, span) in spans.into_iter().enumerate() {
                    let part = Part {
                        cells: OnceLock::new(),
                        row_group: Some(row_group),
                    };
                    r.parts.insert(span, part);
                }
                r.levels = true;
                r.stored = Some(stored);
            }
            Some(_) => return Err(err("its parts do not match its row groups".into())),
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

    /// The first and last month with an effective filing (a file holds no
    /// cell without one).
    pub fn period_range(&self) -> Option<(Period, Period)> {
        let mut months = self.parts.iter().filter_map(|(span, part)| match span {
            Span::Month(m) if self.rows(part) > 0 => Some(*m),
            _ => None,
        });
        let first = months.next()?;
        Some((first, months.last().unwrap_or(first)))
    }

    /// The parts that cover `from..=to` exactly once, the largest first:
    /// whole years and quarters when `finest` allows and the rollup has
    /// them, months otherwise.
    fn cover(&self, from: Period, to: Period, finest: Dim) -> Vec<Span> {
        let mut spans = Vec::new();
        let mut at = from;
        while at <= to {
            // The year, else the quarter, that starts at `at`, ends by
            // `to` and is no coarser than the slice's time grouping.
            let allowed = |s: &Span| match s {
                Span::Year(_) => finest == Dim::Year,
                _ => finest != Dim::Period,
            };
            let span = Span::levels_of(at)
                .into_iter()
                .rev()
                .find(|s| self.levels && allowed(s) && s.months().0 == at && s.months().1 <= to)
                .unwrap_or(Span::Month(at));
            spans.push(span);
            match span.months().1.add_months(1) {
                Some(next) => at = next,
                None => break,
            }
        }
        spans
    }

    /// The figures of every group of `slice.by` with effective filings,
    /// sorted by keys (nulls last), and of the whole slice — as the engine's
    /// scan of the raw filings gives them. Sector groups come from
    /// `reference` (a VSIC code it does not know has no sector).
    ///
    /// One pass over the cells of the parts that cover the slice's months,
    /// with borrowed keys (no allocation per cell), then one multi-way union
    /// of unit sets per group.
    pub fn breakdown(&self, slice: &Slice, reference: &Reference) -> Result<Breakdown, RollupError> {
        let by_area_and_time = slice.sectors.is_empty()
            && slice.vsic.is_empty()
            && !slice
                .by
                .iter()
                .any(|d| matches!(d, Dim::Sector | Dim::Vsic | Dim::Commune));
        let finest = if slice.by.contains(&Dim::Period) {
            Dim::Period
        } else if slice.by.contains(&Dim::Quarter) {
            Dim::Quarter
        } else {
            Dim::Year
        };
        let by = &slice.by;
        let mut into = Groups {
            by_nothing: by.is_empty(),
            groups: HashMap::new(),
            total: Group::default(),
        };
        let names: Vec<(Span, String)> = self
            .cover(slice.from, slice.to, finest)
            .into_iter()
            .map(|s| (s, s.name()))
            .collect();
        for (span, name) in &names {
            let Some(part) = self.parts.get(span) else { continue };
            let cells = self.part(part)?;
            if by_area_and_time {
                for (district, a) in cells.by_district()? {
                    into.add(group_key(slice, reference, *span, name, (district, "", "")), a)?;
                }
                continue;
            }
            for (codes, a) in cells.codes.iter().zip(&cells.aggs) {
                if a.filings != 0 {
                    into.add(
                        group_key(slice, reference, *span, name, (&codes[0], &codes[1], &codes[2])),
                        a,
                    )?;
                }
            }
        }
        let Groups { groups, total, .. } = into;
        // Each group's units are united once; the total's units are the
        // union of the groups' (not of every cell again).
        let groups: Vec<(GroupKey<'_>, Agg)> = groups.into_iter().map(|(k, g)| (k, g.into_agg())).collect();
        let total = if by.is_empty() {
            total.into_agg()
        } else {
            let mut t = Group::default();
            for (_, a) in &groups {
                t.add(a)?;
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
        Ok(Breakdown {
            cells,
            total: total.figures(),
        })
    }
}

impl Agg {
    /// A group's figures (its units are united, so counting cannot fail).
    fn figures(&self) -> Figures {
        Figures {
            total: WeightedVnd::from_micro(self.total),
            ecommerce: WeightedVnd::from_micro(self.ecommerce),
            filings: self.filings as u64,
            units: self.units.get().map_or(0, |u| u.len()),
        }
    }
}

/// At most this many dimensions in a breakdown (each of `Dim` once).
const MAX_DIMS: usize = Dim::ALL.len();

/// The keys (in `slice.by` order) of the group that the cell `codes` of
/// month `period` falls in, or `None` when the slice leaves the cell out —
/// the grouping of [`Rollup::breakdown`].
pub fn group_of(slice: &Slice, reference: &Reference, period: &str, codes: &CellCodes) -> Option<Vec<Option<String>>> {
    let month = Period::parse(period).filter(|m| *m >= slice.from && *m <= slice.to)?;
    let cell = (codes.district.as_str(), codes.commune.as_str(), codes.vsic.as_str());
    let key = group_key(slice, reference, Span::Month(month), period, cell)?;
    Some(key[..slice.by.len()].iter().copied().map(KeyPart::to_key).collect())
}

/// [`group_of`] with borrowed parts, for a cell of the part `span` (named
/// `name`) within the slice's months: a month's, or when the slice is not by
/// month a quarter's, or when not by quarter either a year's.
fn group_key<'a>(
    slice: &Slice,
    reference: &'a Reference,
    span: Span,
    name: &'a str,
    (district, commune, vsic): (&'a str, &'a str, &'a str),
) -> Option<GroupKey<'a>> {
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
            Dim::Period => KeyPart::Text(name),
            Dim::Quarter => match span {
                Span::Month(p) => KeyPart::Quarter(p.quarter()),
                Span::Quarter(q) => KeyPart::Quarter(q),
                Span::Year(_) => unreachable!("a slice by quarter is covered by quarters and months"),
            },
            Dim::Year => KeyPart::Text(&name[..4]),
        };
    }
    Some(key)
}

/// One key of a group, borrowed from the cell it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KeyPart<'a> {
    Null,
    Text(&'a str),
    Quarter(Quarter),
}

impl KeyPart<'_> {
    fn to_key(self) -> Option<String> {
        match self {
            KeyPart::Null => None,
            KeyPart::Text(s) => Some(s.to_string()),
            KeyPart::Quarter(q) => Some(q.to_string()),
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
    fn add(&mut self, a: &'a Agg) -> Result<(), RollupError> {
        self.total += a.total;
        self.ecommerce += a.ecommerce;
        self.filings += a.filings;
        self.units.push(a.units.get()?);
        Ok(())
    }

    fn into_agg(self) -> Agg {
        Agg {
            total: self.total,
            ecommerce: self.ecommerce,
            filings: self.filings,
            units: Units::of(self.units.into_iter().union()),
        }
    }
}

/// The groups of a breakdown being summed, or its total alone when it is
/// by nothing.
struct Groups<'a> {
    by_nothing: bool,
    groups: HashMap<GroupKey<'a>, Group<'a>>,
    total: Group<'a>,
}

impl<'a> Groups<'a> {
    fn add(&mut self, key: Option<GroupKey<'a>>, a: &'a Agg) -> Result<(), RollupError> {
        match key {
            None => Ok(()),
            Some(_) if self.by_nothing => self.total.add(a),
            Some(key) => self.groups.entry(key).or_default().add(a),
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
    use crate::store::builtin_reference;

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
        let b = r.breakdown(&slice, &reference).unwrap();
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

    /// Filings of three units over the twelve months of 2024.
    fn a_year() -> RecordBatch {
        let months: Vec<String> = (1..=12).map(|m| format!("2024-{m:02}")).collect();
        let mut rows = Vec::new();
        for (m, month) in months.iter().enumerate() {
            let m = m as i64;
            rows.push(("u1", "380", "4711", month.as_str(), 1000 + m, 10 * m, 1_000_000));
            rows.push(("u2", "381", "4791", month.as_str(), 500, 50 + m, 2_500_000));
            if m % 4 == 0 {
                rows.push(("u3", "380", "4791", month.as_str(), 70, 7, 1_000_000));
            }
        }
        filings(&rows)
    }

    fn slice(from: &str, to: &str, by: Vec<Dim>) -> Slice {
        Slice {
            from: Period::parse(from).unwrap(),
            to: Period::parse(to).unwrap(),
            by,
            districts: vec![],
            sectors: vec![],
            vsic: vec![],
        }
    }

    #[test]
    fn a_rollup_file_from_before_parts_is_read_whole_and_gains_them_at_the_next_write() {
        let (mut units, mut r) = (UnitDictionary::default(), Rollup::default());
        r.apply(&a_year(), &mut units, 1).unwrap();
        r.settle_units(&mut units).unwrap();
        let dir = tempfile::tempdir().unwrap();
        r.write(&dir.path().join("now.parquet")).unwrap();
        // The layout before parts: one row group of month cells, unnamed.
        let months: Vec<RecordBatch> = r
            .parts
            .iter()
            .filter(|(span, _)| matches!(span, Span::Month(_)))
            .map(|(span, part)| r.part_batch(*span, r.part(part).unwrap()).unwrap())
            .collect();
        let before = dir.path().join("before.parquet");
        write_parquet(&before, &concat_batches(&months[0].schema(), &months).unwrap()).unwrap();

        let mut old = Rollup::read(&before).unwrap();
        assert!(!old.levels && old.parts.len() == 12, "months only");
        let reference = builtin_reference();
        let slices = [
            slice("2024-01", "2024-12", vec![Dim::District]),
            slice("2024-01", "2024-12", vec![Dim::Sector, Dim::Quarter]),
            slice("2024-02", "2024-11", vec![]),
            slice("2024-01", "2024-06", vec![Dim::Year, Dim::Vsic]),
        ];
        for s in &slices {
            assert_eq!(
                old.breakdown(s, &reference).unwrap(),
                r.breakdown(s, &reference).unwrap()
            );
        }
        // The next write adds the quarters and years, as a commit's does.
        old.write(&dir.path().join("after.parquet")).unwrap();
        let after = Rollup::read(&dir.path().join("after.parquet")).unwrap();
        assert!(after.levels && after.parts.len() == 12 + 4 + 1);
        assert_eq!(after, r);
        for s in &slices {
            assert_eq!(
                after.breakdown(s, &reference).unwrap(),
                r.breakdown(s, &reference).unwrap()
            );
        }
        // A whole year is answered from the year's cells: 3 instead of 28.
        let year = after.cover(
            Period::parse("2024-01").unwrap(),
            Period::parse("2024-12").unwrap(),
            Dim::Year,
        );
        assert_eq!(year, vec![Span::Year(2024)]);
        assert_eq!(after.part(&after.parts[&Span::Year(2024)]).unwrap().codes.len(), 3);
        let cover = after.cover(
            Period::parse("2024-02").unwrap(),
            Period::parse("2024-11").unwrap(),
            Dim::Quarter,
        );
        let names: Vec<String> = cover.into_iter().map(Span::name).collect();
        assert_eq!(
            names,
            ["2024-02", "2024-03", "2024-Q2", "2024-Q3", "2024-10", "2024-11"]
        );
    }

    /// Regression: unit sets are decoded when first needed, so a damaged
    /// one must fail the answer that needs it with an error, not a panic.
    #[test]
    fn a_damaged_unit_set_fails_the_answer_with_an_error() {
        let (mut units, mut r) = (UnitDictionary::default(), Rollup::default());
        r.apply(&a_year(), &mut units, 1).unwrap();
        r.settle_units(&mut units).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.parquet");
        r.write(&path).unwrap();
        let parts = read_parquet(&path).unwrap();
        let batch = concat_batches(&parts[0].schema(), &parts).unwrap();
        let garbage = BinaryArray::from_iter_values((0..batch.num_rows()).map(|_| b"not a bitmap".as_slice()));
        let mut columns = batch.columns().to_vec();
        columns[batch.schema().index_of("units").unwrap()] = Arc::new(garbage);
        write_parquet(&path, &RecordBatch::try_new(batch.schema(), columns).unwrap()).unwrap();

        let damaged = Rollup::read(&path).unwrap();
        let err = damaged
            .breakdown(&slice("2024-01", "2024-03", vec![Dim::District]), &builtin_reference())
            .unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }

    #[test]
    fn keys_sort_with_missing_ones_last() {
        let mut keys = [vec![None], vec![Some("B".to_string())], vec![Some("A".to_string())]];
        keys.sort_by(|a, b| nulls_last(a, b));
        assert_eq!(keys[0], vec![Some("A".to_string())]);
        assert_eq!(keys[2], vec![None]);
    }
}
