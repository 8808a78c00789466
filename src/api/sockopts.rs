//! Socket options and properties: timeouts, broadcast, TTL and TOS, buffers, multicast.
//!
//! | name | form | summary |
//! | --- | --- | --- |
//! | `setttl` | `s.setttl(64)` | IP TTL / IPv6 hop limit of unicast datagrams sent |
//! | `settos` | `s.settos(0xb8)` | IP TOS / IPv6 traffic class (DSCP EF = 0xb8) |
//! | `setrcvbuf`, `setsndbuf` | `s.setrcvbuf(n) → int` | buffer sizes; return what the kernel set |
//! | `getrcvbuf`, `getsndbuf` | `s.getrcvbuf() → int` | the kernel's buffer size now |
//! | `join`, `leave` | `s.join(group)` / `s.join(group, iface)` | multicast membership |
//! | `setmulticastttl` | `s.setmulticastttl(1)` | TTL / hops of multicast datagrams sent |
//! | `setmulticastloop` | `s.setmulticastloop(true)` | whether our own multicast comes back to us |
//! | `setmulticastif` | `s.setmulticastif("lo")` | the interface (name or address) multicast leaves by |

use std::net::IpAddr;

use rhai::{Dynamic, Engine};

use crate::net::{self, Interface};

use super::error::{ErrorKind, Fallible, from_net, script_error};
use super::socket::{Sock, describe};
use super::values::seconds;

pub fn register(engine: &mut Engine) {
    register_properties(engine);
    register_basic(engine);
    register_ip(engine);
    register_multicast(engine);
}

fn register_properties(engine: &mut Engine) {
    engine.register_get("local_addr", |s: &mut Sock| -> Dynamic {
        s.local_addr()
            .map_or(Dynamic::UNIT, |a| a.to_string().into())
    });
    engine.register_get("port", |s: &mut Sock| -> i64 {
        s.local_addr().map_or(0, |a| i64::from(a.port()))
    });
    engine.register_get("peer_addr", |s: &mut Sock| -> Dynamic {
        s.net()
            .peer_addr()
            .map_or(Dynamic::UNIT, |a| a.to_string().into())
    });
    engine.register_fn("to_string", |s: &mut Sock| describe(s));
    engine.register_fn("to_debug", |s: &mut Sock| describe(s));
}

fn register_basic(engine: &mut Engine) {
    engine.register_fn("settimeout", |s: &mut Sock, secs: f64| {
        s.net()
            .set_timeout(Some(seconds(secs, "settimeout")?))
            .map_err(from_net)
    });
    engine.register_fn("settimeout", |s: &mut Sock, secs: i64| {
        s.net()
            .set_timeout(Some(seconds(secs as f64, "settimeout")?))
            .map_err(from_net)
    });
    engine.register_fn("settimeout", |s: &mut Sock, _: ()| {
        s.net().set_timeout(None).map_err(from_net)
    });
    engine.register_fn("gettimeout", |s: &mut Sock| -> Dynamic {
        s.net()
            .timeout()
            .map_or(Dynamic::UNIT, |t| t.as_secs_f64().into())
    });
    engine.register_fn("setbroadcast", |s: &mut Sock, on: bool| {
        s.net().set_broadcast(on).map_err(from_net)
    });
    engine.register_fn("setreuse", |s: &mut Sock, on: bool| {
        s.net().set_reuse(on).map_err(from_net)
    });
    engine.register_fn("close", |s: &mut Sock| s.net().close());
}

fn register_ip(engine: &mut Engine) {
    engine.register_fn("setttl", |s: &mut Sock, ttl: i64| {
        let ttl = net::options::byte_value("setttl: the TTL", ttl, 1).map_err(from_net)?;
        s.net().set_ttl(ttl).map_err(from_net)
    });
    engine.register_fn("settos", |s: &mut Sock, tos: i64| {
        let tos = net::options::byte_value("settos: the TOS byte", tos, 0).map_err(from_net)?;
        s.net().set_tos(tos).map_err(from_net)
    });
    engine.register_fn("setrcvbuf", |s: &mut Sock, bytes: i64| {
        let n = buffer_bytes("setrcvbuf", bytes)?;
        s.net().set_rcvbuf(n).map(as_int).map_err(from_net)
    });
    engine.register_fn("getrcvbuf", |s: &mut Sock| {
        s.net().rcvbuf().map(as_int).map_err(from_net)
    });
    engine.register_fn("setsndbuf", |s: &mut Sock, bytes: i64| {
        let n = buffer_bytes("setsndbuf", bytes)?;
        s.net().set_sndbuf(n).map(as_int).map_err(from_net)
    });
    engine.register_fn("getsndbuf", |s: &mut Sock| {
        s.net().sndbuf().map(as_int).map_err(from_net)
    });
}

fn register_multicast(engine: &mut Engine) {
    engine.register_fn("join", |s: &mut Sock, group: &str| {
        s.net().join(group_ip(group)?, None).map_err(from_net)
    });
    engine.register_fn("join", |s: &mut Sock, group: &str, iface: &str| {
        let iface = Interface::parse(iface).map_err(from_net)?;
        s.net()
            .join(group_ip(group)?, Some(&iface))
            .map_err(from_net)
    });
    engine.register_fn("leave", |s: &mut Sock, group: &str| {
        s.net().leave(group_ip(group)?, None).map_err(from_net)
    });
    engine.register_fn("leave", |s: &mut Sock, group: &str, iface: &str| {
        let iface = Interface::parse(iface).map_err(from_net)?;
        s.net()
            .leave(group_ip(group)?, Some(&iface))
            .map_err(from_net)
    });
    engine.register_fn("setmulticastttl", |s: &mut Sock, ttl: i64| {
        let ttl = net::options::byte_value("setmulticastttl: the TTL", ttl, 0).map_err(from_net)?;
        s.net().set_multicast_ttl(ttl).map_err(from_net)
    });
    engine.register_fn("setmulticastloop", |s: &mut Sock, on: bool| {
        s.net().set_multicast_loop(on).map_err(from_net)
    });
    engine.register_fn("setmulticastif", |s: &mut Sock, iface: &str| {
        let iface = Interface::parse(iface).map_err(from_net)?;
        s.net().set_multicast_if(iface).map_err(from_net)
    });
}

fn group_ip(text: &str) -> Fallible<IpAddr> {
    let bare = text.trim().trim_start_matches('[').trim_end_matches(']');
    bare.parse().map_err(|_| {
        script_error(
            ErrorKind::Address,
            format!(
                "'{text}' is not a multicast group address (e.g. \"239.255.255.250\", \"ff02::fb\")"
            ),
        )
    })
}

fn buffer_bytes(what: &str, bytes: i64) -> Fallible<usize> {
    match usize::try_from(bytes) {
        Ok(n) if n > 0 && bytes <= i64::from(i32::MAX) => Ok(n),
        _ => Err(script_error(
            ErrorKind::Value,
            format!("{what}({bytes}): the size must be between 1 and 2147483647 bytes"),
        )),
    }
}

fn as_int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
