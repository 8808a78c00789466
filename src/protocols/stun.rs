//! STUN (RFC 5389) Binding requests and responses; XOR-MAPPED-ADDRESS as "ip:port".

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub const MAGIC: u32 = 0x2112_A442;

#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub kind: String,
    pub transaction: [u8; 12],
    /// XOR-MAPPED-ADDRESS (else MAPPED-ADDRESS), "ip:port".
    pub mapped: Option<String>,
    pub software: Option<String>,
    /// ERROR-CODE as "code reason".
    pub error: Option<String>,
    pub attributes: Vec<(u16, Vec<u8>)>,
}

/// A Binding Request with this transaction id.
pub fn binding(transaction: [u8; 12]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    out.extend_from_slice(&0x0001u16.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&transaction);
    out
}

fn kind_name(t: u16) -> String {
    match t {
        0x0001 => "Binding Request".into(),
        0x0101 => "Binding Success Response".into(),
        0x0111 => "Binding Error Response".into(),
        0x0011 => "Binding Indication".into(),
        t => format!("0x{t:04x}"),
    }
}

fn address(value: &[u8], xor: Option<&[u8; 16]>) -> Option<String> {
    let family = *value.get(1)?;
    let mut port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    if let Some(x) = xor {
        port ^= u16::from_be_bytes([x[0], x[1]]);
    }
    let mut raw: Vec<u8> = value.get(4..)?.to_vec();
    if let Some(x) = xor {
        raw.iter_mut().zip(x.iter()).for_each(|(b, k)| *b ^= k);
    }
    let ip = match (family, raw.len()) {
        (1, 4) => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        (2, 16) => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&raw[..]).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port).to_string())
}

pub fn parse(b: &[u8]) -> Result<Message, String> {
    if b.len() < 20 {
        return Err(format!(
            "a STUN message is at least 20 bytes, got {}",
            b.len()
        ));
    }
    let kind = u16::from_be_bytes([b[0], b[1]]);
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if u32::from_be_bytes([b[4], b[5], b[6], b[7]]) != MAGIC {
        return Err("not a STUN message (no magic cookie 2112a442)".into());
    }
    if b.len() < 20 + len {
        return Err(format!(
            "the STUN header says {len} bytes of attributes, the datagram has {}",
            b.len() - 20
        ));
    }
    let mut transaction = [0u8; 12];
    transaction.copy_from_slice(&b[8..20]);
    // The XOR key: the magic cookie, then the transaction id (for IPv6).
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&MAGIC.to_be_bytes());
    key[4..].copy_from_slice(&transaction);
    let mut msg = Message {
        kind: kind_name(kind),
        transaction,
        mapped: None,
        software: None,
        error: None,
        attributes: Vec::new(),
    };
    let (mut xor_mapped, mut plain) = (None, None);
    let mut at = 20;
    while at + 4 <= 20 + len {
        let t = u16::from_be_bytes([b[at], b[at + 1]]);
        let l = usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]));
        let Some(value) = b.get(at + 4..at + 4 + l) else {
            return Err(format!("attribute 0x{t:04x} runs past the end"));
        };
        match t {
            0x0020 => xor_mapped = address(value, Some(&key)),
            0x0001 => plain = address(value, None),
            0x8022 => msg.software = Some(String::from_utf8_lossy(value).into_owned()),
            0x0009 if l >= 4 => {
                let code = u16::from(value[2] & 7) * 100 + u16::from(value[3]);
                msg.error = Some(format!("{code} {}", String::from_utf8_lossy(&value[4..])));
            }
            _ => {}
        }
        msg.attributes.push((t, value.to_vec()));
        at += 4 + l.div_ceil(4) * 4;
    }
    msg.mapped = xor_mapped.or(plain);
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(m.transaction, std::array::from_fn(|i| i as u8 + 1));
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
}
