//! Bytes ↔ values with Python's `struct` codes, named layouts on top, and integer
//! reads/writes of any width. No Rhai here: `api/binary.rs` is the glue.

mod format;
mod int;
pub mod layout;
mod pack;
#[cfg(test)]
mod tests;

pub use format::{Code, Format, Item, Order};
pub use int::{read_int, write_int};
pub use layout::{Field, Layout};

use std::fmt;

/// A value packed into or unpacked from bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
}

/// What went wrong, said so a person knows what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// `"48 65 6c"` → bytes; spaces, colons, dashes and a `0x` prefix are allowed.
pub fn from_hex(text: &str) -> std::result::Result<Vec<u8>, String> {
    let digits: Vec<char> = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':' && *c != '-')
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err("an odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| match (pair[0].to_digit(16), pair[1].to_digit(16)) {
            (Some(hi), Some(lo)) => Ok((hi * 16 + lo) as u8),
            _ => Err(format!(
                "'{}' is not a hex byte",
                pair.iter().collect::<String>()
            )),
        })
        .collect()
}

fn err<T>(message: impl Into<String>) -> Result<T> {
    Err(Error(message.into()))
}
