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
    // A function of an imported module runs in the module's file: its errors point there.
    let mut in_file = None;
    while let EvalAltResult::ErrorInFunctionCall(name, source, next, pos) = inner {
        if outer.is_none() {
            outer = *pos;
        }
        if !source.is_empty() {
            in_file = Some(source.clone());
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
    notes.extend(described.notes);
    let file = match in_file {
        Some(module) if !inner.position().is_none() => module,
        _ => file.into(),
    };
    Diagnostic {
        kind: described.kind,
        stop: described.stop,
        message: described.message,
        file,
        line,
        col,
        detail: described.detail,
        notes,
    }
}

/// The text a diagnostic points into: `own` (the script's), or the file it names when the
/// error is in another one (an imported module).
pub fn source_of<'a>(d: &Diagnostic, name: &str, own: &'a str) -> std::borrow::Cow<'a, str> {
    if d.file == name {
        return own.into();
    }
    std::fs::read_to_string(&d.file).map_or(own.into(), Into::into)
}

/// An error of another script (spawned, or imported as a module) raised again here, carrying
/// that script's own rendering in its detail.
pub fn nested(d: &Diagnostic, source: &str, what: &str) -> Box<EvalAltResult> {
    let mut fields = rhai::Map::new();
    fields.insert("detail".into(), d.render(source, false).into());
    fields.insert("file".into(), d.file.clone().into());
    fields.insert("line".into(), (d.line as i64).into());
    fields.insert("col".into(), (d.col as i64).into());
    error::with_fields(d.kind, format!("{what} {}: {}", d.file, d.message), fields)
}

fn line_col(pos: Position) -> (usize, usize) {
    (pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

struct Described {
    kind: ErrorKind,
    stop: Option<StopReason>,
    message: String,
    detail: Option<String>,
    /// What exists instead, a did-you-mean, a hint for Python habits.
    notes: Vec<String>,
}

/// Kind, message and detail of the innermost error.
fn describe(err: &EvalAltResult) -> Described {
    let plain = |kind, message| Described {
        kind,
        stop: None,
        message,
        detail: None,
        notes: Vec::new(),
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
                    notes: Vec::new(),
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
                notes: Vec::new(),
            }
        }
        EvalAltResult::ErrorDataTooLarge(what, _) => plain(
            ErrorKind::Value,
            format!(
                "{} is over the memory limit: raise it with --max-memory (256M by default)",
                what.to_lowercase()
            ),
        ),
        other => {
            let (message, notes) = super::explain::rhai_error(other)
                .unwrap_or_else(|| (without_position(&other.to_string()), Vec::new()));
            Described {
                notes,
                ..plain(ErrorKind::Script, message)
            }
        }
    }
}

/// Rhai appends " (line 3, position 5)" to messages; we show the position our own way.
fn without_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_string(),
        _ => message.to_string(),
    }
}
