//! `udpsh/tftp`: `tftp::get` and `tftp::put`, each step a `request` (resent on timeout, as
//! RFC 1350 resends the last packet), following the server's transfer port.

use std::net::SocketAddr;
use std::sync::Arc;

use rhai::{Blob, Dynamic, EvalAltResult, FuncRegistration, Map, Module, NativeCallContext};
use socket2::SockAddr;

use super::ask::Ask;
use super::{at, value_error};
use crate::api::context::ScriptCtx;
use crate::api::error::{ErrorKind, Fallible, script_error};
use crate::api::values::with_payload;
use crate::protocols::tftp::{self, Packet};

fn tftp_error(code: u16, message: &str) -> Box<EvalAltResult> {
    script_error(
        ErrorKind::Tftp,
        format!("TFTP error {code} from the server: {message}"),
    )
}

/// One transfer: where the next packet goes, and the server's transfer port once known.
struct Transfer<'a> {
    ask: &'a Ask<'a>,
    to: SockAddr,
    peer: Option<SocketAddr>,
}

impl Transfer<'_> {
    /// Sends `packet` and waits for the one `want` takes (or an ERROR) from the peer.
    fn step(&mut self, packet: &[u8], want: fn(&Packet, u16) -> bool, n: u16) -> Fallible<Packet> {
        let peer = self.peer;
        let reply = self.ask.request(packet, &self.to, move |d| {
            peer.is_none_or(|p| p == d.from)
                && tftp::parse(&d.data)
                    .is_ok_and(|p| matches!(p, Packet::Error { .. }) || want(&p, n))
        })?;
        // The server answers from a port of its own for the transfer: follow it.
        self.peer.get_or_insert(reply.from);
        self.to = reply.from.into();
        match tftp::parse(&reply.data).map_err(|e| script_error(ErrorKind::Tftp, e))? {
            Packet::Error { code, message } => Err(tftp_error(code, &message)),
            p => Ok(p),
        }
    }
}

fn is_data(p: &Packet, n: u16) -> bool {
    matches!(p, Packet::Data { block, .. } if *block == n)
}

fn is_ack(p: &Packet, n: u16) -> bool {
    matches!(p, Packet::Ack { block } if *block == n)
}

fn get(ask: &Ask, server: &str, file: &str) -> Fallible<Blob> {
    let mut t = Transfer {
        ask,
        to: ask.address(server)?,
        peer: None,
    };
    let mut send = tftp::read_request(file).map_err(value_error)?;
    let mut out = Vec::new();
    let mut block: u16 = 1;
    loop {
        let Packet::Data { data, .. } = t.step(&send, is_data, block)? else {
            return Err(script_error(ErrorKind::Tftp, "expected a DATA packet"));
        };
        out.extend_from_slice(&data);
        send = tftp::ack(block);
        if data.len() < tftp::BLOCK {
            ask.send(&send, &t.to)?;
            return Ok(out);
        }
        // A server that never ends the file is stopped here, or sooner by --max-memory.
        block = block.checked_add(1).ok_or_else(|| {
            script_error(
                ErrorKind::Tftp,
                format!(
                    "the server sent more than {} blocks (32 MiB), the most TFTP numbers \
                     without rollover: stopped reading",
                    u16::MAX
                ),
            )
        })?;
    }
}

fn put(ask: &Ask, server: &str, file: &str, data: &[u8]) -> Fallible<i64> {
    let mut t = Transfer {
        ask,
        to: ask.address(server)?,
        peer: None,
    };
    let mut send = tftp::write_request(file).map_err(value_error)?;
    let mut block: u16 = 0;
    let mut chunks = data.chunks(tftp::BLOCK).chain(
        // A file of a whole number of blocks ends with an empty one.
        (data.len().is_multiple_of(tftp::BLOCK)).then_some(&[][..]),
    );
    loop {
        t.step(&send, is_ack, block)?;
        let Some(chunk) = chunks.next() else {
            return Ok(data.len() as i64);
        };
        block = block.wrapping_add(1);
        send = tftp::data(block, chunk);
    }
}

pub fn register(m: &mut Module, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    FuncRegistration::new("get").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, file: &str| {
            let a = Ask::new(&c, &nc, &s, "tftp::get", &Map::new());
            at(&nc, a.and_then(|a| get(&a, server, file)))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("get").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, file: &str, o: Map| {
            let a = Ask::new(&c, &nc, &s, "tftp::get", &o);
            at(&nc, a.and_then(|a| get(&a, server, file)))
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("put").set_into_module(
        m,
        move |nc: NativeCallContext, s: Dynamic, server: &str, file: &str, data: Dynamic| {
            let a = Ask::new(&c, &nc, &s, "tftp::put", &Map::new());
            let sent = a.and_then(|a| with_payload(&data, |b| put(&a, server, file, b)));
            at(&nc, sent)
        },
    );
    let c = ctx.clone();
    FuncRegistration::new("put").set_into_module(
        m,
        move |nc: NativeCallContext,
              s: Dynamic,
              server: &str,
              file: &str,
              data: Dynamic,
              o: Map| {
            let a = Ask::new(&c, &nc, &s, "tftp::put", &o);
            let sent = a.and_then(|a| with_payload(&data, |b| put(&a, server, file, b)));
            at(&nc, sent)
        },
    );
}
