//! The UDP socket under a script's `udp()`: socket2 underneath, timeouts that wait in short
//! slices so a stop is seen, receives that never truncate silently. Knows nothing of Rhai.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

pub use crate::kind::ErrorKind;
use crate::stop::{SLICE, Stop, StopReason};

/// Largest UDP payload in one IPv4 datagram: 65,535 − 20 (IP) − 8 (UDP).
pub const MAX_IPV4_PAYLOAD: usize = 65_507;
/// Largest UDP payload in one IPv6 datagram without jumbograms: 65,535 − 8 (UDP).
pub const MAX_IPV6_PAYLOAD: usize = 65_527;

#[derive(Debug)]
pub enum NetError {
    Failed { kind: ErrorKind, message: String },
    Stopped(StopReason),
}

impl NetError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> NetError {
        NetError::Failed {
            kind,
            message: message.into(),
        }
    }

    fn io(what: &str, err: io::Error) -> NetError {
        let kind = match err.kind() {
            io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ErrorKind::Timeout,
            _ => ErrorKind::Network,
        };
        NetError::new(kind, format!("{what}: {err}"))
    }
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Failed { message, .. } => f.write_str(message),
            NetError::Stopped(reason) => write!(f, "stopped ({})", reason.as_str()),
        }
    }
}

pub type NetResult<T> = Result<T, NetError>;

/// One received datagram.
#[derive(Clone, Debug)]
pub struct Received {
    /// At most the requested size.
    pub data: Vec<u8>,
    /// The datagram's real length, larger than `data.len()` when it was cut.
    pub len: usize,
    pub from: SocketAddr,
    /// The datagram's destination address, when asked for (`recv_with_dst`).
    pub to: Option<IpAddr>,
}

impl Received {
    pub fn truncated(&self) -> bool {
        self.len > self.data.len()
    }
}

/// A UDP socket; all methods take `&self` so one socket can be shared across threads.
#[derive(Debug)]
pub struct UdpSock {
    socket: Socket,
    domain: Domain,
    /// What the user asked with `settimeout`; `None` blocks forever.
    timeout: Mutex<Option<Duration>>,
    broadcast: AtomicBool,
    closed: AtomicBool,
    pktinfo: AtomicBool,
    /// SO_RXQ_OVFL is on: each datagram comes with the socket's drop count.
    rxq_ovfl: AtomicBool,
    /// The latest drop count SO_RXQ_OVFL reported.
    drops_seen: AtomicU32,
}

impl UdpSock {
    /// An unbound socket of the given family (IPv4 unless told otherwise).
    pub fn new(ipv6: bool) -> NetResult<UdpSock> {
        let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
        let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
            .map_err(|e| NetError::io("cannot create a UDP socket", e))?;
        // Blocking reads wake every slice to look at the stop flag.
        socket
            .set_read_timeout(Some(SLICE))
            .map_err(|e| NetError::io("cannot set socket timeout", e))?;
        Ok(UdpSock {
            socket,
            domain,
            timeout: Mutex::new(None),
            broadcast: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            pktinfo: AtomicBool::new(false),
            rxq_ovfl: AtomicBool::new(false),
            drops_seen: AtomicU32::new(0),
        })
    }

    /// A socket bound to `addr`, of that address's family.
    pub fn bound(addr: SocketAddr) -> NetResult<UdpSock> {
        let sock = UdpSock::new(addr.is_ipv6())?;
        sock.bind(addr)?;
        Ok(sock)
    }

    pub fn is_ipv6(&self) -> bool {
        self.domain == Domain::IPV6
    }

    pub fn bind(&self, addr: SocketAddr) -> NetResult<()> {
        self.check_open()?;
        if addr.is_ipv6() != self.is_ipv6() {
            return Err(NetError::new(
                ErrorKind::Address,
                format!("cannot bind an {} socket to {addr}", self.family_name()),
            ));
        }
        self.socket
            .bind(&addr.into())
            .map_err(|e| NetError::io(&format!("cannot bind to {addr}"), e))
    }

    /// The bound address, or `None` before the first bind or send.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        let addr = self.socket.local_addr().ok()?.as_socket()?;
        (addr.port() != 0).then_some(addr)
    }

    pub fn set_timeout(&self, timeout: Option<Duration>) -> NetResult<()> {
        let slice = timeout.map_or(SLICE, |t| t.min(SLICE));
        // SO_RCVTIMEO of zero means "forever": a zero timeout is handled as non-blocking instead.
        if !slice.is_zero() {
            self.socket
                .set_read_timeout(Some(slice))
                .map_err(|e| NetError::io("cannot set socket timeout", e))?;
        }
        *self.timeout.lock().unwrap_or_else(|p| p.into_inner()) = timeout;
        Ok(())
    }

    pub fn timeout(&self) -> Option<Duration> {
        *self.timeout.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_broadcast(&self, on: bool) -> NetResult<()> {
        self.socket
            .set_broadcast(on)
            .map_err(|e| NetError::io("cannot set SO_BROADCAST", e))?;
        self.broadcast.store(on, Ordering::Relaxed);
        Ok(())
    }

    pub fn broadcast(&self) -> bool {
        self.broadcast.load(Ordering::Relaxed)
    }

    pub fn set_reuse(&self, on: bool) -> NetResult<()> {
        self.socket
            .set_reuse_address(on)
            .and_then(|_| self.socket.set_reuse_port(on))
            .map_err(|e| NetError::io("cannot set SO_REUSEADDR/SO_REUSEPORT", e))
    }

    /// Sends one datagram; refuses payloads that cannot fit one IP datagram.
    pub fn send_to(&self, data: &[u8], to: &SockAddr) -> NetResult<usize> {
        self.check_open()?;
        let limit = if to.is_ipv6() {
            MAX_IPV6_PAYLOAD
        } else {
            MAX_IPV4_PAYLOAD
        };
        if data.len() > limit {
            return Err(NetError::new(
                ErrorKind::Oversize,
                format!(
                    "datagram of {} bytes is over the {} UDP limit of {} bytes",
                    group(data.len()),
                    if to.is_ipv6() { "IPv6" } else { "IPv4" },
                    group(limit)
                ),
            ));
        }
        self.socket.send_to(data, to).map_err(|e| {
            let target = to.as_socket().map_or("?".to_string(), |a| a.to_string());
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
        })
    }

    /// Asks the kernel for each datagram's destination address (for recording).
    pub fn want_destination(&self) {
        if self.pktinfo.swap(true, Ordering::Relaxed) {
            return;
        }
        use nix::sys::socket::{setsockopt, sockopt};
        let _ = if self.is_ipv6() {
            setsockopt(&self.socket, sockopt::Ipv6RecvPacketInfo, &true)
        } else {
            setsockopt(&self.socket, sockopt::Ipv4PacketInfo, &true)
        };
    }

    /// Asks the kernel to report, with each datagram received, how many datagrams it has
    /// dropped at this socket (SO_RXQ_OVFL); see [`UdpSock::drops`].
    pub fn want_drops(&self) {
        if self.rxq_ovfl.swap(true, Ordering::Relaxed) {
            return;
        }
        use nix::sys::socket::{setsockopt, sockopt};
        let _ = setsockopt(&self.socket, sockopt::RxqOvfl, &1);
    }

    /// Datagrams the kernel dropped at this socket since it was created, because its receive
    /// buffer was full: loss at the socket, as opposed to loss on the way.
    ///
    /// The kernel's own counter read now (SO_MEMINFO, Linux ≥ 4.6), so drops after the last
    /// datagram received count too; where that is unavailable, the count SO_RXQ_OVFL attached
    /// to the latest datagram received (after [`UdpSock::want_drops`]).
    pub fn drops(&self) -> u64 {
        let seen = u64::from(self.drops_seen.load(Ordering::Relaxed));
        meminfo_drops(&self.socket).map_or(seen, |now| now.max(seen))
    }

    /// Receives one datagram of at most `max` bytes, waiting up to the socket's timeout.
    pub fn recv_from(&self, max: usize, stop: &Stop) -> NetResult<Received> {
        self.check_open()?;
        let timeout = self.timeout();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut scratch = RecvBuf::get(max.max(1));
        let buf = &mut scratch.0[..max.max(1)];
        loop {
            let nonblocking = timeout.is_some_and(|t| t.is_zero());
            let attempt =
                if self.pktinfo.load(Ordering::Relaxed) || self.rxq_ovfl.load(Ordering::Relaxed) {
                    self.recv_pktinfo(buf, nonblocking)
                } else {
                    self.recv_plain(buf, nonblocking)
                };
            match attempt {
                Ok(mut got) => {
                    // Exactly the bytes received: a datagram kept by a script holds no more.
                    got.data = buf[..got.len.min(max)].to_vec();
                    return Ok(got);
                }
                Err(e) if is_wait(&e) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(NetError::io("receive failed", e)),
            }
            if let Some(reason) = stop.check() {
                return Err(NetError::Stopped(reason));
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let _ = self.set_timeout(timeout);
                    return Err(NetError::new(
                        ErrorKind::Timeout,
                        format!("timed out after {}s waiting for a datagram", secs(timeout)),
                    ));
                }
                if left < SLICE {
                    let _ = self.socket.set_read_timeout(Some(left));
                }
            }
            self.check_open()?;
        }
    }

    fn recv_plain(&self, buf: &mut [u8], nonblocking: bool) -> io::Result<Received> {
        // MSG_TRUNC makes the kernel report the datagram's real length.
        let mut flags = libc::MSG_TRUNC;
        if nonblocking {
            flags |= libc::MSG_DONTWAIT;
        }
        // SAFETY: u8 and MaybeUninit<u8> have the same layout; the kernel only writes into it.
        let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        let (len, from) = self.socket.recv_from_with_flags(uninit, flags)?;
        Ok(Received {
            data: Vec::new(),
            len,
            from: from.as_socket().unwrap_or(unspecified(self.is_ipv6())),
            to: None,
        })
    }

    fn recv_pktinfo(&self, buf: &mut [u8], nonblocking: bool) -> io::Result<Received> {
        use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};
        use std::os::fd::AsRawFd;
        let mut flags = MsgFlags::MSG_TRUNC;
        if nonblocking {
            flags |= MsgFlags::MSG_DONTWAIT;
        }
        let mut iov = [io::IoSliceMut::new(buf)];
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, u32);
        let msg =
            recvmsg::<SockaddrStorage>(self.socket.as_raw_fd(), &mut iov, Some(&mut cmsg), flags)
                .map_err(io::Error::from)?;
        let mut to = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                match c {
                    ControlMessageOwned::Ipv4PacketInfo(info) => {
                        to = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            info.ipi_addr.s_addr,
                        ))));
                    }
                    ControlMessageOwned::Ipv6PacketInfo(info) => {
                        to = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                    }
                    ControlMessageOwned::RxqOvfl(drops) => {
                        self.drops_seen.store(drops, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        }
        let from = msg
            .address
            .and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::from((v4.ip(), v4.port())))
                    .or_else(|| {
                        a.as_sockaddr_in6()
                            .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
                    })
            })
            .unwrap_or(unspecified(self.is_ipv6()));
        Ok(Received {
            data: Vec::new(),
            len: msg.bytes,
            from,
            to,
        })
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// The raw socket, for native fast paths (batched sends).
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    fn check_open(&self) -> NetResult<()> {
        if self.is_closed() {
            return Err(NetError::new(
                ErrorKind::Closed,
                "the socket is closed".to_string(),
            ));
        }
        Ok(())
    }

    fn family_name(&self) -> &'static str {
        if self.is_ipv6() { "IPv6" } else { "IPv4" }
    }

    /// Resolves `host` and `port` for this socket: `""` is the any-address, `localhost`
    /// the loopback of the socket's own family, `<broadcast>` 255.255.255.255 as in Python.
    pub fn resolve(&self, host: &str, port: i64) -> NetResult<SocketAddr> {
        resolve(host, port, self.is_ipv6())
    }
}

/// The socket's drop counter (SK_MEMINFO_DROPS of SO_MEMINFO), where the kernel has it.
#[cfg(target_os = "linux")]
fn meminfo_drops(socket: &Socket) -> Option<u64> {
    use std::os::fd::AsRawFd;
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

#[cfg(not(target_os = "linux"))]
fn meminfo_drops(_: &Socket) -> Option<u64> {
    None
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

fn secs(t: Option<Duration>) -> String {
    t.map_or("∞".into(), |t| format!("{}", t.as_secs_f64()))
}

/// 65507 → "65,507", as people write limits.
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Checks a port number from a script.
pub fn port(port: i64) -> NetResult<u16> {
    u16::try_from(port).map_err(|_| {
        NetError::new(
            ErrorKind::Address,
            format!("port {port} is out of range (0 to 65535)"),
        )
    })
}

/// Host and port to an address of the wanted family (see [`UdpSock::resolve`]).
pub fn resolve(host: &str, port_number: i64, ipv6: bool) -> NetResult<SocketAddr> {
    let port = port(port_number)?;
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = match host {
        "" => {
            if ipv6 {
                Ipv6Addr::UNSPECIFIED.into()
            } else {
                Ipv4Addr::UNSPECIFIED.into()
            }
        }
        "localhost" => {
            if ipv6 {
                Ipv6Addr::LOCALHOST.into()
            } else {
                Ipv4Addr::LOCALHOST.into()
            }
        }
        "<broadcast>" => Ipv4Addr::BROADCAST.into(),
        _ => match host.parse::<IpAddr>() {
            Ok(ip) => ip,
            // A malformed number is a typo, not a name to ask DNS about.
            Err(_) if host.chars().all(|c| c.is_ascii_digit() || c == '.') => {
                return Err(NetError::new(
                    ErrorKind::Address,
                    format!("'{host}' is not a valid IPv4 address"),
                ));
            }
            Err(_) => lookup(host, port, ipv6)?,
        },
    };
    Ok(SocketAddr::new(ip, port))
}

fn lookup(host: &str, port: u16, ipv6: bool) -> NetResult<IpAddr> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| {
            NetError::new(
                ErrorKind::Address,
                format!("cannot resolve host '{host}': {e}"),
            )
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv6() == ipv6)
        .or(addrs.first())
        .map(|a| a.ip())
        .ok_or_else(|| NetError::new(ErrorKind::Address, format!("host '{host}' has no address")))
}

/// Parses `"host:port"`, `"[v6]:port"`, `":port"` or a bare port, for a socket of a family.
pub fn parse_addr(text: &str, ipv6: bool) -> NetResult<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bad = || {
        NetError::new(
            ErrorKind::Address,
            format!("bad address '{text}': expected \"host:port\", e.g. \"127.0.0.1:8888\""),
        )
    };
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port),
        None => ("", text),
    };
    if host.contains(':') && !host.starts_with('[') {
        return Err(bad());
    }
    let port: i64 = port.trim().parse().map_err(|_| bad())?;
    resolve(host, port, ipv6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_like_python() {
        assert_eq!(
            parse_addr("127.0.0.1:8888", false).unwrap(),
            "127.0.0.1:8888".parse().unwrap()
        );
        assert_eq!(
            parse_addr(":7788", false).unwrap(),
            "0.0.0.0:7788".parse().unwrap()
        );
        assert_eq!(
            parse_addr("localhost:1", true).unwrap(),
            "[::1]:1".parse().unwrap()
        );
        assert_eq!(
            parse_addr("<broadcast>:7788", false).unwrap().ip(),
            Ipv4Addr::BROADCAST
        );
        assert!(parse_addr("127.0.0.1:70000", false).is_err());
        assert!(parse_addr("nonsense", false).is_err());
    }

    #[test]
    fn groups_digits() {
        assert_eq!(group(65507), "65,507");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000_000), "1,000,000");
    }
}
