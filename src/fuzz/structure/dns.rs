//! DNS by structure: the four counts, label lengths, compression pointers (to themselves, in a
//! loop of two, past the end, into the header), names past 255 bytes, record lengths, types and
//! flags, and records added that the counts do not announce.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::{put_u16, u16_at};
use crate::fuzz::mutate::{insert, set_int};

const HEADER: usize = 12;

/// Where things are in a DNS message, as far as it reads cleanly.
#[derive(Debug, Default, PartialEq)]
pub struct Map {
    /// Offsets of label length bytes (and of pointers), in every name read.
    pub labels: Vec<usize>,
    /// Offsets of compression pointers.
    pub pointers: Vec<usize>,
    /// Each name as written: where it starts and where it ends (after its zero byte or its
    /// pointer).
    pub names: Vec<(usize, usize)>,
    /// Offsets of each record's TYPE (questions and resource records).
    pub types: Vec<usize>,
    /// Offsets of each resource record's RDLENGTH.
    pub rdlengths: Vec<usize>,
}

/// Reads what it can; `None` when not even a header is there.
pub fn map(m: &[u8]) -> Option<Map> {
    if m.len() < HEADER {
        return None;
    }
    let mut map = Map::default();
    let mut at = HEADER;
    let qd = u16_at(m, 4);
    let rr = u32::from(u16_at(m, 6)) + u32::from(u16_at(m, 8)) + u32::from(u16_at(m, 10));
    for _ in 0..qd.min(64) {
        at = name(m, at, &mut map)?;
        map.types.push(at);
        at += 4;
    }
    for _ in 0..rr.min(64) {
        at = name(m, at, &mut map)?;
        if at + 10 > m.len() {
            break;
        }
        map.types.push(at);
        map.rdlengths.push(at + 8);
        at += 10 + usize::from(u16_at(m, at + 8));
    }
    Some(map)
}

/// Walks one name from `at`; returns where it ends (after its zero byte or pointer).
fn name(m: &[u8], start: usize, map: &mut Map) -> Option<usize> {
    let mut at = start;
    let end = loop {
        let len = *m.get(at)?;
        map.labels.push(at);
        if len & 0xc0 == 0xc0 {
            map.pointers.push(at);
            break at + 2;
        }
        if len == 0 {
            break at + 1;
        }
        at += 1 + usize::from(len & 0x3f);
    };
    map.names.push((start, end.min(m.len())));
    Some(end)
}

impl Map {
    /// The name a label (or pointer) at `at` belongs to.
    fn name_of(&self, at: usize) -> Option<(usize, usize)> {
        self.names.iter().copied().find(|&(s, e)| s <= at && at < e)
    }
}

/// A compression pointer to `to` (14 bits).
pub fn pointer(to: usize) -> [u8; 2] {
    let to = (to & 0x3fff) as u16 | 0xc000;
    to.to_be_bytes()
}

/// One structural change; false when `m` has no DNS header.
pub fn mutate(rng: &mut ChaCha8Rng, m: &mut Vec<u8>, max_len: usize) -> bool {
    let Some(map) = map(m) else { return false };
    let pick = |rng: &mut ChaCha8Rng, v: &[usize]| v[rng.random_range(0..v.len())];
    match rng.random_range(0..10u32) {
        0 => {
            let at = 4 + 2 * rng.random_range(0..4usize);
            let now = i64::from(u16_at(m, at));
            let values = [0, 1, 0xffff, now + 1, now - 1, rng.random_range(2..=64)];
            set_int(m, at, 2, values[rng.random_range(0..values.len())], true);
        }
        1 if !map.labels.is_empty() => {
            let at = pick(rng, &map.labels);
            let left = (m.len() - at) as i64;
            let values = [0, 63, 64, 0x3f, 0x40, 0x7f, 0x80, left, left - 1, left + 1];
            set_int(m, at, 1, values[rng.random_range(0..values.len())], true);
        }
        // A loop: the name ends, at one of its labels, in a pointer back to itself or to an
        // earlier label of the same name. The rest of the message stays where a parser
        // expects it, so only the loop is wrong.
        2 | 3 if !map.labels.is_empty() => {
            let at = pick(rng, &map.labels);
            let (start, _) = map.name_of(at).unwrap_or((at, at));
            let earlier: Vec<usize> = map
                .labels
                .iter()
                .copied()
                .filter(|&l| start <= l && l <= at)
                .collect();
            let to = pick(rng, &earlier);
            end_name_with_pointer(m, &map, at, to);
        }
        // The same, written over the label in place (what follows is left as it was).
        4 if !map.labels.is_empty() => {
            let at = pick(rng, &map.labels);
            write_pointer(m, at, at);
        }
        // Pointers out of bounds: past the end, into the header, to the very last byte.
        5 if !map.labels.is_empty() => {
            let at = pick(rng, &map.labels);
            let targets = [
                m.len(),
                m.len() + 1,
                0x3fff,
                rng.random_range(0..HEADER),
                m.len() - 1,
            ];
            let to = targets[rng.random_range(0..targets.len())];
            end_name_with_pointer(m, &map, at, to);
        }
        // A name past 255 bytes: many long labels, or very many short ones.
        6 => {
            let at = map.labels.first().copied().unwrap_or(HEADER).min(m.len());
            let (len, count) = if rng.random() { (63, 5) } else { (1, 130) };
            let mut labels = Vec::new();
            for i in 0..count {
                labels.push(len as u8);
                labels.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            }
            insert(m, at, &labels, max_len);
        }
        7 if !map.rdlengths.is_empty() => {
            let at = pick(rng, &map.rdlengths);
            let now = i64::from(u16_at(m, at));
            let values = [0, 0xffff, now + 1, now - 1, (m.len() - at) as i64];
            set_int(m, at, 2, values[rng.random_range(0..values.len())], true);
        }
        8 if !map.types.is_empty() => {
            let at = pick(rng, &map.types);
            // TYPE, then CLASS: odd and meta types, OPT, a class beyond IN.
            let types = [0, 41, 250, 251, 252, 255, 0xffff, 6, 5, 12, 16, 28, 33];
            let field = at + 2 * rng.random_range(0..2usize);
            set_int(m, field, 2, types[rng.random_range(0..types.len())], true);
        }
        9 => {
            // A record the counts do not (or do) announce: pointer to the question, OPT, an
            // RDLENGTH larger than what follows.
            let mut rr = pointer(HEADER).to_vec();
            rr.extend_from_slice(&[0, 41, 0x10, 0, 0, 0, 0, 0]);
            rr.extend_from_slice(&(rng.random_range(0..=64u16)).to_be_bytes());
            rr.extend(std::iter::repeat_n(0u8, rng.random_range(0..=16usize)));
            insert(m, m.len(), &rr, max_len);
            if rng.random() {
                let section = 6 + 2 * rng.random_range(0..3usize);
                let count = u16_at(m, section).wrapping_add(1);
                put_u16(m, section, count);
            }
        }
        _ => {
            // Flags: QR, any opcode, TC, the Z bits, any rcode.
            let flags = rng.random::<u16>()
                & [0x8000, 0x7800, 0x0200, 0x0070, 0x000f, 0xffff][rng.random_range(0..6usize)];
            let old = u16_at(m, 2);
            put_u16(m, 2, old ^ flags);
        }
    }
    true
}

/// Ends the name holding the label at `at` there, with a pointer to `to`: the rest of the
/// name is cut, the rest of the message kept.
fn end_name_with_pointer(m: &mut Vec<u8>, map: &Map, at: usize, to: usize) {
    let end = map
        .name_of(at)
        .map_or(at + 2, |(_, e)| e)
        .max(at)
        .min(m.len());
    m.splice(at..end, pointer(to));
}

/// Overwrites the two bytes at `at` with a pointer to `to` (growing `m` if needed).
fn write_pointer(m: &mut Vec<u8>, at: usize, to: usize) {
    if m.len() < at + 2 {
        m.resize(at + 2, 0);
    }
    m[at..at + 2].copy_from_slice(&pointer(to));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn query() -> Vec<u8> {
        crate::protocols::dns::query(0x1234, "ok.test", "A", None).unwrap()
    }

    #[test]
    fn maps_a_query() {
        let q = query();
        let m = map(&q).unwrap();
        // 02 "ok" 04 "test" 00, then TYPE at 21.
        assert_eq!(m.labels, [12, 15, 20]);
        assert_eq!(m.types, [21]);
        assert!(m.pointers.is_empty());
        assert_eq!(map(&q[..11]), None);
    }

    #[test]
    fn pointer_loops_are_made() {
        let mut q = query();
        let m = map(&q).unwrap();
        assert_eq!(m.names, [(12, 21)]);
        end_name_with_pointer(&mut q, &m, 15, 12);
        // 02 "ok" then a pointer to 12; type and class follow at once, as before.
        assert_eq!(&q[12..], [2, b'o', b'k', 0xc0, 0x0c, 0, 1, 0, 1]);
        let m = map(&q).unwrap();
        assert_eq!(m.pointers, [15]);
        assert_eq!(m.types, [17]);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut loops = 0;
        for _ in 0..500 {
            let mut d = query();
            assert!(mutate(&mut rng, &mut d, 4096));
            // A loop whose message is otherwise whole: the question's type and class last.
            let self_loop = map(&d).is_some_and(|m| {
                m.pointers.iter().any(|&p| {
                    let to = usize::from(u16_at(&d, p) & 0x3fff);
                    (HEADER..=p).contains(&to) && d.len() == p + 6
                })
            });
            loops += usize::from(self_loop);
        }
        assert!(loops > 50, "{loops} self-loops in 500");
    }

    #[test]
    fn every_change_keeps_to_max_len() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..2000 {
            let mut d = query();
            mutate(&mut rng, &mut d, 300);
            assert!(d.len() <= 300);
        }
    }
}
