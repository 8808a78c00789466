//! What the proxy does to each datagram, decided from a seeded RNG and a time the caller
//! passes (as smoltcp's `fault_injector`): no sockets, no clock. The caller asks
//! [`Engine::next_wakeup`] when to come back and takes what is due with [`Engine::poll`].
//!
//! Each direction is one link: a FIFO whose datagrams leave in the order they came, at
//! `arrival + delay ± jitter` (never before the one ahead of them). A datagram picked for
//! reordering waits and leaves right after the next one of its direction; if none comes within
//! [`REORDER_WAIT`] it leaves then, in order (counted as delayed, not reordered).
//!
//! Every datagram draws the same five numbers whatever the settings, so the n-th datagram of
//! a direction meets the same fate for a given seed, and raising `loss` only adds drops.

use std::collections::VecDeque;
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How long a datagram picked for reordering waits for a later one to overtake it.
pub const REORDER_WAIT: Duration = Duration::from_millis(50);
/// Datagrams and bytes one direction may hold; past that, arrivals are dropped (queue full).
pub const MAX_QUEUED: usize = 16_384;
pub const MAX_QUEUED_BYTES: usize = 64 << 20;

/// Client → server is up, server → client down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    Up,
    Down,
}

impl Dir {
    pub fn as_str(self) -> &'static str {
        match self {
            Dir::Up => "up",
            Dir::Down => "down",
        }
    }

    fn index(self) -> usize {
        match self {
            Dir::Up => 0,
            Dir::Down => 1,
        }
    }
}

/// What one direction does: probabilities are 0 to 1.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Impairment {
    pub loss: f64,
    pub delay: Duration,
    /// Each datagram's delay is uniform in `delay ± jitter` (not below 0).
    pub jitter: Duration,
    pub dup: f64,
    pub reorder: f64,
}

/// Settings of both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Settings {
    pub up: Impairment,
    pub down: Impairment,
}

impl Settings {
    /// The same impairment both ways.
    pub fn both(imp: Impairment) -> Settings {
        Settings { up: imp, down: imp }
    }

    pub fn get(&self, dir: Dir) -> &Impairment {
        match dir {
            Dir::Up => &self.up,
            Dir::Down => &self.down,
        }
    }
}

/// Counts of one direction. Always `received == forwarded + dropped`; `duplicated` extra
/// copies were made of forwarded ones; `queued` (copies included) wait to be sent now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirStats {
    pub received: u64,
    pub forwarded: u64,
    pub dropped: u64,
    pub duplicated: u64,
    /// Sent after a datagram that arrived later (copies included).
    pub reordered: u64,
    /// Sent later than they arrived (copies included).
    pub delayed: u64,
    pub queued: u64,
    /// Sends the OS refused (counted by the caller through [`Engine::send_failed`]).
    pub errors: u64,
}

/// Why a datagram was not forwarded; the text goes into capture comments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    Loss,
    QueueFull,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::QueueFull => "queue full",
        }
    }
}

/// The fate of an arriving datagram.
#[derive(Debug, PartialEq)]
pub enum Verdict<T> {
    /// Queued (with a copy if duplicated); [`Engine::poll`] hands it out when due.
    Forwarded,
    /// Given back, so the caller can record it.
    Dropped(T, DropReason),
}

/// Anything the engine holds, with its size for the byte limit.
pub trait Weight {
    fn weight(&self) -> usize;
}

impl Weight for Vec<u8> {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weight for u32 {
    fn weight(&self) -> usize {
        4
    }
}

/// A datagram leaving the proxy.
#[derive(Debug, PartialEq)]
pub struct Out<T> {
    pub dir: Dir,
    pub item: T,
    /// When it arrived (the caller's time).
    pub arrived: Duration,
    /// When it was due to leave.
    pub due: Duration,
    /// A copy made by `dup`.
    pub copy: bool,
    /// It leaves after a datagram that arrived later.
    pub reordered: bool,
}

struct Entry<T> {
    due: Duration,
    arrived: Duration,
    item: T,
    copy: bool,
    reordered: bool,
}

struct Held<T> {
    entries: Vec<Entry<T>>,
    deadline: Duration,
}

struct Lane<T> {
    rng: ChaCha8Rng,
    queue: VecDeque<Entry<T>>,
    held: Option<Held<T>>,
    bytes: usize,
    stats: DirStats,
}

impl<T> Lane<T> {
    fn new(seed: u64, dir: Dir) -> Lane<T> {
        Lane {
            rng: lane_rng(seed, dir),
            queue: VecDeque::new(),
            held: None,
            bytes: 0,
            stats: DirStats::default(),
        }
    }

    fn len(&self) -> usize {
        self.queue.len() + self.held.as_ref().map_or(0, |h| h.entries.len())
    }

    /// Appends in FIFO order: never due before the datagram ahead.
    fn push(&mut self, mut e: Entry<T>) {
        if let Some(back) = self.queue.back() {
            e.due = e.due.max(back.due);
        }
        self.queue.push_back(e);
    }

    fn release_held(&mut self, reordered: bool) {
        if let Some(held) = self.held.take() {
            for mut e in held.entries {
                e.reordered = reordered;
                if reordered {
                    self.stats.reordered += 1;
                }
                self.push(e);
            }
        }
    }
}

/// Each direction has its own stream, so the fate of the n-th datagram one way does not
/// depend on how the two directions interleave in time.
fn lane_rng(seed: u64, dir: Dir) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(dir.index() as u64);
    rng
}

/// The decisions and the schedule of one proxy.
pub struct Engine<T> {
    settings: Settings,
    lanes: [Lane<T>; 2],
}

impl<T: Clone + Weight> Engine<T> {
    pub fn new(settings: Settings, seed: u64) -> Engine<T> {
        Engine {
            settings,
            lanes: [Lane::new(seed, Dir::Up), Lane::new(seed, Dir::Down)],
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// New settings for datagrams arriving from now on; queued ones keep their schedule.
    pub fn set(&mut self, settings: Settings) {
        self.settings = settings;
    }

    /// Starts both random streams again from `seed`.
    pub fn reseed(&mut self, seed: u64) {
        for (lane, dir) in self.lanes.iter_mut().zip([Dir::Up, Dir::Down]) {
            lane.rng = lane_rng(seed, dir);
        }
    }

    /// Decides the fate of a datagram arriving at `now`.
    pub fn receive(&mut self, now: Duration, dir: Dir, item: T) -> Verdict<T> {
        let imp = *self.settings.get(dir);
        let lane = &mut self.lanes[dir.index()];
        // Always five draws, whatever is decided (see the module doc).
        let draws: [f64; 5] = std::array::from_fn(|_| lane.rng.random::<f64>());
        let [u_loss, u_dup, u_reorder, j_first, j_copy] = draws;
        lane.stats.received += 1;
        let size = item.weight();
        let copies = if u_dup < imp.dup { 2 } else { 1 };
        if lane.len() + copies > MAX_QUEUED || lane.bytes + size * copies > MAX_QUEUED_BYTES {
            lane.stats.dropped += 1;
            return Verdict::Dropped(item, DropReason::QueueFull);
        }
        if u_loss < imp.loss {
            lane.stats.dropped += 1;
            return Verdict::Dropped(item, DropReason::Loss);
        }
        lane.stats.forwarded += 1;
        lane.bytes += size * copies;
        let entry = |item, due, copy| Entry {
            due,
            arrived: now,
            item,
            copy,
            reordered: false,
        };
        let first_due = now + delay_of(&imp, j_first);
        let mut entries = Vec::with_capacity(copies);
        if copies == 2 {
            lane.stats.duplicated += 1;
            entries.push(entry(item.clone(), first_due, false));
            entries.push(entry(item, now + delay_of(&imp, j_copy), true));
        } else {
            entries.push(entry(item, first_due, false));
        }
        if lane.held.is_none() && u_reorder < imp.reorder {
            let deadline = lane
                .queue
                .back()
                .map_or(first_due, |b| b.due.max(first_due));
            lane.held = Some(Held {
                entries,
                deadline: deadline + REORDER_WAIT,
            });
            return Verdict::Forwarded;
        }
        for e in entries {
            lane.push(e);
        }
        // This datagram arrived after the held one: it overtakes it.
        lane.release_held(true);
        Verdict::Forwarded
    }

    /// The next datagram due at `now`, if any (the earliest of both directions).
    pub fn poll(&mut self, now: Duration) -> Option<Out<T>> {
        for lane in &mut self.lanes {
            if lane.held.as_ref().is_some_and(|h| h.deadline <= now) {
                lane.release_held(false);
            }
        }
        let pick = [Dir::Up, Dir::Down]
            .into_iter()
            .filter_map(|d| {
                let front = self.lanes[d.index()].queue.front()?;
                (front.due <= now).then_some((front.due, d))
            })
            .min_by_key(|(due, _)| *due)?
            .1;
        self.pop(pick)
    }

    /// When [`poll`](Self::poll) will next have something: `None` when nothing waits.
    pub fn next_wakeup(&self) -> Option<Duration> {
        self.lanes
            .iter()
            .flat_map(|l| {
                [
                    l.queue.front().map(|e| e.due),
                    l.held.as_ref().map(|h| h.deadline),
                ]
            })
            .flatten()
            .min()
    }

    /// Everything still waiting, in the order it would have left: nothing is lost at
    /// shutdown that was not dropped.
    pub fn drain(&mut self) -> Vec<Out<T>> {
        for lane in &mut self.lanes {
            lane.release_held(false);
        }
        let mut out = Vec::new();
        loop {
            let pick = [Dir::Up, Dir::Down]
                .into_iter()
                .filter_map(|d| Some((self.lanes[d.index()].queue.front()?.due, d)))
                .min_by_key(|(due, _)| *due);
            match pick.and_then(|(_, d)| self.pop(d)) {
                Some(o) => out.push(o),
                None => return out,
            }
        }
    }

    /// Counts a datagram handed out by `poll` or `drain` that the OS refused to send.
    pub fn send_failed(&mut self, dir: Dir) {
        self.lanes[dir.index()].stats.errors += 1;
    }

    pub fn stats(&self, dir: Dir) -> DirStats {
        let lane = &self.lanes[dir.index()];
        DirStats {
            queued: lane.len() as u64,
            ..lane.stats
        }
    }

    fn pop(&mut self, dir: Dir) -> Option<Out<T>> {
        let lane = &mut self.lanes[dir.index()];
        let e = lane.queue.pop_front()?;
        lane.bytes = lane.bytes.saturating_sub(e.item.weight());
        if e.due > e.arrived {
            lane.stats.delayed += 1;
        }
        Some(Out {
            dir,
            item: e.item,
            arrived: e.arrived,
            due: e.due,
            copy: e.copy,
            reordered: e.reordered,
        })
    }
}

/// `delay ± jitter` from a uniform draw `u` in [0, 1).
fn delay_of(imp: &Impairment, u: f64) -> Duration {
    if imp.jitter.is_zero() {
        return imp.delay;
    }
    crate::seconds::offset(imp.delay, (2.0 * u - 1.0) * imp.jitter.as_secs_f64())
        .unwrap_or(imp.delay)
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
