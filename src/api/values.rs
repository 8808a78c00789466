//! Conversions and comparisons of script values shared by the API functions.

use std::time::Duration;

use rhai::{Blob, Dynamic, Engine, ImmutableString, Map};

use crate::display;

use super::datagram::Datagram;
use super::error::{ErrorKind, Fallible, script_error};

/// Calls `f` with the bytes to send: a string as UTF-8, a blob as is (no copy).
pub fn with_payload<R>(data: &Dynamic, f: impl FnOnce(&[u8]) -> Fallible<R>) -> Fallible<R> {
    if let Some(b) = data.read_lock::<Blob>() {
        return f(&b);
    }
    if let Some(s) = data.read_lock::<ImmutableString>() {
        return f(s.as_bytes());
    }
    Err(script_error(
        ErrorKind::Value,
        format!(
            "data to send must be a string or a blob, not {}",
            super::forms::value_word(data)
        ),
    ))
}

/// A number of seconds from a script: finite and not negative (kind `value` otherwise).
/// Waits too long for the clock (`1e19`) are kept as "never".
pub fn seconds(secs: f64, what: &str) -> Fallible<Duration> {
    if secs.is_infinite() {
        return Err(not_seconds(secs, what));
    }
    crate::seconds::wait(secs).map_err(|_| not_seconds(secs, what))
}

fn not_seconds(secs: f64, what: &str) -> Box<rhai::EvalAltResult> {
    script_error(
        ErrorKind::Value,
        format!("{what}({secs:?}): not a number of seconds (0 or more)"),
    )
}

pub fn int(value: &Dynamic, name: &str) -> Fallible<i64> {
    value.as_int().map_err(|t| {
        script_error(
            ErrorKind::Value,
            format!(
                "{name} must be an integer, not {}",
                super::forms::type_word(t)
            ),
        )
    })
}

pub fn float(value: &Dynamic, name: &str) -> Fallible<f64> {
    value
        .as_float()
        .or_else(|_| value.as_int().map(|i| i as f64))
        .map_err(|t| {
            script_error(
                ErrorKind::Value,
                format!(
                    "{name} must be a number, not {}",
                    super::forms::type_word(t)
                ),
            )
        })
}

/// Bytes of a string or blob, for comparing one with the other.
fn bytes(value: &Dynamic) -> Option<Vec<u8>> {
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return Some(s.as_bytes().to_vec());
    }
    value.read_lock::<Blob>().map(|b| b.to_vec())
}

/// Equality as a person means it: 1 == 1.0, a blob equals the string of its bytes.
pub fn equal(a: &Dynamic, b: &Dynamic) -> bool {
    if let (Ok(x), Ok(y)) = (number(a), number(b)) {
        return x == y;
    }
    if a.is_array() && b.is_array() {
        let (Some(x), Some(y)) = (a.read_lock::<rhai::Array>(), b.read_lock::<rhai::Array>())
        else {
            return false;
        };
        return x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| equal(p, q));
    }
    if a.is_map() && b.is_map() {
        let (Some(x), Some(y)) = (a.read_lock::<Map>(), b.read_lock::<Map>()) else {
            return false;
        };
        return x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)));
    }
    if let (Some(x), Some(y)) = (bytes(a), bytes(b)) {
        return x == y;
    }
    if a.type_name() != b.type_name() {
        return false;
    }
    if a.is_unit() || a.is_bool() || a.is_char() {
        return a.to_string() == b.to_string();
    }
    if let (Some(x), Some(y)) = (a.read_lock::<Datagram>(), b.read_lock::<Datagram>()) {
        return x.data == y.data && x.from == y.from;
    }
    format!("{a:?}") == format!("{b:?}")
}

fn number(v: &Dynamic) -> Result<f64, ()> {
    if let Ok(i) = v.as_int() {
        return Ok(i as f64);
    }
    v.as_float().map_err(|_| ())
}

/// A value as a person reads it in a failure: strings quoted, blobs as hex.
pub fn show(value: &Dynamic) -> String {
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return display::quoted(&s);
    }
    if let Some(b) = value.read_lock::<Blob>() {
        return format!(
            "blob[{}] <{}>",
            b.len(),
            display::spaced_hex(&b[..b.len().min(32)])
        ) + if b.len() > 32 { " …" } else { "" };
    }
    display::terminal_safe(&value.to_string()).into_owned()
}

pub fn register(engine: &mut Engine) {
    engine.register_fn("hexdump", |b: &mut Blob| display::hexdump(b));
    engine.register_fn("hexdump", |s: &str| display::hexdump(s.as_bytes()));
}

/// Refuses keys an options map does not have, naming the ones it has (a typo like
/// `timout` must not be ignored).
pub fn check_keys(opts: &Map, what: &str, valid: &[&str]) -> Fallible<()> {
    if let Some(key) = opts.keys().find(|k| !valid.contains(&k.as_str())) {
        return Err(script_error(
            ErrorKind::Value,
            format!("{what} has no option '{key}' (it has {})", valid.join(", ")),
        ));
    }
    Ok(())
}
