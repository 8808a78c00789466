//! The per-second timeline, built while the run goes: a second stays open (with its own
//! histogram) until every request due in it is settled, then it is kept as figures and an
//! encoding. Only the seconds still in flight (about `timeout` of them) are open at once, so
//! memory does not grow with the run.

use std::collections::VecDeque;

use super::histogram::{self, Hist};
use super::result::Second;

#[derive(Default)]
pub struct Timeline {
    open: VecDeque<Open>,
    closed: Vec<Second>,
}

struct Open {
    t: u64,
    sent: u64,
    received: u64,
    lost: u64,
    latency: Hist,
}

impl Timeline {
    /// Second `t`, opened (with any second before it) if need be; `None` once it is closed.
    fn at(&mut self, t: u64) -> Option<&mut Open> {
        let next = self
            .open
            .back()
            .map(|o| o.t + 1)
            .or_else(|| self.closed.last().map(|s| s.t + 1))
            .unwrap_or(0);
        for t in next..=t {
            self.open.push_back(Open {
                t,
                sent: 0,
                received: 0,
                lost: 0,
                latency: histogram::new(),
            });
        }
        let first = self.open.front()?.t;
        self.open
            .get_mut(usize::try_from(t.checked_sub(first)?).ok()?)
    }

    /// Seconds still open.
    pub fn open(&self) -> usize {
        self.open.len()
    }

    pub fn sent(&mut self, t: u64) {
        if let Some(s) = self.at(t) {
            s.sent += 1;
        }
    }

    pub fn received(&mut self, t: u64, latency: i64) {
        if let Some(s) = self.at(t) {
            s.received += 1;
            histogram::record(&mut s.latency, latency);
        }
    }

    pub fn lost(&mut self, t: u64) {
        if let Some(s) = self.at(t) {
            s.lost += 1;
        }
    }

    /// The seconds before `t` are final.
    pub fn close_before(&mut self, t: u64) {
        while self.open.front().is_some_and(|o| o.t < t) {
            if let Some(o) = self.open.pop_front() {
                self.closed
                    .push(Second::new(o.t, o.sent, o.received, o.lost, &o.latency));
            }
        }
    }

    pub fn finish(mut self) -> Vec<Second> {
        self.close_before(u64::MAX);
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_open_in_order_and_close_when_settled() {
        let mut t = Timeline::default();
        t.sent(0);
        t.sent(2);
        t.received(0, 5_000_000);
        t.close_before(1);
        assert_eq!(t.open.len(), 2, "seconds 1 and 2 stay open");
        // a figure for a closed second changes nothing
        t.lost(0);
        t.lost(2);
        let seconds = t.finish();
        let figures: Vec<_> = seconds
            .iter()
            .map(|s| (s.t, s.sent, s.received, s.lost))
            .collect();
        assert_eq!(figures, [(0, 1, 1, 0), (1, 0, 0, 0), (2, 1, 0, 1)]);
        assert!((seconds[0].p50 - 0.005).abs() < 1e-5);
    }
}
