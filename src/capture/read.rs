//! Reading captures back: pcap and pcapng (pcap-file) from udpsh, tcpdump and Wireshark; the
//! link, IP and UDP headers sliced by etherparse.
//!
//! Link types: Ethernet (tcpdump `-i lo`), Linux SLL and SLL2 (`-i any`), raw IPv4/IPv6, and
//! BSD loopback (NULL/LOOP, macOS `lo0`). Packets that are not UDP (ARP, TCP, ICMP, also ICMP
//! errors quoting a UDP header), IP fragments (no reassembly) and packets the capture cut short
//! are skipped and counted in [`Skipped`]; a link type not listed is an error naming it.
//! Nothing is ever guessed at: a packet either slices cleanly as IP + UDP or it is skipped.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use etherparse::{EtherType, NetSlice, SlicedPacket, TransportSlice};
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::opt_common::CommonOption;
use pcap_file::pcapng::{Block, PcapNgReader};

/// Bytes of a Linux "cooked" header, v1 and v2, and where its protocol (an EtherType) is.
const SLL_HEADER: usize = 16;
const SLL_PROTOCOL: usize = 14;
const SLL2_HEADER: usize = 20;
const SLL2_PROTOCOL: usize = 0;
/// ARPHRD_NETLINK: the protocol field is a netlink family, not an EtherType.
const ARPHRD_NETLINK: u16 = 824;
/// BSD loopback: a 4-byte address family before the IP header.
const NULL_HEADER: usize = 4;
/// Largest capture file read whole into memory.
const MAX_FILE: u64 = 1 << 30;

/// One UDP datagram of a capture.
#[derive(Clone, Debug, PartialEq)]
pub struct Datagram {
    /// The packet's number in the file, counting from 1 (as Wireshark shows it).
    pub frame: u64,
    /// Since 1970.
    pub time: Duration,
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub data: Vec<u8>,
    /// The UDP payload's length on the wire (more than `data` never: cut packets are skipped).
    pub len: usize,
    /// pcapng comments, joined by "; ".
    pub comment: Option<String>,
}

/// Packets that were not read as datagrams, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Skipped {
    pub not_udp: u64,
    pub fragments: u64,
    /// Cut by the capture's snapshot length.
    pub truncated: u64,
    /// Headers etherparse refused (a damaged packet).
    pub malformed: u64,
    /// Left out by the filter.
    pub filtered: u64,
}

impl Skipped {
    /// "2 IP fragments, 1 non-UDP packet", or "" when nothing worth saying was skipped.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut say = |n: u64, one: &str, many: &str| {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        say(
            self.fragments,
            "IP fragment (not reassembled)",
            "IP fragments (not reassembled)",
        );
        say(
            self.truncated,
            "packet cut short by the snapshot length",
            "packets cut short by the snapshot length",
        );
        say(self.malformed, "malformed packet", "malformed packets");
        parts.join(", ")
    }
}

/// Datagrams of one capture, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capture {
    pub datagrams: Vec<Datagram>,
    pub skipped: Skipped,
}

/// Which datagrams to keep. `src`/`dst` match an IP, or an IP and port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub src: Option<Endpoint>,
    pub dst: Option<Endpoint>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// Either port.
    pub port: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Ip(IpAddr),
    Addr(SocketAddr),
}

impl Endpoint {
    /// `127.0.0.1`, `::1`, `127.0.0.1:53` or `[::1]:53`.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let t = text.trim();
        if let Ok(a) = t.parse::<SocketAddr>() {
            return Ok(Endpoint::Addr(a));
        }
        let bare = t.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<IpAddr>()
            .map(Endpoint::Ip)
            .map_err(|_| format!("'{text}' is not an IP address or ip:port"))
    }

    fn matches(&self, addr: SocketAddr) -> bool {
        match self {
            Endpoint::Ip(ip) => ip.to_canonical() == addr.ip().to_canonical(),
            Endpoint::Addr(a) => {
                a.port() == addr.port() && a.ip().to_canonical() == addr.ip().to_canonical()
            }
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Ip(ip) => write!(f, "{ip}"),
            Endpoint::Addr(a) => write!(f, "{a}"),
        }
    }
}

impl Filter {
    pub const KEYS: &'static str = "src, dst, sport, dport, port";

    /// `dport=53`, `src=127.0.0.1:5000,dport=53`: comma- or space-separated `key=value`
    /// (`and` between them is allowed), keys as in [`Filter::KEYS`].
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut filter = Filter::default();
        let words = text
            .split([',', ' '])
            .filter(|w| !w.is_empty() && *w != "and");
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("'{word}' is not key=value (keys: {})", Filter::KEYS))?;
            filter.set(key.trim(), value.trim())?;
        }
        Ok(filter)
    }

    /// Sets one key from text.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let port = || {
            value
                .parse::<u16>()
                .map_err(|_| format!("{key}: '{value}' is not a port (0 to 65535)"))
        };
        match key {
            "src" => self.src = Some(Endpoint::parse(value).map_err(|e| format!("src: {e}"))?),
            "dst" => self.dst = Some(Endpoint::parse(value).map_err(|e| format!("dst: {e}"))?),
            "sport" => self.sport = Some(port()?),
            "dport" => self.dport = Some(port()?),
            "port" => self.port = Some(port()?),
            other => {
                return Err(format!("no filter key '{other}' (keys: {})", Filter::KEYS));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    pub fn matches(&self, src: SocketAddr, dst: SocketAddr) -> bool {
        self.src.is_none_or(|e| e.matches(src))
            && self.dst.is_none_or(|e| e.matches(dst))
            && self.sport.is_none_or(|p| p == src.port())
            && self.dport.is_none_or(|p| p == dst.port())
            && self.port.is_none_or(|p| p == src.port() || p == dst.port())
    }
}

/// A capture that cannot be read: "cannot read capture x.pcap: link type 105 (IEEE802_11) ...".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

/// Reads the UDP datagrams of a pcap or pcapng file that `filter` keeps.
pub fn read_pcap(path: &Path, filter: &Filter) -> Result<Capture, ReadError> {
    let fail =
        |detail: String| ReadError(format!("cannot read capture {}: {detail}", path.display()));
    let size = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if size > MAX_FILE {
        return Err(fail(format!(
            "{size} bytes is more than udpsh reads (1 GiB)"
        )));
    }
    let bytes = crate::fifo::read_regular(path).map_err(|e| fail(e.to_string()))?;
    parse_pcap(&bytes, filter).map_err(fail)
}

/// Like [`read_pcap`], from the file's bytes.
pub fn parse_pcap(bytes: &[u8], filter: &Filter) -> Result<Capture, String> {
    let mut reader = Reader {
        capture: Capture::default(),
        filter,
        frame: 0,
    };
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        reader.pcapng(bytes)?;
    } else {
        reader.pcap(bytes)?;
    }
    Ok(reader.capture)
}

struct Reader<'f> {
    capture: Capture,
    filter: &'f Filter,
    frame: u64,
}

/// One packet as the file holds it.
struct Raw<'a> {
    link: DataLink,
    time: Duration,
    data: &'a [u8],
    original_len: u32,
    comment: Option<String>,
}

impl Reader<'_> {
    fn pcap(&mut self, bytes: &[u8]) -> Result<(), String> {
        // The pcapng magic is read before this.
        if !super::claim::MAGICS[..4]
            .iter()
            .any(|m| bytes.starts_with(m))
        {
            return Err("not a pcap or pcapng file (unknown magic number)".into());
        }
        let mut reader = PcapReader::new(bytes).map_err(|e| e.to_string())?;
        let link = reader.header().datalink;
        while let Some(packet) = reader.next_packet() {
            let packet = packet.map_err(|e| self.damaged(e))?;
            self.packet(Raw {
                link,
                time: packet.timestamp(),
                data: packet.data(),
                original_len: packet.orig_len(),
                comment: None,
            })?;
        }
        Ok(())
    }

    fn pcapng(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut reader = PcapNgReader::new(bytes).map_err(|e| e.to_string())?;
        while let Some(block) = reader.next_block() {
            let (block, state) = block.map_err(|e| self.damaged(e))?;
            let link_of = |id: u32| state.interfaces().get(id as usize).map(|i| i.linktype);
            let raw = match &block {
                Block::EnhancedPacket(p) => Raw {
                    link: link_of(p.interface_id).ok_or("a packet names no interface")?,
                    time: p.timestamp,
                    data: &p.data,
                    original_len: p.original_len,
                    comment: join(p.options.iter().filter_map(|o| match o {
                        EnhancedPacketOption::Common(CommonOption::Comment(c)) => Some(c.as_ref()),
                        _ => None,
                    })),
                },
                // No timestamp: only the order is known.
                Block::SimplePacket(p) => Raw {
                    link: link_of(0).ok_or("a packet names no interface")?,
                    time: Duration::ZERO,
                    data: &p.data,
                    original_len: p.original_len,
                    comment: None,
                },
                Block::Packet(p) => Raw {
                    link: link_of(u32::from(p.interface_id))
                        .ok_or("a packet names no interface")?,
                    time: p.timestamp,
                    data: &p.data,
                    original_len: p.original_len,
                    comment: None,
                },
                _ => continue,
            };
            self.packet(raw)?;
        }
        Ok(())
    }

    fn damaged(&self, e: impl fmt::Display) -> String {
        format!("damaged after frame {}: {e}", self.frame)
    }

    fn packet(&mut self, raw: Raw) -> Result<(), String> {
        self.frame += 1;
        let sliced = match slice(raw.link, raw.data) {
            Link::Sliced(s) => s,
            Link::NotIp => {
                self.capture.skipped.not_udp += 1;
                return Ok(());
            }
            Link::Unsupported => {
                return Err(format!(
                    "frame {}: link type {} ({:?}) is not supported (udpsh reads Ethernet, \
                     Linux SLL and SLL2, raw IP and BSD loopback captures)",
                    self.frame,
                    u32::from(raw.link),
                    raw.link
                ));
            }
        };
        let skipped = &mut self.capture.skipped;
        let sliced = match sliced {
            Ok(s) => s,
            Err(_) if (raw.original_len as usize) > raw.data.len() => {
                skipped.truncated += 1;
                return Ok(());
            }
            Err(_) => {
                skipped.malformed += 1;
                return Ok(());
            }
        };
        let (src_ip, dst_ip, fragment) = match &sliced.net {
            Some(NetSlice::Ipv4(ip)) => (
                IpAddr::V4(ip.header().source_addr()),
                IpAddr::V4(ip.header().destination_addr()),
                ip.is_payload_fragmented(),
            ),
            Some(NetSlice::Ipv6(ip)) => (
                IpAddr::V6(ip.header().source_addr()),
                IpAddr::V6(ip.header().destination_addr()),
                ip.is_payload_fragmented(),
            ),
            _ => {
                skipped.not_udp += 1;
                return Ok(());
            }
        };
        if fragment {
            skipped.fragments += 1;
            return Ok(());
        }
        let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
            skipped.not_udp += 1;
            return Ok(());
        };
        let src = SocketAddr::new(src_ip, udp.source_port());
        let dst = SocketAddr::new(dst_ip, udp.destination_port());
        if !self.filter.matches(src, dst) {
            skipped.filtered += 1;
            return Ok(());
        }
        let data = udp.payload().to_vec();
        self.capture.datagrams.push(Datagram {
            frame: self.frame,
            time: raw.time,
            src,
            dst,
            len: data.len(),
            data,
            comment: raw.comment,
        });
        Ok(())
    }
}

// Lives on the stack for one packet: boxing the big variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Link<'a> {
    Sliced(Result<SlicedPacket<'a>, etherparse::err::packet::SliceError>),
    NotIp,
    Unsupported,
}

/// Slices a packet by its link type. etherparse has no SLL2 nor BSD loopback, and its SLL
/// refuses the loopback device (ARPHRD_LOOPBACK, which `tcpdump -i any` writes for `lo`):
/// for those the one field that matters (the protocol, the address family) is read here and
/// the rest sliced by etherparse.
fn slice(link: DataLink, data: &[u8]) -> Link<'_> {
    match link {
        DataLink::ETHERNET => Link::Sliced(SlicedPacket::from_ethernet(data)),
        DataLink::LINUX_SLL => cooked(data, SLL_HEADER, SLL_PROTOCOL, 2),
        DataLink::LINUX_SLL2 => cooked(data, SLL2_HEADER, SLL2_PROTOCOL, 8),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => {
            Link::Sliced(SlicedPacket::from_ip(data))
        }
        DataLink::NULL | DataLink::LOOP => {
            let Some(family) = data.get(..NULL_HEADER) else {
                return Link::Sliced(SlicedPacket::from_ip(&[]));
            };
            // NULL is in the writer's byte order, LOOP in network order: AF_INET is 2 and
            // AF_INET6 is 24, 28 or 30 (BSDs differ), so either order tells.
            let f = [family[0], family[1], family[2], family[3]];
            let ip = [u32::from_le_bytes(f), u32::from_be_bytes(f)]
                .iter()
                .any(|v| matches!(v, 2 | 24 | 28 | 30));
            if ip {
                Link::Sliced(SlicedPacket::from_ip(&data[NULL_HEADER..]))
            } else {
                Link::NotIp
            }
        }
        _ => Link::Unsupported,
    }
}

/// A Linux cooked header of `len` bytes with the protocol at `protocol` and the ARPHRD
/// device type at `hatype`.
fn cooked(data: &[u8], len: usize, protocol: usize, hatype: usize) -> Link<'_> {
    let field = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    if data.len() < len {
        // Too short even for its header: sliced as nothing, so it counts as cut or damaged.
        return Link::Sliced(SlicedPacket::from_ip(&[]));
    }
    if field(hatype) == ARPHRD_NETLINK {
        return Link::NotIp;
    }
    let ether_type = EtherType(field(protocol));
    Link::Sliced(SlicedPacket::from_ether_type(ether_type, &data[len..]))
}

fn join<'a>(comments: impl Iterator<Item = &'a str>) -> Option<String> {
    let all: Vec<&str> = comments.collect();
    (!all.is_empty()).then(|| all.join("; "))
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
