//! The shared memory between the recorder (`ring.rs`) and its watchdog (`guard.rs`): the
//! control block, the kinds of entries and their sizes, and the futex both sides sleep on.

#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64};
use std::time::Duration;

/// Bytes of records the ring holds: far above what the watchdog lags behind by (a batch every
/// [`guard::BATCH_DELAY`], some 20 KB at a million records a second), and room for the largest
/// record ([`MAX_ENTRY`]); small enough to stay in the CPU's cache and add little to udpsh's
/// memory.
pub(super) const CAPACITY: usize = 512 << 10;
/// The control block before the ring's bytes.
pub(super) const CONTROL: usize = 4096;

pub(super) const RECORD: u32 = 1;
/// The rest of the ring up to its end is unused: the next entry is at the start.
pub(super) const SKIP: u32 = 2;
/// The recorder has been told of a failed write: records after this one are written again.
pub(super) const RESUME: u32 = 3;

/// Shared between the two processes, at the start of the mapping. Each side's counters on a
/// cache line of their own.
#[repr(C, align(64))]
pub(super) struct Control {
    /// Bytes of entries published by the recorder.
    pub head: AtomicU64,
    /// The watchdog sleeps (in poll): the recorder wakes it through the eventfd.
    pub drainer_sleeping: AtomicU32,
    /// Asks the watchdog to write now, without waiting for more records.
    pub flush: AtomicU32,
    /// Bumped by the watchdog after it consumed entries while the recorder waits (futex word).
    pub tail_seq: AtomicU32,
    pub writer_waiting: AtomicU32,
    _pad: [u8; 40],
    /// Bytes of entries the watchdog has consumed (written, or dropped after a failed write).
    pub tail: AtomicU64,
    /// Where the next record goes in the file.
    pub end: AtomicU64,
    /// What the file is cut to if the recorder dies: all of it, except during a rewrite.
    pub valid: AtomicU64,
    /// The errno of a write that failed, not yet reported to the recorder; 0 if none.
    pub error: AtomicI32,
    /// The file can be written at an offset (a regular file); else (a pipe, a device) records
    /// are written one after the other and never cut.
    pub seekable: AtomicU32,
}

const _: () = assert!(std::mem::size_of::<Control>() <= CONTROL);

/// Bytes an entry of `len` bytes takes in the ring.
pub(super) const fn entry_size(len: usize) -> usize {
    8 + len.div_ceil(8) * 8
}

/// Sleeps while `word` is `expected`, at most `timeout` (a futex shared between processes).
pub(super) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: FUTEX_WAIT on a live, aligned u32 with a live timespec.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const ts,
        )
    };
}

/// Wakes every process sleeping on `word`.
pub(super) fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned u32.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
}
