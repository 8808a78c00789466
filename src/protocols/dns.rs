//! DNS queries and replies (simple-dns does the wire work), as text a person reads:
//! `rcode` "NXDOMAIN", a record's `type` "A", its `data` "10.1.2.3" or "10 mail.example.test".

use std::net::{Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::RData;
use simple_dns::{
    CLASS, Name, Packet, PacketFlag, QCLASS, QTYPE, Question as DnsQuestion, RCODE, TYPE,
};

#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    pub name: String,
    pub qtype: String,
    pub class: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub name: String,
    pub rtype: String,
    pub class: String,
    pub ttl: u32,
    pub data: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: u16,
    pub rcode: String,
    /// Set header flags by their usual names: qr aa tc rd ra ad cd.
    pub flags: Vec<&'static str>,
    pub questions: Vec<Question>,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
    pub additional: Vec<Record>,
}

const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("HINFO", 13),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("SRV", 33),
    ("NAPTR", 35),
    ("OPT", 41),
    ("DS", 43),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("SVCB", 64),
    ("HTTPS", 65),
    ("CAA", 257),
];

/// A type's number from its name ("A", "aaaa", "TYPE65", or "65").
pub fn type_code(name: &str) -> Option<u16> {
    let upper = name.trim().to_ascii_uppercase();
    if upper == "ANY" {
        return Some(255);
    }
    TYPES
        .iter()
        .find(|(n, _)| *n == upper)
        .map(|(_, c)| *c)
        .or_else(|| upper.strip_prefix("TYPE").unwrap_or(&upper).parse().ok())
}

pub fn type_name(code: u16) -> String {
    match TYPES.iter().find(|(_, c)| *c == code) {
        Some((n, _)) => n.to_string(),
        None if code == 255 => "ANY".into(),
        None => format!("TYPE{code}"),
    }
}

pub fn rcode_name(rcode: RCODE) -> &'static str {
    match rcode {
        RCODE::NoError => "NOERROR",
        RCODE::FormatError => "FORMERR",
        RCODE::ServerFailure => "SERVFAIL",
        RCODE::NameError => "NXDOMAIN",
        RCODE::NotImplemented => "NOTIMP",
        RCODE::Refused => "REFUSED",
        RCODE::YXDOMAIN => "YXDOMAIN",
        RCODE::YXRRSET => "YXRRSET",
        RCODE::NXRRSET => "NXRRSET",
        RCODE::NOTAUTH => "NOTAUTH",
        RCODE::NOTZONE => "NOTZONE",
        RCODE::BADVERS => "BADVERS",
        RCODE::Reserved => "RESERVED",
    }
}

fn class_name(class: u16) -> String {
    match class {
        1 => "IN".into(),
        3 => "CH".into(),
        4 => "HS".into(),
        255 => "ANY".into(),
        n => format!("CLASS{n}"),
    }
}

/// A recursive query for `name` (type by name), with id `id`.
pub fn query(id: u16, name: &str, qtype: &str) -> Result<Vec<u8>, String> {
    let code = type_code(qtype).ok_or_else(|| format!("'{qtype}' is not a DNS record type"))?;
    check_name(name)?;
    let qname = Name::new(name.trim_end_matches('.'))
        .map_err(|e| format!("'{name}' is not a domain name: {e}"))?;
    let qtype = if code == 255 {
        QTYPE::ANY
    } else {
        QTYPE::TYPE(TYPE::from(code))
    };
    let mut packet = Packet::new_query(id);
    packet.set_flags(PacketFlag::RECURSION_DESIRED);
    packet.questions.push(DnsQuestion::new(
        qname,
        qtype,
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    packet
        .build_bytes_vec()
        .map_err(|e| format!("cannot build the query: {e}"))
}

/// The rules of RFC 1035 that the wire format needs, said in our words: labels of 1 to 63
/// bytes, 253 in all (an empty label, `a..b`, would silently become `a.b`).
fn check_name(name: &str) -> Result<(), String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.len() > 253 {
        return Err(format!(
            "'{name}' is not a domain name: {} bytes, more than 253",
            name.len()
        ));
    }
    if name.is_empty() {
        return Ok(()); // the root
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("'{name}' is not a domain name: an empty label"));
        }
        if label.len() > 63 {
            return Err(format!(
                "'{name}' is not a domain name: the label '{label}…' has {} bytes, more than 63",
                label.len()
            ));
        }
    }
    Ok(())
}

fn data(rdata: &RData) -> String {
    match rdata {
        RData::A(a) => Ipv4Addr::from(a.address).to_string(),
        RData::AAAA(a) => Ipv6Addr::from(a.address).to_string(),
        RData::CNAME(n) => n.0.to_string(),
        RData::NS(n) => n.0.to_string(),
        RData::PTR(n) => n.0.to_string(),
        RData::MX(mx) => format!("{} {}", mx.preference, mx.exchange),
        RData::SRV(s) => format!("{} {} {} {}", s.priority, s.weight, s.port, s.target),
        RData::TXT(t) => {
            let strings: Vec<String> = t
                .iter_raw()
                .map(|(k, v)| match v {
                    Some(v) => format!(
                        "{}={}",
                        String::from_utf8_lossy(k),
                        String::from_utf8_lossy(v)
                    ),
                    None => String::from_utf8_lossy(k).into_owned(),
                })
                .collect();
            // One string as it is; several as dig shows them, so their bounds are not lost.
            match strings.as_slice() {
                [one] => one.clone(),
                many => many
                    .iter()
                    .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        // A type the parser does not know: RFC 3597's generic form, `\# 3 026869`.
        RData::NULL(_, raw) => {
            let bytes = raw.get_data();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("\\# {} {hex}", bytes.len())
        }
        RData::SOA(s) => format!(
            "{} {} {} {} {} {} {}",
            s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum
        ),
        other => format!("{other:?}"),
    }
}

fn record(rr: &simple_dns::ResourceRecord) -> Record {
    Record {
        name: rr.name.to_string(),
        rtype: type_name(u16::from(rr.rdata.type_code())),
        class: class_name(rr.class as u16),
        ttl: rr.ttl,
        data: data(&rr.rdata),
    }
}

fn qtype_code(q: QTYPE) -> u16 {
    match q {
        QTYPE::TYPE(t) => u16::from(t),
        QTYPE::IXFR => 251,
        QTYPE::AXFR => 252,
        QTYPE::MAILB => 253,
        QTYPE::MAILA => 254,
        QTYPE::ANY => 255,
    }
}

pub fn parse(bytes: &[u8]) -> Result<Message, String> {
    let packet = Packet::parse(bytes).map_err(|e| format!("not a DNS message: {e}"))?;
    let flag_names = [
        (PacketFlag::RESPONSE, "qr"),
        (PacketFlag::AUTHORITATIVE_ANSWER, "aa"),
        (PacketFlag::TRUNCATION, "tc"),
        (PacketFlag::RECURSION_DESIRED, "rd"),
        (PacketFlag::RECURSION_AVAILABLE, "ra"),
        (PacketFlag::AUTHENTIC_DATA, "ad"),
        (PacketFlag::CHECKING_DISABLED, "cd"),
    ];
    Ok(Message {
        id: packet.id(),
        rcode: rcode_name(packet.rcode()).to_string(),
        flags: flag_names
            .iter()
            .filter(|(f, _)| packet.has_flags(*f))
            .map(|(_, n)| *n)
            .collect(),
        questions: packet
            .questions
            .iter()
            .map(|q| Question {
                name: q.qname.to_string(),
                qtype: type_name(qtype_code(q.qtype)),
                class: match q.qclass {
                    QCLASS::CLASS(c) => class_name(c as u16),
                    QCLASS::ANY => "ANY".into(),
                },
            })
            .collect(),
        answers: packet.answers.iter().map(record).collect(),
        authority: packet.name_servers.iter().map(record).collect(),
        additional: packet.additional_records.iter().map(record).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Header (id 0x1234, RD, one question), example.test, type A, class IN.
    const QUERY: &str = "123401000001000000000000076578616d706c6504746573740000010001";

    #[test]
    fn query_is_byte_exact() {
        let q = query(0x1234, "example.test", "A").unwrap();
        let hex: String = q.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, QUERY);
        assert!(query(1, "example.test", "BOGUS").is_err());
    }

    #[test]
    fn dnsmasq_reply_parses() {
        // Captured from dnsmasq --address=/example.test/10.1.2.3 (fixtures/protocols/dns_a.bin).
        assert!(
            query(1, "a..b", "A")
                .unwrap_err()
                .contains("an empty label")
        );
        let long = "x".repeat(64) + ".test";
        assert!(query(1, &long, "A").unwrap_err().contains("more than 63"));
        assert!(query(1, "example.test.", "A").is_ok());
        let bytes = include_bytes!("../../fixtures/protocols/dns_a.bin");
        let m = parse(bytes).unwrap();
        assert_eq!(m.rcode, "NOERROR");
        assert!(m.flags.contains(&"qr"));
        assert_eq!(m.questions[0].name, "example.test");
        assert_eq!(m.answers[0].rtype, "A");
        assert_eq!(m.answers[0].data, "10.1.2.3");
        let nx = parse(include_bytes!("../../fixtures/protocols/dns_nx.bin")).unwrap();
        assert_eq!(nx.rcode, "NXDOMAIN");
        let mx = parse(include_bytes!("../../fixtures/protocols/dns_mx.bin")).unwrap();
        assert_eq!(mx.answers[0].data, "10 mail.example.test");
        assert!(parse(&[1, 2, 3]).is_err());
    }
}
