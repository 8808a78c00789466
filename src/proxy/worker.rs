//! The proxy's thread: waits on every socket at once, feeds arrivals to the engine and sends
//! what it says is due.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::time::TimeSpec;

use super::engine::{Dir, Engine, Out, Verdict, Weight};
use super::tap::Tap;
use super::{Command, Control, Options, Stats};
use crate::stop::{SLICE, Stop};

/// Datagrams read from one socket per round, so one busy client cannot starve the others.
const BATCH: usize = 64;
/// At a barrier (`set`, `stats`, `close`), at most this many are taken in from one socket.
const BARRIER_LIMIT: usize = 100_000;
/// A client silent this long loses its upstream socket (a NAT's mapping timeout).
const FLOW_IDLE: Duration = Duration::from_secs(120);
/// At most this many clients at once; the least recently active one makes room.
const MAX_FLOWS: usize = 4096;

/// A datagram in the engine: whose flow it is, and its bytes (shared by a duplicate).
#[derive(Clone)]
struct Item {
    client: SocketAddr,
    data: Arc<[u8]>,
}

impl Weight for Item {
    fn weight(&self) -> usize {
        self.data.len()
    }
}

struct Flow {
    sock: UdpSocket,
    local: SocketAddr,
    last_used: Instant,
}

pub(super) struct Worker {
    listen: UdpSocket,
    addr: SocketAddr,
    upstream: SocketAddr,
    flows: HashMap<SocketAddr, Flow>,
    clients: u64,
    engine: Engine<Item>,
    start: Instant,
    tap: Option<Tap>,
    stop: Option<Arc<Stop>>,
    control: Control,
    buf: Vec<u8>,
    last_sweep: Instant,
    /// Datagrams still to take in, when the proxy is bounded (`--count`).
    left: Option<u64>,
}

impl Worker {
    pub(super) fn new(
        listen: UdpSocket,
        addr: SocketAddr,
        opts: Options,
        commands: Receiver<Command>,
        wakee: UnixDatagram,
        capture_error: Arc<Mutex<Option<String>>>,
    ) -> Worker {
        let tap = opts.recording.map(|r| Tap::new(r, capture_error));
        if let Some(tap) = &tap {
            tap.register(addr);
        }
        Worker {
            listen,
            addr,
            upstream: opts.upstream,
            flows: HashMap::new(),
            clients: 0,
            engine: Engine::new(opts.settings, opts.seed),
            start: Instant::now(),
            tap,
            stop: opts.stop,
            control: Control { commands, wakee },
            buf: vec![0; 65_536],
            last_sweep: Instant::now(),
            left: opts.limit,
        }
    }

    pub(super) fn run(mut self) -> Stats {
        loop {
            self.deliver();
            if self.stop.as_ref().is_some_and(|s| s.flagged().is_some()) {
                break;
            }
            let ready = self.wait();
            self.read(&ready, BATCH);
            if !self.obey() {
                break;
            }
            self.sweep();
        }
        self.read_everything();
        self.shut_down()
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Waits for a socket or the next wake-up; returns which sockets are readable: 0 is the
    /// listening socket, i > 0 the flow of `clients[i - 1]`.
    fn wait(&mut self) -> Vec<Option<SocketAddr>> {
        let now = self.now();
        let timeout = self
            .engine
            .next_wakeup()
            .map_or(SLICE, |t| t.saturating_sub(now).min(SLICE));
        let clients: Vec<SocketAddr> = self.flows.keys().copied().collect();
        let mut fds = Vec::with_capacity(clients.len() + 2);
        fds.push(PollFd::new(self.control.wakee.as_fd(), PollFlags::POLLIN));
        // Bounded and full: the sockets keep what comes, and nothing wakes us for it.
        let listen = if self.left == Some(0) {
            PollFlags::empty()
        } else {
            PollFlags::POLLIN
        };
        fds.push(PollFd::new(self.listen.as_fd(), listen));
        for c in &clients {
            fds.push(PollFd::new(self.flows[c].sock.as_fd(), listen));
        }
        // EINTR and the like: just go round again.
        let _ = ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None);
        let readable = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        let mut ready = Vec::new();
        if readable(&fds[1]) {
            ready.push(None);
        }
        for (fd, c) in fds[2..].iter().zip(&clients) {
            if readable(fd) {
                ready.push(Some(*c));
            }
        }
        ready
    }

    /// Reads up to `limit` datagrams from each ready socket (`None` = the listening one).
    fn read(&mut self, ready: &[Option<SocketAddr>], limit: usize) {
        for which in ready {
            for _ in 0..limit {
                if self.left == Some(0) {
                    return;
                }
                let got = match which {
                    None => self.listen.recv_from(&mut self.buf),
                    Some(c) => match self.flows.get(c) {
                        Some(f) => f.sock.recv_from(&mut self.buf),
                        None => break,
                    },
                };
                let Ok((n, from)) = got else { break };
                if let Some(left) = self.left.as_mut() {
                    *left -= 1;
                }
                let data: Arc<[u8]> = Arc::from(&self.buf[..n]);
                match which {
                    None => self.arrive(Dir::Up, from, self.addr, from, data),
                    Some(c) => {
                        let local = self.flows.get(c).map_or(self.addr, |f| f.local);
                        self.arrive(Dir::Down, from, local, *c, data);
                    }
                }
            }
        }
    }

    /// Everything waiting in the sockets now, so a barrier sees what was sent before it.
    fn read_everything(&mut self) {
        let mut all = vec![None];
        all.extend(self.flows.keys().copied().map(Some));
        self.read(&all, BARRIER_LIMIT);
    }

    fn arrive(
        &mut self,
        dir: Dir,
        from: SocketAddr,
        to: SocketAddr,
        client: SocketAddr,
        data: Arc<[u8]>,
    ) {
        if let Some(f) = self.flows.get_mut(&client) {
            f.last_used = Instant::now();
        }
        let item = Item {
            client,
            data: data.clone(),
        };
        let comment = match self.engine.receive(self.now(), dir, item) {
            Verdict::Forwarded => None,
            Verdict::Dropped(_, reason) => Some(format!("dropped by proxy ({})", reason.as_str())),
        };
        if let Some(tap) = &self.tap {
            tap.inbound(from, to, &data, comment);
        }
    }

    /// Sends every datagram that is due.
    fn deliver(&mut self) {
        let now = self.now();
        while let Some(out) = self.engine.poll(now) {
            self.send(out);
        }
    }

    fn send(&mut self, out: Out<Item>) {
        let item = &out.item;
        let upstream = self.upstream;
        let sent = match out.dir {
            Dir::Up => self.flow(item.client).and_then(|(sock, local)| {
                sock.send_to(&item.data, upstream)?;
                Ok((local, upstream))
            }),
            Dir::Down => self
                .listen
                .send_to(&item.data, item.client)
                .map(|_| (self.addr, item.client)),
        };
        match sent {
            Ok((src, dst)) => {
                if let Some(tap) = &self.tap {
                    let comment = describe(&out, self.now());
                    tap.outbound(src, dst, &item.data, comment);
                }
            }
            Err(_) => self.engine.send_failed(out.dir),
        }
    }

    /// The upstream socket of `client`, opened at its first datagram.
    fn flow(&mut self, client: SocketAddr) -> io::Result<(&UdpSocket, SocketAddr)> {
        if !self.flows.contains_key(&client) {
            if self.flows.len() >= MAX_FLOWS
                && let Some(oldest) = self
                    .flows
                    .iter()
                    .min_by_key(|(_, f)| f.last_used)
                    .map(|(c, _)| *c)
            {
                self.forget(oldest);
            }
            let any: IpAddr = match self.upstream {
                SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
                SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
            };
            let sock = super::bind(SocketAddr::new(any, 0))?;
            let local = sock.local_addr()?;
            if let Some(tap) = &self.tap {
                tap.register(local);
            }
            self.clients += 1;
            self.flows.insert(
                client,
                Flow {
                    sock,
                    local,
                    last_used: Instant::now(),
                },
            );
        }
        let f = self
            .flows
            .get_mut(&client)
            .ok_or_else(|| io::Error::other("flow vanished"))?;
        f.last_used = Instant::now();
        Ok((&f.sock, f.local))
    }

    fn forget(&mut self, client: SocketAddr) {
        if let Some(f) = self.flows.remove(&client)
            && let Some(tap) = &self.tap
        {
            tap.unregister(f.local);
        }
    }

    /// Closes the upstream sockets of clients silent for [`FLOW_IDLE`].
    fn sweep(&mut self) {
        if self.last_sweep.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last_sweep = Instant::now();
        let idle: Vec<SocketAddr> = self
            .flows
            .iter()
            .filter(|(_, f)| f.last_used.elapsed() > FLOW_IDLE)
            .map(|(c, _)| *c)
            .collect();
        for c in idle {
            self.forget(c);
        }
    }

    /// Handles the commands; false when told to close (or every handle is gone).
    fn obey(&mut self) -> bool {
        let mut buf = [0u8; 64];
        while self.control.wakee.recv(&mut buf).is_ok() {}
        loop {
            match self.control.commands.try_recv() {
                Ok(Command::Set {
                    settings,
                    seed,
                    done,
                }) => {
                    self.read_everything();
                    self.engine.set(settings);
                    if let Some(seed) = seed {
                        self.engine.reseed(seed);
                    }
                    let _ = done.send(());
                }
                Ok(Command::Stats(reply)) => {
                    self.read_everything();
                    self.deliver();
                    let _ = reply.send(self.stats());
                }
                Ok(Command::Close) | Err(TryRecvError::Disconnected) => return false,
                Err(TryRecvError::Empty) => return true,
            }
        }
    }

    fn stats(&self) -> Stats {
        Stats {
            up: self.engine.stats(Dir::Up),
            down: self.engine.stats(Dir::Down),
            clients: self.clients,
        }
    }

    /// Sends what is still delayed, at once and in order, and unregisters the sockets.
    fn shut_down(mut self) -> Stats {
        for out in self.engine.drain() {
            self.send(out);
        }
        let stats = self.stats();
        if let Some(tap) = &self.tap {
            tap.unregister(self.addr);
            for f in self.flows.values() {
                tap.unregister(f.local);
            }
        }
        stats
    }
}

/// The pcapng comment of a datagram leaving the proxy: `proxy up, delayed 20.1 ms`.
fn describe(out: &Out<Item>, now: Duration) -> Option<String> {
    let mut text = format!("proxy {}", out.dir.as_str());
    if out.due > out.arrived {
        let waited = now.saturating_sub(out.arrived);
        text += &format!(", delayed {:.1} ms", waited.as_secs_f64() * 1e3);
    }
    if out.copy {
        text += ", duplicate";
    }
    if out.reordered {
        text += ", reordered";
    }
    Some(text)
}
