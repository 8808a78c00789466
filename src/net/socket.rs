//! [`UdpSock`]: one script socket. An unbound `udp()` starts as IPv4 and moves to IPv6 at its
//! first IPv6 bind, send, connect or join, taking its options along; after the first of
//! these its family is fixed. Receives wait in slices (a stop is seen within one), report the
//! real length, and carry the kernel's facts (time, destination, TTL, TOS). An ICMP error for
//! a datagram sent is read from the error queue and reported on the next receive.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::options::{self, Interface, Settings};
use super::sys::{self, ControlBuf, canonical};
use super::{ErrorKind, MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD, NetError, NetResult, group, secs};
use crate::stop::{SLICE, Stop};

/// One received datagram.
#[derive(Clone, Debug)]
pub struct Received {
    /// At most the requested size.
    pub data: Vec<u8>,
    /// The datagram's real length, larger than `data.len()` when it was cut.
    pub len: usize,
    pub from: SocketAddr,
    /// The datagram's destination address (IP_PKTINFO): ours, a group, a broadcast address.
    pub to: Option<IpAddr>,
    /// When the kernel received it (SO_TIMESTAMPNS).
    pub time: Option<SystemTime>,
    pub ttl: Option<u8>,
    pub tos: Option<u8>,
}

impl Received {
    pub fn truncated(&self) -> bool {
        self.len > self.data.len()
    }
}

/// A UDP socket; all methods take `&self` so one socket can be shared across threads.
#[derive(Debug)]
pub struct UdpSock {
    primary: Socket,
    primary_v6: bool,
    /// The IPv6 socket an unbound `udp()` moved to at its first IPv6 destination.
    moved: OnceLock<Socket>,
    /// Nothing has fixed the family yet (no bind, send, connect or join).
    open_family: AtomicBool,
    settings: Mutex<Settings>,
    /// What the user asked with `settimeout`; `None` blocks forever.
    timeout: Mutex<Option<Duration>>,
    closed: AtomicBool,
    /// The latest drop count SO_RXQ_OVFL reported.
    drops_seen: AtomicU32,
    /// A send consumed the pending error of an earlier datagram: the error queue has it.
    error_pending: AtomicBool,
    peer: Mutex<Option<SocketAddr>>,
    /// What the IP headers of its datagrams carry, for the capture: TTL (hop limit), the
    /// multicast TTL and TOS (traffic class); [`UNSET`] until a script sets them.
    header: [AtomicU16; 3],
    /// The last [`UdpSock::multicast_source`] found: (group, source).
    multicast_src: Mutex<Option<(SocketAddr, IpAddr)>>,
}

/// A header field the script never set: the kernel's default goes out.
const UNSET: u16 = u16::MAX;
const TTL: usize = 0;
const MULTICAST_TTL: usize = 1;
const TOS: usize = 2;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn make(ipv6: bool) -> NetResult<Socket> {
    let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| NetError::io("cannot create a UDP socket", e))?;
    // Blocking reads wake every slice to look at the stop flag.
    socket
        .set_read_timeout(Some(SLICE))
        .map_err(|e| NetError::io("cannot set socket timeout", e))?;
    options::ask_for_facts(&socket, ipv6);
    Ok(socket)
}

impl UdpSock {
    /// A socket of the given family, fixed.
    pub fn new(ipv6: bool) -> NetResult<UdpSock> {
        Ok(UdpSock {
            primary: make(ipv6)?,
            primary_v6: ipv6,
            moved: OnceLock::new(),
            open_family: AtomicBool::new(false),
            settings: Mutex::new(Settings::default()),
            timeout: Mutex::new(None),
            closed: AtomicBool::new(false),
            drops_seen: AtomicU32::new(0),
            error_pending: AtomicBool::new(false),
            peer: Mutex::new(None),
            header: [const { AtomicU16::new(UNSET) }; 3],
            multicast_src: Mutex::new(None),
        })
    }

    /// The TTL (hop limit) and TOS (traffic class) its datagrams to `dst` go out with, as a
    /// capture of the wire would show them: Linux's 64, or 1 to a multicast group, and TOS 0
    /// unless set.
    pub fn header_fields(&self, dst: std::net::IpAddr) -> (u8, u8) {
        let get = |i: usize, default: u8| match self.header[i].load(Ordering::Relaxed) {
            UNSET => default,
            v => v.min(255) as u8,
        };
        let multicast = match dst {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(v6.is_multicast(), |v4| v4.is_multicast()),
            std::net::IpAddr::V4(v4) => v4.is_multicast(),
        };
        let ttl = if multicast {
            get(MULTICAST_TTL, 1)
        } else {
            get(TTL, 64)
        };
        (ttl, get(TOS, 0))
    }

    /// `udp()`: IPv4 until its first use names an IPv6 address.
    pub fn unbound() -> NetResult<UdpSock> {
        let sock = UdpSock::new(false)?;
        sock.open_family.store(true, Ordering::Relaxed);
        Ok(sock)
    }

    /// A socket bound to `addr`, of that address's family.
    pub fn bound(addr: SocketAddr) -> NetResult<UdpSock> {
        let sock = UdpSock::new(addr.is_ipv6())?;
        sock.bind(addr)?;
        Ok(sock)
    }

    /// The OS socket in use now.
    pub fn socket(&self) -> &Socket {
        self.moved.get().unwrap_or(&self.primary)
    }

    fn fd(&self) -> RawFd {
        self.socket().as_raw_fd()
    }

    pub fn is_ipv6(&self) -> bool {
        self.moved.get().is_some() || self.primary_v6
    }

    /// Fixes the family at a first use; moves to IPv6 when that use is IPv6.
    fn settle(&self, ipv6: bool) -> NetResult<()> {
        if !self.open_family.load(Ordering::Acquire) {
            return Ok(());
        }
        let settings = lock(&self.settings);
        if !self.open_family.load(Ordering::Acquire) {
            return Ok(());
        }
        if ipv6 && self.moved.get().is_none() {
            let socket = make(true)?;
            options::apply_all(&socket, true, &settings)?;
            let _ = self.moved.set(socket);
        }
        self.open_family.store(false, Ordering::Release);
        Ok(())
    }

    /// The address in the socket's family: v4 destinations of an IPv6 socket go v4-mapped.
    fn native(&self, addr: SocketAddr) -> SocketAddr {
        match addr {
            SocketAddr::V4(v4) if self.is_ipv6() => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
            }
            other => other,
        }
    }

    pub fn bind(&self, addr: SocketAddr) -> NetResult<()> {
        self.check_open()?;
        self.settle(addr.is_ipv6())?;
        if addr.is_ipv6() && !self.is_ipv6() {
            return Err(NetError::new(
                ErrorKind::Address,
                format!("cannot bind an IPv4 socket to {addr}"),
            ));
        }
        self.socket()
            .bind(&self.native(addr).into())
            .map_err(|e| NetError::io(&format!("cannot bind to {addr}"), e))
    }

    /// The bound address (IPv4 shown plainly), or `None` before the first bind or send.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        let addr = self.socket().local_addr().ok()?.as_socket()?;
        (addr.port() != 0).then_some(canonical(addr))
    }

    pub fn set_timeout(&self, timeout: Option<Duration>) -> NetResult<()> {
        self.check_open()?;
        *lock(&self.timeout) = timeout;
        Ok(())
    }

    pub fn timeout(&self) -> Option<Duration> {
        *lock(&self.timeout)
    }

    /// Changes a setting: applied now, and kept for a socket made later (see `settle`).
    fn setting<T>(
        &self,
        change: impl FnOnce(&mut Settings),
        apply: impl FnOnce(&Socket, bool) -> NetResult<T>,
    ) -> NetResult<T> {
        self.check_open()?;
        let mut settings = lock(&self.settings);
        let done = apply(self.socket(), self.is_ipv6())?;
        change(&mut settings);
        Ok(done)
    }

    pub fn set_broadcast(&self, on: bool) -> NetResult<()> {
        self.setting(
            |s| s.broadcast = on,
            |sock, _| options::set_broadcast(sock, on),
        )
    }

    pub fn broadcast(&self) -> bool {
        lock(&self.settings).broadcast
    }

    pub fn set_reuse(&self, on: bool) -> NetResult<()> {
        self.setting(|s| s.reuse = on, |sock, _| options::set_reuse(sock, on))
    }

    pub fn set_ttl(&self, ttl: u32) -> NetResult<()> {
        self.setting(
            |s| s.ttl = Some(ttl),
            |sock, v6| options::set_ttl(sock, v6, ttl),
        )?;
        self.header[TTL].store(ttl.min(255) as u16, Ordering::Relaxed);
        Ok(())
    }

    pub fn set_tos(&self, tos: u32) -> NetResult<()> {
        self.setting(
            |s| s.tos = Some(tos),
            |sock, v6| options::set_tos(sock, v6, tos),
        )?;
        self.header[TOS].store(tos.min(255) as u16, Ordering::Relaxed);
        Ok(())
    }

    /// Sets SO_RCVBUF; returns what the kernel set (double the request, capped).
    pub fn set_rcvbuf(&self, bytes: usize) -> NetResult<usize> {
        self.setting(
            |s| s.rcvbuf = Some(bytes),
            |sock, _| options::set_rcvbuf(sock, bytes),
        )
    }

    pub fn rcvbuf(&self) -> NetResult<usize> {
        self.check_open()?;
        options::rcvbuf(self.socket())
    }

    pub fn set_sndbuf(&self, bytes: usize) -> NetResult<usize> {
        self.setting(
            |s| s.sndbuf = Some(bytes),
            |sock, _| options::set_sndbuf(sock, bytes),
        )
    }

    pub fn sndbuf(&self) -> NetResult<usize> {
        self.check_open()?;
        options::sndbuf(self.socket())
    }

    pub fn set_multicast_ttl(&self, ttl: u32) -> NetResult<()> {
        self.setting(
            |s| s.multicast_ttl = Some(ttl),
            |sock, v6| options::set_multicast_ttl(sock, v6, ttl),
        )?;
        self.header[MULTICAST_TTL].store(ttl.min(255) as u16, Ordering::Relaxed);
        Ok(())
    }

    pub fn set_multicast_loop(&self, on: bool) -> NetResult<()> {
        self.setting(
            |s| s.multicast_loop = Some(on),
            |sock, v6| options::set_multicast_loop(sock, v6, on),
        )
    }

    pub fn set_multicast_if(&self, iface: Interface) -> NetResult<()> {
        if let Interface::V6 { .. } = iface {
            self.settle(true)?;
        }
        let kept = iface.clone();
        *lock(&self.multicast_src) = None;
        self.setting(
            |s| s.multicast_if = Some(kept),
            |sock, v6| options::set_multicast_if(sock, v6, &iface),
        )
    }

    /// The source address the kernel gives a datagram to the multicast group `dst` after
    /// `setmulticastif`: asked of the kernel with a probe socket of the same settings (a UDP
    /// connect chooses the source as a send does), `None` if nothing was set or it fails.
    pub fn multicast_source(&self, dst: SocketAddr) -> Option<IpAddr> {
        if !dst.ip().is_multicast() {
            return None;
        }
        let iface = lock(&self.settings).multicast_if.clone()?;
        if let Some((group, src)) = *lock(&self.multicast_src)
            && group == dst
        {
            return Some(src);
        }
        let v6 = dst.is_ipv6();
        let probe = make(v6).ok()?;
        options::set_multicast_if(&probe, v6, &iface).ok()?;
        probe.connect(&dst.into()).ok()?;
        let src = probe.local_addr().ok()?.as_socket()?.ip();
        *lock(&self.multicast_src) = Some((dst, src));
        Some(src)
    }

    /// Joins a multicast group, on an interface or where the kernel routes the group.
    pub fn join(&self, group: IpAddr, iface: Option<&Interface>) -> NetResult<()> {
        self.check_open()?;
        self.settle(group.is_ipv6())?;
        options::membership(self.socket(), self.is_ipv6(), group, iface, true)
    }

    pub fn leave(&self, group: IpAddr, iface: Option<&Interface>) -> NetResult<()> {
        self.check_open()?;
        options::membership(self.socket(), self.is_ipv6(), group, iface, false)
    }

    /// Sends one datagram; refuses payloads that cannot fit one IP datagram.
    pub fn send_to(&self, data: &[u8], to: &SockAddr) -> NetResult<usize> {
        self.check_open()?;
        let Some(target) = to.as_socket() else {
            return Err(NetError::new(ErrorKind::Address, "not an IP address"));
        };
        check_size(data.len(), target)?;
        self.settle(target.is_ipv6())?;
        self.check_family(target)?;
        let native: SockAddr = self.native(target).into();
        self.retrying_once(|| self.socket().send_to(data, &native))
            .map_err(|e| self.send_error(target, e))
    }

    /// Sends to `native`, an address [`UdpSock::prepare_send`] gave for `target` before: the
    /// family is settled and checked, so only what can change (closed, size) is looked at.
    pub fn send_prepared(
        &self,
        data: &[u8],
        native: &SockAddr,
        target: SocketAddr,
    ) -> NetResult<usize> {
        self.check_open()?;
        check_size(data.len(), target)?;
        self.retrying_once(|| self.socket().send_to(data, native))
            .map_err(|e| self.send_error(target, e))
    }

    /// A send that failed with the error an earlier datagram met (ICMP, queued by
    /// IP_RECVERR) did not go out; that error is the next receive's to report.
    fn retrying_once(&self, send: impl Fn() -> io::Result<usize>) -> io::Result<usize> {
        match send() {
            Err(e) if is_icmp_errno(&e) => {
                self.error_pending.store(true, Ordering::Release);
                send()
            }
            other => other,
        }
    }

    fn check_family(&self, target: SocketAddr) -> NetResult<()> {
        if target.is_ipv6() && !self.is_ipv6() {
            let bound = self
                .local_addr()
                .map_or(String::new(), |a| format!(" (bound to {a})"));
            return Err(NetError::new(
                ErrorKind::Address,
                format!(
                    "cannot reach {target} from this IPv4 socket{bound}: make an IPv6 one, \
                     e.g. udp(\"[::]:0\")"
                ),
            ));
        }
        Ok(())
    }

    fn send_error(&self, target: SocketAddr, e: io::Error) -> NetError {
        let mut err = NetError::io(&format!("cannot send to {target}"), e);
        if let NetError::Failed {
            kind: ErrorKind::PermissionDenied,
            message,
        } = &mut err
            && !self.broadcast()
        {
            message.push_str(" (a broadcast address needs setbroadcast(true))");
        }
        err
    }

    /// Connects: `send` goes to `addr`, and only datagrams from it are received.
    pub fn connect(&self, addr: SocketAddr) -> NetResult<()> {
        self.check_open()?;
        self.settle(addr.is_ipv6())?;
        self.check_family(addr)?;
        self.socket()
            .connect(&self.native(addr).into())
            .map_err(|e| NetError::io(&format!("cannot connect to {addr}"), e))?;
        *lock(&self.peer) = Some(addr);
        Ok(())
    }

    /// The connected peer, if any.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        *lock(&self.peer)
    }

    /// Sends to the connected peer.
    pub fn send(&self, data: &[u8]) -> NetResult<(usize, SocketAddr)> {
        self.check_open()?;
        let Some(peer) = self.peer_addr() else {
            return Err(NetError::new(
                ErrorKind::Address,
                "send needs a connected socket: s.connect(addr) first, or use sendto(data, addr)",
            ));
        };
        check_size(data.len(), peer)?;
        let sent = self
            .retrying_once(|| self.socket().send(data))
            .map_err(|e| self.send_error(peer, e))?;
        Ok((sent, peer))
    }

    /// Asks the kernel for each datagram's destination address. Always on now; kept for
    /// callers from before.
    pub fn want_destination(&self) {}

    /// Asks the kernel to report, with each datagram received, how many datagrams it has
    /// dropped at this socket (SO_RXQ_OVFL); see [`UdpSock::drops`].
    pub fn want_drops(&self) {
        let _ = self.setting(
            |s| s.drop_counts = true,
            |sock, _| {
                let _ = sys::set_int(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1);
                Ok(())
            },
        );
    }

    /// Datagrams the kernel dropped at this socket since it was created, because its receive
    /// buffer was full: loss at the socket, as opposed to loss on the way.
    ///
    /// The kernel's own counter read now (SO_MEMINFO, Linux ≥ 4.6), so drops after the last
    /// datagram received count too; where that is unavailable, the count SO_RXQ_OVFL attached
    /// to the latest datagram received (after [`UdpSock::want_drops`]).
    pub fn drops(&self) -> u64 {
        let seen = u64::from(self.drops_seen.load(Ordering::Relaxed));
        meminfo_drops(self.socket()).map_or(seen, |now| now.max(seen))
    }

    /// Receives one datagram of at most `max` bytes, waiting up to the socket's timeout.
    pub fn recv_from(&self, max: usize, stop: &Stop) -> NetResult<Received> {
        self.recv_within(max, self.timeout(), stop)
    }

    /// As [`UdpSock::recv_from`], waiting up to `timeout` (`None`: without end) instead.
    pub fn recv_within(
        &self,
        max: usize,
        timeout: Option<Duration>,
        stop: &Stop,
    ) -> NetResult<Received> {
        self.check_open()?;
        // A wait too long for the clock is a wait without end.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let nonblocking = timeout.is_some_and(|t| t.is_zero());
        let mut scratch = RecvBuf::get(max.max(1));
        let buf = &mut scratch.0[..max.max(1)];
        let mut control = ControlBuf::new();
        // The last slice is shorter than SO_RCVTIMEO: wait for it with poll, then read
        // without blocking.
        let mut polled = nonblocking;
        loop {
            self.report_queued_error()?;
            let flags = if polled { libc::MSG_DONTWAIT } else { 0 };
            match self.receive_once(buf, &mut control, flags) {
                Ok(mut got) => {
                    // Exactly the bytes received: a datagram kept by a script holds no more.
                    got.data = buf[..got.len.min(max)].to_vec();
                    return Ok(got);
                }
                Err(e) if is_wait(&e) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_icmp_errno(&e) => return Err(self.queued_error(Some(e))),
                Err(e) => return Err(NetError::io("receive failed", e)),
            }
            if let Some(reason) = stop.check() {
                return Err(NetError::Stopped(reason));
            }
            self.check_open()?;
            let Some(deadline) = deadline else {
                continue;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out(timeout));
            }
            if left < SLICE {
                polled = true;
                let seen =
                    sys::poll(&[self.fd()], left).map_err(|e| NetError::io("receive failed", e))?;
                if seen.first().is_some_and(|r| r.error && !r.readable) {
                    return Err(self.queued_error(None));
                }
            }
        }
    }

    /// A datagram if one is queued now, else `None`; errors as [`UdpSock::recv_from`].
    pub fn try_recv(&self, max: usize) -> NetResult<Option<Received>> {
        self.check_open()?;
        self.report_queued_error()?;
        let mut scratch = RecvBuf::get(max.max(1));
        let buf = &mut scratch.0[..max.max(1)];
        let mut control = ControlBuf::new();
        match self.receive_once(buf, &mut control, libc::MSG_DONTWAIT) {
            Ok(mut got) => {
                got.data = buf[..got.len.min(max)].to_vec();
                Ok(Some(got))
            }
            Err(e) if is_wait(&e) || e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) if is_icmp_errno(&e) => Err(self.queued_error(Some(e))),
            Err(e) => Err(NetError::io("receive failed", e)),
        }
    }

    fn receive_once(
        &self,
        buf: &mut [u8],
        control: &mut ControlBuf,
        flags: i32,
    ) -> io::Result<Received> {
        let msg = sys::recvmsg(self.fd(), buf, control, flags)?;
        if let Some(drops) = msg.facts.drops {
            self.drops_seen.store(drops, Ordering::Relaxed);
        }
        Ok(Received {
            data: Vec::new(),
            len: msg.len,
            from: msg.from.unwrap_or(unspecified(self.is_ipv6())),
            to: msg.facts.dst,
            time: msg.facts.time,
            ttl: msg.facts.ttl,
            tos: msg.facts.tos,
        })
    }

    fn timed_out(&self, timeout: Option<Duration>) -> NetError {
        let on = match self.local_addr() {
            Some(addr) => format!("on {addr}"),
            None => "on an unbound socket (nothing can reach it before its first bind or send)"
                .to_string(),
        };
        NetError::new(
            ErrorKind::Timeout,
            format!(
                "timed out after {} waiting for a datagram {on}",
                secs(timeout)
            ),
        )
    }

    /// The error a send noticed for an earlier datagram, if any, as the receive's error.
    fn report_queued_error(&self) -> NetResult<()> {
        if self.error_pending.swap(false, Ordering::AcqRel) {
            return Err(self.queued_error(None));
        }
        Ok(())
    }

    /// Whether an error waits on the queue (for `select`: the socket is "ready" with it).
    pub fn has_queued_error(&self) -> bool {
        self.error_pending.load(Ordering::Acquire)
    }

    /// Reads the error queue (MSG_ERRQUEUE): which destination refused, and how.
    fn queued_error(&self, seen: Option<io::Error>) -> NetError {
        let mut refused: Vec<SocketAddr> = Vec::new();
        let mut other: Option<String> = None;
        let mut control = ControlBuf::new();
        let mut payload = [0u8; 1];
        // Every error queued so far belongs to the past: report them once, together (a
        // blast to a closed port queues hundreds).
        for _ in 0..100_000 {
            let Ok(msg) = sys::recvmsg(
                self.fd(),
                &mut payload,
                &mut control,
                libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
            ) else {
                break;
            };
            let Some(err) = msg.facts.error else { continue };
            let to = msg.from.map_or("?".to_string(), |a| a.to_string());
            if err.errno == libc::ECONNREFUSED {
                if let Some(addr) = msg.from
                    && !refused.contains(&addr)
                {
                    refused.push(addr);
                }
            } else if other.is_none() {
                let by = err
                    .offender
                    .map_or(String::new(), |o| format!(" (ICMP from {})", o.ip()));
                other = Some(format!(
                    "a datagram to {to} failed: {}{by}",
                    io::Error::from_raw_os_error(err.errno)
                ));
            }
        }
        if !refused.is_empty() {
            let names: Vec<String> = refused.iter().map(|a| a.to_string()).collect();
            let what = if names.len() == 1 {
                "the datagram"
            } else {
                "datagrams"
            };
            return NetError::new(
                ErrorKind::Refused,
                format!(
                    "{} refused {what}: ICMP port unreachable (nothing listens there)",
                    names.join(", ")
                ),
            );
        }
        if let Some(message) = other {
            return NetError::new(ErrorKind::Network, message);
        }
        match seen {
            Some(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                let who = self
                    .peer_addr()
                    .map_or("the peer".to_string(), |a| a.to_string());
                NetError::new(
                    ErrorKind::Refused,
                    format!(
                        "{who} refused the datagram: ICMP port unreachable (nothing listens there)"
                    ),
                )
            }
            Some(e) => NetError::io("receive failed", e),
            None => NetError::new(
                ErrorKind::Network,
                "a datagram this socket sent met an error",
            ),
        }
    }

    /// Closes it, like Python's `close()`: the port is free again at once, even while other
    /// handles of the socket live on (a thread, a datagram's `d.sock`). The descriptor itself
    /// is pointed at /dev/null rather than closed, so its number cannot be reused by another
    /// file under a thread still using it; every call then fails with kind `closed`.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::Relaxed) {
            return;
        }
        let Ok(null) = std::fs::File::open("/dev/null") else {
            return;
        };
        for socket in std::iter::once(&self.primary).chain(self.moved.get()) {
            // SAFETY: dup2 onto our own descriptor, which stays open (on /dev/null).
            unsafe { libc::dup2(null.as_raw_fd(), socket.as_raw_fd()) };
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Before a native send of the caller's own (blast): closed check, family settled.
    pub fn prepare_send(&self, to: &SockAddr) -> NetResult<SockAddr> {
        self.check_open()?;
        let Some(target) = to.as_socket() else {
            return Err(NetError::new(ErrorKind::Address, "not an IP address"));
        };
        self.settle(target.is_ipv6())?;
        self.check_family(target)?;
        Ok(self.native(target).into())
    }

    /// A native sender (blast) saw the error of an earlier datagram: the next receive reports it.
    pub fn note_send_error(&self) {
        self.error_pending.store(true, Ordering::Release);
    }

    fn check_open(&self) -> NetResult<()> {
        if self.is_closed() {
            return Err(NetError::new(ErrorKind::Closed, "the socket is closed"));
        }
        Ok(())
    }

    /// Resolves `host` and `port` for this socket: `""` is the any-address, `localhost`
    /// the loopback of the socket's own family, `<broadcast>` 255.255.255.255 as in Python.
    pub fn resolve(&self, host: &str, port: i64) -> NetResult<SocketAddr> {
        super::resolve(host, port, self.is_ipv6())
    }

    pub(super) fn raw_fd(&self) -> RawFd {
        self.fd()
    }
}

/// Errors an ICMP message leaves on a socket with IP_RECVERR.
fn is_icmp_errno(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH)
    )
}

fn check_size(len: usize, to: SocketAddr) -> NetResult<()> {
    let (limit, family) = if to.is_ipv6() {
        (MAX_IPV6_PAYLOAD, "IPv6")
    } else {
        (MAX_IPV4_PAYLOAD, "IPv4")
    };
    if len > limit {
        return Err(NetError::new(
            ErrorKind::Oversize,
            format!(
                "datagram of {} bytes is over the {family} UDP limit of {} bytes",
                group(len),
                group(limit)
            ),
        ));
    }
    Ok(())
}

/// The socket's drop counter (SK_MEMINFO_DROPS of SO_MEMINFO), where the kernel has it.
fn meminfo_drops(socket: &Socket) -> Option<u64> {
    let mut info = [0u32; libc::SK_MEMINFO_DROPS as usize + 1];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `info` and updates `len`.
    let rc = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    let full = std::mem::size_of_val(&info) as libc::socklen_t;
    (rc == 0 && len >= full).then(|| u64::from(info[libc::SK_MEMINFO_DROPS as usize]))
}

thread_local! {
    static RECV_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A receive buffer of at least `len` bytes, reused by the receives of a thread: a fresh
/// zeroed 64 KiB buffer per datagram cost more than all the rest of an echo server's loop, and
/// each datagram kept its 64 KiB (8,000 collected datagrams took 380 MB).
struct RecvBuf(Vec<u8>);

impl RecvBuf {
    /// Buffers up to this size are kept for the next receive.
    const KEEP: usize = 1 << 16;

    fn get(len: usize) -> RecvBuf {
        let mut buf = RECV_BUF.take();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        RecvBuf(buf)
    }
}

impl Drop for RecvBuf {
    fn drop(&mut self) {
        if self.0.len() <= RecvBuf::KEEP {
            RECV_BUF.set(std::mem::take(&mut self.0));
        }
    }
}

fn is_wait(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn unspecified(ipv6: bool) -> SocketAddr {
    if ipv6 {
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    } else {
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop() -> Stop {
        Stop::default()
    }

    fn closed_port(v6: bool) -> SocketAddr {
        let probe = if v6 {
            std::net::UdpSocket::bind("[::1]:0")
        } else {
            std::net::UdpSocket::bind("127.0.0.1:0")
        }
        .unwrap();
        probe.local_addr().unwrap()
        // dropped: nothing listens there any more
    }

    fn has_ipv6() -> bool {
        std::net::UdpSocket::bind("[::1]:0").is_ok()
    }

    #[test]
    fn receives_with_the_kernel_facts() {
        let rx = UdpSock::bound("127.0.0.1:0".parse().unwrap()).unwrap();
        rx.set_timeout(Some(Duration::from_secs(2))).unwrap();
        let tx = UdpSock::unbound().unwrap();
        tx.set_ttl(9).unwrap();
        tx.set_tos(0xb8).unwrap();
        let to = rx.local_addr().unwrap();
        let before = SystemTime::now();
        tx.send_to(b"hello", &to.into()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let got = rx.recv_from(3, &stop()).unwrap();
        assert_eq!((got.data.as_slice(), got.len), (&b"hel"[..], 5));
        assert_eq!(got.to, Some(to.ip()));
        assert_eq!((got.ttl, got.tos), (Some(9), Some(0xb8)));
        let time = got.time.unwrap();
        assert!(time >= before - Duration::from_millis(5) && time < SystemTime::now());
        // the receive came 20 ms after the kernel had the datagram
        assert!(SystemTime::now().duration_since(time).unwrap() >= Duration::from_millis(15));
    }

    #[test]
    fn refused_is_reported_at_once_connected_or_not() {
        for v6 in [false, true] {
            if v6 && !has_ipv6() {
                continue;
            }
            for connected in [false, true] {
                let to = closed_port(v6);
                let s = UdpSock::unbound().unwrap();
                s.set_timeout(Some(Duration::from_secs(5))).unwrap();
                if connected {
                    s.connect(to).unwrap();
                    s.send(b"x").unwrap();
                } else {
                    s.send_to(b"x", &to.into()).unwrap();
                }
                let started = Instant::now();
                let err = s.recv_from(16, &stop()).unwrap_err();
                assert!(started.elapsed() < Duration::from_millis(100));
                assert_eq!(err.kind(), Some(ErrorKind::Refused), "{err}");
                assert!(err.to_string().contains(&to.to_string()), "{err}");
            }
        }
    }

    #[test]
    fn a_send_after_a_refusal_goes_out_and_the_receive_reports_it() {
        let to = closed_port(false);
        let s = UdpSock::unbound().unwrap();
        s.set_timeout(Some(Duration::from_secs(5))).unwrap();
        s.send_to(b"1", &to.into()).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        s.send_to(b"2", &to.into()).unwrap();
        let err = s.recv_from(16, &stop()).unwrap_err();
        assert_eq!(err.kind(), Some(ErrorKind::Refused), "{err}");
    }

    #[test]
    fn an_unbound_socket_moves_to_ipv6_at_its_first_ipv6_use() {
        if !has_ipv6() {
            return;
        }
        let rx = UdpSock::bound("[::1]:0".parse().unwrap()).unwrap();
        rx.set_timeout(Some(Duration::from_secs(2))).unwrap();
        let tx = UdpSock::unbound().unwrap();
        tx.set_ttl(5).unwrap();
        assert!(!tx.is_ipv6());
        tx.send_to(b"six", &rx.local_addr().unwrap().into())
            .unwrap();
        assert!(tx.is_ipv6());
        let got = rx.recv_from(16, &stop()).unwrap();
        assert_eq!(got.ttl, Some(5), "the TTL moved along");
        // a v4 socket stays v4 and says why it cannot reach v6
        let v4 = UdpSock::bound("127.0.0.1:0".parse().unwrap()).unwrap();
        let err = v4
            .send_to(b"x", &rx.local_addr().unwrap().into())
            .unwrap_err();
        assert!(err.to_string().contains("IPv4 socket"), "{err}");
    }

    #[test]
    fn huge_timeouts_wait_without_panic() {
        let s = UdpSock::bound("127.0.0.1:0".parse().unwrap()).unwrap();
        s.set_timeout(Some(Duration::MAX)).unwrap();
        let stop = Stop::new(Some(Duration::from_millis(60)));
        assert!(matches!(s.recv_from(4, &stop), Err(NetError::Stopped(_))));
    }

    #[test]
    fn a_timeout_names_the_local_address() {
        let s = UdpSock::bound("127.0.0.1:0".parse().unwrap()).unwrap();
        s.set_timeout(Some(Duration::from_millis(30))).unwrap();
        let err = s.recv_from(4, &stop()).unwrap_err().to_string();
        let local = s.local_addr().unwrap().to_string();
        assert!(err.contains(&format!("on {local}")), "{err}");
    }

    #[test]
    fn options_on_a_closed_socket_fail() {
        let s = UdpSock::unbound().unwrap();
        s.close();
        for err in [
            s.set_timeout(None).unwrap_err(),
            s.set_broadcast(true).unwrap_err(),
        ] {
            assert_eq!(err.kind(), Some(ErrorKind::Closed));
        }
    }
}
