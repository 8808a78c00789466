//! A byte vector per link type: frames made with Python's `struct` (RFC 768 checksums) and
//! checked with tshark (`udp.check_checksum:TRUE`), not with etherparse.

use super::*;

const IPV4: &str = "450000211234000040116a967f0000017f0000019c400035000d218a68656c6c6f";
const IPV6: &str = "60000000000b114000000000000000000000000000000001000000000000000000000000000000019c4114e9000bb042686936";
const FRAGMENT: &str = "450000211234200040114a967f0000017f0000019c400035000d218a68656c6c6f";
const ARP: &str =
    "ffffffffffff000000000000080600010800060400010000000000007f0000010000000000007f000001";
const ETH_V4: &str = "0000000000000000000000000800450000211234000040116a967f0000017f0000019c400035000d218a68656c6c6f";
const ETH_V6: &str = "00000000000000000000000086dd60000000000b114000000000000000000000000000000001000000000000000000000000000000019c4114e9000bb042686936";
const SLL_V4: &str = "00000304000600000000000000000800450000211234000040116a967f0000017f0000019c400035000d218a68656c6c6f";
const SLL2_V4: &str = "0800000000000001030400060000000000000000450000211234000040116a967f0000017f0000019c400035000d218a68656c6c6f";
const SLL2_V6: &str = "86dd00000000000103040006000000000000000060000000000b114000000000000000000000000000000001000000000000000000000000000000019c4114e9000bb042686936";
const NULL_V4: &str = "02000000450000211234000040116a967f0000017f0000019c400035000d218a68656c6c6f";
const PCAPNG: &str = "0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c0000000100000020000000010000000000040009000100090000000000000020000000060000006000000000000000fe9c971715cd853d2f0000002f0000000000000000000000000000000800450000211234000040116a967f0000017f0000019c400035000d218a68656c6c6f000100080070726f78792075700000000060000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A classic pcap (microsecond, little-endian) holding `frames` of link type `link`, one a
/// second from 1700000000.5.
fn pcap(link: u32, frames: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 262_144, link] {
        out.extend(word.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let f = hex(f);
        for word in [
            1_700_000_000 + i as u32,
            500_000,
            f.len() as u32,
            f.len() as u32,
        ] {
            out.extend(word.to_le_bytes());
        }
        out.extend(f);
    }
    out
}

fn read(bytes: &[u8]) -> Capture {
    parse_pcap(bytes, &Filter::default()).unwrap()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn assert_v4(d: &Datagram) {
    assert_eq!(d.src, addr("127.0.0.1:40000"));
    assert_eq!(d.dst, addr("127.0.0.1:53"));
    assert_eq!(d.data, b"hello");
    assert_eq!(d.len, 5);
}

fn assert_v6(d: &Datagram) {
    assert_eq!(d.src, addr("[::1]:40001"));
    assert_eq!(d.dst, addr("[::1]:5353"));
    assert_eq!(d.data, b"hi6");
}

#[test]
fn ethernet_v4_and_v6() {
    let c = read(&pcap(1, &[ETH_V4, ETH_V6]));
    assert_eq!(c.datagrams.len(), 2);
    assert_v4(&c.datagrams[0]);
    assert_v6(&c.datagrams[1]);
    assert_eq!(
        c.datagrams[0].time,
        Duration::new(1_700_000_000, 500_000_000)
    );
    assert_eq!((c.datagrams[0].frame, c.datagrams[1].frame), (1, 2));
    assert_eq!(c.datagrams[0].comment, None);
}

#[test]
fn linux_sll() {
    let c = read(&pcap(113, &[SLL_V4]));
    assert_v4(&c.datagrams[0]);
}

#[test]
fn linux_sll2() {
    let c = read(&pcap(276, &[SLL2_V4, SLL2_V6]));
    assert_v4(&c.datagrams[0]);
    assert_v6(&c.datagrams[1]);
}

#[test]
fn raw_ip() {
    for link in [101, 228] {
        assert_v4(&read(&pcap(link, &[IPV4])).datagrams[0]);
    }
    assert_v6(&read(&pcap(229, &[IPV6])).datagrams[0]);
    let c = read(&pcap(101, &[IPV4, IPV6]));
    assert_v6(&c.datagrams[1]);
}

#[test]
fn bsd_loopback() {
    assert_v4(&read(&pcap(0, &[NULL_V4])).datagrams[0]);
    // LOOP: the family in network order.
    let loop_v4 = format!("00000002{IPV4}");
    assert_v4(&read(&pcap(108, &[&loop_v4])).datagrams[0]);
    // Family 7 (OSI) is not IP.
    let osi = format!("07000000{IPV4}");
    let c = read(&pcap(0, &[&osi]));
    assert_eq!((c.datagrams.len(), c.skipped.not_udp), (0, 1));
}

#[test]
fn pcapng_with_nanoseconds_and_a_comment() {
    let c = read(&hex(PCAPNG));
    let d = &c.datagrams[0];
    assert_v4(d);
    assert_eq!(d.time, Duration::new(1_700_000_000, 123_456_789));
    assert_eq!(d.comment.as_deref(), Some("proxy up"));
}

#[test]
fn fragments_arp_and_cut_packets_are_skipped_not_misread() {
    let eth_frag = format!("{}0800{FRAGMENT}", "00".repeat(12));
    // The Ethernet frame cut after 20 bytes of its IP header, as a small snaplen leaves it.
    let eth = hex(ETH_V4);
    let mut bytes = pcap(1, &[&eth_frag, ARP, ETH_V4]);
    let mut cut = Vec::new();
    for word in [1_700_000_009u32, 0, 34, eth.len() as u32] {
        cut.extend(word.to_le_bytes());
    }
    cut.extend(&eth[..34]);
    bytes.extend(cut);
    let c = read(&bytes);
    assert_eq!(c.datagrams.len(), 1);
    assert_eq!(c.datagrams[0].frame, 3);
    let s = &c.skipped;
    assert_eq!((s.fragments, s.not_udp, s.truncated), (1, 1, 1));
    assert!(s.describe().contains("1 IP fragment"), "{}", s.describe());
}

#[test]
fn unknown_link_types_are_refused_by_name() {
    let e = parse_pcap(&pcap(147, &[IPV4]), &Filter::default()).unwrap_err();
    assert!(e.contains("link type 147 is not supported"), "{e}");
    let e = parse_pcap(&pcap(220, &[IPV4]), &Filter::default()).unwrap_err();
    assert!(e.contains("link type 220 (USB_LINUX_MMAPPED)"), "{e}");
    let e = parse_pcap(b"hello, not a capture at all", &Filter::default()).unwrap_err();
    assert!(e.contains("not a pcap or pcapng"), "{e}");
    // No packet at all: nothing to refuse.
    assert_eq!(read(&pcap(147, &[])).datagrams.len(), 0);
}

#[test]
fn a_file_cut_inside_a_record_gives_its_complete_records_and_says_where() {
    let mut bytes = pcap(1, &[ETH_V4, ETH_V4]);
    let size = bytes.len() - 10;
    bytes.truncate(size);
    let c = read(&bytes);
    assert_eq!(c.datagrams.len(), 1);
    let damaged = c.damaged.unwrap();
    assert!(damaged.contains("in the middle of frame 2"), "{damaged}");
    assert!(damaged.contains(&format!("of {size})")), "{damaged}");
    // Cut inside a record header, or inside the file header.
    let whole = pcap(1, &[ETH_V4]);
    let c = read(&[&whole[..], &whole[24..30]].concat());
    assert_eq!(c.datagrams.len(), 1);
    assert!(c.damaged.unwrap().contains("frame 2"));
    assert!(
        parse_pcap(&whole[..20], &Filter::default())
            .unwrap_err()
            .contains("file header")
    );
    let c = read(&whole);
    assert_eq!(c.damaged, None);
}

fn fixture(name: &str) -> Capture {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/capture/links")
        .join(name);
    read_pcap(&path, &Filter::default()).unwrap()
}

fn frames(c: &Capture) -> Vec<u64> {
    c.datagrams.iter().map(|d| d.frame).collect()
}

#[test]
fn the_fcs_length_in_the_link_type_is_masked() {
    let c = fixture("fcs_bits.pcap");
    assert_eq!(frames(&c), [1, 2]);
    assert_eq!(c.datagrams[0].len, 30);
    assert_eq!(frames(&fixture("fcs_bits_3.pcap")), [1]);
}

#[test]
fn one_bad_record_leaves_the_others() {
    // Over the snapshot length, and a microsecond field of 1000001.
    let c = fixture("bad_record.pcap");
    assert_eq!(frames(&c), [1, 2, 3]);
    assert_eq!(c.datagrams[1].time, Duration::new(1_700_000_002, 1_000));
    // A pcapng record naming no interface: skipped and counted, the rest read.
    let c = fixture("bad_interface.pcapng");
    assert_eq!(frames(&c), [1, 3]);
    assert_eq!(c.skipped.bad_records, 1);
    assert!(c.skipped.describe().contains("1 unreadable record"));
}

#[test]
fn cut_packets_are_never_returned_whole() {
    let c = fixture("cut_packets.pcap");
    // 1: 58,000 bytes captured to 84 with the IPv6 length left out; 3: a UDP length past the
    // capture; 4: UDP length 0, cut. 2 is whole (only padding was cut), 5 is whole.
    assert_eq!(frames(&c), [2, 5]);
    assert_eq!(c.skipped.truncated, 3);
    assert_eq!(c.datagrams[0].len, 30);
}

#[test]
fn encapsulations_and_link_types() {
    for (name, want) in [
        ("pppoe.pcap", &[1u64, 2][..]),
        ("mpls.pcap", &[1, 2]),
        ("nsh.pcap", &[1, 2, 3]),
        ("vlan_llc.pcap", &[1, 2, 3, 4]),
        ("ppp.pcap", &[1, 2, 3]),
        ("chdlc.pcap", &[1, 2]),
        ("wifi.pcap", &[1, 2, 5]),
        ("radiotap.pcap", &[1, 2]),
        ("ppi.pcap", &[1, 2]),
        ("nflog.pcap", &[1, 2]),
        ("nflog_be.pcap", &[1]),
        ("pktap.pcap", &[1, 2, 3]),
        ("nanos_be.pcap", &[1, 2]),
    ] {
        let c = fixture(name);
        assert_eq!(frames(&c), want, "{name}: {:?}", c.skipped);
        assert_eq!(c.damaged, None, "{name}");
        assert_eq!(c.skipped.malformed + c.skipped.truncated, 0, "{name}");
    }
}

#[test]
fn ip_fragments_are_reassembled_at_the_last_fragment() {
    // IPv4 in three fragments out of order, IPv6 in three, one datagram never completed.
    let c = fixture("fragments.pcap");
    assert_eq!(frames(&c), [6, 7, 8]);
    assert_eq!(c.datagrams[0].len, 3072);
    assert_eq!(c.datagrams[0].data[..4], [0, 1, 2, 3]);
    assert_eq!(c.datagrams[1].src, addr("[2001:db8::a]:6000"));
    assert_eq!(c.datagrams[1].len, 3000);
    assert_eq!(c.skipped.fragments, 5);
}

#[test]
fn pcapng_interfaces_keep_their_resolution_and_offset() {
    let c = fixture("interfaces.pcapng");
    assert_eq!(frames(&c), [1, 2, 3]);
    assert_eq!(c.datagrams[0].comment.as_deref(), Some("proxy up"));
    assert_eq!(
        c.datagrams[0].time,
        Duration::new(1_700_000_000, 123_456_789)
    );
    // 2^-20 s ticks and a 100 s offset.
    assert_eq!(
        c.datagrams[1].time,
        Duration::new(1_700_000_100, 500_000_000)
    );
    // A simple packet block: no time.
    assert_eq!(c.datagrams[2].time, Duration::ZERO);
    assert!(c.damaged.unwrap().contains("in the middle of frame 4"));
}

#[test]
fn filters() {
    let bytes = pcap(1, &[ETH_V4, ETH_V6]);
    let keep = |text: &str| -> Vec<u64> {
        let f = Filter::parse(text).unwrap();
        parse_pcap(&bytes, &f)
            .unwrap()
            .datagrams
            .iter()
            .map(|d| d.frame)
            .collect()
    };
    assert_eq!(keep(""), [1, 2]);
    assert_eq!(keep("dport=53"), [1]);
    assert_eq!(keep("sport=40001"), [2]);
    assert_eq!(keep("port=53"), [1]);
    assert_eq!(keep("src=127.0.0.1"), [1]);
    assert_eq!(keep("src=127.0.0.1:40000, dst=127.0.0.1:53"), [1]);
    assert_eq!(keep("dst=::1 and dport=5353"), [2]);
    assert_eq!(keep("dst=[::1]:5353"), [2]);
    assert_eq!(keep("src=127.0.0.1:1"), Vec::<u64>::new());
    let c = parse_pcap(&bytes, &Filter::parse("dport=53").unwrap()).unwrap();
    assert_eq!(c.skipped.filtered, 1);
    assert!(
        Filter::parse("proto=udp")
            .unwrap_err()
            .contains("src, dst, sport, dport, port")
    );
    assert!(
        Filter::parse("dport=99999")
            .unwrap_err()
            .contains("not a port")
    );
    assert!(Filter::parse("dport").unwrap_err().contains("key=value"));
    assert!(
        Filter::parse("src=nowhere")
            .unwrap_err()
            .contains("not an IP")
    );
}

#[test]
fn what_udpsh_writes_reads_back() {
    use crate::capture::{Direction, Packet, Recorder};
    use std::time::UNIX_EPOCH;
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.pcap", "a.pcapng"] {
        let path = dir.path().join(name);
        let rec = Recorder::create(&path).unwrap();
        let when = UNIX_EPOCH + Duration::new(1_700_000_000, 987_654_321);
        for (src, dst, data) in [
            ("127.0.0.1:5000", "127.0.0.1:53", &b"query"[..]),
            ("[::1]:53", "[::1]:5000", &b"answer"[..]),
        ] {
            rec.record(&Packet {
                src: addr(src),
                dst: addr(dst),
                payload: data,
                len: data.len(),
                direction: Direction::Outbound,
                comment: Some("t.rhai:1 sendto"),
                timestamp: when,
                ttl: Packet::DEFAULT_TTL,
                tos: 0,
            })
            .unwrap();
        }
        drop(rec);
        let c = read_pcap(&path, &Filter::default()).unwrap();
        assert_eq!(c.datagrams.len(), 2, "{name}");
        assert_eq!(c.datagrams[0].data, b"query");
        assert_eq!(c.datagrams[1].src, addr("[::1]:53"));
        assert_eq!(
            c.datagrams[1].time,
            when.duration_since(UNIX_EPOCH).unwrap()
        );
        let comment = c.datagrams[0].comment.as_deref();
        assert_eq!(comment, name.ends_with("ng").then_some("t.rhai:1 sendto"));
    }
    let e = read_pcap(&dir.path().join("missing.pcap"), &Filter::default()).unwrap_err();
    assert!(e.to_string().contains("cannot read capture"), "{e}");
}

/// Mutants of every fixture (bit flips, interesting values in length fields, cuts, inserted
/// and repeated bytes, splices of two files): never a panic, and what comes back is never more
/// than the file held, so memory stays bounded by the input.
#[test]
fn thousands_of_mutants_read_without_panic_or_growth() {
    use rand::{RngExt, SeedableRng};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/capture");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir.join("links"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    seeds.push(std::fs::read(dir.join("dnsmasq_any.pcap")).unwrap());
    seeds.push(std::fs::read(dir.join("golden.pcapng")).unwrap());
    assert!(seeds.len() > 20);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(27);
    const INTERESTING: [u32; 8] = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0xffff_ffff, 0x4000_0000];
    let mut read_any = 0;
    for _ in 0..4000 {
        let mut m = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..m.len());
            match rng.random_range(0..6) {
                0 => m[at] ^= 1 << rng.random_range(0..8),
                1 => {
                    let v = INTERESTING[rng.random_range(0..INTERESTING.len())].to_le_bytes();
                    let end = (at + 4).min(m.len());
                    m[at..end].copy_from_slice(&v[..end - at]);
                }
                2 => m.truncate(at.max(1)),
                3 => {
                    let n = rng.random_range(1..64);
                    m.splice(at..at, std::iter::repeat_n(rng.random::<u8>(), n));
                }
                4 => {
                    let other = &seeds[rng.random_range(0..seeds.len())];
                    let from = rng.random_range(0..other.len());
                    m.truncate(at);
                    m.extend_from_slice(&other[from..]);
                }
                _ => {
                    let end = (at + rng.random_range(1..32)).min(m.len());
                    let piece = m[at..end].to_vec();
                    m.splice(at..at, piece);
                }
            }
        }
        if let Ok(c) = parse_pcap(&m, &Filter::default()) {
            read_any += 1;
            let held: usize = c.datagrams.iter().map(|d| d.data.len()).sum();
            assert!(held <= m.len());
            assert!(c.datagrams.iter().all(|d| d.len == d.data.len()));
        }
    }
    // Most mutants stay readable captures: the mutations reach the packets, not just the magic.
    assert!(read_any > 2000, "{read_any}");
}
