//! The children of one run, so none outlives it: [`Children::stop_all`] at the end of the
//! script (however it ended) and in the REPL on exit, and again when the run is dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::child::Child;

/// How long a child gets after TERM before KILL.
pub const GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub struct Children(Mutex<Vec<Arc<Child>>>);

impl Children {
    pub fn new() -> Children {
        Children::default()
    }

    pub fn add(&self, child: Arc<Child>) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        // Finished children need no stopping: forget them, so a loop of starts stays small.
        all.retain(|c| c.alive());
        all.push(child);
    }

    /// Stops every child still running, all at once (TERM to each, then KILL to those left
    /// after [`GRACE`]); returns how many were running.
    pub fn stop_all(&self) -> usize {
        let all = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        let running: Vec<_> = all.into_iter().filter(|c| c.alive()).collect();
        std::thread::scope(|scope| {
            for child in &running {
                scope.spawn(move || child.stop(GRACE));
            }
        });
        running.len()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_every_child_left_running() {
        let children = Children::new();
        let a = Arc::new(Child::start("sleep", &["30".into()]).unwrap());
        let b = Arc::new(Child::start("sleep", &["30".into()]).unwrap());
        children.add(a.clone());
        children.add(b.clone());
        assert_eq!(children.stop_all(), 2);
        assert!(!a.alive() && !b.alive());
        assert!(children.is_empty());
    }
}
