//! The contributions kept for disclosure control: per month, each district
//! × VSIC cell's enterprise count, total and largest enterprise totals
//! (`domain::disclosure::Contributions`), computed by the engine from one
//! month of effective filings and kept across versions for as long as the
//! month's filings do not change — a month's contributions are those of
//! the last batch that changed the month (`BatchEntry::periods`). With them
//! a viewer's new breakdown is judged without scanning every filing; only
//! an entry whose bounds cannot decide it sends the answer to the exact
//! per-enterprise scan.
//!
//! Each month's contributions are also kept on disk (`store::contributions`:
//! `DATA/cache/kept/`, derived data that may be removed at any time), so
//! that a restart reads them instead of counting every month again; the
//! months a commit changed are counted right after it
//! (`App::keep_contributions`), not by a viewer's first table.
//!
//! Owns the cache and the choice between kept and exact parts; the bounds
//! themselves are `domain::disclosure`'s, the tables `disclose`'s.

use super::disclose::Parts;
use super::versions::Loaded;
use super::{App, AppError};
use crate::domain::disclosure::kept_per_cell;
use crate::domain::{Period, Slice};
use futures::StreamExt;
use std::sync::Arc;

use crate::store::contributions::{self, MonthContributions};

/// A month's kept contributions, computed at most once: (month, the version
/// whose batch last changed it, cells kept per entry).
pub(super) type KeptKey = (String, u64, usize);
pub(super) type KeptCell = tokio::sync::OnceCell<Arc<MonthContributions>>;

/// Months kept in memory before the cache starts afresh: a month of the
/// province's 27 districts × 57 VSIC codes is about 0.5 MB (the disk copy
/// stays).
const MAX_KEPT_MONTHS: usize = 256;

impl App {
    /// What disclosure control judges `slice`'s entries from (`slice.by`
    /// being the table's dimensions): the kept contributions of its months.
    pub(super) async fn kept_parts(&self, loaded: &Loaded, slice: &Slice) -> Result<Parts, AppError> {
        let Some((lo, hi)) = loaded.snapshot.period_range().await? else {
            return Ok(Parts::Kept(Vec::new()));
        };
        let (from, to) = (slice.from.max(lo), slice.to.min(hi));
        let k = kept_per_cell(&self.options.disclosure);
        let mut cells = Vec::new();
        let mut month = from;
        while month <= to {
            let name = month.to_string();
            let (kept, _) = self.month_contributions(loaded, month, k).await?;
            for (codes, c) in kept.iter() {
                if let Some(key) = crate::store::rollup::group_of(slice, &loaded.reference, &name, codes) {
                    cells.push((key, c.clone()));
                }
            }
            match month.add_months(1) {
                Some(next) => month = next,
                None => break,
            }
        }
        Ok(Parts::Kept(cells))
    }

    /// The exact per-enterprise totals of `slice`'s entries.
    pub(super) async fn exact_parts(&self, loaded: &Loaded, slice: &Slice) -> Result<Parts, AppError> {
        self.exact_counts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::debug!(by = ?slice.by, "disclosure: counting every enterprise from the filings");
        Ok(Parts::Exact(loaded.snapshot.enterprise_totals(slice).await?))
    }

    /// Counts the contributions of the latest version's months — those its
    /// last batch changed, or every month with `every_month` — and keeps
    /// them in memory and on disk, so that no viewer's first answer waits
    /// for them. A one-shot ingest does this after its commit, a server
    /// when it warms (and `App::publish_latest` for each new version).
    /// Returns how many months were counted (the others were kept already).
    pub async fn keep_contributions(&self, every_month: bool) -> Result<usize, AppError> {
        let loaded = self.load().await?;
        self.keep_contributions_of(&loaded, every_month).await
    }

    /// [`App::keep_contributions`] of a loaded snapshot, current or not yet.
    pub(super) async fn keep_contributions_of(&self, loaded: &Loaded, every_month: bool) -> Result<usize, AppError> {
        if !self.options.kept_contributions {
            return Ok(0);
        }
        let months: Vec<Period> = match loaded.batch_months.last() {
            Some((_, Some(changed))) if !every_month => changed.iter().filter_map(|m| Period::parse(m)).collect(),
            _ => match loaded.snapshot.period_range().await? {
                Some((lo, hi)) => std::iter::successors(Some(lo), |m| m.add_months(1).filter(|n| *n <= hi)).collect(),
                None => Vec::new(),
            },
        };
        let k = kept_per_cell(&self.options.disclosure);
        // Two months at a time where a commit may take both cores (a
        // one-shot ingest), one where requests need one (a server).
        let at_once = if self.options.concurrent_commit { 2 } else { 1 };
        let mut counting = futures::stream::iter(months)
            .map(|month| self.month_contributions(loaded, month, k))
            .buffer_unordered(at_once);
        let mut counted = 0;
        while let Some(kept) = counting.next().await {
            counted += usize::from(kept?.1);
        }
        Ok(counted)
    }

    async fn month_contributions(
        &self,
        loaded: &Loaded,
        month: Period,
        k: usize,
    ) -> Result<(Arc<MonthContributions>, bool), AppError> {
        let name = month.to_string();
        let key: KeptKey = (name.clone(), loaded.changed_by(&name), k);
        let cell = {
            let mut kept = self.kept.lock().expect("kept lock");
            if kept.len() >= MAX_KEPT_MONTHS && !kept.contains_key(&key) {
                kept.clear();
            }
            kept.entry(key.clone()).or_default().clone()
        };
        let mut counted = false;
        let value = cell
            .get_or_try_init(|| async {
                // Kept on disk too, so that a restart does not count every
                // month again (at 100M filings, a second or so per month).
                let path = self.warehouse.kept_contributions_path(&name, key.1, k);
                if let Some(cells) = read_kept(&path).await {
                    return Ok(Arc::new(cells));
                }
                let started = std::time::Instant::now();
                let cells = loaded.snapshot.month_contributions(month, k).await?;
                counted = true;
                tracing::debug!(
                    month = %name,
                    cells = cells.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "disclosure: contributions of a month kept"
                );
                let cells = Arc::new(cells);
                write_kept(path, cells.clone()).await;
                Ok::<_, AppError>(cells)
            })
            .await?;
        Ok((value.clone(), counted))
    }
}

/// A month's contributions as kept on disk; `None` when absent or
/// unreadable (they are then counted again).
async fn read_kept(path: &std::path::Path) -> Option<MonthContributions> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || contributions::read(&path))
        .await
        .ok()
        .flatten()
}

/// Keeps a month's contributions on disk (atomically); a failure only costs
/// counting them again after a restart.
async fn write_kept(path: std::path::PathBuf, cells: Arc<MonthContributions>) {
    let written = tokio::task::spawn_blocking(move || contributions::write(&path, &cells)).await;
    if let Ok(Err(e)) = written {
        tracing::warn!(error = %e, "keeping a month's contributions on disk failed");
    }
}
