//! Ethernet + IP + UDP frames, as `tcpdump -i lo` shows a datagram.
//!
//! The headers are built into a small array ([`Headers`]) with lengths and checksums (RFC 1071)
//! filled in, so that a record is written straight into its place: no frame is allocated per
//! datagram. The vectors in the tests were computed independently.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Largest UDP payload in one IPv4 datagram (65535 - 20 - 8).
pub const MAX_PAYLOAD_V4: usize = 65_507;
/// Largest UDP payload in IPv6 without jumbograms (65535 - 8).
pub const MAX_PAYLOAD_V6: usize = 65_527;
/// Time to live / hop limit, Linux's default.
const TTL: u8 = 64;
const ETH: usize = 14;
const UDP_HEADER: usize = 8;
const PROTO_UDP: u8 = 17;

/// The Ethernet (zero MACs: loopback has none), IP and UDP headers of one frame; the payload
/// follows them.
pub(super) struct Headers {
    bytes: [u8; ETH + 40 + UDP_HEADER],
    len: usize,
}

impl Headers {
    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The headers of a frame around `payload`, with the TTL / hop limit and TOS given, that says the datagram
/// was `wire_len` bytes long (IP and UDP lengths). When `wire_len` is more than the payload
/// kept (a short receive), the UDP checksum, which needs the bytes not kept, is 0 ("none"), as
/// a capture with a snap length shows it.
///
/// v4-mapped IPv6 addresses are treated as IPv4 (that is what goes on the wire). If the two
/// addresses are still of different families, the IPv4 one is mapped and IPv6 headers built.
/// A payload longer than UDP allows (such a datagram cannot be sent) is refused.
pub(super) fn headers(
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
    wire_len: usize,
    (ttl, tos): (u8, u8),
) -> Result<Headers, String> {
    let pair = same_family(src.ip(), dst.ip());
    if payload.len() > pair.max_payload() {
        return Err(format!(
            "a {}-byte payload does not fit in one UDP datagram (at most {} bytes)",
            payload.len(),
            pair.max_payload()
        ));
    }
    let wire_len = wire_len.max(payload.len());
    let udp_len = (UDP_HEADER + wire_len).min(usize::from(u16::MAX)) as u16;
    let mut h = Headers {
        bytes: [0; ETH + 40 + UDP_HEADER],
        len: 0,
    };
    let b = &mut h.bytes;
    // Sum of the pseudo-header for the UDP checksum.
    let pseudo = match pair {
        Pair::V4(s, d) => {
            b[12..14].copy_from_slice(&[0x08, 0x00]);
            let total = (20 + UDP_HEADER + wire_len).min(65_535) as u16;
            let ip = &mut b[ETH..ETH + 20];
            ip[0] = 0x45;
            ip[1] = tos;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            // Don't fragment, as Linux sets it on UDP.
            ip[6] = 0x40;
            ip[8] = ttl;
            ip[9] = PROTO_UDP;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let check = !fold(sum(ip, 0));
            ip[10..12].copy_from_slice(&check.to_be_bytes());
            h.len = ETH + 20;
            sum(
                &s.octets(),
                sum(&d.octets(), u64::from(PROTO_UDP) + u64::from(udp_len)),
            )
        }
        Pair::V6(s, d) => {
            b[12..14].copy_from_slice(&[0x86, 0xdd]);
            let ip = &mut b[ETH..ETH + 40];
            // Version 6, then the traffic class across the next byte boundary.
            ip[0] = 0x60 | (tos >> 4);
            ip[1] = (tos & 0x0f) << 4;
            ip[4..6].copy_from_slice(&udp_len.to_be_bytes());
            ip[6] = PROTO_UDP;
            ip[7] = ttl;
            ip[8..24].copy_from_slice(&s.octets());
            ip[24..40].copy_from_slice(&d.octets());
            h.len = ETH + 40;
            sum(
                &s.octets(),
                sum(&d.octets(), u64::from(PROTO_UDP) + u64::from(udp_len)),
            )
        }
    };
    let at = h.len;
    let udp = &mut h.bytes[at..at + UDP_HEADER];
    udp[0..2].copy_from_slice(&src.port().to_be_bytes());
    udp[2..4].copy_from_slice(&dst.port().to_be_bytes());
    udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
    if wire_len == payload.len() {
        let check = !fold(sum(payload, sum(&udp[..6], pseudo)));
        // A computed 0 is sent as all ones: 0 means "no checksum" (RFC 768).
        let check = if check == 0 { 0xffff } else { check };
        udp[6..8].copy_from_slice(&check.to_be_bytes());
    }
    h.len += UDP_HEADER;
    Ok(h)
}

/// Ethernet II (zero MACs) + IPv4 or IPv6 + UDP around `payload`, with correct lengths and
/// checksums and TTL / hop limit 64 (see [`headers`]). A payload longer than UDP allows is cut
/// to the maximum.
pub fn frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let max = same_family(src.ip(), dst.ip()).max_payload();
    let payload = &payload[..payload.len().min(max)];
    try_frame(src, dst, payload).unwrap_or_default()
}

/// Like [`frame`], but refuses a payload longer than UDP allows.
pub(super) fn try_frame(
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let h = headers(src, dst, payload, payload.len(), (TTL, 0))?;
    let mut out = Vec::with_capacity(h.len + payload.len());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Rewrites the headers of `frame` (built by [`frame`]) to say the datagram was `wire_len`
/// bytes long, of which the frame keeps only the first ones: what [`headers`] writes for a
/// short receive.
#[cfg(test)]
fn claim_wire_length(frame: &mut [u8], wire_len: usize) {
    let (src, dst, at): (IpAddr, IpAddr, usize) = match frame.get(ETH).map(|b| b >> 4) {
        Some(4) => {
            let ip = |i: usize| Ipv4Addr::new(frame[i], frame[i + 1], frame[i + 2], frame[i + 3]);
            (ip(ETH + 12).into(), ip(ETH + 16).into(), ETH + 20)
        }
        Some(6) => {
            let ip = |i: usize| {
                let mut o = [0u8; 16];
                o.copy_from_slice(&frame[i..i + 16]);
                Ipv6Addr::from(o)
            };
            (ip(ETH + 8).into(), ip(ETH + 24).into(), ETH + 40)
        }
        _ => return,
    };
    let port = |i: usize| u16::from_be_bytes([frame[i], frame[i + 1]]);
    let (src, dst) = (
        SocketAddr::new(src, port(at)),
        SocketAddr::new(dst, port(at + 2)),
    );
    let payload = frame[at + UDP_HEADER..].to_vec();
    if let Ok(h) = headers(src, dst, &payload, wire_len, (TTL, 0)) {
        frame[..h.len].copy_from_slice(h.as_bytes());
    }
}

/// One's complement sum (RFC 1071) of `data` as big-endian 16-bit words, added to `acc`;
/// eight bytes at a time (end-around carry keeps the sum the same).
fn sum(data: &[u8], mut acc: u64) -> u64 {
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(w);
        let (s, carry) = acc.overflowing_add(u64::from_be_bytes(eight));
        acc = s + u64::from(carry);
    }
    let rest = words.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        acc = add(acc, u64::from(u16::from_be_bytes([p[0], p[1]])));
    }
    if let [last] = pairs.remainder() {
        acc = add(acc, u64::from(*last) << 8);
    }
    acc
}

fn add(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    s + u64::from(carry)
}

/// Folds a 64-bit one's complement sum to 16 bits.
fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

enum Pair {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

fn same_family(a: IpAddr, b: IpAddr) -> Pair {
    match (a.to_canonical(), b.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => Pair::V4(a, b),
        (IpAddr::V6(a), IpAddr::V6(b)) => Pair::V6(a, b),
        (IpAddr::V4(a), IpAddr::V6(b)) => Pair::V6(a.to_ipv6_mapped(), b),
        (IpAddr::V6(a), IpAddr::V4(b)) => Pair::V6(a, b.to_ipv6_mapped()),
    }
}

impl Pair {
    fn max_payload(&self) -> usize {
        match self {
            Pair::V4(..) => MAX_PAYLOAD_V4,
            Pair::V6(..) => MAX_PAYLOAD_V6,
        }
    }
}

#[cfg(test)]
mod tests {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Expected bytes and checksums computed independently (Python, RFC 1071 one's complement
    // sum over the IPv4 header and over the UDP pseudo-header + header + payload).
    #[test]
    fn ipv4_vector() {
        let got = frame(addr("127.0.0.1:40000"), addr("127.0.0.1:9999"), b"hello");
        let want = hex("000000000000 000000000000 0800
             4500 0021 0000 4000 4011 3cca 7f000001 7f000001
             9c40 270f 000d faaf 68656c6c6f");
        assert_eq!(got, want);
    }

    #[test]
    fn ipv6_vector() {
        let got = frame(addr("[::1]:40000"), addr("[::1]:9999"), b"hello");
        let want = hex("000000000000 000000000000 86dd
             60000000 000d 11 40
             00000000000000000000000000000001 00000000000000000000000000000001
             9c40 270f 000d f8b0 68656c6c6f");
        assert_eq!(got, want);
    }

    #[test]
    fn parses_back() {
        for (src, dst) in [
            ("192.168.1.2:5353", "127.255.255.255:6000"),
            ("[2001:db8::1]:1", "[2001:db8::2]:65535"),
            ("[::ffff:127.0.0.1]:7", "127.0.0.1:8"),
        ] {
            let (src, dst) = (addr(src), addr(dst));
            let bytes = frame(src, dst, b"payload");
            let pkt = SlicedPacket::from_ethernet(&bytes).unwrap();
            let (s, d) = match pkt.net.unwrap() {
                NetSlice::Ipv4(ip) => (
                    IpAddr::V4(ip.header().source_addr()),
                    IpAddr::V4(ip.header().destination_addr()),
                ),
                NetSlice::Ipv6(ip) => (
                    IpAddr::V6(ip.header().source_addr()),
                    IpAddr::V6(ip.header().destination_addr()),
                ),
                other => panic!("not IP: {other:?}"),
            };
            assert_eq!((s, d), (src.ip().to_canonical(), dst.ip().to_canonical()));
            let Some(TransportSlice::Udp(udp)) = pkt.transport else {
                panic!("not UDP")
            };
            assert_eq!(
                (udp.source_port(), udp.destination_port()),
                (src.port(), dst.port())
            );
            assert_eq!(udp.payload(), b"payload");
        }
    }

    #[test]
    fn a_truncated_datagram_keeps_its_real_lengths() {
        let mut v4 = frame(addr("127.0.0.1:40000"), addr("127.0.0.1:9999"), b"hello");
        claim_wire_length(&mut v4, 100);
        // IPv4 total length 128, header checksum recomputed; UDP length 108, checksum none.
        let want = hex("000000000000 000000000000 0800
             4500 0080 0000 4000 4011 3c6b 7f000001 7f000001
             9c40 270f 006c 0000 68656c6c6f");
        assert_eq!(v4, want);
        let mut v6 = frame(addr("[::1]:40000"), addr("[::1]:9999"), b"hello");
        claim_wire_length(&mut v6, 100);
        assert_eq!(&v6[18..20], &[0, 108]);
        assert_eq!(&v6[54 + 4..54 + 8], &[0, 108, 0, 0]);
    }

    #[test]
    fn mixed_families_become_ipv6() {
        let bytes = frame(addr("[2001:db8::1]:1"), addr("10.0.0.1:2"), b"x");
        assert_eq!(&bytes[12..14], &[0x86, 0xdd]);
    }

    #[test]
    fn largest_datagrams() {
        let v4 = frame(
            addr("127.0.0.1:1"),
            addr("127.0.0.1:2"),
            &[7; MAX_PAYLOAD_V4],
        );
        assert_eq!(v4.len(), 14 + 65_535);
        let v6 = frame(addr("[::1]:1"), addr("[::1]:2"), &[7; MAX_PAYLOAD_V6]);
        assert_eq!(v6.len(), 14 + 40 + 65_535);
        assert!(
            try_frame(
                addr("127.0.0.1:1"),
                addr("127.0.0.1:2"),
                &[7; MAX_PAYLOAD_V4 + 1]
            )
            .is_err()
        );
        // frame() never fails: it cuts what cannot be sent.
        let cut = frame(
            addr("127.0.0.1:1"),
            addr("127.0.0.1:2"),
            &[7; MAX_PAYLOAD_V4 + 9],
        );
        assert_eq!(cut.len(), 14 + 65_535);
    }

    #[test]
    fn ttl_and_tos_go_where_each_family_keeps_them() {
        let v4 = headers(
            "127.0.0.1:1".parse().unwrap(),
            "239.1.2.3:2".parse().unwrap(),
            b"x",
            1,
            (3, 0xb8),
        )
        .unwrap();
        let ip = &v4.as_bytes()[ETH..];
        assert_eq!((ip[1], ip[8]), (0xb8, 3));
        assert_eq!(
            !fold(sum(&ip[..20], 0)),
            0,
            "the header checksum covers them"
        );
        let v6 = headers(
            "[::1]:1".parse().unwrap(),
            "[::1]:2".parse().unwrap(),
            b"x",
            1,
            (9, 0xb8),
        )
        .unwrap();
        let ip = &v6.as_bytes()[ETH..];
        assert_eq!((ip[0], ip[1], ip[7]), (0x6b, 0x80, 9));
    }
}

#[cfg(test)]
mod against_etherparse {
    use std::net::SocketAddr;

    use etherparse::PacketBuilder;

    /// The frames etherparse builds, for comparison: the same bytes, checksums included.
    fn reference(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
        let link = PacketBuilder::ethernet2([0; 6], [0; 6]);
        let udp = match (src.ip().to_canonical(), dst.ip().to_canonical()) {
            (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => link
                .ipv4(s.octets(), d.octets(), 64)
                .udp(src.port(), dst.port()),
            (s, d) => {
                let v6 = |ip: std::net::IpAddr| match ip {
                    std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                    std::net::IpAddr::V6(v6) => v6,
                };
                link.ipv6(v6(s).octets(), v6(d).octets(), 64)
                    .udp(src.port(), dst.port())
            }
        };
        let mut out = Vec::new();
        udp.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn the_same_bytes_as_etherparse_for_every_length_and_family() {
        let pairs = [
            ("127.0.0.1:40000", "127.0.0.1:9999"),
            ("10.255.0.1:1", "192.168.200.17:65535"),
            ("255.255.255.255:65535", "255.255.255.255:65535"),
            ("0.0.0.1:0", "0.0.0.0:0"),
            ("[::1]:53", "[::1]:5353"),
            ("[2001:db8::ffff:1]:65535", "[fe80::1:2:3:4]:1"),
            (
                "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                "[::ffff:10.0.0.1]:2",
            ),
        ];
        // A payload of every length up to 300 and some long ones, of varied bytes: odd
        // lengths, carries and checksums that fold to zero are all met.
        let mut seed = 0x1234_5678u32;
        let mut lengths: Vec<usize> = (0..300).collect();
        lengths.extend([1399, 1400, 1472, 8191, 65_000]);
        for (s, d) in pairs {
            let (src, dst) = (s.parse().unwrap(), d.parse().unwrap());
            for &n in &lengths {
                let payload: Vec<u8> = (0..n)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        (seed >> 16) as u8
                    })
                    .collect();
                assert_eq!(
                    super::frame(src, dst, &payload),
                    reference(src, dst, &payload),
                    "{s} -> {d}, {n} bytes"
                );
                let ones = vec![0xffu8; n];
                assert_eq!(super::frame(src, dst, &ones), reference(src, dst, &ones));
            }
        }
    }
}
