//! `--max-memory` bounds what scripts hold — including what a peer decides the size of (an
//! endless TFTP file, a flood into `collect`) — and only that: a long script's compiled form
//! and the results the runner keeps are udpsh's own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// A TFTP server that never ends the file: full 512-byte blocks, one per ACK, until the
/// client stops asking (or `done`).
fn endless_tftp(peer: Peer, done: Arc<AtomicBool>) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let (_, client) = peer.recv();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let mut block: u16 = 1;
        let mut sent = 0;
        let mut ack = [0u8; 16];
        while !done.load(Ordering::Relaxed) {
            let mut data = vec![0, 3];
            data.extend_from_slice(&block.to_be_bytes());
            data.extend_from_slice(&[b'x'; 512]);
            socket.send_to(&data, client).unwrap();
            sent += 1;
            match socket.recv_from(&mut ack) {
                Ok(_) => block = block.wrapping_add(1),
                Err(_) => break,
            }
        }
        sent
    })
}

#[test]
fn an_endless_tftp_file_stops_at_the_memory_limit() {
    let peer = Peer::new();
    let addr = peer.addr();
    let done = Arc::new(AtomicBool::new(false));
    let server = endless_tftp(peer, done.clone());
    let started = Instant::now();
    Udpsh::script(
        "get.rhai",
        "import \"udpsh/tftp\" as tftp;\nlet s = udp();\n\
         let file = tftp::get(s, var(\"server\", \"\"), \"endless\");\n",
    )
    .var("server", addr)
    .args(["--max-memory", "2M"])
    .timeout(60)
    .output()
    .code(3)
    .stdout_has("over the memory limit")
    .stdout_has("get.rhai:3:");
    done.store(true, Ordering::Relaxed);
    let blocks = server.join().unwrap();
    // 2 MiB is about 4,000 blocks: stopped there, long before the timeout.
    assert!(blocks < 20_000, "{blocks} blocks");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_flood_into_collect_stops_at_the_memory_limit() {
    let mut run = Udpsh::script(
        "flood.rhai",
        "let s = udp(\"127.0.0.1:0\");\nprint(s.local_addr);\nlet all = s.collect(#{timeout: 60});\n",
    )
    .args(["--max-memory", "2M"])
    .timeout(60)
    .spawn();
    let addr: SocketAddr = run.stdout_line().trim().parse().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let flood = {
        let done = done.clone();
        thread::spawn(move || {
            let peer = Peer::new();
            let until = Instant::now() + Duration::from_secs(30);
            while !done.load(Ordering::Relaxed) && Instant::now() < until {
                for _ in 0..64 {
                    peer.send_to([b'f'; 1000], addr);
                }
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let out = run.finish();
    done.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    out.code(3)
        .stdout_has("over the memory limit")
        .stdout_has("flood.rhai:3:");
}

#[test]
fn a_long_script_counts_its_data_not_its_compiled_form() {
    // Over 100 MB of syntax tree for 2 MB of text: far over an 8 MiB budget by itself.
    let long = format!("let x = 1;\n{}print(x);\n", "x += 1;\n".repeat(240_000));
    Udpsh::script("long.rhai", &long)
        .args(["--max-memory", "8M"])
        .timeout(60)
        .output()
        .success()
        .stdout_has("240001");
    // Its data still counts.
    Udpsh::script(
        "grows.rhai",
        &(long.clone() + "let s = \"ab\";\nloop { s += s }\n"),
    )
    .args(["--max-memory", "8M"])
    .timeout(60)
    .output()
    .code(3)
    .stdout_has("over the memory limit");
}

#[test]
fn results_a_long_repeat_keeps_are_not_the_scripts() {
    // Each run keeps a result; thousands of them are udpsh's, not the next script's.
    // A third of the budget, each run (a blob may be an eighth of it).
    Udpsh::script(
        "s.rhai",
        "let a = blob(120000); let b = blob(120000); let c = blob(100000);",
    )
    .args(["--max-memory", "1M", "--repeat", "6000", "-q"])
    .timeout(60)
    .output()
    .success()
    .stdout_has("6000 scripts: 6000 passed");
}
