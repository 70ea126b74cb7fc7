//! Reporting units: the dictionary that numbers unit ids (the bits of the
//! unit sets, kept across batches in the units files) and a cell's unit set,
//! a roaring bitmap kept in its stored form until a question needs it.
//! Knows no cells or parts: only the district and VSIC code by which new
//! units are numbered.

use super::RollupError;
use super::cells::FastMap;
use super::columns::strings;
use super::storage::{read_parquet, write_parquet};
use datafusion::arrow::array::{ArrayRef, BinaryArray, RecordBatch, StringArray};
use roaring::RoaringBitmap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// The unit ids of a dataset, each with its position (the bitmaps' bits).
#[derive(Debug, Default, Clone)]
pub struct UnitDictionary {
    pub(super) index: FastMap<String, u32>,
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
    /// of its first filing until [`Rollup::settle_units`](super::Rollup::settle_units) numbers it for good.
    pub(super) fn position(&mut self, unit: &str, district: &str, vsic: &str) -> Result<u32, RollupError> {
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
    pub(super) fn settle(&mut self) -> Result<Vec<u32>, RollupError> {
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

/// A cell's unit set. Read from a file it stays in its stored form (the
/// portable serialization, runs kept) until a question needs it, so a
/// one-shot query decodes only its months' sets and a commit rewrites the
/// sets it did not change byte for byte.
#[derive(Debug, Clone, Default)]
pub(super) struct Units {
    pub(super) set: OnceLock<RoaringBitmap>,
    /// The set as stored; `None` once changed (or never stored).
    pub(super) stored: Option<(Arc<BinaryArray>, u32)>,
}

impl Units {
    pub(super) fn of(set: RoaringBitmap) -> Self {
        Self {
            set: OnceLock::from(set),
            stored: None,
        }
    }

    pub(super) fn get(&self) -> Result<&RoaringBitmap, RollupError> {
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

    pub(super) fn get_mut(&mut self) -> Result<&mut RoaringBitmap, RollupError> {
        self.get()?;
        self.stored = None;
        Ok(self.set.get_mut().expect("decoded just above"))
    }

    /// Whether the set may differ from its stored form.
    pub(super) fn changed(&self) -> bool {
        self.stored.is_none()
    }

    /// Appends the set's portable serialization: the stored bytes when
    /// unchanged.
    pub(super) fn serialize_into(&self, buf: &mut Vec<u8>) -> Result<(), RollupError> {
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
