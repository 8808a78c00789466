//! `assert`, `assert_eq`, `assert_ne`: failures carry both values, a diff for long text and
//! a hexdump for bytes, so the reader need not rerun anything.

use std::sync::Arc;

use rhai::{Blob, Dynamic, Engine, ImmutableString, Map};

use crate::display;

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, with_fields};
use super::values::{equal, show};

fn failure(message: String, detail: String) -> Box<rhai::EvalAltResult> {
    let mut fields = Map::new();
    if !detail.is_empty() {
        fields.insert("detail".into(), detail.into());
    }
    with_fields(ErrorKind::Assertion, message, fields)
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
    let head = message.map_or("assert_eq failed: values differ".into(), |m| {
        format!("assert_eq failed: {m}")
    });
    Err(failure(head, describe_difference(actual, expected)))
}

fn check_ne(actual: &Dynamic, other: &Dynamic, message: Option<&str>) -> Fallible<()> {
    if !equal(actual, other) {
        return Ok(());
    }
    let head = message.map_or("assert_ne failed: values are equal".into(), |m| {
        format!("assert_ne failed: {m}")
    });
    Err(failure(head, format!("both: {}", show(actual))))
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

fn bytes_diff(actual: &[u8], expected: &[u8]) -> String {
    let first = actual
        .iter()
        .zip(expected)
        .position(|(a, e)| a != e)
        .unwrap_or(actual.len().min(expected.len()));
    format!(
        "blobs differ at byte {first} (actual {} bytes, expected {} bytes)\nactual:\n{}\nexpected:\n{}",
        actual.len(),
        expected.len(),
        display::hexdump(actual).trim_end(),
        display::hexdump(expected).trim_end()
    )
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
}
