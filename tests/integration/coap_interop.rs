//! CoAP block-wise transfers and Observe (coap::ask, coap::observe) and the conformance pack
//! scripts/conformance/coap_core.rhai, against libcoap's coap-server; a server here in Rust
//! for what coap-server never does (asking for smaller blocks).

use std::thread;

use udpsh::protocols::coap::{self, Block};

use crate::protocols::{Server, coap_server_with};
use crate::services::script;
use crate::support::{Peer, Udpsh};

/// coap-server-notls that also creates resources on PUT and POST (`-d`), as the pack's
/// TD_COAP_CORE_02 (DELETE) and _18 (POST that creates) need.
fn coap_server_dynamic() -> Option<Server> {
    coap_server_with(&["-d", "20"])
}

#[test]
fn the_coap_conformance_pack_passes_against_coap_server() {
    let Some(server) = coap_server_dynamic() else {
        return;
    };
    Udpsh::run("scripts/conformance/coap_core.rhai")
        .var("server", &server.addr)
        .output()
        .success()
        .stdout_has("21 tests: 21 passed");
}

#[test]
fn blockwise_transfers_and_observe_against_coap_server() {
    let Some(server) = coap_server_dynamic() else {
        return;
    };
    let out = script(
        "blocks.rhai",
        r#"
import "udpsh/coap" as coap;
let s = udp();
let srv = var("server", "");
// libcoap's /example_data is 1500 bytes: two blocks of 1024, or 24 of 64.
let whole = coap::ask(s, srv, "GET", "/example_data");
assert_eq([whole.code, whole.payload.len(), whole.blocks], ["2.05", 1500, 2]);
let small = coap::ask(s, srv, "GET", "/example_data", #{block: 64});
assert_eq([small.payload, small.blocks], [whole.payload, 24]);
// 5000 bytes in 1024-byte Block1 blocks, then read back in Block2 blocks.
let data = random_bytes(5000);
let put = coap::ask(s, srv, "PUT", "/big", data);
assert_eq([put.code, put.blocks], ["2.01", 5]);
assert_eq(coap::ask(s, srv, "GET", "/big").payload, data);
try { coap::ask(s, srv, "GET", "/big", #{block: 100}); assert(false); }
catch (e) { assert_contains(e.message, "block 100 is not a block size"); }
// /time notifies every second; the registration's response is the first notification.
let n = coap::observe(s, srv, "/time", 2, #{timeout: 2.0});
assert_eq(n.len(), 2);
assert_eq(n[0].type, "ACK");
assert(n[1].options.Observe > n[0].options.Observe);
"#,
        &server,
    )
    .arg("-v")
    .output()
    .success();
    // The last exchange deregisters: Observe 1 (option 6, one byte: 61 01).
    let sends: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with("→ ")).collect();
    assert!(
        sends.last().is_some_and(|l| l.contains(" 61 01 ")),
        "{}",
        out.dump()
    );
}

/// A piggybacked response with one block option (Block2 is 23, Block1 27: delta 13 and the
/// rest in an extra byte) and a payload.
fn ack(request: &coap::Message, code: u8, option: u8, block: Block, payload: &[u8]) -> Vec<u8> {
    let [hi, lo] = request.mid.to_be_bytes();
    let mut b = vec![0x60 | request.token.len() as u8, code, hi, lo];
    b.extend_from_slice(&request.token);
    let value = coap::uint_bytes(block.to_uint());
    b.push(0xd0 | value.len() as u8);
    b.push(option - 13);
    b.extend_from_slice(&value);
    if !payload.is_empty() {
        b.push(0xff);
        b.extend_from_slice(payload);
    }
    b
}

/// A server that answers the first Block1 block with 2.31 and 256-byte blocks: the client
/// goes on from byte 1024 in blocks of 256 (block 4, RFC 7959 §2.5's example).
#[test]
fn block1_takes_the_smaller_size_the_server_asks_for() {
    let peer = Peer::new();
    let addr = peer.addr();
    let server = thread::spawn(move || {
        let mut got = Vec::new();
        let mut blocks = Vec::new();
        loop {
            let (data, from) = peer.recv();
            let req = coap::parse(&data).unwrap();
            let b = Block::in_message(&req, "Block1").unwrap();
            blocks.push((b.num, b.size()));
            got.extend_from_slice(&req.payload);
            let more = b.more;
            let (code, szx) = if more { (0x5f, 4) } else { (0x44, b.szx) };
            let reply = ack(&req, code, 27, Block { szx, ..b }, &[]);
            peer.sock.send_to(&reply, from).unwrap();
            if !more {
                return (got, blocks);
            }
        }
    });
    Udpsh::script(
        "shrink.rhai",
        r#"
import "udpsh/coap" as coap;
let r = coap::ask(udp(), var("server", ""), "PUT", "/up", blob(3000, 7), #{timeout: 2.0});
assert_eq([r.code, r.blocks], ["2.04", 9]);
"#,
    )
    .var("server", addr)
    .output()
    .success();
    let (got, blocks) = server.join().unwrap();
    assert_eq!(got, vec![7; 3000]);
    let mut want = vec![(0, 1024)];
    want.extend((4..12).map(|n| (n, 256)));
    assert_eq!(blocks, want);
}

/// A Block2 block shorter than its size that says more follow would have the client ask for
/// the same bytes again and again: it is an error.
#[test]
fn a_short_block2_block_that_says_more_follow_is_an_error() {
    let peer = Peer::new();
    let addr = peer.addr();
    let server = thread::spawn(move || {
        let (data, from) = peer.recv();
        let req = coap::parse(&data).unwrap();
        let block = Block {
            num: 0,
            more: true,
            szx: 6,
        };
        let reply = ack(&req, 0x45, 23, block, &[b'x'; 100]);
        peer.sock.send_to(&reply, from).unwrap();
    });
    Udpsh::script(
        "short.rhai",
        r#"
import "udpsh/coap" as coap;
coap::ask(udp(), var("server", ""), "GET", "/big");
"#,
    )
    .var("server", addr)
    .output()
    .code(3)
    .stdout_has(
        "block 0 has 100 bytes and says more follow, but every block before the last has 1024",
    );
    server.join().unwrap();
}
