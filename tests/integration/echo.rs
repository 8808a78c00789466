//! echo_server.rhai / echo_client.rhai (seed 001, "echo 将收到的消息返回给发送方").

use std::thread;

use crate::require_python;
use crate::support::*;

#[test]
fn echo_client_script_against_rust_echo_server() {
    let server = Peer::new();
    let client = Udpsh::run("scripts/echo_client.rhai")
        .var("port", server.port())
        .var("count", 4)
        .spawn();
    let mut got = Vec::new();
    for _ in 0..4 {
        let (data, from) = server.recv();
        server.send_to(&data, from);
        got.push(String::from_utf8(data).unwrap());
    }
    assert_eq!(got.len(), 4);
    client.finish().success().stdout_has("4 个数据都已原样返回");
}

#[test]
fn echo_client_script_fails_when_the_echo_differs() {
    let server = Peer::new();
    let client = Udpsh::run("scripts/echo_client.rhai")
        .var("port", server.port())
        .var("count", 2)
        .spawn();
    let (_, from) = server.recv();
    server.send_to("not what you sent", from);
    client.finish().code(1);
}

#[test]
fn echo_server_script_against_rust_client() {
    let port = free_port();
    let server = Udpsh::run("scripts/echo_server.rhai")
        .var("port", port)
        .var("count", 3)
        .spawn();
    wait_bound(port);
    let client = Peer::new();
    let messages: [&[u8]; 3] = [b"Hello", "你好，世界".as_bytes(), &[0, 0xff, 0x80, b'\n']];
    for msg in messages {
        client.send_to(msg, loopback(port));
        let (echo, from) = client.recv();
        assert_eq!(echo, msg);
        assert_eq!(from, loopback(port));
    }
    let done = server
        .finish()
        .success()
        .stdout_has("已经将接收到的第1个数据返回给对方,内容为:Hello")
        .stdout_has("已经将接收到的第2个数据返回给对方,内容为:你好，世界")
        .stdout_has("已经将接收到的第3个数据返回给对方,内容为:");
    assert_eq!(done.stdout_count("返回给对方"), 3);
}

#[test]
fn echo_server_script_echoes_long_datagrams_whole() {
    let port = free_port();
    let server = Udpsh::run("scripts/echo_server.rhai")
        .var("port", port)
        .var("count", 1)
        .spawn();
    wait_bound(port);
    let client = Peer::new();
    let big: Vec<u8> = (0..4000u32).map(|i| b'a' + (i % 26) as u8).collect();
    client.send_to(&big, loopback(port));
    assert_eq!(client.recv().0, big);
    server.finish().success();
}

#[test]
fn echo_server_script_serves_two_rust_clients_at_once() {
    let port = free_port();
    let server = Udpsh::run("scripts/echo_server.rhai")
        .var("port", port)
        .var("count", 6)
        .spawn();
    wait_bound(port);
    let clients: Vec<_> = (0..2)
        .map(|c| {
            thread::spawn(move || {
                let peer = Peer::new();
                for i in 0..3 {
                    let msg = format!("client {c} message {i}");
                    peer.send_to(&msg, loopback(port));
                    assert_eq!(peer.recv().0, msg.as_bytes());
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    server
        .finish()
        .success()
        .stdout_has("已经将接收到的第6个数据返回给对方");
}

#[test]
fn echo_client_script_against_python_seed_echo_server() {
    require_python!();
    let mut seed = Seed::new("echo_server.py")
        .env("HOST", "127.0.0.1")
        .env("PORT", 0)
        .env("COUNT", 10)
        .spawn();
    let port = seed.announced_port();
    Udpsh::run("scripts/echo_client.rhai")
        .var("port", port)
        .output()
        .success()
        .stdout_has("10 个数据都已原样返回");
    let done = seed
        .finish()
        .success()
        .stdout_has("已经将接收到的第1个数据返回给对方,内容为:第1条消息 message #1")
        .stdout_has("已经将接收到的第10个数据返回给对方");
    assert_eq!(done.stdout_count("返回给对方"), 10);
}

#[test]
fn python_seed_sender_against_echo_server_script() {
    // The seed's echo server was driven by hand; its send program is the seed's other client.
    require_python!();
    let port = free_port();
    let server = Udpsh::run("scripts/echo_server.rhai")
        .var("port", port)
        .var("count", 1)
        .spawn();
    wait_bound(port);
    Seed::new("send.py")
        .env("PORT", port)
        .stdin("回声 echo\n")
        .output()
        .success();
    server
        .finish()
        .success()
        .stdout_has("已经将接收到的第1个数据返回给对方,内容为:回声 echo");
}
