//! Showing untrusted bytes to a person: escaped text, hexdumps. No terminal control
//! sequence from the network ever reaches the terminal raw.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes control characters (ESC, BEL, C1 controls, ...) except newline and tab.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || c == '\u{2028}' || c == '\u{2029}'
}

fn push_escape(out: &mut String, c: char) {
    let code = c as u32;
    if code < 0x80 {
        let _ = write!(out, "\\x{code:02x}");
    } else {
        let _ = write!(out, "\\u{{{code:x}}}");
    }
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
    }

    #[test]
    fn summarises_payloads() {
        assert_eq!(payload_summary(b"Hello"), "\"Hello\"");
        assert_eq!(payload_summary(&[0x48, 0xff]), "<48 ff>");
        assert_eq!(payload_summary("你好".as_bytes()), "\"你好\"");
        assert_eq!(payload_summary(b"\x1b[2J"), "<1b 5b 32 4a>");
    }
}
