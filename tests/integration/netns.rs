//! Tests inside network namespaces that the test creates and deletes: the seed's real limited
//! broadcast between two of them joined by a veth pair, and a DNS lookup that gets no answer
//! ended by `--timeout`. Also the namespace helpers the multicast tests share. Such traffic may
//! never leave these namespaces, so the tests skip unless they can make them (root, iproute2,
//! `ip netns add` working) — except under CI=true, where that is a failure.

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
    let Some([responder_ns, sender_ns]) = namespaces_or_skip(["responder", "sender"]) else {
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

/// Points the namespace's resolver (`ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf)
/// at 127.0.0.1 inside it, where a udpsh swallows every query; the guard removes the file.
struct ResolverConf(std::path::PathBuf);

impl ResolverConf {
    fn black_hole(ns: &Netns) -> ResolverConf {
        let dir = std::path::Path::new("/etc/netns").join(ns.name());
        std::fs::create_dir_all(&dir).expect("creating /etc/netns/NAME");
        std::fs::write(
            dir.join("resolv.conf"),
            "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n",
        )
        .expect("writing the namespace's resolv.conf");
        ResolverConf(dir)
    }
}

impl Drop for ResolverConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_dns_lookup_that_gets_no_answer_ends_at_the_timeout() {
    let Some([ns]) = namespaces_or_skip(["resolver"]) else {
        return;
    };
    ns.ip(&["link", "set", "lo", "up"]);
    let _conf = ResolverConf::black_hole(&ns);
    // The fake DNS server: takes every query for 7 s, answers none, then says how many came.
    let hole =
        Udpsh::eval(r#"let s = udp("127.0.0.1:53"); print(`queries: ${s.collect(7.0).len()}`);"#)
            .in_netns(ns.name())
            .spawn();
    ns.wait_bound(53);
    let asks = [
        r#"udp().sendto("x", "never-answers.test:9");"#,
        r#"udp("never-answers.test", 0);"#,
        r#"let s = udp(); s.request("x", "never-answers.test:9");"#,
        r#"proxy("never-answers.test:9");"#,
        r#"replay("fixtures/capture/dnsmasq_lo.pcap", #{to: "never-answers.test:9"});"#,
    ];
    for script in asks {
        let out = Udpsh::eval(script).timeout(1).in_netns(ns.name()).output();
        let out = out.code(3).output_has("--timeout of 1s reached");
        assert!(
            out.elapsed < Duration::from_millis(1600),
            "{script}: the lookup held the script {:?} past a 1 s --timeout",
            out.elapsed
        );
        eprintln!("{script}: stopped after {:?}", out.elapsed);
    }
    let hole = hole.finish().success();
    let queries: usize = hole
        .stdout
        .trim()
        .strip_prefix("queries: ")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        queries >= 5,
        "the resolver never asked the fake server: {}",
        hole.stdout
    );
}

/// Fresh namespaces, one per role, or None (with a note) when this machine cannot make them;
/// under CI=true that is a failure, not a skip.
pub(crate) fn namespaces_or_skip<const N: usize>(roles: [&str; N]) -> Option<[Netns; N]> {
    let skip = |why: String| {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "network-namespace tests must run in CI: {why}"
        );
        eprintln!("note: {why}, skipping this network-namespace test");
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        skip("not root".into());
        return None;
    }
    let has_ip = Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_ip {
        skip("`ip` (iproute2) not found".into());
        return None;
    }
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let pid = std::process::id();
    let mut made = Vec::new();
    for role in roles {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match Netns::add(&format!("udpsh-{pid}-{n}-{role}")) {
            Ok(ns) => made.push(ns),
            Err(e) => {
                skip(e);
                return None;
            }
        }
    }
    made.try_into().ok()
}

/// `ip ARGS` in the test's own namespace; panics when it fails.
pub(crate) fn ip(args: &[&str]) {
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
pub(crate) struct Netns(String);

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

    pub(crate) fn name(&self) -> &str {
        &self.0
    }

    /// lo up with multicast, and a route for 224.0.0.0/4 over it: IPv4 multicast between
    /// the sockets of this namespace, and nowhere else.
    pub(crate) fn multicast_on_lo(&self) {
        self.ip(&["link", "set", "lo", "up"]);
        self.ip(&["link", "set", "lo", "multicast", "on"]);
        self.ip(&[
            "route",
            "add",
            "224.0.0.0/4",
            "dev",
            "lo",
            "src",
            "127.0.0.1",
        ]);
    }

    /// `ip -n NS ARGS`.
    pub(crate) fn ip(&self, args: &[&str]) {
        ip(&[&["-n", &self.0], args].concat());
    }

    /// Waits until a socket in this namespace is bound to UDP `port`.
    pub(crate) fn wait_bound(&self, port: u16) {
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
