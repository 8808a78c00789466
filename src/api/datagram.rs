//! What `recvfrom` returns: fields like Python's tuple and more, printed usefully.

use std::fmt;
use std::net::SocketAddr;

use rhai::{Blob, Dynamic, Engine};

use crate::display;
use crate::net::Received;

use super::error::{ErrorKind, Fallible, script_error};

#[derive(Clone, Debug)]
pub struct Datagram {
    pub data: Blob,
    /// The real length on the wire, which is more than `data.len()` when truncated.
    pub len: usize,
    pub from: SocketAddr,
}

impl From<Received> for Datagram {
    fn from(got: Received) -> Datagram {
        Datagram {
            len: got.len,
            from: got.from,
            data: got.data,
        }
    }
}

impl Datagram {
    pub fn truncated(&self) -> bool {
        self.len > self.data.len()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
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

pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Datagram>("datagram")
        .register_get("data", |d: &mut Datagram| d.data.clone())
        .register_get("text", |d: &mut Datagram| d.text())
        .register_get("addr", |d: &mut Datagram| d.from.to_string())
        .register_get("ip", |d: &mut Datagram| d.from.ip().to_string())
        .register_get("port", |d: &mut Datagram| i64::from(d.from.port()))
        .register_get("len", |d: &mut Datagram| d.len as i64)
        .register_get("truncated", |d: &mut Datagram| d.truncated())
        .register_fn("hexdump", |d: &mut Datagram| display::hexdump(&d.data))
        .register_fn("to_string", |d: &mut Datagram| d.to_string())
        .register_fn("to_debug", |d: &mut Datagram| d.to_string())
        .register_indexer_get(|d: &mut Datagram, i: i64| -> Fallible<Dynamic> {
            match i {
                0 => Ok(Dynamic::from_blob(d.data.clone())),
                1 => Ok(d.from.to_string().into()),
                _ => Err(script_error(
                    ErrorKind::Index,
                    format!("a datagram has [0] (data) and [1] (address), not [{i}]"),
                )),
            }
        });
}
