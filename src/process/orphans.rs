//! What a started program leaves behind when it forks into the background (a daemon started
//! without its foreground flag): udpsh is a child subreaper (PR_SET_CHILD_SUBREAPER), so such
//! orphans become its children instead of init's, and [`sweep`] stops them when udpsh ends.
//! Processes udpsh forked itself (its programs, the capture's watchdog) are [`own`]ed and left
//! alone here: they have their own ways to end.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static OWN: Mutex<Option<HashSet<i32>>> = Mutex::new(None);
/// A program was started: only then can there be orphans to look for.
static STARTED: AtomicBool = AtomicBool::new(false);

/// From now on orphans of udpsh's descendants are re-parented to udpsh.
pub fn adopt() {
    // SAFETY: a plain prctl; failure (an old kernel) only means no orphan is caught.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
}

/// A program udpsh started: its orphans are swept, it is not.
pub fn started(pid: u32) {
    STARTED.store(true, Ordering::Relaxed);
    own(pid);
}

/// A process udpsh forked itself, which [`sweep`] must not touch.
pub fn own(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let mut own = OWN.lock().unwrap_or_else(|p| p.into_inner());
        own.get_or_insert_with(HashSet::new).insert(pid);
    }
}

/// Stops every adopted orphan: TERM, then KILL after `grace`, and reaps them. Returns how many
/// there were.
pub fn sweep(grace: Duration) -> usize {
    let mut stopped = 0;
    if !STARTED.load(Ordering::Relaxed) {
        return 0;
    }
    // Killing one may hand its own children over to us: a few rounds catch those too.
    for _ in 0..4 {
        let orphans = adopted();
        if orphans.is_empty() {
            break;
        }
        stopped += orphans.len();
        for &pid in &orphans {
            signal(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        let mut left = orphans;
        while !left.is_empty() && Instant::now() < deadline {
            left.retain(|&pid| !reaped(pid));
            std::thread::sleep(Duration::from_millis(10));
        }
        for &pid in &left {
            signal(pid, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        while !left.is_empty() && Instant::now() < deadline {
            left.retain(|&pid| !reaped(pid));
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    stopped
}

/// Our children that we did not fork ourselves (read from /proc: each process's parent).
fn adopted() -> Vec<i32> {
    let me = std::process::id() as i32;
    let own = OWN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| own.as_ref().is_none_or(|own| !own.contains(pid)))
        .filter(|&pid| parent_of(pid) == Some(me))
        .collect()
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// TERM or KILL to the process, and to its process group when it leads one (a daemon's).
fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: plain syscalls on a pid that is our child (a zombie at worst, never reused
    // before we reap it).
    unsafe {
        if libc::getpgid(pid) == pid {
            libc::kill(-pid, sig);
        }
        libc::kill(pid, sig);
    }
}

fn reaped(pid: i32) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on our own child.
    let got = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    got == pid || got == -1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_after_the_name() {
        let me = std::process::id() as i32;
        let parent = unsafe { libc::getppid() };
        assert_eq!(parent_of(me), Some(parent));
        assert_eq!(parent_of(-1), None);
    }
}
