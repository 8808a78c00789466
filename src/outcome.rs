//! The results of a run, file → cases → attempts: what the runner hands to the terminal and
//! the report writers.

use std::path::PathBuf;
use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::kind::ErrorKind;
use crate::stop::StopReason;

/// Exit codes, as the SPEC says. Every exit of udpsh takes one of these.
pub mod exit {
    /// Everything passed.
    pub const OK: i32 = 0;
    /// An assertion failed, and nothing worse.
    pub const FAILED: i32 = 1;
    /// A usage error, or a script did not compile: nothing ran.
    pub const USAGE: i32 = 2;
    /// A runtime error, a network error, a `--timeout`, Ctrl-C during `udpsh run`.
    pub const ERROR: i32 = 3;
    /// Ctrl-C ended the REPL, or a second Ctrl-C ended a run at once (128 + SIGINT).
    pub const INTERRUPTED: i32 = 130;
}

/// How a script ended. Ordered by severity for exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ran to the end, every assertion held.
    Passed,
    /// An `assert*` failed (exit code 1).
    Failed,
    /// An uncaught runtime or network error (exit code 3).
    Error,
    /// Stopped at `--timeout` (exit code 3).
    Timeout,
    /// Stopped by Ctrl-C (exit code 3).
    Interrupted,
    /// `skip(reason)`, or not run because the file's set-up skipped (exit code 0).
    Skipped,
}

impl Status {
    /// How a run that ended with this error went.
    pub fn of(d: &Diagnostic) -> Status {
        match (d.kind, d.stop) {
            (ErrorKind::Assertion, _) => Status::Failed,
            (_, Some(StopReason::Timeout | StopReason::TestTimeout)) => Status::Timeout,
            (_, Some(StopReason::Interrupted)) | (ErrorKind::Interrupted, _) => Status::Interrupted,
            _ => Status::Error,
        }
    }

    /// The exit code of a run that ended so.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Passed | Status::Skipped => exit::OK,
            Status::Failed => exit::FAILED,
            Status::Error | Status::Timeout | Status::Interrupted => exit::ERROR,
        }
    }

    /// The word shown in the one-line-per-script listing.
    pub fn label(self) -> &'static str {
        match self {
            Status::Passed => "ok",
            Status::Failed => "FAIL",
            Status::Error => "ERROR",
            Status::Timeout => "TIMEOUT",
            Status::Interrupted => "INTERRUPTED",
            Status::Skipped => "skip",
        }
    }

    /// Whether the run counts as good: passed, or skipped on purpose.
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Passed | Status::Skipped)
    }

    /// Order for the status of a file made of several cases: its worst.
    fn severity(self) -> u8 {
        match self {
            Status::Skipped => 0,
            Status::Passed => 1,
            Status::Failed => 2,
            Status::Timeout | Status::Error | Status::Interrupted => 3,
        }
    }
}

/// Where and why a test failed.
#[derive(Clone, Debug)]
pub struct Failure {
    /// One line: "assertion failed: left != right", "timed out after 2s", ...
    pub message: String,
    /// The script the error points into (may be a spawned script, not the one run).
    pub file: PathBuf,
    /// 1-based; 0 when the error has no position.
    pub line: usize,
    /// 1-based; 0 when the error has no position.
    pub col: usize,
    /// The full plain-text rendering: header, `--> file:line:col`, source line, caret, values.
    pub rendered: String,
}

/// One run of one test: a retried test has several, the last one counts (as Hurl keeps them).
#[derive(Clone, Debug)]
pub struct Attempt {
    pub status: Status,
    pub duration: Duration,
    pub failure: Option<Failure>,
}

/// One test case of a file. A file without `test()` calls is one case: the file itself.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The `test("name", ...)` name; `None` for a file that is one test.
    pub name: Option<String>,
    /// At least one.
    pub attempts: Vec<Attempt>,
    /// Why it was skipped (status `Skipped`).
    pub skip_reason: Option<String>,
    /// What a `test()` printed and sent itself; `None` for a file that is one test (then
    /// the file's own output and counts are the case's).
    pub own: Option<CaseOwn>,
}

/// A `test()`'s own share of its file's output and datagrams.
#[derive(Clone, Debug, Default)]
pub struct CaseOwn {
    pub output: String,
    pub sent: u64,
    pub received: u64,
}

impl CaseResult {
    /// A case that ran once.
    pub fn once(name: Option<String>, attempt: Attempt) -> CaseResult {
        CaseResult {
            name,
            attempts: vec![attempt],
            skip_reason: None,
            own: None,
        }
    }

    /// A case skipped with `reason`.
    pub fn skipped(name: Option<String>, reason: String) -> CaseResult {
        let attempt = Attempt {
            status: Status::Skipped,
            duration: Duration::ZERO,
            failure: None,
        };
        CaseResult {
            skip_reason: Some(reason),
            ..CaseResult::once(name, attempt)
        }
    }

    /// Passed after failing: on a retry.
    pub fn is_flaky(&self) -> bool {
        self.status() == Status::Passed && self.attempts.len() > 1
    }

    /// The attempts before the last one that did not pass.
    pub fn earlier_failures(&self) -> impl Iterator<Item = &Attempt> {
        let n = self.attempts.len().saturating_sub(1);
        self.attempts[..n].iter().filter(|a| !a.status.is_ok())
    }

    fn last(&self) -> Option<&Attempt> {
        self.attempts.last()
    }

    /// Its last attempt's status; a case that never ran is an error, never a pass.
    pub fn status(&self) -> Status {
        self.last().map_or(Status::Error, |a| a.status)
    }

    pub fn failure(&self) -> Option<&Failure> {
        self.last()?.failure.as_ref()
    }

    /// Every attempt's time together.
    pub fn duration(&self) -> Duration {
        self.attempts.iter().map(|a| a.duration).sum()
    }
}

/// One script file's run: its cases and what the file as a whole did.
#[derive(Clone, Debug)]
pub struct FileResult {
    /// The script's path as given on the command line (or found below a directory).
    pub path: PathBuf,
    /// The path shown to users, relative where possible: `scripts/scenarios/chat.rhai`.
    pub name: String,
    pub duration: Duration,
    /// What the script printed (`print`, `debug`), in order.
    pub output: String,
    /// Datagrams sent and received by the script's sockets (spawned threads included).
    pub sent: u64,
    pub received: u64,
    /// The capture file that holds this script's datagrams, if recording.
    pub capture: Option<PathBuf>,
    pub cases: Vec<CaseResult>,
    /// With `--repeat N`: this is run k of N (and `name` ends in ` [k/N]`).
    pub run: Option<(u32, u32)>,
}

impl FileResult {
    /// The script's name without the ` [k/N]` of a repeated run.
    pub fn script_name(&self) -> &str {
        match self.run {
            Some((k, n)) => self
                .name
                .strip_suffix(&format!(" [{k}/{n}]"))
                .unwrap_or(&self.name),
            None => &self.name,
        }
    }

    /// The worst status of its cases (skipped only when all are).
    pub fn status(&self) -> Status {
        self.cases
            .iter()
            .map(CaseResult::status)
            .max_by_key(|s| s.severity())
            .unwrap_or(Status::Passed)
    }

    /// About the bytes it holds on the heap: what the runner keeps of a finished run is
    /// udpsh's, not the next script's, under `--max-memory`.
    pub fn held_bytes(&self) -> usize {
        let failure =
            |f: &Failure| f.message.capacity() + f.rendered.capacity() + f.file.as_os_str().len();
        let case = |c: &CaseResult| {
            std::mem::size_of::<CaseResult>()
                + c.name.as_ref().map_or(0, String::capacity)
                + c.skip_reason.as_ref().map_or(0, String::capacity)
                + c.own.as_ref().map_or(0, |o| o.output.capacity())
                + c.attempts.capacity() * std::mem::size_of::<Attempt>()
                + c.attempts
                    .iter()
                    .filter_map(|a| a.failure.as_ref())
                    .map(failure)
                    .sum::<usize>()
        };
        std::mem::size_of::<FileResult>()
            + self.name.capacity()
            + self.output.capacity()
            + self.path.as_os_str().len()
            + self.capture.as_ref().map_or(0, |c| c.as_os_str().len())
            + self.cases.iter().map(case).sum::<usize>()
    }

    /// Whether it holds `test()` cases rather than being one test.
    pub fn has_named_cases(&self) -> bool {
        self.cases.iter().any(|c| c.name.is_some())
    }

    /// Each case with its file, in order: what reports list.
    pub fn cases(&self) -> impl Iterator<Item = Case<'_>> {
        self.cases.iter().map(move |case| Case { file: self, case })
    }
}

/// A case seen with its file, as a report shows it.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    pub file: &'a FileResult,
    pub case: &'a CaseResult,
}

impl<'a> Case<'a> {
    /// `chat.rhai` for a file that is one test, `dns.rhai › A record` for a `test()`.
    pub fn name(&self) -> String {
        match &self.case.name {
            None => self.file.name.clone(),
            Some(test) => format!("{} › {test}", self.file.name),
        }
    }

    pub fn status(&self) -> Status {
        self.case.status()
    }

    pub fn failure(&self) -> Option<&'a Failure> {
        self.case.failure()
    }

    pub fn duration(&self) -> Duration {
        self.case.duration()
    }

    pub fn skip_reason(&self) -> Option<&'a str> {
        self.case.skip_reason.as_deref()
    }

    /// What the case printed: its own output when it ran as a `test()`, else its file's.
    pub fn output(&self) -> &'a str {
        self.case
            .own
            .as_ref()
            .map_or(&self.file.output, |own| &own.output)
    }

    /// Datagrams sent and received: the test's own, or its file's.
    pub fn counts(&self) -> (u64, u64) {
        self.case
            .own
            .as_ref()
            .map_or((self.file.sent, self.file.received), |own| {
                (own.sent, own.received)
            })
    }
}

/// Every case of every file, in order.
pub fn all_cases(files: &[FileResult]) -> impl Iterator<Item = Case<'_>> {
    files.iter().flat_map(FileResult::cases)
}

/// Exit status of a run, as the SPEC says: any error/timeout → 3, else any failure → 1, else 0.
pub fn exit_code(files: &[FileResult]) -> i32 {
    all_cases(files)
        .map(|c| c.status().exit_code())
        .max()
        .unwrap_or(exit::OK)
}
