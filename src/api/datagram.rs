//! What `recvfrom` returns: fields like Python's tuple and more, printed usefully.
//!
//! | name | form | summary |
//! | --- | --- | --- |
//! | `time` | `d.time → float` | kernel receive time (SO_TIMESTAMPNS), Unix seconds |
//! | `dst` | `d.dst → string` | where it was sent, `"ip:port"` (a group for multicast) |
//! | `ttl`, `tos` | `d.ttl → int` | its IP TTL / hop limit and TOS / traffic class |
//! | `sock` | `d.sock → socket` | the socket that received it (`recv_any`) |
//! | `rtt`, `tries` | `r.rtt → float` | for `request`: seconds from the last send, sends made |

use std::any::Any;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rhai::{Blob, Dynamic, Engine, ImmutableString};

use crate::display;
use crate::net::Received;

use super::error::{ErrorKind, Fallible, script_error};

#[derive(Clone)]
pub struct Datagram {
    pub data: Blob,
    /// The real length on the wire, which is more than `data.len()` when truncated.
    pub len: usize,
    pub from: SocketAddr,
    /// Where it was sent: our address, a multicast group, a broadcast address.
    pub dst: Option<SocketAddr>,
    /// When the kernel received it.
    pub time: Option<SystemTime>,
    pub ttl: Option<u8>,
    pub tos: Option<u8>,
    /// The socket that received it: `socket.rs` attaches it and gives `d.sock` (a datagram
    /// needs no more of sockets than holding one).
    pub sock: Option<Arc<dyn Any + Send + Sync>>,
    /// For a `request` reply: seconds from the (last) send to the reply, and sends made.
    pub rtt: Option<f64>,
    pub tries: Option<u32>,
}

impl Default for Datagram {
    fn default() -> Datagram {
        Datagram {
            data: Blob::new(),
            len: 0,
            from: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            dst: None,
            time: None,
            ttl: None,
            tos: None,
            sock: None,
            rtt: None,
            tries: None,
        }
    }
}

impl From<Received> for Datagram {
    fn from(got: Received) -> Datagram {
        Datagram {
            len: got.len,
            from: got.from,
            data: got.data,
            time: got.time,
            ttl: got.ttl,
            tos: got.tos,
            ..Datagram::default()
        }
    }
}

impl Datagram {
    pub fn truncated(&self) -> bool {
        self.len > self.data.len()
    }

    pub fn text(&self) -> String {
        // Valid UTF-8 (the usual case) is checked by the fast validator and copied once.
        match std::str::from_utf8(&self.data) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(&self.data).into_owned(),
        }
    }
}

impl fmt::Display for Datagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} from {} ({} byte{}",
            display::payload_summary(&self.data),
            self.from,
            self.len,
            if self.len == 1 { "" } else { "s" }
        )?;
        if self.truncated() {
            write!(f, ", truncated to {}", self.data.len())?;
        }
        f.write_str(")")
    }
}

thread_local! {
    /// The last address this thread formatted: a server answers the same peers over and over,
    /// and the same string handed back lets `sendto` find its cached target by pointer.
    static LAST_ADDR: std::cell::RefCell<Option<(SocketAddr, ImmutableString)>> =
        const { std::cell::RefCell::new(None) };
}

/// `d.addr`, `d[1]`: the sender as `"ip:port"`, formatted once per peer.
fn addr_text(from: SocketAddr) -> ImmutableString {
    LAST_ADDR.with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return from.to_string().into();
        };
        match &*last {
            Some((addr, text)) if *addr == from => text.clone(),
            _ => {
                let text: ImmutableString = from.to_string().into();
                *last = Some((from, text.clone()));
                text
            }
        }
    })
}

fn or_unit<T: Into<Dynamic>>(value: Option<T>) -> Dynamic {
    value.map_or(Dynamic::UNIT, Into::into)
}

/// Unix seconds as a float, like `now()`.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Datagram>("datagram")
        .register_get("data", |d: &mut Datagram| d.data.clone())
        .register_get("text", |d: &mut Datagram| d.text())
        .register_get("addr", |d: &mut Datagram| addr_text(d.from))
        .register_get("ip", |d: &mut Datagram| d.from.ip().to_string())
        .register_get("port", |d: &mut Datagram| i64::from(d.from.port()))
        .register_get("len", |d: &mut Datagram| d.len as i64)
        .register_get("truncated", |d: &mut Datagram| d.truncated())
        .register_get("time", |d: &mut Datagram| or_unit(d.time.map(unix_seconds)))
        .register_get("dst", |d: &mut Datagram| {
            or_unit(d.dst.map(|a| a.to_string()))
        })
        .register_get("ttl", |d: &mut Datagram| or_unit(d.ttl.map(i64::from)))
        .register_get("tos", |d: &mut Datagram| or_unit(d.tos.map(i64::from)))
        .register_get("rtt", |d: &mut Datagram| or_unit(d.rtt))
        .register_get("tries", |d: &mut Datagram| or_unit(d.tries.map(i64::from)))
        .register_fn("hexdump", |d: &mut Datagram| display::hexdump(&d.data))
        .register_fn("to_string", |d: &mut Datagram| d.to_string())
        .register_fn("to_debug", |d: &mut Datagram| d.to_string())
        .register_indexer_get(|d: &mut Datagram, i: i64| -> Fallible<Dynamic> {
            match i {
                0 => Ok(Dynamic::from_blob(d.data.clone())),
                1 => Ok(addr_text(d.from).into()),
                _ => Err(script_error(
                    ErrorKind::Index,
                    format!("a datagram has [0] (data) and [1] (address), not [{i}]"),
                )),
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_formatted_once_per_peer_and_always_right() {
        let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let b: SocketAddr = "[::1]:53".parse().unwrap();
        let first = addr_text(a);
        assert_eq!(first, "127.0.0.1:5000");
        // The same peer again: the very same string (sendto finds its target by pointer).
        assert!(addr_text(a).ptr_eq(&first));
        assert_eq!(addr_text(b), "[::1]:53");
        assert_eq!(addr_text(a), "127.0.0.1:5000");
    }
}
