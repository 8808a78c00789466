//! The seed's real limited broadcast — `s.broadcast("Hi", port)` and `sendto` to `<broadcast>` —
//! between two network namespaces that this test creates and deletes, joined by a veth pair.
//! That address may never leave such namespaces, so the test skips unless it can make them
//! (root, iproute2, `ip netns add` working).

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// Any port works: the namespaces are private to this test.
const PORT: u16 = 7788;
/// The responder's end of the veth pair (10.0.0.0/8, only inside the namespaces).
const RESPONDER_IP: &str = "10.77.0.1";
const SENDER_IP: &str = "10.77.0.2";

/// Both forms of the seed's broadcast in the sender namespace, printing what came back.
const SENDER: &str = r#"
let port = var("port", 0);
let s = udp();
s.settimeout(3.0);
s.broadcast("Hi", port);                           // SO_BROADCAST, then the limited broadcast
let d = s.recvfrom(64);
print(`broadcast(data, port): ${d.text} from ${d.addr}`);

let t = udp();
t.settimeout(3.0);
try {
    t.sendto("Hi", "<broadcast>", port);
    print("sendto without setbroadcast: sent");
} catch (e) {
    print(`sendto without setbroadcast: ${e.kind}`);
}
t.setbroadcast(true);
t.sendto("Hi", "<broadcast>", port);
let d = t.recvfrom(64);
print(`sendto <broadcast>: ${d.text} from ${d.addr}`);
"#;

#[test]
fn limited_broadcast_between_namespaces_reaches_echo_server() {
    let Some([responder_ns, sender_ns]) = namespaces_or_skip() else {
        return;
    };
    ip(&[
        "link",
        "add",
        "veth0",
        "netns",
        &responder_ns.0,
        "type",
        "veth",
        "peer",
        "name",
        "veth1",
        "netns",
        &sender_ns.0,
    ]);
    for (ns, dev, addr) in [
        (&responder_ns, "veth0", RESPONDER_IP),
        (&sender_ns, "veth1", SENDER_IP),
    ] {
        ns.ip(&["addr", "add", &format!("{addr}/24"), "dev", dev]);
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["link", "set", dev, "up"]);
    }
    // the limited broadcast leaves by the default route's interface; without one it is unroutable
    sender_ns.ip(&[
        "route",
        "add",
        "default",
        "via",
        RESPONDER_IP,
        "dev",
        "veth1",
    ]);

    let responder = Udpsh::run("scripts/echo_server.rhai")
        .var("port", PORT)
        .var("count", 2)
        .in_netns(&responder_ns.0)
        .spawn();
    responder_ns.wait_bound(PORT);
    let sender = Udpsh::eval(SENDER)
        .var("port", PORT)
        .in_netns(&sender_ns.0)
        .output();
    let from = format!("Hi from {RESPONDER_IP}:{PORT}");
    sender
        .success()
        .stdout_has(&format!("broadcast(data, port): {from}"))
        .stdout_has("sendto without setbroadcast: permission denied")
        .stdout_has(&format!("sendto <broadcast>: {from}"));
    responder
        .finish()
        .success()
        .stdout_has("已经将接收到的第1个数据返回给对方,内容为:Hi")
        .stdout_has("已经将接收到的第2个数据返回给对方,内容为:Hi");
}

/// Two fresh namespaces, or None (with a note) when this machine cannot make them.
fn namespaces_or_skip() -> Option<[Netns; 2]> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("note: not root, skipping the network-namespace broadcast test");
        return None;
    }
    let has_ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_ip {
        eprintln!("note: `ip` (iproute2) not found, skipping the network-namespace broadcast test");
        return None;
    }
    let pid = std::process::id();
    let make = |role: &str| Netns::add(&format!("udpsh-test-{pid}-{role}"));
    match (make("responder"), make("sender")) {
        (Ok(a), Ok(b)) => Some([a, b]),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("note: {e}, skipping the network-namespace broadcast test");
            None
        }
    }
}

/// `ip ARGS` in the test's own namespace; panics when it fails.
fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("starting `ip {}`: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace this test created; deleted on drop, so none leaks when an assertion fails.
struct Netns(String);

impl Netns {
    fn add(name: &str) -> Result<Netns, String> {
        let out = Command::new("ip")
            .args(["netns", "add", name])
            .output()
            .map_err(|e| format!("`ip netns add` did not start: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "`ip netns add {name}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Netns(name.to_string()))
    }

    /// `ip -n NS ARGS`.
    fn ip(&self, args: &[&str]) {
        ip(&[&["-n", &self.0], args].concat());
    }

    /// Waits until a socket in this namespace is bound to UDP `port`.
    fn wait_bound(&self, port: u16) {
        let needle = format!(":{port:04X}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let table = Command::new("ip")
                .args(["netns", "exec", &self.0, "cat", "/proc/net/udp"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            let bound = table.lines().skip(1).any(|l| {
                l.split_whitespace()
                    .nth(1)
                    .is_some_and(|a| a.ends_with(&needle))
            });
            if bound {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("nothing bound to UDP port {port} in {} after 10 s", self.0);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}
