//! Replaying a capture against a server: the recorded client side is resent with its
//! recorded spacing (scaled by `speed`) and, with `check`, each live reply is compared with
//! the recorded one. [`plan`] and [`compare`] hold the logic, free of sockets; [`live`] owns
//! the sockets; [`command`] is `udpsh replay`.

pub mod command;
pub mod compare;
pub mod live;
pub mod plan;

use std::fmt;

pub use live::{Options, replay};
pub use plan::Plan;

/// How fast to replay: the recorded spacing divided by `Times(x)`, or no waiting at all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    Times(f64),
    Max,
}

/// `1`, `2.5`, `10x` or `max`.
pub fn parse_speed(text: &str) -> Result<Speed, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    let number = t.strip_suffix(['x', 'X']).unwrap_or(t);
    match number.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(Speed::Times(x)),
        _ => Err(format!(
            "'{text}' is not a speed: a number above 0 (2 = twice as fast) or max"
        )),
    }
}

/// Bytes left out of the comparison: `start` up to `end` (exclusive), or to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    pub start: usize,
    pub end: Option<usize>,
}

impl ByteRange {
    /// Bytes `start` to `last`, both in: a last byte at the very end of the offsets
    /// (`0-18446744073709551615`) means to the end, never a wrap to nothing.
    pub fn through(start: usize, last: usize) -> ByteRange {
        ByteRange {
            start,
            end: last.checked_add(1),
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        i >= self.start && self.end.is_none_or(|e| i < e)
    }
}

/// Inclusive, as people number bytes: `0-1` is the first two.
impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            Some(e) if e == self.start + 1 => write!(f, "{}", self.start),
            Some(e) => write!(f, "{}-{}", self.start, e - 1),
            None => write!(f, "{}-", self.start),
        }
    }
}

/// `0-1` (bytes 0 and 1), `6` (one byte), `8-` (from 8 to the end).
pub fn parse_ignore(text: &str) -> Result<ByteRange, String> {
    let bad = || format!("'{text}' is not a byte range: write 0-1, 6 or 8- (offsets from 0)");
    let num = |s: &str| s.trim().parse::<usize>().map_err(|_| bad());
    match text.split_once('-') {
        None => {
            let start = num(text)?;
            Ok(ByteRange::through(start, start))
        }
        Some((a, b)) if b.trim().is_empty() => Ok(ByteRange {
            start: num(a)?,
            end: None,
        }),
        Some((a, b)) => {
            let (start, last) = (num(a)?, num(b)?);
            if last < start {
                return Err(bad());
            }
            Ok(ByteRange::through(start, last))
        }
    }
}

/// What a replay did: counts, and the diffs of the replies that differ.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub sent: u64,
    /// Live replies received (extra ones included).
    pub replies: u64,
    pub matched: u64,
    pub mismatched: u64,
    /// Recorded replies that never came.
    pub missing: u64,
    /// Live replies no recorded reply was waiting for.
    pub extra: u64,
    pub diffs: Vec<String>,
    /// (recorded reply, its request) of each missing one.
    pub missing_frames: Vec<(u64, u64)>,
}

impl Report {
    /// 3 when the server left replies out, else 1 when one differed, else 0.
    pub fn exit_code(&self) -> i32 {
        use crate::outcome::exit;
        if self.missing > 0 {
            exit::ERROR
        } else if self.mismatched > 0 {
            exit::FAILED
        } else {
            exit::OK
        }
    }

    /// `#{sent: 3, replies: 3, matched: 3, mismatched: 0, missing: 0}`, as a script sees it.
    pub fn summary(&self) -> String {
        format!(
            "#{{sent: {}, replies: {}, matched: {}, mismatched: {}, missing: {}}}",
            self.sent, self.replies, self.matched, self.mismatched, self.missing
        )
    }

    /// "no reply to frame 5 (recorded: frame 6)", one a line.
    pub fn missing_lines(&self) -> String {
        self.missing_frames
            .iter()
            .map(|(reply, request)| {
                format!("no reply to frame {request} (recorded: frame {reply})\n")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds() {
        assert_eq!(parse_speed("max"), Ok(Speed::Max));
        assert_eq!(parse_speed("2"), Ok(Speed::Times(2.0)));
        assert_eq!(parse_speed("0.5x"), Ok(Speed::Times(0.5)));
        assert!(parse_speed("0").is_err());
        assert!(parse_speed("fast").unwrap_err().contains("max"));
    }

    #[test]
    fn byte_ranges() {
        let r = parse_ignore("0-1").unwrap();
        assert!(r.contains(0) && r.contains(1) && !r.contains(2));
        // The last offset there is: to the end, not a wrap to an empty range.
        for text in ["0-18446744073709551615", "18446744073709551615"] {
            let r = parse_ignore(text).unwrap();
            assert!(r.contains(usize::MAX), "{text}");
            assert_eq!(r.end, None, "{text}");
        }
        assert_eq!(r.to_string(), "0-1");
        let r = parse_ignore("6").unwrap();
        assert!(r.contains(6) && !r.contains(7));
        assert_eq!(r.to_string(), "6");
        let r = parse_ignore("8-").unwrap();
        assert!(r.contains(8) && r.contains(60_000) && !r.contains(7));
        assert_eq!(r.to_string(), "8-");
        assert!(parse_ignore("3-1").is_err());
        assert!(parse_ignore("a-b").unwrap_err().contains("0-1"));
    }

    #[test]
    fn exit_codes() {
        let mut r = Report::default();
        assert_eq!(r.exit_code(), 0);
        r.mismatched = 1;
        assert_eq!(r.exit_code(), 1);
        r.missing = 1;
        assert_eq!(r.exit_code(), 3);
        assert_eq!(
            r.summary(),
            "#{sent: 0, replies: 0, matched: 0, mismatched: 1, missing: 1}"
        );
    }
}
