//! What a script leaves running — spawned threads, and soon child processes and proxies —
//! kept in one list of its run, so all of it is stopped however the script ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rhai::EvalAltResult;

/// Something a script started that must not outlive it.
pub trait Background: Send + Sync {
    /// Waits up to `grace` for it to end by itself (the run's stop flag is already set), then
    /// makes it end. Returns the error it ended with, if the script never saw that error.
    fn stop(&self, grace: Duration) -> Option<Box<EvalAltResult>>;
}

/// The run's list; cheap to share.
#[derive(Default)]
pub struct Registry(Mutex<Vec<Arc<dyn Background>>>);

impl Registry {
    pub fn add(&self, item: Arc<dyn Background>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(item);
    }

    /// Stops everything, in the order it was started; returns the first unseen error.
    pub fn stop_all(&self, grace: Duration) -> Option<Box<EvalAltResult>> {
        let items = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        let mut first = None;
        for item in items {
            let error = item.stop(grace);
            if first.is_none() {
                first = error;
            }
        }
        first
    }
}
