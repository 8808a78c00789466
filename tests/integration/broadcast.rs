//! broadcast.rhai (seed 001, "udp广播") on loopback: 127.255.255.255 reaches every socket bound
//! to 0.0.0.0 on the port, so several responders share one port with SO_REUSEADDR.

use std::thread;

use crate::require_python;
use crate::support::*;

#[test]
fn broadcast_script_collects_replies_from_several_rust_responders() {
    let group = Peer::reuse_group(3);
    let port = group[0].port();
    let sender = Udpsh::run("scripts/broadcast.rhai")
        .var("port", port)
        .var("expect", 3)
        .var("wait", 1.0)
        .spawn();
    let responders: Vec<_> = group
        .into_iter()
        .enumerate()
        .map(|(i, peer)| {
            thread::spawn(move || {
                let (data, from) = peer.recv();
                assert_eq!(data, b"Hi");
                peer.send_to(format!("Hello from responder {i}"), from);
            })
        })
        .collect();
    for r in responders {
        r.join().unwrap();
    }
    let done = sender
        .finish()
        .success()
        .stdout_has("等待对方回复（按ctrl+c退出）")
        .stdout_has(&format!(
            "Received from 127.0.0.1:{port}: Hello from responder 0"
        ))
        .stdout_has("Hello from responder 1")
        .stdout_has("Hello from responder 2");
    assert_eq!(done.stdout_count("Received from"), 3);
}

#[test]
fn broadcast_script_fails_without_enough_replies() {
    let group = Peer::reuse_group(1);
    let port = group[0].port();
    let sender = Udpsh::run("scripts/broadcast.rhai")
        .var("port", port)
        .var("expect", 2)
        .var("wait", 0.5)
        .spawn();
    let (data, from) = group[0].recv();
    assert_eq!(data, b"Hi");
    group[0].send_to("only one", from);
    sender.finish().code(1).stdout_has("Received from");
}

#[test]
fn broadcast_script_against_python_seed_echo_servers() {
    require_python!();
    let seed = |port: u16| {
        Seed::new("echo_server.py")
            .env("PORT", port)
            .env("COUNT", 1)
            .env("REUSEADDR", 1)
            .spawn()
    };
    let mut first = seed(0);
    let port = first.announced_port();
    let others = [seed(port), seed(port)];
    // each of the three has bound once the port shows three sockets
    wait_sockets(port, 3);
    Udpsh::run("scripts/broadcast.rhai")
        .var("port", port)
        .var("expect", 3)
        .var("wait", 1.0)
        .output()
        .success()
        .stdout_has(&format!("Received from 127.0.0.1:{port}: Hi"));
    for s in std::iter::once(first).chain(others) {
        s.finish()
            .success()
            .stdout_has("已经将接收到的第1个数据返回给对方,内容为:Hi");
    }
}

/// `n` echo_server.rhai on one port (reuse=true), each echoing one datagram; once all are bound.
fn echo_server_scripts(n: usize) -> (u16, Vec<Running>) {
    let port = free_port();
    let servers = (0..n)
        .map(|_| {
            Udpsh::run("scripts/echo_server.rhai")
                .var("port", port)
                .var("count", 1)
                .var("reuse", true)
                .spawn()
        })
        .collect();
    wait_sockets(port, n);
    (port, servers)
}

#[test]
fn broadcast_script_against_several_echo_server_scripts() {
    let (port, servers) = echo_server_scripts(3);
    let done = Udpsh::run("scripts/broadcast.rhai")
        .var("port", port)
        .var("expect", 3)
        .var("wait", 1.0)
        .output()
        .success();
    assert_eq!(
        done.stdout_count(&format!("Received from 127.0.0.1:{port}: Hi")),
        3,
        "{}",
        done.stdout
    );
    each_echoed_hi(servers);
}

#[test]
fn python_seed_broadcast_against_several_echo_server_scripts() {
    require_python!();
    let (port, servers) = echo_server_scripts(3);
    let done = Seed::new("broadcast.py")
        .env("PORT", port)
        .env("WAIT", 1)
        .output()
        .success()
        .stdout_has("等待对方回复（按ctrl+c退出）");
    assert_eq!(
        done.stdout_count(&format!("Received from ('127.0.0.1', {port}): b'Hi'")),
        3,
        "{}",
        done.stdout
    );
    each_echoed_hi(servers);
}

/// Each echo_server.rhai of the group echoed the broadcast "Hi" once and ended cleanly.
fn each_echoed_hi(servers: Vec<Running>) {
    for s in servers {
        s.finish()
            .success()
            .stdout_has("已经将接收到的第1个数据返回给对方,内容为:Hi");
    }
}
