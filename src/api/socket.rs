//! `udp()` and the socket methods of the SPEC, with recording, counting and `-v` output.
//! Options are registered in `sockopts.rs`, `request`/`select`/`recv_any` in `request.rs`.
//!
//! | name | form | summary |
//! | --- | --- | --- |
//! | `connect` | `s.connect("host:port")` | fixes the peer: `send` goes there, only its datagrams arrive |
//! | `send` | `s.send(data) → int` | sends to the connected peer |
//! | `recv` | `s.recv(n) → blob` | the data of the next datagram |
//! | `peer_addr` | `s.peer_addr → string or ()` | the connected peer |

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use rhai::{Array, Dynamic, Engine, ImmutableString, Map, NativeCallContext};
use socket2::SockAddr;

use crate::capture::{Direction, Packet};
use crate::display;
use crate::net::{self, Received, UdpSock};

use super::context::{RunCtx, ScriptCtx};
use super::datagram::Datagram;
use super::error::{ErrorKind, Fallible, from_net, script_error};
use super::{callsite, registry, values};

static SEND_ORDER: Mutex<()> = Mutex::new(());

/// A datagram as the run saw it, for `-v` and the capture.
#[derive(Clone, Copy)]
struct Seen<'a> {
    direction: Direction,
    src: SocketAddr,
    dst: SocketAddr,
    /// What was kept: fewer bytes than `len` when a receive truncated it.
    data: &'a [u8],
    /// The datagram's real length.
    len: usize,
    time: SystemTime,
    /// Its IP header's TTL (hop limit) and TOS.
    ttl: u8,
    tos: u8,
}

/// What a socket sent last, for the message of a timeout.
#[derive(Clone, Copy)]
struct LastSent {
    len: usize,
    to: SocketAddr,
    line: usize,
    /// At the REPL, the number of the input that sent it (`<repl>#2`); 0 in a script.
    input: u32,
}

/// A `sendto` target as a script names it, and what it is.
struct Target {
    text: ImmutableString,
    addr: SockAddr,
    /// Once a datagram went there: the address as the kernel takes it (in the socket's family)
    /// and as recorded, so the next sends skip every check that cannot change.
    ready: Option<(SockAddr, SocketAddr)>,
}

/// A script's socket: cheap to clone, shared by threads.
#[derive(Clone)]
pub struct Sock(Arc<SockState>);

struct SockState {
    net: UdpSock,
    run: Arc<RunCtx>,
    /// Known once bound; saves a getsockname per datagram.
    local: OnceLock<SocketAddr>,
    /// The last target text and its address: scripts send to the same place in loops.
    last_target: Mutex<Option<Target>>,
    last_sent: Mutex<Option<LastSent>>,
}

impl Drop for SockState {
    fn drop(&mut self) {
        if let Some(addr) = self.local.get() {
            registry::remove(*addr);
        }
    }
}

impl fmt::Debug for Sock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe(self))
    }
}

impl Sock {
    fn wrap(run: &Arc<RunCtx>, net: UdpSock) -> Sock {
        Sock(Arc::new(SockState {
            net,
            run: run.clone(),
            local: OnceLock::new(),
            last_target: Mutex::new(None),
            last_sent: Mutex::new(None),
        }))
    }

    /// `udp()`: its family is chosen at its first use.
    fn unbound(run: &Arc<RunCtx>) -> Fallible<Sock> {
        Ok(Sock::wrap(run, UdpSock::unbound().map_err(from_net)?))
    }

    fn bound(run: &Arc<RunCtx>, addr: SocketAddr) -> Fallible<Sock> {
        let sock = Sock::wrap(run, UdpSock::new(addr.is_ipv6()).map_err(from_net)?);
        sock.bind(addr)?;
        Ok(sock)
    }

    pub fn net(&self) -> &UdpSock {
        &self.0.net
    }

    fn bind(&self, addr: SocketAddr) -> Fallible<()> {
        self.0.net.bind(addr).map_err(from_net)?;
        self.learn_local();
        Ok(())
    }

    /// Binds an unbound socket as the kernel would at its first send, so its address is
    /// known to be ours before the peer can answer (or receive) it.
    fn bind_before_first_send(&self) -> Fallible<()> {
        if self.0.net.local_addr().is_none() {
            // The family is settled by now (`prepare_send`): the any-address of that family.
            let any = net::resolve("", 0, self.0.net.is_ipv6()).map_err(from_net)?;
            self.0.net.bind(any).map_err(from_net)?;
        }
        self.learn_local();
        Ok(())
    }

    /// Records the local address once the kernel has given one (at bind or first send).
    fn learn_local(&self) -> Option<SocketAddr> {
        if let Some(addr) = self.0.local.get() {
            return Some(*addr);
        }
        let addr = self.0.net.local_addr()?;
        registry::add(addr);
        Some(*self.0.local.get_or_init(|| addr))
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.learn_local()
    }

    /// An address from a script's text, for this socket's family; a name lookup is stoppable.
    pub(super) fn address(&self, text: &str) -> Fallible<SocketAddr> {
        net::parse_addr_stoppable(text, self.0.net.is_ipv6(), &self.0.run.stop).map_err(from_net)
    }

    pub(super) fn host_port(&self, host: &str, port: i64) -> Fallible<SocketAddr> {
        net::resolve_stoppable(host, port, self.0.net.is_ipv6(), &self.0.run.stop).map_err(from_net)
    }

    fn target(&self, text: &ImmutableString) -> Fallible<SockAddr> {
        let mut last = self.0.last_target.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = last.as_ref()
            && same_text(&t.text, text)
        {
            return Ok(t.addr.clone());
        }
        let addr: SockAddr = self.address(text)?.into();
        *last = Some(Target {
            text: text.clone(),
            addr: addr.clone(),
            ready: None,
        });
        Ok(addr)
    }

    /// `s.sendto(data, "host:port")`: to a target sent to before, straight to the kernel.
    fn send_to_text(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        data: &[u8],
        text: &ImmutableString,
    ) -> Fallible<i64> {
        let ready = {
            let last = self.0.last_target.lock().unwrap_or_else(|p| p.into_inner());
            match last.as_ref() {
                Some(t) if same_text(&t.text, text) => t.ready.clone(),
                _ => None,
            }
        };
        let Some((native, dst)) = ready else {
            let to = self.target(text)?;
            let sent = self.send(ctx, line, data, &to)?;
            self.mark_ready(text, &to);
            return Ok(sent);
        };
        let run = &self.0.run;
        let _in_order = run
            .is_recording()
            .then(|| SEND_ORDER.lock().unwrap_or_else(|p| p.into_inner()));
        super::error::unless_stopped(&run.stop)?;
        let at = self.send_time();
        let sent = self
            .0
            .net
            .send_prepared(data, &native, dst)
            .map_err(from_net)?;
        self.sent_one(ctx, line, "sendto", data, dst, at)?;
        Ok(sent as i64)
    }

    /// After a send to the cached target: its native address, for the next sends.
    fn mark_ready(&self, text: &ImmutableString, to: &SockAddr) {
        let (Some(dst), Ok(native)) = (to.as_socket(), self.0.net.prepare_send(to)) else {
            return;
        };
        let mut last = self.0.last_target.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = last.as_mut()
            && same_text(&t.text, text)
        {
            t.ready = Some((native, dst));
        }
    }

    /// Sends and then records, counts and shows the datagram.
    pub fn send(&self, ctx: &ScriptCtx, line: usize, data: &[u8], to: &SockAddr) -> Fallible<i64> {
        let Some(dst) = to.as_socket() else {
            return Err(script_error(ErrorKind::Address, "not an IP address"));
        };
        if self.0.local.get().is_none() {
            self.0.net.prepare_send(to).map_err(from_net)?;
            self.bind_before_first_send()?;
        }
        let run = &self.0.run;
        // While recording, a send and its record happen as one step, so a peer thread's
        // answer can never be recorded before the datagram it answers.
        let _in_order = run
            .is_recording()
            .then(|| SEND_ORDER.lock().unwrap_or_else(|p| p.into_inner()));
        super::error::unless_stopped(&run.stop)?;
        let at = self.send_time();
        let sent = self.0.net.send_to(data, to).map_err(from_net)?;
        self.sent_one(ctx, line, "sendto", data, dst, at)?;
        Ok(sent as i64)
    }

    /// Sends to the connected peer (`s.send`).
    fn send_connected(&self, ctx: &ScriptCtx, line: usize, data: &[u8]) -> Fallible<i64> {
        let run = &self.0.run;
        let _in_order = run
            .is_recording()
            .then(|| SEND_ORDER.lock().unwrap_or_else(|p| p.into_inner()));
        super::error::unless_stopped(&run.stop)?;
        let at = self.send_time();
        let (sent, peer) = self.0.net.send(data).map_err(from_net)?;
        self.learn_local();
        self.sent_one(ctx, line, "send", data, peer, at)?;
        Ok(sent as i64)
    }

    /// Remembers a datagram sent (for the message of a later timeout).
    pub(super) fn note_sent(&self, len: usize, to: SocketAddr, line: usize) {
        self.note_sent_in(len, to, line, 0);
    }

    fn note_sent_in(&self, len: usize, to: SocketAddr, line: usize, input: u32) {
        *self.0.last_sent.lock().unwrap_or_else(|p| p.into_inner()) = Some(LastSent {
            len,
            to,
            line,
            input,
        });
    }

    /// When a datagram is sent, read before the system call while recording: the kernel
    /// stamps the peer's receive during it, and a reply must never seem to come first.
    fn send_time(&self) -> Option<SystemTime> {
        self.observes_sends().then(SystemTime::now)
    }

    fn sent_one(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &'static str,
        data: &[u8],
        to: SocketAddr,
        at: Option<SystemTime>,
    ) -> Fallible<()> {
        let input = ctx
            .name
            .strip_prefix("<repl>#")
            .and_then(|n| n.parse().ok());
        self.note_sent_in(data.len(), to, line, input.unwrap_or(0));
        let run = &self.0.run;
        run.sent.fetch_add(1, Ordering::Relaxed);
        if run.is_recording() || run.verbose {
            let at = at.unwrap_or_else(SystemTime::now);
            self.observe_sent(ctx, line, what, data, &to.into(), at)?;
        }
        Ok(())
    }

    fn connect(&self, addr: SocketAddr) -> Fallible<()> {
        self.0.net.connect(addr).map_err(from_net)?;
        self.learn_local();
        Ok(())
    }

    /// Receives one datagram within the socket's timeout.
    fn receive(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        max: usize,
        what: &'static str,
    ) -> Fallible<Datagram> {
        self.receive_within(ctx, line, max, what, self.0.net.timeout())
    }

    /// Receives one datagram within `timeout`; records, counts and shows it.
    pub(super) fn receive_within(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        max: usize,
        what: &'static str,
        timeout: Option<Duration>,
    ) -> Fallible<Datagram> {
        let run = &self.0.run;
        let got = match self.0.net.recv_within(max, timeout, &run.stop) {
            Ok(got) => got,
            Err(e) => return Err(from_net(self.explain(e))),
        };
        self.received(ctx, line, what, got)
    }

    /// Counts, records and shows a datagram received, and makes it the script's.
    pub(super) fn received(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &'static str,
        got: Received,
    ) -> Fallible<Datagram> {
        let run = &self.0.run;
        run.received.fetch_add(1, Ordering::Relaxed);
        if run.is_recording() || run.verbose {
            self.observe_received(ctx, line, what, &got)?;
        }
        // Whatever keeps what peers send (collect, tftp::get, a script's array) grows
        // datagram by datagram: each one is a point where --max-memory is looked at.
        super::error::within_memory(run.limits.memory)?;
        let port = self.learn_local().map_or(0, |a| a.port());
        let dst = got.to.map(|ip| SocketAddr::new(ip, port));
        let mut d = Datagram::from(got);
        d.dst = dst;
        d.sock = Some(self.0.clone());
        Ok(d)
    }

    /// A timeout says what this socket last sent, where to and from which line.
    pub(super) fn explain(&self, err: net::NetError) -> net::NetError {
        match err {
            net::NetError::Failed {
                kind: ErrorKind::Timeout,
                mut message,
            } => {
                message.push_str(&self.last_sent_note());
                net::NetError::Failed {
                    kind: ErrorKind::Timeout,
                    message,
                }
            }
            other => other,
        }
    }

    /// `; it last sent 5 bytes to 127.0.0.1:9 (line 3)`, or that it sent nothing.
    pub(super) fn last_sent_note(&self) -> String {
        match *self.0.last_sent.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(LastSent {
                len,
                to,
                line,
                input,
            }) => {
                let at = match (input, line) {
                    (0, 0) => String::new(),
                    (0, line) => format!(" (line {line})"),
                    (n, 0 | 1) => format!(" (<repl>#{n})"),
                    (n, line) => format!(" (<repl>#{n}:{line})"),
                };
                let sent = display::plural(len as u64, "byte", "bytes");
                format!("; this socket last sent {sent} to {to}{at}")
            }
            None => "; this socket has sent nothing".to_string(),
        }
    }

    /// The REPL's watch: one datagram if one arrives within a wait slice (50 ms), else
    /// `None`, so the socket is never held while the user runs a line. Recorded and counted
    /// like `recvfrom`.
    pub fn poll_receive(&self, ctx: &ScriptCtx, line: usize) -> Fallible<Option<Datagram>> {
        let one_slice = crate::stop::Stop::new(Some(Duration::ZERO));
        match self
            .0
            .net
            .recv_within(net::MAX_IPV6_PAYLOAD, None, &one_slice)
        {
            Ok(got) => self.received(ctx, line, "watch", got).map(Some),
            Err(net::NetError::Stopped(_)) => Ok(None),
            Err(net::NetError::Failed {
                kind: ErrorKind::Timeout,
                ..
            }) => Ok(None),
            Err(e) => Err(from_net(e)),
        }
    }

    fn observe_received(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &'static str,
        got: &Received,
    ) -> Fallible<()> {
        let Some(local) = self.learn_local() else {
            return Ok(());
        };
        let local = facing(local, got.from);
        let seen = Seen {
            direction: Direction::Inbound,
            src: got.from,
            dst: SocketAddr::new(got.to.unwrap_or(local.ip()), local.port()),
            data: &got.data,
            len: got.len,
            time: got.time.unwrap_or_else(SystemTime::now),
            ttl: got.ttl.unwrap_or(Packet::DEFAULT_TTL),
            tos: got.tos.unwrap_or(0),
        };
        // A datagram from one of our own sockets was recorded when it was sent.
        self.observe(ctx, line, what, &seen, !registry::is_local(got.from))
    }

    /// Shows the datagram with `-v`, and records it when `record` says so.
    fn observe(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &'static str,
        seen: &Seen,
        record: bool,
    ) -> Fallible<()> {
        if self.0.run.verbose {
            self.show(seen);
        }
        if record {
            self.record(ctx, line, what, seen)?;
        }
        Ok(())
    }

    fn record(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &'static str,
        seen: &Seen,
    ) -> Fallible<()> {
        let run = &self.0.run;
        let recorded = run.with_recorder(|recorder| {
            let record = |comment: Option<&str>| {
                recorder.record(&Packet {
                    src: seen.src,
                    dst: seen.dst,
                    payload: seen.data,
                    len: seen.len,
                    direction: seen.direction,
                    comment,
                    timestamp: seen.time,
                    ttl: seen.ttl,
                    tos: seen.tos,
                })
            };
            if recorder.keeps_comments() {
                callsite::with_comment(&ctx.name, line, what, |c| record(Some(c)))
            } else {
                record(None)
            }
        });
        match recorded {
            Some(Ok(id)) => run.set_last_packet(id),
            Some(Err(e)) => return Err(script_error(ErrorKind::Capture, e.to_string())),
            None => {}
        }
        Ok(())
    }

    fn show(&self, seen: &Seen) {
        let Seen {
            direction,
            mut src,
            dst,
            data,
            len,
            ..
        } = *seen;
        // As the capture shows it: the address the kernel sends from, never 0.0.0.0.
        if src.ip().is_unspecified() {
            src.set_ip(crate::capture::route::source_ip_for(dst.ip()));
        }
        let arrow = match direction {
            Direction::Outbound => "→",
            Direction::Inbound => "←",
        };
        let kept = if len > data.len() {
            format!(" (truncated to {})", data.len())
        } else {
            String::new()
        };
        let mut text = format!(
            "{arrow} {src} > {dst} {}{kept} {}",
            display::plural(len as u64, "byte", "bytes"),
            display::payload_summary(data)
        );
        if display::as_text(data).is_none() {
            text.push('\n');
            text.push_str(display::hexdump(data).trim_end());
        }
        self.0.run.out.line(&text);
    }

    fn collect(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        count: usize,
        window: Option<Duration>,
    ) -> Fallible<Array> {
        // From now on each datagram says how many the kernel dropped (`s.drops`).
        self.0.net.want_drops();
        let end = window.and_then(|w| std::time::Instant::now().checked_add(w));
        let mut all = Array::new();
        while all.len() < count {
            let left = end.map(|e| e.saturating_duration_since(std::time::Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                break;
            }
            match self.receive_within(ctx, line, net::MAX_IPV6_PAYLOAD, "collect", left) {
                Ok(d) => all.push(Dynamic::from(d)),
                Err(e) if super::error::is_kind(&e, ErrorKind::Timeout) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }
}

/// Whether two target texts are the same: the same string shared (a script's variable),
/// else the same characters.
fn same_text(a: &ImmutableString, b: &ImmutableString) -> bool {
    a.ptr_eq(b) || a == b
}

/// Our address as the peer sees it: an IPv6 any-address talking to an IPv4 peer
/// (dual-stack) is the IPv4 any-address, so a record never mixes the families.
fn facing(local: SocketAddr, peer: SocketAddr) -> SocketAddr {
    if local.is_ipv6() && peer.is_ipv4() {
        let ip = local.ip().to_canonical();
        let ip = if ip.is_ipv6() {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        } else {
            ip
        };
        return SocketAddr::new(ip, local.port());
    }
    local
}

pub(super) fn line_of(ctx: &NativeCallContext) -> usize {
    super::positions::real(ctx.call_source(), ctx.call_position()).0
}

/// Seconds or `()` (no limit) from a script value.
pub(super) fn optional_seconds(value: &Dynamic, name: &str) -> Fallible<Option<Duration>> {
    if value.is_unit() {
        return Ok(None);
    }
    values::seconds(values::float(value, name)?, name).map(Some)
}

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_type_with_name::<Sock>("socket");
    engine.register_get("sock", |d: &mut Datagram| {
        d.sock
            .clone()
            .and_then(|any| any.downcast::<SockState>().ok())
            .map_or(Dynamic::UNIT, |state| Dynamic::from(Sock(state)))
    });
    register_constructors(engine, ctx);
    register_send(engine, ctx);
    register_receive(engine, ctx);
}

fn register_constructors(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let run = ctx.run.clone();
    engine.register_fn("udp", move || Sock::unbound(&run));
    let run = ctx.run.clone();
    engine.register_fn("udp", move |port: i64| {
        let addr = net::resolve("", port, false).map_err(from_net)?;
        Sock::bound(&run, addr)
    });
    let run = ctx.run.clone();
    engine.register_fn("udp", move |addr: &str| {
        let addr =
            net::parse_addr_stoppable(addr, addr.contains('['), &run.stop).map_err(from_net)?;
        Sock::bound(&run, addr)
    });
    let run = ctx.run.clone();
    engine.register_fn("udp", move |host: &str, port: i64| {
        let addr =
            net::resolve_stoppable(host, port, host.contains(':'), &run.stop).map_err(from_net)?;
        Sock::bound(&run, addr)
    });
    engine.register_fn("bind", |s: &mut Sock, addr: &str| {
        let addr = s.address(addr)?;
        s.bind(addr)
    });
    engine.register_fn("bind", |s: &mut Sock, host: &str, port: i64| {
        let addr = s.host_port(host, port)?;
        s.bind(addr)
    });
    engine.register_fn("bind", |s: &mut Sock, port: i64| {
        let addr = s.host_port("", port)?;
        s.bind(addr)
    });
    engine.register_fn("connect", |s: &mut Sock, addr: &str| {
        let addr = s.address(addr)?;
        s.connect(addr)
    });
    engine.register_fn("connect", |s: &mut Sock, host: &str, port: i64| {
        let addr = s.host_port(host, port)?;
        s.connect(addr)
    });
}

pub(super) fn describe(s: &Sock) -> String {
    let state = if s.net().is_closed() { " closed" } else { "" };
    let peer = s
        .net()
        .peer_addr()
        .map_or(String::new(), |p| format!(" → {p}"));
    match s.local_addr() {
        Some(addr) => format!("socket({addr}{peer}{state})"),
        None => format!("socket(unbound{peer}{state})"),
    }
}

fn register_send(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "sendto",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic, addr: ImmutableString| {
            values::with_payload(&data, |bytes| {
                s.send_to_text(&c, line_of(&nc), bytes, &addr)
            })
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "sendto",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic, host: &str, port: i64| {
            let to: SockAddr = s.host_port(host, port)?.into();
            values::with_payload(&data, |bytes| s.send(&c, line_of(&nc), bytes, &to))
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "send",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic| {
            values::with_payload(&data, |bytes| s.send_connected(&c, line_of(&nc), bytes))
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "broadcast",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic, port: i64| {
            broadcast(&c, &nc, s, &data, "<broadcast>", port)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "broadcast",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic, host: &str, port: i64| {
            broadcast(&c, &nc, s, &data, host, port)
        },
    );
}

fn broadcast(
    ctx: &ScriptCtx,
    nc: &NativeCallContext,
    s: &Sock,
    data: &Dynamic,
    host: &str,
    port: i64,
) -> Fallible<i64> {
    s.net().set_broadcast(true).map_err(from_net)?;
    let to: SockAddr = s.host_port(host, port)?.into();
    values::with_payload(data, |bytes| s.send(ctx, line_of(nc), bytes, &to))
}

fn register_receive(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "recvfrom",
        move |nc: NativeCallContext, s: &mut Sock, max: i64| {
            s.receive(&c, line_of(&nc), buffer_size(max)?, "recvfrom")
        },
    );
    let c = ctx.clone();
    engine.register_fn("recvfrom", move |nc: NativeCallContext, s: &mut Sock| {
        s.receive(&c, line_of(&nc), net::MAX_IPV6_PAYLOAD, "recvfrom")
    });
    let c = ctx.clone();
    engine.register_fn(
        "recv",
        move |nc: NativeCallContext, s: &mut Sock, max: i64| {
            let d = s.receive(&c, line_of(&nc), buffer_size(max)?, "recv")?;
            Ok::<_, Box<rhai::EvalAltResult>>(d.data)
        },
    );
    let c = ctx.clone();
    engine.register_fn("recv", move |nc: NativeCallContext, s: &mut Sock| {
        let d = s.receive(&c, line_of(&nc), net::MAX_IPV6_PAYLOAD, "recv")?;
        Ok::<_, Box<rhai::EvalAltResult>>(d.data)
    });
    let c = ctx.clone();
    engine.register_fn(
        "collect",
        move |nc: NativeCallContext, s: &mut Sock, secs: f64| {
            s.collect(
                &c,
                line_of(&nc),
                usize::MAX,
                Some(values::seconds(secs, "collect")?),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "collect",
        move |nc: NativeCallContext, s: &mut Sock, secs: i64| {
            s.collect(
                &c,
                line_of(&nc),
                usize::MAX,
                Some(values::seconds(secs as f64, "collect")?),
            )
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "collect",
        move |nc: NativeCallContext, s: &mut Sock, opts: Map| {
            let (count, window) = collect_options(s, &opts)?;
            s.collect(&c, line_of(&nc), count, window)
        },
    );
}

/// `collect(#{count, timeout})`: a count alone waits as long as `recvfrom` would (the
/// socket's timeout); a timeout alone takes everything in the window.
fn collect_options(s: &Sock, opts: &Map) -> Fallible<(usize, Option<Duration>)> {
    values::check_keys(opts, "collect", &["count", "timeout"])?;
    let count = match opts.get("count") {
        Some(v) => usize::try_from(values::int(v, "count")?)
            .map_err(|_| script_error(ErrorKind::Value, "count must not be negative"))?,
        None => usize::MAX,
    };
    let window = match opts.get("timeout") {
        Some(v) => optional_seconds(v, "timeout")?,
        None if count == usize::MAX => {
            return Err(script_error(
                ErrorKind::Value,
                "collect needs a timeout or a count: collect(#{count: 10, timeout: 2.0})",
            ));
        }
        None => s.net().timeout(),
    };
    Ok((count, window))
}

fn buffer_size(max: i64) -> Fallible<usize> {
    match usize::try_from(max) {
        Ok(n) if n > 0 && n <= 1 << 20 => Ok(n),
        _ => Err(script_error(
            ErrorKind::Value,
            format!("recvfrom({max}): the buffer size must be between 1 and 1048576"),
        )),
    }
}

/// For the native fast path of `blast` (api/load.rs): the steps of [`Sock::send`] around the
/// send itself, so that a blast's datagrams are counted, ordered, recorded and shown as sends.
impl Sock {
    pub(super) fn run_ctx(&self) -> &Arc<RunCtx> {
        &self.0.run
    }

    /// The address of a `sendto` target text (the last one is kept parsed).
    pub(super) fn destination(&self, text: &ImmutableString) -> Fallible<SockAddr> {
        self.target(text)
    }

    /// Before the first send: bind, so the local address is known (as `send` does). Returns
    /// the address in the socket's own family (v4-mapped on an IPv6 socket).
    pub(super) fn prepare_send(&self, to: &SockAddr) -> Fallible<SockAddr> {
        let native = self.0.net.prepare_send(to).map_err(from_net)?;
        if self.0.local.get().is_none() {
            self.bind_before_first_send()?;
        }
        Ok(native)
    }

    /// Whether sends are recorded or shown now (`--pcap`, `-v`).
    pub(super) fn observes_sends(&self) -> bool {
        self.0.run.is_recording() || self.0.run.verbose
    }

    /// While recording, the guard that makes a send and its record one step (as in `send`).
    pub(super) fn send_order(&self) -> Option<std::sync::MutexGuard<'static, ()>> {
        self.0
            .run
            .is_recording()
            .then(|| SEND_ORDER.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Counts `n` datagrams the kernel took.
    pub(super) fn count_sent(&self, n: u64) {
        self.0.run.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Records and shows one sent datagram, as `send` does after sending.
    pub(super) fn observe_sent(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &'static str,
        data: &[u8],
        to: &SockAddr,
        at: SystemTime,
    ) -> Fallible<()> {
        let (Some(src), Some(dst)) = (self.learn_local(), to.as_socket()) else {
            return Ok(());
        };
        let dst = net::canonical(dst);
        let (ttl, tos) = self.0.net.header_fields(dst.ip());
        let mut src = facing(src, dst);
        // To a group after setmulticastif: the interface's address, as the kernel chose it.
        if src.ip().is_unspecified()
            && let Some(ip) = self.0.net.multicast_source(dst)
        {
            src.set_ip(ip);
        }
        let seen = Seen {
            direction: Direction::Outbound,
            src,
            dst,
            data,
            len: data.len(),
            time: at,
            ttl,
            tos,
        };
        self.observe(ctx, line, what, &seen, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dual_stack_any_address_faces_v4_peers_as_v4() {
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            facing("[::]:5".parse().unwrap(), peer),
            "0.0.0.0:5".parse().unwrap()
        );
        assert_eq!(
            facing("[::1]:5".parse().unwrap(), "[::1]:9".parse().unwrap()),
            "[::1]:5".parse().unwrap()
        );
    }
}
