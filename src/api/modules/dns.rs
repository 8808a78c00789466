//! `udpsh/dns`: `dns::query`, `dns::parse`, `dns::ask` (a query by `request`, id matched);
//! `#{edns: #{size, dnssec}}` (or `edns: true`) adds an OPT record to a query.

use std::sync::Arc;

use rhai::{Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, text_list, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::api::values;
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

/// `#{size, dnssec, version, rcode, options: [#{code, data}]}`.
fn edns(e: &dns::Edns) -> Dynamic {
    let options = e
        .options
        .iter()
        .map(|(code, data)| {
            map(vec![
                ("code", i64::from(*code).into()),
                ("data", Dynamic::from_blob(data.clone())),
            ])
            .into()
        })
        .collect();
    map(vec![
        ("size", i64::from(e.size).into()),
        ("dnssec", e.dnssec.into()),
        ("version", i64::from(e.version).into()),
        ("rcode", i64::from(e.rcode).into()),
        ("options", Dynamic::from_array(options)),
    ])
    .into()
}

fn parse(b: &[u8]) -> Fallible<Map> {
    let m = dns::parse(b).map_err(|e| value_error(format!("dns::parse: {e}")))?;
    let records = |rs: &[dns::Record]| Dynamic::from_array(rs.iter().map(record).collect());
    Ok(map(vec![
        ("id", i64::from(m.id).into()),
        ("opcode", m.opcode.into()),
        ("rcode", m.rcode.into()),
        ("flags", text_list(&m.flags)),
        ("tc", m.flags.contains(&"tc").into()),
        ("edns", m.edns.as_ref().map_or(Dynamic::UNIT, edns)),
        (
            "questions",
            Dynamic::from_array(m.questions.iter().map(question).collect()),
        ),
        ("answers", records(&m.answers)),
        ("authority", records(&m.authority)),
        ("additional", records(&m.additional)),
    ]))
}

/// The `edns` option of `query` and `ask`: `true`, or `#{size: 1232, dnssec: true}`.
fn edns_option(opts: &Map, what: &str) -> Fallible<Option<dns::EdnsQuery>> {
    let Some(v) = opts.get("edns") else {
        return Ok(None);
    };
    let mut e = dns::EdnsQuery {
        size: 1232,
        dnssec: false,
    };
    if let Ok(on) = v.as_bool() {
        return Ok(on.then_some(e));
    }
    let m = v.read_lock::<Map>().map(|m| m.clone()).ok_or_else(|| {
        value_error(format!(
            "{what}: edns is true or a map like #{{size: 1232, dnssec: true}}, not {}",
            v.type_name()
        ))
    })?;
    values::check_keys(&m, &format!("{what} edns"), &["size", "dnssec"])?;
    if let Some(size) = m.get("size") {
        let n = values::int(size, "size")?;
        e.size = u16::try_from(n)
            .map_err(|_| value_error(format!("{what}: edns size {n} is not 0 to 65535")))?;
    }
    if let Some(d) = m.get("dnssec") {
        e.dnssec = d
            .as_bool()
            .map_err(|t| value_error(format!("{what}: edns dnssec is true or false, not {t}")))?;
    }
    Ok(Some(e))
}

fn query(name: &str, qtype: &str, opts: &Map) -> Fallible<(u16, Blob)> {
    values::check_keys(opts, "dns::query", &["edns"])?;
    let edns = edns_option(opts, "dns::query")?;
    let id = protocols::random_u64() as u16;
    let q =
        dns::query(id, name, qtype, edns).map_err(|e| value_error(format!("dns::query: {e}")))?;
    Ok((id, q))
}

/// A response (QR set) with the query's id.
fn answers(id: u16) -> impl Fn(&crate::api::Datagram) -> bool {
    move |d| d.data.len() >= 12 && d.data[..2] == id.to_be_bytes() && d.data[2] & 0x80 != 0
}

fn ask(ask: &Ask, server: &str, name: &str, qtype: &str, opts: &Map) -> Fallible<Map> {
    let to = ask.address(server)?;
    let (id, q) = query(name, qtype, opts)?;
    let reply = ask.request(&q, &to, answers(id))?;
    Ok(timed(parse(&reply.data)?, &reply))
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    FuncRegistration::new("query").set_into_module(
        m,
        |nc: NativeCallContext, name: &str, qtype: &str| {
            at(&nc, query(name, qtype, &Map::new()).map(|(_, q)| q))
        },
    );
    FuncRegistration::new("query").set_into_module(
        m,
        |nc: NativeCallContext, name: &str, qtype: &str, o: Map| {
            at(&nc, query(name, qtype, &o).map(|(_, q)| q))
        },
    );
    FuncRegistration::new("query").set_into_module(m, |nc: NativeCallContext, name: &str| {
        at(&nc, query(name, "A", &Map::new()).map(|(_, q)| q))
    });
    FuncRegistration::new("parse")
        .set_into_module(m, |nc: NativeCallContext, b: Blob| at(&nc, parse(&b)));
    // An A query, as `dns::query(name)`.
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, name: &str| {
            let a = Ask::new(&c, &nc, &s, "dns::ask", &Map::new());
            at(&nc, a.and_then(|a| ask(&a, server, name, "A", &Map::new())))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, name: &str, qtype: &str| {
            let a = Ask::new(&c, &nc, &s, "dns::ask", &Map::new());
            at(
                &nc,
                a.and_then(|a| ask(&a, server, name, qtype, &Map::new())),
            )
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, name: &str, qtype: &str, o: Map| {
            // `edns` is the query's; the rest is `request`'s.
            let mut request = o.clone();
            let mut own = Map::new();
            if let Some(e) = request.remove("edns") {
                own.insert("edns".into(), e);
            }
            let a = Ask::new(&c, &nc, &s, "dns::ask", &request);
            at(&nc, a.and_then(|a| ask(&a, server, name, qtype, &own)))
        },
    );
}
