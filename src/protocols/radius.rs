//! RADIUS packets (RFC 2865; accounting, RFC 2866; Message-Authenticator, RFC 3579;
//! CoA/Disconnect, RFC 5176): the framing is a few lines and built here; MD5 and HMAC-MD5
//! are RustCrypto's ([`super::crypto`]). Attributes by name from [`super::radius_dict`].

use std::net::{Ipv4Addr, Ipv6Addr};

use super::crypto::{self, Alg, md5_of};
pub use super::radius_dict::{Kind, attribute, attribute_name, code_name, code_number};
use super::radius_dict::{value_name, value_number};

const HEADER: usize = 20;
const MESSAGE_AUTHENTICATOR: u8 = 80;
const USER_PASSWORD: u8 = 2;

/// Attributes as (number, bytes), in order.
pub type Attrs = Vec<(u8, Vec<u8>)>;

/// An attribute's value as a script gives or reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Text(String),
    Bytes(Vec<u8>),
    Int(u32),
}

/// A packet as read: attributes as (number, raw bytes), in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    pub code: u8,
    pub id: u8,
    pub authenticator: [u8; 16],
    pub attrs: Attrs,
}

/// Whether the authenticator is random (Access-Request, Status-Server) or a hash of the
/// packet (Accounting-Request, CoA-Request, Disconnect-Request).
fn random_authenticator(code: u8) -> bool {
    matches!(code, 1 | 12)
}

/// One attribute's bytes from a script's value.
pub fn encode_value(name: &str, kind: Kind, v: &Value) -> Result<Vec<u8>, String> {
    let bad = |want: &str| format!("RADIUS {name} is {want}, not {v:?}");
    let bytes = match (kind, v) {
        (Kind::Integer | Kind::Date, Value::Int(n)) => n.to_be_bytes().to_vec(),
        (Kind::Integer, Value::Text(t)) => match value_number(name, t) {
            Some(n) => n.to_be_bytes().to_vec(),
            None => return Err(format!("'{t}' is not a value of RADIUS {name}")),
        },
        (Kind::Ipv4, Value::Text(t)) => t
            .parse::<Ipv4Addr>()
            .map_err(|_| bad("an IPv4 address"))?
            .octets()
            .to_vec(),
        (Kind::Ipv6, Value::Text(t)) => t
            .parse::<Ipv6Addr>()
            .map_err(|_| bad("an IPv6 address"))?
            .octets()
            .to_vec(),
        (Kind::Text | Kind::Octets | Kind::Password, Value::Text(t)) => t.as_bytes().to_vec(),
        (Kind::Octets | Kind::Password | Kind::Text, Value::Bytes(b)) => b.clone(),
        (Kind::Octets, Value::Int(n)) => n.to_be_bytes().to_vec(),
        (Kind::Integer | Kind::Date, _) => return Err(bad("a number")),
        _ => return Err(bad("text")),
    };
    if bytes.len() > 253 {
        return Err(format!(
            "RADIUS {name} holds at most 253 bytes, got {}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// How an attribute's bytes read: names for enumerated values, text, addresses.
pub fn decode_value(name: &str, kind: Kind, raw: &[u8]) -> Value {
    let int = <[u8; 4]>::try_from(raw).ok().map(u32::from_be_bytes);
    match (kind, int) {
        (Kind::Integer, Some(n)) => {
            value_name(name, n).map_or(Value::Int(n), |v| Value::Text(v.to_string()))
        }
        (Kind::Date, Some(n)) => Value::Int(n),
        (Kind::Ipv4, _) if raw.len() == 4 => {
            Value::Text(Ipv4Addr::from(int.unwrap_or(0)).to_string())
        }
        (Kind::Ipv6, _) => match <[u8; 16]>::try_from(raw) {
            Ok(a) => Value::Text(Ipv6Addr::from(a).to_string()),
            Err(_) => Value::Bytes(raw.to_vec()),
        },
        (Kind::Text, _) => match std::str::from_utf8(raw) {
            Ok(t) => Value::Text(t.to_string()),
            Err(_) => Value::Bytes(raw.to_vec()),
        },
        _ => Value::Bytes(raw.to_vec()),
    }
}

/// User-Password hidden with the secret and the Request Authenticator (RFC 2865 §5.2).
pub fn hide_password(
    password: &[u8],
    secret: &[u8],
    authenticator: &[u8; 16],
) -> Result<Vec<u8>, String> {
    if password.len() > 128 {
        return Err(format!(
            "RADIUS User-Password holds at most 128 bytes, got {}",
            password.len()
        ));
    }
    let mut padded = password.to_vec();
    padded.resize(password.len().div_ceil(16).max(1) * 16, 0);
    let mut previous: Vec<u8> = authenticator.to_vec();
    for chunk in padded.chunks_mut(16) {
        let key = md5_of(&[secret, &previous]);
        chunk.iter_mut().zip(key).for_each(|(p, k)| *p ^= k);
        previous = chunk.to_vec();
    }
    Ok(padded)
}

/// The password back from its hidden form (the trailing zero padding taken off).
pub fn reveal_password(hidden: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hidden.len());
    let mut previous: &[u8] = authenticator;
    for chunk in hidden.chunks(16) {
        let key = md5_of(&[secret, previous]);
        out.extend(chunk.iter().zip(key).map(|(c, k)| c ^ k));
        previous = chunk;
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    out
}

fn emit(code: u8, id: u8, authenticator: &[u8; 16], attrs: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut b = vec![code, id, 0, 0];
    b.extend_from_slice(authenticator);
    for (t, v) in attrs {
        b.push(*t);
        b.push((v.len() + 2) as u8);
        b.extend_from_slice(v);
    }
    let len = (b.len() as u16).to_be_bytes();
    b[2..4].copy_from_slice(&len);
    b
}

/// Offset of the Message-Authenticator's value in `packet`, if it has one.
fn message_authenticator_at(packet: &[u8]) -> Option<usize> {
    let mut i = HEADER;
    while i + 2 <= packet.len() {
        let len = usize::from(packet[i + 1]);
        if len < 2 || i + len > packet.len() {
            return None;
        }
        if packet[i] == MESSAGE_AUTHENTICATOR && len == 18 {
            return Some(i + 2);
        }
        i += len;
    }
    None
}

/// HMAC-MD5 of `packet` with its Message-Authenticator zeroed and its authenticator field
/// set to `authenticator` (RFC 3579 §3.2).
fn message_authenticator(
    packet: &[u8],
    at: usize,
    authenticator: &[u8; 16],
    secret: &[u8],
) -> Vec<u8> {
    let mut copy = packet.to_vec();
    copy[4..HEADER].copy_from_slice(authenticator);
    copy[at..at + 16].fill(0);
    crypto::hmac(Alg::Md5, secret, &copy)
}

/// A request: `attrs` as (number, bytes) with User-Password in plain text and, when asked,
/// a Message-Authenticator to compute. `random` is the Request Authenticator of an
/// Access-Request or Status-Server (others hash the packet instead).
pub fn request(
    code: u8,
    id: u8,
    attrs: &[(u8, Vec<u8>)],
    secret: &[u8],
    random: [u8; 16],
    with_message_authenticator: bool,
) -> Result<Vec<u8>, String> {
    let hashed = !random_authenticator(code);
    let authenticator = if hashed { [0; 16] } else { random };
    let mut list = Vec::with_capacity(attrs.len() + 1);
    for (t, v) in attrs {
        if *t == MESSAGE_AUTHENTICATOR {
            continue;
        }
        let v = if *t == USER_PASSWORD && !hashed {
            hide_password(v, secret, &authenticator)?
        } else {
            v.clone()
        };
        list.push((*t, v));
    }
    // Status-Server needs one (RFC 5997), and so does any EAP-Message (RFC 3579).
    let needs_ma = with_message_authenticator || code == 12 || list.iter().any(|(t, _)| *t == 79);
    if needs_ma {
        list.push((MESSAGE_AUTHENTICATOR, vec![0; 16]));
    }
    let mut packet = emit(code, id, &authenticator, &list);
    if packet.len() > 4096 {
        return Err(format!(
            "a RADIUS packet holds at most 4096 bytes, this one {}",
            packet.len()
        ));
    }
    if let Some(at) = message_authenticator_at(&packet).filter(|_| needs_ma) {
        let mac = message_authenticator(&packet, at, &authenticator, secret);
        packet[at..at + 16].copy_from_slice(&mac);
    }
    if hashed {
        let sum = md5_of(&[&packet, secret]);
        packet[4..HEADER].copy_from_slice(&sum);
    }
    Ok(packet)
}

/// A response to `request` (for a mock server): its Response Authenticator, and a
/// Message-Authenticator when asked.
pub fn reply(
    code: u8,
    request: &Packet,
    attrs: &[(u8, Vec<u8>)],
    secret: &[u8],
    with_message_authenticator: bool,
) -> Result<Vec<u8>, String> {
    let mut list: Vec<(u8, Vec<u8>)> = attrs
        .iter()
        .filter(|(t, _)| *t != MESSAGE_AUTHENTICATOR)
        .cloned()
        .collect();
    if with_message_authenticator {
        list.push((MESSAGE_AUTHENTICATOR, vec![0; 16]));
    }
    let mut packet = emit(code, request.id, &request.authenticator, &list);
    if packet.len() > 4096 {
        return Err(format!(
            "a RADIUS packet holds at most 4096 bytes, this one {}",
            packet.len()
        ));
    }
    if let Some(at) = message_authenticator_at(&packet).filter(|_| with_message_authenticator) {
        let mac = message_authenticator(&packet, at, &request.authenticator, secret);
        packet[at..at + 16].copy_from_slice(&mac);
    }
    let sum = md5_of(&[&packet, secret]);
    packet[4..HEADER].copy_from_slice(&sum);
    Ok(packet)
}

pub fn parse(b: &[u8]) -> Result<Packet, String> {
    if b.len() < HEADER {
        return Err(format!(
            "a RADIUS packet is at least 20 bytes, got {}",
            b.len()
        ));
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    if len < HEADER || len > b.len() {
        return Err(format!(
            "the RADIUS length field says {len} bytes, the datagram has {}",
            b.len()
        ));
    }
    let mut attrs = Vec::new();
    let mut i = HEADER;
    while i < len {
        let alen = b.get(i + 1).map_or(0, |l| usize::from(*l));
        if alen < 2 || i + alen > len {
            return Err(format!("RADIUS attribute at byte {i} has a bad length"));
        }
        attrs.push((b[i], b[i + 2..i + alen].to_vec()));
        i += alen;
    }
    let mut authenticator = [0; 16];
    authenticator.copy_from_slice(&b[4..HEADER]);
    Ok(Packet {
        code: b[0],
        id: b[1],
        authenticator,
        attrs,
    })
}

/// Whether `reply` answers `request` with this secret: same id, the Response Authenticator
/// right, and the Message-Authenticator right when it has one.
pub fn verify_reply(reply: &[u8], request: &[u8], secret: &[u8]) -> bool {
    let (Ok(rep), Ok(req)) = (parse(reply), parse(request)) else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([reply[2], reply[3]]));
    let body = &reply[..len];
    let mut copy = body.to_vec();
    copy[4..HEADER].copy_from_slice(&req.authenticator);
    let expected = md5_of(&[&copy, secret]);
    let ma_ok = message_authenticator_at(body).is_none_or(|at| {
        message_authenticator(body, at, &req.authenticator, secret) == body[at..at + 16]
    });
    rep.id == req.id && expected == rep.authenticator && ma_ok
}

/// Whether a request is signed with this secret: an Accounting-, CoA- or Disconnect-Request's
/// authenticator, and any request's Message-Authenticator. An Access-Request without a
/// Message-Authenticator carries nothing to check: `None`.
pub fn verify_request(request: &[u8], secret: &[u8]) -> Option<bool> {
    let req = parse(request).ok()?;
    let len = usize::from(u16::from_be_bytes([request[2], request[3]]));
    let body = &request[..len];
    let hashed = !random_authenticator(req.code);
    let ma_key = if hashed { [0; 16] } else { req.authenticator };
    let ma = message_authenticator_at(body)
        .map(|at| message_authenticator(body, at, &ma_key, secret) == body[at..at + 16]);
    let auth = hashed.then(|| {
        let mut copy = body.to_vec();
        copy[4..HEADER].fill(0);
        md5_of(&[&copy, secret]) == req.authenticator
    });
    match (auth, ma) {
        (None, None) => None,
        (a, m) => Some(a.unwrap_or(true) && m.unwrap_or(true)),
    }
}

#[cfg(test)]
#[path = "radius_tests.rs"]
mod tests;
