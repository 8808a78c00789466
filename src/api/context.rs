//! What a script's functions need to know: its file, its vars, its run's stop flag,
//! recorder and counters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rhai::{AST, Dynamic};

use crate::capture::Recorder;
use crate::random::Random;
use crate::stop::Stop;

use super::background::Registry;
use super::cases::{CaseLog, SuiteSettings};
use super::limits::Limits;

/// Where a script's `print` output goes; also carries `-v` datagram lines.
#[derive(Clone)]
pub struct Output(Arc<dyn Fn(&str) + Send + Sync>);

impl Output {
    pub fn new(sink: impl Fn(&str) + Send + Sync + 'static) -> Output {
        Output(Arc::new(sink))
    }

    pub fn stdout() -> Output {
        Output::new(|line| {
            use std::io::Write;
            thread_local! {
                static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
            }
            // The line and its newline in one buffer of this thread, written with one
            // write(2) straight to fd 1: no formatting, no scan of the line for newlines. The
            // stdout lock keeps other writers' lines whole, and what they left buffered goes
            // first.
            let mut out = std::io::stdout().lock();
            let _ = out.flush();
            LINE.with(|buf| {
                let Ok(mut buf) = buf.try_borrow_mut() else {
                    crate::display::note_stdout(writeln!(
                        out,
                        "{}",
                        crate::display::terminal_safe(line)
                    ));
                    return;
                };
                buf.clear();
                buf.extend_from_slice(crate::display::terminal_safe(line).as_bytes());
                buf.push(b'\n');
                // SAFETY: fd 1 is stdout, open for the life of the process; ManuallyDrop
                // keeps it from being closed here.
                let fd1 = std::mem::ManuallyDrop::new(unsafe {
                    <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(1)
                });
                crate::display::note_stdout((&*fd1).write_all(&buf));
                if buf.capacity() > 1 << 16 {
                    *buf = Vec::new();
                }
            });
        })
    }

    pub fn line(&self, text: &str) {
        (self.0)(text)
    }
}

/// A value given with `--var` (a string, parsed at `var()` to the default's type) or with
/// `spawn("file", #{...})` (already a value).
#[derive(Clone, Debug)]
pub enum VarValue {
    Text(String),
    Value(Dynamic),
}

/// One run of a script, shared with the threads it spawns.
pub struct RunCtx {
    pub stop: Arc<Stop>,
    /// Swappable while running, for the REPL's `:pcap FILE` / `:pcap off`.
    recorder: RwLock<Option<Recorder>>,
    /// Whether `recorder` is set: what every send looks at, one load.
    recording: AtomicBool,
    pub verbose: bool,
    pub out: Output,
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// Capture id of the last datagram recorded by this run (0: none yet), so a failure can
    /// annotate it.
    last_packet: AtomicU64,
    /// Threads (and soon children, proxies) the script started: stopped when it ends.
    pub background: Registry,
    pub limits: Limits,
    /// While a `test()` runs: what it prints, for its own case in the reports.
    test_output: Mutex<Option<String>>,
}

impl RunCtx {
    pub fn new(stop: Arc<Stop>, recorder: Option<Recorder>, verbose: bool, out: Output) -> RunCtx {
        RunCtx {
            stop,
            recording: AtomicBool::new(recorder.is_some()),
            recorder: RwLock::new(recorder),
            verbose,
            out,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            last_packet: AtomicU64::new(0),
            background: Registry::default(),
            limits: Limits::default(),
            test_output: Mutex::new(None),
        }
    }

    /// From now on, lines printed are also kept for the test about to run.
    pub fn start_test_output(&self) {
        *self.test_output.lock().unwrap_or_else(|p| p.into_inner()) = Some(String::new());
    }

    /// What was printed since `start_test_output`; stops keeping it.
    pub fn take_test_output(&self) -> String {
        self.test_output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default()
    }

    /// Keeps a printed line for the running test (at most the last 64 KiB, as for a file).
    pub fn note_test_output(&self, line: &str) {
        if let Some(out) = self
            .test_output
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            && out.len() < 64 << 10
        {
            out.push_str(line);
            out.push('\n');
        }
    }

    /// With `--max-memory` other than the default.
    pub fn with_limits(mut self, limits: Limits) -> RunCtx {
        self.limits = limits;
        self
    }

    /// The capture being written, if any (a cheap clone of a shared handle).
    pub fn recorder(&self) -> Option<Recorder> {
        self.recorder
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Runs `f` with the capture being written, if any, without cloning the handle.
    pub fn with_recorder<R>(&self, f: impl FnOnce(&Recorder) -> R) -> Option<R> {
        if !self.is_recording() {
            return None;
        }
        self.recorder
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(f)
    }

    pub fn is_recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    /// Records from now on into `recorder` (or stops recording); returns the previous one.
    pub fn set_recorder(&self, recorder: Option<Recorder>) -> Option<Recorder> {
        let mut current = self.recorder.write().unwrap_or_else(|p| p.into_inner());
        self.recording.store(recorder.is_some(), Ordering::Relaxed);
        std::mem::replace(&mut *current, recorder)
    }

    pub fn counts(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }

    /// Notes `text` on the latest datagram recorded (pcapng), so a failure shows beside the
    /// packet that led to it.
    pub fn annotate_last(&self, text: &str) {
        if let (Some(rec), Some(id)) = (self.recorder(), self.last_packet()) {
            let _ = rec.annotate(id, text);
        }
    }

    pub fn last_packet(&self) -> Option<u64> {
        Some(self.last_packet.load(Ordering::Relaxed)).filter(|&id| id > 0)
    }

    /// Notes the capture id of a datagram just recorded.
    pub fn set_last_packet(&self, id: u64) {
        self.last_packet.store(id, Ordering::Relaxed);
    }
}

/// One script file (or `-e` text, or the REPL) within a run.
pub struct ScriptCtx {
    pub run: Arc<RunCtx>,
    /// Shown in errors and capture comments: `scripts/chat_client.rhai`.
    pub name: String,
    /// The folder of the script, for `script_dir()` and `spawn("file")`.
    pub dir: PathBuf,
    pub vars: BTreeMap<String, VarValue>,
    /// The compiled script, for running closures on other threads.
    pub ast: RwLock<Option<Arc<AST>>>,
    pub suite: Arc<SuiteSettings>,
    /// The `test()`s it ran.
    pub cases: CaseLog,
    /// Its random draws: the OS's, or its own stream of the `--seed` (keyed by file name).
    pub random: Random,
}

impl ScriptCtx {
    pub fn new(
        run: Arc<RunCtx>,
        name: String,
        dir: &Path,
        vars: BTreeMap<String, VarValue>,
    ) -> Arc<ScriptCtx> {
        ScriptCtx::in_suite(run, name, dir, vars, Arc::default())
    }

    /// A script of a suite run, whose `test()`s are chosen and retried by `suite`.
    pub fn in_suite(
        run: Arc<RunCtx>,
        name: String,
        dir: &Path,
        vars: BTreeMap<String, VarValue>,
        suite: Arc<SuiteSettings>,
    ) -> Arc<ScriptCtx> {
        Arc::new(ScriptCtx {
            run,
            dir: dir.to_path_buf(),
            vars,
            ast: RwLock::new(None),
            suite,
            cases: CaseLog::default(),
            random: Random::for_stream(stream_name(&name)),
            name,
        })
    }

    pub fn set_ast(&self, ast: Arc<AST>) {
        *self.ast.write().unwrap_or_else(|p| p.into_inner()) = Some(ast);
    }

    pub fn ast(&self) -> Arc<AST> {
        self.ast
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_default()
    }
}

/// A script's random stream is named by its file name, so it draws the same wherever it is
/// run from.
fn stream_name(name: &str) -> &str {
    Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(name)
}
