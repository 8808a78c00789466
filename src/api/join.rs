//! `["a", "b"].join(",")`, as Python's `",".join(...)`: an array of strings joins into a
//! string; with a blob among the items (or as the separator) into a blob, the strings as
//! their UTF-8 bytes, so no byte is decoded lossily.

use rhai::{Array, Blob, Dynamic, Engine, ImmutableString};

use super::error::{ErrorKind, Fallible, script_error};

/// One item's bytes, or an error naming it.
fn item_bytes(i: usize, v: &Dynamic) -> Fallible<Vec<u8>> {
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Ok(s.as_bytes().to_vec());
    }
    if let Some(b) = v.read_lock::<Blob>() {
        return Ok(b.to_vec());
    }
    Err(script_error(
        ErrorKind::Value,
        format!(
            "join: item {i} ({}) is not a string or a blob; turn it into text first: a.map(|x| x.to_string()).join(sep)",
            super::forms::value_word(v)
        ),
    ))
}

fn join(items: &Array, sep: &[u8], sep_is_blob: bool) -> Fallible<Dynamic> {
    let mut out = Vec::new();
    let mut any_blob = sep_is_blob;
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        any_blob |= v.is_blob();
        out.extend(item_bytes(i, v)?);
    }
    if any_blob {
        return Ok(Dynamic::from_blob(out));
    }
    // Only strings and a string separator: UTF-8 throughout.
    Ok(String::from_utf8(out).unwrap_or_default().into())
}

pub fn register(engine: &mut Engine) {
    engine.register_fn("join", |a: &mut Array, sep: ImmutableString| {
        join(a, sep.as_bytes(), false)
    });
    engine.register_fn("join", |a: &mut Array, sep: Blob| join(a, &sep, true));
}
