//! `udp()` and the socket methods of the SPEC, with recording, counting and `-v` output.

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
use super::{registry, values};

static SEND_ORDER: Mutex<()> = Mutex::new(());

/// A datagram as the run saw it, for `-v` and the capture.
#[derive(Clone, Copy)]
struct Seen<'a> {
    direction: Direction,
    src: SocketAddr,
    dst: SocketAddr,
    /// What was kept: fewer bytes than `len` when a receive truncated it.
    data: &'a [u8],
    len: usize,
}

/// A script's socket: cheap to clone, shared by threads.
#[derive(Clone)]
pub struct Sock(Arc<SockState>);

struct SockState {
    net: UdpSock,
    run: Arc<RunCtx>,
    /// Known once bound; saves a getsockname per datagram.
    local: OnceLock<SocketAddr>,
    /// The last target text and its parsed address: scripts send to the same place in loops.
    last_target: Mutex<Option<(ImmutableString, SockAddr)>>,
}

impl Drop for SockState {
    fn drop(&mut self) {
        if let Some(addr) = self.local.get() {
            registry::remove(*addr);
        }
    }
}

impl Sock {
    fn open(run: &Arc<RunCtx>, ipv6: bool) -> Fallible<Sock> {
        let net = UdpSock::new(ipv6).map_err(from_net)?;
        if run.is_recording() {
            net.want_destination();
        }
        Ok(Sock(Arc::new(SockState {
            net,
            run: run.clone(),
            local: OnceLock::new(),
            last_target: Mutex::new(None),
        })))
    }

    fn bound(run: &Arc<RunCtx>, addr: SocketAddr) -> Fallible<Sock> {
        let sock = Sock::open(run, addr.is_ipv6())?;
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
    fn bind_before_first_send(&self, to: &SockAddr) -> Fallible<()> {
        if self.0.net.local_addr().is_none() {
            let any = net::resolve("", 0, to.is_ipv6()).map_err(from_net)?;
            if any.is_ipv6() == self.0.net.is_ipv6() {
                self.0.net.bind(any).map_err(from_net)?;
            }
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

    fn target(&self, text: &ImmutableString) -> Fallible<SockAddr> {
        let mut last = self.0.last_target.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cached, addr)) = last.as_ref()
            && cached == text
        {
            return Ok(addr.clone());
        }
        let addr: SockAddr = net::parse_addr(text, self.0.net.is_ipv6())
            .map_err(from_net)?
            .into();
        *last = Some((text.clone(), addr.clone()));
        Ok(addr)
    }

    /// Sends and then records, counts and shows the datagram.
    pub fn send(&self, ctx: &ScriptCtx, line: usize, data: &[u8], to: &SockAddr) -> Fallible<i64> {
        if self.0.local.get().is_none() {
            self.bind_before_first_send(to)?;
        }
        let run = &self.0.run;
        // While recording, a send and its record happen as one step, so a peer thread's
        // answer can never be recorded before the datagram it answers.
        let _in_order = run
            .is_recording()
            .then(|| SEND_ORDER.lock().unwrap_or_else(|p| p.into_inner()));
        let sent = self.0.net.send_to(data, to).map_err(from_net)?;
        run.sent.fetch_add(1, Ordering::Relaxed);
        if run.is_recording() || run.verbose {
            self.observe_sent(ctx, line, "sendto", data, to)?;
        }
        Ok(sent as i64)
    }

    fn receive(&self, ctx: &ScriptCtx, line: usize, max: usize, what: &str) -> Fallible<Datagram> {
        let run = &self.0.run;
        let got = self.0.net.recv_from(max, &run.stop).map_err(from_net)?;
        run.received.fetch_add(1, Ordering::Relaxed);
        if run.is_recording() || run.verbose {
            self.observe_received(ctx, line, what, &got)?;
        }
        Ok(Datagram::from(got))
    }

    /// The REPL's watch: one datagram if one arrives within a wait slice (50 ms), else
    /// `None`, so the socket is never held while the user runs a line. Recorded and counted
    /// like `recvfrom`.
    pub fn poll_receive(&self, ctx: &ScriptCtx) -> Fallible<Option<Datagram>> {
        let run = &self.0.run;
        let one_slice = crate::stop::Stop::new(Some(Duration::ZERO));
        match self.0.net.recv_from(net::MAX_IPV6_PAYLOAD, &one_slice) {
            Ok(got) => {
                run.received.fetch_add(1, Ordering::Relaxed);
                if run.is_recording() || run.verbose {
                    self.observe_received(ctx, 0, "watch", &got)?;
                }
                Ok(Some(Datagram::from(got)))
            }
            Err(net::NetError::Stopped(_)) => Ok(None),
            Err(net::NetError::Failed {
                kind: net::ErrorKind::Timeout,
                ..
            }) => Ok(None),
            Err(e) => Err(from_net(e)),
        }
    }

    fn observe_received(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &str,
        got: &Received,
    ) -> Fallible<()> {
        let Some(local) = self.learn_local() else {
            return Ok(());
        };
        let seen = Seen {
            direction: Direction::Inbound,
            src: got.from,
            dst: SocketAddr::new(got.to.unwrap_or(local.ip()), local.port()),
            data: &got.data,
            len: got.len,
        };
        // A datagram from one of our own sockets was recorded when it was sent.
        self.observe(ctx, line, what, &seen, !registry::is_local(got.from))
    }

    /// Shows the datagram with `-v`, and records it when `record` says so.
    fn observe(
        &self,
        ctx: &ScriptCtx,
        line: usize,
        what: &str,
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

    fn record(&self, ctx: &ScriptCtx, line: usize, what: &str, seen: &Seen) -> Fallible<()> {
        let Some(recorder) = self.0.run.recorder() else {
            return Ok(());
        };
        let packet = Packet {
            src: seen.src,
            dst: seen.dst,
            payload: seen.data,
            len: seen.len,
            direction: seen.direction,
            comment: recorder
                .keeps_comments()
                .then(|| format!("{}:{line} {what}", ctx.name)),
            timestamp: SystemTime::now(),
        };
        let id = recorder
            .record(&packet)
            .map_err(|e| script_error(ErrorKind::Capture, e.to_string()))?;
        *self
            .0
            .run
            .last_packet
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(id);
        Ok(())
    }

    fn show(&self, seen: &Seen) {
        let Seen {
            direction,
            src,
            dst,
            data,
            len,
        } = *seen;
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
            "{arrow} {src} > {dst} {len} bytes{kept} {}",
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
        window: Duration,
    ) -> Fallible<Array> {
        // From now on each datagram says how many the kernel dropped (`s.drops`).
        self.0.net.want_drops();
        let previous = self.0.net.timeout();
        let end = std::time::Instant::now() + window;
        let mut all = Array::new();
        while all.len() < count {
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            self.0.net.set_timeout(Some(left)).map_err(from_net)?;
            match self.receive(ctx, line, net::MAX_IPV6_PAYLOAD, "collect") {
                Ok(d) => all.push(Dynamic::from(d)),
                Err(e) if is_timeout(&e) => break,
                Err(e) => {
                    let _ = self.0.net.set_timeout(previous);
                    return Err(e);
                }
            }
        }
        self.0.net.set_timeout(previous).map_err(from_net)?;
        Ok(all)
    }
}

fn is_timeout(err: &rhai::EvalAltResult) -> bool {
    super::error::is_kind(err, ErrorKind::Timeout)
}

fn line_of(ctx: &NativeCallContext) -> usize {
    ctx.call_position().line().unwrap_or(0)
}

fn seconds(value: f64) -> Fallible<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        script_error(
            ErrorKind::Value,
            format!("{value:?} is not a number of seconds"),
        )
    })
}

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_type_with_name::<Sock>("socket");
    register_constructors(engine, ctx);
    register_options(engine);
    register_send(engine, ctx);
    register_receive(engine, ctx);
}

fn register_constructors(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let run = ctx.run.clone();
    engine.register_fn("udp", move || Sock::open(&run, false));
    let run = ctx.run.clone();
    engine.register_fn("udp", move |port: i64| {
        let addr = net::resolve("", port, false).map_err(from_net)?;
        Sock::bound(&run, addr)
    });
    let run = ctx.run.clone();
    engine.register_fn("udp", move |addr: &str| {
        let addr = net::parse_addr(addr, addr.contains('[')).map_err(from_net)?;
        Sock::bound(&run, addr)
    });
    let run = ctx.run.clone();
    engine.register_fn("udp", move |host: &str, port: i64| {
        let addr = net::resolve(host, port, host.contains(':')).map_err(from_net)?;
        Sock::bound(&run, addr)
    });
    engine.register_fn("bind", |s: &mut Sock, addr: &str| {
        let addr = net::parse_addr(addr, s.net().is_ipv6()).map_err(from_net)?;
        s.bind(addr)
    });
    engine.register_fn("bind", |s: &mut Sock, host: &str, port: i64| {
        let addr = s.net().resolve(host, port).map_err(from_net)?;
        s.bind(addr)
    });
    engine.register_fn("bind", |s: &mut Sock, port: i64| {
        let addr = s.net().resolve("", port).map_err(from_net)?;
        s.bind(addr)
    });
}

fn register_options(engine: &mut Engine) {
    engine.register_get("local_addr", |s: &mut Sock| -> Dynamic {
        s.local_addr()
            .map_or(Dynamic::UNIT, |a| a.to_string().into())
    });
    engine.register_get("port", |s: &mut Sock| -> i64 {
        s.local_addr().map_or(0, |a| i64::from(a.port()))
    });
    engine.register_fn("settimeout", |s: &mut Sock, secs: f64| {
        s.net().set_timeout(Some(seconds(secs)?)).map_err(from_net)
    });
    engine.register_fn("settimeout", |s: &mut Sock, secs: i64| {
        s.net()
            .set_timeout(Some(seconds(secs as f64)?))
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
    engine.register_fn("to_string", |s: &mut Sock| describe(s));
    engine.register_fn("to_debug", |s: &mut Sock| describe(s));
}

fn describe(s: &Sock) -> String {
    let state = if s.net().is_closed() { " closed" } else { "" };
    match s.local_addr() {
        Some(addr) => format!("socket({addr}{state})"),
        None => format!("socket(unbound{state})"),
    }
}

fn register_send(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "sendto",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic, addr: ImmutableString| {
            let to = s.target(&addr)?;
            values::with_payload(&data, |bytes| s.send(&c, line_of(&nc), bytes, &to))
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "sendto",
        move |nc: NativeCallContext, s: &mut Sock, data: Dynamic, host: &str, port: i64| {
            let to: SockAddr = s.net().resolve(host, port).map_err(from_net)?.into();
            values::with_payload(&data, |bytes| s.send(&c, line_of(&nc), bytes, &to))
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
    let to: SockAddr = s.net().resolve(host, port).map_err(from_net)?.into();
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
    engine.register_fn(
        "collect",
        move |nc: NativeCallContext, s: &mut Sock, secs: f64| {
            s.collect(&c, line_of(&nc), usize::MAX, seconds(secs)?)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "collect",
        move |nc: NativeCallContext, s: &mut Sock, secs: i64| {
            s.collect(&c, line_of(&nc), usize::MAX, seconds(secs as f64)?)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "collect",
        move |nc: NativeCallContext, s: &mut Sock, opts: Map| {
            let count = match opts.get("count") {
                Some(v) => usize::try_from(values::int(v, "count")?)
                    .map_err(|_| script_error(ErrorKind::Value, "count must not be negative"))?,
                None => usize::MAX,
            };
            let window = match opts.get("timeout") {
                Some(v) => seconds(values::float(v, "timeout")?)?,
                None if count == usize::MAX => {
                    return Err(script_error(
                        ErrorKind::Value,
                        "collect needs a timeout or a count: collect(#{count: 10, timeout: 2.0})",
                    ));
                }
                // A count alone waits as long as a blocking recvfrom would (a year).
                None => Duration::from_secs(365 * 24 * 3600),
            };
            s.collect(&c, line_of(&nc), count, window)
        },
    );
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

    /// Before the first send: bind, so the local address is known (as `send` does).
    pub(super) fn prepare_send(&self, to: &SockAddr) -> Fallible<()> {
        if self.0.local.get().is_none() {
            self.bind_before_first_send(to)?;
        }
        Ok(())
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
        what: &str,
        data: &[u8],
        to: &SockAddr,
    ) -> Fallible<()> {
        let (Some(src), Some(dst)) = (self.learn_local(), to.as_socket()) else {
            return Ok(());
        };
        let seen = Seen {
            direction: Direction::Outbound,
            src,
            dst,
            data,
            len: data.len(),
        };
        self.observe(ctx, line, what, &seen, true)
    }
}
