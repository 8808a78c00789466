//! The native Rust contenders (each run as a child process, like udpsh and Python) and the
//! round-trip client that drives every echo server.

use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// A 64-byte payload, as in the scripts.
pub const PAYLOAD: [u8; 64] = [b'A'; 64];

/// `n` datagrams to `to`, one `send_to` each, from a socket bound to 127.0.0.1; returns the
/// loop's seconds.
pub fn send_loop(to: SocketAddr, n: u64) -> io::Result<f64> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let start = Instant::now();
    for _ in 0..n {
        sock.send_to(&PAYLOAD, to)?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// [`send_loop`] plus what any capture that survives `kill -9` must do per datagram: one
/// `write(2)` of a classic pcap record (16-byte header + Ethernet/IPv4/UDP frame) to `file`.
/// The frame is made once; only the timestamp changes. The floor of `--pcap`'s cost.
pub fn send_loop_recorded(to: SocketAddr, n: u64, file: &std::path::Path) -> io::Result<f64> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let mut out = std::fs::File::create(file)?;
    let mut header = Vec::with_capacity(24);
    for word in [0xa1b2_3c4d_u32, 0x0004_0002, 0, 0, 262_144, 1] {
        // magic (ns), version 2.4 (two u16), thiszone, sigfigs, snaplen, Ethernet.
        header.extend_from_slice(&word.to_ne_bytes());
    }
    out.write_all(&header)?;
    let frame_len = 14 + 20 + 8 + PAYLOAD.len();
    let mut record = vec![0u8; 16 + frame_len];
    record[8..12].copy_from_slice(&(frame_len as u32).to_ne_bytes());
    record[12..16].copy_from_slice(&(frame_len as u32).to_ne_bytes());
    record[16 + 12..16 + 14].copy_from_slice(&[0x08, 0x00]);
    let ip = 16 + 14;
    record[ip] = 0x45;
    record[ip + 2..ip + 4].copy_from_slice(&((20 + 8 + PAYLOAD.len()) as u16).to_be_bytes());
    record[ip + 8] = 64;
    record[ip + 9] = 17;
    record[ip + 12..ip + 20].copy_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
    let udp = ip + 20;
    record[udp + 2..udp + 4].copy_from_slice(&to.port().to_be_bytes());
    record[udp + 4..udp + 6].copy_from_slice(&((8 + PAYLOAD.len()) as u16).to_be_bytes());
    record[16 + 42..].copy_from_slice(&PAYLOAD);
    let start = Instant::now();
    for _ in 0..n {
        sock.send_to(&PAYLOAD, to)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        record[0..4].copy_from_slice(&(now.as_secs() as u32).to_ne_bytes());
        record[4..8].copy_from_slice(&now.subsec_nanos().to_ne_bytes());
        out.write_all(&record)?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// `n` datagrams to `to` with `sendmmsg`, `batch` per call: the plain C-style loop.
pub fn mmsg_loop(to: SocketAddr, n: u64, batch: usize) -> io::Result<f64> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    let SocketAddr::V4(v4) = to else {
        return Err(io::Error::other("IPv4 only"));
    };
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*v4.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let mut iov = libc::iovec {
        iov_base: PAYLOAD.as_ptr() as *mut libc::c_void,
        iov_len: PAYLOAD.len(),
    };
    let mut headers: Vec<libc::mmsghdr> = (0..batch)
        .map(|_| {
            // SAFETY: an all-zero msghdr is valid.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = &addr as *const libc::sockaddr_in as *mut libc::c_void;
            msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            libc::mmsghdr {
                msg_hdr: msg,
                msg_len: 0,
            }
        })
        .collect();
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < n {
        let want = (n - sent).min(batch as u64) as libc::c_uint;
        // SAFETY: the headers point at `addr`, `iov` and PAYLOAD, all alive here.
        let rc = unsafe { libc::sendmmsg(sock.as_raw_fd(), headers.as_mut_ptr(), want, 0) };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        sent += rc as u64;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Runs the calling thread — and the processes it starts from now on — on CPU `cpu` only, or
/// on every CPU with `None`.
pub fn pin(cpu: Option<usize>) {
    // SAFETY: cpu_set_t is plain data; CPU_ZERO/CPU_SET only write into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        // Every online CPU (available_parallelism would say 1 once pinned).
        let n = libc::sysconf(libc::_SC_NPROCESSORS_ONLN).max(1) as usize;
        for c in 0..n {
            if cpu.is_none_or(|want| want == c) {
                libc::CPU_SET(c, &mut set);
            }
        }
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set);
    }
}

/// User + system seconds a process (all its threads) has used so far, from /proc.
pub fn cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// The seed's echo server in Rust, line for line: bind ('', port), then for ever receive a
/// datagram, send it back, and print (flushed) which one it was and what it said — the same
/// work as `scripts/echo_server.rhai` and `fixtures/seeds/echo_server.py`. Gives up after 30 s
/// without a datagram.
pub fn echo_server(port: u16) -> io::Result<()> {
    let sock = UdpSocket::bind(("0.0.0.0", port))?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = vec![0u8; 65535];
    let mut num: u64 = 1;
    let stdout = io::stdout();
    loop {
        let (len, from) = sock.recv_from(&mut buf)?;
        sock.send_to(&buf[..len], from)?;
        let mut out = stdout.lock();
        writeln!(
            out,
            "已经将接收到的第{num}个数据返回给对方,内容为:{}",
            String::from_utf8_lossy(&buf[..len])
        )?;
        out.flush()?;
        num += 1;
    }
}

/// Waits until the echo server on 127.0.0.1:`port` answers (up to `wait`), calls `started`,
/// then times `n` round trips of a 64-byte datagram, one at a time; returns their seconds.
pub fn round_trips(
    port: u16,
    n: u64,
    wait: Duration,
    started: impl FnOnce(),
) -> Result<f64, String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let mut buf = [0u8; 2048];
    // Warm up: the server may still be starting.
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + wait;
    loop {
        let _ = sock.send_to(b"warm-up", server);
        if sock.recv_from(&mut buf).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("no echo from port {port} within {wait:?}"));
        }
    }
    // Swallow the echoes of earlier warm-up datagrams.
    while sock.recv_from(&mut buf).is_ok() {}
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut payload = PAYLOAD;
    started();
    let start = Instant::now();
    for i in 0..n {
        // The round trip's number in 8 ASCII digits: a printable, distinct payload.
        let mut k = i;
        for d in payload[..8].iter_mut().rev() {
            *d = b'0' + (k % 10) as u8;
            k /= 10;
        }
        sock.send_to(&payload, server).map_err(|e| e.to_string())?;
        loop {
            let (len, _) = sock
                .recv_from(&mut buf)
                .map_err(|e| format!("round trip {i}: {e}"))?;
            if buf[..len] == payload {
                break;
            }
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// A plain UDP forwarder, the yardstick of `udpsh proxy`: what a client sends to port `listen`
/// goes to `upstream` from one socket of its own per client, and what comes back goes to the
/// client. One thread waiting on every socket with poll(2). Gives up after 30 s of silence.
pub fn forwarder(listen: u16, upstream: SocketAddr) -> io::Result<()> {
    let front = UdpSocket::bind(("127.0.0.1", listen))?;
    front.set_nonblocking(true)?;
    let mut flows: Vec<(SocketAddr, UdpSocket)> = Vec::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut fds: Vec<libc::pollfd> = std::iter::once(front.as_raw_fd())
            .chain(flows.iter().map(|(_, s)| s.as_raw_fd()))
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        // SAFETY: `fds` is a live array of pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 30_000) };
        if n == 0 {
            return Ok(());
        }
        if fds[0].revents != 0 {
            while let Ok((len, client)) = front.recv_from(&mut buf) {
                let i = match flows.iter().position(|(c, _)| *c == client) {
                    Some(i) => i,
                    None => {
                        let s = UdpSocket::bind("127.0.0.1:0")?;
                        s.set_nonblocking(true)?;
                        flows.push((client, s));
                        flows.len() - 1
                    }
                };
                flows[i].1.send_to(&buf[..len], upstream)?;
            }
        }
        for (fd, (client, s)) in fds[1..].iter().zip(&flows) {
            if fd.revents != 0 {
                while let Ok((len, _)) = s.recv_from(&mut buf) {
                    front.send_to(&buf[..len], client)?;
                }
            }
        }
    }
}

/// An echo server on a thread of the driver, the far end of the proxy runs; ends when
/// `stop` is set (it looks every 20 ms).
pub fn echo_thread(
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> io::Result<(SocketAddr, std::thread::JoinHandle<()>)> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_read_timeout(Some(Duration::from_millis(20)))?;
    let addr = sock.local_addr()?;
    let handle = std::thread::spawn(move || {
        let mut buf = vec![0u8; 65_536];
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((len, from)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(&buf[..len], from);
            }
        }
    });
    Ok((addr, handle))
}

/// Keeps `window` datagrams in flight to `to` (an echo behind a forwarder) until `n` have come
/// back; returns the seconds. Each datagram carries its number, so a late one is not
/// mistaken for another.
pub fn windowed_trips(to: SocketAddr, n: u64, window: u64, wait: Duration) -> Result<f64, String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let mut buf = [0u8; 2048];
    // Warm up: the forwarder may still be starting.
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + wait;
    loop {
        let _ = sock.send_to(b"warm-up", to);
        if sock.recv_from(&mut buf).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("no echo through {to} within {wait:?}"));
        }
    }
    while sock.recv_from(&mut buf).is_ok() {}
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut payload = PAYLOAD;
    let mut send = |i: u64| {
        payload[..8].copy_from_slice(&i.to_be_bytes());
        sock.send_to(&payload, to).map(drop)
    };
    let start = Instant::now();
    let mut sent = 0;
    while sent < window.min(n) {
        send(sent).map_err(|e| e.to_string())?;
        sent += 1;
    }
    let mut back = 0;
    while back < n {
        let (len, _) = sock
            .recv_from(&mut buf)
            .map_err(|e| format!("after {back} of {n} echoes: {e}"))?;
        if len != PAYLOAD.len() {
            continue;
        }
        back += 1;
        if sent < n {
            send(sent).map_err(|e| e.to_string())?;
            sent += 1;
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// A classic pcap of `n` 64-byte datagrams from 127.0.0.1:40000 to 127.0.0.1:`port`, one
/// microsecond apart: the capture `udpsh replay` resends.
pub fn write_capture(path: &std::path::Path, n: u64, port: u16) -> io::Result<()> {
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    for word in [0xa1b2_3c4d_u32, 0x0004_0002, 0, 0, 262_144, 1] {
        out.write_all(&word.to_ne_bytes())?;
    }
    let frame_len = 14 + 20 + 8 + PAYLOAD.len();
    let mut frame = vec![0u8; frame_len];
    frame[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = 14;
    frame[ip] = 0x45;
    frame[ip + 2..ip + 4].copy_from_slice(&((20 + 8 + PAYLOAD.len()) as u16).to_be_bytes());
    frame[ip + 8] = 64;
    frame[ip + 9] = 17;
    frame[ip + 12..ip + 20].copy_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
    let mut sum = 0u32;
    for pair in frame[ip..ip + 20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    frame[ip + 10..ip + 12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    let udp = ip + 20;
    frame[udp..udp + 2].copy_from_slice(&40000u16.to_be_bytes());
    frame[udp + 2..udp + 4].copy_from_slice(&port.to_be_bytes());
    frame[udp + 4..udp + 6].copy_from_slice(&((8 + PAYLOAD.len()) as u16).to_be_bytes());
    frame[42..].copy_from_slice(&PAYLOAD);
    for i in 0..n {
        let (secs, micros) = (1_700_000_000 + i / 1_000_000, i % 1_000_000);
        for word in [
            secs as u32,
            (micros * 1000) as u32,
            frame_len as u32,
            frame_len as u32,
        ] {
            out.write_all(&word.to_ne_bytes())?;
        }
        out.write_all(&frame)?;
    }
    out.flush()
}

/// Counts the datagrams arriving at a socket with a large receive buffer, timing the first
/// and the last; stops at `n` or after `idle` without one.
pub struct Arrivals {
    pub addr: SocketAddr,
    handle: std::thread::JoinHandle<(u64, Option<(Instant, Instant)>)>,
}

impl Arrivals {
    pub fn start(n: u64, idle: Duration) -> io::Result<Arrivals> {
        let rx = UdpSocket::bind("127.0.0.1:0")?;
        big_receive_buffer(&rx);
        rx.set_read_timeout(Some(idle))?;
        let addr = rx.local_addr()?;
        let handle = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let (mut count, mut first, mut last) = (0u64, None, None);
            while count < n {
                if rx.recv_from(&mut buf).is_err() {
                    break;
                }
                let now = Instant::now();
                first.get_or_insert(now);
                last = Some(now);
                count += 1;
            }
            (count, first.zip(last))
        });
        Ok(Arrivals { addr, handle })
    }

    /// How many arrived, and their rate per second between the first and the last.
    pub fn finish(self) -> (u64, f64) {
        let (count, span) = self.handle.join().unwrap_or((0, None));
        let rate = match span {
            Some((a, b)) if count > 1 => (count - 1) as f64 / (b - a).as_secs_f64(),
            _ => 0.0,
        };
        (count, rate)
    }
}

/// SO_RCVBUFFORCE (as root) or SO_RCVBUF of 32 MiB: a burst waits instead of being dropped.
pub fn big_receive_buffer(sock: &UdpSocket) {
    let size: libc::c_int = 32 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt with a c_int value on our own socket.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
}
