//! Compaction: merges runs of small batches into segments (see
//! `store::segments`), so a version built from many small filings
//! uploads is read from few files. Picks the run, has ingest merge the
//! files, has the warehouse publish the segment. Changes no answer and no
//! manifest: a segment holds exactly its batches' rows.

use super::{App, AppError};
use serde::Serialize;

/// When a run of batches is worth compacting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactPolicy {
    /// Batches with fewer accepted filings than this are small.
    pub small_rows: u64,
    /// A run is compacted once it has this many small batches.
    pub min_batches: usize,
    /// Most filings in one segment (compaction reads them into memory).
    pub max_rows: u64,
}

impl Default for CompactPolicy {
    fn default() -> Self {
        Self {
            small_rows: 100_000,
            min_batches: 8,
            max_rows: 2_000_000,
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CompactReport {
    /// False when there was nothing to compact (or a commit held the lock).
    pub compacted: bool,
    pub first_batch: Option<u64>,
    pub last_batch: Option<u64>,
    pub rows: u64,
    pub files_replaced: u64,
    /// Files the latest version is read from, before and after.
    pub files_before: usize,
    pub files_after: usize,
}

impl App {
    /// Compacts the first run of at least `policy.min_batches` consecutive
    /// small batches after the last segment, if there is one and no commit
    /// is running.
    pub fn compact(&self, policy: &CompactPolicy) -> Result<CompactReport, AppError> {
        // A shutdown waits for a round running and begins none.
        let _write = self.write_permit()?;
        let Some(compaction) = self.warehouse.begin_compaction()? else {
            return self.nothing_compacted();
        };
        let latest = compaction.latest().clone();
        let covered = compaction.index().covered_to();
        let files_before = files_read(&latest, compaction.index());
        let mut run: Vec<&crate::store::BatchEntry> = Vec::new();
        let mut rows = 0u64;
        for batch in latest.batches.iter().filter(|b| b.seq > covered) {
            let accepted: u64 = batch.files.iter().map(|f| f.accepted).sum();
            if accepted >= policy.small_rows || rows + accepted > policy.max_rows {
                if run.len() >= policy.min_batches {
                    break;
                }
                run.clear();
                rows = 0;
                if accepted >= policy.small_rows {
                    continue;
                }
            }
            run.push(batch);
            rows += accepted;
        }
        if run.len() < policy.min_batches {
            drop(compaction);
            return self.nothing_compacted();
        }
        let (first, last) = (run[0].seq, run[run.len() - 1].seq);
        let filings: Vec<_> = run
            .iter()
            .flat_map(|b| b.files.iter().filter_map(|f| f.filings.as_deref()))
            .map(|p| self.warehouse.path_of(p))
            .collect();
        let superseded: Vec<_> = run
            .iter()
            .filter_map(|b| b.superseded.as_deref())
            .map(|p| self.warehouse.path_of(p))
            .collect();
        let paths = compaction.staging()?;
        let merged = if filings.is_empty() {
            0
        } else {
            crate::ingest::merge_filings(&filings, &paths.filings)?
        };
        if !superseded.is_empty() {
            crate::ingest::merge_row_ids(&superseded, &paths.superseded)?;
        }
        let files_replaced = (filings.len() + superseded.len()) as u64;
        let index = compaction.publish(first, last, merged, files_replaced)?;
        tracing::info!(
            first,
            last,
            rows = merged,
            files_replaced,
            "compacted a run of small batches"
        );
        Ok(CompactReport {
            compacted: true,
            first_batch: Some(first),
            last_batch: Some(last),
            rows: merged,
            files_replaced,
            files_before,
            files_after: files_read(&latest, &index),
        })
    }

    fn nothing_compacted(&self) -> Result<CompactReport, AppError> {
        let files = files_read(&self.warehouse.latest()?, &self.warehouse.segments()?);
        Ok(CompactReport {
            compacted: false,
            first_batch: None,
            last_batch: None,
            rows: 0,
            files_replaced: 0,
            files_before: files,
            files_after: files,
        })
    }
}

/// How many files a version is read from, given the segments.
fn files_read(manifest: &crate::store::Manifest, index: &crate::store::SegmentIndex) -> usize {
    let (filings, superseded) = crate::store::version_files(manifest, index);
    filings.len() + superseded.len()
}
