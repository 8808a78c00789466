//! The impairment proxy: a thread that owns the sockets and forwards datagrams both ways
//! through the [`engine`], which decides loss, delay, jitter, duplication and reordering.
//!
//! Each client address gets its own upstream socket (like a NAT), so the server sees distinct
//! clients. One thread waits on all sockets at once (ppoll, with a timeout up to the engine's
//! next wake-up), so timing is as accurate as the scheduler, about a tenth of a millisecond
//! on an idle machine. [`Proxy::set`], [`Proxy::stats`] and [`Proxy::close`] are barriers:
//! the thread first takes in every datagram already waiting in its sockets, so a datagram
//! sent before `set` meets the old settings and one sent before `stats` is counted.
//! The proxy stops when closed, when its last handle is dropped, or when its owner's
//! [`Stop`] is flagged; what it still delays is then sent at once.

pub mod command;
pub mod engine;
mod tap;
pub mod values;
mod worker;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

pub use engine::{Dir, DirStats, Impairment, Settings};

use crate::capture::Recorder;
use crate::stop::Stop;

/// The sockets of this process that record their own datagrams (a script's sockets): the
/// proxy leaves the legs they record to them, so each datagram is recorded once.
pub trait LocalSockets: Send + Sync {
    fn add(&self, addr: SocketAddr);
    fn remove(&self, addr: SocketAddr);
    fn is_local(&self, addr: SocketAddr) -> bool;
}

/// Where the proxy records both legs (pcapng comments say what it did to each datagram).
pub struct Recording {
    pub recorder: Recorder,
    pub local: Option<Arc<dyn LocalSockets>>,
}

pub struct Options {
    pub listen: SocketAddr,
    pub upstream: SocketAddr,
    pub settings: Settings,
    pub seed: u64,
    pub recording: Option<Recording>,
    /// The owner's stop flag (a script's run): the proxy ends with its owner.
    pub stop: Option<Arc<Stop>>,
    /// Take in at most this many datagrams (both ways together); later ones stay unread.
    pub limit: Option<u64>,
}

impl Options {
    pub fn new(upstream: SocketAddr) -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstream,
            settings: Settings::default(),
            seed: 0,
            recording: None,
            stop: None,
            limit: None,
        }
    }
}

/// Counts of both directions, and how many client addresses were seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub up: DirStats,
    pub down: DirStats,
    pub clients: u64,
}

enum Command {
    Set {
        settings: Settings,
        seed: Option<u64>,
        done: Sender<()>,
    },
    Stats(Sender<Stats>),
    Close,
}

/// A running proxy. Dropping it closes it.
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    commands: Mutex<Sender<Command>>,
    waker: UnixDatagram,
    thread: Mutex<Option<JoinHandle<Stats>>>,
    settings: Mutex<Settings>,
    final_stats: Mutex<Option<Stats>>,
    capture_error: Arc<Mutex<Option<String>>>,
}

/// How long `set` and `stats` wait for the thread before saying it is gone.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// The proxy was closed (or its owner ended) before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl Proxy {
    /// Binds the listening socket and starts the thread.
    pub fn start(opts: Options) -> io::Result<Proxy> {
        let listen = bind(opts.listen).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot listen on {}: {e}", opts.listen))
        })?;
        let addr = listen.local_addr()?;
        let (waker, wakee) = UnixDatagram::pair()?;
        waker.set_nonblocking(true)?;
        wakee.set_nonblocking(true)?;
        let (tx, rx) = mpsc::channel();
        let capture_error = Arc::new(Mutex::new(None));
        let settings = opts.settings;
        let upstream = opts.upstream;
        let worker = worker::Worker::new(listen, addr, opts, rx, wakee, capture_error.clone());
        let thread = crate::threads::start(&format!("proxy {addr}"), None, move || worker.run())?;
        Ok(Proxy {
            addr,
            upstream,
            commands: Mutex::new(tx),
            waker,
            thread: Mutex::new(Some(thread)),
            settings: Mutex::new(settings),
            final_stats: Mutex::new(None),
            capture_error,
        })
    }

    /// Where clients send to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        *lock(&self.settings)
    }

    /// New settings (and, with `seed`, both random streams started again) for every datagram
    /// that arrives from now on, including those already waiting in the sockets.
    pub fn set(&self, settings: Settings, seed: Option<u64>) -> Result<(), Closed> {
        let (done, wait) = mpsc::channel();
        self.send(Command::Set {
            settings,
            seed,
            done,
        })?;
        wait.recv_timeout(ANSWER_WAIT).map_err(|_| Closed)?;
        *lock(&self.settings) = settings;
        Ok(())
    }

    /// The counts now (after taking in what waits in the sockets); the final ones once closed.
    pub fn stats(&self) -> Stats {
        if let Some(stats) = *lock(&self.final_stats) {
            return stats;
        }
        let (tx, rx) = mpsc::channel();
        if self.send(Command::Stats(tx)).is_ok()
            && let Ok(stats) = rx.recv_timeout(ANSWER_WAIT)
        {
            return stats;
        }
        // The thread ended on its own (its owner stopped): its final counts.
        self.close()
    }

    /// Stops the thread after sending what it still delays; returns the final counts.
    /// Calling it again returns them again.
    pub fn close(&self) -> Stats {
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            let _ = self.send(Command::Close);
            let stats = thread.join().unwrap_or_default();
            *lock(&self.final_stats) = Some(stats);
        }
        lock(&self.final_stats).unwrap_or_default()
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.thread).as_ref().is_none_or(|t| t.is_finished())
    }

    /// The first error writing the capture, if any (recording goes on after it).
    pub fn capture_error(&self) -> Option<String> {
        lock(&self.capture_error).clone()
    }

    fn send(&self, command: Command) -> Result<(), Closed> {
        lock(&self.commands).send(command).map_err(|_| Closed)?;
        // A full wake-up socket already has a wake-up pending.
        let _ = self.waker.send(&[1]);
        Ok(())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

/// Receive buffer asked for on every socket (the kernel caps it at `net.core.rmem_max`): a
/// burst waits there while the thread is busy instead of being dropped by the kernel.
const RECV_BUFFER: usize = 4 << 20;

/// A non-blocking UDP socket bound to `addr`, with a large receive buffer.
fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = sock.set_recv_buffer_size(RECV_BUFFER);
    sock.bind(&addr.into())?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The commands and the wake-up socket, as the thread sees them.
struct Control {
    commands: Receiver<Command>,
    wakee: UnixDatagram,
}

#[cfg(test)]
mod tests;
