use super::*;

#[test]
fn a_get_request_is_byte_exact() {
    let b = request(Op::Get, b"public", 0x1234, &["1.3.6.1.2.1.1.5.0"]).unwrap();
    let want: &[u8] = &[
        0x30, 0x27, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa0, 0x1a,
        0x02, 0x02, 0x12, 0x34, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06,
        0x08, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x05, 0x00, 0x05, 0x00,
    ];
    assert_eq!(b, want);
    let back = parse(&b).unwrap();
    assert_eq!((back.pdu, back.request_id), ("GetRequest", 0x1234));
    let next = request(Op::GetNext, b"public", 1, &[".1.3.6"]).unwrap();
    assert_eq!(parse(&next).unwrap().pdu, "GetNextRequest");
    assert!(request(Op::Get, b"public", 1, &["1.3.x"]).is_err());
    assert!(request(Op::Get, b"public", 1, &["7.1"]).is_err());
}

/// snmpd's answer to one GetRequest for nine variables (fixtures/protocols/capture.py).
#[test]
fn snmpd_values_read_with_their_types() {
    let r = parse(include_bytes!("../../fixtures/protocols/snmp_get.bin")).unwrap();
    assert_eq!((r.version, r.pdu, r.request_id), (1, "Response", 0x1234));
    assert_eq!(
        (r.error_status, r.community.as_slice()),
        (0, &b"public"[..])
    );
    let kinds: Vec<&str> = r.bindings.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [
            "OBJECT IDENTIFIER",
            "TimeTicks",
            "OCTET STRING",
            "noSuchObject",
            "noSuchInstance",
            "Counter32",
            "Gauge32",
            "Counter64",
            "IpAddress"
        ]
    );
    assert_eq!(r.bindings[0].oid, "1.3.6.1.2.1.1.2.0");
    assert_eq!(
        r.bindings[0].value,
        Value::Text("1.3.6.1.4.1.8072.3.2.10".into())
    );
    assert_eq!(r.bindings[2].value, Value::Text("udpsh test lab".into()));
    assert_eq!(r.bindings[3].value, Value::None);
    assert_eq!(r.bindings[5].value, Value::Int(0xbf30de));
    assert_eq!(r.bindings[6].value, Value::Int(10_000_000));
    assert_eq!(r.bindings[7].value, Value::Int(0xbf30de));
    assert_eq!(r.bindings[8].value, Value::Text("127.0.0.1".into()));
}

#[test]
fn the_end_of_the_mib_is_a_type_and_garbage_an_error() {
    let r = parse(include_bytes!("../../fixtures/protocols/snmp_end.bin")).unwrap();
    assert_eq!(r.bindings[0].kind, "endOfMibView");
    assert_eq!(r.bindings[0].oid, "1.9");
    assert!(parse(b"\x30\x03\x02\x01").is_err());
    assert!(parse(b"hello").is_err());
    assert_eq!(error_name(2), "noSuchName");
    assert_eq!(error_name(99), "error 99");
    assert!(is_under("1.3.6.1.2", "1.3.6"));
    assert!(!is_under("1.3.61", "1.3.6"));
}
