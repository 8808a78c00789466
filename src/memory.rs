//! How much memory udpsh holds, counted by its allocator, so `--max-memory` bounds what
//! scripts build in any shape (a map of arrays grows past every per-container limit): the
//! interpreter's progress check stops a script once the total is over the budget.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes it has handed out and not yet taken back.
pub struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            IN_USE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            IN_USE.fetch_add(new_size, Ordering::Relaxed);
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated now, by every thread.
pub fn in_use() -> usize {
    IN_USE.load(Ordering::Relaxed)
}

/// Bytes held that are not scripts' data: the compiled scripts (a 10 MB script's syntax tree
/// is hundreds of MB) and what the runner keeps of finished runs.
static SET_ASIDE: AtomicUsize = AtomicUsize::new(0);

/// Counts everything held now as udpsh's own, not a script's: called once the scripts are
/// compiled and before any runs.
pub fn set_aside_all() {
    SET_ASIDE.store(in_use(), Ordering::Relaxed);
}

/// Counts `bytes` more as udpsh's own (results the runner keeps).
pub fn set_aside(bytes: usize) {
    SET_ASIDE.fetch_add(bytes, Ordering::Relaxed);
}

/// What scripts hold: everything allocated but what is set aside. `--max-memory` bounds this.
pub fn script_data() -> usize {
    in_use().saturating_sub(SET_ASIDE.load(Ordering::Relaxed))
}

/// Whether scripts hold more than `budget` bytes, and how much.
pub fn over(budget: usize) -> Option<Over> {
    let held = script_data();
    (held > budget).then_some(Over { held, budget })
}

/// Why a script was stopped: it held more than the budget. The token of Rhai's termination.
#[derive(Clone, Copy, Debug)]
pub struct Over {
    pub held: usize,
    pub budget: usize,
}

impl Over {
    pub fn message(self) -> String {
        format!(
            "over the memory limit: udpsh holds {} MiB, more than --max-memory {} MiB \
             (raise it with --max-memory, e.g. --max-memory 1G)",
            self.held >> 20,
            self.budget >> 20
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_counted_and_freed() {
        // Other test threads allocate too: look for a change far above their noise.
        let before = in_use();
        let big = vec![1u8; 64 << 20];
        assert!(in_use() >= before + (60 << 20));
        drop(big);
        assert!(in_use() < before + (32 << 20));
    }
}
