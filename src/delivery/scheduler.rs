//! The monthly report on schedule: at each occurrence of the configured
//! schedule (by default the 5th at 08:00, Asia/Ho_Chi_Minh) the previous
//! month's report is archived from the current dataset version and a
//! delivery is queued in the outbox for every recipient.
//!
//! The last occurrence handled is kept in `DATA/schedule.json`, so
//! occurrences missed while the server was down are caught up at the next
//! start, oldest first. A month without any filing yet is not reported: its
//! occurrence waits (and blocks later ones) until filings arrive. Archiving
//! reuses a bundle of the same month, language and dataset version, and the
//! outbox takes each report × recipient once, so a report is never generated
//! or delivered twice. The clock is injected; nothing here reads the time of
//! day itself.

use crate::delivery::{self, Delivery, DeliveryError, Outbox, Recipient, ReportRef};
use crate::domain::MonthlySchedule;
use crate::present::locale::Lang;
use crate::report::ReportError;
use crate::service::{App, ShareParams};
use crate::util::clock::Clock;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

/// Runs kept in the state file.
const RUNS_KEPT: usize = 36;

#[derive(Debug, Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    #[error("{path}: {message}")]
    State { path: String, message: String },
}

impl ScheduleError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Report(e) => e.code(),
            Self::Delivery(e) => e.code(),
            Self::State { .. } => "schedule_state",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The report was built and archived.
    Generated,
    /// The archive already had this month's report of this dataset version.
    AlreadyArchived,
    /// No filing for the month yet; the occurrence waits.
    WaitingForFilings,
}

/// One occurrence handled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub occurrence: String,
    pub month: String,
    pub ran_at: String,
    pub outcome: RunOutcome,
    pub dataset_version: u64,
    pub bundle: Option<String>,
    /// Deliveries added to the outbox (those already there are not added again).
    pub deliveries_queued: usize,
}

/// `DATA/schedule.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The last occurrence whose report was archived.
    pub last_occurrence: Option<String>,
    /// Recent runs, newest last.
    pub runs: Vec<Run>,
}

pub struct Scheduler {
    pub app: Arc<App>,
    pub schedule: MonthlySchedule,
    pub language: Lang,
    pub recipients: Vec<Recipient>,
    pub clock: Arc<dyn Clock>,
}

impl Scheduler {
    fn state_path(&self) -> PathBuf {
        self.app.data_dir().join("schedule.json")
    }

    pub fn state(&self) -> Result<ScheduleState, ScheduleError> {
        read_state(&self.state_path())
    }

    /// Handles every occurrence due now, oldest first; returns the runs.
    pub async fn tick(&self) -> Result<Vec<Run>, ScheduleError> {
        let path = self.state_path();
        let mut state = read_state(&path)?;
        let last = state
            .last_occurrence
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let mut runs = Vec::new();
        for occurrence in self.schedule.due(last, self.clock.now()) {
            let run = self.run_occurrence(occurrence).await?;
            let waiting = run.outcome == RunOutcome::WaitingForFilings;
            if !waiting {
                state.last_occurrence = Some(delivery::stamp(occurrence));
                state.runs.push(run.clone());
                let excess = state.runs.len().saturating_sub(RUNS_KEPT);
                state.runs.drain(..excess);
                let bytes = serde_json::to_vec_pretty(&state).expect("the schedule state serializes");
                crate::util::durable::write_atomic(&path, &bytes).map_err(|e| ScheduleError::State {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
            }
            runs.push(run);
            if waiting {
                break;
            }
        }
        Ok(runs)
    }

    async fn run_occurrence(&self, occurrence: DateTime<Utc>) -> Result<Run, ScheduleError> {
        let month = self.schedule.month_reported(occurrence);
        let filings = self
            .app
            .share(&ShareParams {
                from: Some(month.to_string()),
                to: Some(month.to_string()),
                ..ShareParams::default()
            })
            .await
            .map_err(ReportError::from)?;
        let mut run = Run {
            occurrence: delivery::stamp(occurrence),
            month: month.to_string(),
            ran_at: delivery::stamp(self.clock.now()),
            outcome: RunOutcome::WaitingForFilings,
            dataset_version: filings.dataset_version,
            bundle: None,
            deliveries_queued: 0,
        };
        if filings.total.filings == 0 {
            return Ok(run);
        }
        let archive = self.app.data_dir().join("reports");
        let report = crate::report::generate(&self.app, month, self.language, &archive).await?;
        let outbox = Outbox::new(self.app.data_dir());
        let reference = ReportRef::from(&report);
        for r in &self.recipients {
            if outbox.enqueue(&Delivery::new(&reference, r, self.clock.now()))? {
                run.deliveries_queued += 1;
            }
        }
        run.outcome = if report.generated {
            RunOutcome::Generated
        } else {
            RunOutcome::AlreadyArchived
        };
        run.dataset_version = report.dataset_version;
        run.bundle = Some(report.bundle);
        Ok(run)
    }

    /// Runs until `stop` is asked: a tick now (the catch-up), then one a
    /// minute. Stops between ticks, never during one.
    pub async fn run(self, mut stop: crate::util::stop::Stop) {
        let mut waiting_logged = None;
        while !stop.requested() {
            match self.tick().await {
                Ok(runs) => {
                    for run in runs {
                        match run.outcome {
                            RunOutcome::WaitingForFilings => {
                                if waiting_logged.as_ref() != Some(&run.occurrence) {
                                    tracing::warn!(
                                        month = run.month,
                                        occurrence = run.occurrence,
                                        "scheduled report waits: no filing for the month yet"
                                    );
                                    waiting_logged = Some(run.occurrence.clone());
                                }
                            }
                            _ => tracing::info!(
                                month = run.month,
                                occurrence = run.occurrence,
                                dataset_version = run.dataset_version,
                                outcome = ?run.outcome,
                                deliveries_queued = run.deliveries_queued,
                                "scheduled report archived"
                            ),
                        }
                    }
                }
                Err(e) => tracing::error!(code = e.code(), error = %e, "the scheduled report failed"),
            }
            if stop.sleep(std::time::Duration::from_secs(60)).await {
                return;
            }
        }
    }
}

pub fn read_state(path: &std::path::Path) -> Result<ScheduleState, ScheduleError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ScheduleError::State {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ScheduleState::default()),
        Err(e) => Err(ScheduleError::State {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
    }
}
impl From<&crate::report::Generated> for ReportRef {
    fn from(g: &crate::report::Generated) -> Self {
        Self {
            month: g.month.clone(),
            language: g.language.clone(),
            dataset_version: g.dataset_version,
            dataset_committed_at: g.dataset_committed_at.clone(),
            content_sha256: g.content_sha256.clone(),
            bundle: g.bundle.clone(),
        }
    }
}
