//! Syntax colours for the line being typed: keywords, strings, numbers, comments, the udpsh
//! API. Only escape sequences are added, so the width on screen never changes.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "while", "loop", "for", "in", "do", "until", "break",
    "continue", "return", "throw", "try", "catch", "switch", "true", "false", "private", "import",
    "export", "as", "global", "this",
];

fn style(color: AnsiColor) -> Style {
    Style::new().fg_color(Some(color.into()))
}

/// The line with ANSI colours.
pub fn line(text: &str) -> String {
    if text.trim_start().starts_with(':') {
        return meta(text);
    }
    let mut out = String::with_capacity(text.len() * 2);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let (end, paint) = if c == '/' && next == Some('/') {
            (until(&chars, i, |c| c == '\n'), Some(Style::new().dimmed()))
        } else if c == '/' && next == Some('*') {
            (block_comment(&chars, i), Some(Style::new().dimmed()))
        } else if c == '"' || c == '`' || c == '\'' {
            (string_end(&chars, i, c), Some(style(AnsiColor::Green)))
        } else if c.is_ascii_digit() {
            let end = until(&chars, i, |c| {
                !(c.is_ascii_alphanumeric() || c == '_' || c == '.')
            });
            (end, Some(style(AnsiColor::Yellow)))
        } else if c.is_alphabetic() || c == '_' {
            let end = until(&chars, i, |c| !(c.is_alphanumeric() || c == '_'));
            let word = slice(text, &chars, i, end);
            (end, word_style(word, at, text))
        } else {
            (i + 1, None)
        };
        let piece = slice(text, &chars, i, end);
        match paint {
            Some(s) => {
                let _ = write!(out, "{}{piece}{}", s.render(), s.render_reset());
            }
            None => out.push_str(piece),
        }
        i = end;
    }
    out
}

fn word_style(word: &str, at: usize, text: &str) -> Option<Style> {
    if KEYWORDS.contains(&word) {
        return Some(style(AnsiColor::Magenta).bold());
    }
    let after_dot = text[..at].trim_end().ends_with('.');
    let known = crate::api::docs::lookup(word)
        .iter()
        .any(|e| (e.kind == crate::api::docs::Kind::Function) != after_dot);
    known.then(|| style(AnsiColor::Cyan))
}

fn meta(text: &str) -> String {
    let end = text.find(' ').unwrap_or(text.len());
    let s = style(AnsiColor::Blue).bold();
    format!(
        "{}{}{}{}",
        s.render(),
        &text[..end],
        s.render_reset(),
        &text[end..]
    )
}

/// Index of the first char after `i` for which `stop` holds (or the end).
fn until(chars: &[(usize, char)], i: usize, stop: impl Fn(char) -> bool) -> usize {
    (i + 1..chars.len())
        .find(|&j| stop(chars[j].1))
        .unwrap_or(chars.len())
}

fn block_comment(chars: &[(usize, char)], i: usize) -> usize {
    (i + 2..chars.len())
        .find(|&j| chars[j].1 == '/' && chars[j - 1].1 == '*' && j > i + 2)
        .map_or(chars.len(), |j| j + 1)
}

/// One past the closing quote (or the end of the line for an open string).
fn string_end(chars: &[(usize, char)], i: usize, quote: char) -> usize {
    let mut j = i + 1;
    while j < chars.len() {
        match chars[j].1 {
            '\\' => j += 2,
            c if c == quote => return j + 1,
            _ => j += 1,
        }
    }
    chars.len()
}

fn slice<'a>(text: &'a str, chars: &[(usize, char)], from: usize, to: usize) -> &'a str {
    let start = chars.get(from).map_or(text.len(), |(i, _)| *i);
    let end = chars.get(to).map_or(text.len(), |(i, _)| *i);
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in text.chars() {
            match c {
                '\x1b' => in_escape = true,
                'm' if in_escape => in_escape = false,
                _ if in_escape => {}
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn colours_without_changing_text() {
        for src in [
            "let s = udp(\"127.0.0.1:0\"); // bind",
            "s.sendto(hex(\"01 02\"), `a\\`b`, 9000) /* x */ 1.5",
            "\"open string \\",
            ":help recvfrom",
            "fn f(x) {\n  x + 1\n}",
            "'c' + \"你好\"",
        ] {
            let painted = line(src);
            assert_eq!(strip(&painted), src);
            assert!(painted.contains('\x1b'), "{src}");
        }
    }

    #[test]
    fn api_names_and_keywords_are_coloured() {
        let painted = line("let d = s.recvfrom(10)");
        assert!(painted.contains("\x1b[1m\x1b[35mlet"), "{painted:?}");
        assert!(painted.contains("\x1b[36mrecvfrom"), "{painted:?}");
    }
}
