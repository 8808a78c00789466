//! The proxy thread with real sockets on loopback (counts and order, no timing asserts).

use std::net::UdpSocket;
use std::thread;

use super::*;
use crate::capture::{Filter, read_pcap};

/// An echo server on loopback that answers until `count` datagrams, then returns the
/// source addresses it saw.
fn echo_server(count: usize) -> (SocketAddr, thread::JoinHandle<Vec<SocketAddr>>) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let addr = s.local_addr().unwrap();
    let t = thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        for _ in 0..count {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                break;
            };
            seen.push(from);
            let _ = s.send_to(&buf[..n], from);
        }
        seen
    });
    (addr, t)
}

fn client() -> UdpSocket {
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c
}

fn recv(c: &UdpSocket) -> Vec<u8> {
    let mut buf = [0u8; 2048];
    let (n, _) = c.recv_from(&mut buf).expect("a reply");
    buf[..n].to_vec()
}

fn nothing(c: &UdpSocket) {
    c.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(c.recv_from(&mut buf).is_err(), "unexpected datagram");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
}

#[test]
fn forwards_both_ways_and_counts() {
    let (server, t) = echo_server(10);
    let p = Proxy::start(Options::new(server)).unwrap();
    let c = client();
    for i in 0..10 {
        let msg = format!("ping {i}");
        c.send_to(msg.as_bytes(), p.addr()).unwrap();
        assert_eq!(recv(&c), msg.as_bytes());
    }
    let s = p.close();
    assert_eq!((s.up.received, s.up.forwarded), (10, 10));
    assert_eq!((s.down.received, s.down.forwarded), (10, 10));
    assert_eq!(s.clients, 1);
    // The server saw the proxy's upstream socket, never the client.
    let seen = t.join().unwrap();
    assert!(
        seen.iter()
            .all(|a| *a == seen[0] && a.port() != c.local_addr().unwrap().port())
    );
}

#[test]
fn each_client_gets_its_own_upstream_socket() {
    let (server, t) = echo_server(2);
    let p = Proxy::start(Options::new(server)).unwrap();
    let (a, b) = (client(), client());
    a.send_to(b"a", p.addr()).unwrap();
    b.send_to(b"b", p.addr()).unwrap();
    assert_eq!(recv(&a), b"a");
    assert_eq!(recv(&b), b"b");
    let seen = t.join().unwrap();
    assert_ne!(seen[0], seen[1]);
    assert_eq!(p.stats().clients, 2);
}

#[test]
fn an_outage_with_set_is_exact() {
    let (server, _t) = echo_server(2);
    let p = Proxy::start(Options::new(server)).unwrap();
    let c = client();
    c.send_to(b"before", p.addr()).unwrap();
    assert_eq!(recv(&c), b"before");
    let outage = Settings::both(Impairment {
        loss: 1.0,
        ..Impairment::default()
    });
    p.set(outage, None).unwrap();
    for _ in 0..5 {
        c.send_to(b"lost", p.addr()).unwrap();
    }
    // Sent before set(): met the outage, whenever the thread read them.
    p.set(Settings::default(), None).unwrap();
    nothing(&c);
    c.send_to(b"after", p.addr()).unwrap();
    assert_eq!(recv(&c), b"after");
    let s = p.stats();
    assert_eq!((s.up.received, s.up.forwarded, s.up.dropped), (7, 2, 5));
    assert_eq!(p.settings(), Settings::default());
}

#[test]
fn closing_sends_what_is_still_delayed() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let slow = Settings::both(Impairment {
        delay: Duration::from_secs(30),
        ..Impairment::default()
    });
    let mut opts = Options::new(server.local_addr().unwrap());
    opts.settings = slow;
    let p = Proxy::start(opts).unwrap();
    let c = client();
    for i in 0..3u8 {
        c.send_to(&[i], p.addr()).unwrap();
    }
    let s = p.close();
    assert_eq!((s.up.forwarded, s.up.queued, s.up.delayed), (3, 0, 3));
    for i in 0..3u8 {
        assert_eq!(recv(&server), [i], "in order, none lost");
    }
    assert!(p.set(Settings::default(), None).is_err(), "closed");
    assert_eq!(p.stats(), s, "the final counts stay");
}

#[test]
fn ends_with_its_owner() {
    let stop = Arc::new(Stop::new(None));
    let mut opts = Options::new("127.0.0.1:9".parse().unwrap());
    opts.stop = Some(stop.clone());
    let p = Proxy::start(opts).unwrap();
    assert!(!p.is_closed());
    stop.finish();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !p.is_closed() && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(p.is_closed());
}

#[test]
fn records_both_legs_and_says_what_was_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxy.pcapng");
    let (server, _t) = echo_server(1);
    let mut opts = Options::new(server);
    opts.recording = Some(Recording {
        recorder: Recorder::create(&path).unwrap(),
        local: None,
    });
    let p = Proxy::start(opts).unwrap();
    let c = client();
    c.send_to(b"kept", p.addr()).unwrap();
    assert_eq!(recv(&c), b"kept");
    p.set(
        Settings::both(Impairment {
            loss: 1.0,
            ..Impairment::default()
        }),
        None,
    )
    .unwrap();
    c.send_to(b"gone", p.addr()).unwrap();
    p.close();
    let got = read_pcap(&path, &Filter::default()).unwrap().datagrams;
    let legs: Vec<(&[u8], Option<&str>)> = got
        .iter()
        .map(|d| (&d.data[..], d.comment.as_deref()))
        .collect();
    assert_eq!(
        legs,
        [
            (&b"kept"[..], None),
            (b"kept", Some("proxy up")),
            (b"kept", None),
            (b"kept", Some("proxy down")),
            (b"gone", Some("dropped by proxy (loss)")),
        ]
    );
    assert_eq!(got[0].dst, p.addr());
    assert_eq!(got[1].dst, server);
    assert_eq!(got[3].dst, c.local_addr().unwrap());
}
