//! Latency histograms: HdrHistogram (the `hdrhistogram` crate) in nanoseconds, 3 significant
//! digits from 1 µs to 60 s, as wrk2 and k6 keep them. Their lossless encoding (V2 with
//! DEFLATE, in base64: what `--json` holds and `r.histogram.save(path)` writes) is what lets
//! `udpsh load merge` give exactly the percentiles of one run.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

pub type Hist = Histogram<u64>;

/// 1 µs: the smallest difference told apart.
const LOW: u64 = 1_000;
/// 60 s: longer values count as 60 s.
const HIGH: u64 = 60_000_000_000;
/// Encodings longer than this (base64 characters) are refused unread.
const MAX_ENCODED: usize = 64 << 20;

pub fn new() -> Hist {
    Histogram::new_with_bounds(LOW, HIGH, 3).expect("constant, valid bounds")
}

/// Records `nanos` (below 0: 0; above 60 s: 60 s).
pub fn record(h: &mut Hist, nanos: i64) {
    h.saturating_record(nanos.max(0) as u64);
}

/// V2 + DEFLATE, in base64.
pub fn encode(h: &Hist) -> String {
    let mut bytes = Vec::new();
    // Writing to a Vec fails only if the histogram cannot be encoded at all.
    if V2DeflateSerializer::new().serialize(h, &mut bytes).is_err() {
        bytes.clear();
    }
    STANDARD.encode(bytes)
}

/// The histogram an [`encode`] gave (or HdrHistogram's tools, in V2 or V2 + DEFLATE), in
/// our bounds.
pub fn decode(text: &str) -> Result<Hist, String> {
    if text.len() > MAX_ENCODED {
        return Err(format!(
            "a histogram of {} characters is more than a load run writes",
            text.len()
        ));
    }
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| format!("a histogram is not base64: {e}"))?;
    let decoded: Hist = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram encoding: {e:?}"))?;
    let mut ours = new();
    ours.add(&decoded)
        .map_err(|e| format!("a histogram holds values out of 1 µs – 60 s: {e:?}"))?;
    Ok(ours)
}

/// The figures of one latency, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub min: f64,
    pub mean: f64,
    pub stdev: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub p9999: f64,
    pub max: f64,
}

/// The percentiles of the ladder, by name.
pub const LADDER: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("p99.99", 0.9999),
];

pub fn secs(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

impl Summary {
    /// All zero for an empty histogram.
    pub fn of(h: &Hist) -> Summary {
        if h.is_empty() {
            return Summary::default();
        }
        let q = |q| secs(h.value_at_quantile(q));
        Summary {
            min: secs(h.min()),
            mean: h.mean() / 1e9,
            stdev: h.stdev() / 1e9,
            p50: q(0.50),
            p90: q(0.90),
            p99: q(0.99),
            p999: q(0.999),
            p9999: q(0.9999),
            max: secs(h.max()),
        }
    }

    /// The ladder's values, in [`LADDER`] order, then the max.
    pub fn ladder(&self) -> [f64; 6] {
        [
            self.p50, self.p90, self.p99, self.p999, self.p9999, self.max,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_lossless() {
        let mut h = new();
        for v in [1_500, 2_000_000, 2_000_500, 37_000_000_000, 90_000_000_000] {
            record(&mut h, v);
        }
        record(&mut h, -5);
        let back = decode(&encode(&h)).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.max(), h.max());
        assert_eq!(back.len(), 6);
    }

    #[test]
    fn three_significant_digits_from_a_microsecond() {
        let mut h = new();
        record(&mut h, 2_000_000);
        let p50 = h.value_at_quantile(0.5);
        assert!(p50.abs_diff(2_000_000) <= 2_000, "{p50}");
        assert!(h.equivalent(1_000, 1_999) || h.lowest_equivalent(1_500) >= 1_000);
        // beyond 60 s: counted as 60 s, not lost
        record(&mut h, 100_000_000_000);
        assert!(secs(h.max()) >= 59.9 && secs(h.max()) <= 60.1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in ["", "!!", "AAAA", "aGVsbG8gd29ybGQ=", &"QUFB".repeat(1000)] {
            assert!(decode(text).is_err(), "{text}");
        }
    }

    #[test]
    fn summary_of_nothing_is_zero() {
        assert_eq!(Summary::of(&new()), Summary::default());
    }
}
