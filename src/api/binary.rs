//! `pack`, `unpack`, `unpack_from`, `calcsize` and `layout(...)`: the Rhai side of
//! [`crate::binary`]. Every error is kind `value` and says what was expected.
//!
//! | name | signature | summary |
//! | --- | --- | --- |
//! | pack | `pack(fmt, v1, v2, ...)` / `pack(fmt, [values])` → blob | Python struct codes, network order by default |
//! | unpack | `unpack(fmt, blob)` / `blob.unpack(fmt)` → array | exact length |
//! | unpack_from | `unpack_from(fmt, blob, offset)` / `blob.unpack_from(fmt, offset)` → array | longer blob allowed |
//! | calcsize | `calcsize(fmt)` → int | bytes a format takes |
//! | layout | `layout("!H type, I seq, 2x, 8s tag")` → layout | named fields: `.pack(map)`, `.unpack(blob)`, `.size` |

use std::any::TypeId;
use std::collections::HashMap;

use rhai::{Array, Blob, Dynamic, Engine, ImmutableString, Map};

use crate::binary::{Format, Layout, Value, layout::REST};

use super::error::{ErrorKind, Fallible, script_error};

/// Most values `pack(fmt, v1, v2, ...)` takes as separate arguments; more go in an array.
const MAX_ARGS: usize = 19;

fn value_error(e: impl std::fmt::Display) -> Box<rhai::EvalAltResult> {
    script_error(ErrorKind::Value, e.to_string())
}

fn format(text: &str) -> Fallible<Format> {
    Format::parse(text).map_err(value_error)
}

/// A script value as bytes-or-number for packing.
pub fn to_value(v: &Dynamic, what: &dyn Fn() -> String) -> Fallible<Value> {
    if let Ok(i) = v.as_int() {
        return Ok(Value::Int(i));
    }
    if let Ok(f) = v.as_float() {
        return Ok(Value::Float(f));
    }
    if let Ok(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(c) = v.as_char() {
        return Ok(Value::Bytes(c.to_string().into_bytes()));
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Ok(Value::Bytes(s.as_bytes().to_vec()));
    }
    if let Some(b) = v.read_lock::<Blob>() {
        return Ok(Value::Bytes(b.to_vec()));
    }
    Err(script_error(
        ErrorKind::Value,
        format!(
            "{}: a {} cannot be packed",
            what(),
            super::forms::value_word(v)
        ),
    ))
}

pub fn from_value(v: Value) -> Dynamic {
    match v {
        Value::Int(i) => i.into(),
        Value::Float(f) => f.into(),
        Value::Bool(b) => b.into(),
        Value::Bytes(b) => Dynamic::from_blob(b),
    }
}

fn pack(fmt: &str, args: &[Dynamic]) -> Fallible<Blob> {
    let f = format(fmt)?;
    let array;
    let args = match args {
        [one] if one.is_array() => {
            array = one.clone().into_array().unwrap_or_default();
            &array[..]
        }
        _ => args,
    };
    let values = args
        .iter()
        .enumerate()
        .map(|(i, v)| to_value(v, &|| format!("pack(\"{fmt}\"): value {}", i + 1)))
        .collect::<Fallible<Vec<_>>>()?;
    f.pack(&values).map_err(value_error)
}

fn to_array(values: Vec<Value>) -> Array {
    values.into_iter().map(from_value).collect()
}

fn unpack(fmt: &str, data: &[u8]) -> Fallible<Array> {
    format(fmt)?.unpack(data).map(to_array).map_err(value_error)
}

fn unpack_from(fmt: &str, data: &[u8], offset: i64) -> Fallible<Array> {
    let offset = usize::try_from(offset).map_err(|_| {
        script_error(
            ErrorKind::Value,
            format!("unpack_from(\"{fmt}\"): offset {offset} is negative"),
        )
    })?;
    format(fmt)?
        .unpack_from(data, offset)
        .map(to_array)
        .map_err(value_error)
}

/// A layout made with `layout("...")`, shown to scripts as type `layout`.
#[derive(Clone, Debug)]
pub struct ScriptLayout(pub std::sync::Arc<Layout>);

fn layout_pack(l: &Layout, map: &Map) -> Fallible<Blob> {
    let mut given: HashMap<&str, Vec<Value>> = HashMap::new();
    for (key, v) in map {
        let what = || format!("layout field '{key}'");
        let many = l
            .fields
            .iter()
            .any(|f| f.many && f.name.as_deref() == Some(key.as_str()));
        let values = match v.read_lock::<Array>() {
            Some(items) if many => items
                .iter()
                .map(|i| to_value(i, &what))
                .collect::<Fallible<Vec<_>>>()?,
            _ => vec![to_value(v, &what)?],
        };
        given.insert(key.as_str(), values);
    }
    l.pack(map.keys().map(|k| k.as_str()), |name| {
        given.get(name).cloned()
    })
    .map_err(value_error)
}

fn layout_unpack(l: &Layout, data: &[u8], offset: usize) -> Fallible<Map> {
    let data = data.get(offset..).ok_or_else(|| {
        script_error(
            ErrorKind::Value,
            format!(
                "offset {offset} is past the end of a {}-byte blob",
                data.len()
            ),
        )
    })?;
    let (fields, rest) = l.unpack(data).map_err(value_error)?;
    let mut map = Map::new();
    for (name, field, mut values) in fields {
        let value = if field.many || values.len() != 1 {
            Dynamic::from_array(to_array(values))
        } else {
            values.pop().map_or(Dynamic::UNIT, from_value)
        };
        map.insert(name.into(), value);
    }
    map.insert(REST.into(), Dynamic::from_blob(rest));
    Ok(map)
}

/// Bytes of a blob or a string argument.
fn bytes_of(v: &Dynamic, what: &str) -> Fallible<Vec<u8>> {
    if let Some(b) = v.read_lock::<Blob>() {
        return Ok(b.to_vec());
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return Ok(s.as_bytes().to_vec());
    }
    Err(script_error(
        ErrorKind::Value,
        format!(
            "{what} takes a blob or a string, not {}",
            super::forms::value_word(v)
        ),
    ))
}

pub fn register(engine: &mut Engine) {
    for n in 0..=MAX_ARGS {
        let mut types = vec![TypeId::of::<ImmutableString>()];
        types.extend(std::iter::repeat_n(TypeId::of::<Dynamic>(), n));
        engine.register_raw_fn("pack", types, |_, args| {
            let fmt = args[0].clone().into_immutable_string().unwrap_or_default();
            let values: Vec<Dynamic> = args[1..].iter().map(|a| (**a).clone()).collect();
            pack(&fmt, &values)
        });
    }
    engine.register_fn("calcsize", |fmt: &str| -> Fallible<i64> {
        Ok(format(fmt)?.size() as i64)
    });
    engine.register_fn("unpack", |fmt: &str, data: Dynamic| {
        unpack(fmt, &bytes_of(&data, "unpack")?)
    });
    engine.register_fn("unpack", |data: &mut Blob, fmt: &str| unpack(fmt, data));
    engine.register_fn("unpack_from", |fmt: &str, data: Dynamic| {
        unpack_from(fmt, &bytes_of(&data, "unpack_from")?, 0)
    });
    engine.register_fn("unpack_from", |fmt: &str, data: Dynamic, offset: i64| {
        unpack_from(fmt, &bytes_of(&data, "unpack_from")?, offset)
    });
    engine.register_fn("unpack_from", |data: &mut Blob, fmt: &str, offset: i64| {
        unpack_from(fmt, data, offset)
    });
    engine.register_fn("unpack_from", |data: &mut Blob, fmt: &str| {
        unpack_from(fmt, data, 0)
    });

    engine.register_type_with_name::<ScriptLayout>("layout");
    engine.register_fn("layout", |text: &str| -> Fallible<ScriptLayout> {
        Ok(ScriptLayout(
            Layout::parse(text).map_err(value_error)?.into(),
        ))
    });
    engine.register_fn("pack", |l: &mut ScriptLayout, map: Map| {
        layout_pack(&l.0, &map)
    });
    engine.register_fn("unpack", |l: &mut ScriptLayout, data: Dynamic| {
        layout_unpack(&l.0, &bytes_of(&data, "layout.unpack")?, 0)
    });
    engine.register_fn(
        "unpack_from",
        |l: &mut ScriptLayout, data: Dynamic, offset: i64| {
            let offset = usize::try_from(offset).map_err(|_| {
                script_error(ErrorKind::Value, format!("offset {offset} is negative"))
            })?;
            layout_unpack(&l.0, &bytes_of(&data, "layout.unpack_from")?, offset)
        },
    );
    engine.register_get("size", |l: &mut ScriptLayout| l.0.size() as i64);
    engine.register_get("fields", |l: &mut ScriptLayout| -> Array {
        l.0.names().map(|n| Dynamic::from(n.to_string())).collect()
    });
    engine.register_fn("to_string", |l: &mut ScriptLayout| {
        format!("layout(\"{}\")", l.0.text)
    });
    engine.register_fn("to_debug", |l: &mut ScriptLayout| {
        format!("layout(\"{}\")", l.0.text)
    });
}
