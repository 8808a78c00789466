//! Bytes that stay bytes: `blob + string` is a blob, sub-blobs by range or `slice`,
//! `parse_be_int`/`write_be` (and `_le`) right for every width 1..=8 (they shadow Rhai's,
//! which put short big-endian values in the wrong bytes), addresses, base64 and CRC-32.
//!
//! | name | signature | summary |
//! | --- | --- | --- |
//! | + | `blob + string` → blob | appends the string's UTF-8 bytes |
//! | slice | `b.slice(start, len)` / `b.slice(range)` → blob | a sub-blob; `b[2..6]`, `b[6..]` too |
//! | parse_be_int | `b.parse_be_int(start, len)` → int | unsigned big-endian, 1..8 bytes |
//! | write_be | `b.write_be(start, len, value)` | big-endian, refuses a value that does not fit |
//! | inet_aton / inet_ntoa | `inet_aton("10.1.2.3")` → blob / `inet_ntoa(b)` → string | IPv4 |
//! | inet_pton / inet_ntop | `inet_pton("::1")` → blob / `inet_ntop(b)` → string | IPv4 or IPv6 |
//! | to_base64 / from_base64 | standard alphabet with padding |
//! | crc32 | `crc32(data)` → int | IEEE CRC-32, as zlib.crc32 |

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::{Range, RangeInclusive};

use base64::Engine as _;
use rhai::{Array, Blob, Dynamic, Engine, ImmutableString};

use crate::binary::{Order, read_int, write_int};

use super::error::{ErrorKind, Fallible, script_error};
use super::values::with_payload;

fn value_error(message: impl Into<String>) -> Box<rhai::EvalAltResult> {
    script_error(ErrorKind::Value, message)
}

/// `start..end` of a sequence of `len`, checked: a negative start counts from the end, as
/// in Rhai; an open end (`6..`) runs to the end; nothing outside is clamped silently.
pub fn bounds(len: usize, start: i64, end: Option<i64>, what: &str) -> Fallible<Range<usize>> {
    let n = len as i64;
    let from = if start < 0 { n + start } else { start };
    let to = match end {
        None | Some(i64::MAX) => n,
        Some(e) if e < 0 => n + e,
        Some(e) => e,
    };
    if from < 0 || to < from || to > n {
        return Err(value_error(format!(
            "{what}: the range {start}..{} does not fit a length of {len}",
            end.filter(|e| *e != i64::MAX)
                .map_or(String::new(), |e| e.to_string())
        )));
    }
    Ok(from as usize..to as usize)
}

fn exclusive(r: &Range<i64>) -> (i64, Option<i64>) {
    (r.start, Some(r.end))
}

fn inclusive(r: &RangeInclusive<i64>) -> (i64, Option<i64>) {
    let end = *r.end();
    (
        *r.start(),
        Some(if end == i64::MAX { end } else { end + 1 }),
    )
}

fn slice(b: &[u8], start: i64, end: Option<i64>) -> Fallible<Blob> {
    Ok(b[bounds(b.len(), start, end, "slice")?].to_vec())
}

fn slice_len(b: &[u8], start: i64, len: i64) -> Fallible<Blob> {
    if len < 0 {
        return Err(value_error(format!("slice: length {len} is negative")));
    }
    let from = if start < 0 {
        b.len() as i64 + start
    } else {
        start
    };
    slice(b, from, Some(from.saturating_add(len)))
}

fn slice_text(s: &str, start: i64, end: Option<i64>) -> Fallible<ImmutableString> {
    let chars: Vec<char> = s.chars().collect();
    let r = bounds(chars.len(), start, end, "slice")?;
    Ok(chars[r].iter().collect::<String>().into())
}

fn slice_array(a: &Array, start: i64, end: Option<i64>) -> Fallible<Array> {
    Ok(a[bounds(a.len(), start, end, "slice")?].to_vec())
}

fn width(len: i64, what: &str) -> Fallible<usize> {
    match len {
        1..=8 => Ok(len as usize),
        _ => Err(value_error(format!("{what} reads 1 to 8 bytes, not {len}"))),
    }
}

fn parse_int(b: &[u8], start: i64, len: i64, order: Order, what: &str) -> Fallible<i64> {
    let w = width(len, what)?;
    let from = if start < 0 {
        b.len() as i64 + start
    } else {
        start
    };
    let r = bounds(b.len(), from, Some(from.saturating_add(w as i64)), what)?;
    // Widths below 8 are unsigned; 8 bytes are the script integer's own bits.
    let v = read_int(&b[r], order, w == 8).map_err(|e| value_error(e.0))?;
    Ok(v as i64)
}

fn write(b: &mut [u8], start: i64, len: i64, value: i64, order: Order, what: &str) -> Fallible<()> {
    let w = width(len, what)?;
    let from = if start < 0 {
        b.len() as i64 + start
    } else {
        start
    };
    let r = bounds(b.len(), from, Some(from.saturating_add(w as i64)), what)?;
    write_int(&mut b[r], i128::from(value), order).map_err(|e| value_error(format!("{what}: {e}")))
}

fn range_len(start: i64, end: Option<i64>) -> i64 {
    end.map_or(0, |e| e.saturating_sub(start))
}

fn register_int_access(engine: &mut Engine, order: Order, parse: &'static str, put: &'static str) {
    engine.register_fn(parse, move |b: &mut Blob, start: i64, len: i64| {
        parse_int(b, start, len, order, parse)
    });
    engine.register_fn(parse, move |b: &mut Blob, r: Range<i64>| {
        let (s, e) = exclusive(&r);
        parse_int(b, s, range_len(s, e), order, parse)
    });
    engine.register_fn(parse, move |b: &mut Blob, r: RangeInclusive<i64>| {
        let (s, e) = inclusive(&r);
        parse_int(b, s, range_len(s, e), order, parse)
    });
    engine.register_fn(put, move |b: &mut Blob, start: i64, len: i64, v: i64| {
        write(b, start, len, v, order, put)
    });
    engine.register_fn(put, move |b: &mut Blob, r: Range<i64>, v: i64| {
        let (s, e) = exclusive(&r);
        write(b, s, range_len(s, e), v, order, put)
    });
    engine.register_fn(put, move |b: &mut Blob, r: RangeInclusive<i64>, v: i64| {
        let (s, e) = inclusive(&r);
        write(b, s, range_len(s, e), v, order, put)
    });
}

fn inet_aton(text: &str) -> Fallible<Blob> {
    text.trim()
        .parse::<Ipv4Addr>()
        .map(|a| a.octets().to_vec())
        .map_err(|_| value_error(format!("inet_aton(\"{text}\"): not an IPv4 address")))
}

fn inet_ntoa(b: &[u8]) -> Fallible<String> {
    let octets: [u8; 4] = b
        .try_into()
        .map_err(|_| value_error(format!("inet_ntoa needs 4 bytes, got {}", b.len())))?;
    Ok(Ipv4Addr::from(octets).to_string())
}

fn inet_pton(text: &str) -> Fallible<Blob> {
    match text.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => Ok(a.octets().to_vec()),
        Ok(IpAddr::V6(a)) => Ok(a.octets().to_vec()),
        Err(_) => Err(value_error(format!(
            "inet_pton(\"{text}\"): not an IP address"
        ))),
    }
}

fn inet_ntop(b: &[u8]) -> Fallible<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(b) {
        return Ok(Ipv4Addr::from(v4).to_string());
    }
    let v6: [u8; 16] = b.try_into().map_err(|_| {
        value_error(format!(
            "inet_ntop needs 4 bytes (IPv4) or 16 (IPv6), got {}",
            b.len()
        ))
    })?;
    Ok(Ipv6Addr::from(v6).to_string())
}

fn from_base64(text: &str) -> Fallible<Blob> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map_err(|e| value_error(format!("from_base64: {e}")))
}

/// A byte of a blob: 0 to 255, as Python's bytearray takes (Rhai's own cut 300 to 0x2c).
fn byte(v: i64, what: &str) -> Fallible<u8> {
    u8::try_from(v).map_err(|_| {
        let instead = if (-128..0).contains(&v) {
            format!("pack(\"b\", {v}) is it as a signed byte")
        } else {
            format!("pack(\"!H\", {v}) or pack(\"!I\", {v}) makes more bytes of it")
        };
        value_error(format!("{what}: {v} is not a byte (0 to 255); {instead}"))
    })
}

/// `blob(n)` / `blob(n, byte)`, as Rhai's, but a negative or too large size is an error
/// (kind `value`) instead of an empty blob.
fn new_blob(nc: &rhai::NativeCallContext, len: i64, fill: i64) -> Fallible<Blob> {
    let max = nc.engine().max_array_size();
    let fill = byte(fill, "blob(n, byte)")?;
    match usize::try_from(len) {
        Ok(n) if max == 0 || n <= max => Ok(vec![fill; n]),
        Ok(_) => Err(value_error(format!(
            "blob({len}) is over the memory limit: a blob holds at most {max} bytes (an eighth of --max-memory)"
        ))),
        Err(_) => Err(value_error(format!(
            "blob({len}): a size cannot be negative"
        ))),
    }
}

pub fn register(engine: &mut Engine) {
    engine.register_fn("blob", |nc: rhai::NativeCallContext, len: i64| {
        new_blob(&nc, len, 0)
    });
    engine.register_fn(
        "blob",
        |nc: rhai::NativeCallContext, len: i64, fill: i64| new_blob(&nc, len, fill),
    );
    engine.register_fn("+", |mut b: Blob, s: ImmutableString| {
        b.extend_from_slice(s.as_bytes());
        b
    });
    // Text and bytes together are bytes, whichever comes first: nothing is decoded lossily.
    engine.register_fn("+", |s: ImmutableString, b: Blob| {
        let mut out = s.as_bytes().to_vec();
        out.extend_from_slice(&b);
        out
    });
    engine.register_fn("+=", |b: &mut Blob, s: ImmutableString| {
        b.extend_from_slice(s.as_bytes());
    });
    // `text += bytes` (and `s = s + b`, which Rhai runs as `+=`) cannot make the variable
    // bytes: bytes that are UTF-8 join the text as before; others, which Rhai would decode
    // lossily, are an error saying what to write instead.
    for name in ["+=", "append"] {
        engine.register_fn(name, |s: &mut ImmutableString, b: Blob| -> Fallible<()> {
            match std::str::from_utf8(&b) {
                Ok(text) => {
                    let mut joined = s.to_string();
                    joined.push_str(text);
                    *s = joined.into();
                    Ok(())
                }
                Err(e) => Err(value_error(format!(
                    "text += bytes: byte {} of the {} is not UTF-8, so the text would be wrong; \
                     keep bytes as bytes: let out = s + b (text + bytes is a blob), or \
                     let out = blob(); out += s; out += b",
                    e.valid_up_to(),
                    crate::display::plural(b.len() as u64, "byte", "bytes")
                ))),
            }
        });
    }
    // Rhai's push, insert and pad keep only the low 8 bits of a value; these refuse it.
    // (`b += 300` and `b[0] = 300` are Rhai's operators, which cannot be replaced.)
    engine.register_fn("push", |b: &mut Blob, v: i64| -> Fallible<()> {
        b.push(byte(v, "push")?);
        Ok(())
    });
    engine.register_fn("insert", |b: &mut Blob, at: i64, v: i64| -> Fallible<()> {
        let v = byte(v, "insert")?;
        let len = b.len() as i64;
        let at = if at < 0 {
            (len + at).max(0)
        } else {
            at.min(len)
        };
        b.insert(at as usize, v);
        Ok(())
    });
    engine.register_fn(
        "pad",
        |nc: rhai::NativeCallContext, b: &mut Blob, len: i64, v: i64| -> Fallible<()> {
            let v = byte(v, "pad")?;
            let grown = new_blob(&nc, len, i64::from(v))?;
            if grown.len() > b.len() {
                b.resize(grown.len(), v);
            }
            Ok(())
        },
    );
    engine.register_fn("slice", |b: &mut Blob, start: i64, len: i64| {
        slice_len(b, start, len)
    });
    engine.register_fn("slice", |b: &mut Blob, r: Range<i64>| {
        let (s, e) = exclusive(&r);
        slice(b, s, e)
    });
    engine.register_fn("slice", |b: &mut Blob, r: RangeInclusive<i64>| {
        let (s, e) = inclusive(&r);
        slice(b, s, e)
    });
    engine.register_fn("slice", |s: &str, r: Range<i64>| {
        let (a, e) = exclusive(&r);
        slice_text(s, a, e)
    });
    engine.register_fn("slice", |s: &str, r: RangeInclusive<i64>| {
        let (a, e) = inclusive(&r);
        slice_text(s, a, e)
    });
    engine.register_fn("slice", |a: &mut Array, r: Range<i64>| {
        let (s, e) = exclusive(&r);
        slice_array(a, s, e)
    });
    engine.register_fn("slice", |a: &mut Array, r: RangeInclusive<i64>| {
        let (s, e) = inclusive(&r);
        slice_array(a, s, e)
    });
    register_int_access(engine, Order::Big, "parse_be_int", "write_be");
    register_int_access(engine, Order::Little, "parse_le_int", "write_le");
    engine.register_fn("inet_aton", inet_aton);
    engine.register_fn("inet_ntoa", |b: Blob| inet_ntoa(&b));
    engine.register_fn("inet_pton", inet_pton);
    engine.register_fn("inet_ntop", |b: Blob| inet_ntop(&b));
    engine.register_fn("to_base64", |data: Dynamic| {
        with_payload(&data, |b| {
            Ok(base64::engine::general_purpose::STANDARD.encode(b))
        })
    });
    engine.register_fn("from_base64", from_base64);
    engine.register_fn("crc32", |data: Dynamic| {
        with_payload(&data, |b| Ok(i64::from(crc32fast::hash(b))))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_refuse_rather_than_clamp() {
        assert_eq!(bounds(10, 2, Some(6), "x").unwrap(), 2..6);
        assert_eq!(bounds(10, 6, None, "x").unwrap(), 6..10);
        assert_eq!(bounds(10, -2, None, "x").unwrap(), 8..10);
        assert!(bounds(4, 2, Some(6), "x").is_err());
        assert!(bounds(4, 5, None, "x").is_err());
    }

    #[test]
    fn every_width_reads_and_writes_big_and_little() {
        let b: Vec<u8> = (1..=8).collect();
        for w in 1..=8i64 {
            let be = parse_int(&b, 0, w, Order::Big, "t").unwrap();
            let expect = b[..w as usize]
                .iter()
                .fold(0i64, |v, x| v << 8 | i64::from(*x));
            assert_eq!(be, expect, "width {w}");
            let mut out = vec![0u8; 8];
            write(&mut out, 0, w, be, Order::Big, "t").unwrap();
            assert_eq!(&out[..w as usize], &b[..w as usize]);
            let le = parse_int(&b, 0, w, Order::Little, "t").unwrap();
            write(&mut out, 0, w, le, Order::Little, "t").unwrap();
            assert_eq!(&out[..w as usize], &b[..w as usize]);
        }
        assert_eq!(
            parse_int(&[0x12, 0x34], 0, 2, Order::Big, "t").unwrap(),
            0x1234
        );
        assert!(write(&mut [0u8; 2], 0, 2, 0x10000, Order::Big, "t").is_err());
        assert!(parse_int(&[0u8; 2], 1, 2, Order::Big, "t").is_err());
        assert!(parse_int(&[0u8; 9], 0, 9, Order::Big, "t").is_err());
    }

    #[test]
    fn addresses_and_encodings() {
        assert_eq!(inet_aton("10.1.2.3").unwrap(), vec![10, 1, 2, 3]);
        assert_eq!(inet_ntoa(&[10, 1, 2, 3]).unwrap(), "10.1.2.3");
        assert!(inet_aton("10.1.2").is_err());
        assert_eq!(inet_pton("::1").unwrap().len(), 16);
        assert_eq!(
            inet_ntop(&inet_pton("2001:db8::1").unwrap()).unwrap(),
            "2001:db8::1"
        );
        assert!(inet_ntop(&[1, 2, 3]).is_err());
        assert_eq!(from_base64("aGVs bG8=").unwrap(), b"hello");
        assert!(from_base64("***").is_err());
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf43926);
    }
}
