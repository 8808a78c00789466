//! Byte mutators, as AFL's havoc stage has them: bit and byte flips, interesting integers at
//! every width and both byte orders, arithmetic, deletions, insertions, repeats, splices of
//! seeds, truncation and extension. Each is a plain function of its parameters (tested byte
//! for byte); [`havoc`] draws the parameters from a seeded RNG, so the same seed gives the
//! same cases.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// Values that break code: limits, signs, small counts, powers of two (AFL's lists).
pub const INTERESTING_8: [i64; 9] = [-128, -1, 0, 1, 16, 32, 64, 100, 127];
pub const INTERESTING_16: [i64; 10] = [-32768, -129, 128, 255, 256, 512, 1000, 1024, 4096, 32767];
pub const INTERESTING_32: [i64; 8] = [
    -2_147_483_648,
    -100_663_046,
    -32769,
    32768,
    65535,
    65536,
    100_663_045,
    2_147_483_647,
];
pub const INTERESTING_64: [i64; 4] = [i64::MIN, i64::MAX, 0xffff_ffff, 0x1_0000_0000];

/// An integer value interesting at `width` bytes: one of the lists up to that width.
pub fn interesting(rng: &mut ChaCha8Rng, width: usize) -> i64 {
    let lists: &[&[i64]] = match width {
        1 => &[&INTERESTING_8],
        2 => &[&INTERESTING_8, &INTERESTING_16],
        4 => &[&INTERESTING_8, &INTERESTING_16, &INTERESTING_32],
        _ => &[
            &INTERESTING_8,
            &INTERESTING_16,
            &INTERESTING_32,
            &INTERESTING_64,
        ],
    };
    let list = lists[rng.random_range(0..lists.len())];
    list[rng.random_range(0..list.len())]
}

/// Writes the low `width` bytes of `value` at `at`, big- or little-endian; what does not fit
/// in `data` is left out.
pub fn set_int(data: &mut [u8], at: usize, width: usize, value: i64, big: bool) {
    let bytes = value.to_le_bytes();
    for i in 0..width {
        let byte = if big { bytes[width - 1 - i] } else { bytes[i] };
        if let Some(b) = data.get_mut(at + i) {
            *b = byte;
        }
    }
}

/// Reads `width` bytes at `at` (big- or little-endian) as an unsigned number.
pub fn get_int(data: &[u8], at: usize, width: usize, big: bool) -> u64 {
    let mut v = 0u64;
    for i in 0..width.min(8) {
        let b = u64::from(data.get(at + i).copied().unwrap_or(0));
        v |= if big {
            b << (8 * (width - 1 - i))
        } else {
            b << (8 * i)
        };
    }
    v
}

pub fn flip_bit(data: &mut [u8], bit: usize) {
    if let Some(b) = data.get_mut(bit / 8) {
        *b ^= 0x80 >> (bit % 8);
    }
}

/// Removes `len` bytes at `at` (as many as there are).
pub fn delete(data: &mut Vec<u8>, at: usize, len: usize) {
    let at = at.min(data.len());
    let end = at.saturating_add(len).min(data.len());
    data.drain(at..end);
}

/// Puts `bytes` before position `at`, keeping the whole at most `max_len` bytes.
pub fn insert(data: &mut Vec<u8>, at: usize, bytes: &[u8], max_len: usize) {
    let room = max_len.saturating_sub(data.len());
    let bytes = &bytes[..bytes.len().min(room)];
    let at = at.min(data.len());
    data.splice(at..at, bytes.iter().copied());
}

/// Repeats `data[at..at + len]` `times` more times right after itself.
pub fn repeat(data: &mut Vec<u8>, at: usize, len: usize, times: usize, max_len: usize) {
    let at = at.min(data.len());
    let end = at.saturating_add(len).min(data.len());
    let chunk = data[at..end].to_vec();
    let copies: Vec<u8> = chunk
        .iter()
        .copied()
        .cycle()
        .take(chunk.len() * times)
        .collect();
    insert(data, end, &copies, max_len);
}

/// The first `keep` bytes of `data`, then `other` from `from` on.
pub fn splice(data: &mut Vec<u8>, keep: usize, other: &[u8], from: usize, max_len: usize) {
    data.truncate(keep);
    let tail = &other[from.min(other.len())..];
    insert(data, keep, tail, max_len);
}

/// One havoc step on `data`, chosen and parametrized by `rng`; `seeds` are spliced from.
pub fn mutate_once(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>], max_len: usize) {
    if data.is_empty() {
        let n = rng.random_range(1..=8usize).min(max_len);
        data.extend((0..n).map(|_| rng.random::<u8>()));
        return;
    }
    let len = data.len();
    match rng.random_range(0..14u32) {
        0 | 1 => flip_bit(data, rng.random_range(0..len * 8)),
        2 => {
            let at = rng.random_range(0..len);
            data[at] ^= 0xff;
        }
        3 => {
            let at = rng.random_range(0..len);
            data[at] = rng.random();
        }
        4 | 5 => {
            let width = [1, 2, 4, 8][rng.random_range(0..4usize)];
            let at = rng.random_range(0..len);
            let value = interesting(rng, width);
            set_int(data, at, width, value, rng.random());
        }
        6 => {
            // Arithmetic: a small step up or down on a word of either order.
            let width = [1, 2, 4][rng.random_range(0..3usize)];
            let at = rng.random_range(0..len);
            let big = rng.random();
            let step = rng.random_range(1..=35i64) * if rng.random() { 1 } else { -1 };
            let v = get_int(data, at, width, big) as i64;
            set_int(data, at, width, v.wrapping_add(step), big);
        }
        7 => {
            // A length written where a length may be: the datagram's, the rest's, ± 1.
            let width = [1, 2, 4][rng.random_range(0..3usize)];
            let at = rng.random_range(0..len);
            let base = [len, len - at, len.saturating_sub(at + width)][rng.random_range(0..3usize)];
            let value = base as i64 + rng.random_range(-1..=1i64);
            set_int(data, at, width, value, rng.random());
        }
        8 => {
            let at = rng.random_range(0..len);
            let n = chunk_len(rng, len - at);
            delete(data, at, n);
        }
        9 => {
            let at = rng.random_range(0..=len);
            let n = chunk_len(rng, 64);
            let bytes: Vec<u8> = if rng.random() {
                let b = rng.random::<u8>();
                vec![b; n]
            } else {
                (0..n).map(|_| rng.random::<u8>()).collect()
            };
            insert(data, at, &bytes, max_len);
        }
        10 => {
            let at = rng.random_range(0..len);
            let n = chunk_len(rng, len - at);
            let times = rng.random_range(1..=16usize);
            repeat(data, at, n, times, max_len);
        }
        11 if !seeds.is_empty() => {
            let other = &seeds[rng.random_range(0..seeds.len())];
            let keep = rng.random_range(0..=len);
            let from = rng.random_range(0..=other.len());
            splice(data, keep, other, from, max_len);
        }
        11 | 12 => data.truncate(rng.random_range(0..len)),
        _ => {
            // Extension: the datagram grows past what its fields say.
            let n = chunk_len(rng, 256);
            let fill = if rng.random() { 0 } else { rng.random::<u8>() };
            insert(data, len, &vec![fill; n], max_len);
        }
    }
}

/// A chunk length up to `most` (at least 1), small ones likelier.
fn chunk_len(rng: &mut ChaCha8Rng, most: usize) -> usize {
    let most = most.max(1);
    let cap = [4, 16, 64, most][rng.random_range(0..4usize)].min(most);
    rng.random_range(1..=cap)
}

/// AFL's havoc: 1, 2, 4, 8 or 16 steps stacked, fewer likelier (a small datagram keeps its
/// shape through one or two steps, and most bugs of small protocols are one or two away).
pub fn havoc(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>], max_len: usize) {
    let steps = match rng.random_range(0..16u32) {
        0..=7 => 1,
        8..=11 => 2,
        12..=13 => 4,
        14 => 8,
        _ => 16,
    };
    for _ in 0..steps {
        mutate_once(rng, data, seeds, max_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn integers_are_written_in_either_order_and_clipped() {
        let mut d = vec![0u8; 6];
        set_int(&mut d, 1, 2, 0x1234, true);
        assert_eq!(d, [0, 0x12, 0x34, 0, 0, 0]);
        set_int(&mut d, 3, 4, -2, false);
        assert_eq!(d, [0, 0x12, 0x34, 0xfe, 0xff, 0xff]);
        set_int(&mut d, 4, 4, 0x0a0b0c0d, true);
        assert_eq!(d, [0, 0x12, 0x34, 0xfe, 0x0a, 0x0b]);
        assert_eq!(get_int(&d, 1, 2, true), 0x1234);
        assert_eq!(get_int(&d, 1, 2, false), 0x3412);
    }

    #[test]
    fn flips_deletes_inserts_repeats_splices() {
        let mut d = vec![0u8, 0xff];
        flip_bit(&mut d, 0);
        flip_bit(&mut d, 15);
        assert_eq!(d, [0x80, 0xfe]);
        let mut d = b"abcdef".to_vec();
        delete(&mut d, 1, 2);
        assert_eq!(d, b"adef");
        delete(&mut d, 3, 100);
        assert_eq!(d, b"ade");
        insert(&mut d, 1, b"XYZ", 5);
        assert_eq!(d, b"aXYde");
        let mut d = b"abc".to_vec();
        repeat(&mut d, 1, 1, 3, 100);
        assert_eq!(d, b"abbbbc");
        let mut d = b"hello".to_vec();
        splice(&mut d, 2, b"WORLD", 3, 100);
        assert_eq!(d, b"heLD");
    }

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let seeds = vec![b"\x01\x00\x05hello".to_vec(), b"\x02\x00\x01x".to_vec()];
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..200)
                .map(|i| {
                    let mut d = seeds[i % 2].clone();
                    havoc(&mut rng, &mut d, &seeds, 512);
                    d
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
        assert!(run(7).iter().all(|d| d.len() <= 512));
    }

    #[test]
    fn every_step_keeps_to_max_len_and_changes_something_over_many_tries() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let seeds = vec![vec![7u8; 40]];
        let mut changed = 0;
        for _ in 0..1000 {
            let mut d = seeds[0].clone();
            mutate_once(&mut rng, &mut d, &seeds, 48);
            assert!(d.len() <= 48);
            changed += usize::from(d != seeds[0]);
        }
        assert!(changed > 900, "{changed}");
    }
}
