//! CoAP by structure (RFC 7252): token lengths that lie (and the reserved 9–15), option deltas
//! and lengths with their 13/14/15 escapes and missing extension bytes, lengths past the end,
//! a payload marker with no payload, many or unknown critical options, odd versions and codes.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::fuzz::mutate::{insert, set_int};

/// Where things are in a CoAP message, as far as it reads cleanly.
#[derive(Debug, Default, PartialEq)]
pub struct Map {
    /// Offsets of each option's first byte (delta and length nibbles).
    pub options: Vec<usize>,
    /// Offset of the payload marker (0xff), if any.
    pub marker: Option<usize>,
    /// Where the options start (after the token).
    pub options_at: usize,
}

/// Reads what it can; `None` when not even the 4-byte header is there.
pub fn map(m: &[u8]) -> Option<Map> {
    if m.len() < 4 {
        return None;
    }
    let tkl = usize::from(m[0] & 0x0f);
    let mut map = Map {
        options_at: (4 + tkl).min(m.len()),
        ..Map::default()
    };
    let mut at = map.options_at;
    while at < m.len() {
        let b = m[at];
        if b == 0xff {
            map.marker = Some(at);
            break;
        }
        map.options.push(at);
        let mut next = at + 1;
        let mut ext = |nibble: u8| -> Option<usize> {
            let (n, base) = match nibble {
                13 => (1, 13),
                14 => (2, 269),
                15 => return None,
                v => return Some(usize::from(v)),
            };
            let bytes = m.get(next..next + n)?;
            next += n;
            Some(base + bytes.iter().fold(0usize, |a, b| a << 8 | usize::from(*b)))
        };
        let Some(_delta) = ext(b >> 4) else { break };
        let Some(len) = ext(b & 0x0f) else { break };
        at = next + len;
    }
    Some(map)
}

/// One structural change; false when `m` has no CoAP header.
pub fn mutate(rng: &mut ChaCha8Rng, m: &mut Vec<u8>, max_len: usize) -> bool {
    let Some(map) = map(m) else { return false };
    let pick = |rng: &mut ChaCha8Rng, v: &[usize]| v[rng.random_range(0..v.len())];
    match rng.random_range(0..9u32) {
        // Token length: reserved values, or more or fewer than there are bytes.
        0 => {
            let tkl = [
                0,
                8,
                9,
                12,
                15,
                (m[0] & 0x0f) + 1,
                (m[0] & 0x0f).wrapping_sub(1) & 0x0f,
            ];
            m[0] = (m[0] & 0xf0) | tkl[rng.random_range(0..tkl.len())];
        }
        // A delta nibble escaped (13, 14) with its extension bytes cut, or the reserved 15.
        1 if !map.options.is_empty() => {
            let at = pick(rng, &map.options);
            let nibble = [13u8, 14, 15][rng.random_range(0..3usize)];
            m[at] = (m[at] & 0x0f) | nibble << 4;
            if rng.random() {
                m.truncate(at + 1);
            }
        }
        // A length nibble escaped, or a length past the end.
        2 if !map.options.is_empty() => {
            let at = pick(rng, &map.options);
            if rng.random() {
                let nibble = [12u8, 13, 14, 15][rng.random_range(0..4usize)];
                m[at] = (m[at] & 0xf0) | nibble;
            } else {
                m[at] = (m[at] & 0xf0) | 14;
                let big = [0xffffu16, 0xfef2, (m.len() - at) as u16][rng.random_range(0..3usize)];
                let ext = big.to_be_bytes();
                insert(m, at + 1, &ext, max_len);
            }
        }
        // A payload marker followed by nothing (a format error by the RFC).
        3 => match map.marker {
            Some(at) => m.truncate(at + 1),
            None => insert(m, m.len(), &[0xff], max_len),
        },
        // Options: unknown critical (odd) numbers, very large ones, one repeated many times.
        4 => {
            let at = map.marker.unwrap_or(m.len());
            let mut opts = Vec::new();
            let count = [1usize, 2, 16, 200][rng.random_range(0..4usize)];
            let value_len = [0usize, 1, 4, 8, 12][rng.random_range(0..5usize)];
            let delta = [9u8, 11, 12, 1, 0][rng.random_range(0..5usize)];
            for i in 0..count {
                let d = if i == 0 { delta } else { 0 };
                opts.push(d << 4 | value_len as u8);
                opts.extend(std::iter::repeat_n(0xa5u8, value_len));
            }
            insert(m, at, &opts, max_len);
        }
        // Block1/Block2/Size1/Observe with values of every width.
        5 => {
            let number = [6u16, 23, 27, 28, 60][rng.random_range(0..5usize)];
            let len = [0usize, 1, 3, 4][rng.random_range(0..4usize)];
            let mut opt = vec![13 << 4 | len as u8, (number - 13) as u8];
            let mut value = vec![0u8; len];
            if len > 0 {
                set_int(
                    &mut value,
                    0,
                    len,
                    rng.random_range(-1..=0x0fff_ffffi64),
                    true,
                );
            }
            opt.extend(value);
            insert(m, map.options_at, &opt, max_len);
        }
        // Version and type bits.
        6 => m[0] = (m[0] & 0x0f) | (rng.random::<u8>() & 0xf0),
        // Any code: empty (0.00) with a token, responses, reserved classes.
        7 => m[1] = [0x00, 0x45, 0x84, 0xa0, 0xe0, 0xff, rng.random()][rng.random_range(0..7usize)],
        _ => {
            // The token made longer or shorter than its length says.
            if rng.random() {
                insert(m, 4, &[0x5a; 4], max_len);
            } else if m.len() > 4 {
                m.remove(4);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn get() -> Vec<u8> {
        crate::protocols::coap::request("GET", "/a/bc", 0x1234, &[1, 2], b"").unwrap()
    }

    #[test]
    fn maps_a_request() {
        let g = get();
        // 4-byte header, 2-byte token, then Uri-Path "a" (0xb1 'a') and "bc" (0x02 'b' 'c').
        assert_eq!(&g[..4], [0x42, 0x01, 0x12, 0x34]);
        let m = map(&g).unwrap();
        assert_eq!(m.options_at, 6);
        assert_eq!(m.options, [6, 8]);
        assert_eq!(m.marker, None);
    }

    #[test]
    fn token_lengths_reach_the_reserved_values() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let mut d = get();
            assert!(mutate(&mut rng, &mut d, 512));
            assert!(d.len() <= 512);
            seen.insert(d[0] & 0x0f);
        }
        for tkl in [9, 15] {
            assert!(seen.contains(&tkl), "{seen:?}");
        }
    }
}
