//! The requests in flight, in a ring indexed by this process's request number `j`: its size
//! is twice the requests that can be in flight (rate × timeout), whatever the run's length, so
//! memory stays flat. A slot keeps its request's fate after it is settled (answered, lost,
//! refused) until the ring comes round again, which is how a duplicate or a late reply is told
//! from a reply to nothing.

use std::collections::HashMap;

use super::pairing::Key;
use super::schedule::Schedule;

/// The largest ring: 8M slots (192 MiB).
pub const MAX_SLOTS: u64 = 1 << 23;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Free,
    Outstanding,
    Answered,
    Lost,
    Refused,
    /// Its send failed: it never left.
    Failed,
}

#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub j: u64,
    /// When it was handed to the kernel, ns since the Unix epoch.
    pub sent: i64,
    pub state: State,
    /// It (and its reply) are recorded.
    pub sampled: bool,
}

const FREE: Slot = Slot {
    j: u64::MAX,
    sent: 0,
    state: State::Free,
    sampled: false,
};

pub struct Table {
    slots: Vec<Slot>,
    mask: u64,
    clients: u64,
    /// Requests `0..issued` have been sent (or failed).
    issued: u64,
    /// Every request below this one is settled.
    settled_to: u64,
    /// Per client socket: its requests below this number `k` are settled (pairing by order).
    oldest: Vec<u64>,
    /// Requests that vary, paired by bytes: the bytes of each one in the ring.
    keyed: Option<Keyed>,
}

struct Keyed {
    by_key: HashMap<Box<[u8]>, u64>,
    of_slot: Vec<Option<Box<[u8]>>>,
}

impl Table {
    /// A ring for `in_flight` requests at once over `clients` sockets; `keyed` when replies
    /// are looked up by request bytes.
    pub fn new(in_flight: u64, clients: u64, keyed: bool) -> Result<Table, String> {
        let size = in_flight
            .saturating_mul(2)
            .max(1024)
            .checked_next_power_of_two()
            .filter(|n| *n <= MAX_SLOTS)
            .ok_or_else(|| {
                format!(
                    "{in_flight} requests could be in flight at once (rate × timeout); \
                     the most is {}: lower the rate or the timeout",
                    MAX_SLOTS / 2
                )
            })?;
        Ok(Table {
            slots: vec![FREE; size as usize],
            mask: size - 1,
            clients: clients.max(1),
            issued: 0,
            settled_to: 0,
            oldest: vec![0; clients.max(1) as usize],
            keyed: keyed.then(|| Keyed {
                by_key: HashMap::new(),
                of_slot: vec![None; size as usize],
            }),
        })
    }

    /// The client socket of request `j` (round-robin).
    pub fn client_of(&self, j: u64) -> usize {
        (j % self.clients) as usize
    }

    /// Request `j`'s number on its client socket.
    pub fn number_on_client(&self, j: u64) -> u64 {
        j / self.clients
    }

    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Whether a request is still waiting for its reply or its timeout.
    pub fn in_flight(&self) -> bool {
        self.settled_to < self.issued
    }

    /// Puts request `j` (sent at `sent`) in the ring; returns the request it pushed out if
    /// that one was still in flight (the sender fell far behind: it counts as lost). The
    /// requests of one batch may come in any order; [`Table::issued_to`] follows them.
    pub fn issue(&mut self, j: u64, sent: i64, sampled: bool, key: Option<&[u8]>) -> Option<u64> {
        let at = (j & self.mask) as usize;
        let old = self.slots[at];
        let pushed = (old.state == State::Outstanding).then_some(old.j);
        if let Some(keyed) = &mut self.keyed {
            if let Some(old_key) = keyed.of_slot[at].take()
                && keyed.by_key.get(&old_key) == Some(&old.j)
            {
                keyed.by_key.remove(&old_key);
            }
            if let Some(key) = key {
                let key: Box<[u8]> = key.into();
                keyed.by_key.insert(key.clone(), j);
                keyed.of_slot[at] = Some(key);
            }
        }
        self.slots[at] = Slot {
            j,
            sent,
            state: State::Outstanding,
            sampled,
        };
        pushed
    }

    /// Every request below `n` has been issued (or failed: see [`Table::fail`]).
    pub fn issued_to(&mut self, n: u64) {
        self.issued = self.issued.max(n);
    }

    /// Request `j` never left: its send failed.
    pub fn fail(&mut self, j: u64) {
        self.slots[(j & self.mask) as usize] = Slot {
            j,
            sent: 0,
            state: State::Failed,
            sampled: false,
        };
    }

    /// Every request below this one is settled.
    pub fn settled_to(&self) -> u64 {
        self.settled_to
    }

    /// Request `j`, while the ring still holds it.
    pub fn get(&mut self, j: u64) -> Option<&mut Slot> {
        let slot = &mut self.slots[(j & self.mask) as usize];
        (slot.j == j && slot.state != State::Free).then_some(slot)
    }

    /// The request a reply with `key`, on client socket `client`, answers: the latest one
    /// sent that fits it. `None` when none does.
    pub fn find(&mut self, key: Key, client: usize, schedule: &Schedule) -> Option<u64> {
        let c = client as u64;
        // Requests of this client sent so far: k = 0 ..= last.
        let on_client = (self.issued + self.clients - 1 - c) / self.clients;
        match key {
            Key::Oldest => {
                self.advance_oldest(client);
                let j = self.oldest[client] * self.clients + c;
                (j < self.issued).then_some(j)
            }
            Key::Client16(id) => {
                let last = on_client.checked_sub(1)?;
                let back = last.wrapping_sub(u64::from(id)) & 0xffff;
                let k = last.checked_sub(back)?;
                Some(k * self.clients + c)
            }
            Key::Global { value, bits } => {
                let last = schedule.global(self.issued.checked_sub(1)?);
                let i = if bits >= 64 {
                    value
                } else {
                    let span = 1u64 << bits;
                    let back = last.wrapping_sub(value) & (span - 1);
                    last.checked_sub(back)?
                };
                schedule.local(i).filter(|j| *j < self.issued)
            }
            Key::Bytes(bytes) => self.keyed.as_ref()?.by_key.get(bytes).copied(),
            Key::Ignore | Key::Unknown => None,
        }
    }

    fn advance_oldest(&mut self, client: usize) {
        loop {
            let j = self.oldest[client] * self.clients + client as u64;
            if j >= self.issued {
                return;
            }
            let slot = self.slots[(j & self.mask) as usize];
            if slot.j == j && slot.state == State::Outstanding {
                return;
            }
            self.oldest[client] += 1;
        }
    }

    /// Settles as lost every request in flight sent at or before `cutoff` (ns since the Unix
    /// epoch), oldest first, telling `lost` of each; stops at the first one still in time.
    pub fn expire(&mut self, cutoff: i64, mut lost: impl FnMut(&Slot)) {
        while self.settled_to < self.issued {
            let j = self.settled_to;
            let slot = &mut self.slots[(j & self.mask) as usize];
            if slot.j == j && slot.state == State::Outstanding {
                if slot.sent > cutoff {
                    return;
                }
                slot.state = State::Lost;
                lost(slot);
            }
            self.settled_to += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::schedule::Segment;

    fn schedule() -> Schedule {
        Schedule::new(1000.0, 1_000_000, 0, Segment::WHOLE)
    }

    #[test]
    fn memory_is_bounded_by_what_is_in_flight() {
        let t = Table::new(3000, 4, false).unwrap();
        assert_eq!(t.slots.len(), 8192);
        let err = Table::new(MAX_SLOTS, 4, false).err().unwrap();
        assert!(err.contains("lower the rate or the timeout"), "{err}");
    }

    #[test]
    fn sixteen_bit_ids_find_the_latest_request_of_the_socket() {
        let mut t = Table::new(100, 2, false).unwrap();
        for j in 0..10 {
            t.issue(j, j as i64, false, None);
        }
        t.issued_to(10);
        // client 1 sent j = 1, 3, 5, 7, 9 as its k = 0..4
        assert_eq!(t.find(Key::Client16(3), 1, &schedule()), Some(7));
        assert_eq!(
            t.find(Key::Client16(5), 1, &schedule()),
            None,
            "not sent yet"
        );
        // after 70,000 requests, id 3 is request k = 65,539 of the socket
        let mut t = Table::new(100, 1, false).unwrap();
        for j in 0..70_000 {
            t.issue(j, 0, false, None);
        }
        t.issued_to(70_000);
        assert_eq!(t.find(Key::Client16(3), 0, &schedule()), Some(65_539));
    }

    #[test]
    fn global_indexes_of_a_segment() {
        let s = Schedule::new(1000.0, 1000, 0, Segment { index: 1, of: 3 });
        let mut t = Table::new(100, 1, false).unwrap();
        for j in 0..5 {
            t.issue(j, 0, false, None);
        }
        t.issued_to(5);
        // our j = 4 is i = 13; i = 12 is another segment's
        let key = |value| Key::Global { value, bits: 64 };
        assert_eq!(t.find(key(13), 0, &s), Some(4));
        assert_eq!(t.find(key(12), 0, &s), None);
        assert_eq!(t.find(key(16), 0, &s), None, "not sent yet");
        // 8 bits: 13 + 256 · n
        let key8 = Key::Global { value: 13, bits: 8 };
        assert_eq!(t.find(key8, 0, &s), Some(4));
    }

    #[test]
    fn order_pairs_with_the_oldest_outstanding() {
        let mut t = Table::new(100, 2, false).unwrap();
        for j in 0..6 {
            t.issue(j, 0, false, None);
        }
        t.issued_to(6);
        assert_eq!(t.find(Key::Oldest, 0, &schedule()), Some(0));
        t.get(0).unwrap().state = State::Answered;
        assert_eq!(t.find(Key::Oldest, 0, &schedule()), Some(2));
        assert_eq!(t.find(Key::Oldest, 1, &schedule()), Some(1));
    }

    #[test]
    fn bytes_of_varying_requests_are_looked_up() {
        let mut t = Table::new(1, 1, true).unwrap();
        t.issue(0, 0, false, Some(b"aa"));
        t.issue(1, 0, false, Some(b"bb"));
        t.issued_to(2);
        assert_eq!(t.find(Key::Bytes(b"bb"), 0, &schedule()), Some(1));
        assert_eq!(t.find(Key::Bytes(b"cc"), 0, &schedule()), None);
        // once the ring comes round, the old key goes with its slot
        for j in 2..=1024 {
            t.issue(j, 0, false, Some(format!("{j}").as_bytes()));
        }
        assert_eq!(t.find(Key::Bytes(b"aa"), 0, &schedule()), None);
        assert_eq!(t.keyed.as_ref().unwrap().by_key.len(), 1024);
    }

    #[test]
    fn expiry_settles_in_order_and_stops_at_the_first_in_time() {
        let mut t = Table::new(10, 1, false).unwrap();
        for j in 0..5 {
            t.issue(j, 100 * j as i64, false, None);
        }
        t.issued_to(5);
        t.get(1).unwrap().state = State::Answered;
        let mut lost = vec![];
        t.expire(250, |s| lost.push(s.j));
        assert_eq!(lost, [0, 2]);
        assert!(t.in_flight());
        t.expire(1000, |s| lost.push(s.j));
        assert_eq!(lost, [0, 2, 3, 4]);
        assert!(!t.in_flight());
        assert_eq!(t.get(3).unwrap().state, State::Lost);
    }

    #[test]
    fn a_request_pushed_out_while_in_flight_is_reported() {
        let mut t = Table::new(1, 1, false).unwrap();
        for j in 0..1024 {
            assert_eq!(t.issue(j, 0, false, None), None);
        }
        assert_eq!(t.issue(1024, 0, false, None), Some(0));
        assert!(t.get(0).is_none());
    }
}
