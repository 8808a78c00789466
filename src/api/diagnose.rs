//! Rhai's errors turned into [`Diagnostic`]s, so the renderer and the runner never see Rhai.

use rhai::{EvalAltResult, ParseError, Position};

use crate::diagnostic::Diagnostic;
use crate::display::one_line;
use crate::kind::ErrorKind;
use crate::stop::StopReason;

use super::error;

pub fn from_parse(err: &ParseError, file: &str) -> Diagnostic {
    let (line, col) = super::positions::real(Some(file), err.position());
    Diagnostic {
        kind: ErrorKind::Compile,
        stop: None,
        message: one_line(&format!("syntax error: {}", err.err_type())).into_owned(),
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
    // Positions are read in the file they are in (a long script's are folded: `positions`).
    let mut caller = file.to_string();
    while let EvalAltResult::ErrorInFunctionCall(name, source, next, pos) = inner {
        if outer.is_none() {
            outer = *pos;
        }
        if !name.starts_with("anon$") {
            let (l, c) = super::positions::real(Some(&caller), *pos);
            notes.push(format!("in call to function '{name}' at {file}:{l}:{c}"));
        }
        if !source.is_empty() {
            in_file = Some(source.clone());
            caller = source.to_string();
        }
        inner = next;
    }
    let (line, col) = if inner.position().is_none() {
        super::positions::real(Some(file), outer)
    } else {
        super::positions::real(Some(&caller), inner.position())
    };
    let described = describe(inner);
    notes.extend(described.notes);
    let file = match in_file {
        Some(module) if !inner.position().is_none() => module,
        _ => file.into(),
    };
    Diagnostic {
        kind: described.kind,
        stop: described.stop,
        // Error texts quote what peers sent (`parse_int(d.text)`, `assert(false, d.text)`):
        // escaped here, once, so no printer of a message can show it raw.
        message: one_line(&described.message).into_owned(),
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
        EvalAltResult::ErrorTerminated(token, _) if token.is::<crate::memory::Over>() => {
            let over = token.clone_cast::<crate::memory::Over>();
            plain(ErrorKind::Value, over.message())
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
                "{} is over the memory limit: raise it with --max-memory (the default is 256M)",
                what.to_lowercase()
            ),
        ),
        other if super::explain::index_error(other).is_some() => plain(
            ErrorKind::Index,
            super::explain::index_error(other).unwrap_or_default(),
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

/// A bracket or string still open at the end of a script: what it is and where it opened.
#[derive(Debug, PartialEq)]
pub struct Unclosed {
    /// `(`, `[`, `{`, `#{`, `${` or `"`.
    pub open: &'static str,
    /// What closes it.
    pub close: &'static str,
    pub line: usize,
    pub col: usize,
}

/// The innermost bracket (or the string) that `source` leaves open at its end.
pub fn unclosed(engine: &rhai::Engine, source: &str) -> Option<Unclosed> {
    use rhai::{LexError, Token};
    let inputs = [source];
    let (stream, control) = engine.lex(&inputs);
    let mut stack: Vec<Unclosed> = Vec::new();
    let mut interpolation = false;
    // The backtick strings around open `${`, and the one that goes on after a `}`.
    let mut strings: Vec<Position> = Vec::new();
    let mut resumed: Option<Position> = None;
    let at = |pos: Position, open, close| Unclosed {
        open,
        close,
        line: pos.line().unwrap_or(1),
        col: pos.position().unwrap_or(1),
    };
    for (token, pos) in stream {
        match token {
            Token::EOF => break,
            Token::LexError(e) => {
                if let (LexError::UnterminatedString, Some(open)) = (&*e, resumed) {
                    return Some(at(open, "`", "`"));
                }
                if matches!(*e, LexError::UnterminatedString) {
                    let quote = match source.lines().nth(pos.line().unwrap_or(1) - 1) {
                        Some(l) if l.chars().nth(pos.position().unwrap_or(1) - 1) == Some('`') => {
                            "`"
                        }
                        _ => "\"",
                    };
                    return Some(at(pos, quote, quote));
                }
                break;
            }
            // `${` comes as the text before it, then its `{`.
            Token::InterpolatedString(_) => {
                interpolation = true;
                strings.push(resumed.take().unwrap_or(pos));
            }
            Token::LeftBrace if interpolation => {
                interpolation = false;
                let mut u = at(pos, "${", "}");
                u.col = u.col.saturating_sub(1).max(1);
                stack.push(u);
            }
            Token::LeftParen => stack.push(at(pos, "(", ")")),
            Token::LeftBracket => stack.push(at(pos, "[", "]")),
            Token::LeftBrace => stack.push(at(pos, "{", "}")),
            Token::MapStart => stack.push(at(pos, "#{", "}")),
            Token::RightParen | Token::RightBracket | Token::RightBrace => {
                if let Some(open) = stack.pop()
                    && open.open == "${"
                {
                    // The backtick string goes on after its `}`.
                    control.borrow_mut().is_within_text = true;
                    resumed = strings.pop();
                }
            }
            _ => resumed = None,
        }
    }
    stack.pop()
}

/// When a script ends too soon (`Script is incomplete`, or a missing `)` at the end), say
/// which bracket or string is still open and where it opened.
pub fn explain_incomplete(
    d: &mut Diagnostic,
    err: &ParseError,
    engine: &rhai::Engine,
    source: &str,
) {
    use rhai::ParseErrorType as P;
    // Nothing but blanks after the error: the end came too soon.
    let at_end = {
        let pos = err.position();
        let (line, col) = (
            pos.line().unwrap_or(usize::MAX),
            pos.position().unwrap_or(1),
        );
        source
            .lines()
            .enumerate()
            .all(|(i, text)| match (i + 1).cmp(&line) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal => text.chars().skip(col - 1).all(char::is_whitespace),
                std::cmp::Ordering::Greater => text.trim().is_empty(),
            })
    };
    // `"abc` with no closing quote on its line: a "…" string cannot span lines.
    if let P::BadInput(rhai::LexError::UnterminatedString) = err.err_type() {
        d.notes.push(
            "a \"…\" string ends on its line: close it there, or write text of several lines \
             in backticks (`…`)"
                .into(),
        );
        return;
    }
    let eof = matches!(err.err_type(), P::UnexpectedEOF);
    let missing_at_end = at_end && matches!(err.err_type(), P::MissingToken(..));
    if !eof && !missing_at_end {
        return;
    }
    match unclosed(engine, source) {
        Some(u) => {
            let what = if u.open == "\"" || u.open == "`" {
                format!(
                    "the string opened at {}:{} is never closed: it needs a {}",
                    u.line, u.col, u.close
                )
            } else {
                format!(
                    "the {} opened at {}:{} is never closed: it needs a {}",
                    u.open, u.line, u.col, u.close
                )
            };
            if eof {
                d.message = format!("syntax error: the script ends too soon: {what}");
            } else {
                d.notes.push(what);
            }
        }
        None if eof => {
            d.message = "syntax error: the script ends too soon: a value or statement is missing at its end".into();
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(source: &str) -> Diagnostic {
        let engine = crate::api::compiler();
        let err = engine.compile(source).expect_err("does not compile");
        let mut d = from_parse(&err, "t.rhai");
        explain_incomplete(&mut d, &err, &engine, source);
        d
    }

    #[test]
    fn an_incomplete_script_says_what_is_open_and_where() {
        let d = incomplete("let a = 1;\nfoo(1, ");
        assert_eq!(
            d.message,
            "syntax error: the script ends too soon: the ( opened at 2:4 is never closed: it needs a )"
        );
        let d = incomplete("let x = (1 + ");
        assert!(d.message.contains("the ( opened at 1:9"), "{}", d.message);
        let d = incomplete("let x = ");
        assert!(
            d.message.contains("a value or statement is missing"),
            "{}",
            d.message
        );
        // A missing `)` at the end: a note says where the `(` opened.
        let d = incomplete("let y = [1, (2");
        assert_eq!(
            d.notes,
            ["the ( opened at 1:13 is never closed: it needs a )"]
        );
        let d = incomplete("fn f() {\n  let m = #{a: `x ${1}`,\n");
        assert_eq!(
            d.notes,
            ["the #{ opened at 2:11 is never closed: it needs a }"]
        );
        // Not at the end: Rhai's message stands.
        let d = incomplete("foo(1 2)");
        assert!(
            d.notes.is_empty() && !d.message.contains("too soon"),
            "{d:?}"
        );
    }

    #[test]
    fn the_innermost_open_bracket_or_string() {
        let engine = crate::api::compiler();
        let u = unclosed(&engine, "let t = `a ${ [1, 2 ").unwrap();
        assert_eq!((u.open, u.line, u.col), ("[", 1, 15));
        let u = unclosed(&engine, "let t = `a ${ x } b").unwrap();
        assert_eq!((u.open, u.line, u.col), ("`", 1, 9));
        assert_eq!(unclosed(&engine, "f(1) { [2] }"), None);
    }
}
