//! The socket loop of a load run, as wrk2's and dnsperf's: requests leave on schedule
//! whether or not replies come (open loop), those due together in one `sendmmsg` per client
//! socket; between sends the loop waits (ppoll, to the microsecond) for replies or the next
//! due time, takes replies with `recvmmsg` and their kernel receive times, reads ICMP errors
//! from the error queue, and settles what timed out. One thread: a `request` or `check`
//! closure runs on it, which is what lets it be a script's closure.
//!
//! A request is lost only when its timeout has passed *and* every reply that arrived by then
//! has been read (the sockets were drained to empty after a poll that started later), so a
//! busy receiver never turns a reply that came in time into a loss.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::SystemTime;

use socket2::SockAddr;

use super::books::{Books, Fate};
use super::histogram::{self, Summary};
use super::io::{self, Client, RecvBatch, SendBatch};
use super::pairing::{Pairing, Stamp};
use super::plan::{Invalid, Plan, Requests, invalid};
use super::result::{Counts, Report};
use super::table::Table;
use super::timeline::Timeline;
use crate::net::{MAX_IPV4_PAYLOAD, MAX_IPV6_PAYLOAD};

/// Requests handed to the kernel before the loop looks at replies again.
const SEND_CHUNK: u64 = 256;
/// `recvmmsg` calls on one socket before the loop looks at sends again.
const RECV_ROUNDS: usize = 8;
/// How often `Hooks::tick` is called (the live line, a stop).
const TICK: i64 = 100_000_000;

/// Which way a sampled datagram went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    Request,
    Reply,
}

/// A datagram of the sample, for the recording.
pub struct Sampled<'a> {
    pub way: Way,
    /// The request's index in the whole run.
    pub i: u64,
    /// A client's address is the any-address with its port.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub data: &'a [u8],
    pub len: usize,
    pub time: SystemTime,
}

/// A reply in time, for `check`.
pub struct Reply<'a> {
    pub data: &'a [u8],
    pub len: usize,
    pub from: SocketAddr,
    pub time: SystemTime,
    /// The index of the request it answers.
    pub i: u64,
}

/// Where the run is, for a live line.
pub struct Progress {
    pub elapsed: f64,
    pub counts: Counts,
    pub p50: f64,
    pub p99: f64,
}

/// What the run asks of its caller: the script's closures, the recording, a stop.
pub trait Hooks {
    type Error;

    /// The client sockets are bound, at these addresses (the any-address and a port each).
    fn bound(&mut self, _clients: &[SocketAddr]) {}

    /// Appends request `i` (index in the whole run) to `out` ([`Requests::Made`] only).
    fn request(&mut self, _i: u64, _out: &mut Vec<u8>) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Whether a reply in time is good (`false`: it counts as `bad`).
    fn check(&mut self, _reply: &Reply) -> Result<bool, Self::Error> {
        Ok(true)
    }

    /// One datagram of the sample was sent or received: record it.
    fn sampled(&mut self, _datagram: &Sampled) {}

    /// About ten times a second: show progress; an error ends the run (a stop, Ctrl-C).
    fn tick(&mut self, _progress: &Progress) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Why a run ended without a report.
#[derive(Debug)]
pub enum Failure<E> {
    /// The plan cannot run (a request the pairing cannot stamp, too many in flight): before
    /// anything was sent.
    Setup(Invalid),
    /// A request made during the run was wrong.
    Request(String),
    Network(String),
    Hook(E),
}

pub fn run<H: Hooks>(plan: &Plan, hooks: &mut H) -> Result<Report, Failure<H::Error>> {
    let constant = matches!(plan.requests, Requests::One(_));
    plan.check(constant).map_err(Failure::Setup)?;
    let clients = io::clients(plan.clients, plan.target)
        .map_err(|e| Failure::Network(format!("cannot open the client sockets: {e}")))?;
    hooks.bound(&clients.iter().map(|c| c.local).collect::<Vec<_>>());
    let per_process = plan.schedule.rate() / plan.schedule.segment().of as f64;
    let in_flight = (per_process * plan.timeout.as_secs_f64()).ceil() as u64 + 2 * SEND_CHUNK;
    let keyed = matches!(plan.pairing, Pairing::Bytes { .. }) && !constant;
    let table = Table::new(in_flight, plan.clients as u64, keyed)
        .map_err(|e| Failure::Setup(invalid("rate", format!("× timeout: {e}"))))?;
    let timeout = i64::try_from(plan.timeout.as_nanos()).unwrap_or(i64::MAX / 4);
    let _timers = io::TightTimers::new();
    let mut run = Run {
        plan,
        hooks,
        books: Books {
            schedule: plan.schedule,
            pairing: plan.pairing.clone(),
            table,
            counts: Counts::default(),
            latency: histogram::new(),
            service: histogram::new(),
            timeline: Timeline::default(),
            start: io::now(),
            timeout,
            tag: crate::protocols::random_u64() as u32,
            constant,
        },
        to: SockAddr::from(plan.target),
        clients,
        send: SendBatch::new(),
        recv: RecvBatch::new(),
        errors: vec![0; 65_536],
        behind: 0,
        last_send: 0,
        icmp: false,
    };
    run.go()?;
    Ok(run.report())
}

struct Run<'a, H: Hooks> {
    plan: &'a Plan,
    hooks: &'a mut H,
    books: Books,
    to: SockAddr,
    clients: Vec<Client>,
    send: SendBatch,
    recv: RecvBatch,
    /// For what the error queue holds.
    errors: Vec<u8>,
    /// The worst lag of a send behind its due time, ns.
    behind: i64,
    last_send: i64,
    /// A send met an ICMP error meant for a receive: read the error queues.
    icmp: bool,
}

impl<H: Hooks> Run<'_, H> {
    fn go(&mut self) -> Result<(), Failure<H::Error>> {
        let len = self.books.schedule.len();
        let mut polls: Vec<libc::pollfd> = self
            .clients
            .iter()
            .map(|c| libc::pollfd {
                fd: c.socket.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let start = self.books.start;
        let mut next_tick = start + TICK;
        loop {
            let now = io::now();
            let due = self
                .books
                .schedule
                .due_by((now - start).max(0) as u64)
                .min(len);
            let issued = self.books.table.issued();
            if issued < due {
                self.send_due(issued, due.min(issued + SEND_CHUNK), now)?;
            }
            let issued = self.books.table.issued();
            let all_sent = issued == len;
            let end = self.last_send.max(start) + self.books.timeout;
            let wake = if issued < due {
                now
            } else if !all_sent {
                self.books.due(issued)
            } else {
                end
            };
            let polled = io::now();
            io::wait(&mut polls, wake.min(next_tick) - polled)
                .map_err(|e| Failure::Network(format!("poll failed: {e}")))?;
            let drained = self.receive(&polls)?;
            if drained {
                self.books.expire(polled);
            }
            if polled >= next_tick {
                next_tick = polled + TICK;
                let progress = self.progress(polled);
                self.hooks.tick(&progress).map_err(Failure::Hook)?;
            }
            if all_sent && drained && polled >= end && !self.books.table.in_flight() {
                return Ok(());
            }
        }
    }

    /// Sends requests `from..to`, each client socket its share in one `sendmmsg` (or more, if
    /// the kernel takes fewer).
    fn send_due(&mut self, from: u64, to: u64, now: i64) -> Result<(), Failure<H::Error>> {
        self.behind = self.behind.max(now - self.books.due(from));
        let n = self.clients.len() as u64;
        for c in 0..n {
            let first = from + (c + n - from % n) % n;
            self.send.clear();
            for j in (first..to).step_by(n as usize) {
                self.write_request(j)?;
            }
            let fd = self.clients[c as usize].socket.as_raw_fd();
            let mut done = 0;
            while done < self.send.parts.len() {
                let at = io::now();
                match self.send.send(fd, &self.to, done, &mut self.icmp) {
                    Ok(taken) => {
                        for part in done..done + taken {
                            self.sent(part, c as usize, at);
                        }
                        done += taken;
                        self.last_send = at;
                    }
                    Err(_) => {
                        self.books.failed(self.send.parts[done].2);
                        done += 1;
                    }
                }
            }
        }
        self.books.table.issued_to(to);
        Ok(())
    }

    /// Appends request `j`, stamped, to the batch.
    fn write_request(&mut self, j: u64) -> Result<(), Failure<H::Error>> {
        let i = self.books.schedule.global(j);
        let bytes = &mut self.send.bytes;
        let start = bytes.len();
        match &self.plan.requests {
            Requests::One(one) => bytes.extend_from_slice(one),
            Requests::Turns(turns) => {
                bytes.extend_from_slice(&turns[(i % turns.len() as u64) as usize])
            }
            Requests::Made => {
                self.hooks.request(i, bytes).map_err(Failure::Hook)?;
                let limit = if self.plan.target.is_ipv6() {
                    MAX_IPV6_PAYLOAD
                } else {
                    MAX_IPV4_PAYLOAD
                };
                if bytes.len() - start > limit {
                    return Err(Failure::Request(format!(
                        "request {i} is {} bytes, over the UDP limit of {limit}",
                        bytes.len() - start
                    )));
                }
            }
        }
        let stamp = Stamp {
            k: self.books.table.number_on_client(j),
            i,
            tag: self.books.tag,
        };
        self.books
            .pairing
            .stamp(&mut bytes[start..], stamp, self.books.constant)
            .map_err(|e| Failure::Request(format!("request {i}: {e}")))?;
        self.send.push(start, j);
        Ok(())
    }

    /// Part `part` of the batch left from client `c` at `at`.
    fn sent(&mut self, part: usize, c: usize, at: i64) {
        let (start, len, j) = self.send.parts[part];
        let data = &self.send.bytes[start..start + len];
        let i = self.books.schedule.global(j);
        let sampled = self.plan.sample > 0 && i.is_multiple_of(self.plan.sample);
        let key = match self.books.pairing {
            Pairing::Bytes { start: a, end: b } if !self.books.constant => data.get(a..b),
            _ => None,
        };
        self.books.sent(j, at, sampled, key);
        if sampled {
            self.hooks.sampled(&Sampled {
                way: Way::Request,
                i,
                src: self.clients[c].local,
                dst: self.plan.target,
                data,
                len,
                time: io::time_of(at),
            });
        }
    }

    /// Takes the replies and errors `poll` found; whether every socket was drained empty.
    fn receive(&mut self, polls: &[libc::pollfd]) -> Result<bool, Failure<H::Error>> {
        let mut drained = true;
        let icmp = std::mem::take(&mut self.icmp);
        for (c, p) in polls.iter().enumerate() {
            if p.revents & libc::POLLERR != 0 || icmp {
                self.read_errors(c);
            }
            if p.revents & libc::POLLIN == 0 {
                continue;
            }
            drained &= self.drain(c)?;
        }
        Ok(drained)
    }

    fn drain(&mut self, c: usize) -> Result<bool, Failure<H::Error>> {
        let fd = self.clients[c].socket.as_raw_fd();
        for _ in 0..RECV_ROUNDS {
            let n = match self.recv.receive(fd) {
                Ok(n) => n,
                Err(e) if e.raw_os_error().is_some_and(is_icmp) => {
                    self.read_errors(c);
                    continue;
                }
                Err(_) => {
                    self.books.counts.errors += 1;
                    return Ok(true);
                }
            };
            for m in 0..n {
                self.reply(c, m)?;
            }
            if n < io::RECV_BATCH {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn reply(&mut self, c: usize, m: usize) -> Result<(), Failure<H::Error>> {
        let got = self.recv.get(m);
        let time = got.time.unwrap_or_else(io::now);
        let fate = self.books.reply(got.data, c, time);
        let from = got.from.unwrap_or(self.plan.target);
        let (sampled, check, j) = match fate {
            Fate::InTime { j, sampled } => (sampled, true, j),
            Fate::Counted { j, sampled } => (sampled, false, j),
            Fate::Stray => (false, false, 0),
        };
        if check {
            let good = if self.plan.check {
                let reply = Reply {
                    data: got.data,
                    len: got.len,
                    from,
                    time: io::time_of(time),
                    i: self.books.schedule.global(j),
                };
                self.hooks.check(&reply).map_err(Failure::Hook)?
            } else {
                true
            };
            self.books.answered(j, time, good);
        }
        if sampled {
            self.hooks.sampled(&Sampled {
                way: Way::Reply,
                i: self.books.schedule.global(j),
                src: from,
                dst: self.clients[c].local,
                data: got.data,
                len: got.len,
                time: io::time_of(time),
            });
        }
        Ok(())
    }

    fn read_errors(&mut self, c: usize) {
        let books = &mut self.books;
        io::drain_errors(&self.clients[c].socket, &mut self.errors, |request| {
            books.refused(request, c)
        });
    }

    fn progress(&self, now: i64) -> Progress {
        let h = &self.books.latency;
        Progress {
            elapsed: (now - self.books.start) as f64 / 1e9,
            counts: self.books.counts,
            p50: histogram::secs(h.value_at_quantile(0.5)),
            p99: histogram::secs(h.value_at_quantile(0.99)),
        }
    }

    fn report(self) -> Report {
        let b = self.books;
        let start = b.start + b.schedule.measured_from() as i64;
        let end = (b.start + b.schedule.end() as i64).max(self.last_send);
        let seconds = (end - start).max(0) as f64 / 1e9;
        let per_second = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let segment = b.schedule.segment();
        Report {
            target: self.plan.target.to_string(),
            requested_rate: b.schedule.rate(),
            segment: (!segment.is_whole()).then(|| segment.to_string()),
            pair: b.pairing.to_string(),
            counts: b.counts,
            rate: per_second(b.counts.sent),
            throughput: per_second(b.counts.received),
            behind: self.behind.max(0) as f64 / 1e9,
            seconds,
            latency: Summary::of(&b.latency),
            service: Summary::of(&b.service),
            timeline: b.timeline.finish(),
            histogram: histogram::encode(&b.latency),
            service_histogram: histogram::encode(&b.service),
        }
    }
}

fn is_icmp(errno: i32) -> bool {
    matches!(
        errno,
        libc::ECONNREFUSED | libc::EHOSTUNREACH | libc::ENETUNREACH
    )
}
