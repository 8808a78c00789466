//! A spawned thread's handle: `join()` gives its result once, then the same value again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{Dynamic, EvalAltResult};

use crate::stop::{SLICE, Stop, StopReason};

use super::background::Background;
use super::error::{ErrorKind, Fallible, script_error, stopped};

/// Rhai walks, prints and drops nested data recursively on the native stack: every thread
/// that runs script code gets this much room (address space; pages are touched only as used),
/// so `a = [a]` twenty thousand times is data, not a crash.
pub const SCRIPT_STACK: usize = 256 << 20;

type Outcome = Result<Dynamic, Box<EvalAltResult>>;

/// A spawned thread; `join()` gives its result once, then the same result again.
#[derive(Clone)]
pub struct SpawnHandle(Arc<HandleState>);

struct HandleState {
    name: String,
    /// Set by `cancel`: the thread stops as if interrupted.
    cancel: Arc<AtomicBool>,
    done: Mutex<Receiver<Outcome>>,
    result: Mutex<Option<Outcome>>,
    joined: AtomicBool,
}

impl SpawnHandle {
    /// Starts `work` on a thread of its own; the OS may refuse one (kind `thread`).
    pub fn start(
        name: String,
        work: impl FnOnce() -> Outcome + Send + 'static,
    ) -> Fallible<SpawnHandle> {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let flag = cancel.clone();
        crate::threads::start("udpsh-spawn", Some(SCRIPT_STACK), move || {
            crate::stop::cancellable_by(flag);
            let _ = tx.send(work());
        })
        .map_err(super::error::no_thread)?;
        Ok(SpawnHandle(Arc::new(HandleState {
            name,
            cancel,
            done: Mutex::new(rx),
            result: Mutex::new(None),
            joined: Default::default(),
        })))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn was_joined(&self) -> bool {
        self.0.joined.load(Ordering::Relaxed)
    }

    /// Waits for the thread; gives up with the reason when `should_stop` says so.
    pub fn wait(&self, should_stop: impl Fn() -> Option<StopReason>) -> Result<(), StopReason> {
        let mut result = self.0.result.lock().unwrap_or_else(|p| p.into_inner());
        if result.is_some() {
            return Ok(());
        }
        let rx = self.0.done.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match rx.recv_timeout(SLICE) {
                Ok(outcome) => {
                    *result = Some(outcome);
                    return Ok(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    *result = Some(Err(script_error(
                        ErrorKind::Thread,
                        "the spawned thread panicked",
                    )));
                    return Ok(());
                }
            }
            if let Some(reason) = should_stop() {
                return Err(reason);
            }
        }
    }

    /// The thread's result, once; later calls see its value again, or that it failed.
    pub fn take(&self) -> Option<Outcome> {
        let mut slot = self.0.result.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = slot.take()?;
        *slot = Some(match &outcome {
            Ok(value) => Ok(value.clone()),
            Err(_) => Err(script_error(
                ErrorKind::Thread,
                "the thread failed (reported at its first join)",
            )),
        });
        Some(outcome)
    }

    /// `join()`: waits (stoppably) and gives the thread's value, or raises its error.
    pub fn join(&self, stop: &Stop) -> Outcome {
        self.0.joined.store(true, Ordering::Relaxed);
        self.wait(|| stop.check()).map_err(stopped)?;
        let outcome = self
            .take()
            .unwrap_or_else(|| Err(script_error(ErrorKind::Thread, "the thread has no result")));
        match outcome {
            Err(e) if self.0.cancel.load(Ordering::Relaxed) && super::error::is_stop(&e) => {
                Err(script_error(
                    ErrorKind::Thread,
                    "the thread was stopped (:stop) before it finished",
                ))
            }
            other => other,
        }
    }

    /// Whether the thread has ended (its result is kept for `join`).
    pub fn finished(&self) -> bool {
        let mut result = self.0.result.lock().unwrap_or_else(|p| p.into_inner());
        if result.is_some() {
            return true;
        }
        // A join waiting holds the receiver: then the thread is still running.
        let Ok(rx) = self.0.done.try_lock() else {
            return false;
        };
        match rx.try_recv() {
            Ok(outcome) => *result = Some(outcome),
            Err(std::sync::mpsc::TryRecvError::Empty) => return false,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                *result = Some(Err(script_error(
                    ErrorKind::Thread,
                    "the spawned thread panicked",
                )))
            }
        }
        true
    }
}

impl Background for SpawnHandle {
    /// A thread never joined: its failure is the script's failure (a stop is not).
    fn stop(&self, grace: Duration) -> Option<Box<EvalAltResult>> {
        if self.was_joined() {
            return None;
        }
        let until = crate::stop::deadline_after(grace);
        self.wait(|| {
            until
                .is_some_and(|u| Instant::now() > u)
                .then_some(StopReason::Finished)
        })
        .ok()?;
        match self.take()? {
            Err(e) if !super::error::is_stop(&e) => Some(e),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        format!("thread ({})", self.name())
    }

    fn finished(&self) -> bool {
        SpawnHandle::finished(self)
    }

    fn cancel(&self) {
        crate::stop::cancel(&self.0.cancel);
    }

    fn cancelled(&self) -> bool {
        self.0.cancel.load(Ordering::Relaxed)
    }
}
