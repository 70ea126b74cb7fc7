//! The cells of one part of a rollup (district × commune × VSIC code; a
//! month's as callers see them: `CellCodes`) and their aggregates (`Agg`),
//! found through an index that hashes the codes with a fast,
//! non-cryptographic hasher. Reads a part's cells from a record batch;
//! leaves the file to `storage`, unit sets to `units` and grouping to
//! `groups`.

use super::RollupError;
use super::columns::{ints, key_columns};
use super::groups::Group;
use super::units::Units;
use datafusion::arrow::array::{Array, BinaryArray, Decimal128Array, RecordBatch};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, OnceLock};

/// The codes of a cell within a month.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct CellCodes {
    pub district: String,
    /// Empty before the 2025 reform.
    pub commune: String,
    pub vsic: String,
}

/// A fast, non-cryptographic hasher (FxHash's mixing) for the commit's
/// per-filing lookups: keys are validated codes and tax numbers, not
/// adversarial input, and SipHash would be most of the rollup's cost.
#[derive(Default, Clone, Copy)]
pub(super) struct Fx(u64);

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

pub(super) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// A cell's aggregates.
#[derive(Debug, Clone, Default)]
pub struct Agg {
    /// Σ total revenue × weight_micro (micro-đồng).
    pub total: i128,
    pub ecommerce: i128,
    pub filings: i64,
    pub(super) units: Units,
}

impl PartialEq for Agg {
    fn eq(&self, other: &Self) -> bool {
        (self.total, self.ecommerce, self.filings) == (other.total, other.ecommerce, other.filings)
            && matches!((self.units.get(), other.units.get()), (Ok(a), Ok(b)) if a == b)
    }
}

/// A cell's codes within its part: district, commune, VSIC code.
pub(super) type Codes = [Box<str>; 3];

/// The cells of one part of the calendar: a month, or (made from its
/// months at each commit) a quarter or a year.
#[derive(Debug, Clone, Default)]
pub(super) struct Cells {
    pub(super) codes: Vec<Codes>,
    pub(super) aggs: Vec<Agg>,
    /// Cell position by codes, made when filings are first applied.
    pub(super) index: Option<CellIndex>,
    /// The same figures by district alone (made on first use: slices with
    /// no sector, VSIC code or commune in them are answered from these far
    /// fewer cells).
    by_district: OnceLock<Vec<(Box<str>, Agg)>>,
}

impl Cells {
    /// The position of the cell `codes`, created empty if new (looked up
    /// once per run of rows of one cell).
    pub(super) fn slot_in_run<'a>(&mut self, runs: &mut Runs<'a>, codes: [&'a str; 3]) -> usize {
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
    pub(super) fn from_batch(batch: &RecordBatch, rows: std::ops::Range<usize>) -> Result<Self, RollupError> {
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
    pub(super) fn by_district(&self) -> Result<&[(Box<str>, Agg)], RollupError> {
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
pub(super) struct CellIndex {
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
pub(super) struct Runs<'a> {
    last: Option<([&'a str; 3], u32)>,
}

impl<'a> Runs<'a> {
    /// The position of `codes`, from `index` when it is not the previous
    /// row's; `new` is called for a cell met for the first time.
    pub(super) fn position(&mut self, index: &mut CellIndex, codes: [&'a str; 3], new: impl FnOnce()) -> u32 {
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
