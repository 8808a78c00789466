//! The service under test, started by the script itself: a real dnsmasq (or a tiny Python UDP
//! server) started with `start`, waited for with `wait_udp`, queried, stopped — and never left
//! behind, whether the script ends, passes its `--timeout`, gets Ctrl-C, is killed outright, or
//! runs in the REPL. Children are checked by PID.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// Is `tool` on PATH? Without it a test prints a note and passes, except under CI=true.
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "{tool} is needed in CI"
        );
        eprintln!("note: {tool} not found, skipping");
    }
    found
}

/// Whether a process runs (a zombie no longer does).
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether any process is left in process group `pgid`.
fn group_left(pgid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let Some((_, rest)) = stat.rsplit_once(')') else {
                    return false;
                };
                let fields: Vec<&str> = rest.split_whitespace().collect();
                // state ppid pgrp ...
                fields.get(2) == Some(&pgid.to_string().as_str())
                    && fields.first().is_some_and(|s| *s != "Z")
            })
        })
        .collect()
}

/// Waits for a file the script writes (its child's pid).
fn read_pid(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("the script never wrote {}", path.display());
}

fn gone_soon(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if !running(pid) && group_left(pid).is_empty() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Starts a child that serves UDP on `port` (dnsmasq, else Python), writes its pid to
/// `pidfile`, waits for it, then blocks until stopped from outside.
const BLOCKED: &str = r#"
    let port = var("port", 0);
    let p = if var("tool", "") == "dnsmasq" {
        start("dnsmasq", ["-d", "-p", port, "--listen-address=127.0.0.1", "--bind-interfaces",
                          "--no-resolv", "--no-hosts"])
    } else {
        start("python3", ["-c", `import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", ${port}))
time.sleep(600)`])
    };
    wait_udp(`127.0.0.1:${port}`, 10.0);
    write_file(var("pidfile", ""), `${p.pid}`);
    let s = udp("127.0.0.1:0");
    s.recvfrom();
"#;

fn tool() -> Option<&'static str> {
    if Command::new("sh")
        .args(["-c", "command -v dnsmasq"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        Some("dnsmasq")
    } else if have("python3") {
        Some("python3")
    } else {
        None
    }
}

#[test]
fn dnsmasq_started_waited_for_queried_and_stopped_in_one_script() {
    if !have("dnsmasq") {
        return;
    }
    let script = r#"
        let port = var("port", 0);
        let dns = start("dnsmasq", ["-d", "-p", port, "--listen-address=127.0.0.1",
                                    "--bind-interfaces", "--no-resolv", "--no-hosts",
                                    "--address=/example.test/10.1.2.3"]);
        wait_udp(`127.0.0.1:${port}`, 5.0);
        assert(dns.alive(), dns.output());
        // A query for example.test A, id 0x1234, RD.
        let q = hex("12 34 01 00 00 01 00 00 00 00 00 00 07") + "example" + hex("04") + "test"
              + hex("00 00 01 00 01");
        let s = udp();
        let r = s.request(q, `127.0.0.1:${port}`, #{timeout: 1.0, accept: |d| d.data[0] == 0x12});
        assert_eq(r.data.extract(r.len - 4), hex("0a 01 02 03"));
        print(`answer in ${r.rtt} s after ${r.tries} try`);
        assert_eq(dns.stop(), 0);
        assert(!dns.alive());
        assert(dns.output().contains("started"), dns.output());
        try { start("no-such-daemon-udpsh", []); } catch (e) { print(`${e.kind}: ${e.message}`); }
    "#;
    Udpsh::new(&["--timeout", SCRIPT_TIMEOUT, "-e", script])
        .var("port", free_port())
        .output()
        .success()
        .stdout_has("after 1 try")
        .stdout_has("file: cannot start 'no-such-daemon-udpsh': no such program");
}

#[test]
fn a_timeout_stops_the_child() {
    let Some(tool) = tool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = dir.path().join("blocked.rhai");
    std::fs::write(&script, BLOCKED).unwrap();
    let run = Udpsh::new(&["run", "--timeout", "3"])
        .arg(script.display())
        .var("port", free_port())
        .var("tool", tool)
        .var("pidfile", pidfile.display())
        .spawn();
    let pid = read_pid(&pidfile);
    assert!(running(pid));
    let out = run.finish().code(3).stdout_has("--timeout of 3s reached");
    assert!(out.elapsed < Duration::from_secs(6), "{:?}", out.elapsed);
    assert!(gone_soon(pid), "{tool} (pid {pid}) outlived the script");
}

#[test]
fn ctrl_c_stops_the_child() {
    let Some(tool) = tool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = dir.path().join("blocked.rhai");
    std::fs::write(&script, BLOCKED).unwrap();
    let run = Udpsh::new(&["run", "--timeout", SCRIPT_TIMEOUT])
        .arg(script.display())
        .var("port", free_port())
        .var("tool", tool)
        .var("pidfile", pidfile.display())
        .spawn();
    let pid = read_pid(&pidfile);
    let started = Instant::now();
    // SIGINT to udpsh alone (not its group): udpsh itself must stop the child.
    run.interrupt();
    let out = run.finish();
    assert!(out.code.is_some_and(|c| c != 0), "{}", out.stdout);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(gone_soon(pid), "{tool} (pid {pid}) outlived Ctrl-C");
}

#[test]
fn kill_9_of_udpsh_takes_its_children_along() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = r#"
        // started from a spawned thread that ends at once: the child must live on
        let t = spawn(|| start("sleep", ["60"]).pid);
        let pid = t.join();
        sleep(0.3);
        write_file(var("pidfile", ""), `${pid}`);
        sleep(60);
    "#;
    let run = Udpsh::new(&["--timeout", "20", "-e", script])
        .var("pidfile", pidfile.display())
        .spawn();
    let pid = read_pid(&pidfile);
    assert!(
        running(pid),
        "the child died with the thread that started it"
    );
    let _ = run.kill();
    assert!(
        gone_soon(pid),
        "sleep (pid {pid}) outlived kill -9 of udpsh"
    );
}

#[test]
fn the_repl_stops_its_children_on_exit() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let input = format!(
        "let p = start(\"sleep\", [\"60\"]);\nwrite_file(\"{}\", `${{p.pid}}`);\np.alive()\n",
        pidfile.display()
    );
    let out = Udpsh::new(&["repl"]).stdin(&input).output().success();
    let pid = read_pid(&pidfile);
    assert!(
        gone_soon(pid),
        "sleep (pid {pid}) outlived the REPL: {}",
        out.stdout
    );
}

#[test]
fn wait_and_output_of_a_short_program() {
    let script = r#"
        let p = start("sh", ["-c", "echo to-out; echo to-err >&2; exit 7"]);
        assert_eq(p.wait(5.0), 7);
        sleep(0.1);
        print(p.output());
        let k = start("sleep", [30]);
        try { k.wait(0.1); } catch (e) { print(`wait: ${e.kind}`); }
        print(`stopped: ${k.stop()}`);
        try { wait_udp(1, 0.1); } catch (e) { print(e.message); }
    "#;
    Udpsh::new(&["--timeout", SCRIPT_TIMEOUT, "-e", script])
        .output()
        .success()
        .stdout_has("to-out\nto-err")
        .stdout_has("wait: timeout")
        .stdout_has("stopped: -15")
        .stdout_has("nothing was bound to UDP port 1 after 0.1s");
}

#[test]
fn output_keeps_the_last_mib_and_port_zero_is_refused_at_once() {
    // 3 MiB out, numbered lines: what output() gives is 1 MiB at most, and the end.
    let script = r#"
        let p = start("sh", ["-c", "seq 1 400000"]);
        p.wait(20.0);
        let out = p.output();
        assert(out.len() <= 1048576, `${out.len()} bytes`);
        assert(out.len() > 1000000, `${out.len()} bytes`);
        assert(out.ends_with("399999\n400000\n"));
        for port in [0, "127.0.0.1:0", "[::1]:0"] {
            let started = now();
            try { wait_udp(port, 5.0); assert(false) } catch (e) {
                assert_eq(e.kind, "value");
                assert(now() - started < 1.0);
            }
        }
    "#;
    Udpsh::new(&["--timeout", SCRIPT_TIMEOUT, "-e", script])
        .output()
        .success();
}

/// Kills `pid` if it still runs (so a failing test leaves nothing), and says whether it did.
fn outlived(pid: i32) -> bool {
    let left = !gone_soon(pid);
    if left {
        // SAFETY: kill(2) of a pid this test's script started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    left
}

#[test]
fn sigterm_stops_the_child_and_its_group_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let junit = dir.path().join("junit.xml");
    let script = r#"
        test("waits on a child", || {
            let p = start("sh", ["-c", `sleep 300 & echo $! > ${var("pidfile", "")}; wait`]);
            p.wait();
        });
    "#;
    let mut udpsh = Udpsh::script("term.rhai", script)
        .var("pidfile", pidfile.display())
        .arg("--report")
        .arg(format!("junit={}", junit.display()));
    let _ = udpsh.path("");
    let run = udpsh.spawn();
    // The grandchild, in the child's process group: PDEATHSIG alone would not reach it.
    let grandchild = read_pid(&pidfile);
    run.signal(libc::SIGTERM);
    let out = run
        .finish()
        .code(3)
        .stdout_has("INTERRUPTED term.rhai › waits on a child");
    assert!(
        !outlived(grandchild),
        "sleep (pid {grandchild}) outlived SIGTERM: {}",
        out.stdout
    );
    let report = std::fs::read_to_string(&junit).expect("the report is written");
    assert!(report.contains("type=\"interrupted\""), "{report}");
}

#[test]
fn what_a_program_forks_into_the_background_is_stopped_when_udpsh_ends() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // As a daemon does: the program forks, the fork leaves the session, the program exits 0.
    let script = r#"
        let p = start("sh", ["-c", `setsid sleep 300 & echo $! > ${var("pidfile", "")}`]);
        assert_eq(p.wait(), 0);
        sleep(0.2);
    "#;
    let out = Udpsh::new(&["--timeout", "10", "-e", script])
        .var("pidfile", pidfile.display())
        .output()
        .success();
    let daemon = read_pid(&pidfile);
    assert!(
        !outlived(daemon),
        "the background sleep (pid {daemon}) outlived udpsh: {}",
        out.stdout
    );
}
