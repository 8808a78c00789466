//! Whatever arrives, the parsers of radius, snmp, sip, syslog and coap answer with a value or
//! an error, never a panic: random datagrams, and real ones cut or with a byte changed.

use crate::random::Random;

fn all_parsers(b: &[u8]) {
    let _ = super::radius::parse(b);
    let _ = super::radius::verify_reply(b, b, b"k");
    let _ = super::radius::verify_request(b, b"k");
    let _ = super::snmp::parse(b);
    let _ = super::sip::parse(b);
    let _ = super::syslog::parse(&String::from_utf8_lossy(b));
    let _ = super::coap::parse(b);
}

#[test]
fn no_datagram_makes_a_parser_panic() {
    let r = Random::seeded(1, "garbage");
    for _ in 0..3000 {
        let len = r.int_in(0, 300).unwrap_or(0) as usize;
        all_parsers(&r.bytes(len));
    }
    let real: [&[u8]; 3] = [
        include_bytes!("../../fixtures/protocols/snmp_get.bin"),
        include_bytes!("../../fixtures/protocols/coap_core.bin"),
        b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 2\r\n\r\nhi",
    ];
    for b in real {
        for cut in 0..b.len() {
            all_parsers(&b[..cut]);
            let mut changed = b.to_vec();
            changed[cut] = changed[cut].wrapping_add(r.int_in(1, 255).unwrap_or(1) as u8);
            all_parsers(&changed);
        }
    }
}
