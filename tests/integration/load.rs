//! `s.blast(...)`, `s.collect(...)` and `s.drops`, driven through the binary with `-e`:
//! blasts send exactly their count, paced blasts keep their rate (on the kernel's arrival
//! timestamps), collect returns what arrived, drops are counted when a receive buffer
//! overflows, and blasts are recorded like sends. Loopback only, ports picked by the OS, every
//! run bounded by `--timeout`. No test asserts a duration of its own.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::Duration;

use crate::support::*;

/// Every run gets this `--timeout`, so a bug cannot hang the suite.
const LIMIT: &str = "30";

/// `udpsh --timeout 30 -e SCRIPT EXTRA...` passes; returns its stdout.
#[track_caller]
fn passes(script: &str, extra: &[&str]) -> String {
    Udpsh::eval(script)
        .timeout(LIMIT)
        .args(extra)
        .output()
        .success()
        .stdout
}

/// A receive buffer as large as the kernel allows (SO_RCVBUFFORCE as root).
pub(crate) fn big_buffer(sock: &UdpSocket) {
    let size: libc::c_int = 16 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt with an int on our own socket.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
}

/// The kernel's count of datagrams dropped at `sock` (SO_MEMINFO).
fn kernel_drops(sock: &UdpSocket) -> u64 {
    let mut info = [0u32; libc::SK_MEMINFO_DROPS as usize + 1];
    let mut len = size_of_val(&info) as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into `info`.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "SO_MEMINFO");
    u64::from(info[libc::SK_MEMINFO_DROPS as usize])
}

/// Receives on `sock` until `want` datagrams came or nothing came for a second; returns the
/// payloads.
fn drain(sock: &UdpSocket, want: usize) -> Vec<Vec<u8>> {
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while got.len() < want {
        match sock.recv(&mut buf) {
            Ok(n) => got.push(buf[..n].to_vec()),
            Err(_) => break,
        }
    }
    got
}

#[test]
fn blast_sends_exactly_count() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    big_buffer(&rx);
    let addr = rx.local_addr().unwrap();
    let count = 5000;
    let reader = thread::spawn(move || {
        let got = drain(&rx, count);
        (got, kernel_drops(&rx))
    });
    let out = passes(
        &format!(
            r#"let c = udp("127.0.0.1:0");
               let r = c.blast("load-test", "{addr}", {count});
               assert_eq(r.count, {count});
               assert_eq(r.bytes, {count} * 9);
               assert(r.seconds > 0.0 && r.rate > 0.0 && r.bps > 0.0, `${{r}}`);
               assert_eq(r.recorded, 0);
               print(`count ${{r.count}}`);"#
        ),
        &[],
    );
    assert!(out.contains(&format!("count {count}")), "{out}");
    let (got, dropped) = reader.join().unwrap();
    assert!(got.iter().all(|d| d == b"load-test"));
    // Every datagram arrived, or the kernel says it dropped it at the socket.
    assert_eq!(
        got.len() as u64 + dropped,
        count as u64,
        "{dropped} dropped"
    );
    assert!(!got.is_empty());
}

#[test]
fn blast_with_small_batches_and_blob_payload() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    big_buffer(&rx);
    let addr = rx.local_addr().unwrap();
    let reader = thread::spawn(move || drain(&rx, 7));
    passes(
        &format!(
            r#"let c = udp();
               let r = c.blast(hex("00 01 02"), "{addr}", 7, #{{batch: 3}});
               assert_eq(r.count, 7);"#
        ),
        &[],
    );
    let got = reader.join().unwrap();
    assert_eq!(got, vec![vec![0u8, 1, 2]; 7]);
}

/// Kernel receive timestamps (SO_TIMESTAMPNS) of up to `want` datagrams, so the measured pace
/// is the sender's, not this thread's wake-ups.
fn arrival_times(sock: &UdpSocket, want: usize) -> Vec<f64> {
    use nix::sys::socket::{
        ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
    };
    setsockopt(sock, sockopt::ReceiveTimestampns, &true).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut times = Vec::new();
    let mut buf = [0u8; 2048];
    while times.len() < want {
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let Ok(msg) = recvmsg::<SockaddrStorage>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        ) else {
            break;
        };
        for c in msg.cmsgs().unwrap() {
            if let ControlMessageOwned::ScmTimestampns(t) = c {
                times.push(t.tv_sec() as f64 + t.tv_nsec() as f64 * 1e-9);
            }
        }
    }
    times
}

#[test]
fn paced_blast_keeps_its_rate() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    big_buffer(&rx);
    let addr = rx.local_addr().unwrap();
    let (rate, count) = (2000.0, 2000);
    let reader = thread::spawn(move || arrival_times(&rx, count));
    passes(
        &format!(
            r#"let c = udp("127.0.0.1:0");
               let r = c.blast("tick", "{addr}", {count}, #{{rate: {rate}}});
               assert_eq(r.count, {count});
               print(r);"#
        ),
        &[],
    );
    let times = reader.join().unwrap();
    assert_eq!(times.len(), count, "every datagram arrived");
    let span = times[count - 1] - times[0];
    let achieved = (count - 1) as f64 / span;
    assert!(
        (achieved / rate - 1.0).abs() < 0.05,
        "{achieved:.1}/s for {rate}/s"
    );
    // Spread evenly, not sent in bursts: each quarter of the run holds a quarter of them.
    for q in 0..4 {
        let from = times[0] + span * q as f64 / 4.0;
        let to = from + span / 4.0;
        let n = times.iter().filter(|&&t| t >= from && t < to).count();
        assert!(
            (n as f64 - count as f64 / 4.0).abs() < count as f64 * 0.05,
            "quarter {q}: {n} datagrams"
        );
    }
}

#[test]
fn blast_paced_in_bits_per_second() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    big_buffer(&rx);
    let addr = rx.local_addr().unwrap();
    // 100 bytes at 80,000 bit/s: 100 datagrams/s.
    let reader = thread::spawn(move || arrival_times(&rx, 30));
    passes(
        &format!(
            r#"let c = udp("127.0.0.1:0");
               let r = c.blast(blob(100, 7), "{addr}", 30, #{{bps: 80000}});
               assert_eq(r.count, 30);"#
        ),
        &[],
    );
    let times = reader.join().unwrap();
    assert_eq!(times.len(), 30);
    let achieved = 29.0 / (times[29] - times[0]);
    // Paced, not as fast as possible (that would be thousands a second); loose, as a shared
    // machine delays single sends.
    assert!((achieved / 100.0 - 1.0).abs() < 0.25, "{achieved:.1}/s");
}

#[test]
fn collect_returns_what_arrived() {
    passes(
        r#"let r = udp("127.0.0.1:0");
           let c = udp("127.0.0.1:0");
           for i in 0..50 { c.sendto(`msg ${i}`, r.local_addr); }
           let got = r.collect(#{count: 50, timeout: 5.0});
           assert_eq(got.len(), 50);
           for i in 0..50 {
               assert_eq(got[i].text, `msg ${i}`);
               assert_eq(got[i].addr, c.local_addr);
           }
           // A count stops early; the rest stays for the next call.
           for i in 0..10 { c.sendto(`more ${i}`, r.local_addr); }
           let five = r.collect(#{count: 5, timeout: 5.0});
           assert_eq(five.len(), 5);
           assert_eq(five[4].text, "more 4");
           let rest = r.collect(0.3);
           assert_eq(rest.len(), 5);
           assert_eq(rest[0].text, "more 5");
           // Nothing arrives: an empty array once the window is over.
           assert_eq(r.collect(0.1).len(), 0);
           assert_eq(r.drops, 0);"#,
        &[],
    );
}

#[test]
fn collect_gets_a_blast_from_outside() {
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let from = tx.local_addr().unwrap();
    let port = {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    // Send until the script's socket is bound and has collected them all.
    let sender = thread::spawn(move || {
        for round in 0..200 {
            for i in 0..20 {
                let _ = tx.send_to(format!("{round}:{i}").as_bytes(), to);
            }
            thread::sleep(Duration::from_millis(20));
        }
    });
    let out = passes(
        &format!(
            r#"let r = udp("127.0.0.1:{port}");
               let got = r.collect(#{{count: 100, timeout: 10.0}});
               assert_eq(got.len(), 100);
               assert_eq(got[0].addr, "{from}");
               print("collected");"#
        ),
        &[],
    );
    assert!(out.contains("collected"));
    drop(sender);
}

#[test]
fn drops_are_counted_when_the_buffer_overflows() {
    passes(
        r#"let r = udp("127.0.0.1:0");
           let c = udp("127.0.0.1:0");
           assert_eq(r.drops, 0);
           // Far more than a default receive buffer holds, with nobody reading.
           let sent = c.blast(blob(64, 1), r.local_addr, 20000).count;
           let got = r.collect(0.5);
           assert(r.drops > 0, "some were dropped");
           assert(got.len() > 0, "some arrived");
           assert_eq(got.len() + r.drops, sent);
           // Drops count from the socket's creation: a later quiet exchange adds none.
           let before = r.drops;
           c.blast("after", r.local_addr, 10);
           let after = r.collect(#{count: 10, timeout: 5.0});
           assert_eq(after.len(), 10);
           assert_eq(r.drops, before);"#,
        &[],
    );
}

#[test]
fn blast_options_are_checked() {
    passes(
        r#"fn kind(f) {
               try { f.call(); return "none"; } catch (e) { return e.kind; }
           }
           let c = udp("127.0.0.1:0");
           let addr = "127.0.0.1:9";
           assert_eq(kind(|| c.blast("x", addr, 1, #{rte: 5})), "value");
           assert_eq(kind(|| c.blast("x", addr, -1)), "value");
           assert_eq(kind(|| c.blast("x", addr, 1, #{rate: 0})), "value");
           assert_eq(kind(|| c.blast("x", addr, 1, #{rate: 10, bps: 10})), "value");
           assert_eq(kind(|| c.blast("", addr, 1, #{bps: 1000})), "value");
           assert_eq(kind(|| c.blast("x", addr, 1, #{batch: 0})), "value");
           assert_eq(kind(|| c.blast("x", addr, 1, #{sample: -2})), "value");
           assert_eq(kind(|| c.blast(blob(65508), addr, 1)), "oversize");
           assert_eq(kind(|| c.blast("x", "nowhere", 1)), "address");
           assert_eq(kind(|| c.blast("x", "127.255.255.255:9", 1)), "permission denied");
           let none = c.blast("x", addr, 0);
           assert_eq(none.count, 0);
           assert_eq(none.bytes, 0);
           c.close();
           assert_eq(kind(|| c.blast("x", addr, 1)), "closed");"#,
        &[],
    );
}

#[test]
fn a_blast_stops_at_the_timeout() {
    Udpsh::eval(
        r#"let c = udp("127.0.0.1:0"); c.blast("x", "127.0.0.1:9", 1000000000, #{rate: 100});"#,
    )
    .timeout("0.5")
    .output()
    .code(3)
    .stderr_has("--timeout");
}

/// Records of a classic pcap file: (UDP destination port, payload).
fn pcap_records(path: &std::path::Path) -> Vec<(u16, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= bytes.len() {
        let caplen = u32::from_ne_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &bytes[at + 16..at + 16 + caplen];
        // Ethernet (14) + IPv4 (20) + UDP (8).
        let port = u16::from_be_bytes([frame[36], frame[37]]);
        out.push((port, frame[42..].to_vec()));
        at += 16 + caplen;
    }
    out
}

#[test]
fn blasts_are_recorded_like_sends() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.pcap");
    let sampled = dir.path().join("sampled.pcap");
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    big_buffer(&rx);
    let addr = rx.local_addr().unwrap();
    let script = |sample: &str| {
        format!(
            r#"let c = udp("127.0.0.1:0");
               let r = c.blast("rec", "{addr}", 100{sample});
               print(`recorded ${{r.recorded}}`);"#
        )
    };
    let out = passes(&script(""), &["--pcap", all.to_str().unwrap()]);
    assert!(out.contains("recorded 100"), "{out}");
    let out = passes(
        &script(", #{sample: 10}"),
        &["--pcap", sampled.to_str().unwrap()],
    );
    assert!(out.contains("recorded 10"), "{out}");
    let records = pcap_records(&all);
    assert_eq!(records.len(), 100);
    assert!(
        records
            .iter()
            .all(|(port, data)| *port == addr.port() && data == b"rec")
    );
    assert_eq!(pcap_records(&sampled).len(), 10);
    // None recorded with sample 0, and still all sent.
    let none = dir.path().join("none.pcap");
    let out = passes(
        &format!(
            r#"let c = udp("127.0.0.1:0");
               let r = c.blast("rec", "{addr}", 50, #{{sample: 0}});
               assert_eq(r.count, 50);
               assert_eq(r.recorded, 0);"#
        ),
        &["--pcap", none.to_str().unwrap()],
    );
    let _ = out;
    assert_eq!(pcap_records(&none).len(), 0);
}
