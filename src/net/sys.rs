//! The system calls under the sockets that socket2 does not wrap the way we need:
//! `recvmsg(2)` with its control buffer as bytes, `poll(2)` over several sockets, and
//! integer socket options.

use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::time::Duration;

use super::cmsg;

/// Room for every control message we ask for (timestamp, both PKTINFOs, TTL, TOS, drops,
/// an extended error with its offender), with margin; u64s keep it aligned for cmsghdr.
pub struct ControlBuf([u64; 96]);

impl ControlBuf {
    pub fn new() -> ControlBuf {
        ControlBuf([0; 96])
    }
}

/// What one `recvmsg` gave.
pub struct Message {
    /// The datagram's real length (MSG_TRUNC), which may exceed the buffer.
    pub len: usize,
    pub from: Option<SocketAddr>,
    pub facts: cmsg::Facts,
}

/// `recvmsg(fd, buf, flags | MSG_TRUNC)`, with the control messages parsed.
pub fn recvmsg(
    fd: RawFd,
    buf: &mut [u8],
    control: &mut ControlBuf,
    flags: i32,
) -> io::Result<Message> {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: all-zero is a valid msghdr (no name, no buffers, no control).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control.0) as _;
    // SAFETY: every pointer in `msg` points at live buffers of the sizes given; the kernel
    // writes within them and updates the lengths.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags | libc::MSG_TRUNC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the control buffer is plain bytes; we read only `msg_controllen` of it.
    let control_bytes = unsafe {
        std::slice::from_raw_parts(
            control.0.as_ptr().cast::<u8>(),
            (msg.msg_controllen as usize).min(std::mem::size_of_val(&control.0)),
        )
    };
    // SAFETY: sockaddr_storage is plain bytes of its size.
    let name_bytes = unsafe {
        std::slice::from_raw_parts(
            (&name as *const libc::sockaddr_storage).cast::<u8>(),
            (msg.msg_namelen as usize).min(std::mem::size_of::<libc::sockaddr_storage>()),
        )
    };
    Ok(Message {
        len: n as usize,
        from: cmsg::sockaddr(name_bytes).map(canonical),
        facts: cmsg::parse(control_bytes),
    })
}

/// A v4-mapped IPv6 address (a v4 peer of a dual-stack socket) as plain IPv4.
pub fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// What `poll` saw on one socket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    pub readable: bool,
    /// The error queue holds something (an ICMP error for a datagram sent).
    pub error: bool,
}

/// Waits up to `wait` until one of `fds` is readable or has an error queued.
pub fn poll(fds: &[RawFd], wait: Duration) -> io::Result<Vec<Ready>> {
    let mut set: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `set` is a live array of `set.len()` pollfds.
    let n = unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![Ready::default(); fds.len()]);
        }
        return Err(err);
    }
    Ok(set
        .iter()
        .map(|p| Ready {
            readable: p.revents & libc::POLLIN != 0,
            error: p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0,
        })
        .collect())
}

pub fn set_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: the option value is a live c_int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// IP_MULTICAST_IF by interface index (`struct ip_mreqn`), which socket2 takes only as an address.
pub fn set_multicast_if_index_v4(fd: RawFd, index: u32) -> io::Result<()> {
    let mreqn = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: index as i32,
    };
    // SAFETY: the option value is a live ip_mreqn of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&mreqn as *const libc::ip_mreqn).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The index of a network interface by name (`lo` → 1), or None if there is none.
pub fn interface_index(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}
