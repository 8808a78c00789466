//! `udpsh/sip`: `sip::request`, `sip::parse`, `sip::ask` (a request by `request`; the final
//! response with its Call-ID and CSeq taken, 1xx passed over).

use std::sync::Arc;

use rhai::{Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::api::values::{self, with_payload};
use crate::protocols::sip::{self, Spec};
use crate::random::Random;

/// Where a request built apart from any socket says it comes from: with `rport` a server
/// answers the datagram's real source port (RFC 3581), whatever Via says.
const NO_SOCKET: &str = "127.0.0.1:5060";

const BUILD_KEYS: &[&str] = &["headers", "body"];

fn hex(random: &Random, bytes: usize) -> String {
    random
        .bytes(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn spec(random: &Random, method: &str, uri: &str, local: &str, o: &Map) -> Fallible<Spec> {
    let mut headers = Vec::new();
    if let Some(h) = o.get("headers") {
        let h = h.read_lock::<Map>().ok_or_else(|| {
            value_error(format!(
                "sip: headers is a map #{{\"Name\": value}}, not {}",
                h.type_name()
            ))
        })?;
        for (name, value) in h.iter() {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let body = match o.get("body") {
        Some(b) if !b.is_unit() => with_payload(b, |b| Ok(b.to_vec()))?,
        _ => Vec::new(),
    };
    Ok(Spec {
        method: method.into(),
        uri: uri.into(),
        local: local.into(),
        branch: format!("z9hG4bK{}", hex(random, 8)),
        call_id: format!("{}@udpsh", hex(random, 12)),
        tag: hex(random, 4),
        cseq: 1,
        headers,
        body,
    })
}

fn build(random: &Random, method: &str, uri: &str, local: &str, o: &Map) -> Fallible<Blob> {
    sip::request(&spec(random, method, uri, local, o)?)
        .map_err(|e| value_error(format!("sip: {e}")))
}

fn message(m: &sip::Message) -> Map {
    let or_unit = |v: Option<Dynamic>| v.unwrap_or(Dynamic::UNIT);
    let headers: Map = m
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().into(), v.clone().into()))
        .collect();
    let body = match std::str::from_utf8(&m.body) {
        Ok(t) => t.to_string().into(),
        Err(_) => Dynamic::from_blob(m.body.clone()),
    };
    map(vec![
        ("status", or_unit(m.status.map(|s| i64::from(s).into()))),
        ("reason", or_unit(m.reason.clone().map(Into::into))),
        ("method", or_unit(m.method.clone().map(Into::into))),
        ("uri", or_unit(m.uri.clone().map(Into::into))),
        ("headers", headers.into()),
        ("body", body),
    ])
}

fn parse(b: &[u8]) -> Fallible<Map> {
    let m = sip::parse(b).map_err(|e| value_error(format!("sip::parse: {e}")))?;
    Ok(message(&m))
}

fn ask(ctx: &ScriptCtx, a: &Ask, server: &str, method: &str, uri: &str, o: &Map) -> Fallible<Map> {
    let to = a.address(server)?;
    let local = a.local_toward(&to)?;
    let req = build(&ctx.random, method, uri, &local.to_string(), o)?;
    // Matched by what the request carries, whatever the script's headers made of it.
    let sent = sip::parse(&req).map_err(value_error)?;
    let call_id = sent.header("call-id").unwrap_or_default().to_string();
    let cseq = sent.cseq().unwrap_or_default();
    let reply = a.request(&req, &to, move |d| {
        sip::parse(&d.data).is_ok_and(|m| sip::answers(&m, &call_id, &cseq))
    })?;
    Ok(timed(parse(&reply.data)?, &reply))
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    FuncRegistration::new("request").set_into_module(
        m,
        move |nc: NativeCallContext, method: &str, uri: &str| {
            at(&nc, build(&c.random, method, uri, NO_SOCKET, &Map::new()))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("request").set_into_module(
        m,
        move |nc: NativeCallContext, method: &str, uri: &str, o: Map| {
            let built = values::check_keys(&o, "sip::request", BUILD_KEYS)
                .and_then(|()| build(&c.random, method, uri, NO_SOCKET, &o));
            at(&nc, built)
        },
    );
    FuncRegistration::new("parse")
        .set_into_module(m, |nc: NativeCallContext, b: Blob| at(&nc, parse(&b)));
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, method: &str, uri: &str| {
            let a = Ask::new(&c, &nc, &s, "sip::ask", &Map::new());
            at(
                &nc,
                a.and_then(|a| ask(&c, &a, server, method, uri, &Map::new())),
            )
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, method: &str, uri: &str, o: Map| {
            let a = Ask::with_own_keys(&c, &nc, &s, "sip::ask", &o, BUILD_KEYS);
            at(&nc, a.and_then(|a| ask(&c, &a, server, method, uri, &o)))
        },
    );
}
