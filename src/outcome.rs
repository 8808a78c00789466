//! The result of running one script: what the runner hands to the terminal and report writers.

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
}

impl Status {
    /// How a run that ended with this error went.
    pub fn of(d: &Diagnostic) -> Status {
        match (d.kind, d.stop) {
            (ErrorKind::Assertion, _) => Status::Failed,
            (_, Some(StopReason::Timeout)) => Status::Timeout,
            (_, Some(StopReason::Interrupted)) | (ErrorKind::Interrupted, _) => Status::Interrupted,
            _ => Status::Error,
        }
    }

    /// The exit code of a run that ended so.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Passed => exit::OK,
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
        }
    }
}

/// Where and why a script failed.
#[derive(Clone, Debug, serde::Serialize)]
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

/// One script's run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScriptOutcome {
    /// The script's path as given on the command line (or found below a directory).
    pub path: PathBuf,
    /// The path shown to users, relative where possible: `scripts/scenarios/chat.rhai`.
    pub name: String,
    pub status: Status,
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
    /// What the script printed (`print`, `debug`), in order.
    pub output: String,
    pub failure: Option<Failure>,
    /// Datagrams sent and received by the script's sockets (spawned threads included).
    pub sent: u64,
    pub received: u64,
    /// The capture file that holds this script's datagrams, if recording.
    pub capture: Option<PathBuf>,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Exit status of a run, as the SPEC says: any error/timeout → 3, else any failure → 1, else 0.
pub fn exit_code(outcomes: &[ScriptOutcome]) -> i32 {
    outcomes
        .iter()
        .map(|o| o.status.exit_code())
        .max()
        .unwrap_or(exit::OK)
}
