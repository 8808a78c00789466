//! Child processes with their wall time, CPU time and peak memory (wait4), each bounded by a
//! time limit after which it is killed.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How a child ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Exit code, or 128 + signal.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub wall: Duration,
    /// User + system time.
    pub cpu: Duration,
    /// Peak resident set size, KiB.
    pub maxrss_kib: u64,
}

impl Outcome {
    /// The number after `key ` on a line of stdout (`seconds 1.23`).
    pub fn value(&self, key: &str) -> Result<f64, String> {
        self.stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
            .ok_or_else(|| format!("no '{key}' in the output of a child: {}", self.describe()))
    }

    pub fn ok(self) -> Result<Outcome, String> {
        if self.status == 0 {
            Ok(self)
        } else {
            Err(format!("a child failed: {}", self.describe()))
        }
    }

    fn describe(&self) -> String {
        format!(
            "status {}, stdout {:?}, stderr {:?}",
            self.status,
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }
}

fn tail(s: &str) -> &str {
    let start = s.len().saturating_sub(400);
    let start = (start..s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len());
    &s[start..]
}

/// A started child; [`Running::finish`] waits for it (killing it past its limit),
/// [`Running::kill`] ends it now.
pub struct Running {
    child: Child,
    started: Instant,
    limit: Duration,
    out: Option<thread::JoinHandle<String>>,
    err: Option<thread::JoinHandle<String>>,
}

/// Starts `cmd` with stdin closed; `capture` keeps its stdout (else it goes to /dev/null),
/// stderr is always kept.
pub fn start(cmd: &mut Command, capture: bool, limit: Duration) -> Result<Running, String> {
    cmd.stdin(Stdio::null())
        .stdout(if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let out = child.stdout.take().map(reader);
    let err = child.stderr.take().map(reader);
    Ok(Running {
        child,
        started,
        limit,
        out,
        err,
    })
}

fn reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs `cmd` to its end (or its limit) and returns how it went.
pub fn run(cmd: &mut Command, limit: Duration) -> Result<Outcome, String> {
    start(cmd, true, limit)?.finish()
}

impl Running {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits for the child; kills it if it is still running at its limit.
    pub fn finish(self) -> Result<Outcome, String> {
        let pid = self.pid();
        let (done, watch) = mpsc::channel::<()>();
        let left = self.limit.saturating_sub(self.started.elapsed());
        let watchdog = thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(left) {
                // SAFETY: plain kill(2) of our own child, not yet reaped (we wait below).
                unsafe { libc::kill(pid, libc::SIGKILL) };
                true
            } else {
                false
            }
        });
        let result = self.reap();
        let _ = done.send(());
        let killed = watchdog.join().unwrap_or(false);
        let mut outcome = result?;
        if killed {
            outcome.stderr.push_str("\n(killed: over its time limit)");
        }
        Ok(outcome)
    }

    /// Ends the child now (SIGKILL) and returns how it went.
    pub fn kill(self) -> Result<Outcome, String> {
        // SAFETY: plain kill(2) of our own child, not yet reaped.
        unsafe { libc::kill(self.pid(), libc::SIGKILL) };
        self.reap()
    }

    /// Ends the child with SIGTERM, then SIGKILL if it is still there after a second.
    pub fn stop(self) -> Result<Outcome, String> {
        // SAFETY: plain kill(2) of our own child, not yet reaped.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let pid = self.pid();
        let (done, watch) = mpsc::channel::<()>();
        let watchdog = thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(Duration::from_secs(1))
            {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        let result = self.reap();
        let _ = done.send(());
        let _ = watchdog.join();
        result
    }

    fn reap(mut self) -> Result<Outcome, String> {
        let pid = self.pid();
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            // SAFETY: waits for our own child; the pointers are to live locals.
            let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            if rc == pid {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EINTR) {
                return Err(format!("wait4: {err}"));
            }
        }
        let wall = self.started.elapsed();
        let stdout = self.out.take().map(|h| h.join().unwrap_or_default());
        let stderr = self.err.take().map(|h| h.join().unwrap_or_default());
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else {
            128 + libc::WTERMSIG(status)
        };
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        Ok(Outcome {
            status: code,
            stdout: stdout.unwrap_or_default(),
            stderr: stderr.unwrap_or_default(),
            wall,
            cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
            maxrss_kib: usage.ru_maxrss as u64,
        })
    }
}
