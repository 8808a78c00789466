//! The modules' options that real servers need, against the real daemons started here on
//! loopback (as tests/integration/protocols.rs starts them): DNS EDNS0 and TC against dnsmasq,
//! STUN MESSAGE-INTEGRITY and FINGERPRINT against coturn with long-term credentials.

use crate::protocols::{Server, installed, start, strings};
use crate::support::{Udpsh, free_port};

/// dnsmasq with a TXT record of 750 bytes: more than 512, so a reply without EDNS is cut.
fn dnsmasq_big() -> Option<Server> {
    if !installed("dnsmasq") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let big = ["a", "b", "c"].map(|c| c.repeat(250)).join(",");
    let mut args = strings(&[
        "-d",
        "-p",
        &port.to_string(),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--address=/example.test/10.1.2.3",
        &format!("--txt-record=big.test,{big}"),
    ]);
    args.push(format!("--pid-file={}/dnsmasq.pid", dir.path().display()));
    Some(start(
        "dnsmasq",
        &args,
        port,
        dir,
        format!("127.0.0.1:{port}"),
    ))
}

#[test]
fn dns_edns_against_dnsmasq() {
    let Some(server) = dnsmasq_big() else {
        return;
    };
    Udpsh::script(
        "edns.rhai",
        r#"
import "udpsh/dns" as dns;
let s = udp();
let srv = var("server", "");
// Without EDNS the 750-byte answer does not fit in 512 bytes: cut, and TC says so.
let cut = dns::ask(s, srv, "big.test", "TXT");
assert(cut.tc, "tc");
assert_contains(cut.flags, "tc");
assert_eq(cut.answers.len(), 0);
assert_eq(cut.edns, ());
// With it, the whole answer, and the server's OPT record.
let r = dns::ask(s, srv, "big.test", "TXT", #{edns: #{size: 1232, dnssec: true}, timeout: 2.0});
assert(!r.tc, "no tc");
assert_eq(r.rcode, "NOERROR");
assert_eq(r.answers[0].data.len(), 3 * 252 + 2);
assert(r.edns.size >= 512, `size ${r.edns.size}`);
assert_eq(r.edns.dnssec, true);
assert_eq(r.edns.rcode, 0);
assert_eq(type_of(r.edns.options), "array");
// The query itself: an OPT record with the size and the DO bit.
let q = dns::parse(dns::query("example.test", "A", #{edns: #{size: 4096, dnssec: true}}));
assert_eq(q.edns.size, 4096);
assert(q.edns.dnssec);
assert_eq(q.additional, []);
assert_eq(dns::parse(dns::query("example.test", "A", #{edns: true})).edns.size, 1232);
assert_eq(dns::ask(s, srv, "example.test", "A", #{edns: true}).answers[0].data, "10.1.2.3");
try { dns::query("x.test", "A", #{edns: #{dnssec: true, bogus: 1}}); assert(false, "no error"); }
catch (e) { assert_contains(e.message, "dns::query edns has no option 'bogus' (it has size, dnssec)"); }
"#,
    )
    .var("server", &server.addr)
    .output()
    .success();
}

/// turnserver with long-term credentials u:p in realm r, and Binding requests authenticated
/// (`--secure-stun`; by default coturn answers them anonymously).
fn turnserver_long_term() -> Option<Server> {
    if !installed("turnserver") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let args = strings(&[
        "-n",
        "--listening-ip=127.0.0.1",
        &format!("--listening-port={port}"),
        "--no-tls",
        "--no-dtls",
        "--no-cli",
        "--no-tcp",
        "-a",
        "--user=u:p",
        "--realm=r",
        "--secure-stun",
        &format!("--pidfile={}/turnserver.pid", dir.path().display()),
    ]);
    Some(start(
        "turnserver",
        &args,
        port,
        dir,
        format!("127.0.0.1:{port}"),
    ))
}

#[test]
fn stun_integrity_and_fingerprint_against_coturn_with_long_term_credentials() {
    let Some(server) = turnserver_long_term() else {
        return;
    };
    Udpsh::script(
        "stun_auth.rhai",
        r#"
import "udpsh/stun" as stun;
let s = udp("127.0.0.1:0");
let srv = var("server", "");
// Anonymous: refused, with the realm and a nonce to come back with.
let anon = stun::ask(s, srv);
assert_eq(anon.error, "401 Unauthorized");
assert_eq(anon.realm, "r");
assert(anon.nonce != (), "a nonce");
// Signed: the 401 is answered with the nonce, and coturn's response is signed with the same key.
let r = stun::ask(s, srv, #{username: "u", realm: "r", password: "p", timeout: 2.0});
assert_eq(r.type, "Binding Success Response");
assert_eq(r.mapped, s.local_addr);
assert_eq(r.integrity, true);
assert_eq(r.fingerprint, true);
// A wrong password: still refused after the nonce.
let bad = stun::ask(s, srv, #{username: "u", realm: "r", password: "nope"});
assert_eq(bad.error, "401 Unauthorized");
// The same checks on a request made by hand, sent by sendto.
let q = stun::binding(#{username: "u", realm: "r", password: "p", nonce: anon.nonce});
let mine = stun::parse(q, #{username: "u", realm: "r", password: "p"});
assert_eq(mine.integrity, true);
assert_eq(mine.fingerprint, true);
assert_eq(stun::parse(q, #{username: "u", realm: "r", password: "x"}).integrity, false);
assert_eq(stun::parse(q).integrity, ());
// Short-term (ICE): the password is the key.
let ice = stun::binding(#{username: "evtj:h6vY", password: "VOkJxbRl1RmTxUk/WvJxBt"});
assert_eq(stun::parse(ice, #{password: "VOkJxbRl1RmTxUk/WvJxBt"}).integrity, true);
try { stun::binding(#{username: "u"}); assert(false, "no error"); }
catch (e) { assert_contains(e.message, "needs a password"); }
"#,
    )
    .var("server", &server.addr)
    .output()
    .success();
}

/// CoAP as libcoap's coap-server and coap-client spoke it on loopback (cut from a tcpdump
/// capture by bench/wireshark_agreement.py's run): block-wise transfers both ways, Observe,
/// a separate response's empty ACK, a ping and its reset. The expected fields are tshark's.
#[test]
fn coap_block_observe_ack_and_reset_read_as_wireshark_reads_them() {
    Udpsh::eval(
        r#"import "udpsh/coap" as coap;
           fn read(name) { coap::parse(read_file(`fixtures/protocols/coap/${name}.bin`)) }
           let r = read("block1_request");
           assert_eq([r.type, r.code, r.mid, to_hex(r.token)], ["CON", "0.03", 270, "01"]);
           // Block1 10: block 0, more to come, 64 bytes (SZX 2); Size1 the whole 300.
           assert_eq([r.options["Block1"], r.options["Size1"], r.payload.len()], [10, 300, 64]);
           assert_eq(r.options["Uri-Path"], ["example_data"]);
           let r = read("block1_continue");
           assert_eq([r.type, r.code, r.mid, r.options["Block1"]], ["ACK", "2.31", 270, 10]);
           let r = read("block2_response");
           assert_eq([r.type, r.code, r.mid], ["ACK", "2.05", 58371]);
           assert_eq([r.options["Block2"], r.options["Size2"], r.payload.len()], [9, 300, 32]);
           assert_eq(r.options["ETag"], [hex("01")]);
           let q = read("observe_request");
           assert_eq([q.type, q.code, q.options["Observe"]], ["CON", "0.01", 0]);
           let r = read("observe_first");
           assert_eq([r.type, r.code, r.mid, r.options["Observe"]], ["ACK", "2.05", 64052, 2]);
           let n = read("observe_notification");
           assert_eq([n.type, n.code, n.mid, n.options["Observe"]], ["CON", "2.05", 64366, 3]);
           assert_eq(n.token, r.token);
           let a = read("empty_ack");
           assert_eq([a.type, a.code, a.mid, a.token.len(), a.payload.len()], ["ACK", "0.00", 64366, 0, 0]);
           assert_eq([read("ping").type, read("ping").code], ["CON", "0.00"]);
           let rst = read("reset");
           assert_eq([rst.type, rst.code, rst.mid], ["RST", "0.00", read("ping").mid]);
           let s = read("separate_response");
           assert_eq([s.type, s.code, to_hex(s.token), s.payload], ["CON", "2.05", "51aeb411", hex("646f6e65")]);"#,
    )
    .current_dir(crate::support::repo())
    .output()
    .success();
}
