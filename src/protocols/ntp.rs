//! NTP (RFC 5905) client requests and server replies; times as float Unix seconds. Control
//! (mode 6, ntpq) and private (mode 7, ntpdc) messages are read as what they are, at any
//! length, never as a time packet.

/// Seconds from 1900 (NTP's era 0) to 1970.
const UNIX_OFFSET: f64 = 2_208_988_800.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    pub leap: u8,
    pub version: u8,
    pub mode: u8,
    pub stratum: u8,
    pub poll: i8,
    pub precision: i8,
    pub root_delay: f64,
    pub root_dispersion: f64,
    /// The reference id: 4 ASCII letters at stratum 0 or 1 ("LOCL", "GPS"), else an IPv4 address.
    pub ref_id: String,
    pub reference: f64,
    pub origin: f64,
    pub receive: f64,
    pub transmit: f64,
    /// The raw transmit timestamp, which a reply echoes as its origin.
    pub transmit_raw: u64,
    pub origin_raw: u64,
    pub receive_raw: u64,
}

/// A mode 6 control message (RFC 9327): a 12-byte header, then `count` bytes of data.
#[derive(Clone, Debug, PartialEq)]
pub struct Control {
    pub leap: u8,
    pub version: u8,
    pub response: bool,
    pub error: bool,
    pub more: bool,
    pub opcode: u8,
    pub sequence: u16,
    pub status: u16,
    pub association: u16,
    pub offset: u16,
    pub count: u16,
    /// The data the datagram holds, at most `count` bytes.
    pub data: Vec<u8>,
}

/// A mode 7 private message (ntpd's ntpdc): an 8-byte header, then `items` × `item_size`.
#[derive(Clone, Debug, PartialEq)]
pub struct Private {
    pub version: u8,
    pub response: bool,
    pub more: bool,
    pub authenticated: bool,
    pub sequence: u8,
    pub implementation: u8,
    pub request: u8,
    pub error: u8,
    pub items: u16,
    pub item_size: u16,
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Time(Packet),
    Control(Control),
    Private(Private),
}

/// Mode 6's opcodes by name (RFC 9327 and ntpd).
pub fn opcode_name(opcode: u8) -> String {
    let names = [
        "",
        "READSTAT",
        "READVAR",
        "WRITEVAR",
        "READCLOCK",
        "WRITECLOCK",
        "SETTRAP",
        "ASYNCMSG",
        "CONFIGURE",
        "SAVECONFIG",
        "READ_MRU",
        "READ_ORDLIST_A",
        "REQ_NONCE",
    ];
    match (opcode, names.get(usize::from(opcode))) {
        (31, _) => "UNSETTRAP".into(),
        (1.., Some(name)) => name.to_string(),
        _ => format!("OPCODE{opcode}"),
    }
}

/// Any NTP message by its mode: a time packet (modes 1 to 5), control (6) or private (7).
pub fn parse_message(b: &[u8]) -> Result<Message, String> {
    let first = *b.first().ok_or("an empty datagram is not NTP")?;
    let field = |at: usize| u16::from_be_bytes([b[at], b[at + 1]]);
    match first & 7 {
        6 => {
            if b.len() < 12 {
                return Err(format!(
                    "an NTP control message is at least 12 bytes, got {}",
                    b.len()
                ));
            }
            let count = field(10);
            Ok(Message::Control(Control {
                leap: first >> 6,
                version: (first >> 3) & 7,
                response: b[1] & 0x80 != 0,
                error: b[1] & 0x40 != 0,
                more: b[1] & 0x20 != 0,
                opcode: b[1] & 0x1f,
                sequence: field(2),
                status: field(4),
                association: field(6),
                offset: field(8),
                count,
                data: b[12..b.len().min(12 + usize::from(count))].to_vec(),
            }))
        }
        7 => {
            if b.len() < 8 {
                return Err(format!(
                    "an NTP private message is at least 8 bytes, got {}",
                    b.len()
                ));
            }
            let (items, item_size) = (field(4) & 0x0fff, field(6) & 0x0fff);
            let len = usize::from(items) * usize::from(item_size);
            Ok(Message::Private(Private {
                version: (first >> 3) & 7,
                response: first & 0x80 != 0,
                more: first & 0x40 != 0,
                authenticated: b[1] & 0x80 != 0,
                sequence: b[1] & 0x7f,
                implementation: b[2],
                request: b[3],
                error: b[4] >> 4,
                items,
                item_size,
                data: b[8..b.len().min(8 + len)].to_vec(),
            }))
        }
        _ => parse(b).map(Message::Time),
    }
}

/// A Unix time as a 64-bit NTP timestamp (0.0 stays 0: "not set").
pub fn to_ntp(unix: f64) -> u64 {
    if unix == 0.0 {
        return 0;
    }
    let t = unix + UNIX_OFFSET;
    let secs = t.floor();
    ((secs as u64) << 32) | (((t - secs) * 4_294_967_296.0) as u64 & 0xffff_ffff)
}

pub fn from_ntp(raw: u64) -> f64 {
    if raw == 0 {
        return 0.0;
    }
    (raw >> 32) as f64 - UNIX_OFFSET + (raw & 0xffff_ffff) as f64 / 4_294_967_296.0
}

/// A 48-byte client request (version 4, mode 3) whose transmit time is `transmit`.
pub fn request(transmit: f64) -> Vec<u8> {
    let mut out = vec![0u8; 48];
    out[0] = 4 << 3 | 3;
    out[40..48].copy_from_slice(&to_ntp(transmit).to_be_bytes());
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    (u64::from(u32_at(b, at)) << 32) | u64::from(u32_at(b, at + 4))
}

fn short_float(raw: u32) -> f64 {
    f64::from(raw >> 16) + f64::from(raw & 0xffff) / 65536.0
}

/// A time packet (modes 1 to 5); a control or private message is not one.
pub fn parse(b: &[u8]) -> Result<Packet, String> {
    if let Some(mode @ (6 | 7)) = b.first().map(|f| f & 7) {
        let what = if mode == 6 { "control" } else { "private" };
        return Err(format!(
            "an NTP {what} message (mode {mode}), not a time packet"
        ));
    }
    if b.len() < 48 {
        return Err(format!(
            "an NTP packet is at least 48 bytes, got {}",
            b.len()
        ));
    }
    let stratum = b[1];
    let id = &b[12..16];
    let ref_id = if stratum <= 1 {
        id.iter()
            .take_while(|c| **c != 0)
            .map(|c| {
                if c.is_ascii_graphic() {
                    *c as char
                } else {
                    '?'
                }
            })
            .collect()
    } else {
        format!("{}.{}.{}.{}", id[0], id[1], id[2], id[3])
    };
    Ok(Packet {
        leap: b[0] >> 6,
        version: (b[0] >> 3) & 7,
        mode: b[0] & 7,
        stratum,
        poll: b[2] as i8,
        precision: b[3] as i8,
        root_delay: short_float(u32_at(b, 4)),
        root_dispersion: short_float(u32_at(b, 8)),
        ref_id,
        reference: from_ntp(u64_at(b, 16)),
        origin: from_ntp(u64_at(b, 24)),
        receive: from_ntp(u64_at(b, 32)),
        transmit: from_ntp(u64_at(b, 40)),
        transmit_raw: u64_at(b, 40),
        origin_raw: u64_at(b, 24),
        receive_raw: u64_at(b, 32),
    })
}

/// An NTP timestamp as Unix nanoseconds, in the era (136 years) nearest `near`.
pub fn to_unix_nanos(raw: u64, near: i128) -> i128 {
    const ERA: i128 = 1 << 32;
    let secs = i128::from(raw >> 32) - UNIX_OFFSET as i128;
    let nanos = (i128::from(raw & 0xffff_ffff) * 1_000_000_000) >> 32;
    let mut t = secs * 1_000_000_000 + nanos;
    while near - t > ERA / 2 * 1_000_000_000 {
        t += ERA * 1_000_000_000;
    }
    t
}

/// RFC 5905 clock offset and round-trip delay, in seconds, from t1 (our send) and t4 (our
/// receive) as Unix nanoseconds and t2, t3 (the server's receive and transmit) as it stamped
/// them. Integer nanoseconds: float Unix seconds would keep only about 0.2 µs.
pub fn offset_delay(t1: i128, t2: u64, t3: u64, t4: i128) -> (f64, f64) {
    let (t2, t3) = (to_unix_nanos(t2, t4), to_unix_nanos(t3, t4));
    let offset = ((t2 - t1) + (t3 - t4)) as f64 / 2e9;
    let delay = ((t4 - t1) - (t3 - t2)) as f64 / 1e9;
    (offset, delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_mode_3_version_4() {
        let r = request(1_700_000_000.5);
        assert_eq!(r.len(), 48);
        assert_eq!(r[0], 0x23);
        let back = from_ntp(u64_at(&r, 40));
        assert!((back - 1_700_000_000.5).abs() < 1e-6);
    }

    #[test]
    fn chronyd_reply_parses() {
        // chronyd with `local stratum 8`, asked with transmit 0x12345678_9abcdef0.
        let p = parse(include_bytes!("../../fixtures/protocols/ntp_reply.bin")).unwrap();
        assert_eq!((p.version, p.mode, p.stratum), (4, 4, 8));
        assert_eq!(p.origin_raw, 0x1234_5678_9abc_def0);
        assert!(p.transmit > 1.6e9, "{}", p.transmit);
        assert!(p.receive > 1.6e9 && p.receive <= p.transmit + 1.0);
        assert!(parse(&[0; 47]).is_err());
    }

    #[test]
    fn control_and_private_messages_are_not_time_packets() {
        // ntpq's READVAR of association 0, sequence 1 (12 bytes), and a reply with data.
        let q = [0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let Message::Control(c) = parse_message(&q).unwrap() else {
            panic!("not control");
        };
        assert_eq!(
            (c.version, c.opcode, c.sequence, c.response),
            (2, 2, 1, false)
        );
        assert_eq!(opcode_name(c.opcode), "READVAR");
        let mut reply = vec![0x16, 0x82, 0, 1, 0x06, 0x18, 0, 0, 0, 0, 0, 9];
        reply.extend_from_slice(b"version=4\0\0\0");
        reply.resize(48, 0);
        assert!(
            parse(&reply)
                .unwrap_err()
                .contains("control message (mode 6)")
        );
        let Message::Control(c) = parse_message(&reply).unwrap() else {
            panic!("not control");
        };
        assert_eq!((c.response, c.status, c.count), (true, 0x0618, 9));
        assert_eq!(c.data, b"version=4");
        // ntpdc's MON_GETLIST_1 (request 42, implementation 3).
        let monlist = [0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0];
        let Message::Private(p) = parse_message(&monlist).unwrap() else {
            panic!("not private");
        };
        assert_eq!(
            (p.version, p.implementation, p.request, p.items),
            (2, 3, 42, 0)
        );
        assert!(
            parse(&[0x17; 48])
                .unwrap_err()
                .contains("private message (mode 7)")
        );
        assert!(parse_message(&[0x16; 11]).is_err());
        assert!(matches!(parse_message(&request(1.0)), Ok(Message::Time(_))));
    }

    #[test]
    fn offset_and_delay_follow_rfc_5905() {
        // Unix 1.7e9 + 10 s sent, server 12 s and 12.5 s, received at 11 s.
        let base = 1_700_000_000i128;
        let ns = |s: f64| base * 1_000_000_000 + (s * 1e9) as i128;
        let stamp = |s: f64| to_ntp(base as f64 + s);
        let (o, d) = offset_delay(ns(10.0), stamp(12.0), stamp(12.5), ns(11.0));
        assert!((o - 1.75).abs() < 1e-9 && (d - 0.5).abs() < 1e-9, "{o} {d}");
    }

    #[test]
    fn nanoseconds_survive_the_conversion() {
        // 1 µs apart at today's Unix time: float seconds could not tell them apart finely.
        let t = 1_700_000_000_123_456_789i128;
        let raw = ((t / 1_000_000_000 + 2_208_988_800) as u64) << 32
            | (((t % 1_000_000_000) << 32) / 1_000_000_000) as u64;
        assert!((to_unix_nanos(raw, t) - t).abs() <= 1);
        // After 2036 (era 1) the same 32-bit seconds mean 2^32 s later.
        let later = t + (1i128 << 32) * 1_000_000_000;
        assert!((to_unix_nanos(raw, later) - later).abs() <= 1);
    }
}
