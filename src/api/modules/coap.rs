//! `udpsh/coap`: `coap::get`, `coap::request`, `coap::parse`, `coap::ask` (a request by
//! `request`, its response matched by token; block-wise when large) and `coap::observe`
//! (the wire steps are in `coap_transfer`).

use std::sync::Arc;

use rhai::{Array, Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::Ask;
use super::coap_map::{SHAPE_KEYS, Shape, message, shape};
use super::coap_transfer::Transfer;
use super::{at, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::api::values::{self, with_payload};
use crate::protocols::coap;

/// A request with a fresh message id and (unless the shape gives one) 4-byte token.
fn request(ctx: &ScriptCtx, method: &str, path: &str, payload: &[u8], s: &Shape) -> Fallible<Blob> {
    let mid = (ctx.random.u64() & 0xffff) as u16;
    let token = s.token.clone().unwrap_or_else(|| ctx.random.bytes(4));
    coap::build(&coap::Request {
        method,
        path,
        confirmable: s.confirmable,
        mid,
        token: &token,
        options: &s.options,
        payload,
    })
    .map_err(|e| value_error(format!("coap: {e}")))
}

/// The payload argument: a blob or a string, `()` for none.
fn body(payload: &Dynamic) -> Fallible<Vec<u8>> {
    if payload.is_unit() {
        return Ok(Vec::new());
    }
    with_payload(payload, |b| Ok(b.to_vec()))
}

/// `coap::request(method, path, #{type, token, options, block, payload})`.
fn request_with(ctx: &ScriptCtx, method: &str, path: &str, o: &Map) -> Fallible<Blob> {
    values::check_keys(o, "coap::request", &[SHAPE_KEYS, &["payload"]].concat())?;
    let payload = o.get("payload").map_or(Ok(Vec::new()), body)?;
    request(ctx, method, path, &payload, &shape(o)?)
}

/// The largest body a block-wise transfer may gather: a blob's limit.
fn max_body(nc: &NativeCallContext) -> usize {
    match nc.engine().max_array_size() {
        0 => usize::MAX,
        n => n,
    }
}

fn ask(
    ctx: &ScriptCtx,
    nc: &NativeCallContext,
    s: Dynamic,
    (server, method, path): (&str, &str, &str),
    payload: &Dynamic,
    o: &Map,
) -> Fallible<Map> {
    let a = Ask::with_own_keys(ctx, nc, &s, "coap::ask", o, SHAPE_KEYS)?;
    let shape = shape(o)?;
    let mut t = Transfer::new(ctx, &a, server, &shape)?;
    t.ask(method, path, &body(payload)?, max_body(nc))
}

fn observe(
    ctx: &ScriptCtx,
    nc: &NativeCallContext,
    s: Dynamic,
    server: &str,
    path: &str,
    n: i64,
    o: &Map,
) -> Fallible<Array> {
    let a = Ask::with_own_keys(ctx, nc, &s, "coap::observe", o, SHAPE_KEYS)?;
    let max = max_body(nc);
    let n = usize::try_from(n)
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| {
            value_error(format!(
                "coap::observe: n is how many notifications to collect, 1 to {max}, not {n}"
            ))
        })?;
    let shape = shape(o)?;
    let mut t = Transfer::new(ctx, &a, server, &shape)?;
    t.observe(path, n)
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    let none = Shape {
        confirmable: true,
        token: None,
        options: Vec::new(),
        block: None,
    };
    let (c, s) = (ctx.clone(), none.clone());
    FuncRegistration::new("get").set_into_module(m, move |nc: NativeCallContext, path: &str| {
        at(&nc, request(&c, "GET", path, &[], &s))
    });
    let (c, s) = (ctx.clone(), none.clone());
    FuncRegistration::new("request").set_into_module(
        m,
        move |nc: NativeCallContext, method: &str, path: &str| {
            at(&nc, request(&c, method, path, &[], &s))
        },
    );
    // A map after the path shapes the request; anything else is its payload.
    let (c, s) = (ctx.clone(), none);
    FuncRegistration::new("request").set_into_module(
        m,
        move |nc: NativeCallContext, method: &str, path: &str, payload: Dynamic| {
            let made = match payload.read_lock::<Map>() {
                Some(o) => request_with(&c, method, path, &o),
                None => body(&payload).and_then(|b| request(&c, method, path, &b, &s)),
            };
            at(&nc, made)
        },
    );
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, b: Blob| {
        let parsed = coap::parse(&b).map_err(|e| value_error(format!("coap::parse: {e}")));
        at(&nc, parsed.map(|msg| message(&msg)))
    });
    register_ask(m, ctx);
}

fn register_ask(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, method: &str, path: &str| {
            let r = ask(
                &c,
                &nc,
                s,
                (server, method, path),
                &Dynamic::UNIT,
                &Map::new(),
            );
            at(&nc, r)
        },
    );
    // A map after the path is the options (GET has no payload).
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, method: &str, path: &str, o: Map| {
            let r = ask(&c, &nc, s, (server, method, path), &Dynamic::UNIT, &o);
            at(&nc, r)
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
            let r = ask(&c, &nc, s, (server, method, path), &payload, &Map::new());
            at(&nc, r)
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
            let r = ask(&c, &nc, s, (server, method, path), &payload, &o);
            at(&nc, r)
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("observe").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, path: &str, n: i64| {
            at(&nc, observe(&c, &nc, s, server, path, n, &Map::new()))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("observe").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, path: &str, n: i64, o: Map| {
            at(&nc, observe(&c, &nc, s, server, path, n, &o))
        },
    );
}
