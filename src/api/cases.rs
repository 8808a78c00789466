//! What the tests of a file did, as the runner reads it: the settings that choose and retry
//! them, and the log `test()` writes (see `suite.rs`, which runs them).

use std::sync::Mutex;
use std::time::Duration;

use rhai::{Dynamic, EvalAltResult, Map};

use crate::select::Selection;

/// How the tests of a run are chosen and retried.
#[derive(Clone, Debug, Default)]
pub struct SuiteSettings {
    pub selection: Selection,
    /// `--retry N`: tries after a failure, unless a test says otherwise.
    pub retries: u32,
    /// `--fail-fast`: after a test fails, the file's later tests do not run.
    pub fail_fast: bool,
}

/// What `skip()` ends a test (or the file's set-up) with: not a failure.
#[derive(Clone, Debug)]
pub struct Skip(pub String);

/// One try of a test, as it ended.
pub enum Tried {
    Passed,
    Skipped(String),
    Failed(Box<EvalAltResult>),
}

pub struct LoggedAttempt {
    pub duration: Duration,
    pub outcome: Tried,
}

pub struct LoggedCase {
    pub name: String,
    pub attempts: Vec<LoggedAttempt>,
    /// What it printed (its last try).
    pub output: String,
    /// Datagrams its tries sent and received.
    pub sent: u64,
    pub received: u64,
}

/// The tests a file ran, for the runner.
#[derive(Default)]
pub struct CaseLog {
    pub cases: Mutex<Vec<LoggedCase>>,
    /// A test failed under `--fail-fast`.
    pub stopped: std::sync::atomic::AtomicBool,
}

/// The reason, if `err` is a `skip()`.
pub fn skip_reason(err: &EvalAltResult) -> Option<String> {
    match err.unwrap_inner() {
        EvalAltResult::ErrorTerminated(token, _) => token.read_lock::<Skip>().map(|s| s.0.clone()),
        _ => None,
    }
}

/// The `tags` of a `test()` options map: an array of strings (or one string).
pub fn tags_of(opts: &Dynamic) -> Vec<String> {
    let Some(map) = opts.read_lock::<Map>() else {
        return Vec::new();
    };
    match map.get("tags") {
        Some(tags) if tags.is_array() => tags
            .read_lock::<rhai::Array>()
            .map(|a| a.iter().map(|t| t.to_string()).collect())
            .unwrap_or_default(),
        Some(tag) if tag.is_string() => vec![tag.to_string()],
        _ => Vec::new(),
    }
}
