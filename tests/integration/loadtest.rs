//! `load()` and `udpsh load`, driven through the binary against a test peer written here (a
//! thread that delays, drops, duplicates, answers late and badly, and stalls, by the request
//! index udpsh stamps into each request) and against the real daemons (dnsmasq, coap-server,
//! coturn). What is checked is correctness, not speed: the counts add up exactly, latency is
//! measured from the due time (no coordinated omission), a paused sender shows in `behind`,
//! segments together send exactly one run's schedule and merge into its counts. Short runs at
//! modest rates; timing margins are wide (the machine is shared), the checks are not loosened.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::load::big_buffer;
use crate::protocols::{coap_server, dnsmasq, turnserver};
use crate::support::*;

/// What the peer does with request `i` (the index in its first 8 bytes).
#[derive(Clone, Copy, PartialEq)]
enum Act {
    Echo,
    Drop,
    Twice,
    /// Answer this long after it came.
    Late(Duration),
    /// Answer with byte 8 changed to `!`.
    Bad,
}

struct TestPeer {
    addr: SocketAddr,
    /// The index of every request that came, in order.
    seen: Arc<Mutex<Vec<u64>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How the peer answers: after `delay`, as `act` says; during a stall (the last `length` of
/// every `period` from the first request) every answer waits for the stall's end.
#[derive(Clone, Copy)]
struct Behaviour {
    delay: Duration,
    act: fn(u64) -> Act,
    stall: Option<(Duration, Duration)>,
    /// Send one reply that answers nothing, with the first.
    stray: bool,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour {
            delay: Duration::ZERO,
            act: |_| Act::Echo,
            stall: None,
            stray: false,
        }
    }
}

impl TestPeer {
    fn start(b: Behaviour) -> TestPeer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        big_buffer(&sock);
        let addr = sock.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (seen.clone(), stop.clone());
        let thread = thread::spawn(move || serve(&sock, b, &s, &st));
        TestPeer {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<u64> {
        let mut all = self.seen.lock().unwrap().clone();
        all.sort();
        all
    }

    fn forget(&self) {
        self.seen.lock().unwrap().clear();
    }
}

impl Drop for TestPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A reply waiting for its time: (when, order of arrival, data, to).
type Queued = (Instant, u64, Vec<u8>, SocketAddr);

fn serve(sock: &UdpSocket, b: Behaviour, seen: &Mutex<Vec<u64>>, stop: &AtomicBool) {
    let mut queue: BinaryHeap<Reverse<Queued>> = BinaryHeap::new();
    let mut first: Option<Instant> = None;
    let mut order = 0u64;
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while queue.peek().is_some_and(|Reverse(r)| r.0 <= now) {
            let Reverse((_, _, data, to)) = queue.pop().unwrap();
            let _ = sock.send_to(&data, to);
        }
        let wait = queue
            .peek()
            .map_or(Duration::from_millis(5), |Reverse(r)| {
                r.0.saturating_duration_since(now)
            })
            .clamp(Duration::from_micros(100), Duration::from_millis(5));
        sock.set_read_timeout(Some(wait)).unwrap();
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let now = Instant::now();
        let start = *first.get_or_insert(now);
        let data = buf[..n].to_vec();
        let i = data
            .get(..8)
            .map_or(0, |b| u64::from_be_bytes(b.try_into().unwrap()));
        seen.lock().unwrap().push(i);
        if b.stray && order == 0 {
            let _ = sock.send_to(&u64::MAX.to_be_bytes(), from);
        }
        let mut at = now + b.delay;
        if let Some((period, length)) = b.stall {
            let into = (now - start).as_secs_f64() % period.as_secs_f64();
            let stall_from = (period - length).as_secs_f64();
            if into >= stall_from {
                at = at.max(now + Duration::from_secs_f64(period.as_secs_f64() - into));
            }
        }
        let mut push = |when: Instant, data: Vec<u8>| {
            order += 1;
            queue.push(Reverse((when, order, data, from)));
        };
        match (b.act)(i) {
            Act::Echo => push(at, data),
            Act::Drop => order += 1,
            Act::Twice => {
                push(at, data.clone());
                push(at, data);
            }
            Act::Late(after) => push(now + after, data),
            Act::Bad => {
                let mut bad = data;
                if bad.len() > 8 {
                    bad[8] = b'!';
                }
                push(at, bad)
            }
        }
    }
}

/// A request of 8 index bytes (udpsh stamps the index there) and a word.
const PAYLOAD: &str = "00 00 00 00 00 00 00 00 70 69 6e 67";

/// `udpsh load --to ADDR --payload PAYLOAD --pair bytes:0-7 --json result.json EXTRA...`.
fn load(to: SocketAddr, extra: &[&str]) -> Udpsh {
    let mut u = Udpsh::new(&["load", "--to", &to.to_string(), "--payload", PAYLOAD]);
    let json = u.path("result.json");
    u.args(["--pair", "bytes:0-7", "--json"])
        .arg(json.display())
        .args(extra)
}

fn json(out: &Output, name: &str) -> Value {
    let text = std::fs::read_to_string(out.path(name))
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}", out.dump()));
    serde_json::from_str(&text).unwrap()
}

fn num(v: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(v, |v, key| &v[key])
        .as_f64()
        .unwrap_or_else(|| panic!("no number at {path} in {v}"))
}

#[test]
fn every_fate_is_counted_and_the_sum_holds() {
    let peer = TestPeer::start(Behaviour {
        act: |i| match i % 10 {
            1 => Act::Drop,
            2 => Act::Twice,
            3 if i < 800 => Act::Late(Duration::from_millis(450)),
            4 => Act::Bad,
            _ => Act::Echo,
        },
        stray: true,
        ..Behaviour::default()
    });
    // 1,000 requests in 1 s, the first 100 warm-up; a reply after 300 ms is late.
    let script = format!(
        r#"let r = load("{}", #{{request: hex("{PAYLOAD}"), rate: 1000, count: 1000, warmup: 0.1,
            timeout: 0.3, pair: [0..8], check: |d| d.data[8] != 0x21}});
        print(`${{r.sent}} ${{r.received}} ${{r.lost}} ${{r.late}} ${{r.duplicate}} ${{r.bad}} ${{r.refused}} ${{r.errors}} ${{r.unmatched}}`);
        assert_eq(r.sent, r.received + r.lost);
        assert_eq(r.timeline.len(), 1);
        assert_eq(r.timeline[0].sent, 900);
        assert(r.latency.p50 > 0.0 && r.latency.p50 <= r.latency.p99 && r.latency.max < 0.3);
        r.histogram.save("h.b64");"#,
        peer.addr
    );
    let out = Udpsh::script("fates.rhai", &script).output().success();
    // 900 counted: 90 dropped, 70 late (lost too), 90 twice, 90 bad, 1 stray.
    assert_eq!(
        out.stdout.lines().next().unwrap_or_default(),
        "900 740 160 70 90 90 0 0 1",
        "sent received lost late duplicate bad refused errors unmatched"
    );
    let saved = std::fs::read_to_string(out.path("h.b64")).unwrap();
    assert!(saved.starts_with("HISTF"), "{saved}");
    // warm-up requests were sent too
    assert_eq!(peer.seen(), (0..1000).collect::<Vec<_>>());
}

#[test]
fn a_stalling_server_shows_in_the_tail_as_an_open_loop_predicts() {
    // Stalls the last second of every 5: at 1,000/s for 5 s, 1,000 of 5,000 requests wait
    // for the stall's end, 0 to 1 s; the p99 of an open loop is then 0.95 s.
    let peer = TestPeer::start(Behaviour {
        stall: Some((Duration::from_secs(5), Duration::from_secs(1))),
        ..Behaviour::default()
    });
    let out = load(
        peer.addr,
        &["--rate", "1000", "--duration", "5s", "--timeout", "2s"],
    )
    .output()
    .success();
    let r = json(&out, "result.json");
    assert_eq!(
        (num(&r, "sent"), num(&r, "lost")),
        (5000.0, 0.0),
        "{}",
        out.dump()
    );
    let p99 = num(&r, "latency.p99");
    assert!(
        (p99 - 0.95).abs() <= 0.095,
        "p99 {p99} s, not within 10% of 0.95 s"
    );
    // the sender kept its schedule: the stall is the server's, and service shows it too
    assert!(num(&r, "behind") < 0.2, "{r}");
    assert!(num(&r, "service.p99") > 0.8);
}

#[test]
fn a_paused_sender_keeps_the_wait_in_latency_not_in_service() {
    let peer = TestPeer::start(Behaviour::default());
    let running = load(peer.addr, &["--rate", "1000", "--duration", "2s"]).spawn();
    thread::sleep(Duration::from_millis(700));
    running.signal(libc::SIGSTOP);
    thread::sleep(Duration::from_millis(500));
    running.signal(libc::SIGCONT);
    let out = running.finish().success();
    let r = json(&out, "result.json");
    let behind = num(&r, "behind");
    assert!((0.45..0.8).contains(&behind), "behind {behind}: {r}");
    assert!(num(&r, "latency.max") >= 0.45, "{r}");
    assert!(num(&r, "service.max") < 0.2, "{r}");
    assert_eq!((num(&r, "sent"), num(&r, "received")), (2000.0, 2000.0));
}

#[test]
fn segments_send_exactly_the_schedule_of_one_run_and_merge_into_it() {
    let peer = TestPeer::start(Behaviour {
        delay: Duration::from_millis(2),
        ..Behaviour::default()
    });
    let every: Vec<u64> = (0..3000).collect();
    let args = ["--rate", "1500", "--count", "3000", "--timeout", "500ms"];
    let one = load(peer.addr, &args).output().success();
    assert_eq!(peer.seen(), every);
    peer.forget();
    let segments: Vec<Running> = (0..3)
        .map(|i| {
            let segment = format!("{i}/3");
            load(peer.addr, &args).args(["--segment", &segment]).spawn()
        })
        .collect();
    let outs: Vec<Output> = segments.into_iter().map(|r| r.finish().success()).collect();
    assert_eq!(peer.seen(), every, "each request of the schedule once");
    let parts: Vec<Value> = outs.iter().map(|o| json(o, "result.json")).collect();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(num(p, "sent"), 1000.0);
        assert_eq!(p["segment"], format!("{i}/3"));
    }
    let mut merge = Udpsh::new(&["load", "merge"]);
    let merged_path = merge.path("merged.json");
    let files: Vec<String> = outs
        .iter()
        .map(|o| o.path("result.json").display().to_string())
        .collect();
    let out = merge
        .args(&files)
        .arg("--json")
        .arg(merged_path.display())
        .output()
        .success()
        .stdout_has("udpsh load merge: 3 results");
    let merged = json(&out, "merged.json");
    let single = json(&one, "result.json");
    for key in ["sent", "received", "lost", "late", "duplicate"] {
        assert_eq!(num(&merged, key), num(&single, key), "{key}");
    }
    // lossless: the extremes of the merge are exactly those of the parts
    let extreme = |key: &str, pick: fn(f64, f64) -> f64| {
        parts.iter().map(|p| num(p, key)).reduce(pick).unwrap()
    };
    assert_eq!(
        num(&merged, "latency.max"),
        extreme("latency.max", f64::max)
    );
    assert_eq!(
        num(&merged, "latency.min"),
        extreme("latency.min", f64::min)
    );
    let (m, s) = (num(&merged, "latency.p50"), num(&single, "latency.p50"));
    assert!((m - s).abs() < 0.001, "merged p50 {m}, one run's {s}");
}

#[test]
fn thresholds_exit_1_with_the_numbers() {
    let peer = TestPeer::start(Behaviour {
        delay: Duration::from_millis(20),
        act: |i| if i % 2 == 0 { Act::Drop } else { Act::Echo },
        ..Behaviour::default()
    });
    let args = ["--rate", "1000", "--count", "200", "--timeout", "200ms"];
    load(peer.addr, &args)
        .args(["--max-p99", "5ms", "--max-loss", "1%"])
        .output()
        .code(1)
        .stderr_has("threshold crossed: p99 latency 2")
        .stderr_has("is over --max-p99 5.00ms")
        .stderr_has("loss 50% (100 of 200 requests) is over --max-loss 1%");
    let out = load(peer.addr, &args)
        .args(["--max-p99", "1s", "--max-loss", "60%"])
        .output()
        .success();
    // the merge checks the same thresholds
    Udpsh::new(&["load", "merge", "--max-loss", "0.1%"])
        .arg(out.path("result.json").display())
        .output()
        .code(1)
        .stderr_has("is over --max-loss 0.1%");
}

#[test]
fn bad_options_exit_2_naming_the_option() {
    let to = "127.0.0.1:9";
    for (args, says) in [
        (vec!["--text", "x", "--rate", "0"], "--rate"),
        (vec!["--text", "x", "--segment", "3/3"], "--segment"),
        (
            vec!["--text", "hi", "--pair", "dns"],
            "--pair dns: a request of 2 bytes is no DNS message",
        ),
        (vec!["--text", "x", "--pair", "match"], "--pair"),
        (
            vec!["--text", "x", "--count", "5", "--duration", "1s"],
            "--duration",
        ),
        (
            vec!["--text", "x", "--clients", "0"],
            "--clients must be 1 to 1024",
        ),
        (
            vec!["--text", "x", "--timeout", "0s"],
            "--timeout must be above 0",
        ),
        (vec!["--text", "x", "--dns", "a.test"], "--dns"),
        (vec!["--dns", "a.test/NOPE"], "not a DNS record type"),
        (vec!["--text", "x", "--max-loss", "2"], "--max-loss"),
    ] {
        Udpsh::new(&["load", "--to", to])
            .args(&args)
            .output()
            .code(2)
            .stderr_has(says);
    }
    Udpsh::new(&["load", "--text", "x"])
        .output()
        .code(2)
        .stderr_has("--to");
    let mut merge = Udpsh::new(&["load", "merge"]);
    let bad = merge.path("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    merge
        .arg(bad.display())
        .output()
        .code(2)
        .stderr_has("not the --json of udpsh load");
}

#[test]
fn a_closed_port_refuses_every_request() {
    let closed = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = load(
        closed,
        &["--rate", "200", "--count", "100", "--timeout", "300ms"],
    )
    .output()
    .success();
    let r = json(&out, "result.json");
    assert_eq!(num(&r, "sent"), 100.0);
    assert_eq!(num(&r, "received"), 0.0);
    assert_eq!(num(&r, "refused"), 100.0, "{r}");
    assert_eq!(num(&r, "lost"), 100.0);
}

#[test]
fn the_sample_is_recorded_with_comments_and_the_output_has_no_live_line_off_a_tty() {
    let peer = TestPeer::start(Behaviour::default());
    let mut u = load(
        peer.addr,
        &["--rate", "2000", "--count", "500", "--sample", "100"],
    );
    let pcap = u.path("s.pcapng");
    let out = u.arg("--pcap").arg(pcap.display()).output().success();
    assert!(
        out.stderr.is_empty(),
        "no live line off a terminal: {}",
        out.dump()
    );
    for line in [
        "p50",
        "p99.99",
        "max",
        "latency",
        "count",
        "sent 500 · received 500",
    ] {
        assert!(out.stdout.contains(line), "{line}: {}", out.dump());
    }
    let read = format!(
        r#"for p in read_pcap("{}") {{ print(`${{p.comment}} ${{p.len}}`) }}"#,
        pcap.display()
    );
    let listed = Udpsh::eval(&read).output().success().stdout;
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 10, "{listed}");
    assert_eq!(lines[0], "udpsh load: request 0 12");
    assert_eq!(lines[1], "udpsh load: reply to request 0 12");
    assert!(listed.contains("udpsh load: request 400 12"), "{listed}");
}

#[test]
fn on_a_terminal_a_live_line_is_redrawn() {
    let peer = TestPeer::start(Behaviour::default());
    let udpsh = env!("CARGO_BIN_EXE_udpsh");
    let command = format!(
        "{udpsh} load --to {} --text ping --rate 500 --duration 1s --timeout 200ms",
        peer.addr
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("\r\x1b[2K"), "{text}");
    assert!(
        text.contains(" · sent ") && text.contains(" · p99 "),
        "{text}"
    );
}

#[test]
fn a_script_of_options_with_closures_drives_the_command_line() {
    let peer = TestPeer::start(Behaviour::default());
    let mut u = Udpsh::new(&["load", "--to", &peer.addr.to_string(), "--script"]);
    let script = u.path("opts.rhai");
    std::fs::write(
        &script,
        r#"let word = var("word", "x");
           #{request: |i| pack("!Q", i) + word, pair: [0..8], rate: 1000, count: 300,
             check: |d| d.data.len() == 8 + word.len()}"#,
    )
    .unwrap();
    let out = u
        .arg(script.display())
        .args([
            "--var",
            "word=hello",
            "--count",
            "200",
            "--timeout",
            "200ms",
        ])
        .output()
        .success()
        .stdout_has("(200 requests)")
        .stdout_has("sent 200 · received 200 · lost 0");
    assert!(out.stdout.contains("bad 0"), "{}", out.dump());
    assert_eq!(peer.seen(), (0..200).collect::<Vec<_>>());
    // an error in a closure names the script and the line
    let mut u = Udpsh::new(&["load", "--to", &peer.addr.to_string(), "--script"]);
    let broken = u.path("broken.rhai");
    std::fs::write(&broken, "#{request: |i| no_such(i), count: 10}\n").unwrap();
    u.arg(broken.display())
        .output()
        .code(3)
        .stderr_has("broken.rhai:1");
}

/// Runs `load()` against a daemon, `pair` and `request` as given: every request answered.
fn against(addr: &str, module: &str, request: &str, pair: &str) {
    let script = format!(
        r#"import "udpsh/{module}" as {module};
        let r = load("{addr}", #{{request: {request}, pair: "{pair}", rate: 500, duration: 1.0}});
        assert_eq(r.sent, 500);  assert_eq(r.received, 500);
        assert_eq(r.unmatched, 0);  assert_eq(r.duplicate, 0);"#
    );
    Udpsh::script("daemon.rhai", &script).output().success();
}

#[test]
fn dns_pairs_against_dnsmasq() {
    let Some(server) = dnsmasq() else { return };
    against(
        &server.addr,
        "dns",
        r#"dns::query("example.test", "A")"#,
        "dns",
    );
    let addr: SocketAddr = server.addr.parse().unwrap();
    let mut u = Udpsh::new(&["load", "--to", &server.addr, "--dns", "example.test/MX"]);
    let json_path = u.path("dns.json");
    let out = u
        .args(["--rate", "1000", "--duration", "1s", "--json"])
        .arg(json_path.display())
        .output()
        .success()
        .stdout_has(&format!(
            "udpsh load: {addr}, 1,000/s for 1.00s (1,000 requests)"
        ))
        .stdout_has("pair dns");
    let r = json(&out, "dns.json");
    assert_eq!((num(&r, "received"), num(&r, "unmatched")), (1000.0, 0.0));
}

#[test]
fn coap_pairs_against_coap_server() {
    let Some(server) = coap_server() else { return };
    against(
        &server.addr,
        "coap",
        r#"coap::get("/example_data")"#,
        "coap",
    );
}

#[test]
fn stun_pairs_against_coturn() {
    let Some(server) = turnserver("127.0.0.1") else {
        return;
    };
    against(&server.addr, "stun", "stun::binding()", "stun");
}
