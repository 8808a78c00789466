//! The shared-memory ring between the recorder and its watchdog (`guard.rs`).
//!
//! Records are copied into a ring of shared memory, which outlives udpsh: the watchdog, a
//! forked process, appends them to the file in batches (one `pwritev(2)` per batch) and, when
//! udpsh is gone, writes what is left, so a kill of udpsh alone loses nothing the ring holds.
//! Only whole records are ever written, so the file is valid at every moment. Sending a record
//! costs the recorder a copy and an atomic store; no system call unless the watchdog sleeps.
//!
//! The stream of entries, each `[len: u32][kind: u32][bytes, padded to 8]`, is laid in the ring
//! at positions `head` (written by the recorder) and `tail` (consumed by the watchdog), both
//! counting bytes since the start; an entry that would cross the end of the ring is preceded by
//! a [`SKIP`] to the next lap.

#![cfg(target_os = "linux")]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::shared::{CAPACITY, CONTROL, Control, RECORD, RESUME, SKIP, entry_size, futex_wait};

/// The largest record that goes through the ring; a bigger one is written directly.
pub(super) const MAX_ENTRY: usize = CAPACITY / 4;

/// The recorder's side.
pub(super) struct Ring {
    map: *mut u8,
    /// The recorder's own copy of `head`, ahead of the shared one while an entry is filled.
    head: u64,
    /// Where the entry being filled starts, and its length.
    pending: Option<(u64, usize)>,
    wake: OwnedFd,
    child: libc::pid_t,
    /// Closing it tells the watchdog that the recorder is gone.
    pipe: Option<OwnedFd>,
    /// The watchdog ended (it was killed): records are no longer written by it.
    gone: bool,
}

// SAFETY: `map` is a shared mapping owned by the Ring; the bytes it hands out are only touched
// through `&mut self`, and the shared counters are atomics.
unsafe impl Send for Ring {}
unsafe impl Sync for Ring {}

/// The watchdog is gone: the caller writes records itself from now on.
#[derive(Debug)]
pub(super) struct Gone;

impl Ring {
    /// Maps the ring and forks the watchdog for `file`, whose records end at `end`.
    pub(super) fn spawn(file: &std::fs::File, end: u64, seekable: bool) -> io::Result<Ring> {
        // SAFETY: plain syscalls; each failure is checked, and what was made is released by the
        // guards' Drop.
        unsafe {
            let map = libc::mmap(
                ptr::null_mut(),
                CONTROL + CAPACITY,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if map == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let unmap = Unmap(map.cast());
            let control = &*(map as *const Control);
            control.end.store(end, Ordering::Relaxed);
            control.valid.store(end, Ordering::Relaxed);
            control
                .seekable
                .store(u32::from(seekable), Ordering::Relaxed);
            let wake = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
            if wake < 0 {
                return Err(io::Error::last_os_error());
            }
            let wake = <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(wake);
            let (read_end, write_end) = super::guard::pipe()?;
            let child = super::guard::fork_drainer(
                read_end.as_raw_fd(),
                wake.as_raw_fd(),
                file.as_raw_fd(),
                map.cast(),
            )?;
            crate::process::orphans::own(child as u32);
            std::mem::forget(unmap);
            Ok(Ring {
                map: map.cast(),
                head: 0,
                pending: None,
                wake,
                child,
                pipe: Some(write_end),
                gone: false,
            })
        }
    }

    fn control(&self) -> &Control {
        // SAFETY: the mapping starts with a Control and lives as long as self.
        unsafe { &*(self.map as *const Control) }
    }

    fn data(&self) -> *mut u8 {
        // SAFETY: within the mapping.
        unsafe { self.map.add(CONTROL) }
    }

    /// Room for a record of `len` bytes (at most [`MAX_ENTRY`]): fill [`Ring::buffer`], then
    /// [`Ring::publish`]. Waits while the ring is full.
    pub(super) fn reserve(&mut self, len: usize) -> Result<(), Gone> {
        let size = entry_size(len) as u64;
        let cap = CAPACITY as u64;
        let at = self.head % cap;
        let skip = if at + size > cap { cap - at } else { 0 };
        self.wait_until(|c| self.head + skip + size - c.tail.load(Ordering::Acquire) <= cap)?;
        if skip > 0 {
            self.write_header(at as usize, 0, SKIP);
            self.head += skip;
        }
        let start = self.head;
        self.write_header((start % cap) as usize, len as u32, RECORD);
        self.pending = Some((start, len));
        Ok(())
    }

    /// The bytes of the record reserved (empty if none).
    pub(super) fn buffer(&mut self) -> &mut [u8] {
        let Some((start, len)) = self.pending else {
            return &mut [];
        };
        let at = (start % CAPACITY as u64) as usize;
        // SAFETY: [at + 8, at + 8 + len) is inside the ring (no entry crosses its end) and
        // beyond what the watchdog may read until it is published.
        unsafe { std::slice::from_raw_parts_mut(self.data().add(at + 8), len) }
    }

    /// Hands the record reserved to the watchdog; returns its length.
    pub(super) fn publish(&mut self) -> usize {
        let Some((start, len)) = self.pending.take() else {
            return 0;
        };
        self.head = start + entry_size(len) as u64;
        self.store_head();
        len
    }

    /// Forgets the record reserved.
    pub(super) fn cancel(&mut self) {
        self.pending = None;
    }

    /// Tells the watchdog that the recorder knows of the failed write: what follows is written.
    pub(super) fn resume(&mut self) -> Result<(), Gone> {
        let cap = CAPACITY as u64;
        self.wait_until(|c| self.head + 8 - c.tail.load(Ordering::Acquire) <= cap)?;
        self.write_header((self.head % cap) as usize, 0, RESUME);
        self.head += 8;
        self.store_head();
        Ok(())
    }

    fn store_head(&self) {
        let c = self.control();
        c.head.store(self.head, Ordering::SeqCst);
        if c.drainer_sleeping.load(Ordering::SeqCst) != 0 {
            self.kick();
        }
    }

    fn kick(&self) {
        let one: u64 = 1;
        // SAFETY: an 8-byte write of a live u64 to our eventfd. A full counter (EAGAIN) has a
        // wake-up pending already.
        unsafe { libc::write(self.wake.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    fn write_header(&self, at: usize, len: u32, kind: u32) {
        let mut header = [0u8; 8];
        header[..4].copy_from_slice(&len.to_ne_bytes());
        header[4..].copy_from_slice(&kind.to_ne_bytes());
        // SAFETY: `at` is 8-aligned and below CAPACITY, so 8 bytes fit; not yet published.
        unsafe { ptr::copy_nonoverlapping(header.as_ptr(), self.data().add(at), 8) };
    }

    /// The error of a write the watchdog could not make, once.
    pub(super) fn take_error(&self) -> Option<io::Error> {
        let c = self.control();
        if c.error.load(Ordering::Relaxed) == 0 {
            return None;
        }
        match c.error.swap(0, Ordering::AcqRel) {
            0 => None,
            errno => Some(io::Error::from_raw_os_error(errno)),
        }
    }

    /// Waits until every record published is in the file.
    pub(super) fn sync(&mut self) -> Result<(), Gone> {
        let c = self.control();
        if c.tail.load(Ordering::Acquire) == self.head {
            return Ok(());
        }
        c.flush.store(1, Ordering::SeqCst);
        self.kick();
        self.wait_until(|c| c.tail.load(Ordering::Acquire) == self.head)
    }

    /// Where the next record goes in the file once the ring is written (after [`Ring::sync`]).
    pub(super) fn end(&self) -> u64 {
        self.control().end.load(Ordering::Acquire)
    }

    /// Before rewriting the file from `offset` (the ring synced): if we die now, the file is
    /// cut there.
    pub(super) fn set_valid(&self, offset: u64) {
        self.control().valid.store(offset, Ordering::Release);
    }

    /// After a rewrite: the file's records end at `end`.
    pub(super) fn set_end(&self, end: u64) {
        let c = self.control();
        c.end.store(end, Ordering::Release);
        c.valid.store(end, Ordering::Release);
    }

    /// Waits (in slices, looking whether the watchdog still runs) until `ready`.
    fn wait_until(&self, ready: impl Fn(&Control) -> bool) -> Result<(), Gone> {
        let c = self.control();
        if ready(c) {
            return Ok(());
        }
        if self.gone {
            return Err(Gone);
        }
        // A short spin first: the watchdog is usually writing right now.
        for _ in 0..200 {
            std::hint::spin_loop();
            if ready(c) {
                return Ok(());
            }
        }
        loop {
            let seq = c.tail_seq.load(Ordering::SeqCst);
            c.writer_waiting.store(1, Ordering::SeqCst);
            if ready(c) {
                c.writer_waiting.store(0, Ordering::Relaxed);
                return Ok(());
            }
            futex_wait(&c.tail_seq, seq, Duration::from_millis(20));
            c.writer_waiting.store(0, Ordering::Relaxed);
            if ready(c) {
                return Ok(());
            }
            if !self.alive() {
                return Err(Gone);
            }
        }
    }

    fn alive(&self) -> bool {
        let mut status = 0;
        // SAFETY: a non-blocking wait for our own child: 0 while it runs.
        let rc = unsafe { libc::waitpid(self.child, &mut status, libc::WNOHANG) };
        rc == 0
    }

    /// The records the watchdog did not write, oldest first (after it is gone), with the
    /// length of the file's valid part.
    pub(super) fn leftovers(&self) -> (u64, Vec<Vec<u8>>) {
        let c = self.control();
        let cap = CAPACITY as u64;
        let mut pos = c.tail.load(Ordering::Acquire);
        let mut out = Vec::new();
        while pos < self.head {
            let at = (pos % cap) as usize;
            let mut header = [0u8; 8];
            // SAFETY: a published header inside the ring.
            unsafe { ptr::copy_nonoverlapping(self.data().add(at), header.as_mut_ptr(), 8) };
            let len = u32::from_ne_bytes([header[0], header[1], header[2], header[3]]) as usize;
            let kind = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
            match kind {
                SKIP => pos += cap - at as u64,
                RECORD => {
                    // SAFETY: a published record inside the ring.
                    let bytes = unsafe { std::slice::from_raw_parts(self.data().add(at + 8), len) };
                    out.push(bytes.to_vec());
                    pos += entry_size(len) as u64;
                }
                _ => pos += 8,
            }
        }
        (c.valid.load(Ordering::Acquire), out)
    }

    #[cfg(test)]
    pub(super) fn child(&self) -> libc::pid_t {
        self.child
    }

    /// Marks the watchdog as gone (the caller writes from now on).
    pub(super) fn abandon(&mut self) {
        self.gone = true;
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Closing the pipe lets the watchdog write what is left, cut the file to its valid
        // length and exit; wait for it, so the file is final when the recorder is gone.
        drop(self.pipe.take());
        // SAFETY: waiting for our own child (already reaped if `alive` saw it end), then
        // unmapping our own mapping.
        unsafe {
            while libc::waitpid(self.child, ptr::null_mut(), 0) == -1
                && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
            {}
            libc::munmap(self.map.cast(), CONTROL + CAPACITY);
        }
    }
}

/// Unmaps on early return.
struct Unmap(*mut u8);

impl Drop for Unmap {
    fn drop(&mut self) {
        // SAFETY: our own mapping, not yet handed to a Ring.
        unsafe { libc::munmap(self.0.cast(), CONTROL + CAPACITY) };
    }
}
