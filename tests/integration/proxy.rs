//! The impairment proxy, from scripts and as `udpsh proxy` between programs that know
//! nothing of udpsh. Counts and order only: timing accuracy is measured in the benchmark.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::require_python;
use crate::support::{Output, Udpsh, free_port, python, wait_bound};

/// Writes `source` to a script in `dir` and runs it with `udpsh run`.
fn run_script(dir: &Path, name: &str, source: &str, vars: &[(&str, &str)]) -> Output {
    let path = dir.join(name);
    std::fs::write(&path, source).unwrap();
    let mut u = Udpsh::run(&path.display().to_string());
    for (k, v) in vars {
        u = u.var(k, v);
    }
    u.output()
}

const DETERMINISM: &str = r#"
let server = udp("127.0.0.1:0");
let p = proxy(server.local_addr, #{loss: 0.3, dup: 0.1, seed: var("seed", 7)});
let c = udp("127.0.0.1:0");
for i in 0..100 { c.sendto(`${i}`, p.addr); }
let s = p.stats();
assert_eq(s.up.received, 100);
let got = server.collect(#{count: s.up.forwarded + s.up.duplicated, timeout: 2.0});
assert_eq(got.len(), s.up.forwarded + s.up.duplicated);
print(`seed ${s.seed}: ` + got.map(|d| d.text).reduce(|a, b| a + " " + b));
"#;

#[test]
fn the_same_seed_makes_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str| {
        run_script(
            dir.path(),
            "determinism.rhai",
            DETERMINISM,
            &[("seed", seed)],
        )
        .success()
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
    };
    let (a, b, other) = (run("7"), run("7"), run("8"));
    assert_eq(&a, &b);
    assert_ne!(a, other, "another seed, other drops");
    assert!(a.starts_with("seed 7: "), "{a}");
}

fn assert_eq(a: &str, b: &str) {
    assert_eq!(a, b);
}

const COUNTS: &str = r#"
let server = udp("127.0.0.1:0");
let p = proxy(server.local_addr, #{delay: "20ms", jitter: 0.005, seed: 3,
                                   up: #{dup: 0.2}, down: #{loss: "20%"}});
let c = udp("127.0.0.1:0");
let n = 50;
for i in 0..n { c.sendto(`${i}`, p.addr); }
let s = p.stats();
assert_eq(s.up.received, n);
assert_eq(s.up.forwarded, n);
assert(s.up.duplicated > 0, "no duplicates at 20%");
// Delayed, in order, each copy right after its original, none lost.
let got = server.collect(#{count: n + s.up.duplicated, timeout: 3.0});
assert_eq(got.len(), n + s.up.duplicated);
let order = [];
for d in got { if order.len() == 0 || order[-1] != d.text.parse_int() { order.push(d.text.parse_int()); } }
let want = [];
for i in 0..n { want.push(i); }
assert_eq(order, want);
// Back through the lossy down direction.
for d in got { server.sendto(d.data, d.addr); }
let back = c.collect(#{count: got.len(), timeout: 1.0});
let s = p.close();
for dir in [s.up, s.down] {
    assert_eq(dir.received, dir.forwarded + dir.dropped);
    assert_eq(dir.queued, 0);
}
assert_eq(s.up.delayed, n + s.up.duplicated);
assert_eq(s.down.received, got.len());
assert_eq(back.len(), s.down.forwarded);
assert(s.down.dropped > 0, "no loss at 20%");
assert_eq(s.up.reordered + s.down.reordered, 0);
print(`ok ${s}`);
"#;

#[test]
fn stats_add_up_and_delays_keep_order() {
    let dir = tempfile::tempdir().unwrap();
    run_script(dir.path(), "counts.rhai", COUNTS, &[])
        .success()
        .stdout_has("ok #{");
}

const OUTAGE: &str = r#"
let server = udp("127.0.0.1:0");
let p = proxy(server.local_addr);
let c = udp("127.0.0.1:0");
c.sendto("before", p.addr);
p.set(#{loss: 1.0});
for i in 0..5 { c.sendto("lost", p.addr); }
p.set(#{loss: 0.0});
c.sendto("after", p.addr);
let got = server.collect(#{count: 3, timeout: 0.5});
assert_eq(got.map(|d| d.text), ["before", "after"]);
let s = p.stats();
assert_eq([s.up.received, s.up.forwarded, s.up.dropped], [7, 2, 5]);
try { p.set(#{listen: "127.0.0.1:0"}) } catch (e) { print(e.message) }
try { p.set(#{los: 1}) } catch (e) { print(e.message) }
try { p.set(#{loss: 2}) } catch (e) { print(e.message) }
try { p.set(#{up: #{delay: "2h"}}) } catch (e) { print(e.message) }
try { proxy("nowhere") } catch (e) { print(e.kind + ": " + e.message) }
p.close();
try { p.set(#{loss: 0.5}) } catch (e) { print(e.kind + ": " + e.message) }
print(p);
"#;

#[test]
fn an_outage_with_set_and_option_errors() {
    let dir = tempfile::tempdir().unwrap();
    run_script(dir.path(), "outage.rhai", OUTAGE, &[])
        .success()
        .stdout_has("set() cannot change listen")
        .stdout_has(
            "set has no option 'los' (it has seed, loss, delay, jitter, dup, reorder, up, down)",
        )
        .stdout_has("proxy loss: 2 is not a probability between 0 and 1")
        .stdout_has("proxy up.delay: '2h': unknown unit")
        .stdout_has(
            "address: proxy upstream 'nowhere': bad address 'nowhere': expected \"host:port\"",
        )
        .stdout_has("closed: the proxy is closed")
        .stdout_has(" closed)");
}

const LEFT_RUNNING: &str = r#"
let p = proxy(var("server", ""), #{delay: 0.5});
let c = udp("127.0.0.1:0");
c.sendto("in flight", p.addr);
print(p.addr);
"#;

#[test]
fn a_proxy_left_running_ends_with_the_script_and_delivers_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::support::Peer::new();
    let to = server.addr().to_string();
    let out = run_script(dir.path(), "left.rhai", LEFT_RUNNING, &[("server", &to)]).success();
    // Sent by the proxy as it stopped with the script, not lost when udpsh exited.
    let (data, from) = server.recv();
    assert_eq!(data, b"in flight");
    assert_ne!(
        from.to_string(),
        out.stdout.lines().next().unwrap_or_default()
    );
}

/// A Python echo server on loopback; its port is the first line it prints.
struct PyEcho(Child, u16);

impl PyEcho {
    fn start() -> PyEcho {
        let code = "import socket\n\
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
            s.bind(('127.0.0.1', 0))\n\
            print(s.getsockname()[1], flush=True)\n\
            s.settimeout(20)\n\
            while True:\n    d, a = s.recvfrom(65535)\n    s.sendto(d, a)\n";
        let mut child = Command::new(python().unwrap())
            .args(["-c", code])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the echo server's port");
        PyEcho(child, port)
    }
}

impl Drop for PyEcho {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Python client: sends `n` datagrams to `port`, waits for each echo; prints how many came.
fn py_client(port: u16, n: usize) -> String {
    let code = format!(
        "import socket\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.settimeout(0.5)\n\
         got = 0\n\
         for i in range({n}):\n    s.sendto(b'ping %d' % i, ('127.0.0.1', {port}))\n    \
         try:\n        d, a = s.recvfrom(2048)\n        got += d == b'ping %d' % i\n    \
         except socket.timeout:\n        pass\n\
         print('echoes', got)\n"
    );
    let out = Command::new(python().unwrap())
        .args(["-c", &code])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn tshark_comments(file: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-T", "fields", "-e", "frame.comment"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn udpsh_proxy_between_a_python_client_and_server() {
    require_python!();
    let server = PyEcho::start();
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("legs.pcapng");
    let listen = format!("127.0.0.1:{}", free_port());
    let to = format!("127.0.0.1:{}", server.1);
    let proxy = Udpsh::new(&["proxy", "--to", &to, "--listen", &listen])
        .arg("--delay")
        .arg("5ms")
        .arg("--jitter")
        .arg("1ms")
        .arg("--count")
        .arg("20")
        .arg("--duration")
        .arg("20s")
        .arg("--pcap")
        .arg(pcap.display())
        .spawn();
    wait_bound(listen.rsplit(':').next().unwrap().parse().unwrap());
    assert_eq!(
        py_client(listen.rsplit(':').next().unwrap().parse().unwrap(), 10),
        "echoes 10"
    );
    let out = proxy.finish().success();
    assert!(
        out.stdout.starts_with(&format!(
            "udpsh proxy: listening on {listen}, forwarding to {to} (loss 0%, delay 5ms, jitter 1ms"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("up: received 10, forwarded 10, dropped 0"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("down: received 10, forwarded 10, dropped 0"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("clients: 1"), "{}", out.stdout);
    assert!(!out.stderr.contains('\r'), "no live line when piped");
    if crate::replay::have("tshark") {
        let comments = tshark_comments(&pcap);
        assert_eq!(comments.len(), 40, "both legs, both ways: {comments:?}");
        let up = comments
            .iter()
            .filter(|c| c.starts_with("proxy up, delayed"))
            .count();
        let down = comments
            .iter()
            .filter(|c| c.starts_with("proxy down, delayed"))
            .count();
        assert_eq!((up, down), (10, 10), "{comments:?}");
    }
}

#[test]
fn udpsh_proxy_records_what_it_drops_and_prints_stats_on_sigterm() {
    require_python!();
    let server = PyEcho::start();
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("lossy.pcapng");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_udpsh"))
        .args(["proxy", "--to", &format!("127.0.0.1:{}", server.1)])
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--loss",
            "100%",
            "--seed",
            "1",
        ])
        .args(["--duration", "30s", "--pcap"])
        .arg(&pcap)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bound(port);
    assert_eq!(py_client(port, 3), "echoes 0");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("udpsh proxy did not end on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("seed 1)"), "{stdout}");
    assert!(
        stdout.contains("up: received 3, forwarded 0, dropped 3"),
        "{stdout}"
    );
    if crate::replay::have("tshark") {
        assert_eq!(tshark_comments(&pcap), ["dropped by proxy (loss)"; 3]);
    }
}

#[test]
fn udpsh_proxy_usage_errors_name_the_option() {
    for (args, option) in [
        (&["--loss", "5"][..], "--loss"),
        (&["--delay", "20"], "--delay"),
        (&["--jitter", "fast"], "--jitter"),
        (&["--dup", "200%"], "--dup"),
        (&["--reorder=-1"], "--reorder"),
        (&["--delay", "2h"], "--delay"),
        (&["--listen", "nowhere"], "--listen"),
    ] {
        let mut u = Udpsh::new(&["proxy", "--to", "127.0.0.1:9"]);
        for a in args {
            u = u.arg(a);
        }
        u.output().code(2).output_has(option);
    }
    Udpsh::new(&["proxy"]).output().code(2).output_has("--to");
}
