//! The serving lifecycle as the service sees it: whether the newest dataset
//! version has been readied for answering (ready), and whether the process
//! is shutting down, after which no write (an ingest's commit, a
//! compaction) begins and the one running is waited for.
//!
//! Owns the readiness state and the write permits. Knows nothing of
//! signals, listeners, HTTP or the command line: the server says when
//! shutting down begins; readiness is read with atomics, never by loading.

use super::{App, AppError};
use crate::util::stop::{Stop, Stopper, stopper};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a readiness probe is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// No version has been loaded and readied yet (the server is starting).
    Loading,
    /// A version is loaded and readied: requests are answered from it (a
    /// later version is readied in the background while it answers).
    Ready { dataset_version: u64 },
    /// Shutting down: requests in flight finish, new ones go elsewhere.
    ShuttingDown,
}

pub(super) struct Lifecycle {
    /// Set once the first snapshot (the newest version then) is installed.
    readied: AtomicBool,
    /// Set when shutting down begins; never cleared.
    closing: AtomicBool,
    /// Asked when shutting down begins, for what waits on it.
    closer: Stopper,
    closed: Stop,
    /// Read-held by each write while it runs; shutting down takes it to
    /// write, so waits for the writes running.
    writes: Arc<tokio::sync::RwLock<()>>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        let (closer, closed) = stopper();
        Self {
            readied: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            closer,
            closed,
            writes: Arc::default(),
        }
    }
}

/// Held while a write runs (an ingest from its first file to its commit, a
/// compaction round): shutting down waits until every permit is dropped.
/// Clones share one permit.
#[derive(Clone)]
pub struct WritePermit(#[allow(dead_code)] Arc<tokio::sync::OwnedRwLockReadGuard<()>>);

impl Lifecycle {
    pub(super) fn readied(&self) {
        self.readied.store(true, Ordering::Release);
    }
}

impl App {
    /// Whether this App is ready to answer: cheap (no load, no I/O).
    pub fn readiness(&self) -> Readiness {
        if self.shutting_down() {
            return Readiness::ShuttingDown;
        }
        if !self.lifecycle.readied.load(Ordering::Acquire) {
            return Readiness::Loading;
        }
        match self.loaded.lock().expect("cache lock").as_ref() {
            Some(l) => Readiness::Ready {
                dataset_version: l.tag.dataset_version,
            },
            None => Readiness::Loading,
        }
    }

    /// Whether shutting down has begun.
    pub fn shutting_down(&self) -> bool {
        self.lifecycle.closing.load(Ordering::SeqCst)
    }

    /// Shutting down begins: readiness says so, and no write begins from
    /// now on (`AppError::ShuttingDown`). Returns false when it had already
    /// begun.
    pub fn begin_shutdown(&self) -> bool {
        let first = !self.lifecycle.closing.swap(true, Ordering::SeqCst);
        self.lifecycle.closer.stop();
        first
    }

    /// Completes once shutting down has begun: for work that should be
    /// abandoned then (readying a version the next start readies anyway).
    pub fn shutdown_begun(&self) -> Stop {
        self.lifecycle.closed.clone()
    }

    /// Waits for the writes running when shutting down began (a commit
    /// finishes whole); none begins after [`App::begin_shutdown`].
    pub async fn writes_finished(&self) {
        let _all = self.lifecycle.writes.write().await;
    }

    /// Whether a write holding a permit is running now.
    pub fn writing(&self) -> bool {
        self.lifecycle.writes.try_write().is_err()
    }

    /// A permit to write, refused once shutting down has begun. The ingest
    /// and compaction use cases take one themselves; a caller that must
    /// know the outcome of a write before shutting down ends holds one
    /// around it (the HTTP upload, until its answer is made).
    pub fn write_permit(&self) -> Result<WritePermit, AppError> {
        if self.shutting_down() {
            return Err(AppError::ShuttingDown);
        }
        // Fails only while shutting down waits for the writes running.
        match self.lifecycle.writes.clone().try_read_owned() {
            Ok(guard) => Ok(WritePermit(Arc::new(guard))),
            Err(_) => Err(AppError::ShuttingDown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Format;
    use crate::service::IngestSource;

    fn upload(app: &App) -> Result<crate::service::IngestReport, AppError> {
        let unit = (0..100)
            .find_map(|n| crate::domain::unit_id::complete_tax_code(&format!("28{n:07}")))
            .unwrap();
        let text = format!(
            "unit_id,district_code,sector_code,period,total_revenue_vnd,ecommerce_revenue_vnd\n{unit},380,4711,2025-01,1000,100\n"
        );
        app.ingest(vec![IngestSource::Bytes {
            name: "f.csv".into(),
            format: Some(Format::Csv),
            bytes: text.into_bytes(),
        }])
    }

    #[test]
    fn loading_then_ready_then_shutting_down_and_no_write_begins_after() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path().join("data")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert_eq!(app.readiness(), Readiness::Loading, "nothing readied yet");
        upload(&app).unwrap();
        assert_eq!(app.readiness(), Readiness::Loading, "committed is not readied");
        assert_eq!(rt.block_on(app.publish_latest()).unwrap(), 1);
        assert_eq!(app.readiness(), Readiness::Ready { dataset_version: 1 });

        // A write running when shutting down begins is waited for; none
        // begins after.
        let running = app.write_permit().unwrap();
        assert!(app.writing());
        assert!(app.begin_shutdown());
        assert!(!app.begin_shutdown(), "once");
        assert!(app.shutdown_begun().requested());
        assert_eq!(app.readiness(), Readiness::ShuttingDown);
        assert!(
            futures::FutureExt::now_or_never(app.writes_finished()).is_none(),
            "the running write is waited for"
        );
        assert!(matches!(app.write_permit(), Err(AppError::ShuttingDown)));
        let refused = upload(&app).unwrap_err();
        assert_eq!(refused.code(), "shutting_down");
        assert_eq!(refused.kind(), crate::service::ErrorKind::ShuttingDown);
        assert_eq!(app.dataset_version().unwrap(), 1, "nothing committed");
        drop(running);
        assert!(futures::FutureExt::now_or_never(app.writes_finished()).is_some());
        assert!(!app.writing());
    }
}
