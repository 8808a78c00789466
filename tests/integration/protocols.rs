//! scripts/protocols/*.rhai against the real daemons, each started here on 127.0.0.1 with a
//! config in a temp dir and killed by PID when the test ends, however it ends. A missing
//! daemon skips the test with a note, except under CI=true, where it fails.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::{Udpsh, free_port, wait_bound};

/// A daemon stopped (by its PID) when dropped.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed(program: &str) -> bool {
    let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).exists());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{program} is not installed (CI needs it)"
        );
        eprintln!("note: {program} is not installed; skipping");
    }
    found
}

fn start(program: &str, args: &[String], port: u16) -> Daemon {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let daemon = Daemon(child);
    wait_bound(port);
    daemon
}

fn run(script: &str, vars: &[(&str, String)]) {
    let mut u = Udpsh::run(&format!("scripts/protocols/{script}"));
    for (k, v) in vars {
        u = u.var(k, v);
    }
    u.output().success();
}

#[test]
fn dns_against_dnsmasq() {
    if !installed("dnsmasq") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args: Vec<String> = [
        "-d".to_string(),
        "-p".into(),
        port.to_string(),
        "--listen-address=127.0.0.1".into(),
        "--bind-interfaces".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--address=/example.test/10.1.2.3".into(),
        "--mx-host=example.test,mail.example.test,10".into(),
        "--address=/nx.test/".into(),
        format!("--pid-file={}/dnsmasq.pid", dir.path().display()),
    ]
    .into();
    let _d = start("dnsmasq", &args, port);
    run("dns.rhai", &[("server", format!("127.0.0.1:{port}"))]);
}

#[test]
fn ntp_against_chronyd() {
    if !installed("chronyd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = dir.path().display();
    let conf = dir.path().join("chrony.conf");
    std::fs::write(
        &conf,
        format!("port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\ncmdport 0\npidfile {d}/chronyd.pid\ndriftfile {d}/drift\n"),
    )
    .unwrap();
    let args = vec![
        "-d".into(),
        "-x".into(),
        "-f".into(),
        conf.display().to_string(),
    ];
    let _d = start("chronyd", &args, port);
    run("ntp.rhai", &[("server", format!("127.0.0.1:{port}"))]);
}

#[test]
fn stun_against_coturn() {
    if !installed("turnserver") {
        return;
    }
    let port = free_port();
    let args: Vec<String> = [
        "-n".to_string(),
        "--listening-ip=127.0.0.1".into(),
        format!("--listening-port={port}"),
        "--stun-only".into(),
        "--no-tls".into(),
        "--no-dtls".into(),
        "--no-cli".into(),
        "--no-tcp".into(),
    ]
    .into();
    let _d = start("turnserver", &args, port);
    run("stun.rhai", &[("server", format!("127.0.0.1:{port}"))]);
}

#[test]
fn coap_against_coap_server() {
    if !installed("coap-server-notls") {
        return;
    }
    let port = free_port();
    let args = vec![
        "-A".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
    ];
    let _d = start("coap-server-notls", &args, port);
    run("coap.rhai", &[("server", format!("127.0.0.1:{port}"))]);
}

#[test]
fn tftp_against_in_tftpd() {
    if !installed("in.tftpd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = vec![
        "-L".into(),
        "-c".into(),
        "-u".into(),
        "root".into(),
        "-a".into(),
        format!("127.0.0.1:{port}"),
        "-s".into(),
        dir.path().display().to_string(),
    ];
    let _d = start("in.tftpd", &args, port);
    run("tftp.rhai", &[("server", format!("127.0.0.1:{port}"))]);
}

#[test]
fn syslog_against_rsyslog() {
    if !installed("rsyslogd") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = dir.path().join("messages");
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\")\n*.* action(type=\"omfile\" file=\"{}\")\n",
            log.display()
        ),
    )
    .unwrap();
    let args = vec![
        "-n".into(),
        "-f".into(),
        conf.display().to_string(),
        "-i".into(),
        dir.path().join("rsyslogd.pid").display().to_string(),
    ];
    let _d = start("rsyslogd", &args, port);
    run(
        "syslog.rhai",
        &[
            ("server", format!("127.0.0.1:{port}")),
            ("log", log.display().to_string()),
        ],
    );
}
