//! send.rhai / receive.rhai (seed 001, "发送数据" / "接收数据").

use std::time::Duration;

use crate::require_python;
use crate::support::*;

#[test]
fn send_script_sends_the_message_var() {
    let receiver = Peer::new();
    Udpsh::run("scripts/send.rhai")
        .var("port", receiver.port())
        .var("message", "Hello 你好")
        .output()
        .success();
    let (data, from) = receiver.recv();
    assert_eq!(String::from_utf8(data).unwrap(), "Hello 你好");
    assert_eq!(from.ip().to_string(), "127.0.0.1");
    receiver.recv_nothing(Duration::from_millis(100));
}

#[test]
fn send_script_asks_for_the_message_like_the_seed() {
    let receiver = Peer::new();
    Udpsh::run("scripts/send.rhai")
        .var("port", receiver.port())
        .stdin("从键盘输入的数据\n")
        .output()
        .success()
        .stdout_has("请输入要发送的数据:");
    assert_eq!(
        String::from_utf8(receiver.recv().0).unwrap(),
        "从键盘输入的数据"
    );
}

#[test]
fn send_script_fails_when_stdin_is_empty() {
    let receiver = Peer::new();
    Udpsh::run("scripts/send.rhai")
        .var("port", receiver.port())
        .output()
        .code(1)
        .output_has("nothing to send");
    receiver.recv_nothing(Duration::from_millis(100));
}

#[test]
fn receive_script_prints_data_and_sender() {
    let port = free_port();
    let receiver = Udpsh::run("scripts/receive.rhai").var("port", port).spawn();
    wait_bound(port);
    let sender = Peer::new();
    sender.send_to("Hello 你好", loopback(port));
    receiver
        .finish()
        .success()
        .stdout_has("Hello 你好")
        .stdout_has(&sender.addr().to_string());
}

#[test]
fn receive_script_asserts_the_expected_text() {
    let port = free_port();
    let receiver = Udpsh::run("scripts/receive.rhai")
        .var("port", port)
        .var("expect", "ping")
        .spawn();
    wait_bound(port);
    Peer::new().send_to("pong", loopback(port));
    receiver.finish().code(1).output_has("pong");
}

#[test]
fn send_script_to_receive_script() {
    let port = free_port();
    let receiver = Udpsh::run("scripts/receive.rhai")
        .var("port", port)
        .var("expect", "脚本到脚本")
        .spawn();
    wait_bound(port);
    Udpsh::run("scripts/send.rhai")
        .var("port", port)
        .var("message", "脚本到脚本")
        .output()
        .success();
    receiver.finish().success().stdout_has("脚本到脚本");
}

#[test]
fn send_script_against_python_seed_receiver() {
    require_python!();
    let mut seed = Seed::new("receive.py")
        .env("HOST", "127.0.0.1")
        .env("PORT", 0)
        .spawn();
    let port = seed.announced_port();
    Udpsh::run("scripts/send.rhai")
        .var("port", port)
        .var("message", "Hello from udpsh")
        .output()
        .success();
    seed.finish()
        .success()
        .stdout_has("(b'Hello from udpsh', ('127.0.0.1', ");
}

#[test]
fn python_seed_sender_against_receive_script() {
    require_python!();
    let port = free_port();
    let receiver = Udpsh::run("scripts/receive.rhai")
        .var("port", port)
        .var("expect", "来自 Python 的数据")
        .spawn();
    wait_bound(port);
    Seed::new("send.py")
        .env("PORT", port)
        .stdin("来自 Python 的数据\n")
        .output()
        .success()
        .stdout_has("请输入要发送的数据:");
    receiver.finish().success().stdout_has("来自 Python 的数据");
}
