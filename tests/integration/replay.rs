//! read_pcap against what tshark reads (captures from tcpdump -i lo / -i any, and from udpsh,
//! IPv4 and IPv6), and `udpsh replay --check` against a real dnsmasq and a changed one.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Udpsh, fixture, free_port, wait_bound};

/// Whether `program` is installed; without it a test skips on a dev machine, fails in CI.
pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} is needed in CI (apt-get install it)"
        );
        eprintln!("note: {program} not found, skipping");
    }
    found
}

/// A child stopped by PID (SIGTERM, then a kill) whatever happens to the test.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// dnsmasq on 127.0.0.1:`port`, answering example.test with `v4` (and 2001:db8::3).
fn dnsmasq(port: u16, v4: &str) -> Daemon {
    let child = Command::new("dnsmasq")
        .args([
            "-d",
            "-p",
            &port.to_string(),
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            &format!("--address=/example.test/{v4}"),
            "--address=/example.test/2001:db8::3",
            "-C",
            "/dev/null",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting dnsmasq");
    let d = Daemon(child);
    wait_bound(port);
    d
}

/// tcpdump on `iface` writing `file`, ready when this returns; stopped (and flushed) on drop.
fn tcpdump(iface: &str, port: u16, file: &Path) -> Daemon {
    let mut child = Command::new("tcpdump")
        .args(["-Z", "root", "--immediate-mode", "-i", iface, "-U", "-w"])
        .arg(file)
        .arg(format!("udp port {port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tcpdump");
    let err = child.stderr.take().unwrap();
    let mut lines = BufReader::new(err).lines();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) if l.contains("listening on") => break,
            Some(_) => {}
            None => panic!("tcpdump ended before listening"),
        }
    }
    // Keep reading its stderr so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    // -i any attaches its filter a little after it says it listens.
    std::thread::sleep(Duration::from_secs(1));
    Daemon(child)
}

/// `frame src-ip src-port dst-ip dst-port payload-hex` per UDP datagram, as tshark reads it.
fn tshark_lines(file: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args([
            "-Y",
            "udp and not icmp and not icmpv6",
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "ip.src",
            "-e",
            "ipv6.src",
            "-e",
            "udp.srcport",
        ])
        .args([
            "-e",
            "ip.dst",
            "-e",
            "ipv6.dst",
            "-e",
            "udp.dstport",
            "-e",
            "udp.payload",
        ])
        .output()
        .expect("running tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let ip = |a: &str, b: &str| {
                if a.is_empty() {
                    b.to_string()
                } else {
                    a.to_string()
                }
            };
            format!(
                "{} {} {} {} {} {}",
                f[0],
                ip(f[1], f[2]),
                f[3],
                ip(f[4], f[5]),
                f[6],
                f[7]
            )
        })
        .collect()
}

/// The same lines from udpsh's read_pcap.
fn udpsh_lines(file: &Path) -> Vec<String> {
    let script = format!(
        "for d in read_pcap({:?}) {{ print(`${{d.frame}} ${{d.src}} ${{d.dst}} ${{d.len}} ${{to_hex(d.data)}}`) }}",
        file.display().to_string()
    );
    let out = Udpsh::new(&["-e", &script]).output().success();
    out.stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let src: SocketAddr = f[1].parse().unwrap();
            let dst: SocketAddr = f[2].parse().unwrap();
            assert_eq!(
                f[3].parse::<usize>().unwrap() * 2,
                f[4].len(),
                "len is the payload's"
            );
            format!(
                "{} {} {} {} {} {}",
                f[0],
                src.ip(),
                src.port(),
                dst.ip(),
                dst.port(),
                f[4]
            )
        })
        .collect()
}

fn same_as_tshark(file: &Path, expected_datagrams: usize) {
    let ours = udpsh_lines(file);
    assert_eq!(
        ours.len(),
        expected_datagrams,
        "{}: {ours:#?}",
        file.display()
    );
    assert_eq!(ours, tshark_lines(file), "{}", file.display());
}

#[test]
fn read_pcap_reads_the_fixtures_as_tshark_does() {
    if !have("tshark") {
        return;
    }
    same_as_tshark(&fixture("capture/dnsmasq_lo.pcap"), 6);
    same_as_tshark(&fixture("capture/dnsmasq_any.pcap"), 6);
    same_as_tshark(&fixture("capture/golden.pcapng"), 6);
}

/// An exchange over IPv4 and IPv6 on UDP `port`, recorded by udpsh into `pcap`.
fn exchange(port: u16, pcap: &Path) {
    let script = r#"
        let port = var("port", 0);
        let s4 = udp("127.0.0.1", port);
        let s6 = udp("[::1]:" + port);
        let c4 = udp("127.0.0.1:0");
        let c6 = udp("[::1]:0");
        c4.sendto("over IPv4", s4.local_addr);
        let d = s4.recvfrom(100);
        s4.sendto(hex("00 ff 80 0d 0a"), d.addr);
        c4.recvfrom(100);
        c6.sendto("over IPv6 · ünïcode", s6.local_addr);
        let d = s6.recvfrom(100);
        s6.sendto(blob(1400, 0x5a), d.addr);
        c6.recvfrom(2000);
    "#;
    Udpsh::new(&["--pcap", &pcap.display().to_string(), "-e", script])
        .var("port", port)
        .output()
        .success();
}

#[test]
fn read_pcap_reads_tcpdump_and_udpsh_captures_v4_and_v6() {
    if !have("tshark") || !have("tcpdump") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (iface, link) in [("lo", "Ethernet"), ("any", "Linux cooked-mode capture v2")] {
        let port = free_port();
        let dumped = dir.path().join(format!("{iface}.pcap"));
        let ours = dir.path().join(format!("{iface}.pcapng"));
        {
            let _dump = tcpdump(iface, port, &dumped);
            exchange(port, &ours);
            std::thread::sleep(Duration::from_millis(300));
        }
        let info = Command::new("capinfos").arg("-E").arg(&dumped).output();
        if let Ok(info) = info {
            assert!(String::from_utf8_lossy(&info.stdout).contains(link));
        }
        same_as_tshark(&dumped, 4);
        same_as_tshark(&ours, 4);
        // The same datagrams, whoever wrote the file.
        let payloads = |lines: Vec<String>| -> Vec<String> {
            lines
                .iter()
                .map(|l| l.split(' ').skip(1).collect::<Vec<_>>().join(" "))
                .collect()
        };
        assert_eq!(payloads(udpsh_lines(&dumped)), payloads(udpsh_lines(&ours)));
    }
}

#[test]
fn read_pcap_filters_and_refuses_what_it_cannot_read() {
    let golden = fixture("capture/dnsmasq_lo.pcap");
    let script = format!(
        r#"let f = {:?};
        assert_eq(read_pcap(f, #{{dport: 53535}}).len(), 3);
        assert_eq(read_pcap(f, #{{sport: 53535}}).len(), 3);
        assert_eq(read_pcap(f, #{{port: "53535", src: "127.0.0.1"}}).len(), 6);
        assert_eq(read_pcap(f, #{{dst: "127.0.0.1:53535"}})[0].frame, 1);
        assert_eq(read_pcap(f)[1].comment, ());
        try {{ read_pcap(f, #{{proto: "udp"}}) }} catch (e) {{ print(e.message) }}
        try {{ read_pcap("fixtures/test.txt") }} catch (e) {{ print(e.kind + ": " + e.message) }}"#,
        golden.display().to_string()
    );
    Udpsh::new(&["-e", &script])
        .output()
        .success()
        .stdout_has("read_pcap filter has no option 'proto' (it has src, dst, sport, dport, port)")
        .stdout_has("file: cannot read capture fixtures/test.txt: not a pcap or pcapng file");
}

#[test]
fn replay_check_passes_against_the_server_and_shows_a_diff_against_a_changed_one() {
    if !have("dnsmasq") {
        return;
    }
    let lo = fixture("capture/dnsmasq_lo.pcap").display().to_string();
    let any = fixture("capture/dnsmasq_any.pcap").display().to_string();
    let port = free_port();
    let to = format!("127.0.0.1:{port}");
    {
        let _dns = dnsmasq(port, "10.1.2.3");
        for (file, speed) in [(&lo, "1"), (&any, "max")] {
            Udpsh::new(&["replay", file, "--to", &to, "--check", "--speed", speed])
                .output()
                .success()
                .stdout_has("replaying 3 requests")
                .stdout_has("#{sent: 3, replies: 3, matched: 3, mismatched: 0, missing: 0}");
        }
    }
    {
        let _dns = dnsmasq(port, "10.1.2.4");
        let out = Udpsh::new(&["replay", &lo, "--to", &to, "--check"])
            .output()
            .code(1)
            .stdout_has(
                "frame 2 (reply to frame 1) differs at byte 45 (recorded 46 bytes, live 46 bytes)",
            )
            .stdout_has("  recorded 0020  00 01 00 01 00 00 00 00 00 04 0a 01 02 03")
            .stdout_has("  live     0020  00 01 00 01 00 00 00 00 00 04 0a 01 02 04")
            .stdout_has("frame 4 (reply to frame 3) differs at byte 49")
            .stdout_has("#{sent: 3, replies: 3, matched: 1, mismatched: 2, missing: 0}");
        assert!(!out.stdout.contains("frame 6"), "the AAAA reply matched");
        // The address bytes of both A replies left out: everything else matches.
        Udpsh::new(&["replay", &lo, "--to", &to, "--check"])
            .arg("--ignore-bytes")
            .arg("42-45")
            .arg("--ignore-bytes")
            .arg("46-49")
            .output()
            .success()
            .stdout_has("matched: 3");
        // Ranges up to the last offset there is: to the end, never wrapped to nothing.
        Udpsh::new(&["replay", &lo, "--to", &to, "--check"])
            .args(["--ignore-bytes", "0-18446744073709551615"])
            .output()
            .success()
            .stdout_has("matched: 3");
        let script = format!(
            "let r = replay({lo:?}, #{{to: {to:?}, check: true, ignore: [0..=9223372036854775807]}});\n\
             assert_eq(r.matched, 3);\n\
             let r = replay({lo:?}, #{{to: {to:?}, ignore: [\"18446744073709551615\", 9223372036854775807]}});\n\
             assert_eq(r.replies, 3);"
        );
        Udpsh::eval(&script).output().success();
        // Without --check the replies are only counted.
        Udpsh::new(&["replay", &lo, "--to", &to])
            .output()
            .success()
            .stdout_has("#{sent: 3, replies: 3, matched: 0, mismatched: 0, missing: 0}");
    }
    // Nobody there: exit 3, naming the requests left unanswered.
    Udpsh::new(&["replay", &lo, "--to", &to, "--check", "--wait", "200ms"])
        .output()
        .code(3)
        .stdout_has("no reply to frame 1 (recorded: frame 2)")
        .stdout_has("missing: 3}");
}

#[test]
fn replay_usage_errors() {
    let lo = fixture("capture/dnsmasq_lo.pcap").display().to_string();
    Udpsh::new(&["replay", &lo, "--to", "127.0.0.1:9", "--speed", "fast"])
        .output()
        .code(2)
        .output_has("--speed");
    Udpsh::new(&["replay", &lo, "--to", "127.0.0.1:9", "--ignore-bytes", "x"])
        .output()
        .code(2)
        .output_has("--ignore-bytes");
    Udpsh::new(&[
        "replay",
        &lo,
        "--to",
        "127.0.0.1:9",
        "--filter",
        "proto=udp",
    ])
    .output()
    .code(2)
    .output_has("src, dst, sport, dport, port");
    Udpsh::new(&["replay", "fixtures/test.txt", "--to", "127.0.0.1:9"])
        .output()
        .code(2)
        .output_has("not a pcap or pcapng file");
    Udpsh::new(&["replay", &lo, "--to", "127.0.0.1:9", "--filter", "dport=1"])
        .output()
        .code(2)
        .output_has("no datagram of the capture is a request");
}
