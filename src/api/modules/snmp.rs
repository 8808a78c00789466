//! `udpsh/snmp`: `snmp::get`, `snmp::getnext`, `snmp::walk` (v2c, each step a `request`
//! matched by request id) and `snmp::parse`.

use std::sync::Arc;

use rhai::{Array, Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::{ErrorKind, Fallible, script_error};
use crate::protocols::snmp::{self, Binding, Op, Value};

fn value(v: &Value) -> Dynamic {
    match v {
        // Counter64 past i64's range keeps every digit as text.
        Value::Int(n) => i64::try_from(*n).map_or_else(|_| n.to_string().into(), Dynamic::from),
        Value::Text(t) => t.clone().into(),
        Value::Bytes(b) => Dynamic::from_blob(b.clone()),
        Value::None => Dynamic::UNIT,
    }
}

fn binding(b: &Binding) -> Dynamic {
    map(vec![
        ("oid", b.oid.clone().into()),
        ("type", b.kind.into()),
        ("value", value(&b.value)),
    ])
    .into()
}

fn parse(b: &[u8]) -> Fallible<Map> {
    let r = snmp::parse(b).map_err(|e| value_error(format!("snmp::parse: {e}")))?;
    Ok(map(vec![
        ("version", r.version.into()),
        (
            "community",
            String::from_utf8_lossy(&r.community).into_owned().into(),
        ),
        ("pdu", r.pdu.into()),
        ("request_id", i64::from(r.request_id).into()),
        ("error", snmp::error_name(r.error_status).into()),
        ("error_index", i64::from(r.error_index).into()),
        (
            "bindings",
            Dynamic::from_array(r.bindings.iter().map(binding).collect()),
        ),
    ]))
}

/// An agent asked through one `Ask`: its address and community.
struct Agent<'a> {
    ctx: &'a ScriptCtx,
    ask: Ask<'a>,
    server: &'a str,
    community: &'a str,
}

impl Agent<'_> {
    /// One GetRequest or GetNextRequest and the agent's binding for it; an error-status
    /// other than noError is an error of kind `snmp`.
    fn step(&self, op: Op, oid: &str) -> Fallible<(Binding, crate::api::Datagram)> {
        let server = self.server;
        let to = self.ask.address(server)?;
        let id = (self.ctx.random.u64() & 0x7fff_ffff) as i32;
        let req = snmp::request(op, self.community.as_bytes(), id, &[oid]).map_err(value_error)?;
        let reply = self.ask.request(&req, &to, move |d| {
            snmp::parse(&d.data).is_ok_and(|r| r.pdu == "Response" && r.request_id == id)
        })?;
        let r = snmp::parse(&reply.data).map_err(value_error)?;
        if r.error_status != 0 {
            return Err(script_error(
                ErrorKind::Snmp,
                format!(
                    "{server} answered {} (error-index {}) for {oid}",
                    snmp::error_name(r.error_status),
                    r.error_index
                ),
            ));
        }
        let b = r.bindings.into_iter().next().ok_or_else(|| {
            script_error(
                ErrorKind::Snmp,
                format!("{server} answered with no variable for {oid}"),
            )
        })?;
        Ok((b, reply))
    }

    fn one(&self, op: Op, oid: &str) -> Fallible<Map> {
        let (b, reply) = self.step(op, oid)?;
        Ok(timed(binding(&b).cast::<Map>(), &reply))
    }

    /// GetNext from `root` while the agent's answers stay under it.
    fn walk(&self, nc: &NativeCallContext, root: &str) -> Fallible<Array> {
        let root = snmp::oid_text(&snmp::parse_oid(root).map_err(value_error)?);
        let max = nc.engine().max_array_size();
        let mut out = Array::new();
        let mut at = root.clone();
        loop {
            let (b, _) = self.step(Op::GetNext, &at)?;
            if b.kind == "endOfMibView" || !snmp::is_under(&b.oid, &root) {
                return Ok(out);
            }
            if !later(&b.oid, &at) {
                return Err(script_error(
                    ErrorKind::Snmp,
                    format!(
                        "{} answered GetNext {at} with {}, which does not come after it",
                        self.server, b.oid
                    ),
                ));
            }
            if max != 0 && out.len() >= max {
                return Err(value_error(format!(
                    "snmp::walk {root}: more than {max} variables (the array limit of --max-memory)"
                )));
            }
            at = b.oid.clone();
            out.push(binding(&b));
        }
    }
}

/// Whether OID `a` comes after `b` in lexicographic order of arcs.
fn later(a: &str, b: &str) -> bool {
    let arcs = |s: &str| {
        s.split('.')
            .map(|x| x.parse::<u64>().unwrap_or(0))
            .collect::<Vec<_>>()
    };
    arcs(a) > arcs(b)
}

/// `snmp::NAME(sock, server, community, oid[, #{timeout, retries}])`: the agent, then `f`.
fn agent_call<T>(
    ctx: &ScriptCtx,
    nc: &NativeCallContext,
    what: &str,
    (s, server, community): (Dynamic, &str, &str),
    o: &Map,
    f: impl FnOnce(&Agent) -> Fallible<T>,
) -> Fallible<T> {
    let ask = Ask::new(ctx, nc, &s, what, o)?;
    f(&Agent {
        ctx,
        ask,
        server,
        community,
    })
}

/// What one of `get`, `getnext` and `walk` gives.
fn call(a: &Agent, nc: &NativeCallContext, name: &str, oid: &str) -> Fallible<Dynamic> {
    match name {
        "get" => a.one(Op::Get, oid).map(Dynamic::from),
        "getnext" => a.one(Op::GetNext, oid).map(Dynamic::from),
        _ => a.walk(nc, oid).map(Dynamic::from_array),
    }
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    FuncRegistration::new("parse")
        .set_into_module(m, |nc: NativeCallContext, b: Blob| at(&nc, parse(&b)));
    for (name, what) in [
        ("get", "snmp::get"),
        ("getnext", "snmp::getnext"),
        ("walk", "snmp::walk"),
    ] {
        let c = ctx.clone();
        FuncRegistration::new(name).set_into_module(
            m,
            move |nc: NativeCallContext, s: Dynamic, server: &str, community: &str, oid: &str| {
                let no_options = Map::new();
                let got = agent_call(&c, &nc, what, (s, server, community), &no_options, |a| {
                    call(a, &nc, name, oid)
                });
                at(&nc, got)
            },
        );
        let c = ctx.clone();
        FuncRegistration::new(name).set_into_module(
            m,
            move |nc: NativeCallContext,
                  s: Dynamic,
                  server: &str,
                  community: &str,
                  oid: &str,
                  o: Map| {
                let got = agent_call(&c, &nc, what, (s, server, community), &o, |a| {
                    call(a, &nc, name, oid)
                });
                at(&nc, got)
            },
        );
    }
}
