//! Errors a script sees: catchable maps `#{kind, message}`, or uncatchable stops.

use rhai::{Dynamic, EvalAltResult, Map, Position};

pub use crate::kind::ErrorKind;
use crate::net::NetError;
use crate::stop::StopReason;

pub type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// A catchable error: `catch (e)` gets `#{kind: .., message: ..}`.
pub fn script_error(kind: ErrorKind, message: impl Into<String>) -> Box<EvalAltResult> {
    with_fields(kind, message, Map::new())
}

/// A catchable error with extra fields (an assertion's values, a child script's rendering).
pub fn with_fields(
    kind: ErrorKind,
    message: impl Into<String>,
    mut fields: Map,
) -> Box<EvalAltResult> {
    fields.insert("kind".into(), kind.as_str().into());
    fields.insert("message".into(), message.into().into());
    EvalAltResult::ErrorRuntime(fields.into(), Position::NONE).into()
}

/// Stops cannot be caught by `try`: a timeout must end the script whatever it does.
pub fn stopped(reason: StopReason) -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(reason.as_str().into(), Position::NONE).into()
}

/// Scripts hold more than `--max-memory`: the same uncatchable end as the interpreter's own
/// check, for native calls that keep what a peer sends (`collect`, `tftp::get`).
pub fn within_memory(budget: usize) -> Result<(), Box<EvalAltResult>> {
    match crate::memory::over(budget) {
        Some(over) => {
            Err(EvalAltResult::ErrorTerminated(Dynamic::from(over), Position::NONE).into())
        }
        None => Ok(()),
    }
}

/// A stop raised since the last look (`--timeout`, Ctrl-C, SIGTERM): for native loops that
/// send, so a loop of sends with no wait in it still ends.
pub fn unless_stopped(stop: &crate::stop::Stop) -> Result<(), Box<EvalAltResult>> {
    match stop.flagged() {
        Some(reason) => Err(stopped(reason)),
        None => Ok(()),
    }
}

/// The OS refused a thread: kind `thread`, wherever the thread was for.
pub fn no_thread(e: crate::threads::NoThread) -> Box<EvalAltResult> {
    script_error(ErrorKind::Thread, e.to_string())
}

pub fn from_net(err: NetError) -> Box<EvalAltResult> {
    match err {
        NetError::Stopped(reason) => stopped(reason),
        NetError::Failed { kind, message } => script_error(kind, message),
    }
}

/// The `kind` and `message` of a thrown error, when it is one of ours.
pub fn fields(value: &Dynamic) -> Option<(ErrorKind, String)> {
    let map = value.read_lock::<Map>()?;
    let kind = ErrorKind::parse(&map.get("kind")?.to_string());
    let message = map.get("message")?.to_string();
    Some((kind, message))
}

/// Whether `err` (or the error inside the calls it passed through) is a catchable error of
/// this kind.
pub fn is_kind(err: &EvalAltResult, kind: ErrorKind) -> bool {
    match err.unwrap_inner() {
        EvalAltResult::ErrorRuntime(v, _) => fields(v).is_some_and(|(k, _)| k == kind),
        _ => false,
    }
}

/// A stop (`--timeout`, Ctrl-C, the run ended, a skip), not a failure of the script's own:
/// Rhai ends a script the same way when it went over the memory limit, which is a failure.
pub fn is_stop(e: &EvalAltResult) -> bool {
    matches!(e, EvalAltResult::ErrorTerminated(token, _) if !token.is::<crate::memory::Over>())
}
