//! Errors a script sees: catchable maps `#{kind, message}`, or uncatchable stops.

use rhai::{Dynamic, EvalAltResult, Map, Position};

use crate::net::NetError;
use crate::stop::StopReason;

pub type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// A catchable error: `catch (e)` gets `#{kind: .., message: ..}`.
pub fn script_error(kind: &str, message: impl Into<String>) -> Box<EvalAltResult> {
    with_fields(kind, message, Map::new())
}

/// A catchable error with extra fields (an assertion's values, a child script's rendering).
pub fn with_fields(kind: &str, message: impl Into<String>, mut fields: Map) -> Box<EvalAltResult> {
    fields.insert("kind".into(), kind.into());
    fields.insert("message".into(), message.into().into());
    EvalAltResult::ErrorRuntime(fields.into(), Position::NONE).into()
}

/// Stops cannot be caught by `try`: a timeout must end the script whatever it does.
pub fn stopped(reason: StopReason) -> Box<EvalAltResult> {
    EvalAltResult::ErrorTerminated(reason.as_str().into(), Position::NONE).into()
}

pub fn from_net(err: NetError) -> Box<EvalAltResult> {
    match err {
        NetError::Stopped(reason) => stopped(reason),
        NetError::Failed { kind, message } => script_error(kind.as_str(), message),
    }
}

/// The `kind` and `message` of a thrown error, when it is one of ours.
pub fn fields(value: &Dynamic) -> Option<(String, String)> {
    let map = value.read_lock::<Map>()?;
    let kind = map.get("kind")?.to_string();
    let message = map.get("message")?.to_string();
    Some((kind, message))
}
