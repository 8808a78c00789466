//! STUN (RFC 5389/8489) messages, RFC 3489's classic ones (no magic cookie, a 16-byte
//! transaction id) and TURN ChannelData (RFC 8656 §12.4); XOR-MAPPED-ADDRESS as "ip:port";
//! MESSAGE-INTEGRITY (HMAC-SHA1, short- or long-term credentials) and FINGERPRINT (CRC-32
//! XOR 0x5354554e), made and checked with RustCrypto's hmac, sha1 and md-5.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{KeyInit, Mac};
use md5::Digest;

pub const MAGIC: u32 = 0x2112_A442;
const FINGERPRINT_XOR: u32 = 0x5354_554e;
const USERNAME: u16 = 0x0006;
const MESSAGE_INTEGRITY: u16 = 0x0008;
const REALM: u16 = 0x0014;
const NONCE: u16 = 0x0015;
const FINGERPRINT: u16 = 0x8028;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Message {
    /// "Binding Request", "Allocate Error Response", "ChannelData", ...
    pub kind: String,
    /// 12 bytes; 16 for an RFC 3489 message; empty for ChannelData.
    pub transaction: Vec<u8>,
    /// RFC 3489: no magic cookie.
    pub classic: bool,
    /// XOR-MAPPED-ADDRESS (else MAPPED-ADDRESS), "ip:port".
    pub mapped: Option<String>,
    pub software: Option<String>,
    /// ERROR-CODE as "code reason".
    pub error: Option<String>,
    pub username: Option<String>,
    pub realm: Option<String>,
    pub nonce: Option<String>,
    /// MESSAGE-INTEGRITY checked with the key given: None without a key or the attribute.
    pub integrity: Option<bool>,
    /// FINGERPRINT present and right.
    pub fingerprint: bool,
    /// ChannelData: the channel number and its data.
    pub channel: Option<u16>,
    pub data: Vec<u8>,
    pub attributes: Vec<(u16, Vec<u8>)>,
}

/// Who signs: a short-term password (ICE), or a long-term username, realm and password.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    pub username: Option<String>,
    pub realm: Option<String>,
    pub password: String,
}

impl Credentials {
    /// RFC 8489 §9.2: the password itself (short-term), or MD5(username:realm:password).
    /// Passwords are taken as given (already SASLprep'd).
    pub fn key(&self) -> Vec<u8> {
        match (&self.username, &self.realm) {
            (Some(user), Some(realm)) => {
                md5::Md5::digest(format!("{user}:{realm}:{}", self.password)).to_vec()
            }
            _ => self.password.as_bytes().to_vec(),
        }
    }
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

/// A Binding Request with USERNAME (REALM and NONCE when given), MESSAGE-INTEGRITY and
/// FINGERPRINT.
pub fn signed_binding(transaction: [u8; 12], creds: &Credentials, nonce: Option<&str>) -> Vec<u8> {
    let mut out = binding(transaction);
    if let Some(user) = &creds.username {
        attribute(&mut out, USERNAME, user.as_bytes());
    }
    if let (Some(realm), Some(nonce)) = (&creds.realm, nonce) {
        attribute(&mut out, REALM, realm.as_bytes());
        attribute(&mut out, NONCE, nonce.as_bytes());
    }
    sign(&mut out, Some(&creds.key()), true);
    out
}

/// Appends an attribute (padded to 4 bytes with zeros) and updates the header's length.
pub fn attribute(msg: &mut Vec<u8>, kind: u16, value: &[u8]) {
    msg.extend_from_slice(&kind.to_be_bytes());
    msg.extend_from_slice(&(value.len() as u16).to_be_bytes());
    msg.extend_from_slice(value);
    msg.resize(msg.len().div_ceil(4) * 4, 0);
    let end = msg.len();
    set_length(msg, end);
}

fn set_length(msg: &mut [u8], end: usize) {
    let len = (end.saturating_sub(20) as u16).to_be_bytes();
    msg[2..4].copy_from_slice(&len);
}

/// HMAC-SHA1 of the message before the attribute at `at`, its length field counting up to the
/// end of a 24-byte MESSAGE-INTEGRITY there.
fn integrity(msg: &[u8], at: usize, key: &[u8]) -> [u8; 20] {
    let mut head = msg[..at].to_vec();
    set_length(&mut head, at + 24);
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(&head);
    mac.finalize().into_bytes().into()
}

fn fingerprint(msg: &[u8], at: usize) -> u32 {
    let mut head = msg[..at].to_vec();
    set_length(&mut head, at + 8);
    crc32fast::hash(&head) ^ FINGERPRINT_XOR
}

/// Appends MESSAGE-INTEGRITY (with `key`) and FINGERPRINT, as asked.
pub fn sign(msg: &mut Vec<u8>, key: Option<&[u8]>, with_fingerprint: bool) {
    if let Some(key) = key {
        let mac = integrity(msg, msg.len(), key);
        attribute(msg, MESSAGE_INTEGRITY, &mac);
    }
    if with_fingerprint {
        let crc = fingerprint(msg, msg.len());
        attribute(msg, FINGERPRINT, &crc.to_be_bytes());
    }
}

const METHODS: [(u16, &str); 11] = [
    (0x001, "Binding"),
    (0x002, "Shared Secret"),
    (0x003, "Allocate"),
    (0x004, "Refresh"),
    (0x006, "Send"),
    (0x007, "Data"),
    (0x008, "CreatePermission"),
    (0x009, "ChannelBind"),
    (0x00a, "Connect"),
    (0x00b, "ConnectionBind"),
    (0x00c, "ConnectionAttempt"),
];

/// The method and class packed in the type (RFC 8489 §5): "Binding Success Response".
fn kind_name(t: u16) -> String {
    const CLASSES: [&str; 4] = [
        "Request",
        "Indication",
        "Success Response",
        "Error Response",
    ];
    let method = (t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80);
    let class = usize::from(((t >> 4) & 1) | ((t >> 7) & 2));
    match METHODS.iter().find(|(m, _)| *m == method) {
        Some((_, name)) => format!("{name} {}", CLASSES[class]),
        None => format!("0x{t:04x}"),
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
    parse_with(b, None)
}

/// Parses, checking MESSAGE-INTEGRITY with `creds`' key when given.
pub fn parse_with(b: &[u8], creds: Option<&Credentials>) -> Result<Message, String> {
    if b.len() >= 4 && b[0] >> 6 == 1 {
        return channel_data(b);
    }
    if b.len() < 20 {
        return Err(format!(
            "a STUN message is at least 20 bytes, got {}",
            b.len()
        ));
    }
    if b[0] >> 6 != 0 {
        return Err("not a STUN message (the first two bits are not 0)".into());
    }
    let kind = u16::from_be_bytes([b[0], b[1]]);
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let classic = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) != MAGIC;
    if classic && kind_name(kind).starts_with("0x") {
        return Err(format!(
            "not a STUN message (no magic cookie 2112a442, and 0x{kind:04x} is no RFC 3489 type)"
        ));
    }
    if len % 4 != 0 {
        return Err(format!(
            "not a STUN message (its length {len} is not a multiple of 4)"
        ));
    }
    if b.len() < 20 + len {
        return Err(format!(
            "the STUN header says {len} bytes of attributes, the datagram has {}",
            b.len() - 20
        ));
    }
    // The XOR key: the magic cookie, then the transaction id (for IPv6).
    let mut key = [0u8; 16];
    key.copy_from_slice(&b[4..20]);
    let mut msg = Message {
        kind: kind_name(kind),
        transaction: b[if classic { 4 } else { 8 }..20].to_vec(),
        classic,
        ..Message::default()
    };
    let (mut xor_mapped, mut plain) = (None, None);
    let text = |v: &[u8]| Some(String::from_utf8_lossy(v).into_owned());
    let mut at = 20;
    while at + 4 <= 20 + len {
        let t = u16::from_be_bytes([b[at], b[at + 1]]);
        let l = usize::from(u16::from_be_bytes([b[at + 2], b[at + 3]]));
        let Some(value) = b.get(at + 4..at + 4 + l) else {
            return Err(format!("attribute 0x{t:04x} runs past the end"));
        };
        match t {
            0x0020 | 0x8020 => xor_mapped = address(value, Some(&key)),
            0x0001 => plain = address(value, None),
            0x8022 => msg.software = text(value),
            USERNAME => msg.username = text(value),
            REALM => msg.realm = text(value),
            NONCE => msg.nonce = text(value),
            0x0009 if l >= 4 => {
                let code = u16::from(value[2] & 7) * 100 + u16::from(value[3]);
                let reason = String::from_utf8_lossy(&value[4..]);
                msg.error = Some(format!("{code} {}", reason.trim_end_matches('\0')));
            }
            MESSAGE_INTEGRITY if msg.integrity.is_none() => {
                msg.integrity = creds.map(|c| l == 20 && integrity(b, at, &c.key())[..] == *value);
            }
            FINGERPRINT if l == 4 => {
                msg.fingerprint = fingerprint(b, at).to_be_bytes() == *value;
            }
            _ => {}
        }
        msg.attributes.push((t, value.to_vec()));
        at += 4 + l.div_ceil(4) * 4;
    }
    msg.mapped = xor_mapped.or(plain);
    Ok(msg)
}

/// TURN ChannelData: a channel number (0x4000 to 0x7fff), a length, the data.
fn channel_data(b: &[u8]) -> Result<Message, String> {
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let data = b.get(4..4 + len).ok_or_else(|| {
        format!(
            "the ChannelData header says {len} bytes, the datagram has {}",
            b.len() - 4
        )
    })?;
    Ok(Message {
        kind: "ChannelData".into(),
        channel: Some(u16::from_be_bytes([b[0], b[1]])),
        data: data.to_vec(),
        ..Message::default()
    })
}

#[cfg(test)]
#[path = "stun_tests.rs"]
mod tests;
