//! The accounting of a run, with no sockets: what each request sent, each reply, each ICMP
//! error and each timeout does to the counts, the two histograms and the timeline. The run
//! (`engine.rs`) passes times in; nothing here reads a clock, so a test can play a whole run
//! with made-up times.
//!
//! Every request ends settled exactly once — answered (received), timed out or refused (lost)
//! — so `sent = received + lost` once all have had their timeout. Warm-up requests are paired
//! like the others, but left out of every count and histogram.

use super::histogram::{self, Hist};
use super::pairing::{Key, Pairing};
use super::result::Counts;
use super::schedule::Schedule;
use super::table::{State, Table};
use super::timeline::Timeline;

pub struct Books {
    pub schedule: Schedule,
    pub pairing: Pairing,
    pub table: Table,
    pub counts: Counts,
    pub latency: Hist,
    pub service: Hist,
    pub timeline: Timeline,
    /// When the schedule started, ns since the Unix epoch.
    pub start: i64,
    pub timeout: i64,
    /// This process's tag (STUN transaction ids).
    pub tag: u32,
    /// Every request is the same blob.
    pub constant: bool,
}

/// What a reply turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// In time, for request `j` (its `check` still to be asked): see [`Books::answered`].
    InTime { j: u64, sampled: bool },
    /// Recorded with its request, counted already (late, duplicate).
    Counted { j: u64, sampled: bool },
    /// Answers no request, or is no reply at all.
    Stray,
}

impl Books {
    /// The due time of request `j`, ns since the Unix epoch.
    pub fn due(&self, j: u64) -> i64 {
        self.start + self.schedule.due(j) as i64
    }

    fn counted(&self, j: u64) -> bool {
        !self.schedule.is_warmup(j)
    }

    /// Request `j` left at `sent`.
    pub fn sent(&mut self, j: u64, sent: i64, sampled: bool, key: Option<&[u8]>) {
        if let Some(pushed) = self.table.issue(j, sent, sampled, key) {
            self.lost(pushed);
        }
        if self.counted(j) {
            self.counts.sent += 1;
            self.timeline.sent(self.schedule.second(j));
        }
    }

    /// Request `j`'s send failed: it never left.
    pub fn failed(&mut self, j: u64) {
        self.table.fail(j);
        if self.counted(j) {
            self.counts.errors += 1;
        }
    }

    fn lost(&mut self, j: u64) {
        if self.counted(j) {
            self.counts.lost += 1;
            self.timeline.lost(self.schedule.second(j));
        }
    }

    /// A reply that came to client socket `client` at `time`.
    pub fn reply(&mut self, data: &[u8], client: usize, time: i64) -> Fate {
        let key = self.pairing.key(data, self.tag, self.constant);
        if key == Key::Ignore {
            return Fate::Stray;
        }
        let j = self
            .table
            .find(key, client, &self.schedule)
            .filter(|j| self.pairing.confirms(data, self.schedule.global(*j)));
        let Some(j) = j else {
            self.counts.unmatched += 1;
            return Fate::Stray;
        };
        let counted = self.counted(j);
        let timeout = self.timeout;
        let Some(slot) = self.table.get(j) else {
            // So old the ring has come round: it was settled long ago.
            self.counts.late += u64::from(counted);
            return Fate::Counted { j, sampled: false };
        };
        let (state, sent, sampled) = (slot.state, slot.sent, slot.sampled);
        match state {
            State::Outstanding if time - sent <= timeout => {
                slot.state = State::Answered;
                return Fate::InTime { j, sampled };
            }
            State::Outstanding => {
                // Its timeout passed before it came, though no expiry had looked yet.
                slot.state = State::Lost;
                self.lost(j);
                self.counts.late += u64::from(counted);
            }
            State::Answered => self.counts.duplicate += u64::from(counted),
            State::Lost | State::Refused => self.counts.late += u64::from(counted),
            State::Free | State::Failed => {
                self.counts.unmatched += 1;
                return Fate::Stray;
            }
        }
        Fate::Counted { j, sampled }
    }

    /// Request `j`'s reply came in time at `time`; `good` is what `check` said.
    pub fn answered(&mut self, j: u64, time: i64, good: bool) {
        if !self.counted(j) {
            return;
        }
        let sent = self.table.get(j).map_or(time, |s| s.sent);
        let latency = time - self.due(j);
        self.counts.received += 1;
        self.counts.bad += u64::from(!good);
        histogram::record(&mut self.latency, latency);
        histogram::record(&mut self.service, time - sent);
        self.timeline.received(self.schedule.second(j), latency);
    }

    /// An ICMP error (port unreachable) came back for `request` from client socket `client`.
    pub fn refused(&mut self, request: &[u8], client: usize) {
        let key = self.pairing.key(request, self.tag, self.constant);
        let Some(j) = self.table.find(key, client, &self.schedule) else {
            return;
        };
        if let Some(slot) = self.table.get(j)
            && slot.state == State::Outstanding
        {
            slot.state = State::Refused;
            self.lost(j);
            self.counts.refused += u64::from(self.counted(j));
        }
    }

    /// Every request sent before `now - timeout` and still unanswered is lost; the seconds
    /// of the timeline that are settled are closed.
    pub fn expire(&mut self, now: i64) {
        let (counts, timeline, schedule) = (&mut self.counts, &mut self.timeline, &self.schedule);
        self.table.expire(now - self.timeout, |slot| {
            if !schedule.is_warmup(slot.j) {
                counts.lost += 1;
                timeline.lost(schedule.second(slot.j));
            }
        });
        self.timeline
            .close_before(self.schedule.second(self.table.settled_to()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::Segment;

    const MS: i64 = 1_000_000;

    /// 1,000 requests a second over 2 sockets, paired by DNS id, timeout 100 ms; the first
    /// `warm` requests warm-up.
    fn books(total: u64, warm: u64) -> Books {
        Books {
            schedule: Schedule::new(1000.0, total, warm, Segment::WHOLE),
            pairing: Pairing::Dns,
            table: Table::new(100, 2, false).unwrap(),
            counts: Counts::default(),
            latency: histogram::new(),
            service: histogram::new(),
            timeline: Timeline::default(),
            start: 0,
            timeout: 100 * MS,
            tag: 0,
            constant: true,
        }
    }

    /// The reply to request `j` (sockets take turns: its id is j / 2).
    fn dns_reply(j: u64) -> Vec<u8> {
        let mut r = vec![0; 12];
        r[0..2].copy_from_slice(&((j / 2) as u16).to_be_bytes());
        r
    }

    fn send_all(b: &mut Books, n: u64, late_by: i64) {
        for j in 0..n {
            b.sent(j, b.due(j) + late_by, false, None);
        }
        b.table.issued_to(n);
    }

    /// The reply to request `j`, `after` its due time.
    fn answer(b: &mut Books, j: u64, after: i64) -> Fate {
        let at = b.due(j) + after;
        let fate = b.reply(&dns_reply(j), (j % 2) as usize, at);
        if let Fate::InTime { j, .. } = fate {
            b.answered(j, at, true);
        }
        fate
    }

    #[test]
    fn every_fate_is_counted_once_and_the_sum_holds() {
        let mut b = books(10, 0);
        send_all(&mut b, 10, 0);
        // 0..5 in time; 5 twice; 6 after its timeout; 7 refused; 8 and 9 never.
        for j in 0..6 {
            assert!(matches!(answer(&mut b, j, 2 * MS), Fate::InTime { .. }));
        }
        assert_eq!(
            answer(&mut b, 5, 3 * MS),
            Fate::Counted {
                j: 5,
                sampled: false
            }
        );
        assert_eq!(
            answer(&mut b, 6, 150 * MS),
            Fate::Counted {
                j: 6,
                sampled: false
            }
        );
        b.refused(&dns_reply(7), 1);
        b.expire(b.due(9) + 101 * MS);
        // a reply to 8 after it was given up: late
        answer(&mut b, 8, 300 * MS);
        // a reply to nothing, and one too short to be DNS
        b.reply(&dns_reply(40), 0, 0);
        b.reply(&[1, 2], 0, 0);
        let c = b.counts;
        assert_eq!((c.sent, c.received, c.lost), (10, 6, 4));
        assert_eq!(c.sent, c.received + c.lost);
        assert_eq!((c.late, c.duplicate, c.refused, c.unmatched), (2, 1, 1, 2));
        assert_eq!(b.latency.len(), 6);
        assert!(!b.table.in_flight());
    }

    #[test]
    fn latency_runs_from_the_due_time_and_service_from_the_send() {
        let mut b = books(4, 0);
        // the sender was 30 ms behind its schedule; the server answers in 2 ms
        send_all(&mut b, 4, 30 * MS);
        for j in 0..4 {
            answer(&mut b, j, 32 * MS);
        }
        let l = histogram::secs(b.latency.value_at_quantile(0.5));
        let s = histogram::secs(b.service.value_at_quantile(0.5));
        assert!((l - 0.032).abs() < 0.0001, "{l}");
        assert!((s - 0.002).abs() < 0.00001, "{s}");
    }

    #[test]
    fn warmup_is_paired_but_not_counted() {
        let mut b = books(6, 2);
        send_all(&mut b, 6, 0);
        for j in 0..6 {
            answer(&mut b, j, MS);
        }
        answer(&mut b, 0, 2 * MS); // a duplicate of warm-up
        assert_eq!((b.counts.sent, b.counts.received), (4, 4));
        assert_eq!((b.counts.duplicate, b.counts.unmatched), (0, 0));
        assert_eq!(b.latency.len(), 4);
    }

    #[test]
    fn the_timeline_closes_settled_seconds() {
        let mut b = books(2500, 0);
        for j in 0..2500 {
            b.sent(j, b.due(j), false, None);
            b.table.issued_to(j + 1);
            if j % 10 != 0 {
                answer(&mut b, j, MS);
            }
            b.expire(b.due(j) + MS);
        }
        assert!(
            b.timeline.open() <= 2,
            "settled seconds are closed as it goes"
        );
        b.expire(b.due(2499) + 200 * MS);
        let seconds = std::mem::take(&mut b.timeline).finish();
        let figures: Vec<_> = seconds
            .iter()
            .map(|s| (s.t, s.sent, s.received, s.lost))
            .collect();
        assert_eq!(
            figures,
            [(0, 1000, 900, 100), (1, 1000, 900, 100), (2, 500, 450, 50)]
        );
    }
}
