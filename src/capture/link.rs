//! From a link-layer frame to the IP packet it carries, by link type (LINKTYPE_ values) and,
//! inside, by EtherType: the headers etherparse does not slice (Linux SLL2, BSD loopback,
//! PPP, PPPoE, MPLS, NSH, LLC/SNAP, 802.11 with radiotap, PPI, NFLOG, PKTAP) are a few fixed
//! fields each, read here; the IP and UDP headers are left to etherparse.

use etherparse::{EtherType, SlicedPacket};

/// What a frame holds.
// Lives on the stack for one packet: boxing the big variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum Link<'a> {
    /// An IPv4 or IPv6 packet (with whatever trails it, e.g. an FCS).
    Ip(&'a [u8]),
    /// Sliced by etherparse from the EtherType on (MACsec).
    Sliced(Result<SlicedPacket<'a>, etherparse::err::packet::SliceError>),
    /// Something else than IP (ARP, LLDP, 802.11 management, encrypted payloads, ...).
    NotIp,
    /// Too short for the headers it starts: cut by the snapshot length, or damaged.
    Short,
    /// A link type udpsh does not read.
    Unsupported,
}

/// Encapsulations inside one frame, at most: a frame of VLAN tags all the way is not IP.
const MAX_DEPTH: u32 = 16;

pub(super) const LINK_NAMES: &[(u32, &str)] = &[
    (0, "NULL, BSD loopback"),
    (1, "ETHERNET"),
    (9, "PPP"),
    (10, "FDDI"),
    (12, "RAW"),
    (14, "RAW"),
    (50, "PPP_HDLC"),
    (51, "PPP_ETHER, PPPoE"),
    (101, "RAW"),
    (104, "C_HDLC, Cisco HDLC"),
    (105, "IEEE802_11"),
    (108, "LOOP, OpenBSD loopback"),
    (113, "LINUX_SLL"),
    (119, "IEEE802_11_PRISM"),
    (127, "IEEE802_11_RADIOTAP"),
    (163, "IEEE802_11_AVS"),
    (166, "PPP_PPPD"),
    (192, "PPI"),
    (195, "IEEE802_15_4_WITHFCS"),
    (201, "BLUETOOTH_HCI_H4_WITH_PHDR"),
    (204, "PPP_WITH_DIR"),
    (220, "USB_LINUX_MMAPPED"),
    (228, "IPV4"),
    (229, "IPV6"),
    (239, "NFLOG"),
    (249, "USBPCAP"),
    (252, "WIRESHARK_UPPER_PDU"),
    (253, "NETLINK"),
    (258, "PKTAP"),
    (276, "LINUX_SLL2"),
];

/// "127 (IEEE802_11_RADIOTAP)", or the number alone.
pub(super) fn link_name(link: u32) -> String {
    match LINK_NAMES.iter().find(|(n, _)| *n == link) {
        Some((_, name)) => format!("{link} ({name})"),
        None => link.to_string(),
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The frame `data` of link type `link`.
pub(super) fn slice(link: u32, data: &[u8]) -> Link<'_> {
    frame(link, data, 0)
}

fn frame(link: u32, data: &[u8], depth: u32) -> Link<'_> {
    fn got(link: Option<Link<'_>>) -> Link<'_> {
        link.unwrap_or(Link::Short)
    }
    if depth > MAX_DEPTH {
        return Link::NotIp;
    }
    let rest = |n: usize| data.get(n..);
    match link {
        1 => got(ethernet(data, depth)),
        101 | 228 | 229 | 12 | 14 => Link::Ip(data),
        0 | 108 => got(bsd_loopback(data)),
        113 => got(cooked(data, 16, 14, 2, depth)),
        276 => got(cooked(data, 20, 0, 8, depth)),
        9 | 50 | 166 => got(ppp(data)),
        204 => got(rest(1).and_then(ppp)),
        51 => got(pppoe(data)),
        104 => got(be16(data, 2).and_then(|t| ether(t, rest(4)?, depth))),
        105 => got(wifi(data, depth)),
        127 => {
            let len = usize::from(le16(data, 2).unwrap_or(u16::MAX));
            got(rest(len).and_then(|d| wifi(d, depth)))
        }
        119 => got(le32(data, 4).and_then(|n| wifi(rest(n as usize)?, depth))),
        163 => got(be16(data, 6).and_then(|n| wifi(rest(usize::from(n))?, depth))),
        192 => match (le16(data, 2), le32(data, 4)) {
            (Some(len), Some(inner)) => match rest(usize::from(len)) {
                Some(d) => frame(inner, d, depth + 1),
                None => Link::Short,
            },
            _ => Link::Short,
        },
        239 => got(nflog(data)),
        258 => got(pktap(data, depth)),
        _ => Link::Unsupported,
    }
}

/// Ethernet II (or 802.3 with LLC/SNAP): 14 bytes, then the EtherType's payload.
fn ethernet(data: &[u8], depth: u32) -> Option<Link<'_>> {
    let kind = be16(data, 12)?;
    let body = data.get(14..)?;
    if kind <= 1500 {
        return llc(body, depth);
    }
    ether(kind, body, depth)
}

/// 802.2 LLC: only SNAP (AA AA 03, an OUI, then an EtherType) carries IP.
fn llc(body: &[u8], depth: u32) -> Option<Link<'_>> {
    if body.get(..3)? != [0xaa, 0xaa, 0x03] {
        return Some(Link::NotIp);
    }
    ether(be16(body, 6)?, body.get(8..)?, depth)
}

/// The payload of EtherType `kind`.
fn ether(kind: u16, body: &[u8], depth: u32) -> Option<Link<'_>> {
    let depth = depth + 1;
    if depth > MAX_DEPTH {
        return Some(Link::NotIp);
    }
    Some(match kind {
        0x0800 | 0x86dd => Link::Ip(body),
        // 802.1Q, 802.1ad and the older QinQ tags: TCI, then the next EtherType.
        0x8100 | 0x88a8 | 0x9100 | 0x9200 => return ether(be16(body, 2)?, body.get(4..)?, depth),
        // PPPoE session: version/type, code, session id, length; then PPP.
        0x8864 => return ppp(body.get(6..)?),
        0x8847 | 0x8848 => return mpls(body),
        0x894f => return nsh(body, depth),
        0x88e5 => Link::Sliced(SlicedPacket::from_ether_type(EtherType(kind), body)),
        _ => Link::NotIp,
    })
}

/// PPP, with or without the HDLC-like address and control bytes, a 1- or 2-byte protocol.
fn ppp(data: &[u8]) -> Option<Link<'_>> {
    let data = if data.get(..2)? == [0xff, 0x03] {
        data.get(2..)?
    } else {
        data
    };
    let (protocol, body) = if data.first()? & 1 == 1 {
        (u16::from(data[0]), data.get(1..)?)
    } else {
        (be16(data, 0)?, data.get(2..)?)
    };
    match protocol {
        0x21 | 0x57 => Some(Link::Ip(body)),
        0x281 | 0x283 => mpls(body),
        _ => Some(Link::NotIp),
    }
}

fn pppoe(data: &[u8]) -> Option<Link<'_>> {
    ppp(data.get(6..)?)
}

/// MPLS labels down to the bottom of the stack, then IP by its version nibble. A pseudowire
/// (a control word, then maybe Ethernet) is not guessed at, as Wireshark does not by default.
fn mpls(data: &[u8]) -> Option<Link<'_>> {
    let mut at = 0;
    loop {
        let bottom = data.get(at + 2)? & 1 == 1;
        at += 4;
        if bottom {
            break;
        }
    }
    let body = data.get(at..)?;
    match body.first()? >> 4 {
        4 | 6 => Some(Link::Ip(body)),
        _ => Some(Link::NotIp),
    }
}

/// Network Service Header (RFC 8300): its length in 4-byte words, then the next protocol.
fn nsh(data: &[u8], depth: u32) -> Option<Link<'_>> {
    let len = usize::from(data.get(1)? & 0x3f) * 4;
    let body = data.get(len.max(8)..)?;
    match data.get(3)? {
        1 | 2 => Some(Link::Ip(body)),
        3 => ethernet(body, depth + 1),
        5 => mpls(body),
        _ => Some(Link::NotIp),
    }
}

/// A 4-byte address family before the IP header. NULL is in the writer's byte order, LOOP
/// in network order: AF_INET is 2 and AF_INET6 is 24, 28 or 30 (BSDs differ), so either
/// order tells.
fn bsd_loopback(data: &[u8]) -> Option<Link<'_>> {
    let f: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let ip = [u32::from_le_bytes(f), u32::from_be_bytes(f)]
        .iter()
        .any(|v| matches!(v, 2 | 24 | 28 | 30));
    Some(if ip {
        Link::Ip(&data[4..])
    } else {
        Link::NotIp
    })
}

/// A Linux cooked header (SLL, SLL2) of `len` bytes with the protocol at `protocol` and the
/// ARPHRD device type at `hatype`.
fn cooked(data: &[u8], len: usize, protocol: usize, hatype: usize, depth: u32) -> Option<Link<'_>> {
    const ARPHRD_NETLINK: u16 = 824;
    let body = data.get(len..)?;
    if be16(data, hatype)? == ARPHRD_NETLINK {
        return Some(Link::NotIp);
    }
    ether(be16(data, protocol)?, body, depth)
}

/// An 802.11 data frame (not protected, not null): its header, then LLC/SNAP.
fn wifi(data: &[u8], depth: u32) -> Option<Link<'_>> {
    let (fc, flags) = (*data.first()?, *data.get(1)?);
    let (kind, subtype) = ((fc >> 2) & 3, fc >> 4);
    // Data frames only; subtypes with bit 2 carry no data; a protected body is encrypted.
    if kind != 2 || subtype & 4 != 0 || flags & 0x40 != 0 {
        return Some(Link::NotIp);
    }
    let qos = subtype & 8 != 0;
    let mut len = 24;
    if flags & 3 == 3 {
        len += 6; // a fourth address, between access points
    }
    if qos {
        // An A-MSDU holds several frames: not one datagram.
        if data.get(len)? & 0x80 != 0 {
            return Some(Link::NotIp);
        }
        len += 2;
        if flags & 0x80 != 0 {
            len += 4; // HT control
        }
    }
    llc(data.get(len..)?, depth)
}

/// Linux NFLOG: a 4-byte header, then type-length-value attributes in the capturing host's
/// byte order (tried little-endian first); the payload (type 9) is the IP packet.
fn nflog(data: &[u8]) -> Option<Link<'_>> {
    if !matches!(data.first()?, 2 | 10) {
        return Some(Link::NotIp);
    }
    let walk = |big: bool| -> Option<Option<&[u8]>> {
        let mut at = 4;
        while at < data.len() {
            let field = |i: usize| {
                let b = [*data.get(i)?, *data.get(i + 1)?];
                Some(if big {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                })
            };
            let (len, kind) = (usize::from(field(at)?), field(at + 2)? & 0x7fff);
            if len < 4 {
                return None;
            }
            let value = data.get(at + 4..at + len)?;
            if kind == 9 {
                return Some(Some(value));
            }
            at += len.div_ceil(4) * 4;
        }
        Some(None)
    };
    match walk(false).or_else(|| walk(true))? {
        Some(ip) => Some(Link::Ip(ip)),
        None => Some(Link::NotIp),
    }
}

/// Apple's PKTAP: a header of its own length (host byte order), then a frame of the DLT it
/// names.
fn pktap(data: &[u8], depth: u32) -> Option<Link<'_>> {
    let (len, dlt) = (le32(data, 0)? as usize, le32(data, 8)?);
    let body = data.get(len..)?;
    if len < 12 {
        return None;
    }
    // DLT_ values as the capturing host numbers them, where they differ from LINKTYPE_.
    let link = match dlt {
        12 | 14 => 101,
        other => other,
    };
    Some(frame(link, body, depth + 1))
}
