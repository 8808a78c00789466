//! Files written by the Recorder, read back with pcap-file's readers and etherparse.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapReader, PcapTsResolution};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::interface_description::InterfaceTsResolution;
use pcap_file::pcapng::blocks::opt_common::CommonOption;
use pcap_file::pcapng::{Block, PcapNgReader};

use super::*;

/// A packet as read back: addresses, payload, time, and (pcapng) flags and comments.
#[derive(Debug, PartialEq)]
struct Seen {
    src: SocketAddr,
    dst: SocketAddr,
    payload: Vec<u8>,
    time: Duration,
    flags: Option<u32>,
    comments: Vec<String>,
}

fn decode(frame: &[u8], time: Duration) -> Seen {
    let pkt = SlicedPacket::from_ethernet(frame).expect("an Ethernet frame");
    let (src, dst): (IpAddr, IpAddr) = match pkt.net.expect("an IP packet") {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        other => panic!("not IP: {other:?}"),
    };
    let Some(TransportSlice::Udp(udp)) = pkt.transport else {
        panic!("not UDP")
    };
    Seen {
        src: SocketAddr::new(src, udp.source_port()),
        dst: SocketAddr::new(dst, udp.destination_port()),
        payload: udp.payload().to_vec(),
        time,
        flags: None,
        comments: vec![],
    }
}

fn read_pcapng(path: &Path) -> Vec<Seen> {
    let mut reader = PcapNgReader::new(File::open(path).unwrap()).unwrap();
    let mut seen = vec![];
    let mut interfaces = 0;
    while let Some(block) = reader.next_block() {
        let epb = match block.unwrap().0 {
            Block::InterfaceDescription(idb) => {
                assert_eq!(idb.linktype, DataLink::ETHERNET);
                assert!(idb.snaplen >= 262_144);
                assert_eq!(idb.ts_resolution(), InterfaceTsResolution::NANO);
                interfaces += 1;
                continue;
            }
            Block::EnhancedPacket(epb) => epb,
            other => panic!("unexpected block {other:?}"),
        };
        assert_eq!(epb.original_len as usize, epb.data.len());
        let mut s = decode(&epb.data, epb.timestamp);
        for opt in &epb.options {
            match opt {
                EnhancedPacketOption::Flags(f) => s.flags = Some(*f),
                EnhancedPacketOption::Common(CommonOption::Comment(c)) => {
                    s.comments.push(c.to_string())
                }
                other => panic!("unexpected option {other:?}"),
            }
        }
        seen.push(s);
    }
    assert_eq!(interfaces, 1);
    seen
}

fn read_pcap(path: &Path) -> Vec<Seen> {
    let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
    let header = reader.header();
    assert_eq!(header.datalink, DataLink::ETHERNET);
    assert_eq!(header.ts_resolution, PcapTsResolution::NanoSecond);
    assert!(header.snaplen >= 262_144);
    let mut seen = vec![];
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.unwrap();
        assert_eq!(pkt.orig_len(), pkt.len());
        seen.push(decode(pkt.data(), pkt.timestamp()));
    }
    seen
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn at(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

fn packet<'a>(
    src: &str,
    dst: &str,
    payload: &'a [u8],
    direction: Direction,
    comment: Option<&'a str>,
    ns: u64,
) -> Packet<'a> {
    Packet {
        src: addr(src),
        dst: addr(dst),
        payload,
        len: payload.len(),
        direction,
        comment,
        timestamp: at(ns),
        ttl: Packet::DEFAULT_TTL,
        tos: 0,
    }
}

/// Three datagrams: an unbound IPv4 sender, its reply, and IPv6 from `::`.
fn sample() -> Vec<Packet<'static>> {
    vec![
        packet(
            "0.0.0.0:40000",
            "127.0.0.1:9999",
            b"ping",
            Direction::Outbound,
            Some("chat.rhai:12 sendto"),
            1_700_000_000_123_456_789,
        ),
        packet(
            "127.0.0.1:9999",
            "127.0.0.1:40000",
            b"pong",
            Direction::Inbound,
            None,
            1_700_000_000_223_456_790,
        ),
        packet(
            "[::]:5000",
            "[::1]:6000",
            b"",
            Direction::Outbound,
            Some("v6.rhai:3 send"),
            1_700_000_001_000_000_001,
        ),
    ]
}

fn expected(flags: bool) -> Vec<Seen> {
    let seen =
        |src: &str, dst: &str, payload: &[u8], time: u64, flag: u32, comments: &[&str]| Seen {
            src: addr(src),
            dst: addr(dst),
            payload: payload.to_vec(),
            time: Duration::from_nanos(time),
            flags: flags.then_some(flag),
            comments: if flags {
                comments.iter().map(|c| c.to_string()).collect()
            } else {
                vec![]
            },
        };
    vec![
        seen(
            "127.0.0.1:40000",
            "127.0.0.1:9999",
            b"ping",
            1_700_000_000_123_456_789,
            2,
            &["chat.rhai:12 sendto"],
        ),
        seen(
            "127.0.0.1:9999",
            "127.0.0.1:40000",
            b"pong",
            1_700_000_000_223_456_790,
            1,
            &[],
        ),
        seen(
            "[::1]:5000",
            "[::1]:6000",
            b"",
            1_700_000_001_000_000_001,
            2,
            &["v6.rhai:3 send"],
        ),
    ]
}

/// Records `packets` and waits until the watchdog has written them.
fn record_all(recorder: &Recorder, packets: &[Packet]) {
    for (i, p) in packets.iter().enumerate() {
        assert_eq!(recorder.record(p).unwrap(), i as u64 + 1);
    }
    recorder.sync().unwrap();
}

#[test]
fn pcapng_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.pcapng");
    let recorder = Recorder::create(&path).unwrap();
    record_all(&recorder, &sample());
    assert_eq!(recorder.packets(), 3);
    assert_eq!(recorder.path(), path);
    // Read while the recorder is still open: once synced, nothing waits in udpsh.
    assert_eq!(read_pcapng(&path), expected(true));
}

#[test]
fn pcap_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.pcap");
    let recorder = Recorder::create(&path).unwrap();
    record_all(&recorder, &sample());
    assert_eq!(read_pcap(&path), expected(false));
    // No comments in classic pcap: annotating is a no-op.
    recorder.annotate(1, "ignored").unwrap();
    assert_eq!(read_pcap(&path), expected(false));
}

#[test]
fn file_has_header_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("empty.cap");
    let _r = Recorder::create(&pcap).unwrap();
    assert_eq!(std::fs::metadata(&pcap).unwrap().len(), 24);
    assert!(read_pcap(&pcap).is_empty());
    let ng = dir.path().join("empty.PCAPNG");
    let _r = Recorder::create(&ng).unwrap();
    assert!(read_pcapng(&ng).is_empty());
}

#[test]
fn annotate_last_and_earlier_packets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pcapng");
    let recorder = Recorder::create(&path).unwrap();
    record_all(&recorder, &sample());
    recorder.annotate(3, "assertion failed: got 1").unwrap();
    // Not the last block: it and the blocks after it are rewritten.
    recorder.annotate(1, "assertion failed: no reply").unwrap();
    recorder.annotate(2, "second note").unwrap();

    let mut want = expected(true);
    want[2].comments.push("assertion failed: got 1".into());
    want[0].comments.push("assertion failed: no reply".into());
    want[1].comments.push("second note".into());
    assert_eq!(read_pcapng(&path), want);

    // Recording goes on after the rewritten tail.
    let id = recorder
        .record(&packet(
            "127.0.0.1:1",
            "127.0.0.1:2",
            b"more",
            Direction::Outbound,
            None,
            1_800_000_000_000_000_000,
        ))
        .unwrap();
    assert_eq!(id, 4);
    recorder.sync().unwrap();
    let seen = read_pcapng(&path);
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[..3], want[..]);
    assert_eq!(seen[3].payload, b"more");

    assert!(recorder.annotate(0, "x").is_err());
    assert!(recorder.annotate(5, "x").is_err());
}

#[test]
fn unspecified_addresses_as_the_wire_shows_them() {
    let to_any = packet(
        "127.0.0.1:1",
        "0.0.0.0:2",
        b"",
        Direction::Outbound,
        None,
        0,
    );
    assert_eq!(
        wire_addresses(&to_any),
        (addr("127.0.0.1:1"), addr("127.0.0.1:2"))
    );
    let from_any = packet("[::]:1", "[::1]:2", b"", Direction::Outbound, None, 0);
    assert_eq!(
        wire_addresses(&from_any),
        (addr("[::1]:1"), addr("[::1]:2"))
    );
    // Received on a socket bound to 0.0.0.0: the local address facing the sender.
    let inbound = packet("127.0.0.9:1", "0.0.0.0:2", b"", Direction::Inbound, None, 0);
    assert_eq!(
        wire_addresses(&inbound),
        (addr("127.0.0.9:1"), addr("127.0.0.1:2"))
    );
}

#[test]
fn long_comments_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.pcapng");
    let recorder = Recorder::create(&path).unwrap();
    let long = "é".repeat(40_000);
    let p = packet(
        "127.0.0.1:1",
        "127.0.0.1:2",
        b"x",
        Direction::Outbound,
        Some(&long),
        1,
    );
    recorder.record(&p).unwrap();
    recorder.annotate(1, &long).unwrap();
    let comments = &read_pcapng(&path)[0].comments;
    assert_eq!(comments.len(), 2);
    for c in comments {
        assert!(c.ends_with('…') && c.len() <= 65_003, "{}", c.len());
        assert!(long.starts_with(c.trim_end_matches('…')));
    }
}

#[test]
fn annotate_an_old_packet_notes_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.pcapng");
    let recorder = Recorder::create(&path).unwrap();
    let payload = [1u8; 100];
    for i in 0..200 {
        recorder
            .record(&packet(
                "127.0.0.1:1",
                "127.0.0.1:2",
                &payload,
                Direction::Outbound,
                None,
                i,
            ))
            .unwrap();
    }
    recorder.annotate(3, "too old").unwrap();
    let seen = read_pcapng(&path);
    assert_eq!(seen.len(), 200);
    assert!(seen[2].comments.is_empty());
    assert_eq!(seen[199].comments, ["frame 3: too old"]);
}

/// A datagram of 100 bytes of which a `recvfrom(10)` kept 10 is recorded as tcpdump with a
/// snap length shows it: 10 bytes captured, its real lengths in the record and the headers.
#[test]
fn a_short_receive_is_recorded_with_its_real_length() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["cut.pcap", "cut.pcapng"] {
        let path = dir.path().join(name);
        let recorder = Recorder::create(&path).unwrap();
        let mut pkt = packet(
            "127.0.0.1:1",
            "127.0.0.1:2",
            b"0123456789",
            Direction::Inbound,
            None,
            5,
        );
        pkt.len = 100;
        recorder.record(&pkt).unwrap();
        drop(recorder);
        let (data, orig_len) = if name.ends_with("ng") {
            let mut reader = PcapNgReader::new(File::open(&path).unwrap()).unwrap();
            let mut found = None;
            while let Some(block) = reader.next_block() {
                if let Block::EnhancedPacket(epb) = block.unwrap().0 {
                    found = Some((epb.data.to_vec(), epb.original_len));
                }
            }
            found.unwrap()
        } else {
            let mut reader = PcapReader::new(File::open(&path).unwrap()).unwrap();
            let p = reader.next_packet().unwrap().unwrap();
            (p.data().to_vec(), p.orig_len())
        };
        assert_eq!(data.len(), 14 + 20 + 8 + 10, "{name}");
        assert_eq!(orig_len as usize, 14 + 20 + 8 + 100, "{name}");
        assert_eq!(u16::from_be_bytes([data[16], data[17]]), 20 + 8 + 100);
        assert_eq!(u16::from_be_bytes([data[38], data[39]]), 8 + 100);
    }
}

#[test]
fn largest_datagrams_recorded_whole() {
    let dir = tempfile::tempdir().unwrap();
    let v4 = vec![0xab; MAX_PAYLOAD_V4];
    let v6 = vec![0xcd; MAX_PAYLOAD_V6];
    for name in ["big.pcap", "big.pcapng"] {
        let path = dir.path().join(name);
        let recorder = Recorder::create(&path).unwrap();
        recorder
            .record(&packet(
                "127.0.0.1:1",
                "127.0.0.1:2",
                &v4,
                Direction::Outbound,
                None,
                5,
            ))
            .unwrap();
        recorder
            .record(&packet(
                "[::1]:1",
                "[::1]:2",
                &v6,
                Direction::Inbound,
                None,
                6,
            ))
            .unwrap();
        recorder.sync().unwrap();
        let seen = if name.ends_with("ng") {
            read_pcapng(&path)
        } else {
            read_pcap(&path)
        };
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].payload, v4);
        assert_eq!(seen[1].payload, v6);
        // Too big for UDP: refused, and nothing is written.
        let too_big = vec![0; MAX_PAYLOAD_V4 + 1];
        let err = recorder.record(&packet(
            "127.0.0.1:1",
            "127.0.0.1:2",
            &too_big,
            Direction::Outbound,
            None,
            7,
        ));
        assert!(err.is_err());
        assert_eq!(recorder.packets(), 2);
    }
}

#[test]
fn unusable_paths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = Recorder::create(dir.path()).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("cannot write capture {}: ", dir.path().display())),
        "{err}"
    );
    assert!(err.contains("os error"), "{err}");

    let missing = dir.path().join("no/such/dir/x.pcapng");
    let err = Recorder::create(&missing).unwrap_err().to_string();
    assert!(
        err.contains("x.pcapng") && err.contains("No such file or directory"),
        "{err}"
    );

    // /dev/full opens but every write fails: a full disk.
    let err = Recorder::create(Path::new("/dev/full"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cannot write capture /dev/full: No space left on device (os error 28)"
    );
}

#[test]
fn recorder_is_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Recorder>();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threads.pcapng");
    let recorder = Recorder::create(&path).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let recorder = recorder.clone();
            std::thread::spawn(move || {
                for i in 0..50u64 {
                    let src = format!("127.0.0.1:{}", 1000 + t);
                    recorder
                        .record(&packet(
                            &src,
                            "127.0.0.1:2",
                            b"x",
                            Direction::Outbound,
                            None,
                            i,
                        ))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(recorder.packets(), 200);
    recorder.sync().unwrap();
    assert_eq!(read_pcapng(&path).len(), 200);
}

/// What the watchdog does when udpsh dies in the middle of a write: the file goes back to its
/// last complete record. (Dropping the recorder ends the watchdog just like dying does.)
#[cfg(target_os = "linux")]
#[test]
fn a_half_written_record_is_cut_off() {
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    for name in ["cut.pcap", "cut.pcapng"] {
        let path = dir.path().join(name);
        let recorder = Recorder::create(&path).unwrap();
        record_all(&recorder, &sample());
        let valid = std::fs::metadata(&path).unwrap().len();
        // The first page of a record the kill interrupted.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(&[0x55; 4000]).unwrap();
        drop(recorder);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), valid);
        let seen = if name.ends_with("ng") {
            read_pcapng(&path)
        } else {
            read_pcap(&path)
        };
        assert_eq!(seen.len(), 3);
    }
}

/// Without waiting for it, the watchdog writes the records within a moment (a reader of the
/// file while udpsh runs sees them), in batches.
#[test]
fn the_watchdog_writes_records_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.pcap");
    let recorder = Recorder::create(&path).unwrap();
    for p in sample() {
        recorder.record(&p).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::fs::metadata(&path).unwrap().len() < 24 + 3 * 16 + 2 * 46 + 62 {
        assert!(
            std::time::Instant::now() < deadline,
            "not written within 5 s"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(read_pcap(&path), expected(false));
}

/// More than the ring holds at once, from several threads: every record arrives, in the
/// order of its id.
#[test]
fn records_beyond_the_ring_s_size_all_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pcapng");
    let recorder = Recorder::create(&path).unwrap();
    let big = vec![0x5a; 9000];
    let ids: Vec<Vec<u64>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    (0..700)
                        .map(|i| {
                            let p = packet(
                                "127.0.0.1:1",
                                "127.0.0.1:2",
                                &big[..8000 + i % 1000],
                                Direction::Outbound,
                                Some("t.rhai:1 sendto"),
                                i as u64,
                            );
                            recorder.record(&p).unwrap()
                        })
                        .collect()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    drop(recorder);
    let seen = read_pcapng(&path);
    assert_eq!(seen.len(), 2100);
    let mut all: Vec<u64> = ids.concat();
    all.sort_unstable();
    assert_eq!(all, (1..=2100).collect::<Vec<_>>());
}

/// A watchdog killed on its own: the recorder writes what it left in the ring and every record
/// after, itself.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_watchdog_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["over.pcap", "over.pcapng"] {
        let path = dir.path().join(name);
        let recorder = Recorder::create(&path).unwrap();
        let payloads: Vec<Vec<u8>> = (0..3000)
            .map(|i| format!("datagram {i}").into_bytes())
            .collect();
        let record = |i: usize| {
            recorder
                .record(&packet(
                    "127.0.0.1:1",
                    "127.0.0.1:2",
                    &payloads[i],
                    Direction::Outbound,
                    None,
                    i as u64,
                ))
                .unwrap()
        };
        for i in 0..1000 {
            record(i);
        }
        let pid = recorder.watchdog().expect("a watchdog");
        // SAFETY: kill(2) of the recorder's own child.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        for i in 1000..3000 {
            record(i);
        }
        recorder.sync().unwrap();
        let seen = if name.ends_with("ng") {
            read_pcapng(&path)
        } else {
            read_pcap(&path)
        };
        let got: Vec<&[u8]> = seen.iter().map(|s| &s.payload[..]).collect();
        let want: Vec<&[u8]> = payloads.iter().map(|p| &p[..]).collect();
        assert_eq!(got, want, "{name}");
        drop(recorder);
        assert_eq!(read_pcap_or_ng(&path).len(), 3000);
    }
}

fn read_pcap_or_ng(path: &Path) -> Vec<Seen> {
    if path.extension().is_some_and(|e| e == "pcapng") {
        read_pcapng(path)
    } else {
        read_pcap(path)
    }
}

/// A pipe (`--pcap /dev/stdout | wireshark -k -i -`): records go out in sequence, whole.
#[cfg(target_os = "linux")]
#[test]
fn a_pipe_gets_every_record_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["fifo.pcap", "fifo.pcapng"] {
        let path = dir.path().join(name);
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo with a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let path = path.clone();
            std::thread::spawn(move || std::fs::read(path).unwrap())
        };
        let recorder = Recorder::create(&path).unwrap();
        let payloads: Vec<Vec<u8>> = (0..500)
            .map(|i| format!("datagram {i}").into_bytes())
            .collect();
        for (i, p) in payloads.iter().enumerate() {
            recorder
                .record(&packet(
                    "127.0.0.1:1",
                    "127.0.0.1:2",
                    p,
                    Direction::Outbound,
                    Some("t.rhai:1 sendto"),
                    i as u64,
                ))
                .unwrap();
        }
        // Comments cannot be added to what a pipe already took; recording goes on.
        if name.ends_with("ng") {
            assert!(recorder.annotate(500, "x").is_err());
        }
        drop(recorder);
        let bytes = reader.join().unwrap();
        let copy = dir.path().join(format!("copy-{name}"));
        std::fs::write(&copy, bytes).unwrap();
        let seen = read_pcap_or_ng(&copy);
        let got: Vec<&[u8]> = seen.iter().map(|s| &s.payload[..]).collect();
        let want: Vec<&[u8]> = payloads.iter().map(|p| &p[..]).collect();
        assert_eq!(got, want, "{name}");
    }
}
