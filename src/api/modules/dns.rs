//! `udpsh/dns`: `dns::query`, `dns::parse`, `dns::ask` (a query by `request`, id matched).

use std::sync::Arc;

use rhai::{Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, text_list, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::protocols::{self, dns};

fn record(r: &dns::Record) -> Dynamic {
    map(vec![
        ("name", r.name.clone().into()),
        ("type", r.rtype.clone().into()),
        ("class", r.class.clone().into()),
        ("ttl", i64::from(r.ttl).into()),
        ("data", r.data.clone().into()),
    ])
    .into()
}

fn question(q: &dns::Question) -> Dynamic {
    map(vec![
        ("name", q.name.clone().into()),
        ("type", q.qtype.clone().into()),
        ("class", q.class.clone().into()),
    ])
    .into()
}

fn parse(b: &[u8]) -> Fallible<Map> {
    let m = dns::parse(b).map_err(|e| value_error(format!("dns::parse: {e}")))?;
    let records = |rs: &[dns::Record]| Dynamic::from_array(rs.iter().map(record).collect());
    Ok(map(vec![
        ("id", i64::from(m.id).into()),
        ("rcode", m.rcode.into()),
        ("flags", text_list(&m.flags)),
        (
            "questions",
            Dynamic::from_array(m.questions.iter().map(question).collect()),
        ),
        ("answers", records(&m.answers)),
        ("authority", records(&m.authority)),
        ("additional", records(&m.additional)),
    ]))
}

fn query(name: &str, qtype: &str) -> Fallible<(u16, Blob)> {
    let id = protocols::random_u64() as u16;
    let q = dns::query(id, name, qtype).map_err(|e| value_error(format!("dns::query: {e}")))?;
    Ok((id, q))
}

/// A response (QR set) with the query's id.
fn answers(id: u16) -> impl Fn(&crate::api::Datagram) -> bool {
    move |d| d.data.len() >= 12 && d.data[..2] == id.to_be_bytes() && d.data[2] & 0x80 != 0
}

fn ask(ask: &Ask, server: &str, name: &str, qtype: &str) -> Fallible<Map> {
    let to = ask.address(server)?;
    let (id, q) = query(name, qtype)?;
    let reply = ask.request(&q, &to, answers(id))?;
    Ok(timed(parse(&reply.data)?, &reply))
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    FuncRegistration::new("query").set_into_module(
        m,
        |nc: NativeCallContext, name: &str, qtype: &str| {
            at(&nc, query(name, qtype).map(|(_, q)| q))
        },
    );
    FuncRegistration::new("query").set_into_module(m, |nc: NativeCallContext, name: &str| {
        at(&nc, query(name, "A").map(|(_, q)| q))
    });
    FuncRegistration::new("parse")
        .set_into_module(m, |nc: NativeCallContext, b: Blob| at(&nc, parse(&b)));
    // An A query, as `dns::query(name)`.
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, name: &str| {
            let a = Ask::new(&c, &nc, &s, "dns::ask", &Map::new());
            at(&nc, a.and_then(|a| ask(&a, server, name, "A")))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, name: &str, qtype: &str| {
            let a = Ask::new(&c, &nc, &s, "dns::ask", &Map::new());
            at(&nc, a.and_then(|a| ask(&a, server, name, qtype)))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, name: &str, qtype: &str, o: Map| {
            let a = Ask::new(&c, &nc, &s, "dns::ask", &o);
            at(&nc, a.and_then(|a| ask(&a, server, name, qtype)))
        },
    );
}
