//! Sockets of real networks, on loopback: what the kernel says of each datagram (TTL, TOS,
//! receive time, destination), ICMP refusals reported at once, `request` with retries and
//! `accept`, several sockets at once, one `udp()` for both families, and the hardening of
//! timeouts and options (issue 9).

use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

use crate::support::*;

/// `udpsh --timeout 10 [--var ...] -e SCRIPT`.
fn eval(script: &str) -> Udpsh {
    Udpsh::new(&["--timeout", SCRIPT_TIMEOUT, "-e", script])
}

/// A port where nothing listens (bound and released at once).
fn closed_port(v6: bool) -> SocketAddr {
    let addr = if v6 { "[::1]:0" } else { "127.0.0.1:0" };
    UdpSocket::bind(addr).unwrap().local_addr().unwrap()
}

fn has_ipv6() -> bool {
    UdpSocket::bind("[::1]:0").is_ok()
}

#[test]
fn a_receiver_sees_ttl_tos_and_destination() {
    // Script to script, and from a Rust peer that sets its own TTL and TOS.
    let peer = {
        use socket2::{Domain, Protocol, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_ttl_v4(9).unwrap();
        s.set_tos_v4(0x28).unwrap();
        s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        UdpSocket::from(s)
    };
    let port = free_port();
    let script = r#"
        let rx = udp("127.0.0.1", var("port", 0));
        rx.settimeout(5.0);
        let tx = udp();
        tx.setttl(7);
        tx.settos(0xb8);
        tx.sendto("marked", rx.local_addr);
        let d = rx.recvfrom();
        assert_eq(d.ttl, 7);
        assert_eq(d.tos, 0xb8);
        assert_eq(d.dst, rx.local_addr);
        print(`script: ttl=${d.ttl} tos=${d.tos} dst=${d.dst}`);
        let d = rx.recvfrom();
        print(`peer: ttl=${d.ttl} tos=${d.tos} text=${d.text}`);
    "#;
    let mut run = eval(script).var("port", port).spawn();
    // Only after the script's own datagram: it must be the first one received.
    run.wait_stdout("script: ");
    peer.send_to(b"from rust", loopback(port)).unwrap();
    run.finish()
        .success()
        .stdout_has(&format!("script: ttl=7 tos=184 dst=127.0.0.1:{port}"))
        .stdout_has("peer: ttl=9 tos=40 text=from rust");
}

#[test]
fn a_backlog_keeps_its_kernel_receive_times_in_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("backlog.pcap");
    let port = free_port();
    // The script binds, then sleeps while the test sends five datagrams 30 ms apart.
    let script = r#"
        let rx = udp("127.0.0.1", var("port", 0));
        rx.settimeout(5.0);
        sleep(0.6);
        let read = now();
        let times = [];
        for i in 0..5 {
            let d = rx.recvfrom();
            assert(d.time < read - 0.2, `datagram ${i} stamped ${d.time}, read at ${read}`);
            times.push(d.time);
        }
        assert(times[4] - times[0] > 0.08, `spread ${times[4] - times[0]}`);
        print(`spread ${times[4] - times[0]}`);
    "#;
    let run = eval(script)
        .var("port", port)
        .arg("--pcap")
        .arg(pcap.display())
        .spawn();
    wait_bound(port);
    let peer = Peer::new();
    for i in 0..5 {
        peer.send_to(format!("old {i}"), loopback(port));
        thread::sleep(Duration::from_millis(30));
    }
    run.finish().success().stdout_has("spread 0.1");
    let file = std::fs::File::open(&pcap).unwrap();
    let mut reader = pcap_file::pcap::PcapReader::new(file).unwrap();
    let mut stamps = Vec::new();
    while let Some(pkt) = reader.next_packet() {
        stamps.push(pkt.unwrap().timestamp());
    }
    assert_eq!(stamps.len(), 5);
    let spread = stamps[4] - stamps[0];
    assert!(
        spread > Duration::from_millis(80) && spread < Duration::from_millis(500),
        "the capture shows the arrivals, not one burst at the read: {spread:?}"
    );
}

#[test]
fn refused_within_100_ms_connected_or_not_v4_and_v6() {
    let families: &[bool] = if has_ipv6() { &[false, true] } else { &[false] };
    for &v6 in families {
        let to = closed_port(v6);
        let script = r#"
            let to = var("to", "");
            for connected in [false, true] {
                let s = udp();
                s.settimeout(5.0);
                if connected { s.connect(to); s.send("ping"); } else { s.sendto("ping", to); }
                let t = now();
                let kind = ();
                try { s.recvfrom(64); } catch (e) { kind = e.kind; print(e.message); }
                let took = now() - t;
                assert_eq(kind, "refused");
                assert(took < 0.1, `refused after ${took} s`);
                print(`connected=${connected} refused in ${took * 1000.0} ms`);
            }
            let r = udp();
            try { r.request("q", to, #{timeout: 2.0, retries: 3}); } catch (e) { print(`request: ${e.kind}`); }
        "#;
        let out = eval(script).var("to", to).output().success();
        let out = out
            .stdout_has(&format!("{to} refused the datagram"))
            .stdout_has("connected=false refused in")
            .stdout_has("connected=true refused in")
            .stdout_has("request: refused");
        assert!(out.elapsed < Duration::from_secs(2), "{:?}", out.elapsed);
        for line in out.stdout.lines().filter(|l| l.contains(" ms")) {
            eprintln!("{to}: {line}");
        }
    }
}

#[test]
fn request_resends_until_the_peer_answers_and_skips_rejected_replies() {
    let peer = Peer::new();
    let addr = peer.addr();
    let server = thread::spawn(move || {
        // Drops the first two requests; to the third sends a stray reply, then the right one.
        let mut seen = Vec::new();
        for _ in 0..3 {
            let (data, from) = peer.recv();
            seen.push(data.clone());
            if seen.len() == 3 {
                peer.send_to(b"XX stray", from);
                let mut reply = data[..2].to_vec();
                reply.extend_from_slice(b" answer");
                peer.send_to(reply, from);
            }
        }
        // the peer stays open (in the thread's result) for the request that times out
        (seen, peer)
    });
    let script = r#"
        let c = udp();
        let q = "ab question";
        let r = c.request(q, var("server", ""), #{timeout: 0.3, retries: 3,
                                                  accept: |d| d.text.sub_string(0, 2) == "ab"});
        assert_eq(r.text, "ab answer");
        assert_eq(r.tries, 3);
        assert(r.rtt > 0.0 && r.rtt < 0.3, `rtt ${r.rtt}`);
        print(`tries=${r.tries} rtt=${r.rtt}`);
        try {
            c.request(q, var("server", ""), #{timeout: 0.1, retries: 1});
        } catch (e) { print(`${e.kind}: ${e.message}`); }
        try { c.request(q, var("server", ""), #{retry: 1}); } catch (e) { print(e.message); }
    "#;
    let out = eval(script).var("server", addr).output().success();
    let (seen, _peer) = server.join().unwrap();
    assert_eq!(seen, vec![b"ab question".to_vec(); 3]);
    out.stdout_has("tries=3 rtt=")
        .stdout_has(&format!(
            "timeout: no reply from {addr} after 2 tries (0.1s each), waiting on 0.0.0.0:"
        ))
        .stdout_has("this socket last sent 11 bytes to")
        .stdout_has("request has no option 'retry' (it has timeout, retries, accept)");
}

#[test]
fn select_and_recv_any_see_either_socket() {
    let (pa, pb) = (free_port(), free_port());
    let script = r#"
        let a = udp("127.0.0.1", var("a", 0));
        let b = udp("127.0.0.1", var("b", 0));
        assert_eq(select([a, b], 0.05), []);
        let ready = select([a, b], 5.0);
        assert_eq(ready.len(), 1);
        print(`ready: ${ready[0].port == b.port}`);
        let d = recv_any([a, b], 5.0);
        print(`first: ${d.text} on b=${d.sock.port == b.port}`);
        let d = recv_any([a, b], 5.0);
        print(`second: ${d.text} on a=${d.sock.port == a.port}`);
        d.sock.sendto("ack", d.addr);
        try { recv_any([a, b], 0.1); } catch (e) { print(`then: ${e.kind}`); }
        try { select([a, 5], 0.1); } catch (e) { print(e.message); }
    "#;
    let run = eval(script).var("a", pa).var("b", pb).spawn();
    wait_bound(pa);
    wait_bound(pb);
    thread::sleep(Duration::from_millis(150));
    let peer = Peer::new();
    peer.send_to("to b", loopback(pb));
    thread::sleep(Duration::from_millis(100));
    peer.send_to("to a", loopback(pa));
    let (ack, from) = peer.recv();
    assert_eq!((ack.as_slice(), from.port()), (&b"ack"[..], pa));
    run.finish()
        .success()
        .stdout_has("ready: true")
        .stdout_has("first: to b on b=true")
        .stdout_has("second: to a on a=true")
        .stdout_has("then: timeout")
        .stdout_has("select: item 1 is not a socket (integer)");
}

#[test]
fn one_unbound_socket_reaches_ipv4_and_ipv6() {
    if !has_ipv6() {
        eprintln!("note: no IPv6 loopback, skipping");
        return;
    }
    let script = r#"
        let v4 = udp("127.0.0.1:0");
        let v6 = udp("[::1]:0");
        v4.settimeout(2.0); v6.settimeout(2.0);
        let s = udp();
        s.settimeout(2.0);
        s.sendto("six", v6.local_addr);
        s.sendto("four", v4.local_addr);
        let d6 = v6.recvfrom();
        let d4 = v4.recvfrom();
        d4.sock.sendto("back", d4.addr);
        d6.sock.sendto("back6", d6.addr);
        print(`v6 from ${d6.addr}; v4 from ${d4.addr}`);
        let r = [s.recvfrom().addr, s.recvfrom().addr];
        print(`replies from ${r}`);
    "#;
    let out = eval(script).output().success();
    assert!(out.stdout.contains("v4 from 127.0.0.1:"), "{}", out.stdout);
    assert!(!out.stdout.contains("::ffff:"), "{}", out.stdout);
}

#[test]
fn huge_timeouts_never_panic_and_bad_ones_are_value_errors() {
    for call in [
        "s.settimeout(1e19); s.recvfrom()",
        "s.collect(1e19)",
        "s.collect(1e300)",
    ] {
        let script = format!("let s = udp(\"127.0.0.1:0\"); {call};");
        let out = Udpsh::new(&["--timeout", "0.5", "-e", &script]).output();
        let out = out.code(3).output_has("--timeout of 0.5s reached");
        assert!(!out.stderr.contains("panicked"), "{call}: {}", out.stderr);
    }
    let script = r#"
        let s = udp("127.0.0.1:0");
        for bad in [-1.0, 0.0 / 0.0] {
            try { s.settimeout(bad); } catch (e) { print(`${bad}: ${e.kind}`); }
        }
        try { s.collect(#{count: 1, timout: 1}); } catch (e) { print(e.message); }
        s.settimeout(0.2);
        let t = now();
        let got = s.collect(#{count: 3});
        print(`count alone: ${got.len()} after ${now() - t}`);
        s.close();
        for f in [|| s.settimeout(1.0), || s.setbroadcast(true)] {
            try { f.call(); } catch (e) { print(`closed: ${e.kind}`); }
        }
    "#;
    let out = eval(script).output().success();
    out.stdout_has("-1.0: value")
        .stdout_has("NaN: value")
        .stdout_has("collect has no option 'timout' (it has count, timeout)")
        .stdout_has("count alone: 0 after 0.2")
        .stdout_has("closed: closed\nclosed: closed");
}

#[test]
fn verbose_shows_the_real_sender_and_length() {
    let peer = Peer::new();
    let script = r#"
        let s = udp();
        s.settimeout(2.0);
        s.sendto("hello", var("peer", ""));
        let d = s.recvfrom(10);
        assert_eq(d.len, 100);
    "#;
    let run = Udpsh::new(&["-v", "--timeout", SCRIPT_TIMEOUT, "-e", script])
        .var("peer", peer.addr())
        .spawn();
    let (_, from) = peer.recv();
    peer.send_to([b'x'; 100], from);
    let out = run
        .finish()
        .success()
        .stdout_has(&format!("→ 127.0.0.1:{} > {}", from.port(), peer.addr()))
        .stdout_has("100 bytes (truncated to 10)");
    assert!(!out.stdout.contains("0.0.0.0"), "{}", out.stdout);
}

#[test]
fn a_timeout_names_the_socket_and_what_it_last_sent() {
    let to = Peer::new();
    let script = r#"
        let s = udp();
        s.settimeout(0.1);
        s.sendto("ping?", var("to", ""));
        s.recvfrom();
    "#;
    eval(script)
        .var("to", to.addr())
        .output()
        .code(3)
        .output_has("timed out after 0.1s waiting for a datagram on 0.0.0.0:")
        .output_has(&format!(
            "this socket last sent 5 bytes to {} (line 4)",
            to.addr()
        ));
}

#[test]
fn close_frees_the_port_at_once_even_while_a_thread_waits_on_it() {
    eval(
        r#"
        let a = udp("127.0.0.1:0");
        let port = a.port;
        let waiting = spawn(|| {
            let how = "got one";
            try { a.recvfrom(10); } catch (e) { how = e.kind; }
            how
        });
        sleep(0.2);
        a.close();
        assert_eq(waiting.join(), "closed");
        let b = udp("127.0.0.1", port);          // as Python: the port is free again
        assert_eq(b.port, port);
        try { a.sendto("x", b.local_addr); assert(false) } catch (e) { assert_eq(e.kind, "closed") }
    "#,
    )
    .output()
    .success();
}
