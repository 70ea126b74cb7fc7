//! A stop request for long-running loops: one [`Stopper`] asks, every
//! clone of its [`Stop`] sees it, between units of work (a loop checks it
//! where stopping leaves nothing half done) or while it waits.
//!
//! Knows nothing of what the loops do, nor of signals.

use std::time::Duration;
use tokio::sync::watch;

/// Asks every [`Stop`] made from it to stop.
pub struct Stopper(watch::Sender<bool>);

/// Whether stopping was asked, and a wait that ends when it is.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

/// A new stopper and the stop its loops watch.
pub fn stopper() -> (Stopper, Stop) {
    let (tx, rx) = watch::channel(false);
    (Stopper(tx), Stop(rx))
}

impl Stopper {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }

    /// Another stop watching this stopper.
    pub fn watch(&self) -> Stop {
        Stop(self.0.subscribe())
    }
}

impl Stop {
    pub fn requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when stopping is asked (never, once the stopper is gone
    /// without asking).
    pub async fn stopped(&mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Sleeps `d`, or less if stopping is asked meanwhile; true when it was.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => self.requested(),
            _ = self.stopped() => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;

    #[test]
    fn a_stop_is_seen_by_every_watcher_and_ends_their_waits() {
        let (stopper, mut stop) = stopper();
        let mut other = stopper.watch();
        let mut copy = stop.clone();
        assert!(!stop.requested());
        assert!(stop.stopped().now_or_never().is_none());
        stopper.stop();
        assert!(stop.requested() && other.requested() && copy.requested());
        assert!(other.stopped().now_or_never().is_some());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        assert!(rt.block_on(copy.sleep(Duration::from_secs(3600))), "the sleep ends");
    }
}
