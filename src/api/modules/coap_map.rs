//! CoAP messages as the maps scripts read (`coap::parse`, each reply), and the shape of a
//! request from the options map scripts give (`type`, `token`, `options`, `block`).

use rhai::{Array, Dynamic, Map};

use super::{map, value_error};
use crate::api::error::Fallible;
use crate::api::values::with_payload;
use crate::protocols::coap;

/// The options RFC 7252 lets a message repeat: always arrays, however many came, so
/// `r.options["Uri-Path"][0]` is the first segment even of a one-segment path.
const REPEATABLE: &[&str] = &[
    "If-Match",
    "ETag",
    "Location-Path",
    "Uri-Path",
    "Uri-Query",
    "Location-Query",
];

/// Options by name; a repeatable one is an array, and so is any other that came twice.
fn options(msg: &coap::Message) -> Map {
    let mut options = Map::new();
    for name in REPEATABLE {
        if msg.options.iter().any(|(n, _)| n == name) {
            options.insert((*name).into(), Dynamic::from_array(Vec::new()));
        }
    }
    for (name, value) in &msg.options {
        let v: Dynamic = match value {
            coap::OptionValue::Int(i) => i64::try_from(*i).unwrap_or(i64::MAX).into(),
            coap::OptionValue::Text(t) => t.clone().into(),
            coap::OptionValue::Bytes(b) => Dynamic::from_blob(b.clone()),
        };
        match options.get_mut(name.as_str()) {
            Some(existing) if existing.is_array() => {
                if let Some(mut a) = existing.write_lock::<Array>() {
                    a.push(v);
                }
            }
            Some(existing) => {
                let first = existing.clone();
                *existing = Dynamic::from_array(vec![first, v]);
            }
            None => {
                options.insert(name.as_str().into(), v);
            }
        }
    }
    options
}

pub fn message(msg: &coap::Message) -> Map {
    map(vec![
        ("version", i64::from(msg.version).into()),
        ("type", msg.mtype.clone().into()),
        ("code", msg.code.clone().into()),
        ("mid", i64::from(msg.mid).into()),
        ("token", Dynamic::from_blob(msg.token.clone())),
        ("options", options(msg).into()),
        ("payload", Dynamic::from_blob(msg.payload.clone())),
    ])
}

/// How a script shapes its requests, from the options map of `coap::request` and
/// `coap::ask`: `type` ("CON", "NON"), `token` (blob; 0 to 8 bytes), `options` (by name:
/// an integer, a string, a blob, or true for an empty one) and `block` (16 to 1024: the
/// block size, asked for early in Block2 and used for Block1).
#[derive(Clone, Debug)]
pub struct Shape {
    pub confirmable: bool,
    pub token: Option<Vec<u8>>,
    pub options: Vec<(u16, Vec<u8>)>,
    pub block: Option<u8>,
}

pub const SHAPE_KEYS: &[&str] = &["type", "token", "options", "block"];

fn option_value(name: &str, v: &Dynamic) -> Fallible<Vec<u8>> {
    if let Ok(n) = v.as_int() {
        return u64::try_from(n)
            .map(coap::uint_bytes)
            .map_err(|_| value_error(format!("coap: option {name} cannot be negative")));
    }
    if v.as_bool() == Ok(true) || v.is_unit() {
        return Ok(Vec::new());
    }
    with_payload(v, |b| Ok(b.to_vec()))
}

pub fn shape(o: &Map) -> Fallible<Shape> {
    let confirmable = match o.get("type").map(|t| t.to_string().to_ascii_uppercase()) {
        None => true,
        Some(t) if t == "CON" => true,
        Some(t) if t == "NON" => false,
        Some(t) => {
            return Err(value_error(format!(
                "coap: type '{t}' is not a request type (\"CON\" or \"NON\")"
            )));
        }
    };
    let token = o
        .get("token")
        .map(|t| with_payload(t, |b| Ok(b.to_vec())))
        .transpose()?;
    let mut options = Vec::new();
    if let Some(opts) = o.get("options") {
        let opts = opts.read_lock::<Map>().ok_or_else(|| {
            value_error("coap: options is a map of option names to values, #{Accept: 0}".into())
        })?;
        for (name, v) in opts.iter() {
            let number = coap::option_number(name).ok_or_else(|| {
                value_error(format!(
                    "coap: '{name}' is not a CoAP option udpsh knows; write OptionN for number N"
                ))
            })?;
            options.push((number, option_value(name, v)?));
        }
    }
    let block = match o.get("block") {
        None => None,
        Some(v) => {
            let size = v.as_int().unwrap_or(0);
            let szx = usize::try_from(size).ok().and_then(coap::Block::szx_for);
            Some(szx.ok_or_else(|| {
                value_error(format!(
                    "coap: block {size} is not a block size (16, 32, 64, 128, 256, 512 or 1024)"
                ))
            })?)
        }
    };
    Ok(Shape {
        confirmable,
        token,
        options,
        block,
    })
}
