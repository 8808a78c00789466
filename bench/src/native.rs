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
