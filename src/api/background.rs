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

    /// Asks it to end, without waiting (a child gets TERM): called for everything before
    /// [`Background::stop`] waits for each, so a hundred children take one grace, not a
    /// hundred.
    fn begin_stop(&self) {}

    /// What it is, for the REPL's `:jobs`: `thread (closure in <repl>#3)`.
    fn describe(&self) -> String {
        "background job".into()
    }

    /// Whether it has ended by itself.
    fn finished(&self) -> bool {
        false
    }

    /// Whether it was ended by [`Background::cancel`] (`:stop`).
    fn cancelled(&self) -> bool {
        false
    }

    /// Ends it now, while the script goes on (the REPL's `:stop N`).
    fn cancel(&self) {
        let _ = self.stop(Duration::from_secs(1));
    }
}

/// The run's list; cheap to share.
#[derive(Default)]
pub struct Registry(Mutex<Vec<Arc<dyn Background>>>);

impl Registry {
    pub fn add(&self, item: Arc<dyn Background>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(item);
    }

    /// Everything started so far, oldest first.
    pub fn list(&self) -> Vec<Arc<dyn Background>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops everything, in the order it was started; returns the first unseen error.
    pub fn stop_all(&self, grace: Duration) -> Option<Box<EvalAltResult>> {
        let items = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        let mut first = None;
        for item in &items {
            item.begin_stop();
        }
        let until = std::time::Instant::now() + grace;
        for item in items {
            let error = item.stop(until.saturating_duration_since(std::time::Instant::now()));
            if first.is_none() {
                first = error;
            }
        }
        first
    }
}
