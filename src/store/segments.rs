//! Compacted segments: the filings and superseded row ids of a run of
//! consecutive batches, merged into one file each, so that a version made of
//! many small batches is read from a few files. A segment holds exactly the
//! rows of its batches (every row keeps its batch, file, record and row id),
//! so reading it instead of those batches' files changes no answer; the
//! batches' own files stay, named by their manifests, for `as_of` a version
//! inside the run.
//!
//! `DATA/segments/index.json` lists the segments (replaced atomically: the
//! rename is the publication); `DATA/segments/FIRST-LAST/` holds a
//! segment's files, written under `DATA/segments/.staging/` and renamed into
//! place first. Runs never overlap. Knows no Parquet: the files are written
//! by ingest and read by the engine.

use super::{Manifest, Warehouse};
use super::{WarehouseError, io, remove_any};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::PathBuf;

const FORMAT: u32 = 1;
const INDEX: &str = "segments/index.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// The first and last batch (version) merged, inclusive.
    pub first: u64,
    pub last: u64,
    /// The merged filings and superseded row ids, relative to the data
    /// directory; absent when the batches had none.
    pub filings: Option<String>,
    pub superseded: Option<String>,
    /// Filings in the segment, and files it stands for.
    pub rows: u64,
    pub files_replaced: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentIndex {
    pub format: u32,
    pub segments: Vec<Segment>,
}

impl SegmentIndex {
    /// The segment starting at batch `seq` that lies within `version`.
    fn starting_at(&self, seq: u64, version: u64) -> Option<&Segment> {
        self.segments.iter().find(|s| s.first == seq && s.last <= version)
    }

    /// The last batch any segment covers (0 when none).
    pub fn covered_to(&self) -> u64 {
        self.segments.iter().map(|s| s.last).max().unwrap_or(0)
    }
}

/// The files to read for a version: its batches' filings and superseded
/// row ids, with each run of batches a segment covers (wholly within the
/// version) read from the segment instead. Relative paths.
pub fn version_files(manifest: &Manifest, index: &SegmentIndex) -> (Vec<String>, Vec<String>) {
    let (mut filings, mut superseded) = (Vec::new(), Vec::new());
    let mut skip_to = 0;
    for batch in &manifest.batches {
        if batch.seq <= skip_to {
            continue;
        }
        if let Some(s) = index.starting_at(batch.seq, manifest.version) {
            filings.extend(s.filings.clone());
            superseded.extend(s.superseded.clone());
            skip_to = s.last;
            continue;
        }
        filings.extend(batch.files.iter().filter_map(|f| f.filings.clone()));
        superseded.extend(batch.superseded.clone());
    }
    (filings, superseded)
}

impl Warehouse {
    /// The published segments (none before the first compaction).
    pub fn segments(&self) -> Result<SegmentIndex, WarehouseError> {
        let path = self.root.join(INDEX);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let index: SegmentIndex = serde_json::from_str(&text).map_err(|e| WarehouseError::CorruptManifest {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
                if index.format != FORMAT {
                    return Err(WarehouseError::CorruptManifest {
                        path,
                        message: format!("segment index format {} is not supported", index.format),
                    });
                }
                Ok(index)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SegmentIndex {
                format: FORMAT,
                segments: Vec::new(),
            }),
            Err(e) => Err(io(&path)(e)),
        }
    }

    /// Takes the commit lock without waiting (`None` when a commit or
    /// another compaction holds it) and opens a compaction.
    pub fn begin_compaction(&self) -> Result<Option<Compaction<'_>>, WarehouseError> {
        let lock = self.lock_file()?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&self.root)(e)),
        }
        self.recover()?;
        Ok(Some(Compaction {
            warehouse: self,
            _lock: lock,
            index: self.segments()?,
            latest: self.latest()?,
        }))
    }

    /// Removes segment directories the index does not name and the staging
    /// directory. Call only while holding the lock.
    pub(super) fn recover_segments(&self) -> Result<(), WarehouseError> {
        let dir = self.root.join("segments");
        if !dir.exists() {
            return Ok(());
        }
        let index = self.segments()?;
        for entry in fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let named = index.segments.iter().any(|s| segment_dir(s.first, s.last) == name);
            if entry.path().is_dir() && !named {
                tracing::warn!(dir = %entry.path().display(), "removing a segment left by an interrupted compaction");
                remove_any(&entry.path())?;
            }
        }
        Ok(())
    }
}

pub(super) fn segment_dir(first: u64, last: u64) -> String {
    format!("{first:08}-{last:08}")
}

/// A compaction in progress, holding the commit lock.
pub struct Compaction<'w> {
    warehouse: &'w Warehouse,
    _lock: std::fs::File,
    index: SegmentIndex,
    latest: Manifest,
}

/// The paths a new segment's files are written to.
pub struct SegmentPaths {
    pub filings: PathBuf,
    pub superseded: PathBuf,
}

impl Compaction<'_> {
    /// The latest version and the segments published so far.
    pub fn latest(&self) -> &Manifest {
        &self.latest
    }

    pub fn index(&self) -> &SegmentIndex {
        &self.index
    }

    /// Where to write the merged files of batches `first..=last`.
    pub fn staging(&self) -> Result<SegmentPaths, WarehouseError> {
        let dir = self.warehouse.root.join("segments").join(".staging");
        remove_any(&dir)?;
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(SegmentPaths {
            filings: dir.join("filings.parquet"),
            superseded: dir.join("superseded.parquet"),
        })
    }

    /// Publishes the staged files as the segment of batches `first..=last`:
    /// renames them into place, then replaces the index (the publication).
    pub fn publish(
        mut self,
        first: u64,
        last: u64,
        rows: u64,
        files_replaced: u64,
    ) -> Result<SegmentIndex, WarehouseError> {
        let root = &self.warehouse.root;
        let staging = root.join("segments").join(".staging");
        let name = segment_dir(first, last);
        let target = root.join("segments").join(&name);
        remove_any(&target)?;
        for f in ["filings.parquet", "superseded.parquet"] {
            let p = staging.join(f);
            if p.exists() {
                fs::File::open(&p).and_then(|f| f.sync_all()).map_err(io(&p))?;
            }
        }
        crate::util::fault::before_rename(&target);
        fs::rename(&staging, &target).map_err(io(&target))?;
        super::sync_dir(&root.join("segments"))?;
        super::fault_point("compaction-before-index");
        let relative = |f: &str| {
            let exists = target.join(f).exists();
            exists.then(|| format!("segments/{name}/{f}"))
        };
        self.index.segments.push(Segment {
            first,
            last,
            filings: relative("filings.parquet"),
            superseded: relative("superseded.parquet"),
            rows,
            files_replaced,
        });
        self.index.segments.sort_by_key(|s| s.first);
        let text = serde_json::to_vec_pretty(&self.index).expect("the index serialises");
        let path = root.join(INDEX);
        crate::util::durable::write_atomic(&path, &text).map_err(io(&path))?;
        Ok(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BatchEntry, FileEntry};

    fn batch(seq: u64, files: usize, superseded: bool) -> BatchEntry {
        BatchEntry {
            seq,
            committed_at: String::new(),
            ingest_time_us: 0,
            files: (0..files)
                .map(|i| FileEntry {
                    index: i as u32,
                    name: format!("f{i}"),
                    sha256: String::new(),
                    records: 1,
                    accepted: 1,
                    rejected: 0,
                    filings: Some(format!("b{seq}/f{i}")),
                    rejections: None,
                })
                .collect(),
            superseded: superseded.then(|| format!("b{seq}/s")),
            reference: None,
            rollup: None,
            units: None,
            report: None,
            submitted_by: None,
            periods: None,
        }
    }

    #[test]
    fn a_segment_stands_for_its_batches_only_in_versions_that_contain_it_whole() {
        let batches: Vec<BatchEntry> = (1..=5).map(|s| batch(s, 1 + (s as usize % 2), s == 3)).collect();
        let index = SegmentIndex {
            format: FORMAT,
            segments: vec![Segment {
                first: 2,
                last: 4,
                filings: Some("seg/f".into()),
                superseded: Some("seg/s".into()),
                rows: 9,
                files_replaced: 4,
            }],
        };
        let manifest = |version: u64| Manifest {
            format: crate::store::manifest::FORMAT,
            version,
            committed_at: String::new(),
            batches: batches[..version as usize].to_vec(),
        };
        let (f, s) = version_files(&manifest(5), &index);
        assert_eq!(f, ["b1/f0", "b1/f1", "seg/f", "b5/f0", "b5/f1"]);
        assert_eq!(s, ["seg/s"]);
        // Version 3 ends inside the run: its own batches' files.
        let (f, s) = version_files(&manifest(3), &index);
        assert_eq!(f, ["b1/f0", "b1/f1", "b2/f0", "b3/f0", "b3/f1"]);
        assert_eq!(s, ["b3/s"]);
    }
}
