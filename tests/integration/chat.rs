//! chat_server.rhai / chat_client.rhai (seed 000, 17.3.2 简单聊天工具).

use crate::require_python;
use crate::support::*;

#[test]
fn chat_client_script_against_rust_server() {
    let server = Peer::new();
    let client = Udpsh::run("scripts/chat_client.rhai")
        .var("port", server.port())
        .spawn();
    let (msg, from) = server.recv();
    assert_eq!(msg, b"Hello");
    assert_eq!(from.ip().to_string(), "127.0.0.1");
    server.send_to("你好", from);
    client
        .finish()
        .success()
        .stdout_has("从服务器端接收消息：你好");
}

#[test]
fn chat_client_script_fails_on_a_wrong_reply() {
    let server = Peer::new();
    let client = Udpsh::run("scripts/chat_client.rhai")
        .var("port", server.port())
        .spawn();
    let (_, from) = server.recv();
    server.send_to("再见", from);
    client.finish().code(1).output_has("再见");
}

#[test]
fn chat_server_script_against_rust_client() {
    let port = free_port();
    let server = Udpsh::run("scripts/chat_server.rhai")
        .var("port", port)
        .spawn();
    wait_bound(port);
    let client = Peer::new();
    client.send_to("Hello", loopback(port));
    let (reply, from) = client.recv();
    assert_eq!(String::from_utf8_lossy(&reply), "你好");
    assert_eq!(from, loopback(port));
    server
        .finish()
        .success()
        .stdout_has("UDP服务器启动...")
        .stdout_has("从客户端接收的消息：Hello");
}

#[test]
fn chat_server_script_replies_then_fails_on_a_wrong_message() {
    let port = free_port();
    let server = Udpsh::run("scripts/chat_server.rhai")
        .var("port", port)
        .spawn();
    wait_bound(port);
    let client = Peer::new();
    client.send_to("Bye", loopback(port));
    let (reply, _) = client.recv();
    assert_eq!(reply, "你好".as_bytes());
    server
        .finish()
        .code(1)
        .stdout_has("从客户端接收的消息：Bye");
}

#[test]
fn chat_client_script_against_python_seed_server() {
    require_python!();
    let mut seed = Seed::new("chat_server.py")
        .env("HOST", "127.0.0.1")
        .env("PORT", 0)
        .spawn();
    let port = seed.announced_port();
    Udpsh::run("scripts/chat_client.rhai")
        .var("port", port)
        .output()
        .success()
        .stdout_has("从服务器端接收消息：你好");
    seed.finish()
        .success()
        .stdout_has("UDP服务器启动...")
        .stdout_has("从客户端接收的消息：Hello");
}

#[test]
fn python_seed_client_against_chat_server_script() {
    require_python!();
    let port = free_port();
    let server = Udpsh::run("scripts/chat_server.rhai")
        .var("port", port)
        .spawn();
    wait_bound(port);
    Seed::new("chat_client.py")
        .env("PORT", port)
        .env("TIMEOUT", 5)
        .output()
        .success()
        .stdout_has("从服务器端接收消息：你好");
    server
        .finish()
        .success()
        .stdout_has("从客户端接收的消息：Hello");
}
