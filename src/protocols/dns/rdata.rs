//! Record data in presentation format, as dig (BIND 9) prints it with `+nosplit`: RFC 1035
//! §5.1 and each type's RFC. Names keep udpsh's v2 form, without the root's trailing dot
//! ("mail.example.test"). A type not listed, data that does not read as its type says, or a
//! class-specific type outside class IN is RFC 3597's generic `\# 3 010203`.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;

use super::Wire;
use super::types::{rcode_name, type_name};

/// A name as dig prints it, without the final dot: `.`, `"`, `(`, `)`, `;`, `\`, `@`, `$`
/// escaped with `\`, bytes outside printable ASCII as `\DDD` (decimal).
pub fn name_text(labels: &[&[u8]]) -> String {
    if labels.is_empty() {
        return ".".into();
    }
    let mut out = String::new();
    for (i, label) in labels.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        for &b in *label {
            match b {
                b'.' | b'"' | b'(' | b')' | b';' | b'\\' | b'@' | b'$' => {
                    out.push('\\');
                    out.push(b as char);
                }
                0x21..=0x7e => out.push(b as char),
                _ => {
                    let _ = write!(out, "\\{b:03}");
                }
            }
        }
    }
    out
}

/// A character-string in quotes, as dig prints TXT: `"` and `\` escaped, bytes outside
/// printable ASCII (space included in it) as `\DDD`.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// RFC 4648 base32 with the extended hex alphabet, no padding (NSEC3's hashed names).
fn base32hex(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let v = buf.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(ALPHABET[((v >> (35 - i * 5)) & 31) as usize] as char);
        }
    }
    out
}

/// Seconds since 1970 as YYYYMMDDHHMMSS, UTC (RRSIG's times, RFC 4034 §3.2).
fn timestamp(secs: u32) -> String {
    let (days, rem) = (i64::from(secs) / 86_400, i64::from(secs) % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// NSEC's type bit maps (RFC 4034 §4.1.2): the types' names, space-separated.
fn type_bitmap(mut bytes: &[u8]) -> Option<String> {
    let mut types = Vec::new();
    while !bytes.is_empty() {
        let (window, len) = (u16::from(*bytes.first()?), usize::from(*bytes.get(1)?));
        let bits = bytes.get(2..2 + len)?;
        for (i, byte) in bits.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    types.push(type_name(window << 8 | (i * 8 + bit) as u16));
                }
            }
        }
        bytes = &bytes[2 + len..];
    }
    Some(types.join(" "))
}

/// The generic form of RFC 3597.
fn generic(data: &[u8]) -> String {
    if data.is_empty() {
        return "\\# 0".into();
    }
    let hex: String = data.iter().map(|b| format!("{b:02X}")).collect();
    format!("\\# {} {hex}", data.len())
}

/// The data of a record of type `rtype` and class `class`, `len` bytes at `start` of `msg`.
pub fn text(msg: &[u8], start: usize, len: usize, rtype: u16, class: u16) -> String {
    let data = &msg[start..start + len];
    let mut w = Wire { msg, at: start };
    let end = start + len;
    match typed(&mut w, data, rtype, class) {
        // Every byte read, and no more: otherwise the data is not what its type says.
        Some(t) if w.at == end || consumes_all(rtype) => t,
        _ => generic(data),
    }
}

/// Types whose last field takes the rest of the data (read from `data`, not the cursor).
fn consumes_all(rtype: u16) -> bool {
    matches!(
        rtype,
        16 | 99
            | 43
            | 59
            | 32769
            | 48
            | 60
            | 25
            | 46
            | 24
            | 47
            | 50
            | 44
            | 52
            | 53
            | 257
            | 256
            | 61
            | 62
            | 63
            | 49
    )
}

/// The strings of a TXT-like record: one string alone (v2's form) when it is text, else each
/// quoted as dig quotes them, so their bounds and bytes are not lost.
fn txt(data: &[u8]) -> Option<String> {
    let mut strings = Vec::new();
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        strings.push(tail.get(..usize::from(len))?);
        rest = &tail[usize::from(len)..];
    }
    match strings.as_slice() {
        [one] => match std::str::from_utf8(one) {
            Ok(text) if !text.chars().any(char::is_control) => Some(text.to_string()),
            _ => Some(quoted(one)),
        },
        many if !many.is_empty() => {
            Some(many.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(" "))
        }
        _ => None,
    }
}

fn strings(mut w: Wire, n: usize) -> Option<(String, usize)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let len = usize::from(w.u8().ok()?);
        out.push(quoted(w.take(len).ok()?));
    }
    Some((out.join(" "), w.at))
}

fn typed(w: &mut Wire, data: &[u8], rtype: u16, class: u16) -> Option<String> {
    let name = |w: &mut Wire| w.name().ok();
    let u8_ = |w: &mut Wire| w.u8().ok();
    let u16_ = |w: &mut Wire| w.u16().ok();
    let u32_ = |w: &mut Wire| w.u32().ok();
    // Types whose format depends on the class (RFC 3597 §5): generic outside IN.
    if class != 1 && matches!(rtype, 1 | 11 | 28 | 33 | 38 | 42 | 36 | 26 | 49 | 22) {
        return None;
    }
    Some(match rtype {
        1 => Ipv4Addr::from(<[u8; 4]>::try_from(w.take(4).ok()?).ok()?).to_string(),
        28 => Ipv6Addr::from(<[u8; 16]>::try_from(w.take(16).ok()?).ok()?).to_string(),
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => name(w)?,
        6 => {
            let (m, r) = (name(w)?, name(w)?);
            let n: Vec<String> = (0..5)
                .map(|_| u32_(w).map(|v| v.to_string()))
                .collect::<Option<_>>()?;
            format!("{m} {r} {}", n.join(" "))
        }
        14 | 17 => format!("{} {}", name(w)?, name(w)?),
        15 | 18 | 21 | 36 => format!("{} {}", u16_(w)?, name(w)?),
        26 => format!("{} {} {}", u16_(w)?, name(w)?, name(w)?),
        33 => format!("{} {} {} {}", u16_(w)?, u16_(w)?, u16_(w)?, name(w)?),
        16 | 99 => txt(data)?,
        13 | 19 | 20 => {
            let n = if rtype == 13 { 2 } else { 1 };
            let (t, at) = strings(
                Wire {
                    msg: w.msg,
                    at: w.at,
                },
                n,
            )?;
            w.at = at;
            t
        }
        35 => {
            let (order, pref) = (u16_(w)?, u16_(w)?);
            let (t, at) = strings(
                Wire {
                    msg: w.msg,
                    at: w.at,
                },
                3,
            )?;
            w.at = at;
            format!("{order} {pref} {t} {}", name(w)?)
        }
        43 | 59 | 32769 => format!(
            "{} {} {} {}",
            u16_(w)?,
            u8_(w)?,
            u8_(w)?,
            hex_upper(data.get(4..)?)
        ),
        48 | 60 | 25 => format!(
            "{} {} {} {}",
            u16_(w)?,
            u8_(w)?,
            u8_(w)?,
            base64(data.get(4..)?)
        ),
        46 | 24 => {
            let covered = type_name(u16_(w)?);
            let (alg, labels, ttl) = (u8_(w)?, u8_(w)?, u32_(w)?);
            let (exp, inc, tag) = (timestamp(u32_(w)?), timestamp(u32_(w)?), u16_(w)?);
            let signer = name(w)?;
            let used = w.at - start_of(w, data);
            format!(
                "{covered} {alg} {labels} {ttl} {exp} {inc} {tag} {signer} {}",
                base64(data.get(used..)?)
            )
        }
        47 => {
            let next = name(w)?;
            let used = w.at - start_of(w, data);
            let types = type_bitmap(data.get(used..)?)?;
            if types.is_empty() {
                next
            } else {
                format!("{next} {types}")
            }
        }
        50 | 51 => {
            let (alg, flags, iterations) = (u8_(w)?, u8_(w)?, u16_(w)?);
            let salt_len = usize::from(u8_(w)?);
            let salt = match w.take(salt_len).ok()? {
                [] => "-".to_string(),
                s => hex_upper(s),
            };
            let head = format!("{alg} {flags} {iterations} {salt}");
            if rtype == 51 {
                return Some(head);
            }
            let hash_len = usize::from(u8_(w)?);
            let hash = base32hex(w.take(hash_len).ok()?);
            let used = w.at - start_of(w, data);
            match type_bitmap(data.get(used..)?)? {
                t if t.is_empty() => format!("{head} {hash}"),
                t => format!("{head} {hash} {t}"),
            }
        }
        44 => format!("{} {} {}", u8_(w)?, u8_(w)?, hex_upper(data.get(2..)?)),
        52 | 53 => format!(
            "{} {} {} {}",
            u8_(w)?,
            u8_(w)?,
            u8_(w)?,
            hex_upper(data.get(3..)?)
        ),
        257 => {
            let (flags, tag_len) = (u8_(w)?, usize::from(u8_(w)?));
            let tag = data
                .get(2..2 + tag_len)
                .filter(|t| !t.is_empty() && t.iter().all(u8::is_ascii_alphanumeric))?;
            format!(
                "{flags} {} {}",
                String::from_utf8_lossy(tag),
                quoted(data.get(2 + tag_len..)?)
            )
        }
        256 => format!("{} {} {}", u16_(w)?, u16_(w)?, quoted(data.get(4..)?)),
        64 | 65 => svcb(w, data)?,
        61 => base64(data),
        49 => base64(data),
        62 => format!("{} {} {}", u32_(w)?, u16_(w)?, type_bitmap(data.get(6..)?)?)
            .trim_end()
            .to_string(),
        63 => format!(
            "{} {} {} {}",
            u32_(w)?,
            u8_(w)?,
            u8_(w)?,
            hex_upper(data.get(6..)?)
        ),
        108 | 109 if data.len() == if rtype == 108 { 6 } else { 8 } => {
            w.at += data.len();
            data.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join("-")
        }
        250 => tsig(w)?,
        _ => return None,
    })
}

/// Where `data` starts in the message the cursor walks.
fn start_of(w: &Wire, data: &[u8]) -> usize {
    data.as_ptr() as usize - w.msg.as_ptr() as usize
}

const SVC_KEYS: [&str; 9] = [
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
    "dohpath",
    "ohttp",
];

fn svc_key(key: u16) -> String {
    SVC_KEYS
        .get(usize::from(key))
        .map_or_else(|| format!("key{key}"), |k| k.to_string())
}

/// SVCB and HTTPS (RFC 9460): priority, target, then each parameter as `key=value`.
fn svcb(w: &mut Wire, data: &[u8]) -> Option<String> {
    let mut out = format!("{} {}", w.u16().ok()?, w.name().ok()?);
    let mut rest = data.get(w.at - start_of(w, data)..)?;
    while !rest.is_empty() {
        let key = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
        let len = usize::from(u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]));
        let v = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        let value = match key {
            0 => Some(
                v.chunks(2)
                    .map(|k| Some(svc_key(u16::from_be_bytes(k.try_into().ok()?))))
                    .collect::<Option<Vec<_>>>()?
                    .join(","),
            ),
            1 => {
                let mut ids = Vec::new();
                let mut r = v;
                while let Some((&n, tail)) = r.split_first() {
                    let id = tail.get(..usize::from(n))?;
                    // Inside the list a comma is escaped; in the quoted value, a backslash is too.
                    let id = quoted(id);
                    ids.push(id[1..id.len() - 1].replace(',', "\\\\,"));
                    r = &tail[usize::from(n)..];
                }
                Some(format!("\"{}\"", ids.join(",")))
            }
            2 if v.is_empty() => None,
            3 if len == 2 => Some(u16::from_be_bytes([v[0], v[1]]).to_string()),
            4 if len % 4 == 0 && len > 0 => Some(
                v.chunks(4)
                    .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            6 if len % 16 == 0 && len > 0 => Some(
                v.chunks(16)
                    .map(|a| {
                        Ipv6Addr::from(<[u8; 16]>::try_from(a).unwrap_or_default()).to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            5 => Some(base64(v)),
            _ if v.is_empty() => None,
            _ => Some(quoted(v)),
        };
        out.push(' ');
        out.push_str(&svc_key(key));
        if let Some(value) = value {
            out.push('=');
            out.push_str(&value);
        }
    }
    w.at = start_of(w, data) + data.len();
    Some(out)
}

/// TSIG (RFC 8945) as dig shows it: algorithm, time, fudge, MAC size, MAC, original id,
/// error, other length (and other data).
fn tsig(w: &mut Wire) -> Option<String> {
    let alg = w.name().ok()?;
    let time = u64::from(w.u16().ok()?) << 32 | u64::from(w.u32().ok()?);
    let fudge = w.u16().ok()?;
    let mac_len = usize::from(w.u16().ok()?);
    let mac = base64(w.take(mac_len).ok()?);
    let (id, error, other_len) = (w.u16().ok()?, w.u16().ok()?, usize::from(w.u16().ok()?));
    let other = w.take(other_len).ok()?;
    let mut out = format!(
        "{alg} {time} {fudge} {mac_len} {mac} {id} {} {other_len}",
        rcode_name(error, false)
    );
    if !other.is_empty() {
        out.push(' ');
        out.push_str(&base64(other));
    }
    Some(out)
}
