//! `udpsh/radius`: `radius::request`, `radius::parse`, `radius::reply` (for a mock server)
//! and `radius::ask` (a request by `request`, its reply matched by id and checked).

use std::sync::Arc;

use rhai::{Array, Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::api::values::with_payload;
use crate::protocols::radius::{self, Kind, Value};

/// A packet code by name ("Access-Request") or number.
fn code(v: &Dynamic) -> Fallible<u8> {
    if let Ok(n) = v.as_int() {
        return u8::try_from(n)
            .map_err(|_| value_error(format!("RADIUS code {n} is not 0 to 255")));
    }
    let name = v.clone().into_immutable_string().unwrap_or_default();
    radius::code_number(&name)
        .ok_or_else(|| value_error(format!("'{name}' is not a RADIUS packet code (Access-Request, Accounting-Request, Status-Server, CoA-Request, ...)")))
}

fn value(name: &str, v: &Dynamic) -> Fallible<Value> {
    if let Ok(n) = v.as_int() {
        return u32::try_from(n)
            .map(Value::Int)
            .map_err(|_| value_error(format!("RADIUS {name}: {n} is not 0 to 4294967295")));
    }
    if v.is_blob() {
        return with_payload(v, |b| Ok(Value::Bytes(b.to_vec())));
    }
    match v.clone().into_immutable_string() {
        Ok(s) => Ok(Value::Text(s.to_string())),
        Err(t) => Err(value_error(format!(
            "RADIUS {name} is a string, a number or a blob, not {t}"
        ))),
    }
}

/// The attributes of a map, in its order: an array value repeats the attribute; a
/// `Message-Authenticator` key asks for one (computed, whatever its value).
fn attributes(attrs: &Map) -> Fallible<(radius::Attrs, bool)> {
    let mut out = Vec::new();
    let mut with_ma = false;
    for (name, v) in attrs {
        let (number, kind) = radius::attribute(name).ok_or_else(|| {
            value_error(format!(
                "'{name}' is not a RADIUS attribute udpsh knows; write Attr-N for attribute number N"
            ))
        })?;
        if number == 80 {
            with_ma = true;
            continue;
        }
        let items: Array = match v.read_lock::<Array>() {
            Some(a) => a.clone(),
            None => vec![v.clone()],
        };
        for item in &items {
            let bytes =
                radius::encode_value(name, kind, &value(name, item)?).map_err(value_error)?;
            out.push((number, bytes));
        }
    }
    Ok((out, with_ma))
}

fn dynamic(v: Value) -> Dynamic {
    match v {
        Value::Text(t) => t.into(),
        Value::Int(n) => i64::from(n).into(),
        Value::Bytes(b) => Dynamic::from_blob(b),
    }
}

/// The parsed map; `secret` reveals a request's User-Password, `valid` is the check made.
fn packet_map(b: &[u8], secret: Option<&[u8]>, valid: Option<bool>) -> Fallible<Map> {
    let p = radius::parse(b).map_err(|e| value_error(format!("radius::parse: {e}")))?;
    let mut attrs = Map::new();
    for (number, raw) in &p.attrs {
        let (name, kind) = radius::attribute_name(*number);
        let v = match (kind, secret) {
            (Kind::Password, Some(s)) => {
                let plain = radius::reveal_password(raw, s, &p.authenticator);
                match String::from_utf8(plain) {
                    Ok(t) => Value::Text(t),
                    Err(e) => Value::Bytes(e.into_bytes()),
                }
            }
            _ => radius::decode_value(&name, kind, raw),
        };
        let v = dynamic(v);
        match attrs.get_mut(name.as_str()) {
            Some(existing) if existing.is_array() => {
                if let Some(mut a) = existing.write_lock::<Array>() {
                    a.push(v);
                }
            }
            Some(existing) => *existing = Dynamic::from_array(vec![existing.clone(), v]),
            None => {
                attrs.insert(name.into(), v);
            }
        }
    }
    Ok(map(vec![
        ("code", radius::code_name(p.code).into()),
        ("id", i64::from(p.id).into()),
        (
            "authenticator",
            Dynamic::from_blob(p.authenticator.to_vec()),
        ),
        ("attrs", attrs.into()),
        ("valid", valid.map_or(Dynamic::UNIT, Dynamic::from)),
    ]))
}

fn request(ctx: &ScriptCtx, code_v: &Dynamic, attrs: &Map, secret: &Dynamic) -> Fallible<Blob> {
    let code = code(code_v)?;
    let (list, with_ma) = attributes(attrs)?;
    let mut random = [0; 16];
    ctx.random.fill(&mut random);
    let id = (ctx.random.u64() & 0xff) as u8;
    with_payload(secret, |s| {
        radius::request(code, id, &list, s, random, with_ma).map_err(value_error)
    })
}

fn reply(req: &[u8], code_v: &Dynamic, attrs: &Map, secret: &Dynamic) -> Fallible<Blob> {
    let code = code(code_v)?;
    let request = radius::parse(req).map_err(|e| value_error(format!("radius::reply: {e}")))?;
    let (list, with_ma) = attributes(attrs)?;
    with_payload(secret, |s| {
        radius::reply(code, &request, &list, s, with_ma).map_err(value_error)
    })
}

/// The keys of `ask`'s options that are RADIUS's, not `request`'s.
const ASK_OWN: &[&str] = &["code"];

fn ask(
    ctx: &ScriptCtx,
    a: &Ask,
    server: &str,
    secret: &Dynamic,
    attrs: &Map,
    code_v: &Dynamic,
) -> Fallible<Map> {
    let to = a.address(server)?;
    let req = request(ctx, code_v, attrs, secret)?;
    let (id, sent_code) = (req[1], req[0]);
    let reply = a.request(&req, &to, move |d| {
        d.data.len() >= 20 && d.data[1] == id && d.data[0] != sent_code
    })?;
    let valid = with_payload(secret, |s| Ok(radius::verify_reply(&reply.data, &req, s)))?;
    Ok(timed(packet_map(&reply.data, None, Some(valid))?, &reply))
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    FuncRegistration::new("request").set_into_module(
        m,
        move |nc: NativeCallContext, code: Dynamic, attrs: Map, secret: Dynamic| {
            at(&nc, request(&c, &code, &attrs, &secret))
        },
    );
    FuncRegistration::new("reply").set_into_module(
        m,
        |nc: NativeCallContext, req: Blob, code: Dynamic, attrs: Map, secret: Dynamic| {
            at(&nc, reply(&req, &code, &attrs, &secret))
        },
    );
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, b: Blob| {
        at(&nc, packet_map(&b, None, None))
    });
    FuncRegistration::new("parse").set_into_module(
        m,
        |nc: NativeCallContext, b: Blob, secret: Dynamic| {
            let parsed = with_payload(&secret, |s| {
                packet_map(&b, Some(s), radius::verify_request(&b, s))
            });
            at(&nc, parsed)
        },
    );
    FuncRegistration::new("parse").set_into_module(
        m,
        |nc: NativeCallContext, b: Blob, secret: Dynamic, req: Blob| {
            let parsed = with_payload(&secret, |s| {
                packet_map(&b, None, Some(radius::verify_reply(&b, &req, s)))
            });
            at(&nc, parsed)
        },
    );
    register_ask(m, ctx);
}

fn register_ask(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    const WHAT: &str = "radius::ask";
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, secret: Dynamic, attrs: Map| {
            let a = Ask::new(&c, &nc, &s, WHAT, &Map::new());
            let code = Dynamic::from("Access-Request");
            at(
                &nc,
                a.and_then(|a| ask(&c, &a, server, &secret, &attrs, &code)),
            )
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext,
              s: Dynamic,
              server: &str,
              secret: Dynamic,
              attrs: Map,
              o: Map| {
            let code = o
                .get("code")
                .cloned()
                .unwrap_or_else(|| "Access-Request".into());
            let a = Ask::with_own_keys(&c, &nc, &s, WHAT, &o, ASK_OWN);
            at(
                &nc,
                a.and_then(|a| ask(&c, &a, server, &secret, &attrs, &code)),
            )
        },
    );
}
