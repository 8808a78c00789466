//! What `coap::ask` and `coap::observe` do on the wire: one exchange (a request by
//! `request`, its response by token, a separate CON response confirmed), block-wise
//! transfers (RFC 7959: Block1 for a large payload, Block2 for a large resource), and an
//! observation (RFC 7641: register, collect, deregister). Block and option values are
//! [`crate::protocols::coap`]'s.

use std::net::SocketAddr;

use rhai::{Array, Map};
use socket2::SockAddr;

use super::ask::{Ask, timed};
use super::coap_map::{Shape, message};
use super::value_error;
use crate::api::Datagram;
use crate::api::context::ScriptCtx;
use crate::api::error::Fallible;
use crate::protocols::coap::{self, BLOCK1, BLOCK2, Block, Message, OBSERVE, SIZE1};

/// Block size when a script names none: the largest, 1024 bytes.
const DEFAULT_SZX: u8 = 6;

/// One transfer with one server: its address, the token all its requests carry, and
/// the options the script asked for.
pub struct Transfer<'a> {
    ctx: &'a ScriptCtx,
    ask: &'a Ask<'a>,
    to: SockAddr,
    token: Vec<u8>,
    shape: &'a Shape,
    /// Request/response exchanges so far.
    exchanges: i64,
}

impl<'a> Transfer<'a> {
    pub fn new(
        ctx: &'a ScriptCtx,
        ask: &'a Ask<'a>,
        server: &str,
        shape: &'a Shape,
    ) -> Fallible<Transfer<'a>> {
        let token = match &shape.token {
            Some(t) => t.clone(),
            None => ctx.random.bytes(4),
        };
        Ok(Transfer {
            ctx,
            ask,
            to: ask.address(server)?,
            token,
            shape,
            exchanges: 0,
        })
    }

    /// One request and its response; `expect` is a block option whose NUM the response
    /// must echo when it carries that option (a late answer to an earlier block is not it).
    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        extra: &[(u16, Vec<u8>)],
        payload: &[u8],
        expect: Option<(&'static str, u32)>,
    ) -> Fallible<(Message, Datagram)> {
        let mid = (self.ctx.random.u64() & 0xffff) as u16;
        let mut options = self.shape.options.clone();
        options.extend_from_slice(extra);
        let req = coap::build(&coap::Request {
            method,
            path,
            confirmable: self.shape.confirmable,
            mid,
            token: &self.token,
            options: &options,
            payload,
        })
        .map_err(|e| value_error(format!("coap: {e}")))?;
        let token = self.token.clone();
        let reply = self.ask.request(&req, &self.to, move |d| {
            coap::parse(&d.data).is_ok_and(|m| {
                coap::answers(&m, mid, &token)
                    && expect.is_none_or(|(name, num)| {
                        Block::in_message(&m, name).is_none_or(|b| b.num == num)
                    })
            })
        })?;
        self.exchanges += 1;
        let msg = self.confirm(&reply)?;
        Ok((msg, reply))
    }

    /// The message of a datagram; a CON one (a separate response, a notification) is
    /// confirmed with an empty ACK, or the server sends it again.
    fn confirm(&self, d: &Datagram) -> Fallible<Message> {
        let msg = coap::parse(&d.data).map_err(|e| value_error(format!("coap: {e}")))?;
        if msg.mtype == "CON" {
            self.ask
                .send(&coap::empty_ack(msg.mid), &SockAddr::from(d.from))?;
        }
        Ok(msg)
    }

    fn szx(&self) -> u8 {
        self.shape.block.unwrap_or(DEFAULT_SZX)
    }

    /// `coap::ask`: the payload in Block1 blocks when it is larger than a block, then the
    /// rest of a Block2 response (for GET and FETCH); the last response with the whole body.
    pub fn ask(&mut self, method: &str, path: &str, payload: &[u8], max: usize) -> Fallible<Map> {
        let (mut msg, mut reply) = self.send_payload(method, path, payload)?;
        let mut body = msg.payload.clone();
        let follows = matches!(method.to_ascii_uppercase().as_str(), "GET" | "FETCH");
        // Only a 2.05 Content is cut into blocks; a 2.03 Valid (an ETag that matched) ends it.
        while let Some(b) =
            Block::in_message(&msg, "Block2").filter(|b| b.more && follows && msg.code == "2.05")
        {
            let etag = etag(&msg);
            let next = Block {
                num: block_after(b, msg.payload.len(), path)?,
                more: false,
                szx: b.szx,
            };
            let opt = (BLOCK2, coap::uint_bytes(next.to_uint()));
            (msg, reply) = self.exchange(method, path, &[opt], &[], Some(("Block2", next.num)))?;
            // A block without an ETag says nothing (libcoap sends it with the first only).
            let now = self::etag(&msg);
            if msg.code == "2.05" && etag.is_some() && now.is_some() && etag != now {
                return Err(value_error(format!(
                    "coap::ask {path}: the resource changed during the block-wise transfer (its ETag changed at block {})",
                    next.num
                )));
            }
            if msg.code != "2.05" {
                break;
            }
            if body.len() + msg.payload.len() > max {
                return Err(value_error(format!(
                    "coap::ask {path}: the response is over the memory limit ({max} bytes)"
                )));
            }
            body.extend_from_slice(&msg.payload);
        }
        if msg.code.starts_with('2') {
            msg.payload = body;
        }
        let mut m = message(&msg);
        m.insert("blocks".into(), self.exchanges.into());
        Ok(timed(m, &reply))
    }

    /// The request, or its payload block by block (Block1) while the server says 2.31
    /// Continue; a smaller block size the server asks for is taken from then on.
    fn send_payload(
        &mut self,
        method: &str,
        path: &str,
        payload: &[u8],
    ) -> Fallible<(Message, Datagram)> {
        let mut szx = self.szx();
        let early = self.shape.block.map(|szx| {
            let b = Block {
                num: 0,
                more: false,
                szx,
            };
            (BLOCK2, coap::uint_bytes(b.to_uint()))
        });
        if payload.len() <= 1 << (szx + 4) {
            let extra: Vec<_> = early.into_iter().collect();
            return self.exchange(method, path, &extra, payload, None);
        }
        let mut sent = 0;
        loop {
            let size = 1 << (szx + 4);
            let num = u32::try_from(sent / size)
                .ok()
                .filter(|n| *n <= Block::MAX_NUM)
                .ok_or_else(|| {
                    value_error(format!(
                        "coap: a payload of {} bytes needs more blocks than Block1 can number",
                        payload.len()
                    ))
                })?;
            let end = (sent + size).min(payload.len());
            let block = Block {
                num,
                more: end < payload.len(),
                szx,
            };
            let mut extra = vec![(BLOCK1, coap::uint_bytes(block.to_uint()))];
            if num == 0 {
                extra.push((SIZE1, coap::uint_bytes(payload.len() as u64)));
            }
            let (msg, reply) = self.exchange(
                method,
                path,
                &extra,
                &payload[sent..end],
                Some(("Block1", num)),
            )?;
            if !block.more || msg.code != "2.31" {
                return Ok((msg, reply));
            }
            sent = end;
            // The server may ask for smaller blocks (RFC 7959 §2.5).
            if let Some(b) = Block::in_message(&msg, "Block1").filter(|b| b.szx < szx) {
                szx = b.szx;
            }
        }
    }

    /// `coap::observe`: a GET with Observe 0, then notifications until `n` have come
    /// (the registration's response is the first), then a GET with Observe 1.
    pub fn observe(&mut self, path: &str, n: usize) -> Fallible<Array> {
        let register = [(OBSERVE, Vec::new())];
        let (first, reply) = self.exchange("GET", path, &register, &[], None)?;
        let registered = has_observe(&first);
        let mut out: Array = vec![timed(message(&first), &reply).into()];
        let from = reply.from;
        while registered && out.len() < n {
            let d = self.next_notification(from, path)?;
            let msg = self.confirm(&d)?;
            if !msg.code.starts_with('2') || !has_observe(&msg) {
                // An error or a final response ends the observation (RFC 7641 §3.2).
                out.push(message(&msg).into());
                return Ok(out);
            }
            out.push(message(&msg).into());
        }
        if registered {
            self.exchange("GET", path, &[(OBSERVE, coap::uint_bytes(1))], &[], None)?;
        }
        Ok(out)
    }

    /// The next notification of this observation, within the ask's whole budget (timeout
    /// times tries): a server notifies at its own pace.
    fn next_notification(&self, from: SocketAddr, path: &str) -> Fallible<Datagram> {
        let token = self.token.clone();
        self.ask
            .receive(&format!("coap::observe {path}: a notification"), move |d| {
                d.from == from
                    && coap::parse(&d.data).is_ok_and(|m| m.token == token && m.code != "0.00")
            })
    }
}

fn has_observe(msg: &Message) -> bool {
    msg.options.iter().any(|(n, _)| n == "Observe")
}

fn etag(msg: &Message) -> Option<coap::OptionValue> {
    msg.options
        .iter()
        .find(|(n, _)| n == "ETag")
        .map(|(_, v)| v.clone())
}

/// The Block2 NUM after block `b`, whose payload was `len` bytes: every block but the last
/// is whole (RFC 7959 §2.2), so a server that sends less cannot keep the transfer going.
fn block_after(b: Block, len: usize, path: &str) -> Fallible<u32> {
    if len != b.size() {
        return Err(value_error(format!(
            "coap::ask {path}: block {} has {len} bytes and says more follow, but every block before the last has {}",
            b.num,
            b.size()
        )));
    }
    Some(b.num + 1)
        .filter(|n| *n <= Block::MAX_NUM)
        .ok_or_else(|| {
            value_error(format!(
                "coap::ask {path}: more blocks than Block2 can number"
            ))
        })
}
