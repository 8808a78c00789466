//! RFC 5769's test vectors byte for byte, coturn's real replies, and hand-made classic and
//! ChannelData messages.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const REQUEST: &str = "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
const RESPONSE_V4: &str = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
const RESPONSE_V6: &str = "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c";
const LONG_TERM: &str = "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666";
const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";

fn short_term() -> Credentials {
    Credentials {
        password: PASSWORD.into(),
        ..Credentials::default()
    }
}

fn long_term() -> Credentials {
    Credentials {
        username: Some("マトリックス".into()),
        realm: Some("example.org".into()),
        // SASLprep("The\u{ad}M\u{aa}tr\u{2168}"), as RFC 5769 §2.4 gives it.
        password: "TheMatrIX".into(),
    }
}

/// The vector's attributes up to MESSAGE-INTEGRITY (cut there), then signed again by us.
fn resigned(vector: &[u8], creds: &Credentials, with_fingerprint: bool) -> Vec<u8> {
    let mi = (20..vector.len())
        .step_by(4)
        .find(|&i| vector[i..i + 2] == [0, 8])
        .unwrap();
    let mut msg = vector[..mi].to_vec();
    sign(&mut msg, Some(&creds.key()), with_fingerprint);
    msg
}

#[test]
fn rfc_5769_sample_request() {
    let v = hex(REQUEST);
    let m = parse_with(&v, Some(&short_term())).unwrap();
    assert_eq!(m.kind, "Binding Request");
    assert_eq!((m.integrity, m.fingerprint), (Some(true), true));
    assert_eq!(m.username.as_deref(), Some("evtj:h6vY"));
    assert_eq!(m.software.as_deref(), Some("STUN test client"));
    assert_eq!(resigned(&v, &short_term(), true), v);
    // Without a key the integrity is not known; with a wrong one it is false.
    assert_eq!(parse(&v).unwrap().integrity, None);
    let wrong = Credentials {
        password: "nope".into(),
        ..Credentials::default()
    };
    assert_eq!(parse_with(&v, Some(&wrong)).unwrap().integrity, Some(false));
    // One bit changed: neither the integrity nor the fingerprint holds.
    let mut bent = v.clone();
    bent[30] ^= 1;
    let m = parse_with(&bent, Some(&short_term())).unwrap();
    assert_eq!((m.integrity, m.fingerprint), (Some(false), false));
}

#[test]
fn rfc_5769_sample_responses() {
    for (vector, mapped) in [
        (RESPONSE_V4, "192.0.2.1:32853"),
        (RESPONSE_V6, "[2001:db8:1234:5678:11:2233:4455:6677]:32853"),
    ] {
        let v = hex(vector);
        let m = parse_with(&v, Some(&short_term())).unwrap();
        assert_eq!(m.kind, "Binding Success Response");
        assert_eq!(m.mapped.as_deref(), Some(mapped));
        assert_eq!((m.integrity, m.fingerprint), (Some(true), true));
        assert_eq!(m.software.as_deref(), Some("test vector"));
        assert_eq!(resigned(&v, &short_term(), true), v);
    }
}

#[test]
fn rfc_5769_long_term_request() {
    let v = hex(LONG_TERM);
    let m = parse_with(&v, Some(&long_term())).unwrap();
    assert_eq!(m.integrity, Some(true));
    assert!(!m.fingerprint);
    assert_eq!(m.nonce.as_deref(), Some("f//499k954d6OL34oL9FSTvy64sA"));
    assert_eq!(m.realm.as_deref(), Some("example.org"));
    assert_eq!(resigned(&v, &long_term(), false), v);
    // Our own request carries the same key's integrity and a fingerprint.
    let t: [u8; 12] = v[8..20].try_into().unwrap();
    let ours = signed_binding(t, &long_term(), m.nonce.as_deref());
    let back = parse_with(&ours, Some(&long_term())).unwrap();
    assert_eq!((back.integrity, back.fingerprint), (Some(true), true));
    assert_eq!(back.username, m.username);
    assert_eq!((back.realm, back.nonce), (m.realm, m.nonce));
}

#[test]
fn rfc_3489_classic_messages_and_channel_data() {
    // A Binding Response without the magic cookie: a 16-byte transaction id, MAPPED-ADDRESS.
    let classic = hex("0101000c 000102030405060708090a0b0c0d0e0f 0001 0008 0001 1f90 c0000201");
    let m = parse(&classic).unwrap();
    assert!(m.classic);
    assert_eq!(m.kind, "Binding Success Response");
    assert_eq!(m.transaction, (0..16).collect::<Vec<u8>>());
    assert_eq!(m.mapped.as_deref(), Some("192.0.2.1:8080"));
    let data = parse(&hex("4001 0003 616263")).unwrap();
    assert_eq!(
        (data.kind.as_str(), data.channel),
        ("ChannelData", Some(0x4001))
    );
    assert_eq!(data.data, b"abc");
    assert!(parse(&hex("4001 0009 616263")).is_err());
    assert_eq!(
        parse(&hex("0113 0000 2112a442 000000000000000000000000"))
            .unwrap()
            .kind,
        "Allocate Error Response"
    );
}

#[test]
fn binding_request_bytes() {
    let t: [u8; 12] = std::array::from_fn(|i| i as u8 + 1);
    let b = binding(t);
    assert_eq!(&b[..8], &[0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
    assert_eq!(&b[8..], &t);
}

#[test]
fn coturn_response_parses() {
    // turnserver --stun-only answering a request from 127.0.0.1 (transaction 01..0c).
    let m = parse(include_bytes!("../../fixtures/protocols/stun_reply.bin")).unwrap();
    assert_eq!(m.kind, "Binding Success Response");
    assert_eq!(m.transaction, (1..=12).collect::<Vec<u8>>());
    assert!(
        m.mapped.as_deref().unwrap().starts_with("127.0.0.1:"),
        "{m:?}"
    );
    assert!(parse(&[0; 19]).is_err());
    assert!(parse(&[0; 20]).is_err());
}

#[test]
fn coturn_ipv6_response_is_unmasked_with_the_transaction_id() {
    // turnserver --stun-only on ::1 answering [::1]:58843 (transaction 01..0c).
    let reply = include_bytes!("../../fixtures/protocols/stun_reply_v6.bin");
    assert_eq!(parse(reply).unwrap().mapped.as_deref(), Some("[::1]:58843"));
    // XOR-MAPPED-ADDRESS alone (the first attribute, 4 + 20 bytes), without the plain
    // MAPPED-ADDRESS that coturn adds.
    let mut only_xor = reply[..20].to_vec();
    only_xor[2..4].copy_from_slice(&24u16.to_be_bytes());
    only_xor.extend_from_slice(&reply[20..44]);
    assert_eq!(&only_xor[20..22], &[0x00, 0x20]);
    assert_eq!(
        parse(&only_xor).unwrap().mapped.as_deref(),
        Some("[::1]:58843")
    );
    // An IPv6 address is masked with the cookie and the transaction id: change the id
    // and the same bytes mean another address.
    only_xor[19] ^= 0xff;
    assert_eq!(
        parse(&only_xor).unwrap().mapped.as_deref(),
        Some("[::fe]:58843")
    );
}
