//! A `struct` format string parsed once: byte order, then codes with counts.

use super::{Result, err};

/// Byte order of a format. `@` and `=` are the machine's; no prefix is network order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Big,
    Little,
}

impl Order {
    pub fn native() -> Order {
        if cfg!(target_endian = "big") {
            Order::Big
        } else {
            Order::Little
        }
    }
}

/// One `struct` code, with Python's standard sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Pad,
    Char,
    Int {
        size: usize,
        signed: bool,
    },
    Bool,
    F32,
    F64,
    /// `Ns`: N bytes, zero-padded.
    Bytes,
    /// `Np`: a length byte, then up to N-1 bytes.
    Pascal,
}

impl Code {
    fn from_char(c: char) -> Option<Code> {
        let int = |size, signed| Code::Int { size, signed };
        Some(match c {
            'x' => Code::Pad,
            'c' => Code::Char,
            'b' => int(1, true),
            'B' => int(1, false),
            '?' => Code::Bool,
            'h' => int(2, true),
            'H' => int(2, false),
            'i' | 'l' => int(4, true),
            'I' | 'L' => int(4, false),
            'q' => int(8, true),
            'Q' => int(8, false),
            'f' => Code::F32,
            'd' => Code::F64,
            's' => Code::Bytes,
            'p' => Code::Pascal,
            _ => return None,
        })
    }

    /// Bytes of one repetition (for `s` and `p`, of one byte of the field).
    pub fn size(self) -> usize {
        match self {
            Code::Pad | Code::Char | Code::Bool | Code::Bytes | Code::Pascal => 1,
            Code::Int { size, .. } => size,
            Code::F32 => 4,
            Code::F64 => 8,
        }
    }
}

/// A code with its repeat count, as written (`3H`, `8s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub code: Code,
    pub count: usize,
    pub letter: char,
}

impl Item {
    /// Bytes the item takes.
    pub fn size(&self) -> usize {
        self.code.size() * self.count
    }

    /// Values the item takes or gives: `4s` is one value, `3H` three, `2x` none.
    pub fn values(&self) -> usize {
        match self.code {
            Code::Pad => 0,
            Code::Bytes | Code::Pascal => 1,
            _ => self.count,
        }
    }
}

/// A parsed format string.
#[derive(Clone, Debug, PartialEq)]
pub struct Format {
    pub text: String,
    pub order: Order,
    pub items: Vec<Item>,
}

/// Splits a leading byte-order character off; none means network order.
pub fn order_prefix(text: &str) -> (Order, &str) {
    let trimmed = text.trim_start();
    let order = match trimmed.chars().next() {
        Some('!' | '>') => Order::Big,
        Some('<') => Order::Little,
        Some('=' | '@') => Order::native(),
        _ => return (Order::Big, trimmed),
    };
    (order, &trimmed[1..])
}

impl Format {
    pub fn parse(text: &str) -> Result<Format> {
        let (order, body) = order_prefix(text);
        let items =
            parse_items(body).map_err(|e| super::Error(format!("format \"{text}\": {e}")))?;
        Ok(Format {
            text: text.to_string(),
            order,
            items,
        })
    }

    pub fn size(&self) -> usize {
        self.items.iter().map(Item::size).sum()
    }

    pub fn values(&self) -> usize {
        self.items.iter().map(Item::values).sum()
    }
}

/// Largest byte count a format or a layout may describe: more than any datagram, less than
/// a crash.
pub const MAX_SIZE: usize = 1 << 24;

/// The bytes `items` take together, or an error past [`MAX_SIZE`]: the one cap of every
/// size a format gives (`calcsize`, a layout's `.size` and `.pack`).
pub fn total_size<'a>(items: impl IntoIterator<Item = &'a Item>) -> Result<usize> {
    let mut total = 0usize;
    for item in items {
        total = total.saturating_add(item.size());
        if total > MAX_SIZE {
            return err(format!("it describes more than {MAX_SIZE} bytes"));
        }
    }
    Ok(total)
}

/// `3H 4s x` → items; whitespace may separate items, not a count from its code.
pub fn parse_items(body: &str) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut chars = body.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut count: Option<usize> = None;
        while let Some(&(_, d)) = chars.peek() {
            let Some(digit) = d.to_digit(10) else { break };
            let n = count
                .unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(digit as usize))
                .filter(|n| *n <= MAX_SIZE)
                .ok_or_else(|| super::Error(format!("the count at {at} is too large")))?;
            count = Some(n);
            chars.next();
        }
        let Some((pos, letter)) = chars.next() else {
            return err(format!("the count at {at} has no code after it"));
        };
        let Some(code) = Code::from_char(letter) else {
            return match letter {
                'n' | 'N' | 'P' => err(format!(
                    "'{letter}' (at {pos}) is not supported: it has no standard size; use a sized code such as q, Q or f"
                )),
                'e' => err(format!(
                    "'e' (at {pos}), a 16-bit float, is not supported; use f (32-bit) or d (64-bit)"
                )),
                '!' | '>' | '<' | '=' | '@' => err(format!(
                    "the byte order '{letter}' may only come first, not at {pos}"
                )),
                c if c.is_whitespace() => {
                    err(format!("a space separates the count at {at} from its code"))
                }
                _ => err(format!(
                    "unknown code '{letter}' at {pos} (codes: x c b B ? h H i I l L q Q f d s p)"
                )),
            };
        };
        let item = Item {
            code,
            count: count.unwrap_or(1),
            letter,
        };
        items.push(item);
    }
    total_size(&items)?;
    Ok(items)
}
