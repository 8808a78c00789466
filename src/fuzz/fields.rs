//! Field by field, from a `layout("!B kind, H len, 5s name")`: boundary values for each
//! integer's width and sign, lengths and counts made inconsistent with the bytes that follow,
//! strings emptied, filled, cut or doubled, padding made non-zero.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::mutate::{delete, insert, set_int};
use crate::binary::{Code, Layout, Order};

/// Where one field lies in a datagram, and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub at: usize,
    pub size: usize,
    pub shape: Shape,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Integers (and chars, bools, floats: their bytes taken as an integer) `width` wide; the
    /// limits of both signs are tried, so the sign does not matter.
    Int {
        width: usize,
    },
    /// `Ns`: bytes.
    Bytes,
    /// `Np`: a length byte, then bytes.
    Pascal,
    Pad,
}

/// The fields of a layout, as spans; `big` is its byte order.
#[derive(Clone, Debug, PartialEq)]
pub struct Fields {
    pub spans: Vec<Span>,
    pub big: bool,
}

impl Fields {
    pub fn of(layout: &Layout) -> Fields {
        let mut spans = Vec::new();
        let mut at = 0;
        for field in &layout.fields {
            let item = field.item;
            let width = item.code.size();
            let shape = match item.code {
                Code::Pad => Shape::Pad,
                Code::Bytes => Shape::Bytes,
                Code::Pascal => Shape::Pascal,
                Code::Int { .. } | Code::Char | Code::Bool | Code::F32 | Code::F64 => {
                    Shape::Int { width }
                }
            };
            match shape {
                // `3H ids`: three integers, each a field of its own.
                Shape::Int { .. } => {
                    for i in 0..item.count {
                        spans.push(Span {
                            at: at + i * width,
                            size: width,
                            shape,
                        });
                    }
                }
                _ => spans.push(Span {
                    at,
                    size: item.size(),
                    shape,
                }),
            }
            at += item.size();
        }
        Fields {
            spans,
            big: layout.order == Order::Big,
        }
    }

    /// One field-aware change to `data`; false when no field lies in it (then nothing changed).
    pub fn mutate(&self, rng: &mut ChaCha8Rng, data: &mut Vec<u8>, max_len: usize) -> bool {
        let present: Vec<&Span> = self.spans.iter().filter(|s| s.at < data.len()).collect();
        if present.is_empty() {
            return false;
        }
        let span = *present[rng.random_range(0..present.len())];
        match span.shape {
            Shape::Int { width } => {
                let value = int_value(rng, width, data.len(), span.at + width);
                set_int(data, span.at, width, value, self.big);
            }
            Shape::Bytes => bytes_field(rng, data, span, max_len),
            Shape::Pascal => {
                let stated = [0, 255, span.size as i64, data.len() as i64, 1];
                let value = stated[rng.random_range(0..stated.len())];
                set_int(data, span.at, 1, value, true);
            }
            Shape::Pad => {
                let at = span.at + rng.random_range(0..span.size);
                if let Some(b) = data.get_mut(at) {
                    *b = [0xff, 0x01, 0x80][rng.random_range(0..3usize)];
                }
            }
        }
        true
    }
}

/// A value for an integer field that ends at `end` of a datagram of `len` bytes: a limit of its
/// width (signed or not), or a length (of the datagram or of what follows) off by a little or a
/// lot.
pub fn int_value(rng: &mut ChaCha8Rng, width: usize, len: usize, end: usize) -> i64 {
    let bits = 8 * width.min(8) as u32;
    let umax = if bits == 64 {
        -1i64
    } else {
        ((1u64 << bits) - 1) as i64
    };
    let smin = if bits == 64 {
        i64::MIN
    } else {
        1i64 << (bits - 1)
    };
    let limits = [0, 1, umax, umax - 1, smin, smin - 1, smin + 1];
    let following = len.saturating_sub(end) as i64;
    let lengths = [
        following,
        following + 1,
        following - 1,
        len as i64,
        following * 2 + 1,
        following + 64,
        0,
    ];
    if rng.random_bool(0.5) {
        limits[rng.random_range(0..limits.len())]
    } else {
        lengths[rng.random_range(0..lengths.len())]
    }
}

fn bytes_field(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, span: Span, max_len: usize) {
    let end = (span.at + span.size).min(data.len());
    match rng.random_range(0..5u32) {
        0 => data[span.at..end].fill(0),
        1 => data[span.at..end].fill(0xff),
        // The datagram ends inside the field.
        2 => data.truncate(rng.random_range(span.at..end.max(span.at + 1))),
        // The field is gone: what follows moves up.
        3 => delete(data, span.at, span.size),
        _ => {
            let copy = data[span.at..end].to_vec();
            let times = rng.random_range(1..=64usize);
            let grown: Vec<u8> = copy
                .iter()
                .copied()
                .cycle()
                .take(copy.len() * times)
                .collect();
            insert(data, end, &grown, max_len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn spans_follow_the_layout() {
        let l = Layout::parse("!B kind, H len, 2x, 2H ids, 5s name").unwrap();
        let f = Fields::of(&l);
        let at: Vec<(usize, usize)> = f.spans.iter().map(|s| (s.at, s.size)).collect();
        assert_eq!(at, [(0, 1), (1, 2), (3, 2), (5, 2), (7, 2), (9, 5)]);
        assert!(f.big);
        assert_eq!(f.spans[2].shape, Shape::Pad);
        assert_eq!(f.spans[1].shape, Shape::Int { width: 2 });
    }

    #[test]
    fn lengths_are_made_inconsistent_and_limits_reached() {
        let l = Layout::parse("!B kind, H len, 5s name").unwrap();
        let f = Fields::of(&l);
        let seed = b"\x01\x00\x05hello".to_vec();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut lens = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let mut d = seed.clone();
            assert!(f.mutate(&mut rng, &mut d, 512));
            if d.len() == seed.len() && d[0] == 1 && d[3..] == seed[3..] {
                lens.insert(u16::from_be_bytes([d[1], d[2]]));
            }
        }
        for wanted in [0, 1, 4, 6, 8, 0xffff, 0xfffe, 0x8000, 0x7fff] {
            assert!(lens.contains(&wanted), "len {wanted} never tried: {lens:?}");
        }
    }

    #[test]
    fn a_datagram_shorter_than_the_layout_only_changes_the_fields_it_has() {
        let f = Fields::of(&Layout::parse("!I a, I b").unwrap());
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..100 {
            let mut d = vec![9u8; 3];
            f.mutate(&mut rng, &mut d, 64);
            assert!(d.len() <= 64);
        }
        let mut empty = Vec::new();
        assert!(!f.mutate(&mut rng, &mut empty, 64));
    }
}
