//! One renderer for every error a person reads: header, `--> file:line:col`, the source
//! line, a caret under the column, then values or notes. Plain for reports, coloured for
//! terminals.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use rhai::{EvalAltResult, ParseError, Position};
use unicode_width::UnicodeWidthStr;

use crate::api::error;

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// `assertion`, `timeout`, `interrupted`, `compile`, `network`, `permission denied`, ...
    pub kind: String,
    pub message: String,
    pub file: String,
    /// 1-based, 0 when unknown.
    pub line: usize,
    pub col: usize,
    /// Shown below the source: assertion values, a diff, a child script's failure.
    pub detail: Option<String>,
    /// "in call to function 'f' at 3:5", innermost last.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn from_parse(err: &ParseError, file: &str) -> Diagnostic {
        let (line, col) = line_col(err.position());
        Diagnostic {
            kind: "compile".into(),
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
        let (kind, message, detail) = describe(inner);
        Diagnostic {
            kind,
            message,
            file: file.into(),
            line,
            col,
            detail,
            notes,
        }
    }

    pub fn render(&self, source: &str, color: bool) -> String {
        let paint = |style: Style, text: &str| {
            if color {
                format!("{}{text}{}", style.render(), style.render_reset())
            } else {
                text.to_string()
            }
        };
        let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
        let blue = Style::new().fg_color(Some(AnsiColor::Blue.into())).bold();
        let bold = Style::new().bold();
        let mut out = String::new();
        let header = if self.kind == "assertion" {
            "failure"
        } else {
            "error"
        };
        let _ = writeln!(
            out,
            "{}{} {}",
            paint(red, header),
            paint(bold, ":"),
            paint(bold, &self.message)
        );
        let source_line = (self.line > 0)
            .then(|| source.lines().nth(self.line - 1))
            .flatten();
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        if self.line > 0 {
            let _ = writeln!(
                out,
                "{gutter}{} {}:{}:{}",
                paint(blue, "-->"),
                self.file,
                self.line,
                self.col
            );
        } else {
            let _ = writeln!(out, "{gutter}{} {}", paint(blue, "-->"), self.file);
        }
        if let Some(text) = source_line {
            let text = text.replace('\t', "    ");
            let _ = writeln!(out, "{gutter} {}", paint(blue, "|"));
            let _ = writeln!(
                out,
                "{} {} {}",
                paint(blue, &number),
                paint(blue, "|"),
                text
            );
            let before: String = text.chars().take(self.col.saturating_sub(1)).collect();
            let width = token_width(&text, self.col);
            let _ = writeln!(
                out,
                "{gutter} {} {}{}",
                paint(blue, "|"),
                " ".repeat(before.width()),
                paint(red, &"^".repeat(width))
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "{gutter} {} note: {note}", paint(blue, "="));
        }
        if let Some(detail) = &self.detail {
            for line in detail.lines() {
                let _ = writeln!(out, "{gutter}   {line}");
            }
        }
        out
    }
}

fn line_col(pos: Position) -> (usize, usize) {
    (pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

/// Width of the identifier (or single character) that starts at `col`.
fn token_width(text: &str, col: usize) -> usize {
    let rest: String = text.chars().skip(col.saturating_sub(1)).collect();
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    ident.width().max(1)
}

/// Kind, message and detail of the innermost error.
fn describe(err: &EvalAltResult) -> (String, String, Option<String>) {
    match err {
        EvalAltResult::ErrorRuntime(value, _) => {
            if let Some((kind, message)) = error::fields(value) {
                let detail = value
                    .read_lock::<rhai::Map>()
                    .and_then(|m| m.get("detail").map(|d| d.to_string()));
                return (kind, message, detail);
            }
            ("error".into(), format!("uncaught throw: {value}"), None)
        }
        EvalAltResult::ErrorTerminated(token, _) => {
            let reason = token.to_string();
            let message = match reason.as_str() {
                "timeout" => "stopped: the --timeout was reached".to_string(),
                "interrupted" => "stopped: interrupted (Ctrl-C)".to_string(),
                other => format!("stopped: {other}"),
            };
            (reason, message, None)
        }
        other => ("script".into(), without_position(&other.to_string()), None),
    }
}

/// Rhai appends " (line 3, position 5)" to messages; we show the position our own way.
fn without_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_string(),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic {
            kind: "network".into(),
            message: "cannot send".into(),
            file: "a.rhai".into(),
            line: 2,
            col: 3,
            detail: Some("more".into()),
            notes: vec![],
        };
        let text = d.render("let x = 1;\ns.sendto(x);\n", false);
        assert_eq!(
            text,
            "error: cannot send\n --> a.rhai:2:3\n  |\n2 | s.sendto(x);\n  |   ^^^^^^\n    more\n"
        );
    }

    #[test]
    fn caret_accounts_for_wide_characters() {
        let d = Diagnostic {
            kind: "x".into(),
            message: "m".into(),
            file: "f".into(),
            line: 1,
            col: 4,
            detail: None,
            notes: vec![],
        };
        let text = d.render("\"你\"+x", false);
        assert!(text.ends_with("1 | \"你\"+x\n  |     ^\n"), "{text}");
    }
}
