//! Showing untrusted bytes to a person: escaped text, hexdumps. No terminal control
//! sequence from the network, a file or a file name ever reaches the terminal raw:
//! [`terminal_safe`] (text of many lines) and [`one_line`] (names, report fields) are the
//! only ways such text is shown, on terminals and in reports alike.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes control characters (ESC, BEL, C1 controls, ...) except newline and tab, and the
/// invisible characters that reorder or hide text (bidi overrides, zero-width, BOM).
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| needs_escape(c) && c != '\n' && c != '\t')
}

/// Like [`terminal_safe`], and newlines and tabs too: for a name or field that must stay on
/// its line, so a file name cannot forge a result line.
pub fn one_line(text: &str) -> Cow<'_, str> {
    escape_where(text, needs_escape)
}

fn escape_where(text: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    // Printable ASCII needs no look at its characters.
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) || !text.chars().any(&escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' if escape(c) => out.push_str("\\n"),
            '\t' if escape(c) => out.push_str("\\t"),
            c if escape(c) => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Controls, line and paragraph separators, bidi embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069, and the marks U+200E/F, U+061C), zero-width characters and
/// the BOM: each can make a line read differently from what it holds (a spoofed sender).
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2060}'
                | '\u{061c}'
                | '\u{feff}'
        )
}

fn push_escape(out: &mut String, c: char) {
    let code = c as u32;
    if code < 0x80 {
        let _ = write!(out, "\\x{code:02x}");
    } else {
        let _ = write!(out, "\\u{{{code:x}}}");
    }
}

/// `error: MESSAGE` on stderr, the message escaped (it names files and quotes input).
pub fn print_error(message: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "error: {}",
        one_line(&message.to_string())
    );
}

/// The bytes as text when they are UTF-8 meant for people, else `None`.
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    printable.then_some(text)
}

/// A one-line description of a payload: `"Hello"` (escaped, quoted) or `48 65 ff …`.
pub fn payload_summary(bytes: &[u8]) -> String {
    match as_text(bytes) {
        Some(text) => quoted(text),
        None => {
            const SHOWN: usize = 16;
            let mut hex = spaced_hex(&bytes[..bytes.len().min(SHOWN)]);
            if bytes.len() > SHOWN {
                hex.push_str(" …");
            }
            format!("<{hex}>")
        }
    }
}

/// A string in double quotes with escapes, like Rust's debug form but keeping non-ASCII.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => push_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn spaced_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A classic offset / hex / ASCII dump.
pub fn hexdump(bytes: &[u8]) -> String {
    let cfg = pretty_hex::HexConfig {
        title: false,
        width: 16,
        group: 8,
        ..pretty_hex::HexConfig::default()
    };
    pretty_hex::config_hex(&bytes, cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(terminal_safe("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(terminal_safe("\x07\u{9b}"), "\\x07\\u{9b}");
        assert_eq!(terminal_safe("你好\n"), "你好\n");
        assert_eq!(terminal_safe("a\tb\n"), "a\tb\n");
    }

    #[test]
    fn escapes_what_reorders_or_hides_text() {
        assert_eq!(terminal_safe("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(terminal_safe("\u{2067}x\u{2069}"), "\\u{2067}x\\u{2069}");
        assert_eq!(terminal_safe("a\u{200b}b\u{feff}"), "a\\u{200b}b\\u{feff}");
        assert_eq!(terminal_safe("RED\x7f"), "RED\\x7f");
    }

    #[test]
    fn one_line_keeps_a_name_on_its_line() {
        assert_eq!(
            one_line("a.rhai\nok forged.rhai"),
            "a.rhai\\nok forged.rhai"
        );
        assert_eq!(one_line("t\tab\x1b[31m"), "t\\tab\\x1b[31m");
        assert_eq!(one_line("你好.rhai"), "你好.rhai");
    }

    #[test]
    fn summarises_payloads() {
        assert_eq!(payload_summary(b"Hello"), "\"Hello\"");
        assert_eq!(payload_summary(&[0x48, 0xff]), "<48 ff>");
        assert_eq!(payload_summary("你好".as_bytes()), "\"你好\"");
        assert_eq!(payload_summary(b"\x1b[2J"), "<1b 5b 32 4a>");
    }
}
