//! Byte vectors: real replies of dnsmasq (fixtures/protocols/dns_*.bin), and one reply per class
//! of record data (fixtures/protocols/dns/, made by make_dns.py) next to what dig printed for it.

use super::*;

/// Header (id 0x1234, RD, one question), example.test, type A, class IN.
const QUERY: &str = "123401000001000000000000076578616d706c6504746573740000010001";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn query_is_byte_exact() {
    assert_eq!(
        hex(&query(0x1234, "example.test", "A", None).unwrap()),
        QUERY
    );
    assert!(query(1, "example.test", "BOGUS", None).is_err());
    // An OPT record: root, type 41, payload size 1232, DO set, no options.
    let q = query(
        0x1234,
        "example.test",
        "A",
        Some(EdnsQuery {
            size: 1232,
            dnssec: true,
        }),
    )
    .unwrap();
    assert_eq!(
        hex(&q),
        "123401000001000000000001076578616d706c650474657374000001000100002904d0000080000000"
    );
    let parsed = parse(&q).unwrap();
    let edns = parsed.edns.unwrap();
    assert_eq!((edns.size, edns.dnssec, edns.rcode), (1232, true, 0));
    assert!(parsed.additional.is_empty());
}

#[test]
fn names_are_checked_and_escapes_read() {
    assert!(
        query(1, "a..b", "A", None)
            .unwrap_err()
            .contains("an empty label")
    );
    let long = "x".repeat(64) + ".test";
    assert!(
        query(1, &long, "A", None)
            .unwrap_err()
            .contains("more than 63")
    );
    assert!(query(1, "example.test.", "A", None).is_ok());
    assert!(query(1, ".", "NS", None).is_ok());
    // `\.` inside a label, `\DDD` a byte: what dig prints reads back as the same name.
    let q = query(7, "a\\.b.\\000\\255.sp\\032ace.arpa", "PTR", None).unwrap();
    assert_eq!(
        parse(&q).unwrap().questions[0].name,
        "a\\.b.\\000\\255.sp\\032ace.arpa"
    );
    assert!(
        query(1, "a\\25", "A", None)
            .unwrap_err()
            .contains("three digits")
    );
}

#[test]
fn dnsmasq_replies_parse() {
    let m = parse(include_bytes!("../../../fixtures/protocols/dns_a.bin")).unwrap();
    assert_eq!(m.rcode, "NOERROR");
    assert!(m.flags.contains(&"qr"));
    assert_eq!(m.questions[0].name, "example.test");
    assert_eq!(m.answers[0].rtype, "A");
    assert_eq!(m.answers[0].data, "10.1.2.3");
    let nx = parse(include_bytes!("../../../fixtures/protocols/dns_nx.bin")).unwrap();
    assert_eq!(nx.rcode, "NXDOMAIN");
    let mx = parse(include_bytes!("../../../fixtures/protocols/dns_mx.bin")).unwrap();
    assert_eq!(mx.answers[0].data, "10 mail.example.test");
    assert!(parse(&[1, 2, 3]).is_err());
}

/// dig's data with the root's dot taken off each name ("mail.x.test." → "mail.x.test").
fn without_final_dots(data: &str) -> String {
    let chars: Vec<char> = data.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let ends_token = chars.get(i + 1).is_none_or(|n| n.is_whitespace());
        let after_text = i > 0 && !chars[i - 1].is_whitespace();
        let backslashes = chars[..i].iter().rev().take_while(|&&b| b == '\\').count();
        if c == '.' && ends_token && after_text && backslashes % 2 == 0 {
            continue;
        }
        out.push(c);
    }
    out
}

/// The status and the records (owner, ttl, class, type, data) of a dig output.
fn dig(text: &str) -> (String, Vec<[String; 5]>) {
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .to_string();
    let mut records = Vec::new();
    for line in text.lines() {
        if line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        let mut fields: Vec<String> = Vec::new();
        let mut rest = line;
        for _ in 0..4 {
            rest = rest.trim_start();
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            fields.push(rest[..end].to_string());
            rest = &rest[end..];
        }
        let class = fields[2].replace("RESERVED0", "CLASS0");
        records.push([
            fields[0].clone(),
            fields[1].clone(),
            class,
            fields[3].clone(),
            without_final_dots(rest.trim()),
        ]);
    }
    (status, records)
}

#[test]
fn every_record_reads_as_dig_prints_it() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/protocols/dns");
    let mut compared = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "bin") {
            continue;
        }
        let ours = parse(&std::fs::read(&path).unwrap()).unwrap();
        let (status, theirs) = dig(&std::fs::read_to_string(path.with_extension("dig")).unwrap());
        assert_eq!(ours.rcode, status, "{}", path.display());
        let records: Vec<&Record> = ours
            .answers
            .iter()
            .chain(&ours.authority)
            .chain(&ours.additional)
            .collect();
        assert_eq!(records.len(), theirs.len(), "{}", path.display());
        for (r, d) in records.iter().zip(&theirs) {
            // One TXT string alone is v2's plain text; dig quotes it.
            let data = if r.rtype == "TXT" && !r.data.starts_with('"') {
                format!("\"{}\"", r.data)
            } else {
                r.data.clone()
            };
            let got = [
                format!("{}.", r.name),
                r.ttl.to_string(),
                r.class.clone(),
                r.rtype.clone(),
                data,
            ];
            assert_eq!(&got, d, "{}", path.display());
            compared += 1;
        }
    }
    assert!(compared >= 36, "{compared}");
}

#[test]
fn edns_reads_the_extended_rcode_from_the_high_byte() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/protocols/dns/");
    let read = |n: &str| parse(&std::fs::read(format!("{dir}{n}.bin")).unwrap()).unwrap();
    assert_eq!(read("edns_badvers").rcode, "BADVERS");
    let cookie = read("edns_badcookie");
    assert_eq!(cookie.rcode, "BADCOOKIE");
    let e = cookie.edns.unwrap();
    assert_eq!((e.size, e.dnssec, e.version, e.rcode), (1232, false, 0, 1));
    assert_eq!(e.options, [(10, (0..24).collect::<Vec<u8>>())]);
    let ok = read("edns_dnssec_ok");
    assert_eq!(ok.rcode, "NOERROR");
    let e = ok.edns.unwrap();
    assert_eq!((e.size, e.dnssec), (4096, true));
    assert_eq!(e.options, [(3, b"nsid".to_vec())]);
}

#[test]
fn txt_and_names_keep_every_byte() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/protocols/dns/");
    let txt = parse(&std::fs::read(format!("{dir}txt_bytes.bin")).unwrap()).unwrap();
    assert_eq!(
        txt.answers[0].data,
        r#""caf\195\169" "\255\000\127 \"q\" \\ ;@$()""#
    );
    assert_eq!(txt.answers[1].data, "one");
    // One string that is not text: quoted and escaped, not replaced by U+FFFD.
    let mut one = vec![0u8; 12];
    one[..4].copy_from_slice(&[0, 1, 0x81, 0x80]);
    one[7] = 1;
    one.extend_from_slice(&[0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 3, 2, 0xff, b'a']);
    assert_eq!(parse(&one).unwrap().answers[0].data, r#""\255a""#);
}

#[test]
fn damaged_messages_say_why() {
    let a = include_bytes!("../../../fixtures/protocols/dns_a.bin");
    let e = parse(&a[..a.len() - 1]).unwrap_err();
    assert!(e.contains("inside a field"), "{e}");
    // A pointer to itself.
    let mut looped = a[..12].to_vec();
    looped[5] = 1;
    looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert!(parse(&looped).unwrap_err().contains("points forward"));
    // Data that does not read as its type: kept, in the generic form.
    let mut bad_a = a[..12].to_vec();
    bad_a[5] = 0;
    bad_a[7] = 1;
    bad_a.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    assert_eq!(parse(&bad_a).unwrap().answers[0].data, "\\# 3 010203");
}
