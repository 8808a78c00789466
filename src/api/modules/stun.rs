//! `udpsh/stun`: `stun::binding`, `stun::parse`, `stun::ask` (a Binding Request by
//! `request`, transaction id matched). `#{username, password}` (short-term) or
//! `#{username, realm, password}` (long-term) sign a request with MESSAGE-INTEGRITY and
//! FINGERPRINT and check a reply's.

use std::sync::Arc;

use rhai::{Blob, Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::ask::{Ask, timed};
use super::{at, map, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::api::values;
use crate::protocols::{self, stun};

const CREDENTIAL_KEYS: [&str; 4] = ["username", "realm", "password", "nonce"];

fn message(msg: &stun::Message) -> Map {
    let opt = |v: &Option<String>| v.clone().map_or(Dynamic::UNIT, Dynamic::from);
    let mut m = map(vec![
        ("type", msg.kind.clone().into()),
        ("transaction", Dynamic::from_blob(msg.transaction.to_vec())),
        ("classic", msg.classic.into()),
        ("mapped", opt(&msg.mapped)),
        ("software", opt(&msg.software)),
        ("error", opt(&msg.error)),
        ("username", opt(&msg.username)),
        ("realm", opt(&msg.realm)),
        ("nonce", opt(&msg.nonce)),
        (
            "integrity",
            msg.integrity.map_or(Dynamic::UNIT, Dynamic::from),
        ),
        ("fingerprint", msg.fingerprint.into()),
    ]);
    if let Some(channel) = msg.channel {
        m.insert("channel".into(), i64::from(channel).into());
        m.insert("data".into(), Dynamic::from_blob(msg.data.clone()));
    }
    m
}

/// Credentials (and a nonce) from `#{username, realm, password, nonce}`; None without a
/// password.
fn credentials(o: &Map, what: &str) -> Fallible<Option<(stun::Credentials, Option<String>)>> {
    let text = |key: &str| -> Fallible<Option<String>> {
        match o.get(key) {
            None => Ok(None),
            Some(v) => v
                .read_lock::<rhai::ImmutableString>()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| {
                    value_error(format!("{what}: {key} is a string, not {}", v.type_name()))
                }),
        }
    };
    let Some(password) = text("password")? else {
        if o.contains_key("username") || o.contains_key("realm") {
            return Err(value_error(format!(
                "{what}: a username or realm needs a password"
            )));
        }
        return Ok(None);
    };
    let creds = stun::Credentials {
        username: text("username")?,
        realm: text("realm")?,
        password,
    };
    if creds.realm.is_some() && creds.username.is_none() {
        return Err(value_error(format!(
            "{what}: long-term credentials (a realm) need a username"
        )));
    }
    Ok(Some((creds, text("nonce")?)))
}

fn parse(b: &[u8], o: &Map) -> Fallible<Map> {
    values::check_keys(o, "stun::parse", &CREDENTIAL_KEYS[..3])?;
    let creds = credentials(o, "stun::parse")?;
    let msg = stun::parse_with(b, creds.as_ref().map(|(c, _)| c))
        .map_err(|e| value_error(format!("stun::parse: {e}")))?;
    Ok(message(&msg))
}

fn binding(o: &Map) -> Fallible<Blob> {
    values::check_keys(o, "stun::binding", &CREDENTIAL_KEYS)?;
    Ok(match credentials(o, "stun::binding")? {
        Some((creds, nonce)) => stun::signed_binding(transaction(), &creds, nonce.as_deref()),
        None => stun::binding(transaction()),
    })
}

/// 96 fresh random bits.
fn transaction() -> [u8; 12] {
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&protocols::random_u64().to_be_bytes());
    id[8..].copy_from_slice(&protocols::random_u64().to_be_bytes()[..4]);
    id
}

/// A Binding Request, signed when credentials are given; a long-term server's first answer
/// (401 Unauthorized or 438 Stale Nonce, with its realm and nonce) is answered once more with
/// them, as RFC 8489 §9.2.3 has a client do.
fn ask(ask: &Ask, server: &str, o: &Map) -> Fallible<Map> {
    let to = ask.address(server)?;
    let creds = credentials(o, "stun::ask")?;
    let mut nonce = creds.as_ref().and_then(|(_, n)| n.clone());
    let mut realm = None;
    for _ in 0..2 {
        let id = transaction();
        let request = match &creds {
            // Long-term: the first request goes unsigned, to learn the realm's nonce.
            Some((c, _)) if c.realm.is_some() && nonce.is_none() => stun::binding(id),
            Some((c, _)) => {
                let mut c = c.clone();
                if c.username.is_some() && realm.is_some() {
                    c.realm = realm.clone();
                }
                stun::signed_binding(id, &c, nonce.as_deref())
            }
            None => stun::binding(id),
        };
        let reply = ask.request(&request, &to, move |d| {
            d.data.len() >= 20 && d.data[8..20] == id
        })?;
        let mut key = creds.as_ref().map(|(c, _)| c.clone());
        if let (Some(k), Some(r)) = (key.as_mut(), &realm) {
            k.realm = Some(r.clone());
        }
        let msg = stun::parse_with(&reply.data, key.as_ref())
            .map_err(|e| value_error(format!("stun::ask: {e}")))?;
        let challenged = msg
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("401") || e.starts_with("438"));
        if creds.is_some() && challenged && msg.nonce.is_some() && nonce != msg.nonce {
            nonce = msg.nonce.clone();
            realm = msg
                .realm
                .clone()
                .or_else(|| creds.as_ref().and_then(|(c, _)| c.realm.clone()));
            continue;
        }
        return Ok(timed(message(&msg), &reply));
    }
    unreachable!("the loop returns on its second turn")
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    FuncRegistration::new("binding")
        .set_into_module(m, || -> Blob { stun::binding(transaction()) });
    FuncRegistration::new("binding")
        .set_into_module(m, |nc: NativeCallContext, o: Map| at(&nc, binding(&o)));
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, b: Blob| {
        at(&nc, parse(&b, &Map::new()))
    });
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, b: Blob, o: Map| {
        at(&nc, parse(&b, &o))
    });
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str| {
            let a = Ask::new(&c, &nc, &s, "stun::ask", &Map::new());
            at(&nc, a.and_then(|a| ask(&a, server, &Map::new())))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("ask").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, o: Map| {
            // The credentials are the module's; the rest is `request`'s.
            let (mut request, mut own) = (o.clone(), Map::new());
            for key in CREDENTIAL_KEYS {
                if let Some(v) = request.remove(key) {
                    own.insert(key.into(), v);
                }
            }
            let a = Ask::new(&c, &nc, &s, "stun::ask", &request);
            at(&nc, a.and_then(|a| ask(&a, server, &own)))
        },
    );
}
