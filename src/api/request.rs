//! Asking and waiting: `s.request(data, addr, #{timeout, retries, accept})` sends, waits and
//! resends; `select(socks, timeout)` and `recv_any(socks, timeout)` wait on several sockets.
//!
//! | name | form | summary |
//! | --- | --- | --- |
//! | `request` | `s.request(data, addr)` / `s.request(data, addr, #{timeout, retries, accept})` → datagram | the first reply `accept` approves, with `rtt` and `tries`; kind `timeout` after the last try |
//! | `select` | `select([a, b], seconds) → array` | the sockets with a datagram waiting; `[]` on timeout |
//! | `recv_any` | `recv_any([a, b], seconds) → datagram` | the first datagram on any; `d.sock` is its socket |
//!
//! `request` defaults: `timeout` the socket's (1 s when it has none) per try, `retries` 2
//! (3 sends in all). A reply is any datagram the socket receives (a server may answer from
//! another port, as TFTP does); `accept` narrows it, e.g. by a transaction id.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rhai::{Array, Dynamic, Engine, FnPtr, ImmutableString, Map, NativeCallContext};
use socket2::SockAddr;

use crate::net::{self, wait};

use super::context::ScriptCtx;
use super::datagram::Datagram;
use super::error::{ErrorKind, Fallible, from_net, script_error};
use super::socket::{Sock, line_of, optional_seconds};
use super::values;

/// How a `request` waits and which replies count.
pub struct RequestOptions {
    /// Per try; `None` waits without end.
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub accept: Option<Accept>,
}

/// Which replies a `request` takes: a script's `accept` closure, or a module's own match
/// (a DNS id, a CoAP token) for the `ask` of `udpsh/dns`, `udpsh/coap`, ...
pub enum Accept {
    Script(FnPtr),
    Native(Box<dyn Fn(&Datagram) -> bool>),
}

const REQUEST_KEYS: &[&str] = &["timeout", "retries", "accept"];
/// Per try, when neither the options nor the socket give a timeout.
const DEFAULT_TRY: Duration = Duration::from_secs(1);
const DEFAULT_RETRIES: u32 = 2;

impl RequestOptions {
    pub fn from_map(s: &Sock, opts: &Map) -> Fallible<RequestOptions> {
        values::check_keys(opts, "request", REQUEST_KEYS)?;
        let timeout = match opts.get("timeout") {
            Some(v) => optional_seconds(v, "timeout")?,
            None => Some(s.net().timeout().unwrap_or(DEFAULT_TRY)),
        };
        let retries = match opts.get("retries") {
            Some(v) => u32::try_from(values::int(v, "retries")?).map_err(|_| {
                script_error(ErrorKind::Value, "request: retries must be 0 or more")
            })?,
            None => DEFAULT_RETRIES,
        };
        let accept = match opts.get("accept") {
            None => None,
            Some(v) => Some(Accept::Script(v.clone().try_cast::<FnPtr>().ok_or_else(|| {
                script_error(
                    ErrorKind::Value,
                    format!(
                        "request: accept must be a function |d| ... returning true or false, not {}",
                        v.type_name()
                    ),
                )
            })?)),
        };
        Ok(RequestOptions {
            timeout,
            retries,
            accept,
        })
    }
}

impl Sock {
    /// Sends `data` to `to` and waits for a reply `accept` approves, resending after each
    /// timeout; a refusal (ICMP) ends it at once.
    pub fn request(
        &self,
        ctx: &ScriptCtx,
        nc: &NativeCallContext,
        data: &[u8],
        to: &SockAddr,
        opts: &RequestOptions,
    ) -> Fallible<Datagram> {
        let line = line_of(nc);
        let tries = opts.retries.saturating_add(1);
        let mut rejected = 0usize;
        for attempt in 1..=tries {
            // A try with no wait (timeout 0) still looks at --timeout and Ctrl-C.
            if let Some(reason) = ctx.run.stop.check() {
                return Err(super::error::stopped(reason));
            }
            let sent_at = SystemTime::now();
            self.send(ctx, line, data, to)?;
            let end = opts.timeout.and_then(|t| Instant::now().checked_add(t));
            loop {
                let left = end.map(|e| e.saturating_duration_since(Instant::now()));
                if left.is_some_and(|l| l.is_zero()) {
                    break;
                }
                let reply =
                    match self.receive_within(ctx, line, net::MAX_IPV6_PAYLOAD, "request", left) {
                        Ok(d) => d,
                        Err(e) if super::error::is_kind(&e, ErrorKind::Timeout) => break,
                        Err(e) => return Err(e),
                    };
                if !accepted(nc, opts.accept.as_ref(), &reply)? {
                    rejected += 1;
                    continue;
                }
                let mut reply = reply;
                let at = reply.time.unwrap_or_else(SystemTime::now);
                reply.rtt = Some(at.duration_since(sent_at).map_or(0.0, |d| d.as_secs_f64()));
                reply.tries = Some(attempt);
                return Ok(reply);
            }
        }
        Err(script_error(
            ErrorKind::Timeout,
            self.no_reply(to, tries, opts.timeout, rejected),
        ))
    }

    fn no_reply(
        &self,
        to: &SockAddr,
        tries: u32,
        each: Option<Duration>,
        rejected: usize,
    ) -> String {
        let to = to
            .as_socket()
            .map_or("?".to_string(), |a| net::canonical(a).to_string());
        let on = self
            .local_addr()
            .map_or("an unbound socket".to_string(), |a| a.to_string());
        let plural = if tries == 1 { "try" } else { "tries" };
        let skipped = match rejected {
            0 => String::new(),
            1 => "; 1 reply was not accepted".to_string(),
            n => format!("; {n} replies were not accepted"),
        };
        format!(
            "no reply from {to} after {tries} {plural} ({} each), waiting on {on}{skipped}{}",
            net::secs(each),
            self.last_sent_note()
        )
    }
}

/// Whether the script's `accept` takes this reply (every reply without one).
fn accepted(nc: &NativeCallContext, accept: Option<&Accept>, d: &Datagram) -> Fallible<bool> {
    let f = match accept {
        None => return Ok(true),
        Some(Accept::Native(f)) => return Ok(f(d)),
        Some(Accept::Script(f)) => f,
    };
    let verdict: Dynamic = f.call_within_context(nc, (Dynamic::from(d.clone()),))?;
    verdict.as_bool().map_err(|_| {
        script_error(
            ErrorKind::Value,
            format!(
                "request: accept must return true or false, not {}",
                super::forms::value_word(&verdict)
            ),
        )
    })
}

/// The sockets of a `select` / `recv_any` argument.
fn sockets(list: &Array, what: &str) -> Fallible<Vec<Sock>> {
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let sock = v.clone().try_cast::<Sock>().ok_or_else(|| {
                script_error(
                    ErrorKind::Value,
                    format!(
                        "{what}: item {i} is not a socket ({})",
                        super::forms::value_word(v)
                    ),
                )
            })?;
            if sock.net().is_closed() {
                return Err(script_error(
                    ErrorKind::Closed,
                    format!("{what}: item {i} is a closed socket"),
                ));
            }
            Ok(sock)
        })
        .collect()
}

fn select(ctx: &ScriptCtx, list: &Array, timeout: &Dynamic) -> Fallible<Array> {
    let socks = sockets(list, "select")?;
    let timeout = optional_seconds(timeout, "timeout")?;
    let nets: Vec<_> = socks.iter().map(|s| s.net()).collect();
    let ready = wait::ready(&nets, timeout, &ctx.run.stop).map_err(from_net)?;
    Ok(ready
        .into_iter()
        .map(|i| Dynamic::from(socks[i].clone()))
        .collect())
}

fn recv_any(ctx: &ScriptCtx, line: usize, list: &Array, timeout: &Dynamic) -> Fallible<Datagram> {
    let socks = sockets(list, "recv_any")?;
    if socks.is_empty() {
        return Err(script_error(
            ErrorKind::Value,
            "recv_any needs at least one socket",
        ));
    }
    let timeout = optional_seconds(timeout, "timeout")?;
    let end = timeout.and_then(|t| Instant::now().checked_add(t));
    let nets: Vec<_> = socks.iter().map(|s| s.net()).collect();
    loop {
        let left = end.map(|e| e.saturating_duration_since(Instant::now()));
        let ready = wait::ready(&nets, left, &ctx.run.stop).map_err(from_net)?;
        if ready.is_empty() {
            let names: Vec<String> = socks
                .iter()
                .map(|s| s.local_addr().map_or("unbound".into(), |a| a.to_string()))
                .collect();
            return Err(script_error(
                ErrorKind::Timeout,
                format!(
                    "timed out after {} waiting for a datagram on any of {}",
                    net::secs(timeout),
                    names.join(", ")
                ),
            ));
        }
        for i in ready {
            // Another thread may have taken it meanwhile: then wait on.
            if let Some(got) = socks[i]
                .net()
                .try_recv(net::MAX_IPV6_PAYLOAD)
                .map_err(from_net)?
            {
                return socks[i].received(ctx, line, "recv_any", got);
            }
        }
    }
}

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "request",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic, addr: ImmutableString| {
            let to = s.destination(&addr)?;
            let opts = RequestOptions::from_map(s, &Map::new())?;
            values::with_payload(&data, |bytes| s.request(&c, &nc, bytes, &to, &opts))
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "request",
        move |nc: NativeCallContext,
              s: &mut Sock,
              data: Dynamic,
              addr: ImmutableString,
              opts: Map| {
            let to = s.destination(&addr)?;
            let opts = RequestOptions::from_map(s, &opts)?;
            values::with_payload(&data, |bytes| s.request(&c, &nc, bytes, &to, &opts))
        },
    );
    let c = ctx.clone();
    engine.register_fn("select", move |list: Array, timeout: Dynamic| {
        select(&c, &list, &timeout)
    });
    let c = ctx.clone();
    engine.register_fn("select", move |list: Array| {
        select(&c, &list, &Dynamic::UNIT)
    });
    let c = ctx.clone();
    engine.register_fn(
        "recv_any",
        move |nc: NativeCallContext, list: Array, timeout: Dynamic| {
            recv_any(&c, line_of(&nc), &list, &timeout)
        },
    );
    let c = ctx.clone();
    engine.register_fn("recv_any", move |nc: NativeCallContext, list: Array| {
        recv_any(&c, line_of(&nc), &list, &Dynamic::UNIT)
    });
}
