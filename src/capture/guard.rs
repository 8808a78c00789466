//! The capture's watchdog: a forked process that writes the records of the ring (`ring.rs`)
//! into the file, and finishes the file once udpsh is gone, however it went.
//!
//! It runs in a session of its own and ignores the signals that stop udpsh (Ctrl-C, a hangup,
//! SIGTERM), so a kill of udpsh, or of udpsh's process group, does not take it along. It
//! learns that udpsh is gone from the end of a pipe only udpsh writes to; it then writes what
//! the ring still holds, cuts the file to its valid length (a rewrite that udpsh left halfway)
//! and exits.
//!
//! It only ever writes whole records, in batches: after a wake-up it waits [`BATCH_DELAY`]
//! for more (a busy sender's records then cost one `pwritev` per batch, and the sender almost
//! never has to wake it). A write that fails (a full disk) is cut back to the last whole
//! record and reported through the ring; the records after it are dropped until the recorder
//! has reported the failure, so the file has no gap that nobody was told of.

#![cfg(target_os = "linux")]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::Ordering;

use super::shared::{CAPACITY, Control, RECORD, RESUME, SKIP, entry_size, futex_wake};

/// How long the watchdog lets records gather after a wake-up: a reader of the file sees a
/// record at most this much (and a write) after it was sent.
pub(super) const BATCH_DELAY: std::time::Duration = std::time::Duration::from_micros(200);

/// Records per `pwritev`.
const BATCH: usize = 64;

/// A pipe, both ends close-on-exec.
pub(super) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills both fds on success.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

/// Forks the watchdog; returns its pid.
///
/// # Safety
/// `map` is the ring's shared mapping (a [`Control`] then [`CAPACITY`] bytes); the fds are
/// open.
pub(super) unsafe fn fork_drainer(
    pipe: RawFd,
    wake: RawFd,
    file: RawFd,
    map: *mut u8,
) -> io::Result<libc::pid_t> {
    // SAFETY: the child only makes async-signal-safe system calls until `_exit`.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => unsafe { drain_until_gone(pipe, wake, file, map) },
        child => Ok(child),
    }
}

/// The child. Only system calls until `_exit`: another thread of the parent may have held a
/// lock (malloc's…) at the fork. Nothing is allocated and nothing is dropped.
unsafe fn drain_until_gone(pipe: RawFd, wake: RawFd, file: RawFd, map: *mut u8) -> ! {
    unsafe {
        // Ctrl-C, hangups and the like stop udpsh; the watchdog must outlive it.
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGPIPE,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Out of udpsh's process group, so that a kill of the group does not take us along.
        libc::setsid();
        // Holding the parent's sockets or pipes open would change what the run sees.
        keep_only(&mut [pipe, wake, file]);
        libc::prctl(libc::PR_SET_NAME, c"udpsh-capture".as_ptr());
        let control = &*(map as *const Control);
        let mut drainer = Drainer {
            control,
            data: map.add(4096),
            file,
            discarding: false,
            seekable: control.seekable.load(Ordering::Relaxed) != 0,
        };
        let mut gone = false;
        loop {
            drainer.drain();
            if gone {
                break;
            }
            let c = drainer.control;
            c.drainer_sleeping.store(1, Ordering::SeqCst);
            if c.head.load(Ordering::SeqCst) != c.tail.load(Ordering::Relaxed) {
                c.drainer_sleeping.store(0, Ordering::Relaxed);
                continue;
            }
            let mut fds = [
                libc::pollfd {
                    fd: pipe,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: wake,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            libc::poll(fds.as_mut_ptr(), 2, -1);
            c.drainer_sleeping.store(0, Ordering::SeqCst);
            let mut counter = 0u64;
            libc::read(wake, (&raw mut counter).cast(), 8);
            if fds[0].revents != 0 {
                let mut byte = 0u8;
                let n = libc::read(pipe, (&raw mut byte).cast(), 1);
                if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                    gone = true;
                    continue;
                }
            }
            if c.flush.load(Ordering::SeqCst) == 0 {
                let pause = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: BATCH_DELAY.as_nanos() as libc::c_long,
                };
                libc::nanosleep(&pause, ptr::null_mut());
            }
        }
        let c = drainer.control;
        if drainer.seekable {
            libc::ftruncate(file, c.valid.load(Ordering::Acquire) as libc::off_t);
        }
        libc::_exit(0)
    }
}

struct Drainer<'a> {
    control: &'a Control,
    data: *mut u8,
    file: RawFd,
    /// A write failed: records are dropped until the recorder has seen it (a RESUME entry).
    discarding: bool,
    /// A regular file, written at offsets and cut; else (a pipe) written in sequence.
    seekable: bool,
}

impl Drainer<'_> {
    /// Writes every entry published so far.
    fn drain(&mut self) {
        let c = self.control;
        loop {
            let head = c.head.load(Ordering::Acquire);
            let mut tail = c.tail.load(Ordering::Relaxed);
            if tail == head {
                c.flush.store(0, Ordering::SeqCst);
                // A flush asked just before this store is seen by the recorder's wait anyway.
                if c.head.load(Ordering::SeqCst) == tail {
                    return;
                }
                continue;
            }
            let mut iov = [libc::iovec {
                iov_base: ptr::null_mut(),
                iov_len: 0,
            }; BATCH];
            let mut count = 0;
            let cap = CAPACITY as u64;
            while tail < head && count < BATCH {
                let at = (tail % cap) as usize;
                let (len, kind) = self.header(at);
                match kind {
                    SKIP => tail += cap - at as u64,
                    RESUME => {
                        if count > 0 {
                            // Write what came before it first (none while discarding).
                            break;
                        }
                        self.discarding = false;
                        tail += 8;
                    }
                    RECORD if len <= CAPACITY => {
                        if !self.discarding {
                            iov[count] = libc::iovec {
                                // SAFETY: a published record inside the ring.
                                iov_base: unsafe { self.data.add(at + 8) }.cast(),
                                iov_len: len,
                            };
                            count += 1;
                        }
                        tail += entry_size(len) as u64;
                    }
                    // Not an entry the recorder writes: nothing more can be read safely.
                    _ => tail = head,
                }
            }
            if count > 0 {
                self.write(&iov[..count]);
            }
            c.tail.store(tail, Ordering::SeqCst);
            if c.writer_waiting.load(Ordering::SeqCst) != 0 {
                c.tail_seq.fetch_add(1, Ordering::SeqCst);
                futex_wake(&c.tail_seq);
            }
        }
    }

    fn header(&self, at: usize) -> (usize, u32) {
        let mut h = [0u8; 8];
        // SAFETY: a published, 8-aligned header inside the ring.
        unsafe { ptr::copy_nonoverlapping(self.data.add(at), h.as_mut_ptr(), 8) };
        (
            u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize,
            u32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
        )
    }

    /// Appends the records at the end of the file; on failure cuts back to the last whole
    /// record, reports the error and drops records until the recorder knows.
    fn write(&mut self, records: &[libc::iovec]) {
        let c = self.control;
        let start = c.end.load(Ordering::Acquire);
        let total: usize = records.iter().map(|r| r.iov_len).sum();
        let mut done = 0usize;
        let mut errno = 0;
        while done < total {
            // Skip what was written already (a short write).
            let (mut first, mut skip) = (0, done);
            while first < records.len() && skip >= records[first].iov_len {
                skip -= records[first].iov_len;
                first += 1;
            }
            let mut rest = [libc::iovec {
                iov_base: ptr::null_mut(),
                iov_len: 0,
            }; BATCH];
            let n = records.len() - first;
            rest[..n].copy_from_slice(&records[first..]);
            // SAFETY: within the record being skipped into.
            rest[0].iov_base = unsafe { rest[0].iov_base.cast::<u8>().add(skip) }.cast();
            rest[0].iov_len -= skip;
            // SAFETY: the iovecs point at published records inside the ring.
            let w = unsafe {
                if self.seekable {
                    libc::pwritev(
                        self.file,
                        rest.as_ptr(),
                        n as libc::c_int,
                        (start + done as u64) as libc::off_t,
                    )
                } else {
                    libc::writev(self.file, rest.as_ptr(), n as libc::c_int)
                }
            };
            if w < 0 {
                // SAFETY: errno of this thread.
                let e = unsafe { *libc::__errno_location() };
                if e == libc::EINTR {
                    continue;
                }
                errno = e;
                break;
            }
            if w == 0 {
                errno = libc::EIO;
                break;
            }
            done += w as usize;
        }
        if errno != 0 {
            // Keep the records written whole; cut the one the failure split.
            let mut whole = 0usize;
            for r in records {
                if whole + r.iov_len > done {
                    break;
                }
                whole += r.iov_len;
            }
            let end = start + whole as u64;
            if self.seekable {
                // SAFETY: plain ftruncate of our file.
                unsafe { libc::ftruncate(self.file, end as libc::off_t) };
            }
            c.end.store(end, Ordering::Release);
            c.valid.store(end, Ordering::Release);
            let _ = c
                .error
                .compare_exchange(0, errno, Ordering::AcqRel, Ordering::Relaxed);
            self.discarding = true;
            return;
        }
        let end = start + total as u64;
        c.end.store(end, Ordering::Release);
        c.valid.store(end, Ordering::Release);
    }
}

/// Closes every file descriptor except those in `keep`.
unsafe fn keep_only(keep: &mut [RawFd]) {
    keep.sort_unstable();
    let mut next: libc::c_uint = 0;
    unsafe {
        for &fd in keep.iter() {
            let fd = fd as libc::c_uint;
            if fd > next {
                close_fds(next, fd - 1);
            }
            next = fd + 1;
        }
        close_fds(next, libc::c_uint::MAX);
    }
}

unsafe fn close_fds(first: libc::c_uint, last: libc::c_uint) {
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, last, 0) != 0 {
            // Kernels before 5.9.
            for fd in first..=last.min(4095) {
                libc::close(fd as RawFd);
            }
        }
    }
}
