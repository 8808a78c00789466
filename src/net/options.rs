//! Socket options a script sets (TTL, TOS, buffers, multicast), kept in [`Settings`] so an
//! unbound `udp()` that moves to IPv6 at its first IPv6 destination takes them along. On an
//! IPv6 socket the IPv4 form of each option is set too, for its v4-mapped (dual-stack) peers.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;

use socket2::{InterfaceIndexOrAddress, Socket};

use super::{ErrorKind, NetError, NetResult, sys};

/// What the script asked for, replayed on a socket made later.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub broadcast: bool,
    pub reuse: bool,
    pub ttl: Option<u32>,
    pub tos: Option<u32>,
    pub rcvbuf: Option<usize>,
    pub sndbuf: Option<usize>,
    pub multicast_ttl: Option<u32>,
    pub multicast_loop: Option<bool>,
    pub multicast_if: Option<Interface>,
    /// SO_RXQ_OVFL, for `drops`.
    pub drop_counts: bool,
}

/// A network interface as a script names it: `"lo"`, `"eth0"`, or one of its addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Interface {
    Index { name: String, index: u32 },
    V4(Ipv4Addr),
    V6 { addr: Ipv6Addr, index: u32 },
}

impl Interface {
    pub fn parse(text: &str) -> NetResult<Interface> {
        let text = text.trim();
        match text.parse::<IpAddr>() {
            Ok(IpAddr::V4(addr)) => Ok(Interface::V4(addr)),
            Ok(IpAddr::V6(addr)) => index_of_address(addr)
                .map(|index| Interface::V6 { addr, index })
                .ok_or_else(|| {
                    NetError::new(
                        ErrorKind::Address,
                        format!("no network interface has the address {addr}"),
                    )
                }),
            Err(_) => sys::interface_index(text)
                .map(|index| Interface::Index {
                    name: text.to_string(),
                    index,
                })
                .ok_or_else(|| {
                    NetError::new(
                        ErrorKind::Address,
                        format!(
                            "no network interface '{text}' (there are: {})",
                            interface_names().join(", ")
                        ),
                    )
                }),
        }
    }

    /// The interface index for IPv6 (0 for an IPv4 address: the kernel's choice).
    fn index(&self) -> u32 {
        match self {
            Interface::Index { index, .. } | Interface::V6 { index, .. } => *index,
            Interface::V4(_) => 0,
        }
    }
}

fn interface_names() -> Vec<String> {
    let mut names: Vec<String> = nix::ifaddrs::getifaddrs()
        .map(|all| all.map(|i| i.interface_name).collect())
        .unwrap_or_default();
    names.sort();
    names.dedup();
    names
}

fn index_of_address(addr: Ipv6Addr) -> Option<u32> {
    let all = nix::ifaddrs::getifaddrs().ok()?;
    for ifa in all {
        let has = ifa
            .address
            .as_ref()
            .and_then(|a| a.as_sockaddr_in6())
            .is_some_and(|a| a.ip() == addr);
        if has {
            return sys::interface_index(&ifa.interface_name);
        }
    }
    None
}

fn fail(what: &str) -> impl Fn(io::Error) -> NetError + '_ {
    move |e| NetError::io(what, e)
}

/// The receive facts every datagram carries: kernel time, destination, TTL, TOS, and ICMP
/// errors on the error queue. Best effort: a kernel without one just leaves it unset.
pub fn ask_for_facts(socket: &Socket, ipv6: bool) {
    let fd = socket.as_raw_fd();
    let on = |level, name| {
        let _ = sys::set_int(fd, level, name, 1);
    };
    on(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS);
    // Also on IPv6 sockets: their v4-mapped peers' datagrams carry the IPv4 facts.
    on(libc::IPPROTO_IP, libc::IP_RECVERR);
    on(libc::IPPROTO_IP, libc::IP_PKTINFO);
    on(libc::IPPROTO_IP, libc::IP_RECVTTL);
    on(libc::IPPROTO_IP, libc::IP_RECVTOS);
    if ipv6 {
        on(libc::IPPROTO_IPV6, libc::IPV6_RECVERR);
        on(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO);
        on(libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT);
        on(libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS);
    }
}

/// Applies every setting (to a socket made after they were set).
pub fn apply_all(socket: &Socket, ipv6: bool, s: &Settings) -> NetResult<()> {
    if s.broadcast {
        set_broadcast(socket, true)?;
    }
    if s.reuse {
        set_reuse(socket, true)?;
    }
    if let Some(ttl) = s.ttl {
        set_ttl(socket, ipv6, ttl)?;
    }
    if let Some(tos) = s.tos {
        set_tos(socket, ipv6, tos)?;
    }
    if let Some(n) = s.rcvbuf {
        set_rcvbuf(socket, n)?;
    }
    if let Some(n) = s.sndbuf {
        set_sndbuf(socket, n)?;
    }
    if let Some(ttl) = s.multicast_ttl {
        set_multicast_ttl(socket, ipv6, ttl)?;
    }
    if let Some(on) = s.multicast_loop {
        set_multicast_loop(socket, ipv6, on)?;
    }
    if let Some(iface) = &s.multicast_if {
        set_multicast_if(socket, ipv6, iface)?;
    }
    if s.drop_counts {
        let _ = sys::set_int(socket.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RXQ_OVFL, 1);
    }
    Ok(())
}

pub fn set_broadcast(socket: &Socket, on: bool) -> NetResult<()> {
    socket
        .set_broadcast(on)
        .map_err(fail("cannot set SO_BROADCAST"))
}

pub fn set_reuse(socket: &Socket, on: bool) -> NetResult<()> {
    socket
        .set_reuse_address(on)
        .and_then(|_| socket.set_reuse_port(on))
        .map_err(fail("cannot set SO_REUSEADDR/SO_REUSEPORT"))
}

/// Checks a TTL / hop limit (1 to 255) or a TOS byte (0 to 255).
pub fn byte_value(what: &str, value: i64, min: i64) -> NetResult<u32> {
    if (min..=255).contains(&value) {
        Ok(value as u32)
    } else {
        Err(NetError::new(
            ErrorKind::Value,
            format!("{what} must be between {min} and 255, not {value}"),
        ))
    }
}

pub fn set_ttl(socket: &Socket, ipv6: bool, ttl: u32) -> NetResult<()> {
    if ipv6 {
        let _ = socket.set_ttl_v4(ttl);
        socket
            .set_unicast_hops_v6(ttl)
            .map_err(fail("cannot set the hop limit (IPV6_UNICAST_HOPS)"))
    } else {
        socket.set_ttl_v4(ttl).map_err(fail("cannot set IP_TTL"))
    }
}

pub fn set_tos(socket: &Socket, ipv6: bool, tos: u32) -> NetResult<()> {
    if ipv6 {
        let _ = socket.set_tos_v4(tos);
        socket
            .set_tclass_v6(tos)
            .map_err(fail("cannot set the traffic class (IPV6_TCLASS)"))
    } else {
        socket.set_tos_v4(tos).map_err(fail("cannot set IP_TOS"))
    }
}

/// Sets SO_RCVBUF; returns what the kernel made of it (doubled, capped by rmem_max).
pub fn set_rcvbuf(socket: &Socket, bytes: usize) -> NetResult<usize> {
    socket
        .set_recv_buffer_size(bytes)
        .map_err(fail("cannot set SO_RCVBUF"))?;
    rcvbuf(socket)
}

pub fn rcvbuf(socket: &Socket) -> NetResult<usize> {
    socket
        .recv_buffer_size()
        .map_err(fail("cannot read SO_RCVBUF"))
}

pub fn set_sndbuf(socket: &Socket, bytes: usize) -> NetResult<usize> {
    socket
        .set_send_buffer_size(bytes)
        .map_err(fail("cannot set SO_SNDBUF"))?;
    sndbuf(socket)
}

pub fn sndbuf(socket: &Socket) -> NetResult<usize> {
    socket
        .send_buffer_size()
        .map_err(fail("cannot read SO_SNDBUF"))
}

pub fn set_multicast_ttl(socket: &Socket, ipv6: bool, ttl: u32) -> NetResult<()> {
    if ipv6 {
        let _ = socket.set_multicast_ttl_v4(ttl);
        socket
            .set_multicast_hops_v6(ttl)
            .map_err(fail("cannot set IPV6_MULTICAST_HOPS"))
    } else {
        socket
            .set_multicast_ttl_v4(ttl)
            .map_err(fail("cannot set IP_MULTICAST_TTL"))
    }
}

pub fn set_multicast_loop(socket: &Socket, ipv6: bool, on: bool) -> NetResult<()> {
    if ipv6 {
        let _ = socket.set_multicast_loop_v4(on);
        socket
            .set_multicast_loop_v6(on)
            .map_err(fail("cannot set IPV6_MULTICAST_LOOP"))
    } else {
        socket
            .set_multicast_loop_v4(on)
            .map_err(fail("cannot set IP_MULTICAST_LOOP"))
    }
}

pub fn set_multicast_if(socket: &Socket, ipv6: bool, iface: &Interface) -> NetResult<()> {
    let fd = socket.as_raw_fd();
    let v4 = |socket: &Socket| match iface {
        Interface::V4(addr) => socket.set_multicast_if_v4(addr),
        Interface::Index { index, .. } => sys::set_multicast_if_index_v4(fd, *index),
        Interface::V6 { .. } => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    };
    if ipv6 {
        let _ = v4(socket);
        if matches!(iface, Interface::V4(_)) {
            // An IPv4 address names the interface for v4-mapped destinations only.
            return v4(socket).map_err(fail("cannot set IP_MULTICAST_IF"));
        }
        socket
            .set_multicast_if_v6(iface.index())
            .map_err(fail("cannot set IPV6_MULTICAST_IF"))
    } else {
        v4(socket).map_err(fail("cannot set IP_MULTICAST_IF"))
    }
}

/// Joins (`join` true) or leaves a multicast group, on an interface or the kernel's choice.
pub fn membership(
    socket: &Socket,
    ipv6: bool,
    group: IpAddr,
    iface: Option<&Interface>,
    join: bool,
) -> NetResult<()> {
    let verb = if join { "join" } else { "leave" };
    if !group.is_multicast() {
        return Err(NetError::new(
            ErrorKind::Address,
            format!("{group} is not a multicast group (224.0.0.0/4 or ff00::/8)"),
        ));
    }
    let what = format!("cannot {verb} the multicast group {group}");
    match group {
        IpAddr::V4(group) => {
            let on = match iface {
                None => InterfaceIndexOrAddress::Address(Ipv4Addr::UNSPECIFIED),
                Some(Interface::V4(addr)) => InterfaceIndexOrAddress::Address(*addr),
                Some(Interface::Index { index, .. }) => InterfaceIndexOrAddress::Index(*index),
                Some(Interface::V6 { .. }) => {
                    return Err(NetError::new(
                        ErrorKind::Address,
                        format!("{what}: an IPv4 group needs an interface name or IPv4 address"),
                    ));
                }
            };
            let done = if join {
                socket.join_multicast_v4_n(&group, &on)
            } else {
                socket.leave_multicast_v4_n(&group, &on)
            };
            done.map_err(|e| NetError::io(&what, e))
        }
        IpAddr::V6(group) => {
            if !ipv6 {
                return Err(NetError::new(
                    ErrorKind::Address,
                    format!("{what}: this socket is IPv4 (make an IPv6 one: udp(\"[::]:port\"))"),
                ));
            }
            let index = iface.map_or(0, Interface::index);
            let done = if join {
                socket.join_multicast_v6(&group, index)
            } else {
                socket.leave_multicast_v6(&group, index)
            };
            done.map_err(|e| NetError::io(&what, e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, Protocol, Type};

    fn socket(ipv6: bool) -> Socket {
        let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
        Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).unwrap()
    }

    #[test]
    fn names_interfaces_by_name_or_address() {
        assert!(matches!(
            Interface::parse("lo"),
            Ok(Interface::Index { index, .. }) if index > 0
        ));
        assert_eq!(
            Interface::parse("127.0.0.1").unwrap(),
            Interface::V4(Ipv4Addr::LOCALHOST)
        );
        let err = Interface::parse("nosuch0").unwrap_err().to_string();
        assert!(
            err.contains("no network interface 'nosuch0'") && err.contains("lo"),
            "{err}"
        );
    }

    #[test]
    fn the_kernel_doubles_a_receive_buffer() {
        let s = socket(false);
        let got = set_rcvbuf(&s, 65536).unwrap();
        assert_eq!(got, rcvbuf(&s).unwrap());
        assert!(got >= 65536, "{got}");
    }

    #[test]
    fn ttl_and_tos_are_bytes() {
        assert!(byte_value("ttl", 0, 1).is_err());
        assert!(byte_value("ttl", 256, 1).is_err());
        assert_eq!(byte_value("tos", 0xb8, 0).unwrap(), 0xb8);
        let s = socket(false);
        set_ttl(&s, false, 7).unwrap();
        assert_eq!(s.ttl_v4().unwrap(), 7);
    }

    #[test]
    fn a_unicast_address_is_no_group() {
        let s = socket(false);
        let err = membership(&s, false, "127.0.0.1".parse().unwrap(), None, true).unwrap_err();
        assert!(err.to_string().contains("not a multicast group"), "{err}");
        let err = membership(&s, false, "ff02::1".parse().unwrap(), None, true).unwrap_err();
        assert!(err.to_string().contains("this socket is IPv4"), "{err}");
    }
}
