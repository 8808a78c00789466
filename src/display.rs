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
    // A scan of the bytes finds every character `needs_escape` could name (the rest of the
    // text is not decoded); only then are the characters looked at.
    if !may_need_escape(text.as_bytes()) || !text.chars().any(&escape) {
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

/// Bytes that start a character [`needs_escape`] may name: C0 controls and DEL, and the
/// lead bytes of C1 controls (C2), U+061C (D8), the U+20xx marks (E2) and the BOM (EF).
const SUSPECT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[0x7f] = true;
    t[0xc2] = true;
    t[0xd8] = true;
    t[0xe2] = true;
    t[0xef] = true;
    t
};

/// Whether UTF-8 `bytes` hold a character that [`needs_escape`] (newline and tab count: the
/// caller's own rule decides on them). False means no character needs a look.
fn may_need_escape(bytes: &[u8]) -> bool {
    // Eight bytes at a time: most words hold none of the suspect bytes at all.
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(w);
        if suspect_in(u64::from_ne_bytes(eight)) && suspect_from(bytes, at, at + 8) {
            return true;
        }
        at += 8;
    }
    suspect_from(bytes, at, bytes.len())
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether a byte of `w` is zero.
const fn zero_in(w: u64) -> bool {
    w.wrapping_sub(ONES) & !w & HIGHS != 0
}

/// Whether a byte of `w` is one of the [`SUSPECT`] bytes (some false alarms are fine).
const fn suspect_in(w: u64) -> bool {
    // Below 0x20: its high three bits are zero.
    zero_in(w & (0xe0 * ONES))
        || zero_in(w ^ (0x7f * ONES))
        || zero_in(w ^ (0xc2 * ONES))
        || zero_in(w ^ (0xd8 * ONES))
        || zero_in(w ^ (0xe2 * ONES))
        || zero_in(w ^ (0xef * ONES))
}

/// Whether a character that may need escaping starts in `bytes[from..to]`.
fn suspect_from(bytes: &[u8], from: usize, to: usize) -> bool {
    (from..to).any(|i| {
        let b = bytes[i];
        if !SUSPECT[usize::from(b)] {
            return false;
        }
        let next = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
        match b {
            0xc2 => (0x80..=0x9f).contains(&next(1)),
            0xd8 => next(1) == 0x9c,
            0xe2 => match (next(1), next(2)) {
                (0x80, c) => matches!(c, 0x8b..=0x8f | 0xa8..=0xae),
                (0x81, c) => matches!(c, 0xa0 | 0xa6..=0xa9),
                _ => false,
            },
            0xef => next(1) == 0xbb && next(2) == 0xbf,
            // C0 controls and DEL (newline and tab too).
            _ => true,
        }
    })
}

/// Controls, line and paragraph separators, bidi embeddings, overrides and isolates
/// (U+202A–U+202E, U+2066–U+2069, and the marks U+200E/F, U+061C), zero-width characters and
/// the BOM: each can make a line read differently from what it holds (a spoofed sender).
pub fn needs_escape(c: char) -> bool {
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

/// `1 byte`, `2 bytes`: a count with its noun.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

static STDOUT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Keeps the first error of a write to stdout (a full disk, `> /dev/full`): what a script
/// printed or the results were lost, so the run must not end as if they were not.
pub fn note_stdout<T>(written: std::io::Result<T>) {
    if let Err(e) = written {
        let _ = STDOUT_ERROR.set(e.to_string());
    }
}

/// The first failed write to stdout, if any.
pub fn stdout_error() -> Option<&'static str> {
    STDOUT_ERROR.get().map(String::as_str)
}

/// `warning: MESSAGE` on stderr, escaped as [`print_error`] does.
pub fn print_warning(message: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "warning: {}",
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

    /// The byte scan misses no character that needs escaping, and names only lead bytes of
    /// characters that might: every character, alone and inside text.
    #[test]
    fn the_byte_scan_finds_every_character_that_needs_escaping() {
        let mut buf = [0u8; 4];
        for code in 0..=0x10ffff_u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let alone = c.encode_utf8(&mut buf);
            if needs_escape(c) {
                assert!(may_need_escape(alone.as_bytes()), "U+{code:04X}");
                let inside = format!("你好{c}é→x");
                assert!(may_need_escape(inside.as_bytes()), "U+{code:04X} inside");
            } else {
                assert!(!may_need_escape(alone.as_bytes()), "U+{code:04X}");
            }
        }
        // At every offset of the eight-byte words.
        for pad in 0..9 {
            let text = format!("{}\u{202e}{}", "a".repeat(pad), "é".repeat(pad));
            assert!(may_need_escape(text.as_bytes()), "{pad}");
            let text = format!("{}x\u{2010}{}", "a".repeat(pad), "\u{e2}".repeat(pad));
            assert!(!may_need_escape(text.as_bytes()), "{pad}");
        }
        // The seed's echo line goes through without a look at its characters.
        let line = "已经将接收到的第12个数据返回给对方,内容为:00000011AAAA…→";
        assert!(!may_need_escape(line.as_bytes()));
        assert!(matches!(terminal_safe(line), Cow::Borrowed(_)));
    }

    #[test]
    fn summarises_payloads() {
        assert_eq!(payload_summary(b"Hello"), "\"Hello\"");
        assert_eq!(payload_summary(&[0x48, 0xff]), "<48 ff>");
        assert_eq!(payload_summary("你好".as_bytes()), "\"你好\"");
        assert_eq!(payload_summary(b"\x1b[2J"), "<1b 5b 32 4a>");
    }
}
