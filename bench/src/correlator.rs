//! The native yardsticks of `udpsh load`: an open-loop correlator (what udpsh's engine does,
//! with nothing else: one socket, sendmmsg of what is due, recvmmsg with kernel timestamps,
//! replies paired by the sequence number in their first 8 bytes), a batched echo server to
//! saturate, and an echo server that answers exactly 2 ms after each datagram's kernel
//! receive time.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const BATCH: usize = 64;
const SLOT: usize = 2048;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn set_int(sock: &UdpSocket, level: i32, name: i32, value: i32) {
    // SAFETY: setsockopt with a c_int value on our own socket.
    unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
}

/// recvmmsg/sendmmsg buffers for [`BATCH`] datagrams of up to [`SLOT`] bytes, with names and
/// (for timestamps) control buffers.
struct Batch {
    data: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    controls: Vec<[u64; 8]>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl Batch {
    fn new() -> Box<Batch> {
        let mut b = Box::new(Batch {
            data: vec![0; BATCH * SLOT],
            // SAFETY: all-zero is a valid sockaddr_storage.
            names: vec![unsafe { std::mem::zeroed() }; BATCH],
            controls: vec![[0; 8]; BATCH],
            iovecs: Vec::with_capacity(BATCH),
            headers: Vec::with_capacity(BATCH),
        });
        for i in 0..BATCH {
            let base = b.data[i * SLOT..].as_mut_ptr();
            b.iovecs.push(libc::iovec {
                iov_base: base.cast(),
                iov_len: SLOT,
            });
        }
        for i in 0..BATCH {
            // SAFETY: all-zero is a valid msghdr.
            let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
            m.msg_name = (&mut b.names[i] as *mut libc::sockaddr_storage).cast();
            m.msg_iov = &mut b.iovecs[i];
            m.msg_iovlen = 1;
            m.msg_control = b.controls[i].as_mut_ptr().cast();
            b.headers.push(libc::mmsghdr {
                msg_hdr: m,
                msg_len: 0,
            });
        }
        b
    }

    /// Takes up to BATCH datagrams without waiting.
    fn receive(&mut self, fd: i32) -> usize {
        for h in &mut self.headers {
            h.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_controllen = size_of::<[u64; 8]>();
        }
        for iov in &mut self.iovecs {
            iov.iov_len = SLOT;
        }
        // SAFETY: the headers point at live buffers of the sizes given.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                self.headers.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        n.max(0) as usize
    }

    /// The kernel receive time of datagram `m` (SCM_TIMESTAMPNS is the only message asked).
    fn time(&self, m: usize) -> i64 {
        let h = &self.headers[m].msg_hdr;
        if h.msg_controllen < 32 {
            return now();
        }
        let c = &self.controls[m];
        // cmsghdr (len, level, type) is 16 bytes; the timespec follows.
        c[2] as i64 * 1_000_000_000 + c[3] as i64
    }

    fn payload(&self, m: usize) -> &[u8] {
        let len = self.headers[m].msg_len as usize;
        &self.data[m * SLOT..m * SLOT + len.min(SLOT)]
    }

    /// Sends datagrams `0..n` back to where they came from, as received.
    fn echo(&mut self, fd: i32, n: usize) {
        for m in 0..n {
            self.iovecs[m].iov_len = self.headers[m].msg_len as usize;
            self.headers[m].msg_hdr.msg_controllen = 0;
        }
        let mut done = 0;
        while done < n {
            // SAFETY: as in `receive`, with the lengths received.
            let k = unsafe {
                libc::sendmmsg(fd, self.headers[done..].as_mut_ptr(), (n - done) as u32, 0)
            };
            if k <= 0 {
                return;
            }
            done += k as usize;
        }
    }
}

/// Echoes every datagram to its sender, in batches; gives up after 30 s without one.
pub fn fast_echo(port: u16) -> io::Result<()> {
    let sock = UdpSocket::bind(("127.0.0.1", port))?;
    crate::native::big_receive_buffer(&sock);
    let fd = sock.as_raw_fd();
    let mut b = Batch::new();
    let mut idle_since = std::time::Instant::now();
    loop {
        let n = b.receive(fd);
        if n == 0 {
            if idle_since.elapsed() > Duration::from_secs(30) {
                return Ok(());
            }
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one live pollfd.
            unsafe { libc::poll(&mut p, 1, 100) };
            continue;
        }
        idle_since = std::time::Instant::now();
        b.echo(fd, n);
    }
}

/// Answers each datagram exactly `delay` after its kernel receive time (spinning for the last
/// 200 µs), in order; gives up after 30 s without one.
pub fn delay_echo(port: u16, delay: Duration) -> io::Result<()> {
    let sock = UdpSocket::bind(("127.0.0.1", port))?;
    crate::native::big_receive_buffer(&sock);
    set_int(&sock, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
    // SAFETY: prctl on this thread: wake within a microsecond of a timer.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0) };
    let fd = sock.as_raw_fd();
    let delay = delay.as_nanos() as i64;
    let mut b = Batch::new();
    let mut queue: std::collections::VecDeque<(i64, Vec<u8>, SocketAddr)> = Default::default();
    let mut last = now();
    loop {
        let n = b.receive(fd);
        for m in 0..n {
            let from = socket_addr(&b.names[m]);
            queue.push_back((b.time(m) + delay, b.payload(m).to_vec(), from));
            last = now();
        }
        let t = now();
        while let Some((due, _, _)) = queue.front() {
            if *due > t {
                break;
            }
            let (_, data, to) = queue.pop_front().expect("a front");
            let _ = sock.send_to(&data, to);
        }
        match queue.front() {
            Some((due, _, _)) if due - t > 300_000 => {
                std::thread::sleep(Duration::from_nanos((due - t - 200_000) as u64))
            }
            Some(_) => std::hint::spin_loop(),
            None if t - last > 30_000_000_000 => return Ok(()),
            None => {
                let mut p = libc::pollfd {
                    fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one live pollfd.
                unsafe { libc::poll(&mut p, 1, 1) };
            }
        }
    }
}

fn socket_addr(s: &libc::sockaddr_storage) -> SocketAddr {
    // SAFETY: an AF_INET address was received into it (we bind IPv4 only).
    let v4: &libc::sockaddr_in = unsafe { &*(s as *const libc::sockaddr_storage).cast() };
    SocketAddr::from((
        u32::from_be(v4.sin_addr.s_addr).to_be_bytes(),
        u16::from_be(v4.sin_port),
    ))
}

/// Open loop to `to`: request i (its number in 8 bytes, then 4 more) due at i / rate, `n` of
/// them, what is due sent in one sendmmsg; replies paired by number, each once, within
/// `timeout` of its send (kernel receive time). Returns (received, seconds): seconds from the
/// start to the end of the last slot or the last send, as udpsh counts them.
pub fn correlate(to: SocketAddr, rate: f64, n: u64, timeout: Duration) -> io::Result<(u64, f64)> {
    let sock = UdpSocket::bind("127.0.0.1:0")?;
    sock.set_nonblocking(true)?;
    crate::native::big_receive_buffer(&sock);
    set_int(&sock, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1);
    let fd = sock.as_raw_fd();
    // SAFETY: prctl on this thread, as udpsh does.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong, 0, 0, 0) };
    let to_name = socket2_name(to);
    let mut sent_at: Vec<i64> = vec![0; n as usize];
    let mut answered: Vec<bool> = vec![false; n as usize];
    let mut out = vec![0u8; 256 * 12];
    let mut iov: Vec<libc::iovec> = Vec::with_capacity(256);
    let mut headers: Vec<libc::mmsghdr> = Vec::with_capacity(256);
    let mut b = Batch::new();
    let (timeout, start) = (timeout.as_nanos() as i64, now());
    let (mut sent, mut received, mut last_send) = (0u64, 0u64, start);
    loop {
        let t = now();
        let due = (((t - start) as f64 * rate / 1e9).floor() as u64 + 1).min(n);
        let chunk = (due - sent).min(256) as usize;
        if chunk > 0 {
            iov.clear();
            headers.clear();
            for k in 0..chunk {
                let slot = &mut out[k * 12..k * 12 + 12];
                slot[..8].copy_from_slice(&(sent + k as u64).to_be_bytes());
                iov.push(libc::iovec {
                    iov_base: slot.as_mut_ptr().cast(),
                    iov_len: 12,
                });
            }
            for v in iov.iter_mut() {
                // SAFETY: all-zero is a valid msghdr.
                let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
                m.msg_name =
                    (&to_name.0 as *const libc::sockaddr_in as *mut libc::sockaddr_in).cast();
                m.msg_namelen = to_name.1;
                m.msg_iov = v;
                m.msg_iovlen = 1;
                headers.push(libc::mmsghdr {
                    msg_hdr: m,
                    msg_len: 0,
                });
            }
            let mut done = 0;
            while done < chunk {
                let at = now();
                // SAFETY: the headers point at `out`, `iov` and `to_name`, alive here.
                let k = unsafe {
                    libc::sendmmsg(fd, headers[done..].as_mut_ptr(), (chunk - done) as u32, 0)
                };
                if k <= 0 {
                    std::thread::sleep(Duration::from_micros(50));
                    continue;
                }
                for j in done..done + k as usize {
                    sent_at[(sent + j as u64) as usize] = at;
                }
                done += k as usize;
                last_send = at;
            }
            sent += chunk as u64;
        }
        loop {
            let got = b.receive(fd);
            for m in 0..got {
                let p = b.payload(m);
                if p.len() < 8 {
                    continue;
                }
                let i = u64::from_be_bytes(p[..8].try_into().expect("8 bytes")) as usize;
                if i < sent as usize && !answered[i] && b.time(m) - sent_at[i] <= timeout {
                    answered[i] = true;
                    received += 1;
                }
            }
            if got < BATCH {
                break;
            }
        }
        let t = now();
        if sent == n && t >= last_send + timeout {
            break;
        }
        let next = if sent < due {
            t
        } else if sent < n {
            start + (sent as f64 * 1e9 / rate) as i64
        } else {
            last_send + timeout
        };
        let wait = (next - t).max(0);
        let ts = libc::timespec {
            tv_sec: (wait / 1_000_000_000) as libc::time_t,
            tv_nsec: (wait % 1_000_000_000) as libc::c_long,
        };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd and a timespec on the stack.
        unsafe { libc::ppoll(&mut p, 1, &ts, std::ptr::null()) };
    }
    let end = (start + (n as f64 * 1e9 / rate) as i64).max(last_send);
    Ok((received, (end - start) as f64 / 1e9))
}

fn socket2_name(to: SocketAddr) -> (libc::sockaddr_in, libc::socklen_t) {
    let SocketAddr::V4(v4) = to else {
        panic!("the correlator sends to IPv4 loopback only");
    };
    // SAFETY: all-zero is a valid sockaddr_in.
    let mut s: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    s.sin_family = libc::AF_INET as libc::sa_family_t;
    s.sin_port = v4.port().to_be();
    s.sin_addr.s_addr = u32::from_be_bytes(v4.ip().octets()).to_be();
    (s, size_of::<libc::sockaddr_in>() as libc::socklen_t)
}
