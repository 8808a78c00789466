//! The sockets of a load run and their system calls: one socket per client (each its own
//! port), requests handed to the kernel with `sendmmsg` (through [`crate::net::sendmmsg`], as
//! `blast` does), replies taken with `recvmmsg` and their kernel receive times
//! (SO_TIMESTAMPNS), ICMP errors read from the error queue (IP_RECVERR), which holds the
//! request that met them.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::net::{self, ControlBuf, cmsg};

/// Replies taken per `recvmmsg` call.
pub const RECV_BATCH: usize = 64;
/// Bytes kept of each reply: a whole datagram.
const RECV_SIZE: usize = 65_536;
/// Room for the timestamp's control message (and one more, should the kernel add it).
const CONTROL_WORDS: usize = 8;
/// Asked of the kernel for each socket's buffers (more if root: SO_RCVBUFFORCE).
const BUFFER: usize = 4 << 20;

pub struct Client {
    pub socket: Socket,
    /// As bound: the any-address and the port the kernel chose.
    pub local: SocketAddr,
}

/// `n` sockets for `target`'s family, non-blocking, asking for kernel receive times and ICMP
/// errors.
pub fn clients(n: usize, target: SocketAddr) -> io::Result<Vec<Client>> {
    (0..n)
        .map(|_| {
            let socket = Socket::new(
                Domain::for_address(target),
                Type::DGRAM,
                Some(Protocol::UDP),
            )?;
            let any: SocketAddr = if target.is_ipv6() {
                "[::]:0".parse().expect("constant address")
            } else {
                "0.0.0.0:0".parse().expect("constant address")
            };
            socket.bind(&any.into())?;
            socket.set_nonblocking(true)?;
            setsockopt(&socket, sockopt::ReceiveTimestampns, &true)?;
            if target.is_ipv6() {
                setsockopt(&socket, sockopt::Ipv6RecvErr, &true)?;
            } else {
                setsockopt(&socket, sockopt::Ipv4RecvErr, &true)?;
            }
            if setsockopt(&socket, sockopt::RcvBufForce, &BUFFER).is_err() {
                let _ = socket.set_recv_buffer_size(BUFFER);
            }
            let _ = socket.set_send_buffer_size(BUFFER);
            let local = socket
                .local_addr()?
                .as_socket()
                .map(net::canonical)
                .unwrap_or(any);
            Ok(Client { socket, local })
        })
        .collect()
}

/// Nanoseconds since the Unix epoch, the clock of the kernel's receive times.
pub fn now() -> i64 {
    nanos(SystemTime::now())
}

pub fn nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

pub fn time_of(nanos: i64) -> SystemTime {
    UNIX_EPOCH + std::time::Duration::from_nanos(nanos.max(0) as u64)
}

/// The requests of one `sendmmsg` call on one socket: their bytes one after the other.
pub struct SendBatch {
    pub bytes: Vec<u8>,
    /// (start, length) in `bytes`, and the request's number `j`.
    pub parts: Vec<(usize, usize, u64)>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl SendBatch {
    pub fn new() -> SendBatch {
        SendBatch {
            bytes: Vec::new(),
            parts: Vec::new(),
            iovecs: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.parts.clear();
    }

    /// Marks the bytes written since `start` as request `j`.
    pub fn push(&mut self, start: usize, j: u64) {
        self.parts.push((start, self.bytes.len() - start, j));
    }

    /// Hands the requests from `from` on to the kernel: how many it took (≥ 1), or the error
    /// that stopped the first of them. `icmp` as for [`crate::net::sendmmsg`].
    pub fn send(
        &mut self,
        fd: RawFd,
        to: &SockAddr,
        from: usize,
        icmp: &mut bool,
    ) -> io::Result<usize> {
        self.iovecs.clear();
        for &(start, len, _) in &self.parts[from..] {
            self.iovecs.push(libc::iovec {
                iov_base: self.bytes[start..].as_ptr() as *mut libc::c_void,
                iov_len: len,
            });
        }
        self.headers.clear();
        for iov in self.iovecs.iter_mut() {
            self.headers.push(net::send_entry(to, iov));
        }
        net::sendmmsg(fd, &mut self.headers, icmp)
    }
}

/// One reply as `recvmmsg` gave it.
pub struct Received<'a> {
    /// What was kept (all of it: the buffer holds any datagram).
    pub data: &'a [u8],
    /// Its real length.
    pub len: usize,
    pub from: Option<SocketAddr>,
    /// The kernel's receive time, ns since the Unix epoch.
    pub time: Option<i64>,
}

/// The buffers of `recvmmsg` calls, made once.
pub struct RecvBatch {
    data: Vec<u8>,
    names: Vec<libc::sockaddr_storage>,
    controls: Vec<[u64; CONTROL_WORDS]>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl RecvBatch {
    pub fn new() -> RecvBatch {
        let mut batch = RecvBatch {
            data: vec![0; RECV_BATCH * RECV_SIZE],
            // SAFETY: all-zero is a valid sockaddr_storage.
            names: vec![unsafe { std::mem::zeroed() }; RECV_BATCH],
            controls: vec![[0; CONTROL_WORDS]; RECV_BATCH],
            iovecs: Vec::with_capacity(RECV_BATCH),
            headers: Vec::with_capacity(RECV_BATCH),
        };
        // The pointers go into the vectors' heap buffers, which never move or grow after this.
        for chunk in batch.data.chunks_mut(RECV_SIZE) {
            batch.iovecs.push(libc::iovec {
                iov_base: chunk.as_mut_ptr().cast(),
                iov_len: chunk.len(),
            });
        }
        for i in 0..RECV_BATCH {
            // SAFETY: all-zero is a valid msghdr (no name, no buffers, no control).
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_name = (&mut batch.names[i] as *mut libc::sockaddr_storage).cast();
            msg.msg_control = batch.controls[i].as_mut_ptr().cast();
            msg.msg_iov = &mut batch.iovecs[i];
            msg.msg_iovlen = 1;
            batch.headers.push(libc::mmsghdr {
                msg_hdr: msg,
                msg_len: 0,
            });
        }
        batch
    }

    /// Takes what waits on `fd`, up to [`RECV_BATCH`] replies, without waiting: how many (0
    /// when none waits).
    pub fn receive(&mut self, fd: RawFd) -> io::Result<usize> {
        for header in &mut self.headers {
            header.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_hdr.msg_controllen = std::mem::size_of::<[u64; CONTROL_WORDS]>() as _;
            header.msg_hdr.msg_flags = 0;
        }
        loop {
            // SAFETY: every header points at live buffers of the sizes given (payload, name,
            // control), which the kernel fills within, updating the lengths.
            let n = unsafe {
                libc::recvmmsg(
                    fd,
                    self.headers.as_mut_ptr(),
                    self.headers.len() as _,
                    libc::MSG_DONTWAIT | libc::MSG_TRUNC,
                    std::ptr::null_mut(),
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => return Ok(0),
                io::ErrorKind::Interrupted => {}
                _ => return Err(err),
            }
        }
    }

    /// The `m`-th reply of the last [`RecvBatch::receive`].
    pub fn get(&self, m: usize) -> Received<'_> {
        let header = &self.headers[m];
        let len = header.msg_len as usize;
        let data = &self.data[m * RECV_SIZE..m * RECV_SIZE + len.min(RECV_SIZE)];
        // SAFETY: plain bytes of the name and control buffers, within their sizes.
        let name = unsafe {
            std::slice::from_raw_parts(
                (&self.names[m] as *const libc::sockaddr_storage).cast::<u8>(),
                (header.msg_hdr.msg_namelen as usize)
                    .min(std::mem::size_of::<libc::sockaddr_storage>()),
            )
        };
        // SAFETY: as above.
        let control = unsafe {
            std::slice::from_raw_parts(
                self.controls[m].as_ptr().cast::<u8>(),
                header
                    .msg_hdr
                    .msg_controllen
                    .min(std::mem::size_of::<[u64; CONTROL_WORDS]>()),
            )
        };
        Received {
            data,
            len,
            from: cmsg::sockaddr(name).map(net::canonical),
            time: cmsg::parse(control).time.map(nanos),
        }
    }
}

/// Reads `fd`'s error queue: for each ICMP error, the request that met it (its first bytes)
/// goes to `each`.
pub fn drain_errors(fd: &impl AsRawFd, buf: &mut [u8], mut each: impl FnMut(&[u8])) {
    let mut control = ControlBuf::new();
    // Bounded: a run at a closed port queues one error per request.
    for _ in 0..RECV_BATCH * 16 {
        let Ok(msg) = net::recvmsg(
            fd.as_raw_fd(),
            buf,
            &mut control,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        ) else {
            return;
        };
        if msg.facts.error.is_some() {
            each(&buf[..msg.len.min(buf.len())]);
        }
    }
}

/// Asks the kernel to wake this thread within a microsecond of a timer (the default slack is
/// 50 µs, as much as the latencies measured); the old slack comes back when dropped.
pub struct TightTimers(libc::c_ulong);

impl TightTimers {
    pub fn new() -> TightTimers {
        // SAFETY: prctl with plain integer arguments, for this thread only.
        let old = unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) };
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1_000 as libc::c_ulong, 0, 0, 0) };
        TightTimers(old.max(1) as libc::c_ulong)
    }
}

impl Drop for TightTimers {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, self.0, 0, 0, 0) };
    }
}

/// Waits up to `nanos` for any of `fds` to be readable or to hold an error (ppoll: to the
/// microsecond); each entry's `revents` says which.
pub fn wait(fds: &mut [libc::pollfd], nanos: i64) -> io::Result<usize> {
    let nanos = nanos.max(0);
    let ts = libc::timespec {
        tv_sec: (nanos / 1_000_000_000) as libc::time_t,
        tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: `fds` is a live array of that many pollfds; the timespec lives on the stack.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        )
    };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            fds.iter_mut().for_each(|p| p.revents = 0);
            return Ok(0);
        }
        return Err(err);
    }
    Ok(n as usize)
}
