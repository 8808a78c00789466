//! Reading captures back: pcap and pcapng ([`super::container`]) from udpsh, tcpdump, Wireshark
//! and the rest; the link layer by [`super::link`], the IP and UDP headers by etherparse.
//!
//! Link types: Ethernet (tcpdump `-i lo`; VLAN, QinQ, MACsec, PPPoE, MPLS, NSH, LLC/SNAP
//! inside), Linux SLL and SLL2 (`-i any`), raw IPv4/IPv6, BSD loopback, PPP, 802.11 data
//! frames (bare, radiotap, PPI, Prism, AVS), NFLOG and PKTAP. Packets that are not UDP (ARP,
//! TCP, ICMP, also ICMP errors quoting a UDP header) and packets the capture cut short are
//! skipped and counted in [`Skipped`]; IP fragments are reassembled (etherparse's defrag pool),
//! the datagram read at its last fragment's frame, as Wireshark shows it; a file whose every packet is
//! of a link type not listed is an error naming it. Nothing is ever guessed at: a packet either
//! slices cleanly as IP + UDP within what was captured, or it is skipped.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use etherparse::defrag::IpDefragPool;
use etherparse::{IpNumber, NetSlice, SlicedPacket, TransportSlice, UdpSlice};

use super::container::{self, Record, Step};
use super::filter::Filter;
use super::link::{self, Link};

/// Largest capture file read whole into memory.
const MAX_FILE: u64 = 1 << 30;
/// Frames a reassembly waits for its next fragment: at most this many are pending, at most
/// 64 KiB each, whatever the file holds.
const FRAGMENT_WINDOW: u64 = 256;

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
    /// IP fragments that did not complete a datagram themselves (the others of a reassembled
    /// one, and those of a datagram never completed).
    pub fragments: u64,
    /// Cut by the capture's snapshot length.
    pub truncated: u64,
    /// Headers etherparse refused (a damaged packet).
    pub malformed: u64,
    /// Left out by the filter.
    pub filtered: u64,
    /// Records the file itself could not give (no interface, lengths that contradict).
    pub bad_records: u64,
    /// Of a link type udpsh does not read.
    pub unsupported: u64,
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
            "IP fragment (not the last of its datagram)",
            "IP fragments (not the last of their datagrams)",
        );
        say(
            self.truncated,
            "packet cut short by the snapshot length",
            "packets cut short by the snapshot length",
        );
        say(self.malformed, "malformed packet", "malformed packets");
        say(self.bad_records, "unreadable record", "unreadable records");
        say(
            self.unsupported,
            "packet of a link type udpsh does not read",
            "packets of a link type udpsh does not read",
        );
        parts.join(", ")
    }
}

/// Datagrams of one capture, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Capture {
    pub datagrams: Vec<Datagram>,
    pub skipped: Skipped,
    /// Where the file is cut or damaged ("cut short in the middle of frame 3 (at byte 180 of
    /// 200)"): the datagrams are those of the complete records before it.
    pub damaged: Option<String>,
}

impl Capture {
    /// What to warn of once when the file is damaged: "x.pcap: cut short in the middle of
    /// frame 3 (at byte 180 of 200); read the 2 datagrams of the records before it".
    pub fn damage_warning(&self, path: &Path) -> Option<String> {
        self.damaged.as_ref().map(|why| {
            format!(
                "{}: {why}; read the {} of the records before it",
                path.display(),
                crate::display::plural(self.datagrams.len() as u64, "datagram", "datagrams")
            )
        })
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
        unsupported: None,
        read_links: 0,
        fragments: IpDefragPool::new(),
    };
    let damaged = container::walk(bytes, &mut |step| reader.step(step))?;
    if let (0, Some(link)) = (reader.read_links, reader.unsupported) {
        return Err(format!(
            "link type {} is not supported (udpsh reads Ethernet, Linux SLL and SLL2, raw IP, \
             BSD loopback, PPP, PPPoE, 802.11 with radiotap, PPI, Prism or AVS, NFLOG and PKTAP \
             captures)",
            link::link_name(link)
        ));
    }
    reader.capture.damaged = damaged;
    Ok(reader.capture)
}

struct Reader<'f> {
    capture: Capture,
    filter: &'f Filter,
    frame: u64,
    /// The first link type met that udpsh does not read.
    unsupported: Option<u32>,
    /// Packets of the link types it reads.
    read_links: u64,
    /// Reassemblies under way, by the frame of their latest fragment.
    fragments: IpDefragPool<u64>,
}

impl Reader<'_> {
    fn step(&mut self, step: Step) {
        self.frame += 1;
        match step {
            Step::Packet(record) => self.packet(record),
            Step::Bad => self.capture.skipped.bad_records += 1,
        }
    }

    fn packet(&mut self, raw: Record) {
        let skipped = &mut self.capture.skipped;
        let cut = (raw.original_len as usize) > raw.data.len();
        let sliced = match link::slice(raw.link, raw.data) {
            Link::Ip(ip) => SlicedPacket::from_ip(ip),
            Link::Sliced(s) => s,
            Link::NotIp => {
                self.read_links += 1;
                skipped.not_udp += 1;
                return;
            }
            Link::Short => {
                self.read_links += 1;
                *(if cut {
                    &mut skipped.truncated
                } else {
                    &mut skipped.malformed
                }) += 1;
                return;
            }
            Link::Unsupported => {
                self.unsupported.get_or_insert(raw.link);
                skipped.unsupported += 1;
                return;
            }
        };
        self.read_links += 1;
        let sliced = match sliced {
            Ok(s) => s,
            Err(_) if cut => {
                skipped.truncated += 1;
                return;
            }
            Err(_) => {
                skipped.malformed += 1;
                return;
            }
        };
        let (src_ip, dst_ip, fragment, sized) = match &sliced.net {
            Some(NetSlice::Ipv4(ip)) => (
                IpAddr::V4(ip.header().source_addr()),
                IpAddr::V4(ip.header().destination_addr()),
                ip.is_payload_fragmented(),
                true,
            ),
            Some(NetSlice::Ipv6(ip)) => (
                IpAddr::V6(ip.header().source_addr()),
                IpAddr::V6(ip.header().destination_addr()),
                ip.is_payload_fragmented(),
                // 0: a jumbogram, or a length the capturing host left out (segmentation
                // offload); etherparse then takes what was captured.
                ip.header().payload_length() != 0,
            ),
            _ => {
                skipped.not_udp += 1;
                return;
            }
        };
        if fragment {
            let frame = self.frame;
            self.fragments
                .retain(|latest| frame.saturating_sub(*latest) <= FRAGMENT_WINDOW);
            match self.fragments.process_sliced_packet(&sliced, frame, ()) {
                Ok(Some(whole)) if whole.ip_number == IpNumber::UDP => {
                    match UdpSlice::from_slice(&whole.payload) {
                        Ok(udp) if udp.length() != 0 => {
                            let ports = (udp.source_port(), udp.destination_port());
                            self.push(&raw, (src_ip, dst_ip), ports, udp.payload());
                        }
                        _ => skipped.malformed += 1,
                    }
                    self.fragments.return_buf(whole);
                }
                Ok(Some(whole)) => {
                    skipped.not_udp += 1;
                    self.fragments.return_buf(whole);
                }
                // Not complete yet, or one that cannot fit (overlapping, misaligned).
                Ok(None) | Err(_) => skipped.fragments += 1,
            }
            return;
        }
        let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
            skipped.not_udp += 1;
            return;
        };
        // A length taken from what was captured rather than from a header is only the
        // datagram's when nothing was cut.
        if cut && (!sized || udp.length() == 0) {
            skipped.truncated += 1;
            return;
        }
        let ports = (udp.source_port(), udp.destination_port());
        self.push(&raw, (src_ip, dst_ip), ports, udp.payload());
    }

    /// Keeps the datagram if the filter does.
    fn push(&mut self, raw: &Record, ips: (IpAddr, IpAddr), ports: (u16, u16), payload: &[u8]) {
        let src = SocketAddr::new(ips.0, ports.0);
        let dst = SocketAddr::new(ips.1, ports.1);
        if !self.filter.matches(src, dst) {
            self.capture.skipped.filtered += 1;
            return;
        }
        let data = payload.to_vec();
        self.capture.datagrams.push(Datagram {
            frame: self.frame,
            time: raw.time,
            src,
            dst,
            len: data.len(),
            data,
            comment: raw.comment.clone(),
        });
    }
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
