//! `udpsh/ntp`: `ntp::request`, `ntp::parse`, `ntp::ask` (offset and delay, RFC 5905, from
//! the send time `request` keeps and the kernel's receive time of the reply).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rhai::{Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, value_error};
use crate::api::context::ScriptCtx;
use crate::api::datagram::{Datagram, unix_seconds};
use crate::api::error::Fallible;
use crate::protocols::ntp;

fn packet(p: &ntp::Packet) -> Map {
    map(vec![
        ("leap", i64::from(p.leap).into()),
        ("version", i64::from(p.version).into()),
        ("mode", i64::from(p.mode).into()),
        ("stratum", i64::from(p.stratum).into()),
        ("poll", i64::from(p.poll).into()),
        ("precision", i64::from(p.precision).into()),
        ("root_delay", p.root_delay.into()),
        ("root_dispersion", p.root_dispersion.into()),
        ("ref_id", p.ref_id.clone().into()),
        ("reference", p.reference.into()),
        ("origin", p.origin.into()),
        ("receive", p.receive.into()),
        ("transmit", p.transmit.into()),
    ])
}

/// A mode 6 or 7 message's fields; a time packet's as [`packet`].
fn message(m: &ntp::Message) -> Map {
    let blob = |d: &[u8]| Dynamic::from_blob(d.to_vec());
    match m {
        ntp::Message::Time(p) => packet(p),
        ntp::Message::Control(c) => map(vec![
            ("leap", i64::from(c.leap).into()),
            ("version", i64::from(c.version).into()),
            ("mode", 6i64.into()),
            ("response", c.response.into()),
            ("error", c.error.into()),
            ("more", c.more.into()),
            ("opcode", i64::from(c.opcode).into()),
            ("op", ntp::opcode_name(c.opcode).into()),
            ("sequence", i64::from(c.sequence).into()),
            ("status", i64::from(c.status).into()),
            ("association", i64::from(c.association).into()),
            ("offset", i64::from(c.offset).into()),
            ("count", i64::from(c.count).into()),
            ("data", blob(&c.data)),
        ]),
        ntp::Message::Private(p) => map(vec![
            ("version", i64::from(p.version).into()),
            ("mode", 7i64.into()),
            ("response", p.response.into()),
            ("more", p.more.into()),
            ("authenticated", p.authenticated.into()),
            ("sequence", i64::from(p.sequence).into()),
            ("implementation", i64::from(p.implementation).into()),
            ("request", i64::from(p.request).into()),
            ("error", i64::from(p.error).into()),
            ("items", i64::from(p.items).into()),
            ("item_size", i64::from(p.item_size).into()),
            ("data", blob(&p.data)),
        ]),
    }
}

fn nanos(t: SystemTime) -> i128 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0))
}

/// (offset, delay): t4 is the kernel's receive time, t1 the (last) send as `request` timed
/// it, `rtt` before t4.
fn offset_delay(p: &ntp::Packet, reply: &Datagram) -> (f64, f64) {
    let t4 = nanos(reply.time.unwrap_or_else(SystemTime::now));
    let t1 = t4 - (reply.rtt.unwrap_or(0.0) * 1e9).round() as i128;
    ntp::offset_delay(t1, p.receive_raw, p.transmit_raw, t4)
}

fn ask(ask: &Ask, server: &str) -> Fallible<Map> {
    let to = ask.address(server)?;
    let req = ntp::request(unix_seconds(SystemTime::now()));
    let stamp = ntp::parse(&req).map_or(0, |p| p.transmit_raw);
    // A server reply (mode 4) that echoes our transmit time as its origin.
    let reply = ask.request(&req, &to, move |d| {
        ntp::parse(&d.data).is_ok_and(|p| p.mode == 4 && p.origin_raw == stamp)
    })?;
    let p = ntp::parse(&reply.data).map_err(|e| value_error(format!("ntp::ask: {e}")))?;
    let (offset, delay) = offset_delay(&p, &reply);
    let mut m = packet(&p);
    m.insert("offset".into(), offset.into());
    m.insert("delay".into(), delay.into());
    Ok(timed(m, &reply))
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    FuncRegistration::new("request").set_into_module(m, || -> Blob {
        ntp::request(unix_seconds(SystemTime::now()))
    });
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, b: Blob| {
        let parsed = ntp::parse_message(&b).map_err(|e| value_error(format!("ntp::parse: {e}")));
        at(&nc, parsed.map(|m| message(&m)))
    });
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str| {
            let a = Ask::new(&c, &nc, &s, "ntp::ask", &Map::new());
            at(&nc, a.and_then(|a| ask(&a, server)))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, o: Map| {
            let a = Ask::new(&c, &nc, &s, "ntp::ask", &o);
            at(&nc, a.and_then(|a| ask(&a, server)))
        },
    );
}
