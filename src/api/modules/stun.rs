//! `udpsh/stun`: `stun::binding`, `stun::parse`, `stun::ask` (a Binding Request by
//! `request`, transaction id matched).

use std::sync::Arc;

use rhai::{Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::protocols::{self, stun};

fn message(msg: &stun::Message) -> Map {
    let opt = |v: &Option<String>| v.clone().map_or(Dynamic::UNIT, Dynamic::from);
    map(vec![
        ("type", msg.kind.clone().into()),
        ("transaction", Dynamic::from_blob(msg.transaction.to_vec())),
        ("mapped", opt(&msg.mapped)),
        ("software", opt(&msg.software)),
        ("error", opt(&msg.error)),
    ])
}

/// 96 fresh random bits.
fn transaction() -> [u8; 12] {
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&protocols::random_u64().to_be_bytes());
    id[8..].copy_from_slice(&protocols::random_u64().to_be_bytes()[..4]);
    id
}

fn ask(ask: &Ask, server: &str) -> Fallible<Map> {
    let to = ask.address(server)?;
    let id = transaction();
    let reply = ask.request(&stun::binding(id), &to, move |d| {
        d.data.len() >= 20 && d.data[8..20] == id
    })?;
    let msg = stun::parse(&reply.data).map_err(|e| value_error(format!("stun::ask: {e}")))?;
    Ok(timed(message(&msg), &reply))
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    FuncRegistration::new("binding")
        .set_into_module(m, || -> Blob { stun::binding(transaction()) });
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, b: Blob| {
        let parsed = stun::parse(&b).map_err(|e| value_error(format!("stun::parse: {e}")));
        at(&nc, parsed.map(|msg| message(&msg)))
    });
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str| {
            let a = Ask::new(&c, &nc, &s, "stun::ask", &Map::new());
            at(&nc, a.and_then(|a| ask(&a, server)))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, o: Map| {
            let a = Ask::new(&c, &nc, &s, "stun::ask", &o);
            at(&nc, a.and_then(|a| ask(&a, server)))
        },
    );
}
