//! The source address the kernel would put on a datagram, for sockets bound to `0.0.0.0` / `::`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{LazyLock, Mutex};

use socket2::{Domain, Protocol, Socket, Type};

/// Past this many destinations the cache starts over, so a script that sprays many
/// addresses cannot grow it without bound.
const CACHE_LIMIT: usize = 1024;

static CACHE: LazyLock<Mutex<HashMap<IpAddr, IpAddr>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

thread_local! {
    /// The last answer of this thread: a socket sends to one place in a loop, and the shared
    /// cache's lock and hash cost more than the rest of a record.
    static LAST: std::cell::Cell<Option<(IpAddr, IpAddr)>> = const { std::cell::Cell::new(None) };
}

/// The source address the kernel chooses for a datagram to `dst`.
///
/// Asks the kernel itself: a probe UDP socket is connected (which sends nothing) to `dst` and
/// `getsockname` tells the address routing picked. Results are cached per destination.
/// When the kernel has no route (such a datagram could not have been sent anyway) the answer is
/// the loopback address of `dst`'s family, so a recorded source is never unspecified.
pub fn source_ip_for(dst: IpAddr) -> IpAddr {
    let dst = dst.to_canonical();
    if let Some((last, src)) = LAST.get()
        && last == dst
    {
        return src;
    }
    let (src, known) = lookup(dst);
    if known {
        LAST.set(Some((dst, src)));
    }
    src
}

/// The answer, and whether it is the kernel's (and so kept).
fn lookup(dst: IpAddr) -> (IpAddr, bool) {
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(&src) = cache.get(&dst) {
        return (src, true);
    }
    match probe(dst) {
        Ok(src) if !src.is_unspecified() => {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(dst, src);
            (src, true)
        }
        // Not cached: a route may appear later (e.g. an interface brought up by a test).
        _ => (loopback_of(dst), false),
    }
}

fn probe(dst: IpAddr) -> io::Result<IpAddr> {
    let target = SocketAddr::new(dst, 9);
    let socket = Socket::new(
        Domain::for_address(target),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if dst.is_ipv4() {
        // Without SO_BROADCAST, connecting to a broadcast address (127.255.255.255) fails.
        socket.set_broadcast(true)?;
    }
    socket.connect(&target.into())?;
    socket
        .local_addr()?
        .as_socket()
        .map(|local| local.ip().to_canonical())
        .ok_or_else(|| io::Error::other("probe socket has no IP address"))
}

fn loopback_of(dst: IpAddr) -> IpAddr {
    match dst {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_destinations() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(source_ip_for(v4), v4);
        assert_eq!(source_ip_for("127.0.0.7".parse().unwrap()), v4);
        // lo's broadcast address needs SO_BROADCAST on the probe.
        assert_eq!(source_ip_for("127.255.255.255".parse().unwrap()), v4);
        // A v4-mapped destination is answered as IPv4.
        assert_eq!(source_ip_for("::ffff:127.0.0.1".parse().unwrap()), v4);
    }

    #[test]
    fn ipv6_loopback() {
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(source_ip_for(v6), v6);
    }

    #[test]
    fn never_unspecified() {
        for dst in [
            "0.0.0.0",
            "255.255.255.255",
            "10.255.255.254",
            "2001:db8::1",
            "fe80::1",
        ] {
            let src = source_ip_for(dst.parse().unwrap());
            assert!(!src.is_unspecified(), "{dst} -> {src}");
            assert_eq!(src.is_ipv4(), dst.contains('.'), "{dst} -> {src}");
        }
    }
}
