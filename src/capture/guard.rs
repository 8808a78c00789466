//! A watchdog process that cuts a half-written record off the capture once udpsh is gone.
//!
//! One write(2) per record is not enough against `kill -9`: Linux checks for a fatal signal
//! between the pages (folios) it copies into the page cache, so a kill during a write that
//! crosses a page boundary leaves the first pages of the record at the end of the file and
//! tshark reports the file "cut short" (measured: 13 kills in 200 during a send loop of
//! 0–1400-byte datagrams). No in-process trick avoids it, so a forked child waits for the
//! parent to go away (end of file on a pipe only the parent writes to) and truncates the file to
//! the length of the records completed, which the parent publishes in a shared page.

#![cfg(target_os = "linux")]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

const MAP_LEN: usize = 4096;

pub(super) struct Guard {
    child: libc::pid_t,
    /// Write end of the pipe; closing it tells the child to finish.
    pipe: Option<OwnedFd>,
    /// Shared with the child: the length of the valid part of the file.
    map: *mut libc::c_void,
}

// SAFETY: `map` points to a private shared mapping only accessed through an AtomicU64.
unsafe impl Send for Guard {}
unsafe impl Sync for Guard {}

impl Guard {
    /// Forks the watchdog for `file`, whose valid length is `len` now.
    pub(super) fn spawn(file: &File, len: u64) -> io::Result<Guard> {
        // SAFETY: plain syscalls; every failure is checked and what was made is released.
        unsafe {
            let map = libc::mmap(
                ptr::null_mut(),
                MAP_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if map == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let guard_map = Unmap(map);
            (*(map as *const AtomicU64)).store(len, Ordering::Release);

            let mut fds = [0; 2];
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                return Err(io::Error::last_os_error());
            }
            let (read_end, write_end) =
                (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]));

            match libc::fork() {
                -1 => Err(io::Error::last_os_error()),
                0 => watch(
                    read_end.as_raw_fd(),
                    file.as_raw_fd(),
                    map as *const AtomicU64,
                ),
                child => {
                    std::mem::forget(guard_map);
                    Ok(Guard {
                        child,
                        pipe: Some(write_end),
                        map,
                    })
                }
            }
        }
    }

    /// Publishes the length of the complete records: what the file is cut to if we die.
    pub(super) fn set_valid_len(&self, len: u64) {
        // SAFETY: the mapping lives as long as self and holds an AtomicU64 at offset 0.
        unsafe { (*(self.map as *const AtomicU64)).store(len, Ordering::Release) }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Closing the pipe lets the child truncate to the valid length (all of it by now) and
        // exit; wait for it so the file is final when the recorder is gone.
        drop(self.pipe.take());
        // SAFETY: waiting for our own child, then unmapping our own mapping.
        unsafe {
            while libc::waitpid(self.child, ptr::null_mut(), 0) == -1
                && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
            {}
            libc::munmap(self.map, MAP_LEN);
        }
    }
}

/// Unmaps on early return.
struct Unmap(*mut libc::c_void);

impl Drop for Unmap {
    fn drop(&mut self) {
        // SAFETY: our own mapping, not yet handed to a Guard.
        unsafe { libc::munmap(self.0, MAP_LEN) };
    }
}

/// The child. Only async-signal-safe calls until `_exit`: another thread of the parent may have
/// held a lock (malloc's…) at the fork. Nothing is allocated and nothing is dropped.
unsafe fn watch(pipe: RawFd, file: RawFd, valid_len: *const AtomicU64) -> ! {
    unsafe {
        // Ctrl-C, hangups and the like stop udpsh; the watchdog must outlive it.
        for sig in [
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGPIPE,
        ] {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Holding the parent's sockets or pipes open would change what the run sees.
        keep_only(pipe, file);
        libc::prctl(libc::PR_SET_NAME, c"udpsh-capture".as_ptr());
        let mut byte = 0u8;
        loop {
            let n = libc::read(pipe, (&raw mut byte).cast(), 1);
            if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                break;
            }
        }
        libc::ftruncate(file, (*valid_len).load(Ordering::Acquire) as libc::off_t);
        libc::_exit(0)
    }
}

/// Closes every file descriptor except `a` and `b`.
unsafe fn keep_only(a: RawFd, b: RawFd) {
    let (lo, hi) = (a.min(b) as libc::c_uint, a.max(b) as libc::c_uint);
    unsafe {
        if lo > 0 {
            close_fds(0, lo - 1);
        }
        if hi > lo + 1 {
            close_fds(lo + 1, hi - 1);
        }
        close_fds(hi + 1, libc::c_uint::MAX);
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
