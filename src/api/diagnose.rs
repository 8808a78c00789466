//! Rhai's errors turned into [`Diagnostic`]s, so the renderer and the runner never see Rhai.

use rhai::{EvalAltResult, ParseError, Position};

use crate::diagnostic::Diagnostic;
use crate::kind::ErrorKind;
use crate::stop::StopReason;

use super::error;

pub fn from_parse(err: &ParseError, file: &str) -> Diagnostic {
    let (line, col) = line_col(err.position());
    Diagnostic {
        kind: ErrorKind::Compile,
        stop: None,
        message: format!("syntax error: {}", err.err_type()),
        file: file.into(),
        line,
        col,
        detail: None,
        notes: Vec::new(),
    }
}

pub fn from_eval(err: &EvalAltResult, file: &str) -> Diagnostic {
    let mut notes = Vec::new();
    let mut outer = Position::NONE;
    let mut inner = err;
    while let EvalAltResult::ErrorInFunctionCall(name, _, next, pos) = inner {
        if outer.is_none() {
            outer = *pos;
        }
        if !name.starts_with("anon$") {
            let (l, c) = line_col(*pos);
            notes.push(format!("in call to function '{name}' at {file}:{l}:{c}"));
        }
        inner = next;
    }
    let pos = if inner.position().is_none() {
        outer
    } else {
        inner.position()
    };
    let (line, col) = line_col(pos);
    let described = describe(inner);
    Diagnostic {
        kind: described.kind,
        stop: described.stop,
        message: described.message,
        file: file.into(),
        line,
        col,
        detail: described.detail,
        notes,
    }
}

fn line_col(pos: Position) -> (usize, usize) {
    (pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

struct Described {
    kind: ErrorKind,
    stop: Option<StopReason>,
    message: String,
    detail: Option<String>,
}

/// Kind, message and detail of the innermost error.
fn describe(err: &EvalAltResult) -> Described {
    let plain = |kind, message| Described {
        kind,
        stop: None,
        message,
        detail: None,
    };
    match err {
        EvalAltResult::ErrorRuntime(value, _) => {
            if let Some((kind, message)) = error::fields(value) {
                let detail = value
                    .read_lock::<rhai::Map>()
                    .and_then(|m| m.get("detail").map(|d| d.to_string()));
                return Described {
                    kind,
                    stop: None,
                    message,
                    detail,
                };
            }
            plain(ErrorKind::Script, format!("uncaught throw: {value}"))
        }
        EvalAltResult::ErrorTerminated(token, _) => {
            let reason = StopReason::parse(&token.to_string());
            let (kind, message) = match reason {
                Some(StopReason::Timeout) => (
                    ErrorKind::Timeout,
                    "stopped: the --timeout was reached".to_string(),
                ),
                Some(StopReason::Interrupted) => (
                    ErrorKind::Interrupted,
                    "stopped: interrupted (Ctrl-C)".to_string(),
                ),
                _ => (ErrorKind::Script, format!("stopped: {token}")),
            };
            Described {
                kind,
                stop: reason,
                message,
                detail: None,
            }
        }
        EvalAltResult::ErrorDataTooLarge(what, _) => plain(
            ErrorKind::Value,
            format!(
                "{} is over the memory limit: raise it with --max-memory (256M by default)",
                what.to_lowercase()
            ),
        ),
        other => plain(ErrorKind::Script, without_position(&other.to_string())),
    }
}

/// Rhai appends " (line 3, position 5)" to messages; we show the position our own way.
fn without_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_string(),
        _ => message.to_string(),
    }
}
