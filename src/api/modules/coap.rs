//! `udpsh/coap`: `coap::get`, `coap::request`, `coap::parse`, `coap::ask` (a CON request by
//! `request`, its response matched by token).

use std::sync::Arc;

use rhai::{Array, Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::api::values::with_payload;
use crate::protocols::{self, coap};

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

fn message(msg: &coap::Message) -> Map {
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

/// A CON request with a fresh message id and 4-byte token: (mid, token, bytes).
fn request(method: &str, path: &str, payload: &[u8]) -> Fallible<(u16, Vec<u8>, Blob)> {
    let r = protocols::random_u64().to_be_bytes();
    let mid = u16::from_be_bytes([r[6], r[7]]);
    let token = r[..4].to_vec();
    let b = coap::request(method, path, mid, &token, payload)
        .map_err(|e| value_error(format!("coap: {e}")))?;
    Ok((mid, token, b))
}

/// The payload argument: a blob or a string, `()` for none.
fn body(payload: &Dynamic) -> Fallible<Vec<u8>> {
    if payload.is_unit() {
        return Ok(Vec::new());
    }
    with_payload(payload, |b| Ok(b.to_vec()))
}

fn ask(ask: &Ask, server: &str, method: &str, path: &str, payload: &Dynamic) -> Fallible<Map> {
    let to = ask.address(server)?;
    let (mid, token, req) = request(method, path, &body(payload)?)?;
    let want = token.clone();
    let reply = ask.request(&req, &to, move |d| {
        coap::parse(&d.data).is_ok_and(|m| coap::answers(&m, mid, &want))
    })?;
    let msg = coap::parse(&reply.data).map_err(|e| value_error(format!("coap::ask: {e}")))?;
    if msg.mtype == "CON" {
        // A response sent apart is confirmed, or the server sends it again.
        ask.send(&coap::empty_ack(msg.mid), &reply.from.into())?;
    }
    Ok(timed(message(&msg), &reply))
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    FuncRegistration::new("get").set_into_module(m, |nc: NativeCallContext, path: &str| {
        at(&nc, request("GET", path, &[]).map(|r| r.2))
    });
    FuncRegistration::new("request").set_into_module(
        m,
        |nc: NativeCallContext, method: &str, path: &str| {
            at(&nc, request(method, path, &[]).map(|r| r.2))
        },
    );
    FuncRegistration::new("request").set_into_module(
        m,
        |nc: NativeCallContext, method: &str, path: &str, payload: Dynamic| {
            let made = body(&payload).and_then(|b| request(method, path, &b));
            at(&nc, made.map(|r| r.2))
        },
    );
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, b: Blob| {
        let parsed = coap::parse(&b).map_err(|e| value_error(format!("coap::parse: {e}")));
        at(&nc, parsed.map(|msg| message(&msg)))
    });
    register_ask(m, ctx);
}

fn register_ask(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    const WHAT: &str = "coap::ask";
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, method: &str, path: &str| {
            let a = Ask::new(&c, &nc, &s, WHAT, &Map::new());
            at(
                &nc,
                a.and_then(|a| ask(&a, server, method, path, &Dynamic::UNIT)),
            )
        },
    );
    // A map after the path is the options (GET has no payload).
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, method: &str, path: &str, o: Map| {
            let a = Ask::new(&c, &nc, &s, WHAT, &o);
            at(
                &nc,
                a.and_then(|a| ask(&a, server, method, path, &Dynamic::UNIT)),
            )
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext,
              s: Dynamic,
              server: &str,
              method: &str,
              path: &str,
              payload: Dynamic| {
            let a = Ask::new(&c, &nc, &s, WHAT, &Map::new());
            at(&nc, a.and_then(|a| ask(&a, server, method, path, &payload)))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext,
              s: Dynamic,
              server: &str,
              method: &str,
              path: &str,
              payload: Dynamic,
              o: Map| {
            let a = Ask::new(&c, &nc, &s, WHAT, &o);
            at(&nc, a.and_then(|a| ask(&a, server, method, path, &payload)))
        },
    );
}
