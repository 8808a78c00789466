//! Why a running script must stop: its `--timeout`, Ctrl-C, or its run having ended.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Set by the Ctrl-C handler; every running script sees it (but see [`interrupt_this_thread_only`]).
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static THIS_THREAD_ONLY: AtomicBool = AtomicBool::new(false);

thread_local! {
    static FOREGROUND: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set on a spawned thread that can be cancelled by itself (the REPL's `:stop N`).
    static CANCEL: std::cell::RefCell<Option<std::sync::Arc<AtomicBool>>> =
        const { std::cell::RefCell::new(None) };
}
/// How many cancellations were ever asked for: while 0, no thread looks at its own flag.
static CANCELS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Blocking calls wait in slices this long, so a stop is seen within a fraction of a second.
pub const SLICE: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    Timeout,
    Interrupted,
    /// The script that spawned this thread has ended.
    Finished,
    /// The `timeout` of one `test()` passed: that test stops, the file goes on.
    TestTimeout,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Timeout => "timeout",
            StopReason::Interrupted => "interrupted",
            StopReason::Finished => "finished",
            StopReason::TestTimeout => "test timeout",
        }
    }

    pub fn parse(token: &str) -> Option<StopReason> {
        match token {
            "timeout" => Some(StopReason::Timeout),
            "interrupted" => Some(StopReason::Interrupted),
            "finished" => Some(StopReason::Finished),
            "test timeout" => Some(StopReason::TestTimeout),
            _ => None,
        }
    }
}

/// One script run's stop state, shared with its spawned threads.
#[derive(Debug, Default)]
pub struct Stop {
    deadline: Option<Instant>,
    state: AtomicU8,
    /// The running `test()`'s own deadline, if it has one.
    test_deadline: Mutex<Option<Instant>>,
    /// Whether `test_deadline` is set: the hot path looks at this alone.
    has_test_deadline: AtomicBool,
    /// The running test's deadline has passed (set by the timer of [`Stop::watch`]).
    test_overdue: AtomicBool,
}

impl Stop {
    pub fn new(limit: Option<Duration>) -> Stop {
        Stop::until(limit.and_then(deadline_after))
    }

    /// A stop state whose deadline is `deadline` (none: no deadline).
    pub fn until(deadline: Option<Instant>) -> Stop {
        Stop {
            deadline,
            ..Stop::default()
        }
    }

    /// Cheap check for the interpreter's hot loop: two atomic loads, no clock.
    pub fn flagged(&self) -> Option<StopReason> {
        match self.state.load(Ordering::Relaxed) {
            1 => return Some(StopReason::Timeout),
            2 => return Some(StopReason::Interrupted),
            3 => return Some(StopReason::Finished),
            _ => {}
        }
        if self.has_test_deadline.load(Ordering::Relaxed)
            && self.test_overdue.load(Ordering::Relaxed)
        {
            return Some(StopReason::TestTimeout);
        }
        (interrupted() || cancelled()).then_some(StopReason::Interrupted)
    }

    /// Looks at the clock every few milliseconds on a thread of its own until the run ends,
    /// so a deadline raises the flag that [`Stop::flagged`] reads: the interpreter's cheap
    /// check then sees it within a few operations, even when the script runs few and costly
    /// ones (a `pad` of millions, a `map` over a big array).
    pub fn watch(self: &std::sync::Arc<Self>) {
        let stop = std::sync::Arc::downgrade(self);
        // Without this thread the interpreter still reads the clock every 1024 operations.
        let _ = crate::threads::start("udpsh-deadline", Some(64 << 10), move || {
            while let Some(stop) = stop.upgrade() {
                if stop.state.load(Ordering::Relaxed) == 3 {
                    break;
                }
                let _ = stop.check();
                drop(stop);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
    }

    /// Full check, clock included; records a passed deadline so later cheap checks see it.
    pub fn check(&self) -> Option<StopReason> {
        if let Some(reason) = self.flagged() {
            return Some(reason);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.state.store(1, Ordering::Relaxed);
            return Some(StopReason::Timeout);
        }
        if self.has_test_deadline.load(Ordering::Relaxed)
            && self
                .test_deadline
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some_and(|d| Instant::now() >= d)
        {
            self.test_overdue.store(true, Ordering::Relaxed);
            return Some(StopReason::TestTimeout);
        }
        None
    }

    /// Sets (or clears) the deadline of the `test()` about to run.
    pub fn set_test_deadline(&self, limit: Option<Duration>) {
        let deadline = limit.and_then(deadline_after);
        let mut test_deadline = self.test_deadline.lock().unwrap_or_else(|p| p.into_inner());
        *test_deadline = deadline;
        self.test_overdue.store(false, Ordering::Relaxed);
        self.has_test_deadline
            .store(deadline.is_some(), Ordering::Relaxed);
    }

    pub fn finish(&self) {
        let _ = self
            .state
            .compare_exchange(0, 3, Ordering::Relaxed, Ordering::Relaxed);
    }
}

pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

pub fn clear_interrupt() {
    INTERRUPTED.store(false, Ordering::Relaxed);
}

/// Whether Ctrl-C was pressed, as this thread should see it.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
        && (!THIS_THREAD_ONLY.load(Ordering::Relaxed) || FOREGROUND.with(|f| f.get()))
}

/// From now on Ctrl-C stops only the calling thread's work: in the REPL it cancels the input
/// being evaluated, while the threads that input spawned (a background server) go on.
pub fn interrupt_this_thread_only() {
    FOREGROUND.with(|f| f.set(true));
    THIS_THREAD_ONLY.store(true, Ordering::Relaxed);
}

/// From now on this thread stops (as if interrupted) once `flag` is set with [`cancel`].
pub fn cancellable_by(flag: std::sync::Arc<AtomicBool>) {
    CANCEL.with(|c| *c.borrow_mut() = Some(flag));
}

/// Sets a flag given to [`cancellable_by`]: that thread stops at its next check.
pub fn cancel(flag: &AtomicBool) {
    flag.store(true, Ordering::Relaxed);
    CANCELS.fetch_add(1, Ordering::Relaxed);
}

fn cancelled() -> bool {
    CANCELS.load(Ordering::Relaxed) > 0
        && CANCEL.with(|c| {
            c.borrow()
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
        })
}

/// The moment `wait` from now; `None` when that is past what the clock can count (never).
pub fn deadline_after(wait: Duration) -> Option<Instant> {
    Instant::now().checked_add(wait)
}

/// Sleeps up to `total`, in slices, returning early with the reason if told to stop.
pub fn sleep(total: Duration, stop: &Stop) -> Result<(), StopReason> {
    let end = deadline_after(total);
    loop {
        if let Some(reason) = stop.check() {
            return Err(reason);
        }
        let left = end.map_or(SLICE, |end| end.saturating_duration_since(Instant::now()));
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(SLICE));
    }
}
