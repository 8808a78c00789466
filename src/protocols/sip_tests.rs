use super::*;

fn spec(method: &str) -> Spec {
    Spec {
        method: method.into(),
        uri: "sip:ping@127.0.0.1:5060".into(),
        local: "127.0.0.1:40000".into(),
        branch: "z9hG4bKabc".into(),
        call_id: "c1@udpsh".into(),
        tag: "t1".into(),
        cseq: 1,
        ..Spec::default()
    }
}

#[test]
fn an_options_request_is_byte_exact() {
    let b = request(&spec("options")).unwrap();
    let want = "OPTIONS sip:ping@127.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:40000;rport;branch=z9hG4bKabc\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:udpsh@127.0.0.1:40000>;tag=t1\r\n\
        To: <sip:ping@127.0.0.1:5060>\r\n\
        Call-ID: c1@udpsh\r\n\
        CSeq: 1 OPTIONS\r\n\
        User-Agent: udpsh\r\n\
        Content-Length: 0\r\n\r\n";
    assert_eq!(String::from_utf8(b).unwrap(), want);
}

#[test]
fn headers_replace_defaults_and_the_body_is_counted() {
    let s = Spec {
        headers: vec![
            ("max-forwards".into(), "5".into()),
            ("Subject".into(), "hi".into()),
            ("Content-Type".into(), "application/sdp".into()),
        ],
        body: b"v=0\r\n".to_vec(),
        ..spec("INVITE")
    };
    let text = String::from_utf8(request(&s).unwrap()).unwrap();
    assert!(text.contains("\r\nmax-forwards: 5\r\n"), "{text}");
    assert!(!text.contains("Max-Forwards: 70"), "{text}");
    assert!(
        text.contains("\r\nContact: <sip:udpsh@127.0.0.1:40000>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("\r\nContent-Type: application/sdp\r\n"),
        "{text}"
    );
    assert!(!text.contains("text/plain"), "{text}");
    assert!(text.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"), "{text}");
    let back = parse(text.as_bytes()).unwrap();
    assert_eq!(back.method.as_deref(), Some("INVITE"));
    assert_eq!(back.body, b"v=0\r\n");
    assert_eq!(back.header("Subject"), Some("hi"));
}

#[test]
fn bad_requests_are_refused() {
    let injected = Spec {
        headers: vec![("Subject".into(), "a\r\nVia: evil".into())],
        ..spec("OPTIONS")
    };
    assert!(request(&injected).unwrap_err().contains("line break"));
    assert!(request(&spec("BAD METHOD")).is_err());
    let spaced = Spec {
        uri: "sip:a b".into(),
        ..spec("OPTIONS")
    };
    assert!(request(&spaced).is_err());
    let counted = Spec {
        headers: vec![("l".into(), "3".into())],
        ..spec("OPTIONS")
    };
    assert!(request(&counted).is_err());
}

/// Kamailio 5.6's answer to an OPTIONS (sl_send_reply), with a header folded and one in
/// compact form added.
#[test]
fn kamailio_reply_parses() {
    let text = "SIP/2.0 200 OK\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:54953;branch=z9hG4bK1234;rport=54953\r\n\
        From: <sip:udpsh@127.0.0.1>;tag=1\r\n\
        To: <sip:ping@127.0.0.1>;tag=a45363010201c12697c26728a1ea42a4.8a19d338\r\n\
        i: abc@127.0.0.1\r\n\
        CSeq: 1 OPTIONS\r\n\
        Server: kamailio\r\n \t(5.6.3 (x86_64/linux))\r\n\
        Record-Route: <sip:a>\r\n\
        Record-Route: <sip:b>\r\n\
        Content-Length: 0\r\n\r\n";
    let m = parse(text.as_bytes()).unwrap();
    assert_eq!((m.status, m.reason.as_deref()), (Some(200), Some("OK")));
    assert_eq!(m.method.as_deref(), Some("OPTIONS"));
    assert_eq!(m.header("call-id"), Some("abc@127.0.0.1"));
    assert_eq!(m.header("Server"), Some("kamailio (5.6.3 (x86_64/linux))"));
    assert_eq!(m.header("record-route"), Some("<sip:a>, <sip:b>"));
    assert_eq!(m.cseq(), Some((1, "OPTIONS".to_string())));
    assert!(answers(&m, "abc@127.0.0.1", &(1, "OPTIONS".into())));
    assert!(!answers(&m, "abc@127.0.0.1", &(2, "OPTIONS".into())));
    assert!(!answers(&m, "other", &(1, "OPTIONS".into())));
    let trying = parse(text.replacen("200 OK", "100 Trying", 1).as_bytes()).unwrap();
    assert!(!answers(&trying, "abc@127.0.0.1", &(1, "OPTIONS".into())));
}

#[test]
fn malformed_messages_are_errors() {
    assert!(parse(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
    assert!(parse(b"SIP/2.0 abc OK\r\n\r\n").is_err());
    assert!(parse(b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n").is_err());
    assert!(parse(b"SIP/2.0 200 OK\r\nContent-Length: 9\r\n\r\nshort").is_err());
    assert!(parse(&[0xff, 0xfe]).is_err());
    assert_eq!(canonical("V"), "via");
}
