//! Reporting units: the dictionary that numbers unit ids (the bits of the
//! unit sets, kept across batches in the units files) and a cell's unit set,
//! a roaring bitmap kept in its stored form until a question needs it.
//! Knows no cells or parts: only the district and VSIC code by which new
//! units are numbered.

use super::RollupError;
use super::cells::{FastMap, Fx};
use super::columns::{Text, strings};
use super::storage::{read_row_groups, row_groups, write_parquet};
use datafusion::arrow::array::{Array, ArrayRef, BinaryArray, RecordBatch, StringArray};
use roaring::RoaringBitmap;
use std::hash::Hasher;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The unit ids of a dataset, each with its position (the bitmaps' bits).
///
/// The ids read from the files stay in their Arrow arrays; the index maps
/// an id's 64-bit hash to its position, and a lookup compares the id at
/// that position, so reading a dictionary of millions of units allocates
/// nothing per unit. The rare id whose hash another id already holds is
/// kept by name in `collided`.
#[derive(Debug, Default, Clone)]
pub struct UnitDictionary {
    /// The ids read from the files, in position order, a run per array.
    known: Vec<StringArray>,
    /// The first position of each array of `known`.
    starts: Vec<u32>,
    /// The number of ids in `known`.
    read: u32,
    /// Ids numbered since the dictionary was read, from `known`'s end on.
    added: Ids,
    /// Hash of an id → its position.
    index: FastMap<u64, u32>,
    /// Ids whose hash a different id holds in `index`.
    collided: FastMap<String, u32>,
    /// When read for some units only (`read_for`): their hashes. Only
    /// those ids are indexed, and only they may be looked up.
    wanted: Option<UnitHashes>,
    /// Units met since the last `settle`, not numbered yet.
    fresh: FreshUnits,
}

/// One row group of a units file: its ids, and the (array, row, hash) of
/// each to index (every one, or those wanted).
struct Piece {
    ids: Vec<StringArray>,
    hits: Vec<(u32, u32, u64)>,
}

impl Piece {
    fn read(path: &Path, row_group: usize, wanted: Option<&UnitHashes>) -> Result<Self, RollupError> {
        let mut piece = Piece {
            ids: Vec::new(),
            hits: Vec::new(),
        };
        for batch in read_row_groups(path, Some(row_group))? {
            let ids = match strings(batch.column(0))? {
                Text::Utf8(ids) => ids,
                other => StringArray::from_iter_values((0..other.len()).map(|i| other.value(i))),
            };
            let array = piece.ids.len() as u32;
            for i in 0..ids.len() {
                let hash = hash_of(ids.value(i));
                if wanted.is_none_or(|w| w.has(hash)) {
                    piece.hits.push((array, i as u32, hash));
                }
            }
            piece.ids.push(ids);
        }
        Ok(piece)
    }
}

/// Ids end to end in one text: growing it allocates now and then, never
/// per id.
#[derive(Debug, Default, Clone)]
struct Ids {
    text: String,
    ends: Vec<usize>,
}

impl Ids {
    fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends.push(self.text.len());
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// The units a batch meets that the dictionary does not hold, in the order
/// met, each with the district and VSIC code of its first filing (by which
/// [`UnitDictionary::settle`] numbers them), indexed by hash as the
/// dictionary is. A month brings a quarter of a million of them: kept as
/// text, not as strings apiece.
#[derive(Debug, Default, Clone)]
struct FreshUnits {
    /// (district, VSIC code, unit) of each, three ids apiece.
    seen: Ids,
    /// Each one's hash.
    hashes: Vec<u64>,
    /// Hash → its place in the order met.
    index: FastMap<u64, u32>,
    /// Ids whose hash a different fresh id holds in `index`.
    collided: FastMap<String, u32>,
}

impl FreshUnits {
    fn len(&self) -> usize {
        self.hashes.len()
    }

    fn key(&self, k: usize) -> (&str, &str, &str) {
        (self.seen.get(3 * k), self.seen.get(3 * k + 1), self.seen.get(3 * k + 2))
    }

    fn unit(&self, k: usize) -> &str {
        self.seen.get(3 * k + 2)
    }

    fn clear(&mut self) {
        self.seen.text.clear();
        self.seen.ends.clear();
        self.hashes.clear();
        self.index.clear();
        self.collided.clear();
    }

    fn find(&self, hash: u64, unit: &str) -> Option<u32> {
        match self.index.get(&hash) {
            Some(&k) if self.unit(k as usize) == unit => Some(k),
            Some(_) => self.collided.get(unit).copied(),
            None => None,
        }
    }

    fn add(&mut self, hash: u64, unit: &str, district: &str, vsic: &str) {
        let k = self.len() as u32;
        for id in [district, vsic, unit] {
            self.seen.push(id);
        }
        self.hashes.push(hash);
        index_by_hash(&mut self.index, &mut self.collided, hash, unit, k);
    }
}

/// Indexes `id` under its hash, or by name when a different id holds the
/// hash already (the first one met keeps it).
fn index_by_hash(index: &mut FastMap<u64, u32>, collided: &mut FastMap<String, u32>, hash: u64, id: &str, at: u32) {
    match index.entry(hash) {
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(at);
        }
        std::collections::hash_map::Entry::Occupied(_) => {
            collided.insert(id.to_string(), at);
        }
    }
}

fn hash_of(unit: &str) -> u64 {
    let mut h = Fx::default();
    h.write(unit.as_bytes());
    // The length too, so that ids differing only in trailing zero bytes
    // (impossible for validated ids, cheap to rule out) hash apart.
    h.write_u64(unit.len() as u64);
    h.finish()
}

/// The hashes of a set of unit ids: the units a commit will look up.
///
/// Reading a dictionary tests every id in it against these, millions of
/// random probes into a map of the batch's units; a bit per top 24 bits of
/// a hash (2 MiB) answers most of them without touching the map.
#[derive(Debug, Clone)]
pub struct UnitHashes {
    set: FastMap<u64, ()>,
    filter: Vec<u64>,
}

const FILTER_BITS: u32 = 24;

impl Default for UnitHashes {
    fn default() -> Self {
        Self {
            set: FastMap::default(),
            filter: vec![0; 1 << (FILTER_BITS - 6)],
        }
    }
}

impl UnitHashes {
    /// Adds the ids of a string column (`unit_id`).
    pub fn add(&mut self, ids: &ArrayRef) -> Result<(), RollupError> {
        let ids = strings(ids)?;
        for i in 0..ids.len() {
            let hash = hash_of(ids.value(i));
            let bit = hash >> (64 - FILTER_BITS);
            self.filter[(bit >> 6) as usize] |= 1 << (bit & 63);
            self.set.insert(hash, ());
        }
        Ok(())
    }

    fn has(&self, hash: u64) -> bool {
        let bit = hash >> (64 - FILTER_BITS);
        self.filter[(bit >> 6) as usize] & (1 << (bit & 63)) != 0 && self.set.contains_key(&hash)
    }
}

impl UnitDictionary {
    /// Reads the dictionary from its per-batch files, in batch order.
    pub fn read(files: &[impl AsRef<Path>]) -> Result<Self, RollupError> {
        Self::read_with(files, None)
    }

    /// Reads the dictionary for the units `wanted` only: every position is
    /// kept, but only those ids are indexed (a commit looks up its batch's
    /// units, a small part of millions). Looking up any other id is an
    /// error.
    pub fn read_for(files: &[impl AsRef<Path>], wanted: UnitHashes) -> Result<Self, RollupError> {
        Self::read_with(files, Some(wanted))
    }

    /// The files' row groups are read and hashed on every core, then
    /// indexed in file and row-group order: an id's position is its place
    /// in the files end to end, and of ids sharing a hash the first is
    /// indexed, as a one-by-one read would.
    fn read_with(files: &[impl AsRef<Path>], wanted: Option<UnitHashes>) -> Result<Self, RollupError> {
        let mut pieces = Vec::new();
        for f in files {
            for g in 0..row_groups(f.as_ref())? {
                pieces.push((f.as_ref(), g));
            }
        }
        let next = AtomicUsize::new(0);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut read: Vec<(usize, Result<Piece, RollupError>)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads.min(pieces.len()))
                .map(|_| {
                    s.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some((path, g)) = pieces.get(i) else { break done };
                            done.push((i, Piece::read(path, *g, wanted.as_ref())));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("a dictionary reader panicked"))
                .collect()
        });
        read.sort_unstable_by_key(|(i, _)| *i);
        let mut d = Self {
            wanted,
            ..Self::default()
        };
        for (_, piece) in read {
            let Piece { ids, hits } = piece?;
            let first = d.known.len();
            for array in ids {
                d.starts.push(d.read);
                d.read += array.len() as u32;
                d.known.push(array);
            }
            for (array, row, hash) in hits {
                let array = first + array as usize;
                let position = d.starts[array] + row;
                let id = d.known[array].value(row as usize);
                index_by_hash(&mut d.index, &mut d.collided, hash, id, position);
            }
        }
        Ok(d)
    }

    /// The number of units numbered.
    pub(super) fn len(&self) -> u32 {
        self.read + self.added.len() as u32
    }

    /// The id at `position` (a numbered one).
    fn id_at(&self, position: u32) -> &str {
        if position >= self.read {
            return self.added.get((position - self.read) as usize);
        }
        let run = self.starts.partition_point(|s| *s <= position) - 1;
        self.known[run].value((position - self.starts[run]) as usize)
    }

    fn insert(&mut self, unit: &str, position: u32) {
        self.insert_hashed(hash_of(unit), unit, position);
    }

    fn insert_hashed(&mut self, hash: u64, unit: &str, position: u32) {
        index_by_hash(&mut self.index, &mut self.collided, hash, unit, position);
    }

    fn find(&self, unit: &str) -> Result<Option<u32>, RollupError> {
        self.find_hashed(hash_of(unit), unit)
    }

    fn find_hashed(&self, hash: u64, unit: &str) -> Result<Option<u32>, RollupError> {
        let position = self.index.get(&hash);
        // An id found is one indexed, so wanted; any other must be.
        if let Some(p) = position
            && self.id_at(*p) == unit
        {
            return Ok(Some(*p));
        }
        if self.wanted.as_ref().is_some_and(|w| !w.has(hash)) {
            return Err(RollupError::Input(format!(
                "unit {unit:?} looked up in a dictionary read for other units"
            )));
        }
        Ok(position.and_then(|_| self.collided.get(unit).copied()))
    }

    /// The position of `unit`, assigning the next one to a unit not seen yet.
    pub fn index_of(&mut self, unit: &str) -> Result<u32, RollupError> {
        debug_assert_eq!(self.fresh.len(), 0, "provisional units are numbered by `settle`");
        if let Some(i) = self.find(unit)? {
            return Ok(i);
        }
        let next = self.next_position(0)?;
        self.insert(unit, next);
        self.added.push(unit);
        Ok(next)
    }

    fn next_position(&self, pending: usize) -> Result<u32, RollupError> {
        u32::try_from(self.len() as usize + pending)
            .map_err(|_| RollupError::Input("more than 2^32 distinct units".into()))
    }

    /// The position of `unit`, or for a unit not seen yet a provisional one
    /// (from the dictionary's size on), kept with the district and VSIC code
    /// of its first filing until [`Rollup::settle_units`](super::Rollup::settle_units) numbers it for good.
    pub(super) fn position(&mut self, unit: &str, district: &str, vsic: &str) -> Result<u32, RollupError> {
        let hash = hash_of(unit);
        if let Some(i) = self.find_hashed(hash, unit)? {
            return Ok(i);
        }
        if let Some(k) = self.fresh.find(hash, unit) {
            return Ok(self.len() + k);
        }
        let next = self.next_position(self.fresh.len())?;
        self.fresh.add(hash, unit, district, vsic);
        Ok(next)
    }

    /// Numbers the provisional units in (district, VSIC code, unit) order —
    /// the units of a cell then sit in a few runs of consecutive positions,
    /// which keeps unit sets small and their unions fast — and returns the
    /// final position of each provisional one (indexed from the first).
    pub(super) fn settle(&mut self) -> Result<Vec<u32>, RollupError> {
        let base = self.len();
        let mut fresh = std::mem::take(&mut self.fresh);
        let mut order: Vec<((&str, &str, &str), u32)> = (0..fresh.len()).map(|k| (fresh.key(k), k as u32)).collect();
        order.sort_unstable();
        let mut remap = vec![0u32; order.len()];
        for (rank, (_, k)) in order.into_iter().enumerate() {
            let (k, position) = (k as usize, base + rank as u32);
            remap[k] = position;
            self.insert_hashed(fresh.hashes[k], fresh.unit(k), position);
            self.added.push(fresh.unit(k));
        }
        // Kept for the next batch, its allocations with it.
        fresh.clear();
        self.fresh = fresh;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_from_their_files_keep_their_positions_and_new_ones_follow() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = UnitDictionary::default();
        for unit in ["0101234567", "0109876543", "038068732299"] {
            d.index_of(unit).unwrap();
        }
        d.write_added(&dir.path().join("1.parquet")).unwrap();
        let mut more = UnitDictionary::read(&[dir.path().join("1.parquet")]).unwrap();
        assert_eq!(more.index_of("2834486260").unwrap(), 3);
        more.write_added(&dir.path().join("2.parquet")).unwrap();

        let mut d = UnitDictionary::read(&[dir.path().join("1.parquet"), dir.path().join("2.parquet")]).unwrap();
        assert_eq!(d.len(), 4);
        assert_eq!(
            ["0101234567", "0109876543", "038068732299", "2834486260"].map(|u| d.find(u).unwrap()),
            [Some(0), Some(1), Some(2), Some(3)]
        );
        assert_eq!(d.find("0101234568").unwrap(), None);
        assert_eq!((d.index_of("0101234568").unwrap(), d.added()), (4, 1));
    }

    /// A dictionary read for a batch's units numbers them as the whole one
    /// does, and refuses to look up any other.
    #[test]
    fn a_dictionary_read_for_some_units_finds_them_where_the_whole_one_does() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = UnitDictionary::default();
        let ids: Vec<String> = (0..1000).map(|i| format!("{:010}", 2_800_000_000u64 + i * 7)).collect();
        for id in &ids {
            d.index_of(id).unwrap();
        }
        d.write_added(&dir.path().join("1.parquet")).unwrap();
        let files = [dir.path().join("1.parquet")];
        let batch: Vec<&str> = vec![&ids[3], &ids[999], "0109876543"];
        let mut wanted = UnitHashes::default();
        wanted
            .add(&(Arc::new(StringArray::from(batch.clone())) as ArrayRef))
            .unwrap();
        let mut some = UnitDictionary::read_for(&files, wanted).unwrap();
        let mut whole = UnitDictionary::read(&files).unwrap();
        for id in &batch {
            assert_eq!(some.index_of(id).unwrap(), whole.index_of(id).unwrap(), "{id}");
        }
        assert_eq!(some.index_of("0109876543").unwrap(), 1000);
        let err = some.index_of(&ids[4]).unwrap_err();
        assert!(err.to_string().contains("read for other units"), "{err}");
    }

    /// Files of several row groups, read on several threads: every id at
    /// its place in the files end to end, whole or read for some units.
    #[test]
    fn ids_in_many_row_groups_keep_their_order_across_files() {
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<String> = (0..1000)
            .map(|i| format!("{:010}", 2_800_000_000u64 + i * 13))
            .collect();
        let mut files = Vec::new();
        for (k, chunk) in ids.chunks(600).enumerate() {
            let path = dir.path().join(format!("{k}.parquet"));
            let batch = RecordBatch::try_from_iter(vec![(
                "unit_id",
                Arc::new(StringArray::from_iter_values(chunk)) as ArrayRef,
            )])
            .unwrap();
            let props = WriterProperties::builder()
                .set_max_row_group_row_count(Some(70))
                .build();
            let mut w =
                ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props)).unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            files.push(path);
        }
        assert!(row_groups(&files[0]).unwrap() > 1);
        let whole = UnitDictionary::read(&files).unwrap();
        assert_eq!(whole.len(), 1000);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(whole.find(id).unwrap(), Some(i as u32), "{id}");
            assert_eq!(whole.id_at(i as u32), id);
        }
        let mut wanted = UnitHashes::default();
        let some: Vec<&str> = vec![&ids[0], &ids[69], &ids[70], &ids[599], &ids[600], &ids[999]];
        wanted
            .add(&(Arc::new(StringArray::from(some.clone())) as ArrayRef))
            .unwrap();
        let part = UnitDictionary::read_for(&files, wanted).unwrap();
        assert_eq!(
            some.iter().map(|id| part.find(id).unwrap()).collect::<Vec<_>>(),
            [0, 69, 70, 599, 600, 999].map(Some)
        );
    }

    /// New units get provisional positions in the order met, the same one
    /// each time they are met again, and are numbered for good by (district,
    /// VSIC code, unit); the units file lists them in that order.
    #[test]
    fn new_units_are_numbered_by_district_code_and_unit_once_settled() {
        let dir = tempfile::tempdir().unwrap();
        let mut d = UnitDictionary::default();
        assert_eq!(d.index_of("0101234567").unwrap(), 0);
        let met = [
            ("403", "4711", "0109876543"),
            ("380", "4719", "0200000001"),
            ("380", "4711", "0300000002"),
            ("403", "4711", "0100000003"),
        ];
        let provisional: Vec<u32> = met.iter().map(|(d_, v, u)| d.position(u, d_, v).unwrap()).collect();
        assert_eq!(provisional, [1, 2, 3, 4]);
        assert_eq!(
            d.position("0200000001", "999", "0000").unwrap(),
            2,
            "met again: same place"
        );
        assert_eq!(
            d.position("0101234567", "380", "4711").unwrap(),
            0,
            "a numbered unit keeps its place"
        );
        // Order: (380, 4711), (380, 4719), (403, 4711, 0100..), (403, 4711, 0109..).
        assert_eq!(d.settle().unwrap(), [4, 2, 1, 3]);
        assert_eq!(
            met.map(|(_, _, u)| d.find(u).unwrap()),
            [Some(4), Some(2), Some(1), Some(3)]
        );
        assert_eq!(
            d.position("0400000004", "380", "4711").unwrap(),
            5,
            "after the settled ones"
        );
        assert_eq!(d.settle().unwrap(), [5]);
        d.write_added(&dir.path().join("1.parquet")).unwrap();
        let back = UnitDictionary::read(&[dir.path().join("1.parquet")]).unwrap();
        let ids: Vec<&str> = (0..back.len()).map(|p| back.id_at(p)).collect();
        assert_eq!(
            ids,
            [
                "0101234567",
                "0300000002",
                "0200000001",
                "0100000003",
                "0109876543",
                "0400000004"
            ]
        );
    }

    /// A fresh id whose hash another fresh id holds is numbered on its own.
    #[test]
    fn two_new_ids_with_one_hash_each_get_a_position() {
        let mut d = UnitDictionary::default();
        assert_eq!(d.position("0101234567", "380", "4711").unwrap(), 0);
        d.fresh.index.insert(hash_of("0109876543"), 0);
        assert_eq!(d.position("0109876543", "380", "4711").unwrap(), 1);
        assert_eq!(
            d.position("0109876543", "380", "4711").unwrap(),
            1,
            "found again by name"
        );
        assert_eq!(d.settle().unwrap(), [0, 1]);
        assert_eq!(d.find("0109876543").unwrap(), Some(1));
        assert_eq!(d.find("0101234567").unwrap(), Some(0));
    }

    /// Two ids with one hash: the second is found by name, never taken for
    /// the first.
    #[test]
    fn an_id_whose_hash_another_holds_gets_its_own_position() {
        let mut d = UnitDictionary::default();
        assert_eq!(d.index_of("0101234567").unwrap(), 0);
        // Make "0109876543" hash as the first id does.
        d.index.insert(hash_of("0109876543"), 0);
        assert_eq!(d.index_of("0109876543").unwrap(), 1);
        assert_eq!(d.find("0109876543").unwrap(), Some(1));
        assert_eq!(d.find("0101234567").unwrap(), Some(0));
        assert_eq!(d.index_of("0109876543").unwrap(), 1, "found again, not numbered twice");
    }
}
