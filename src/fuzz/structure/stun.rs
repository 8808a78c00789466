//! STUN by structure (RFC 8489): the message length against what follows, attribute lengths
//! (past the end, odd, zero), (XOR-)MAPPED-ADDRESS with families that do not match their
//! lengths, unknown comprehension-required attributes, MESSAGE-INTEGRITY and FINGERPRINT of
//! the wrong size or out of place, and odd message types and cookies.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{put_u16, u16_at};
use crate::fuzz::mutate::insert;

const HEADER: usize = 20;
const XOR_MAPPED: u16 = 0x0020;
const MAPPED: u16 = 0x0001;

/// Offsets of each attribute's TYPE, as far as the message reads cleanly; `None` without a
/// 20-byte header.
pub fn attributes(m: &[u8]) -> Option<Vec<usize>> {
    if m.len() < HEADER {
        return None;
    }
    let mut at = HEADER;
    let mut found = Vec::new();
    while at + 4 <= m.len() && found.len() < 256 {
        found.push(at);
        let len = usize::from(u16_at(m, at + 2));
        at += 4 + len.div_ceil(4) * 4;
    }
    Some(found)
}

/// An address attribute of `kind` with `family` (1 IPv4, 2 IPv6, others invalid) and an
/// address of `addr_len` bytes (4 or 16 when it matches).
pub fn address(kind: u16, family: u8, addr_len: usize) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend_from_slice(&kind.to_be_bytes());
    a.extend_from_slice(&((4 + addr_len) as u16).to_be_bytes());
    a.extend_from_slice(&[0, family, 0x12, 0x34]);
    a.extend(std::iter::repeat_n(0x7fu8, addr_len));
    a.extend(std::iter::repeat_n(0u8, (4 - addr_len % 4) % 4));
    a
}

/// One structural change; false when `m` has no STUN header.
pub fn mutate(rng: &mut ChaCha8Rng, m: &mut Vec<u8>, max_len: usize) -> bool {
    let Some(attrs) = attributes(m) else {
        return false;
    };
    let body = (m.len() - HEADER) as u16;
    match rng.random_range(0..8u32) {
        0 => {
            let values = [
                0,
                body + 1,
                body.wrapping_sub(1),
                body + 4,
                body.wrapping_sub(4),
                0xffff,
                body | 1,
            ];
            put_u16(m, 2, values[rng.random_range(0..values.len())]);
        }
        1 if !attrs.is_empty() => {
            let at = attrs[rng.random_range(0..attrs.len())];
            let left = (m.len() - at - 4) as u16;
            let values = [0, 1, 3, left + 1, left + 4, 0xffff, 0x8000];
            put_u16(m, at + 2, values[rng.random_range(0..values.len())]);
        }
        // An address whose family does not match its length, or an unknown family.
        2 | 3 => {
            let kind = if rng.random() { XOR_MAPPED } else { MAPPED };
            let (family, len) = [(1u8, 16usize), (2, 4), (0, 4), (3, 8), (1, 0), (2, 12)]
                [rng.random_range(0..6usize)];
            insert(m, m.len(), &address(kind, family, len), max_len);
            fix_length(m, rng);
        }
        // A comprehension-required attribute nobody knows, or a huge USERNAME.
        4 => {
            let (kind, len) = [(0x7fffu16, 4usize), (0x0003, 0), (0x0006, 764), (0x0009, 3)]
                [rng.random_range(0..4usize)];
            let mut a = kind.to_be_bytes().to_vec();
            a.extend_from_slice(&(len as u16).to_be_bytes());
            a.extend(std::iter::repeat_n(0x41u8, len.div_ceil(4) * 4));
            insert(m, m.len(), &a, max_len);
            fix_length(m, rng);
        }
        // MESSAGE-INTEGRITY or FINGERPRINT of a wrong size, first rather than last.
        5 => {
            let kind = if rng.random() { 0x0008u16 } else { 0x8028 };
            let len = [0usize, 4, 19, 20, 32][rng.random_range(0..5usize)];
            let mut a = kind.to_be_bytes().to_vec();
            a.extend_from_slice(&(len as u16).to_be_bytes());
            a.extend(std::iter::repeat_n(0u8, len.div_ceil(4) * 4));
            let at = if rng.random() { HEADER } else { m.len() };
            insert(m, at, &a, max_len);
            fix_length(m, rng);
        }
        6 => m[4..8].copy_from_slice(
            &[[0, 0, 0, 0], [0x21, 0x12, 0xa4, 0x43]][rng.random_range(0..2usize)],
        ),
        _ => {
            // Class bits (request, indication, success, error) and methods beyond Binding.
            let types = [0x0001u16, 0x0011, 0x0101, 0x0111, 0x0003, 0x3eef, 0xc001];
            put_u16(m, 0, types[rng.random_range(0..types.len())]);
        }
    }
    true
}

/// Usually the message length follows what was added; sometimes it is left stale.
fn fix_length(m: &mut [u8], rng: &mut ChaCha8Rng) {
    if rng.random_bool(0.75) {
        put_u16(m, 2, (m.len() - HEADER) as u16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn addresses_and_attributes() {
        let a = address(XOR_MAPPED, 2, 4);
        assert_eq!(a, [0, 0x20, 0, 8, 0, 2, 0x12, 0x34, 0x7f, 0x7f, 0x7f, 0x7f]);
        let mut m = crate::protocols::stun::binding([7; 12]);
        assert_eq!(attributes(&m), Some(vec![]));
        m.extend_from_slice(&a);
        m.extend_from_slice(&address(MAPPED, 1, 4));
        assert_eq!(attributes(&m), Some(vec![20, 32]));
        assert_eq!(attributes(&m[..19]), None);
    }

    #[test]
    fn families_and_lengths_disagree() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut mismatched = 0;
        for _ in 0..1000 {
            let mut d = crate::protocols::stun::binding([1; 12]);
            assert!(mutate(&mut rng, &mut d, 2048));
            assert!(d.len() <= 2048);
            for at in attributes(&d).unwrap_or_default() {
                let kind = u16_at(&d, at);
                if (kind == XOR_MAPPED || kind == MAPPED) && at + 6 <= d.len() {
                    let len = u16_at(&d, at + 2);
                    let family = d[at + 5];
                    mismatched += usize::from((family == 1) != (len == 8));
                }
            }
        }
        assert!(mismatched > 50, "{mismatched}");
    }
}
