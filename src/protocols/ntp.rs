//! NTP (RFC 5905) client requests and server replies; times as float Unix seconds.

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

pub fn parse(b: &[u8]) -> Result<Packet, String> {
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
