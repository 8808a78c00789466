//! One renderer for every error a person reads: header, `--> file:line:col`, the source
//! line, a caret under the column, then values or notes. Plain for reports, coloured for
//! terminals. Knows nothing of Rhai: `api::diagnose` builds these from Rhai's errors.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use unicode_width::UnicodeWidthStr;

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

/// Width of the identifier (or single character) that starts at `col`.
fn token_width(text: &str, col: usize) -> usize {
    let rest: String = text.chars().skip(col.saturating_sub(1)).collect();
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
