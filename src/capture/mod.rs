//! Recording datagrams to pcap / pcapng files, as a capture on the interface shows them.
//!
//! Each datagram becomes an Ethernet + IP + UDP frame ([`frame`]) in one record, built straight
//! into a ring of shared memory that a watchdog process drains into the file in batches
//! (`ring.rs`, `guard.rs`): the sender pays a copy, not a write(2). Only whole records are
//! written, and the watchdog outlives udpsh to write what is left, so the file is valid at every
//! moment and after any kill of udpsh holds every datagram recorded before it. `.pcapng` files
//! also carry each packet's direction and comments.

mod claim;
mod container;
mod file;
mod filter;
mod frame;
mod guard;
mod link;
mod pcap;
mod pcapng;
mod read;
mod ring;
pub mod route;
mod shared;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use claim::protect;
pub use filter::{Endpoint, Filter};
pub use frame::{MAX_PAYLOAD_V4, MAX_PAYLOAD_V6, frame};
pub use read::{Capture, Datagram, ReadError, Skipped, parse_pcap, read_pcap};

use file::Output;
use pcapng::Recent;

/// Snapshot length of the files: far above the largest frame (14 + 40 + 65535 bytes).
const SNAPLEN: u32 = 262_144;

/// Which way a datagram went, seen from the sockets of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Outbound,
    Inbound,
}

/// One datagram to record.
#[derive(Clone, Debug)]
pub struct Packet<'a> {
    /// May have an unspecified IP (socket bound to `0.0.0.0` / `::`): the recorder puts the
    /// address the kernel would choose ([`route::source_ip_for`]).
    pub src: SocketAddr,
    /// Unspecified means loopback when sending (as on Linux); when receiving, the local
    /// address facing the sender.
    pub dst: SocketAddr,
    /// What was kept of the datagram: all of it, or its first bytes after a short receive.
    pub payload: &'a [u8],
    /// The datagram's real length; more than `payload.len()` when only a part was kept, which
    /// the record then says (IP and UDP lengths, original length) as tcpdump's snap length does.
    pub len: usize,
    pub direction: Direction,
    /// pcapng only (e.g. "chat.rhai:12 sendto"); classic pcap has no place for it.
    pub comment: Option<&'a str>,
    pub timestamp: SystemTime,
    /// The IP header's TTL (hop limit) and TOS (traffic class): [`Packet::DEFAULT_TTL`] and 0
    /// unless the socket set others, or the kernel said what arrived.
    pub ttl: u8,
    pub tos: u8,
}

impl Packet<'_> {
    /// Linux's default TTL / hop limit for unicast.
    pub const DEFAULT_TTL: u8 = 64;
}

/// One record as the file formats write it.
pub(crate) struct Entry<'a> {
    /// Ethernet, IP and UDP headers; the payload follows them.
    headers: &'a [u8],
    payload: &'a [u8],
    /// Bytes of the frame on the wire (more than captured after a short receive).
    original: u32,
    /// Since the Unix epoch.
    timestamp: Duration,
    direction: Direction,
    comment: Option<&'a str>,
}

impl Entry<'_> {
    /// Bytes of the frame kept.
    fn captured(&self) -> usize {
        self.headers.len() + self.payload.len()
    }
}

/// A capture file being written. Clones share the file; safe to use from several threads.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    pcapng: bool,
    state: Mutex<State>,
}

struct State {
    out: Output,
    /// pcapng: the latest blocks, for `annotate`.
    recent: Option<Recent>,
    /// Packets written so far; packet ids are 1, 2, … — the frame numbers Wireshark shows.
    packets: u64,
}

impl Recorder {
    /// `.pcapng` extension → pcapng, anything else → classic pcap. Creates or truncates the file
    /// and writes its header(s) at once. On Linux this forks the watchdog (`udpsh-capture`),
    /// which ends with the last clone of the recorder, or after the process. Refuses a file
    /// that holds something else, an input of the run, and one another capture writes
    /// (see `claim.rs`).
    pub fn create(path: &Path) -> Result<Recorder, CaptureError> {
        let error = |detail: String| CaptureError::new(path, detail);
        let is_pcapng = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("pcapng"));
        let header = if is_pcapng {
            pcapng::header()
        } else {
            pcap::header()
        }
        .map_err(error)?;
        let mut claims = claim::lock();
        if let Some(why) = claims.refusal(path) {
            return Err(error(why));
        }
        let out = Output::create(path, &header).map_err(|e| error(e.to_string()))?;
        let id = out.identity();
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            pcapng: is_pcapng,
            state: Mutex::new(State {
                out,
                recent: is_pcapng.then(Recent::default),
                packets: 0,
            }),
        });
        claims.register(id, Arc::downgrade(&inner));
        Ok(Recorder { inner })
    }

    /// Records one datagram and returns the packet's id. The record is whole in the file
    /// shortly after (at once if the watchdog is not there), and survives a kill of udpsh from
    /// the moment this returns. A write that failed (disk full) is reported by the next call;
    /// the file then ends with the last complete record, and recording may go on.
    pub fn record(&self, pkt: &Packet) -> Result<u64, CaptureError> {
        let (src, dst) = wire_addresses(pkt);
        let headers = frame::headers(src, dst, pkt.payload, pkt.len, (pkt.ttl, pkt.tos))
            .map_err(|e| self.error(e))?;
        let cut = pkt.len.saturating_sub(pkt.payload.len());
        let entry = Entry {
            headers: headers.as_bytes(),
            payload: pkt.payload,
            original: (headers.as_bytes().len() + pkt.payload.len() + cut) as u32,
            // A clock before 1970 is recorded as 1970.
            timestamp: pkt.timestamp.duration_since(UNIX_EPOCH).unwrap_or_default(),
            direction: pkt.direction,
            comment: pkt.comment,
        };
        let mut state = self.lock();
        let state = &mut *state;
        if let Some(e) = state.out.take_error() {
            if let Some(recent) = &mut state.recent {
                recent.clear();
            }
            return Err(self.error(e.to_string()));
        }
        let id = state.packets + 1;
        let len = match &state.recent {
            Some(_) => pcapng::record_len(&entry),
            None => pcap::record_len(&entry),
        };
        let (offset, buf) = state.out.reserve(len);
        match &mut state.recent {
            Some(recent) => {
                pcapng::write_record(buf, &entry);
                recent.remember(id, offset, buf);
            }
            None => pcap::write_record(buf, &entry),
        }
        if let Err(e) = state.out.commit() {
            if let Some(recent) = &mut state.recent {
                recent.clear();
            }
            return Err(self.error(e.to_string()));
        }
        state.packets = id;
        Ok(id)
    }

    /// Adds `comment` to packet `packet_id` (pcapng; a no-op for classic pcap).
    ///
    /// The packet is rewritten in place with one more comment, together with the packets
    /// written after it, in one write; the file never gets shorter meanwhile. Only the latest
    /// 64 packets (at most 1 MiB of them) can be rewritten: an older packet's comment goes on
    /// the latest packet instead, prefixed with "frame <id>: ". An id never returned by
    /// [`Recorder::record`] is an error.
    pub fn annotate(&self, packet_id: u64, comment: &str) -> Result<(), CaptureError> {
        let mut state = self.lock();
        let state = &mut *state;
        let Some(recent) = &mut state.recent else {
            return Ok(());
        };
        let rewrite = recent
            .annotate(packet_id, comment, state.packets)
            .map_err(|e| self.error(e))?;
        let offset = rewrite.offset;
        match state.out.rewrite_from(offset, &rewrite.bytes) {
            Ok(()) => {
                recent.rewritten(rewrite);
                Ok(())
            }
            Err(e) => {
                // The file was cut before the packet: put the old blocks back.
                let old = recent.tail_from(&rewrite);
                if state.out.end() == offset && state.out.rewrite_from(offset, &old).is_err() {
                    let lost = recent.lost_from(&rewrite);
                    return Err(self.error(format!("{e}; the last {lost} packets are lost")));
                }
                Err(self.error(e.to_string()))
            }
        }
    }

    /// Waits until every datagram recorded so far is in the file, for a reader in this
    /// process; reports a write that failed.
    pub fn sync(&self) -> Result<(), CaptureError> {
        let mut state = self.lock();
        let result = state.out.sync();
        if result.is_err()
            && let Some(recent) = &mut state.recent
        {
            recent.clear();
        }
        result.map_err(|e| self.error(e.to_string()))
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The watchdog's pid, for tests that kill it.
    #[cfg(all(test, target_os = "linux"))]
    fn watchdog(&self) -> Option<libc::pid_t> {
        self.lock().out.watchdog()
    }

    /// Whether packets carry comments (pcapng); classic pcap has no place for them.
    pub fn keeps_comments(&self) -> bool {
        self.inner.pcapng
    }

    /// Number of packets written.
    pub fn packets(&self) -> u64 {
        self.lock().packets
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves no half-written record: a record is
        // handed on only once it is complete, so go on.
        let mut state = self
            .inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.out.discard();
        state
    }

    fn error(&self, detail: impl fmt::Display) -> CaptureError {
        CaptureError::new(&self.inner.path, detail)
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// The addresses as the wire shows them. A local address left unspecified (a socket bound to
/// `0.0.0.0` / `::`) becomes the one the kernel uses towards the other end. Sending to
/// `0.0.0.0` / `::` goes to loopback on Linux.
fn wire_addresses(pkt: &Packet) -> (SocketAddr, SocketAddr) {
    let (mut src, mut dst) = (pkt.src, pkt.dst);
    if dst.ip().to_canonical().is_unspecified() {
        let ip = match pkt.direction {
            Direction::Outbound => loopback(dst.ip()),
            Direction::Inbound => route::source_ip_for(src.ip()),
        };
        dst.set_ip(ip);
    }
    if src.ip().to_canonical().is_unspecified() {
        src.set_ip(route::source_ip_for(dst.ip()));
    }
    (src, dst)
}

fn loopback(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// A capture file that cannot be created or written, e.g.
/// "cannot write capture /x/y.pcap: Permission denied (os error 13)".
#[derive(Debug, Clone)]
pub struct CaptureError {
    message: String,
}

impl CaptureError {
    fn new(path: &Path, detail: impl fmt::Display) -> CaptureError {
        CaptureError {
            message: format!("cannot write capture {}: {detail}", path.display()),
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CaptureError {}
