//! One child process: started in a process group of its own with stdout and stderr on one
//! pipe (kept, the last [`KEPT`] bytes), stopped with TERM and then KILL. Started from one
//! long-lived thread with PR_SET_PDEATHSIG, so even a udpsh killed outright takes its children
//! along (the signal follows the death of the thread that forked).

use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::kind::ErrorKind;
use crate::stop::{SLICE, Stop, StopReason};

/// How long a child gets after TERM before KILL.
pub const GRACE: Duration = Duration::from_secs(2);
/// Output kept per child: a daemon that logs forever must not grow memory without bound.
pub const KEPT: usize = 1 << 20;
/// How often a wait looks at the child.
const POLL: Duration = Duration::from_millis(10);

#[derive(Debug)]
pub enum ProcessError {
    Failed { kind: ErrorKind, message: String },
    Stopped(StopReason),
}

impl ProcessError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> ProcessError {
        ProcessError::Failed {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ProcessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcessError::Failed { message, .. } => f.write_str(message),
            ProcessError::Stopped(reason) => write!(f, "stopped ({})", reason.as_str()),
        }
    }
}

/// A running (or finished) child. [`Child::restart`] starts the same program again in its
/// place, so every handle on it follows (the fuzzer restarts what a script started).
pub struct Child {
    program: String,
    args: Vec<String>,
    pid: AtomicU32,
    inner: Mutex<std::process::Child>,
    status: Mutex<Option<ExitStatus>>,
    /// What the current run of the program wrote, read by a thread of its own.
    io: Mutex<Io>,
}

/// The output of one run of the program.
#[derive(Clone, Default)]
struct Io {
    output: Arc<Mutex<Vec<u8>>>,
    /// The output pipe reached its end: every byte the child wrote is in `output`.
    done: Arc<AtomicBool>,
    /// Bytes written so far, the dropped ones included.
    written: Arc<AtomicU64>,
}

impl std::fmt::Debug for Child {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Child({} pid {})", self.program, self.pid())
    }
}

/// Exit code as Python's subprocess gives it: the code, or minus the signal that ended it.
pub fn code_of(status: ExitStatus) -> i64 {
    match (status.code(), status.signal()) {
        (Some(code), _) => i64::from(code),
        (None, Some(signal)) => -i64::from(signal),
        (None, None) => -1,
    }
}

impl Child {
    /// Starts `program` with `args` in the current directory; stdin is empty.
    pub fn start(program: &str, args: &[String]) -> Result<Child, ProcessError> {
        let (child, io) = spawn(program, args)?;
        Ok(Child {
            program: program.to_string(),
            args: args.to_vec(),
            pid: AtomicU32::new(child.id()),
            inner: Mutex::new(child),
            status: Mutex::new(None),
            io: Mutex::new(io),
        })
    }

    /// Stops the program (TERM, then KILL after `grace`) and starts it again with the same
    /// arguments; its output starts afresh.
    pub fn restart(&self, grace: Duration) -> Result<(), ProcessError> {
        self.stop(grace);
        let (child, io) = spawn(&self.program, &self.args)?;
        self.pid.store(child.id(), Ordering::Release);
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = child;
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *self.io.lock().unwrap_or_else(|p| p.into_inner()) = io;
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::Acquire)
    }

    pub fn program(&self) -> &str {
        &self.program
    }

    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Bytes the current run has written to stdout and stderr so far: cheap, to tell when
    /// there is something new to read.
    pub fn written(&self) -> u64 {
        self.io().written.load(Ordering::Acquire)
    }

    fn io(&self) -> Io {
        self.io.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stdout and stderr so far, the last [`KEPT`] bytes of them, as text (invalid UTF-8
    /// shown as �; a character cut at the start is left out).
    pub fn output(&self) -> String {
        let io = self.io();
        let kept = io.output.lock().unwrap_or_else(|p| p.into_inner());
        let mut start = kept.len().saturating_sub(KEPT);
        while start > 0 && kept.get(start).is_some_and(|b| b & 0xc0 == 0x80) {
            start += 1;
        }
        String::from_utf8_lossy(&kept[start.min(kept.len())..]).into_owned()
    }

    /// The exit status if it has ended (reaping it). Once it has, what it wrote is read to
    /// the end before this returns, so `output()` after `wait()` holds all of it (a moment at
    /// most: a daemon's own children may hold the pipe open longer).
    pub fn try_status(&self) -> Option<ExitStatus> {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if status.is_none() {
            let mut child = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if let Ok(Some(done)) = child.try_wait() {
                *status = Some(done);
                let until = Instant::now() + OUTPUT_DRAIN;
                let io = self.io();
                while !io.done.load(Ordering::Acquire) && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        *status
    }

    pub fn alive(&self) -> bool {
        self.try_status().is_none()
    }

    /// Waits for it to end, up to `timeout` (`None`: without end), stoppably.
    pub fn wait(&self, timeout: Option<Duration>, stop: &Stop) -> Result<ExitStatus, ProcessError> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut last_check = Instant::now();
        loop {
            if let Some(status) = self.try_status() {
                return Ok(status);
            }
            if last_check.elapsed() >= SLICE {
                last_check = Instant::now();
                if let Some(reason) = stop.check() {
                    return Err(ProcessError::Stopped(reason));
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(ProcessError::new(
                    ErrorKind::Timeout,
                    format!(
                        "{} (pid {}) still runs after {}s",
                        self.program,
                        self.pid(),
                        timeout.map_or(0.0, |t| t.as_secs_f64())
                    ),
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// TERM to its process group, KILL after `grace`; returns how it ended. Never waits
    /// longer than `grace` plus a moment for the KILL.
    pub fn stop(&self, grace: Duration) -> ExitStatus {
        self.stop_within(grace, None)
    }

    /// As [`Child::stop`], but the grace also ends when `run` says the script must stop (its
    /// `--timeout`): a huge grace waits for the child, never past the run's deadline.
    pub fn stop_within(&self, grace: Duration, run: Option<&Stop>) -> ExitStatus {
        if let Some(status) = self.try_status() {
            self.signal_group(libc::SIGKILL);
            return status;
        }
        self.signal_group(libc::SIGTERM);
        // None: a grace past what the clock counts, so only the child or the run ends it.
        let deadline = Instant::now().checked_add(grace);
        loop {
            if let Some(status) = self.try_status() {
                // Whatever it left in its group goes too.
                self.signal_group(libc::SIGKILL);
                return status;
            }
            if deadline.is_some_and(|d| Instant::now() >= d)
                || run.is_some_and(|r| r.check().is_some())
            {
                break;
            }
            std::thread::sleep(POLL);
        }
        self.signal_group(libc::SIGKILL);
        // Not holding `inner` while taking `status` (try_status takes them the other way).
        let status = {
            let mut child = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let _ = child.kill();
            child
                .wait()
                .unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL))
        };
        *self.status.lock().unwrap_or_else(|p| p.into_inner()) = Some(status);
        status
    }

    /// TERM to its process group, without waiting: many children then end at once.
    pub fn terminate(&self) {
        if self.try_status().is_none() {
            self.signal_group(libc::SIGTERM);
        }
    }

    fn signal_group(&self, signal: i32) {
        if let Ok(pgid) = i32::try_from(self.pid()) {
            // SAFETY: kill has no memory effects; a group already gone is ESRCH.
            unsafe {
                libc::kill(-pgid, signal);
            }
        }
    }
}

/// Starts one run of `program`, its output read into a fresh [`Io`].
fn spawn(program: &str, args: &[String]) -> Result<(std::process::Child, Io), ProcessError> {
    let (read, write) = pipe().map_err(|e| start_error(program, e))?;
    let write_err = write.try_clone().map_err(|e| start_error(program, e))?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(write))
        .stderr(Stdio::from(write_err))
        .process_group(0);
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // The parent died before prctl took effect: follow it now.
            if libc::getppid() as u32 != parent {
                libc::_exit(137);
            }
            Ok(())
        });
    }
    let mut child = spawn_from_keeper(cmd).map_err(|e| start_error(program, e))?;
    super::orphans::started(child.id());
    let io = Io::default();
    if let Err(e) = keep_output(read, io.clone()) {
        // Nobody would read its output (it would block on a full pipe): not started.
        let _ = child.kill();
        let _ = child.wait();
        return Err(ProcessError::new(
            ErrorKind::Thread,
            format!("cannot start '{program}': {e}"),
        ));
    }
    Ok((child, io))
}

fn start_error(program: &str, e: io::Error) -> ProcessError {
    let why = match e.kind() {
        io::ErrorKind::NotFound if program.contains('/') => "no such file".to_string(),
        io::ErrorKind::NotFound => "no such program (not found in PATH)".to_string(),
        io::ErrorKind::PermissionDenied => "permission denied (is it executable?)".to_string(),
        _ => e.to_string(),
    };
    ProcessError::new(ErrorKind::File, format!("cannot start '{program}': {why}"))
}

fn pipe() -> io::Result<(std::fs::File, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe {
        Ok((
            std::fs::File::from_raw_fd(fds[0]),
            OwnedFd::from_raw_fd(fds[1]),
        ))
    }
}

/// Reads the child's output until every writer closed it, keeping the last [`KEPT`] bytes.
/// How long an ended child's output may take to reach us.
const OUTPUT_DRAIN: Duration = Duration::from_millis(200);

fn keep_output(mut pipe: std::fs::File, io: Io) -> Result<(), crate::threads::NoThread> {
    crate::threads::start("child output", None, move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    io.written.fetch_add(n as u64, Ordering::AcqRel);
                    let mut kept = io.output.lock().unwrap_or_else(|p| p.into_inner());
                    kept.extend_from_slice(&buf[..n]);
                    // Cut now and then, not at every read: `output()` shows the last KEPT.
                    if kept.len() > 2 * KEPT {
                        let cut = kept.len() - KEPT;
                        kept.drain(..cut);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        io.done.store(true, Ordering::Release);
    })
    .map(drop)
}

type Job = (Command, Sender<io::Result<std::process::Child>>);

/// Forks from one thread that lives as long as the process: PR_SET_PDEATHSIG fires when the
/// forking *thread* ends, and a script's thread may end long before its child should.
fn spawn_from_keeper(cmd: Command) -> io::Result<std::process::Child> {
    static KEEPER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        // Without this thread, the send below fails and the caller forks itself.
        let _ = crate::threads::start("child starter", None, move || {
            for (mut cmd, reply) in rx {
                let _ = reply.send(cmd.spawn());
            }
        });
        Mutex::new(tx)
    });
    let (reply, answer) = mpsc::channel();
    let sent = keeper
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, reply));
    match sent {
        Ok(()) => answer
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the child starter thread is gone"))),
        Err(mpsc::SendError((mut cmd, _))) => cmd.spawn(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_stdout_and_stderr_and_the_exit_code() {
        let c = Child::start(
            "sh",
            &["-c".into(), "echo out; echo err >&2; exit 3".into()],
        )
        .unwrap();
        let status = c
            .wait(Some(Duration::from_secs(5)), &Stop::default())
            .unwrap();
        assert_eq!(code_of(status), 3);
        // the reader may lag the exit by a moment
        let deadline = Instant::now() + Duration::from_secs(2);
        while c.output().lines().count() < 2 && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        assert_eq!(c.output(), "out\nerr\n");
        assert!(!c.alive());
    }

    #[test]
    fn stop_terms_then_kills() {
        let c = Child::start("sleep", &["30".into()]).unwrap();
        assert!(c.alive());
        assert_eq!(
            code_of(c.stop(Duration::from_secs(2))),
            -libc::SIGTERM as i64
        );
        // One that ignores TERM is killed after the grace period.
        let stubborn = Child::start("sh", &["-c".into(), "trap '' TERM; sleep 30".into()]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let started = Instant::now();
        let status = stubborn.stop(Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(code_of(status), -libc::SIGKILL as i64);
    }

    #[test]
    fn restart_runs_the_same_program_again_in_place() {
        let c = Child::start("sh", &["-c".into(), "echo run; exit 4".into()]).unwrap();
        let first = c.pid();
        assert_eq!(
            code_of(
                c.wait(Some(Duration::from_secs(5)), &Stop::default())
                    .unwrap()
            ),
            4
        );
        assert_eq!(c.output(), "run\n");
        assert_eq!(c.written(), 4);
        c.restart(Duration::from_millis(100)).unwrap();
        assert_ne!(c.pid(), first);
        assert_eq!(c.args(), ["-c", "echo run; exit 4"]);
        assert_eq!(
            code_of(
                c.wait(Some(Duration::from_secs(5)), &Stop::default())
                    .unwrap()
            ),
            4
        );
        // The output is the new run's alone.
        assert_eq!(c.output(), "run\n");
    }

    #[test]
    fn a_missing_program_is_a_file_error_naming_it() {
        let err = Child::start("no-such-program-udpsh", &[]).unwrap_err();
        match err {
            ProcessError::Failed { kind, message } => {
                assert_eq!(kind, ErrorKind::File);
                assert!(message.contains("'no-such-program-udpsh'"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wait_gives_up_after_its_timeout() {
        let c = Child::start("sleep", &["30".into()]).unwrap();
        let err = c
            .wait(Some(Duration::from_millis(50)), &Stop::default())
            .unwrap_err();
        assert!(matches!(
            err,
            ProcessError::Failed {
                kind: ErrorKind::Timeout,
                ..
            }
        ));
        c.stop(Duration::from_secs(1));
    }
}
