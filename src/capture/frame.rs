//! Ethernet + IP + UDP frames, as `tcpdump -i lo` shows a datagram.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use etherparse::PacketBuilder;
use etherparse::err::packet::BuildWriteError;

/// Largest UDP payload in one IPv4 datagram (65535 - 20 - 8).
pub const MAX_PAYLOAD_V4: usize = 65_507;
/// Largest UDP payload in IPv6 without jumbograms (65535 - 8).
pub const MAX_PAYLOAD_V6: usize = 65_527;
/// Time to live / hop limit, Linux's default.
const TTL: u8 = 64;
/// Loopback has no hardware addresses: tcpdump on `lo` shows zero MACs.
const NO_MAC: [u8; 6] = [0; 6];

/// Ethernet II (zero MACs) + IPv4 or IPv6 + UDP around `payload`, with correct lengths and
/// checksums and TTL / hop limit 64.
///
/// v4-mapped IPv6 addresses are treated as IPv4 (that is what goes on the wire). If the two
/// addresses are still of different families, the IPv4 one is mapped and an IPv6 packet built.
/// A payload longer than UDP allows (such a datagram cannot be sent) is cut to the maximum.
pub fn frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let pair = same_family(src.ip(), dst.ip());
    let payload = &payload[..payload.len().min(pair.max_payload())];
    build(pair, src.port(), dst.port(), payload).unwrap_or_default()
}

/// Like [`frame`], but refuses a payload longer than UDP allows.
pub(super) fn try_frame(
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
) -> Result<Vec<u8>, String> {
    let pair = same_family(src.ip(), dst.ip());
    if payload.len() > pair.max_payload() {
        return Err(format!(
            "a {}-byte payload does not fit in one UDP datagram (at most {} bytes)",
            payload.len(),
            pair.max_payload()
        ));
    }
    build(pair, src.port(), dst.port(), payload).map_err(|e| format!("cannot build frame: {e}"))
}

/// Says in the IP and UDP headers of `frame` (built by [`frame`]) that the datagram was
/// `wire_len` bytes long, of which the frame keeps only the first ones, as a capture with a
/// snap length does. The UDP checksum, which needs the bytes not kept, becomes 0 ("none").
pub(super) fn claim_wire_length(frame: &mut [u8], wire_len: usize) {
    const ETH: usize = 14;
    let udp_len = (8 + wire_len).min(usize::from(u16::MAX)) as u16;
    let udp_at = match frame.get(ETH) {
        Some(b) if b >> 4 == 4 => {
            let Ok((mut ip, _)) = etherparse::Ipv4Header::from_slice(&frame[ETH..]) else {
                return;
            };
            ip.total_len = (ip.header_len() + 8 + wire_len).min(65_535) as u16;
            ip.header_checksum = ip.calc_header_checksum();
            let bytes = ip.to_bytes();
            frame[ETH..ETH + bytes.len()].copy_from_slice(&bytes);
            ETH + bytes.len()
        }
        Some(b) if b >> 4 == 6 => {
            frame[ETH + 4..ETH + 6].copy_from_slice(&udp_len.to_be_bytes());
            ETH + 40
        }
        _ => return,
    };
    if let Some(udp) = frame.get_mut(udp_at..udp_at + 8) {
        udp[4..6].copy_from_slice(&udp_len.to_be_bytes());
        udp[6..8].copy_from_slice(&[0, 0]);
    }
}

fn build(pair: Pair, sport: u16, dport: u16, payload: &[u8]) -> Result<Vec<u8>, BuildWriteError> {
    let link = PacketBuilder::ethernet2(NO_MAC, NO_MAC);
    let udp = match pair {
        Pair::V4(s, d) => link.ipv4(s.octets(), d.octets(), TTL).udp(sport, dport),
        Pair::V6(s, d) => link.ipv6(s.octets(), d.octets(), TTL).udp(sport, dport),
    };
    let mut out = Vec::with_capacity(udp.size(payload.len()));
    udp.write(&mut out, payload)?;
    Ok(out)
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
}
