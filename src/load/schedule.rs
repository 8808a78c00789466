//! When each request is due, from a time the caller passes (no clock here, as
//! `proxy/engine.rs`): request `i` of the whole run is due `i / rate` seconds after the start.
//! With a segment `I/N` this process sends the requests whose index is `I` modulo `N`, on the
//! same timeline, so N processes together send exactly the schedule of one.
//!
//! `i` is the request's index in the whole run (what a peer may see stamped in it); `j`
//! numbers this process's own requests, 0, 1, 2, …

use std::fmt;

/// `--segment I/N`: the I-th of N processes (I from 0, as `JOB_COMPLETION_INDEX`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub index: u64,
    pub of: u64,
}

impl Segment {
    /// The whole schedule, in one process.
    pub const WHOLE: Segment = Segment { index: 0, of: 1 };

    /// `2/8` → the third of eight.
    pub fn parse(text: &str) -> Result<Segment, String> {
        let bad = || format!("'{text}' is not a segment: write I/N with 0 ≤ I < N, e.g. 0/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let of: u64 = n.trim().parse().map_err(|_| bad())?;
        if of == 0 || index >= of {
            return Err(bad());
        }
        Ok(Segment { index, of })
    }

    pub fn is_whole(&self) -> bool {
        self.of == 1
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.of)
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Requests per second of the whole run (all segments).
    rate: f64,
    /// Requests in the whole run.
    total: u64,
    /// The first `warm` requests of the whole run are warm-up.
    warm: u64,
    segment: Segment,
}

const NANOS: f64 = 1e9;

impl Schedule {
    /// `rate` must be finite and above zero (the callers check).
    pub fn new(rate: f64, total: u64, warm: u64, segment: Segment) -> Schedule {
        Schedule {
            rate,
            total,
            warm: warm.min(total),
            segment,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    pub fn segment(&self) -> Segment {
        self.segment
    }

    /// How many requests this process sends.
    pub fn len(&self) -> u64 {
        self.ours_below(self.total)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index in the whole run of our `j`-th request.
    pub fn global(&self, j: u64) -> u64 {
        self.segment.index + j * self.segment.of
    }

    /// Our `j` of the whole run's request `i`, if it is ours.
    pub fn local(&self, i: u64) -> Option<u64> {
        let Segment { index, of } = self.segment;
        (i >= index && (i - index).is_multiple_of(of) && i < self.total).then(|| (i - index) / of)
    }

    /// Nanoseconds from the start to the due time of the whole run's request `i`.
    pub fn due_global(&self, i: u64) -> u64 {
        (i as f64 * NANOS / self.rate) as u64
    }

    /// Nanoseconds from the start to the due time of our `j`-th request.
    pub fn due(&self, j: u64) -> u64 {
        self.due_global(self.global(j))
    }

    /// How many of our requests are due `elapsed` ns after the start (all of them at the end):
    /// exactly those `j` with `due(j) <= elapsed`.
    pub fn due_by(&self, elapsed: u64) -> u64 {
        let len = self.len();
        // A first guess from the rate, then put right against `due` itself.
        let whole = ((elapsed as f64 * self.rate / NANOS).floor() + 1.0).min(self.total as f64);
        let mut n = self.ours_below(whole.max(0.0) as u64).min(len);
        while n < len && self.due(n) <= elapsed {
            n += 1;
        }
        while n > 0 && self.due(n - 1) > elapsed {
            n -= 1;
        }
        n
    }

    /// Whether our `j`-th request is warm-up (sent, left out of every count).
    pub fn is_warmup(&self, j: u64) -> bool {
        self.global(j) < self.warm
    }

    /// Nanoseconds from the start to the end of the warm-up: where the results begin.
    pub fn measured_from(&self) -> u64 {
        self.due_global(self.warm)
    }

    /// Nanoseconds from the start to the end of the last request's slot (`total / rate`).
    pub fn end(&self) -> u64 {
        self.due_global(self.total)
    }

    /// The second of the timeline (from the end of the warm-up) our `j`-th request is due in.
    pub fn second(&self, j: u64) -> u64 {
        self.due(j).saturating_sub(self.measured_from()) / 1_000_000_000
    }

    /// Our requests with a whole-run index below `i`.
    fn ours_below(&self, i: u64) -> u64 {
        let Segment { index, of } = self.segment;
        if i <= index {
            0
        } else {
            (i - 1 - index) / of + 1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_i_is_due_at_i_over_rate() {
        let s = Schedule::new(1000.0, 10, 0, Segment::WHOLE);
        assert_eq!(s.len(), 10);
        assert_eq!(s.due(0), 0);
        assert_eq!(s.due(3), 3_000_000);
        assert_eq!(s.end(), 10_000_000);
        // the first is due at once, the second a millisecond later
        assert_eq!(s.due_by(0), 1);
        assert_eq!(s.due_by(999_999), 1);
        assert_eq!(s.due_by(1_000_000), 2);
        assert_eq!(s.due_by(u64::MAX / 2), 10);
    }

    #[test]
    fn a_late_look_finds_everything_due_since() {
        // A fake clock that wakes 3.5 ms late: four requests at once, none lost or early.
        let s = Schedule::new(1000.0, 100, 0, Segment::WHOLE);
        let mut sent = 0;
        let mut batches = vec![];
        for now in [0, 3_500_000, 3_600_000, 9_000_000] {
            let due = s.due_by(now);
            batches.push(due - sent);
            for j in sent..due {
                assert!(s.due(j) <= now, "never early");
            }
            sent = due;
        }
        assert_eq!(batches, [1, 3, 0, 6]);
    }

    #[test]
    fn segments_together_are_the_whole_schedule() {
        let whole = Schedule::new(700.0, 1003, 0, Segment::WHOLE);
        let mut seen = vec![];
        for index in 0..4 {
            let s = Schedule::new(700.0, 1003, 0, Segment { index, of: 4 });
            for j in 0..s.len() {
                let i = s.global(j);
                assert_eq!(s.local(i), Some(j));
                // the same request is due at the same time in its segment as in one run
                assert_eq!(s.due(j), whole.due(i));
                seen.push(i);
            }
            // at every moment the segments together have sent what one run would have
        }
        seen.sort();
        assert_eq!(seen, (0..1003).collect::<Vec<_>>());
        for now in (0..2_000_000_000).step_by(7_777_777) {
            let sum: u64 = (0..4)
                .map(|index| Schedule::new(700.0, 1003, 0, Segment { index, of: 4 }).due_by(now))
                .sum();
            assert_eq!(sum, whole.due_by(now), "at {now} ns");
        }
    }

    #[test]
    fn warmup_is_the_first_part() {
        let s = Schedule::new(100.0, 1000, 50, Segment { index: 1, of: 2 });
        assert!(s.is_warmup(0)); // i = 1
        assert!(s.is_warmup(24)); // i = 49
        assert!(!s.is_warmup(25)); // i = 51
        assert_eq!(s.measured_from(), 500_000_000);
        assert_eq!(s.second(25), 0);
        assert_eq!(s.second(75), 1); // i = 151: 1.01 s after the warm-up
    }

    #[test]
    fn segments_parse_from_zero() {
        assert_eq!(Segment::parse("2/8"), Ok(Segment { index: 2, of: 8 }));
        for bad in ["8/8", "1/0", "x/2", "3", "-1/2"] {
            assert!(Segment::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Segment { index: 2, of: 8 }.to_string(), "2/8");
    }
}
