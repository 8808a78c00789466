//! The UDP sockets under a script's `udp()`: socket2 underneath, waits in short slices so a
//! stop is seen, receives that never truncate silently and carry the kernel's facts about each
//! datagram, ICMP errors reported at once. Knows nothing of Rhai.
//!
//! - [`socket`]: [`UdpSock`], its family chosen at first use, sends, receives, errors.
//! - [`options`]: TTL, TOS, buffers, multicast.
//! - [`cmsg`]: control messages parsed from bytes; [`sys`]: the raw system calls.
//! - [`addr`]: addresses from text, names resolved stoppably.
//! - [`wait`]: waiting on several sockets at once.

pub mod addr;
pub mod cmsg;
pub mod options;
pub mod socket;
mod sys;
pub mod wait;

use std::fmt;
use std::io;

pub use crate::kind::ErrorKind;
use crate::stop::StopReason;

pub use addr::{parse_addr, parse_addr_stoppable, port, resolve, resolve_stoppable};
pub use options::Interface;
pub use socket::{Received, UdpSock};
pub use sys::canonical;
pub(crate) use sys::{ControlBuf, recvmsg};

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
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> NetError {
        NetError::Failed {
            kind,
            message: message.into(),
        }
    }

    pub fn io(what: &str, err: io::Error) -> NetError {
        let kind = match err.kind() {
            io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ErrorKind::Timeout,
            io::ErrorKind::ConnectionRefused => ErrorKind::Refused,
            _ => ErrorKind::Network,
        };
        NetError::new(kind, format!("{what}: {err}"))
    }

    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            NetError::Failed { kind, .. } => Some(*kind),
            NetError::Stopped(_) => None,
        }
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

/// Seconds as people write them: `2`, `0.5`, `∞` for no limit.
pub fn secs(t: Option<std::time::Duration>) -> String {
    match t {
        None => "∞".into(),
        Some(t) if t.as_secs() > 1_000_000_000 => "∞".into(),
        Some(t) => format!("{}s", t.as_secs_f64()),
    }
}

/// One `sendmmsg` entry: one buffer to `to` (both must outlive the call it is used in).
pub fn send_entry(to: &socket2::SockAddr, iov: *mut libc::iovec) -> libc::mmsghdr {
    // SAFETY: an all-zero msghdr is valid (no name, no buffers, no control data, no flags).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = to.as_ptr() as *mut libc::c_void;
    msg.msg_namelen = to.len();
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    libc::mmsghdr {
        msg_hdr: msg,
        msg_len: 0,
    }
}

/// `sendmmsg(2)` of `headers` on `fd`: how many datagrams the kernel took (at least one).
/// An interrupted call is made again, and so is one that met the ICMP error of an earlier
/// datagram (once; `icmp` is then set: the next receive should report it), and one that found
/// the device queue full (off loopback), after a pause.
pub fn sendmmsg(
    fd: std::os::fd::RawFd,
    headers: &mut [libc::mmsghdr],
    icmp: &mut bool,
) -> io::Result<usize> {
    let mut retried = false;
    loop {
        // SAFETY: the caller's mmsghdrs point at buffers and addresses that live through the
        // call; the kernel writes only their `msg_len`.
        let done = unsafe { libc::sendmmsg(fd, headers.as_mut_ptr(), headers.len() as _, 0) };
        if done > 0 {
            return Ok(done as usize);
        }
        let err = if done == 0 {
            io::Error::new(io::ErrorKind::WriteZero, "sendmmsg sent nothing")
        } else {
            io::Error::last_os_error()
        };
        match err.raw_os_error() {
            Some(libc::EINTR) => {}
            // An earlier datagram met an ICMP error; this one did not go: send it again.
            Some(libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH) if !retried => {
                *icmp = true;
                retried = true;
            }
            Some(libc::ENOBUFS) | Some(libc::EAGAIN) => {
                std::thread::sleep(std::time::Duration::from_micros(100))
            }
            _ => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(group(65507), "65,507");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000_000), "1,000,000");
    }
}
