//! upload_server.rhai / upload_client.rhai (seed 000, 17.3.3 文件上传工具): byte-exact, with
//! non-ASCII text (chunk boundaries inside characters) and a binary file of all 256 byte values.

use crate::require_python;
use crate::support::*;

const FIXTURES: [&str; 2] = ["test.txt", "binary.bin"];

#[test]
fn upload_client_script_sends_1024_byte_chunks_then_bye() {
    for name in FIXTURES {
        let want = read_fixture(name);
        let server = Peer::new();
        let client = Udpsh::run("scripts/upload_client.rhai")
            .var("port", server.port())
            .var("file", format!("fixtures/{name}"))
            .spawn();
        let chunks = server.recv_upload();
        client
            .finish()
            .success()
            .stdout_has("客户端数据发送完成...");
        let sizes: Vec<usize> = chunks.iter().map(Vec::len).collect();
        let (last, full) = sizes.split_last().unwrap();
        assert!(
            full.iter().all(|&n| n == 1024),
            "{name}: chunk sizes {sizes:?}"
        );
        assert!(*last >= 1 && *last <= 1024, "{name}: chunk sizes {sizes:?}");
        assert_eq!(chunks.concat(), want, "{name} arrived changed");
    }
}

#[test]
fn upload_client_script_default_file_from_another_directory() {
    // The default file is found next to the script, whatever the current directory.
    let tmp = tempfile::tempdir().unwrap();
    let script = repo().join("scripts/upload_client.rhai");
    let server = Peer::new();
    let client = Udpsh::run(script.to_str().unwrap())
        .var("port", server.port())
        .current_dir(tmp.path())
        .spawn();
    let chunks = server.recv_upload();
    client.finish().success();
    assert_eq!(chunks.len(), 4);
    assert_eq!(chunks.concat(), read_fixture("test.txt"));
}

#[test]
fn upload_server_script_writes_what_a_rust_client_sent() {
    let tmp = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let want = read_fixture(name);
        let out = tmp.path().join(format!("copy-{name}"));
        let port = free_port();
        let server = Udpsh::run("scripts/upload_server.rhai")
            .var("port", port)
            .var("out", out.display())
            .spawn();
        wait_bound(port);
        Peer::new().send_upload(&want, 1024, loopback(port));
        server
            .finish()
            .success()
            .stdout_has("服务器启动...")
            .stdout_has("服务器接收完成。");
        assert_eq!(std::fs::read(&out).unwrap(), want, "{name} written changed");
    }
}

#[test]
fn upload_server_script_keeps_datagrams_longer_than_1024_bytes() {
    // The seed's client reads 1024 *characters*: Chinese text makes datagrams of up to ~3 KB.
    let text = String::from_utf8(read_fixture("test.txt")).unwrap();
    let chunks = char_chunks(&text, 1024);
    assert!(chunks.iter().any(|c| c.len() > 1024));
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("testcopy.txt");
    let port = free_port();
    let server = Udpsh::run("scripts/upload_server.rhai")
        .var("port", port)
        .var("out", out.display())
        .spawn();
    wait_bound(port);
    let client = Peer::new();
    for chunk in &chunks {
        client.send_to(chunk, loopback(port));
    }
    client.send_to("bye", loopback(port));
    server.finish().success();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), text);
}

#[test]
fn upload_server_script_serves_several_uploads() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("copy");
    let port = free_port();
    let server = Udpsh::run("scripts/upload_server.rhai")
        .var("port", port)
        .var("out", out.display())
        .var("uploads", 2)
        .spawn();
    wait_bound(port);
    let client = Peer::new();
    client.send_upload(&read_fixture("binary.bin"), 1024, loopback(port));
    client.send_upload(&read_fixture("test.txt"), 1024, loopback(port));
    let done = server.finish().success();
    assert_eq!(done.stdout_count("服务器接收完成。"), 2, "{}", done.stdout);
    assert_eq!(std::fs::read(&out).unwrap(), read_fixture("test.txt"));
}

#[test]
fn upload_client_script_against_python_seed_server() {
    require_python!();
    let tmp = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let out = tmp.path().join(format!("copy-{name}"));
        let mut seed = Seed::new("upload_server.py")
            .env("HOST", "127.0.0.1")
            .env("PORT", 0)
            .env("UPLOADS", 1)
            .env("OUT", out.display())
            .spawn();
        let port = seed.announced_port();
        Udpsh::run("scripts/upload_client.rhai")
            .var("port", port)
            .var("file", format!("fixtures/{name}"))
            .output()
            .success()
            .stdout_has("客户端数据发送完成...");
        seed.finish()
            .success()
            .stdout_has("服务器启动...")
            .stdout_has("服务器接收完成。");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            read_fixture(name),
            "{name} arrived changed"
        );
    }
}

#[test]
fn python_seed_client_against_upload_server_script() {
    require_python!();
    let tmp = tempfile::tempdir().unwrap();
    // bytes mode for both files; "text" is the seed exactly (1024 characters a datagram)
    for (name, mode) in [
        ("test.txt", "bytes"),
        ("binary.bin", "bytes"),
        ("test.txt", "text"),
    ] {
        let out = tmp.path().join(format!("{mode}-{name}"));
        let port = free_port();
        let server = Udpsh::run("scripts/upload_server.rhai")
            .var("port", port)
            .var("out", out.display())
            .spawn();
        wait_bound(port);
        Seed::new("upload_client.py")
            .env("PORT", port)
            .env("FILE", fixture(name).display())
            .env("MODE", mode)
            .output()
            .success()
            .stdout_has("客户端数据发送完成...");
        server.finish().success().stdout_has("服务器接收完成。");
        assert_eq!(
            std::fs::read(&out).unwrap(),
            read_fixture(name),
            "{name} ({mode}) changed"
        );
    }
}

#[test]
fn fixtures_are_what_the_upload_tests_need() {
    // test.txt: UTF-8, several chunks, every 1024-byte boundary inside a multi-byte character
    let text = read_fixture("test.txt");
    assert!(std::str::from_utf8(&text).is_ok());
    assert!(text.len() > 3 * 1024);
    for at in (1024..text.len()).step_by(1024) {
        assert_eq!(
            text[at] & 0xC0,
            0x80,
            "byte {at} does not split a character"
        );
    }
    // binary.bin: every byte value, not UTF-8, not a multiple of 1024 long
    let bin = read_fixture("binary.bin");
    let mut seen = [false; 256];
    bin.iter().for_each(|&b| seen[b as usize] = true);
    assert!(seen.iter().all(|&s| s));
    assert!(std::str::from_utf8(&bin).is_err());
    assert_ne!(bin.len() % 1024, 0);
}
