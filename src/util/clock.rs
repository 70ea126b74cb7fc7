//! Where the scheduler, the outbox and the months' release states (an
//! `App`'s answers) get "now". The server uses the system clock; tests
//! drive a manual clock; a rehearsal can start the clock at a chosen
//! instant (`ECOMSHARE_CLOCK_START`). Nothing else in the crate reads the
//! time of day for a decision about figures.

use chrono::{DateTime, Utc};
use std::sync::Mutex;
use std::time::Instant;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that reads `start` when created and runs at the normal pace
/// from there.
pub struct StartedAt {
    start: DateTime<Utc>,
    since: Instant,
}

impl StartedAt {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            start,
            since: Instant::now(),
        }
    }
}

impl Clock for StartedAt {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.since.elapsed()).unwrap_or_default();
        self.start + elapsed
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}
