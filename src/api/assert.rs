//! `assert`, `assert_eq`, `assert_ne`, `assert_contains`, `assert_match`, `assert_approx`.
//! A failure's `message` is one line that says what was expected and what came (it is the
//! message of the JUnit/TAP/JSON record); its `detail` has the long rendering: a line diff
//! for text, a few hexdump lines around the first differing byte for blobs.

use std::sync::Arc;

use rhai::{Array, Blob, Dynamic, Engine, ImmutableString, Map};

use crate::display;

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error, with_fields};
use super::values::{equal, show};

/// A summary longer than this is cut (with an ellipsis); the detail keeps everything.
const SUMMARY: usize = 200;

fn failure(message: String, detail: String) -> Box<rhai::EvalAltResult> {
    let mut fields = Map::new();
    if !detail.is_empty() {
        fields.insert("detail".into(), detail.into());
    }
    with_fields(ErrorKind::Assertion, shorten(&message, SUMMARY), fields)
}

/// `text` cut to about `max` characters, ending in `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let line = text.replace('\n', "\\n");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// `assert_eq failed` or `assert_eq failed: {message}`.
fn head(name: &str, message: Option<&str>) -> String {
    match message {
        Some(m) => format!("{name} failed: {m}:"),
        None => format!("{name} failed:"),
    }
}

fn check(cond: bool, message: Option<&str>) -> Fallible<()> {
    if cond {
        return Ok(());
    }
    Err(failure(
        message.map_or("assertion failed".into(), |m| {
            format!("assertion failed: {m}")
        }),
        String::new(),
    ))
}

fn check_eq(actual: &Dynamic, expected: &Dynamic, message: Option<&str>) -> Fallible<()> {
    if equal(actual, expected) {
        return Ok(());
    }
    let summary = format!(
        "{} {}",
        head("assert_eq", message),
        summarize(actual, expected)
    );
    Err(failure(summary, describe_difference(actual, expected)))
}

fn check_ne(actual: &Dynamic, other: &Dynamic, message: Option<&str>) -> Fallible<()> {
    if !equal(actual, other) {
        return Ok(());
    }
    let summary = format!(
        "{} expected a value other than {}",
        head("assert_ne", message),
        short(other)
    );
    Err(failure(summary, format!("both: {}", show(actual))))
}

/// A value for the one-line summary: at most about 90 characters.
fn short(v: &Dynamic) -> String {
    shorten(&show(v), 90)
}

/// `expected "10.1.2.4", got "10.1.2.3"`; for blobs, where and how they differ.
fn summarize(actual: &Dynamic, expected: &Dynamic) -> String {
    if let (Some(a), Some(e)) = (actual.read_lock::<Blob>(), expected.read_lock::<Blob>()) {
        let at = first_difference(&a, &e);
        let byte = |b: &[u8]| {
            b.get(at)
                .map_or("the end".to_string(), |x| format!("{x:02x}"))
        };
        let lengths = if a.len() == e.len() {
            format!("both {} bytes", a.len())
        } else {
            format!("expected {} bytes, got {}", e.len(), a.len())
        };
        return format!(
            "blobs differ at byte {at}: expected {}, got {} ({lengths})",
            byte(&e),
            byte(&a)
        );
    }
    format!("expected {}, got {}", short(expected), short(actual))
}

/// Both values, in the form that makes their difference easiest to see.
pub fn describe_difference(actual: &Dynamic, expected: &Dynamic) -> String {
    if let (Some(a), Some(e)) = (text(actual), text(expected))
        && (a.contains('\n') || e.contains('\n') || a.len() > 60 || e.len() > 60)
    {
        return text_diff(&a, &e);
    }
    if let (Some(a), Some(e)) = (actual.read_lock::<Blob>(), expected.read_lock::<Blob>()) {
        return bytes_diff(&a, &e);
    }
    format!("  actual: {}\nexpected: {}", show(actual), show(expected))
}

fn text(v: &Dynamic) -> Option<String> {
    v.read_lock::<ImmutableString>().map(|s| s.to_string())
}

fn text_diff(actual: &str, expected: &str) -> String {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let mut out = String::from("--- expected\n+++ actual\n");
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        let line = change.value().trim_end_matches('\n');
        out.push(sign);
        out.push_str(&display::terminal_safe(line));
        out.push('\n');
    }
    out
}

fn first_difference(actual: &[u8], expected: &[u8]) -> usize {
    actual
        .iter()
        .zip(expected)
        .position(|(a, e)| a != e)
        .unwrap_or(actual.len().min(expected.len()))
}

/// Hexdump lines shown on each side of the one with the first difference.
const CONTEXT_LINES: usize = 1;
const ROW: usize = 16;

/// The rows of `bytes` around offset `at`, with their real offsets.
fn rows_around(bytes: &[u8], at: usize) -> String {
    let row = at / ROW;
    let from = row.saturating_sub(CONTEXT_LINES) * ROW;
    let to = ((row + CONTEXT_LINES + 1) * ROW).min(bytes.len());
    if from >= to {
        return format!("    (ends at byte {})", bytes.len());
    }
    let cfg = pretty_hex::HexConfig {
        title: false,
        width: ROW,
        group: 8,
        display_offset: from,
        ..pretty_hex::HexConfig::default()
    };
    let mut out = String::new();
    if from > 0 {
        out.push_str("…\n");
    }
    out.push_str(pretty_hex::config_hex(&&bytes[from..to], cfg).trim_end());
    if to < bytes.len() {
        out.push_str("\n…");
    }
    out
}

fn bytes_diff(actual: &[u8], expected: &[u8]) -> String {
    let first = first_difference(actual, expected);
    format!(
        "blobs differ at byte {first} (actual {} bytes, expected {} bytes)\nactual:\n{}\nexpected:\n{}",
        actual.len(),
        expected.len(),
        rows_around(actual, first),
        rows_around(expected, first)
    )
}

fn bytes_of(v: &Dynamic) -> Option<Vec<u8>> {
    if let Some(b) = v.read_lock::<Blob>() {
        return Some(b.to_vec());
    }
    v.read_lock::<ImmutableString>()
        .map(|s| s.as_bytes().to_vec())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &Dynamic, needle: &Dynamic) -> Fallible<bool> {
    if let Some(items) = haystack.read_lock::<Array>() {
        return Ok(items.iter().any(|item| equal(item, needle)));
    }
    if let Some(map) = haystack.read_lock::<Map>() {
        let key = needle.to_string();
        return Ok(map.contains_key(key.as_str()));
    }
    if let (Some(h), Some(n)) = (text(haystack), text(needle)) {
        return Ok(h.contains(&n));
    }
    if haystack.is_blob() {
        let (Some(h), Some(n)) = (bytes_of(haystack), bytes_of(needle)) else {
            return Err(script_error(
                ErrorKind::Value,
                format!(
                    "assert_contains: a blob holds bytes; look for a blob or a string, not {}",
                    super::forms::value_word(needle)
                ),
            ));
        };
        return Ok(find(&h, &n).is_some());
    }
    Err(script_error(
        ErrorKind::Value,
        format!(
            "assert_contains: cannot look inside {} (a string, blob, array or map)",
            super::forms::value_word(haystack)
        ),
    ))
}

fn check_contains(haystack: &Dynamic, needle: &Dynamic, message: Option<&str>) -> Fallible<()> {
    if contains(haystack, needle)? {
        return Ok(());
    }
    let summary = format!(
        "{} {} does not contain {}",
        head("assert_contains", message),
        short(haystack),
        short(needle)
    );
    let detail = match haystack.read_lock::<Blob>() {
        Some(b) => format!(
            "needle: {}\nhaystack:\n{}",
            show(needle),
            rows_around(&b, 0)
        ),
        None => format!("needle: {}\nhaystack: {}", show(needle), show(haystack)),
    };
    Err(failure(summary, detail))
}

fn check_match(text: &str, pattern: &str, message: Option<&str>) -> Fallible<()> {
    let re = regex::Regex::new(pattern).map_err(|e| {
        script_error(
            ErrorKind::Value,
            format!("assert_match: bad regex /{pattern}/: {e}"),
        )
    })?;
    if re.is_match(text) {
        return Ok(());
    }
    let summary = format!(
        "{} {} does not match /{pattern}/",
        head("assert_match", message),
        shorten(&display::quoted(text), 90)
    );
    Err(failure(summary, format!("text: {}", display::quoted(text))))
}

fn number(v: &Dynamic, what: &str) -> Fallible<f64> {
    v.as_float()
        .or_else(|_| v.as_int().map(|i| i as f64))
        .map_err(|t| {
            script_error(
                ErrorKind::Value,
                format!("assert_approx: {what} must be a number, not {t}"),
            )
        })
}

fn check_approx(
    actual: &Dynamic,
    expected: &Dynamic,
    tolerance: &Dynamic,
    message: Option<&str>,
) -> Fallible<()> {
    let (a, e, t) = (
        number(actual, "actual")?,
        number(expected, "expected")?,
        number(tolerance, "tolerance")?,
    );
    if t.is_nan() || t < 0.0 {
        return Err(script_error(
            ErrorKind::Value,
            format!("assert_approx: tolerance must be 0 or more, not {t}"),
        ));
    }
    if (a - e).abs() <= t {
        return Ok(());
    }
    let summary = format!(
        "{} expected {e} ± {t}, got {a} (off by {})",
        head("assert_approx", message),
        (a - e).abs()
    );
    Err(failure(summary, String::new()))
}

pub fn register(engine: &mut Engine, _ctx: &Arc<ScriptCtx>) {
    engine.register_fn("assert", |c: bool| check(c, None));
    engine.register_fn("assert", |c: bool, m: &str| check(c, Some(m)));
    engine.register_fn("assert_eq", |a: Dynamic, e: Dynamic| check_eq(&a, &e, None));
    engine.register_fn("assert_eq", |a: Dynamic, e: Dynamic, m: &str| {
        check_eq(&a, &e, Some(m))
    });
    engine.register_fn("assert_ne", |a: Dynamic, e: Dynamic| check_ne(&a, &e, None));
    engine.register_fn("assert_ne", |a: Dynamic, e: Dynamic, m: &str| {
        check_ne(&a, &e, Some(m))
    });
    engine.register_fn("assert_contains", |h: Dynamic, n: Dynamic| {
        check_contains(&h, &n, None)
    });
    engine.register_fn("assert_contains", |h: Dynamic, n: Dynamic, m: &str| {
        check_contains(&h, &n, Some(m))
    });
    engine.register_fn("assert_match", |t: &str, p: &str| check_match(t, p, None));
    engine.register_fn("assert_match", |t: &str, p: &str, m: &str| {
        check_match(t, p, Some(m))
    });
    engine.register_fn("assert_approx", |a: Dynamic, e: Dynamic, t: Dynamic| {
        check_approx(&a, &e, &t, None)
    });
    engine.register_fn(
        "assert_approx",
        |a: Dynamic, e: Dynamic, t: Dynamic, m: &str| check_approx(&a, &e, &t, Some(m)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Fallible<()>) -> (String, String) {
        let e = r.expect_err("should fail");
        let rhai::EvalAltResult::ErrorRuntime(v, _) = *e else {
            panic!("not a runtime error")
        };
        let map = v.cast::<Map>();
        let detail = map.get("detail").map_or(String::new(), |d| d.to_string());
        (map["message"].to_string(), detail)
    }

    #[test]
    fn summary_says_expected_and_got() {
        let (m, _) = message(check_eq(&"10.1.2.3".into(), &"10.1.2.4".into(), None));
        assert_eq!(
            m,
            "assert_eq failed: expected \"10.1.2.4\", got \"10.1.2.3\""
        );
        let long: Dynamic = "x".repeat(500).into();
        let (m, d) = message(check_eq(&long, &"y".into(), None));
        assert!(m.chars().count() <= SUMMARY && m.ends_with('…'), "{m}");
        assert!(d.contains(&"x".repeat(500)));
    }

    #[test]
    fn a_big_blob_shows_only_rows_around_the_difference() {
        let a = vec![0u8; 60_000];
        let mut e = a.clone();
        e[30_000] = 1;
        let (m, d) = message(check_eq(
            &Dynamic::from_blob(a),
            &Dynamic::from_blob(e),
            None,
        ));
        assert_eq!(
            m,
            "assert_eq failed: blobs differ at byte 30000: expected 01, got 00 (both 60000 bytes)"
        );
        assert!(d.lines().count() <= 13, "{d}");
        assert!(d.contains("7530:"), "{d}");
    }

    #[test]
    fn contains_match_approx() {
        assert!(check_contains(&"hello world".into(), &"lo w".into(), None).is_ok());
        let blob = Dynamic::from_blob(b"\x00\x01abc".to_vec());
        assert!(check_contains(&blob, &"abc".into(), None).is_ok());
        assert!(check_contains(&blob, &Dynamic::from_blob(vec![1, 0x61]), None).is_ok());
        let (m, _) = message(check_contains(&blob, &"abd".into(), None));
        assert!(m.starts_with("assert_contains failed: blob[5]"), "{m}");
        let arr = Dynamic::from_array(vec![1.into(), "a".into()]);
        assert!(check_contains(&arr, &"a".into(), None).is_ok());
        assert!(check_contains(&arr, &2.into(), None).is_err());
        assert!(check_match("NOERROR", "^NO[A-Z]+$", None).is_ok());
        assert!(check_match("x", "(", None).is_err());
        let (m, _) = message(check_approx(&1.5.into(), &1.0.into(), &0.1.into(), None));
        assert_eq!(
            m,
            "assert_approx failed: expected 1 ± 0.1, got 1.5 (off by 0.5)"
        );
        assert!(check_approx(&1.05.into(), &1.into(), &0.1.into(), None).is_ok());
    }
}
