//! Control messages of `recvmsg(2)`, parsed from the bytes the kernel wrote: where a
//! datagram was sent (IP_PKTINFO / IPV6_PKTINFO), its TTL and TOS, the kernel's receive time
//! (SO_TIMESTAMPNS), the socket's drop count (SO_RXQ_OVFL) and, from the error queue, what
//! an ICMP error said (IP_RECVERR / IPV6_RECVERR). Offsets follow the Linux structs; no
//! pointer casts, so a short or odd buffer is skipped, never read past.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the control messages of one datagram told.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// The datagram's destination address (a multicast group, a broadcast address, ours).
    pub dst: Option<IpAddr>,
    pub ttl: Option<u8>,
    pub tos: Option<u8>,
    /// When the kernel received it.
    pub time: Option<SystemTime>,
    /// Datagrams the kernel dropped at the socket so far.
    pub drops: Option<u32>,
    /// From the error queue: the error a datagram we sent met.
    pub error: Option<QueuedError>,
}

/// A `sock_extended_err` and the address it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedError {
    /// An errno: ECONNREFUSED for ICMP port unreachable.
    pub errno: i32,
    /// SO_EE_ORIGIN_*: 2 ICMP, 3 ICMPv6, 1 local.
    pub origin: u8,
    pub icmp_type: u8,
    pub icmp_code: u8,
    /// Who sent the ICMP message (SO_EE_OFFENDER), when known.
    pub offender: Option<SocketAddr>,
}

const WORD: usize = std::mem::size_of::<usize>();
/// `sizeof(struct cmsghdr)` rounded up: length (size_t), level and type (int each).
const HEADER: usize = align(WORD + 8);
/// `sizeof(struct sock_extended_err)`.
const EXT_ERR: usize = 16;

const fn align(n: usize) -> usize {
    (n + WORD - 1) & !(WORD - 1)
}

/// Parses a control buffer (`msg_control`, `msg_controllen` bytes of it).
pub fn parse(bytes: &[u8]) -> Facts {
    let mut facts = Facts::default();
    // A v4 datagram on a dual-stack socket comes with both PKTINFOs; the v4 one is plainer.
    let mut dst_v6 = None;
    let mut at = 0;
    while at + HEADER <= bytes.len() {
        let Some(len) = read_usize(bytes, at) else {
            break;
        };
        if len < HEADER || at + len > bytes.len() {
            break;
        }
        let level = read_i32(bytes, at + WORD).unwrap_or(-1);
        let kind = read_i32(bytes, at + WORD + 4).unwrap_or(-1);
        let data = &bytes[at + HEADER..at + len];
        one(&mut facts, &mut dst_v6, level, kind, data);
        at += align(len);
    }
    if facts.dst.is_none() {
        facts.dst = dst_v6.map(|ip: IpAddr| ip.to_canonical());
    }
    facts
}

fn one(facts: &mut Facts, dst_v6: &mut Option<IpAddr>, level: i32, kind: i32, data: &[u8]) {
    match (level, kind) {
        (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => facts.time = timespec(data),
        (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) => facts.drops = read_u32(data, 0),
        // struct in_pktinfo: ifindex, spec_dst, addr (the header's destination).
        (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
            facts.dst = ipv4(data, 8).map(IpAddr::V4).or(facts.dst);
        }
        (libc::IPPROTO_IP, libc::IP_TTL) => facts.ttl = small_int(data),
        (libc::IPPROTO_IP, libc::IP_TOS) => facts.tos = data.first().copied(),
        (libc::IPPROTO_IP, libc::IP_RECVERR) => facts.error = ext_err(data),
        // struct in6_pktinfo: addr, ifindex.
        (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => *dst_v6 = ipv6(data, 0).map(IpAddr::V6),
        (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => facts.ttl = small_int(data),
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => facts.tos = small_int(data),
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR) => facts.error = ext_err(data),
        _ => {}
    }
}

fn ext_err(data: &[u8]) -> Option<QueuedError> {
    if data.len() < EXT_ERR {
        return None;
    }
    Some(QueuedError {
        errno: i32::try_from(read_u32(data, 0)?).ok()?,
        origin: data[4],
        icmp_type: data[5],
        icmp_code: data[6],
        offender: sockaddr(&data[EXT_ERR..]).filter(|a| !a.ip().is_unspecified()),
    })
}

/// A `sockaddr_in` or `sockaddr_in6` in bytes (family in host order, port in network order).
pub fn sockaddr(bytes: &[u8]) -> Option<SocketAddr> {
    let family = i32::from(u16::from_ne_bytes(bytes.get(0..2)?.try_into().ok()?));
    let port = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?);
    match family {
        libc::AF_INET => Some(SocketAddr::new(IpAddr::V4(ipv4(bytes, 4)?), port)),
        // sockaddr_in6: family, port, flowinfo, addr, scope id.
        libc::AF_INET6 => Some(SocketAddr::new(IpAddr::V6(ipv6(bytes, 8)?), port)),
        _ => None,
    }
}

fn timespec(data: &[u8]) -> Option<SystemTime> {
    let (secs, nanos) = match data.len() {
        16 => (
            i64::from_ne_bytes(data[0..8].try_into().ok()?),
            i64::from_ne_bytes(data[8..16].try_into().ok()?),
        ),
        8 => (
            i64::from(i32::from_ne_bytes(data[0..4].try_into().ok()?)),
            i64::from(i32::from_ne_bytes(data[4..8].try_into().ok()?)),
        ),
        _ => return None,
    };
    let secs = u64::try_from(secs).ok()?;
    let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
    UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
}

fn small_int(data: &[u8]) -> Option<u8> {
    match data.len() {
        1 => Some(data[0]),
        _ => u8::try_from(read_i32(data, 0)?).ok(),
    }
}

fn ipv4(bytes: &[u8], at: usize) -> Option<Ipv4Addr> {
    let octets: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(Ipv4Addr::from(octets))
}

fn ipv6(bytes: &[u8], at: usize) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

fn read_usize(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from_ne_bytes(
        bytes.get(at..at + WORD)?.try_into().ok()?,
    ))
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames (level, type, data) as the kernel lays out a control buffer. The data below are
    /// what Linux 6 gave Python's `recvmsg` on loopback (see the notes on each).
    fn buffer(msgs: &[(i32, i32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (level, kind, data) in msgs {
            let len = HEADER + data.len();
            out.extend_from_slice(&len.to_ne_bytes());
            out.extend_from_slice(&level.to_ne_bytes());
            out.extend_from_slice(&kind.to_ne_bytes());
            out.resize(out.len().next_multiple_of(WORD), 0);
            out.extend_from_slice(data);
            out.resize(out.len().next_multiple_of(WORD), 0);
        }
        out
    }

    // SCM_TIMESTAMPNS: tv_sec 0x6b0e9133, tv_nsec 0x08711f17.
    const TIME: &[u8] = b"3\x91\x0ek\x00\x00\x00\x00\x17\x1fq\x08\x00\x00\x00\x00";
    // IPV6_PKTINFO of a v4 datagram on a dual-stack socket: ::ffff:127.0.0.1, ifindex 1.
    const PKTINFO6_MAPPED: &[u8] =
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x7f\x00\x00\x01\x01\x00\x00\x00";
    // IP_PKTINFO: ifindex 1, spec_dst 127.0.0.1, addr 127.0.0.1.
    const PKTINFO4: &[u8] = b"\x01\x00\x00\x00\x7f\x00\x00\x01\x7f\x00\x00\x01";
    // IPV6_RECVERR after a datagram to [::1]:9: ECONNREFUSED (111), origin ICMPv6 (3),
    // type 1 (destination unreachable), code 4 (port unreachable), offender ::1.
    const RECVERR6: &[u8] = b"o\x00\x00\x00\x03\x01\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x00\x00\x00\x01\x00\x00\x00\x00";
    // IP_RECVERR after a datagram to 127.0.0.1:9: ECONNREFUSED, origin ICMP (2), type 3 code 3.
    const RECVERR4: &[u8] = b"o\x00\x00\x00\x02\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\
        \x02\x00\x00\x00\x7f\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00";

    #[test]
    fn reads_a_v4_datagram_on_a_dual_stack_socket() {
        let bytes = buffer(&[
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS, TIME),
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, PKTINFO6_MAPPED),
            (libc::IPPROTO_IP, libc::IP_PKTINFO, PKTINFO4),
            (libc::IPPROTO_IP, libc::IP_TTL, b"\t\x00\x00\x00"),
            (libc::IPPROTO_IP, libc::IP_TOS, b"\xb8"),
        ]);
        let facts = parse(&bytes);
        assert_eq!(facts.dst, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(facts.ttl, Some(9));
        assert_eq!(facts.tos, Some(0xb8));
        let since = facts.time.unwrap().duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(since, Duration::new(0x6b0e9133, 0x08711f17));
        assert_eq!(facts.error, None);
    }

    #[test]
    fn a_mapped_v6_destination_is_shown_as_v4() {
        let bytes = buffer(&[(libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, PKTINFO6_MAPPED)]);
        assert_eq!(parse(&bytes).dst, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn reads_icmp_errors_of_both_families() {
        let v6 = parse(&buffer(&[(
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVERR,
            RECVERR6,
        )]));
        assert_eq!(
            v6.error,
            Some(QueuedError {
                errno: libc::ECONNREFUSED,
                origin: 3,
                icmp_type: 1,
                icmp_code: 4,
                offender: Some("[::1]:0".parse().unwrap()),
            })
        );
        let v4 = parse(&buffer(&[(libc::IPPROTO_IP, libc::IP_RECVERR, RECVERR4)]));
        let err = v4.error.unwrap();
        assert_eq!(
            (err.errno, err.origin, err.icmp_type, err.icmp_code),
            (111, 2, 3, 3)
        );
        assert_eq!(err.offender, Some("127.0.0.1:0".parse().unwrap()));
    }

    #[test]
    fn v6_hop_limit_and_traffic_class_are_ints() {
        let facts = parse(&buffer(&[
            (
                libc::IPPROTO_IPV6,
                libc::IPV6_HOPLIMIT,
                &64i32.to_ne_bytes(),
            ),
            (
                libc::IPPROTO_IPV6,
                libc::IPV6_TCLASS,
                &0x28i32.to_ne_bytes(),
            ),
            (libc::SOL_SOCKET, libc::SO_RXQ_OVFL, &7u32.to_ne_bytes()),
        ]));
        assert_eq!(
            (facts.ttl, facts.tos, facts.drops),
            (Some(64), Some(0x28), Some(7))
        );
    }

    #[test]
    fn short_or_bad_buffers_are_skipped() {
        assert_eq!(parse(&[]), Facts::default());
        assert_eq!(parse(&[0xff; 7]), Facts::default());
        let mut bytes = buffer(&[(libc::IPPROTO_IP, libc::IP_TTL, b"\x05\x00\x00\x00")]);
        // a length pointing past the end
        bytes[0] = 200;
        assert_eq!(parse(&bytes), Facts::default());
        // a truncated error struct is no error
        let short = buffer(&[(libc::IPPROTO_IP, libc::IP_RECVERR, &RECVERR4[..10])]);
        assert_eq!(parse(&short).error, None);
    }

    #[test]
    fn parses_socket_addresses() {
        assert_eq!(
            sockaddr(&RECVERR4[16..]),
            Some("127.0.0.1:0".parse().unwrap())
        );
        let mut v6 = RECVERR6[16..].to_vec();
        v6[2..4].copy_from_slice(&9u16.to_be_bytes());
        assert_eq!(sockaddr(&v6), Some("[::1]:9".parse().unwrap()));
        assert_eq!(sockaddr(&[1, 0]), None);
    }
}
