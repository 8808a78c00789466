//! How big a script's data may grow: past these, a growing string, array, blob or map is a
//! script error at its line (kind `value`) instead of the process dying of allocation failure.

use rhai::Engine;

/// The default of `--max-memory`.
pub const DEFAULT_MEMORY: usize = 256 << 20;

/// One budget from which each of Rhai's size limits is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes: the longest string, and about the most an array or blob may hold.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory: DEFAULT_MEMORY,
        }
    }
}

impl Limits {
    /// Longest string, in bytes.
    pub fn string_bytes(self) -> usize {
        self.memory
    }

    /// Most elements of an array, or bytes of a blob: Rhai has one limit for both, and an
    /// element takes 16 bytes, so a budget's eighth keeps an array near twice the budget.
    pub fn array_items(self) -> usize {
        (self.memory / 8).max(1)
    }

    /// Most entries of a map (about 64 bytes each).
    pub fn map_entries(self) -> usize {
        (self.memory / 64).max(1)
    }

    pub fn apply(self, engine: &mut Engine) {
        engine
            .set_max_string_size(self.string_bytes())
            .set_max_array_size(self.array_items())
            .set_max_map_size(self.map_entries());
    }
}

/// `--max-memory 512M`: bytes, with an optional K, M or G (powers of 1024; `MiB` and `MB` alike).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("'{text}' is not a size: expected bytes like 512M, 2G or 1048576");
    let t = text.trim();
    let digits_end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits_end);
    let number: usize = number.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(bad()),
    };
    let bytes = number.checked_shl(shift).filter(|b| b >> shift == number);
    match bytes {
        Some(b) if b >= 1 << 20 => Ok(b),
        Some(_) => Err(format!("--max-memory {text}: at least 1M")),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_as_people_write_them() {
        assert_eq!(parse_size("256M"), Ok(256 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("12").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
    }
}
