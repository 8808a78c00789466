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

/// Waits until the echo server on 127.0.0.1:`port` answers (up to `wait`), then times `n`
/// round trips of a 64-byte datagram, one at a time; returns their seconds.
pub fn round_trips(port: u16, n: u64, wait: Duration) -> Result<f64, String> {
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
