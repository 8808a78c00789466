//! The addresses of this process's sockets, so a datagram between two of them is recorded
//! once (at its send) and not again at its receive.

use std::net::SocketAddr;
use std::sync::RwLock;

static LOCAL: RwLock<Vec<SocketAddr>> = RwLock::new(Vec::new());

pub fn add(addr: SocketAddr) {
    let mut all = LOCAL.write().unwrap_or_else(|p| p.into_inner());
    if !all.contains(&addr) {
        all.push(addr);
    }
}

pub fn remove(addr: SocketAddr) {
    LOCAL
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .retain(|a| *a != addr);
}

/// Whether `from` is one of ours: same port, and same address or ours is the any-address
/// (an IPv6 any-address is dual-stack: it sends to IPv4 peers too).
pub fn is_local(from: SocketAddr) -> bool {
    LOCAL
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .any(|a| {
            a.port() == from.port()
                && (a.ip() == from.ip() || a.ip().is_unspecified())
                && (a.is_ipv6() == from.is_ipv6() || a.ip().is_unspecified() && a.is_ipv6())
        })
}
