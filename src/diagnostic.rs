//! One renderer for every error a person reads: header, `--> file:line:col`, the source
//! line, a caret under the column, then values or notes. Plain for reports, coloured for
//! terminals. Knows nothing of Rhai: `api::diagnose` builds these from Rhai's errors.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthStr;

use crate::display::{one_line, terminal_safe};
use crate::kind::ErrorKind;
use crate::stop::StopReason;

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub kind: ErrorKind,
    /// Set when the script was stopped (`--timeout`, Ctrl-C) rather than failing by itself.
    pub stop: Option<StopReason>,
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
    /// An error at a place of a file, with nothing more to show.
    pub fn at(kind: ErrorKind, message: String, file: &str, line: usize, col: usize) -> Diagnostic {
        Diagnostic {
            kind,
            stop: None,
            message,
            file: file.to_string(),
            line,
            col,
            detail: None,
            notes: Vec::new(),
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
        let header = if self.kind.is_assertion() {
            "failure"
        } else {
            "error"
        };
        let _ = writeln!(
            out,
            "{}{} {}",
            paint(red, header),
            paint(bold, ":"),
            paint(bold, &one_line(&self.message))
        );
        let file = one_line(&self.file);
        // Rhai counts lines and columns in 16 bits: past that it says 65535 for any of them.
        let line_known = known(self.line).is_some();
        let col_known = known(self.col).is_some();
        let source_line = line_known
            .then(|| source.lines().nth(self.line - 1))
            .flatten();
        let number = if line_known {
            self.line.to_string()
        } else {
            String::new()
        };
        let gutter = " ".repeat(number.len());
        let arrow = paint(blue, "-->");
        let _ = match (self.line, line_known, col_known) {
            (0, _, _) => writeln!(out, "{gutter}{arrow} {file}"),
            (_, false, _) => writeln!(out, "{gutter}{arrow} {file}:line ≥ {SATURATED}"),
            (_, true, false) if saturated(self.col) => writeln!(
                out,
                "{gutter}{arrow} {file}:{}:column ≥ {SATURATED}",
                self.line
            ),
            _ => writeln!(out, "{gutter}{arrow} {file}:{}:{}", self.line, self.col),
        };
        if let Some(text) = source_line {
            let shown = |part: &str| terminal_safe(&part.replace('\t', "    ")).into_owned();
            let _ = writeln!(out, "{gutter} {}", paint(blue, "|"));
            let _ = writeln!(
                out,
                "{} {} {}",
                paint(blue, &number),
                paint(blue, "|"),
                shown(text)
            );
            if col_known {
                let before: String = text.chars().take(self.col - 1).collect();
                let width = token_width(&shown(text.get(before.len()..).unwrap_or("")));
                let _ = writeln!(
                    out,
                    "{gutter} {} {}{}",
                    paint(blue, "|"),
                    " ".repeat(shown(&before).width()),
                    paint(red, &"^".repeat(width))
                );
            }
        }
        for note in &self.notes {
            let _ = writeln!(
                out,
                "{gutter} {} note: {}",
                paint(blue, "="),
                one_line(note)
            );
        }
        if let Some(detail) = &self.detail {
            for line in terminal_safe(detail).lines() {
                let _ = writeln!(out, "{gutter}   {line}");
            }
        }
        out
    }
}

/// Positions Rhai reports as this are "this or more". A long script's positions are mapped
/// to their real lines (`api::positions`), which may be past it: those are real.
const SATURATED: usize = u16::MAX as usize;

/// A line or column, when it is a real one: not 0 (none), not 65535 (Rhai's 16 bits are full,
/// so it is 65535 or more).
pub fn known(n: usize) -> Option<usize> {
    (n > 0 && n != SATURATED).then_some(n)
}

/// Whether Rhai's 16-bit count was full: the true line or column is 65535 or more.
pub fn saturated(n: usize) -> bool {
    n == SATURATED
}

/// Width of the identifier (or single character) that starts `rest`.
fn token_width(rest: &str) -> usize {
    let ident: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    ident.width().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_caret_under_column() {
        let d = Diagnostic {
            kind: ErrorKind::Network,
            stop: None,
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
            kind: ErrorKind::Value,
            stop: None,
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
