//! `read_pcap` against Wireshark's own reading: every capture under fixtures/capture/ (one per
//! link type, encapsulation and kind of damage in links/, made by links/make_links.py, and the
//! tcpdump captures of dnsmasq) read by udpsh and by `tshark -T fields`, datagram by datagram:
//! frame, time, addresses, ports, length and payload. tshark's cut datagrams (a UDP length
//! past what was captured) must be left out by udpsh, never returned short.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use crate::support::{Udpsh, repo};

#[derive(Debug, PartialEq)]
struct Seen {
    time: f64,
    src: String,
    dst: String,
    len: usize,
    payload: String,
}

fn captures() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["fixtures/capture", "fixtures/capture/links"] {
        for entry in std::fs::read_dir(repo().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|x| x == "pcap" || x == "pcapng")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn tshark_installed() -> bool {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tshark is not installed (CI needs it)"
        );
        eprintln!("note: tshark is not installed; skipping");
    }
    found
}

fn addr(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// tshark's complete outer UDP datagrams by frame, its cut ones, and the last frame it read.
fn tshark(path: &PathBuf) -> (BTreeMap<u64, Seen>, Vec<u64>, u64) {
    let fields = [
        "frame.number",
        "frame.time_epoch",
        "ip.src",
        "ipv6.src",
        "udp.srcport",
        "ip.dst",
        "ipv6.dst",
        "udp.dstport",
        "udp.length",
        "udp.payload",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(path)
        .args(["-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let (mut seen, mut cut, mut last) = (BTreeMap::new(), Vec::new(), 0);
    for line in text.lines() {
        // The outer layer's value comes first where a frame has several.
        let f: Vec<&str> = line
            .split('|')
            .map(|v| v.split(',').next().unwrap_or(""))
            .collect();
        let frame: u64 = f[0].parse().unwrap();
        last = frame;
        if f[4].is_empty() {
            continue;
        }
        let (src_ip, dst_ip) = if f[2].is_empty() {
            (f[3], f[6])
        } else {
            (f[2], f[5])
        };
        let udp_len: usize = f[8].parse().unwrap();
        let payload = f[9].to_string();
        if udp_len < 8 || payload.len() / 2 != udp_len - 8 {
            cut.push(frame);
            continue;
        }
        // Nanoseconds after the point; a fraction of a second of 1000000 µs or more is
        // printed as it is (ten digits): carry it.
        let time = match f[1].split_once('.') {
            Some((s, nanos)) => s.parse::<f64>().unwrap() + nanos.parse::<f64>().unwrap() / 1e9,
            None => f[1].parse().unwrap_or(0.0),
        };
        seen.insert(
            frame,
            Seen {
                time,
                src: addr(src_ip, f[4]),
                dst: addr(dst_ip, f[7]),
                len: udp_len - 8,
                payload,
            },
        );
    }
    (seen, cut, last)
}

const READ_ALL: &str = r#"
for f in var("files", "").split("\n") {
    try {
        let r = read_pcap(f, #{details: true});
        for d in r.datagrams {
            print(`${f}|${d.frame}|${d.time}|${d.src}|${d.dst}|${d.len}|${to_hex(d.data)}`);
        }
        print(`${f}|damaged|${r.damaged}`);
    } catch (e) {
        print(`${f}|error|${e.message}`);
    }
}
"#;

#[test]
fn every_fixture_reads_as_tshark_reads_it() {
    if !tshark_installed() {
        return;
    }
    let files = captures();
    let list: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let out = Udpsh::eval(READ_ALL)
        .var("files", list.join("\n"))
        .output()
        .success();
    let mut compared = 0;
    for path in &files {
        let name = path.display().to_string();
        let mine: Vec<Vec<&str>> = out
            .stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{name}|")))
            .map(|l| l.split('|').collect())
            .collect();
        let (theirs, cut, last) = tshark(path);
        if let Some(error) = mine.iter().find(|f| f[0] == "error") {
            // Refused whole: only a link type udpsh does not read, where tshark found no UDP.
            assert!(error[1].contains("link type 147"), "{name}: {error:?}");
            assert!(theirs.is_empty(), "{name}");
            continue;
        }
        let mut frames = Vec::new();
        for f in mine.iter().filter(|f| f.len() == 6) {
            let frame: u64 = f[0].parse().unwrap();
            frames.push(frame);
            assert!(
                !cut.contains(&frame),
                "{name} frame {frame}: returned though cut"
            );
            // Past where tshark stopped (a record it refuses ends its reading) udpsh goes on.
            if frame > last {
                continue;
            }
            let want = theirs
                .get(&frame)
                .unwrap_or_else(|| panic!("{name} frame {frame}: tshark sees no UDP datagram"));
            let got = Seen {
                time: f[1].parse().unwrap(),
                src: f[2].to_string(),
                dst: f[3].to_string(),
                len: f[4].parse().unwrap(),
                payload: f[5].to_string(),
            };
            assert!(
                (got.time - want.time).abs() < 1e-6,
                "{name} frame {frame}: {got:?} {want:?}"
            );
            assert_eq!(
                (&got.src, &got.dst, got.len, &got.payload),
                (&want.src, &want.dst, want.len, &want.payload),
                "{name} frame {frame}"
            );
            compared += 1;
        }
        let missing: Vec<&u64> = theirs.keys().filter(|f| !frames.contains(f)).collect();
        assert!(missing.is_empty(), "{name}: udpsh lacks frames {missing:?}");
        // A damaged file says so, where tshark says it is cut or damaged.
        let damaged = mine.iter().find(|f| f[0] == "damaged").unwrap()[1];
        let tshark_err = Command::new("tshark")
            .arg("-r")
            .arg(path)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap();
        let tshark_damaged = tshark_err.contains("cut short") || tshark_err.contains("damaged");
        if tshark_damaged && !name.ends_with("bad_interface.pcapng") {
            assert!(!damaged.is_empty(), "{name}: {tshark_err}");
        } else {
            assert!(damaged.is_empty(), "{name}: {damaged}");
        }
    }
    assert!(compared >= 50, "{compared} datagrams compared");
}

#[test]
fn a_damaged_file_warns_once_and_the_script_can_tell() {
    let file = repo().join("fixtures/capture/links/cut_mid_record.pcap");
    let out = Udpsh::eval(
        r#"let f = var("f", "");
           assert_eq(read_pcap(f).len(), 2);
           let r = read_pcap(f, #{details: true, dport: 40000});
           assert_eq(r.datagrams.len(), 1);
           assert_eq(r.skipped.filtered, 1);
           assert_contains(r.damaged, "cut short in the middle of frame 3");"#,
    )
    .var("f", file.display())
    .output()
    .success();
    assert_eq!(out.stderr.matches("warning: ").count(), 2, "{}", out.dump());
    out.stderr_has("cut_mid_record.pcap: cut short in the middle of frame 3 (at byte 184 of 245); read the 2 datagrams of the records before it");
    let whole = repo().join("fixtures/capture/dnsmasq_lo.pcap");
    Udpsh::eval(r#"assert_eq(read_pcap(var("f", ""), #{details: true}).damaged, ());"#)
        .var("f", whole.display())
        .output()
        .success();
}

/// `udpsh replay` of a file cut mid-record replays its complete records and warns once.
#[test]
fn replay_of_a_damaged_file_warns_and_sends_what_is_whole() {
    let peer = crate::support::Peer::new();
    let file = repo().join("fixtures/capture/links/cut_mid_record.pcap");
    let out = Udpsh::new(&[
        "replay",
        &file.display().to_string(),
        "--to",
        &peer.addr().to_string(),
        "--speed",
        "max",
        "--wait",
        "100ms",
    ])
    .output();
    // The one request (the DNS query of frame 1) reached the peer; its reply never came.
    let (data, _) = peer.recv();
    assert_eq!(data.len(), 30, "{}", out.dump());
    assert_eq!(out.stderr.matches("warning: ").count(), 1, "{}", out.dump());
    out.code(3).stderr_has(
        "cut short in the middle of frame 3 (at byte 184 of 245); read the 2 datagrams",
    );
}
