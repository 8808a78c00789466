use super::*;

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 2865 §7.1: user nemo, password arctangent, secret xyzzy5461.
const REQUEST: &str = "01 00 00 38 0f 40 3f 94 73 97 80 57 bd 83 d5 cb
    98 f4 22 7a 01 06 6e 65 6d 6f 02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee
    04 06 c0 a8 01 10 05 06 00 00 00 03";
const ACCEPT: &str = "02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf
    9b 55 e0 b2 06 06 00 00 00 01 0f 06 00 00 00 00 0e 06 c0 a8 01 03";

fn attrs(list: &[(&str, Value)]) -> Vec<(u8, Vec<u8>)> {
    list.iter()
        .map(|(name, v)| {
            let (n, kind) = attribute(name).unwrap();
            (n, encode_value(name, kind, v).unwrap())
        })
        .collect()
}

#[test]
fn the_rfc_2865_access_request_is_byte_exact() {
    let want = unhex(REQUEST);
    let mut random = [0; 16];
    random.copy_from_slice(&want[4..20]);
    let list = attrs(&[
        ("User-Name", Value::Text("nemo".into())),
        ("User-Password", Value::Text("arctangent".into())),
        ("NAS-IP-Address", Value::Text("192.168.1.16".into())),
        ("NAS-Port", Value::Int(3)),
    ]);
    let b = request(1, 0, &list, b"xyzzy5461", random, false).unwrap();
    assert_eq!(b, want);
    let p = parse(&b).unwrap();
    assert_eq!(
        reveal_password(&p.attrs[1].1, b"xyzzy5461", &p.authenticator),
        b"arctangent"
    );
    assert_eq!(verify_request(&b, b"xyzzy5461"), None);
}

#[test]
fn the_rfc_2865_accept_verifies_against_its_request() {
    let (req, acc) = (unhex(REQUEST), unhex(ACCEPT));
    assert!(verify_reply(&acc, &req, b"xyzzy5461"));
    assert!(!verify_reply(&acc, &req, b"wrong"));
    let mut other = req.clone();
    other[1] = 9;
    assert!(!verify_reply(&acc, &other, b"xyzzy5461"));
    let p = parse(&acc).unwrap();
    let (name, kind) = attribute_name(p.attrs[0].0);
    assert_eq!(name, "Service-Type");
    assert_eq!(
        decode_value(&name, kind, &p.attrs[0].1),
        Value::Text("Login-User".into())
    );
    let (name, kind) = attribute_name(p.attrs[2].0);
    assert_eq!(
        decode_value(&name, kind, &p.attrs[2].1),
        Value::Text("192.168.1.3".into())
    );
}

#[test]
fn a_reply_made_here_verifies_with_its_message_authenticator() {
    let list = attrs(&[("User-Name", Value::Text("alice".into()))]);
    let req = request(1, 7, &list, b"s3cret", [5; 16], true).unwrap();
    assert_eq!(verify_request(&req, b"s3cret"), Some(true));
    assert_eq!(verify_request(&req, b"other"), Some(false));
    let reply_attrs = attrs(&[("Reply-Message", Value::Text("hi".into()))]);
    let rep = reply(2, &parse(&req).unwrap(), &reply_attrs, b"s3cret", true).unwrap();
    assert!(verify_reply(&rep, &req, b"s3cret"));
    // A changed byte in the Message-Authenticator alone is caught.
    let mut bad = rep.clone();
    let at = message_authenticator_at(&bad).unwrap();
    bad[at] ^= 1;
    let sum = md5_of(&[
        &[
            &bad[..4],
            &parse(&req).unwrap().authenticator[..],
            &bad[20..],
        ]
        .concat(),
        b"s3cret",
    ]);
    bad[4..20].copy_from_slice(&sum);
    assert!(!verify_reply(&bad, &req, b"s3cret"));
}

#[test]
fn accounting_requests_hash_their_authenticator() {
    let list = attrs(&[
        ("Acct-Status-Type", Value::Text("Start".into())),
        ("Acct-Session-Id", Value::Text("s1".into())),
    ]);
    let req = request(4, 1, &list, b"k", [9; 16], false).unwrap();
    assert_ne!(&req[4..20], &[9; 16]);
    assert_eq!(verify_request(&req, b"k"), Some(true));
    assert_eq!(verify_request(&req, b"j"), Some(false));
    let with_ma = request(4, 1, &list, b"k", [9; 16], true).unwrap();
    assert_eq!(verify_request(&with_ma, b"k"), Some(true));
}

#[test]
fn long_passwords_and_bad_values_are_refused() {
    let hidden = hide_password(&[b'x'; 40], b"k", &[1; 16]).unwrap();
    assert_eq!(hidden.len(), 48);
    assert_eq!(reveal_password(&hidden, b"k", &[1; 16]), vec![b'x'; 40]);
    assert!(hide_password(&[0; 129], b"k", &[1; 16]).is_err());
    let (n, kind) = attribute("NAS-IP-Address").unwrap();
    assert_eq!(n, 4);
    assert!(encode_value("NAS-IP-Address", kind, &Value::Text("nope".into())).is_err());
    assert!(encode_value("Service-Type", Kind::Integer, &Value::Text("Nope".into())).is_err());
    assert!(encode_value("Reply-Message", Kind::Text, &Value::Text("x".repeat(254))).is_err());
    assert_eq!(attribute("Attr-200"), Some((200, Kind::Octets)));
    assert_eq!(attribute("attr-18"), None);
    assert_eq!(attribute("user-name"), Some((1, Kind::Text)));
    assert!(parse(&[1, 2, 0, 30]).is_err());
    assert!(parse(&unhex("01 00 00 16 00000000000000000000000000000000 01 05")).is_err());
    assert_eq!(code_name(99), "Code-99");
    assert_eq!(code_number("access-accept"), Some(2));
}
