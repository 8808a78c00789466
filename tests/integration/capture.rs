//! Recording, read back as Wireshark would: every packet parsed with pcap-file + etherparse,
//! checked with tshark when it is installed, compared with a real `tcpdump -i lo` capture when
//! the test runs as root, and still valid after kill -9 and Ctrl-C.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
use pcap_file::pcapng::blocks::opt_common::CommonOption;
use pcap_file::pcapng::{Block, PcapNgReader};

use crate::support::*;

/// One recorded datagram as a capture shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Wire {
    src: SocketAddr,
    dst: SocketAddr,
    payload: Vec<u8>,
    ipv6: bool,
    comments: Vec<String>,
    /// pcapng epb_flags direction bits: 1 inbound, 2 outbound; 0 for classic pcap.
    direction: u32,
}

fn parse_frame(data: &[u8]) -> Wire {
    let packet = SlicedPacket::from_ethernet(data).expect("an Ethernet frame");
    let (src_ip, dst_ip, ipv6): (IpAddr, IpAddr, bool) = match packet.net.expect("an IP packet") {
        NetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
            false,
        ),
        NetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
            true,
        ),
        other => panic!("not IP: {other:?}"),
    };
    let Some(TransportSlice::Udp(udp)) = packet.transport else {
        panic!("not UDP")
    };
    Wire {
        src: SocketAddr::new(src_ip, udp.source_port()),
        dst: SocketAddr::new(dst_ip, udp.destination_port()),
        payload: udp.payload().to_vec(),
        ipv6,
        comments: Vec::new(),
        direction: 0,
    }
}

/// Every packet of a pcap or pcapng file; panics on anything malformed or cut short.
fn read_capture(path: &Path) -> Vec<Wire> {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut reader = PcapNgReader::new(&bytes[..]).unwrap();
        while let Some(block) = reader.next_block() {
            if let (Block::EnhancedPacket(epb), _) = block.expect("a complete pcapng block") {
                let mut wire = parse_frame(&epb.data);
                assert_eq!(epb.original_len as usize, epb.data.len(), "recorded whole");
                for opt in &epb.options {
                    match opt {
                        EnhancedPacketOption::Flags(f) => wire.direction = f & 3,
                        EnhancedPacketOption::Common(CommonOption::Comment(c)) => {
                            wire.comments.push(c.to_string())
                        }
                        _ => {}
                    }
                }
                out.push(wire);
            }
        }
    } else {
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        while let Some(packet) = reader.next_packet() {
            out.push(parse_frame(packet.expect("a complete pcap record").data()));
        }
    }
    out
}

fn has(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// tshark's verdict: checksums good, no expert warnings, not cut short. Skips without tshark.
fn tshark_checks(path: &Path, packets: usize) {
    if !has("tshark") {
        eprintln!("note: tshark not found, skipping its half of this test (.ci/run installs it)");
        return;
    }
    let out = Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-o",
            "udp.check_checksum:TRUE",
            // Ephemeral ports may be some protocol's well-known port: its dissector would then
            // judge our payloads. Every payload is plain data here.
            "-d",
            "udp.port==1-65535,data",
        ])
        .args(["-T", "fields", "-e", "udp.checksum.status"])
        .args(["-e", "_ws.expert.severity", "-e", "_ws.malformed"])
        .args(["-e", "_ws.expert.message", "-e", "frame.protocols"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark failed: {stderr}");
    assert!(!stderr.contains("cut short"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), packets, "{stdout}");
    // Expert info of severity "comment" (1048576) is our pcapng comments; nothing worse.
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], "1", "checksum good: {line:?}");
        assert!(
            fields[1].split(',').all(|s| s.is_empty() || s == "1048576"),
            "expert warnings: {line:?}"
        );
        assert_eq!(fields[2], "", "malformed: {line:?}");
    }
}

#[test]
fn every_datagram_once_with_real_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("x.pcapng");
    let out = Udpsh::run("fixtures/capture/exchange.rhai")
        .arg("--pcap")
        .arg(pcap.display())
        .output()
        .success();
    let wires = read_capture(&pcap);
    let payloads: Vec<Vec<u8>> = wires.iter().map(|w| w.payload.clone()).collect();
    assert_eq!(
        payloads,
        [
            b"Hello".to_vec(),
            "你好".as_bytes().to_vec(),
            b"over IPv6".to_vec(),
            vec![0x42; 65507],
            b"Hi".to_vec(),
        ],
        "each datagram once, in order"
    );
    for w in &wires {
        assert!(!w.src.ip().is_unspecified(), "source 0.0.0.0 in {w:?}");
        assert!(w.src.ip().is_loopback() && w.src.port() != 0);
        assert_eq!(w.direction, 2, "sent by the run: outbound");
        assert!(
            w.comments[0].starts_with("fixtures/capture/exchange.rhai:"),
            "{:?}",
            w.comments
        );
    }
    assert!(wires[2].ipv6 && wires[2].src.is_ipv6() && wires[2].dst.is_ipv6());
    assert!(!wires[0].ipv6);
    assert_eq!(wires[4].dst.ip().to_string(), "127.255.255.255");
    let ports: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(wires[0].dst.port().to_string(), ports[1]);
    assert_eq!(wires[1].src.port().to_string(), ports[1]);
    assert_eq!(wires[4].dst.port().to_string(), ports[2]);
    assert_eq!(
        wires[0].src, wires[1].dst,
        "the reply goes back to the client"
    );
    tshark_checks(&pcap, 5);
}

#[test]
fn classic_pcap_too() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("x.pcap");
    Udpsh::run("fixtures/capture/exchange.rhai")
        .arg("--pcap")
        .arg(pcap.display())
        .output()
        .success();
    let wires = read_capture(&pcap);
    assert_eq!(wires.len(), 5);
    assert_eq!(wires[3].payload.len(), 65507);
    tshark_checks(&pcap, 5);
}

#[test]
fn receives_from_outside_the_run_are_recorded_inbound() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("chat.pcapng");
    let server = Peer::new();
    let client = Udpsh::run("scripts/chat_client.rhai")
        .var("port", server.port())
        .arg("--pcap")
        .arg(pcap.display())
        .spawn();
    let (_, from) = server.recv();
    server.send_to("你好", from);
    client.finish().success();
    let wires = read_capture(&pcap);
    assert_eq!(wires.len(), 2);
    assert_eq!((wires[0].direction, wires[1].direction), (2, 1));
    assert_eq!(wires[0].dst, server.addr());
    assert_eq!(wires[1].src, server.addr());
    assert_eq!(wires[1].dst, wires[0].src);
    assert_eq!(wires[0].comments, ["scripts/chat_client.rhai:12 sendto"]);
    assert_eq!(wires[1].comments, ["scripts/chat_client.rhai:14 recvfrom"]);
}

#[test]
fn a_failed_assertion_is_a_comment_on_the_last_packet() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("fail.pcapng");
    Udpsh::run("fixtures/errors/assert_short.rhai")
        .arg("--pcap")
        .arg(pcap.display())
        .output()
        .code(1);
    let wires = read_capture(&pcap);
    let last = wires.last().unwrap();
    assert!(
        last.comments.iter().any(|c| c.contains("assert_eq failed")),
        "{:?}",
        last.comments
    );
    tshark_checks(&pcap, wires.len());
}

#[test]
fn the_same_packets_as_tcpdump_on_lo() {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if !root || !Path::new("/usr/bin/tcpdump").exists() && !has("tcpdump") {
        eprintln!("note: needs root and tcpdump (.ci/run installs it); skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ours = dir.path().join("ours.pcap");
    let reference = dir.path().join("ref.pcap");
    let server = Peer::new();
    let mut tcpdump = Command::new("tcpdump")
        .args([
            "-Z",
            "root",
            "-i",
            "lo",
            "-U",
            "-w",
            reference.to_str().unwrap(),
        ])
        .arg(format!("udp port {}", server.port()))
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(tcpdump.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("listening on") {
        line.clear();
    }
    let client = Udpsh::run("scripts/chat_client.rhai")
        .var("port", server.port())
        .arg("--pcap")
        .arg(ours.display())
        .spawn();
    let (_, from) = server.recv();
    server.send_to("你好", from);
    client.finish().success();
    // tcpdump writes each packet at once (-U); give it a moment, then stop it cleanly.
    let deadline = Instant::now() + Duration::from_secs(5);
    while read_capture_len(&reference) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-INT", &tcpdump.id().to_string()])
        .status()
        .unwrap();
    tcpdump.wait().unwrap();
    let strip = |w: Vec<Wire>| -> Vec<(SocketAddr, SocketAddr, Vec<u8>)> {
        w.into_iter().map(|w| (w.src, w.dst, w.payload)).collect()
    };
    assert_eq!(strip(read_capture(&ours)), strip(read_capture(&reference)));
}

fn read_capture_len(path: &Path) -> usize {
    std::fs::read(path)
        .ok()
        .and_then(|b| {
            PcapReader::new(&b[..]).ok().map(|mut r| {
                let mut n = 0;
                while let Some(Ok(_)) = r.next_packet() {
                    n += 1;
                }
                n
            })
        })
        .unwrap_or(0)
}

/// Starts flood.rhai recording to `pcap`, waits until it has sent a few thousand datagrams.
fn flood(pcap: &Path) -> Running {
    let mut run = Udpsh::new(&["run", "--timeout", "30", "--pcap", pcap.to_str().unwrap()])
        .arg("fixtures/capture/flood.rhai")
        .spawn();
    run.wait_stdout("sent 2048");
    run
}

#[test]
fn kill_9_mid_run_leaves_a_valid_file() {
    for ext in ["pcap", "pcapng"] {
        let dir = tempfile::tempdir().unwrap();
        let pcap = dir.path().join(format!("killed.{ext}"));
        flood(&pcap).kill(); // SIGKILL
        // The recorder's watchdog process trims a half-written record right after the kill.
        std::thread::sleep(Duration::from_millis(100));
        let wires = read_capture(&pcap);
        assert!(wires.len() >= 2048, "{} packets", wires.len());
        for (i, w) in wires.iter().enumerate() {
            assert_eq!(w.payload, format!("datagram {i}").into_bytes());
        }
        tshark_checks(&pcap, wires.len());
    }
}

/// Reads the capture once the watchdog has finished it (its length stays the same).
fn settled_capture(path: &Path) -> Vec<Wire> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = None;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let len = std::fs::metadata(path).map(|m| m.len()).ok();
        if len == last || Instant::now() > deadline {
            return read_capture(path);
        }
        last = len;
    }
}

/// A kill of udpsh's whole process group (a shell's job control, a CI runner) is a kill of
/// udpsh alone: the watchdog runs in a session of its own and writes every datagram the script
/// had sent, up to the last one it said it had sent.
#[test]
fn kill_9_of_the_process_group_keeps_every_datagram_sent() {
    for ext in ["pcap", "pcapng"] {
        let dir = tempfile::tempdir().unwrap();
        let pcap = dir.path().join(format!("group.{ext}"));
        let mut run = Udpsh::new(&["run", "--timeout", "30", "--pcap", pcap.to_str().unwrap()])
            .arg("fixtures/capture/flood.rhai")
            .own_process_group()
            .spawn();
        run.wait_stdout("sent 4096");
        let out = run.kill_group();
        let said: usize = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix("sent ")?.trim().parse().ok())
            .max()
            .unwrap();
        let wires = settled_capture(&pcap);
        assert!(
            wires.len() > said,
            "{ext}: {} packets, but datagram {said} was sent",
            wires.len()
        );
        for (i, w) in wires.iter().enumerate() {
            assert_eq!(w.payload, format!("datagram {i}").into_bytes());
        }
        tshark_checks(&pcap, wires.len());
    }
}

#[test]
fn ctrl_c_mid_run_leaves_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("interrupted.pcapng");
    let run = flood(&pcap);
    run.interrupt();
    assert_eq!(run.finish().code, Some(3));
    let wires = read_capture(&pcap);
    assert!(wires.len() >= 2048);
    tshark_checks(&pcap, wires.len());
}

#[test]
fn an_unwritable_capture_is_a_usage_error_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    Udpsh::run("scripts/scenarios/chat.rhai")
        .arg("--pcap")
        .arg(dir.path().display())
        .output()
        .code(2)
        .output_has("cannot write capture");
    Udpsh::run("scripts/scenarios/chat.rhai")
        .arg("--pcap")
        .arg(dir.path().join("no/such/dir/x.pcap").display())
        .output()
        .code(2)
        .output_has("cannot write capture");
}

#[test]
fn a_full_disk_is_a_runtime_error_and_the_file_stays_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("note: cannot mount a small tmpfs (needs root); skipping");
        return;
    }
    let pcap = dir.path().join("full.pcapng");
    let out = Udpsh::run("fixtures/capture/flood.rhai")
        .arg("--pcap")
        .arg(pcap.display())
        .output();
    let wires = read_capture(&pcap);
    let _ = Command::new("umount").arg(dir.path()).status();
    out.code(3)
        .output_has("cannot write capture")
        .output_has("No space left on device");
    assert!(
        wires.len() > 100,
        "{} packets before the disk filled",
        wires.len()
    );
    for (i, w) in wires.iter().enumerate() {
        assert_eq!(w.payload, format!("datagram {i}").into_bytes());
    }
}

/// The timestamps of a pcapng file's packets.
fn timestamps(path: &Path) -> Vec<std::time::Duration> {
    let bytes = std::fs::read(path).unwrap();
    let mut reader = PcapNgReader::new(&bytes[..]).unwrap();
    let mut out = Vec::new();
    while let Some(block) = reader.next_block() {
        if let (Block::EnhancedPacket(epb), _) = block.expect("a complete pcapng block") {
            out.push(epb.timestamp);
        }
    }
    out
}

#[test]
fn a_reply_is_never_stamped_before_its_request() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("asks.pcapng");
    let server = Peer::new();
    let port = server.port();
    let echo = std::thread::spawn(move || {
        for _ in 0..20 {
            let (data, from) = server.recv();
            server.send_to(data, from);
        }
    });
    Udpsh::eval(
        "let s = udp(); s.settimeout(5); for i in 0..20 { s.sendto(`${i}`, var(\"to\", \"\")); s.recvfrom(100); }",
    )
    .var("to", loopback(port))
    .arg("--pcap")
    .arg(pcap.display())
    .output()
    .success();
    echo.join().unwrap();
    let times = timestamps(&pcap);
    assert_eq!(times.len(), 40);
    // Sends are stamped before the system call, receives by the kernel (SO_TIMESTAMPNS).
    for (i, pair) in times.windows(2).enumerate() {
        assert!(
            pair[0] <= pair[1],
            "packet {} is stamped before packet {}: {times:?}",
            i + 2,
            i + 1
        );
    }
}

#[test]
fn sent_datagrams_are_recorded_with_the_ttl_and_tos_the_socket_set() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("ttl.pcapng");
    let peer = Peer::new();
    Udpsh::eval(
        r#"let s = udp("127.0.0.1:0"); s.sendto("plain", var("to", ""));
           s.setttl(9); s.settos(0x20); s.sendto("marked", var("to", ""));"#,
    )
    .var("to", peer.addr())
    .arg("--pcap")
    .arg(pcap.display())
    .output()
    .success();
    let bytes = std::fs::read(&pcap).unwrap();
    let mut reader = PcapNgReader::new(&bytes[..]).unwrap();
    let mut seen = Vec::new();
    while let Some(block) = reader.next_block() {
        if let (Block::EnhancedPacket(epb), _) = block.unwrap() {
            // Ethernet (14 bytes), then IPv4: TOS at 1, TTL at 8.
            seen.push((epb.data[14 + 1], epb.data[14 + 8]));
        }
    }
    assert_eq!(seen, [(0, 64), (0x20, 9)]);
    // What the peer got carried the same.
    assert_eq!(peer.recv().0, b"plain");
}
