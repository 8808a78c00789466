//! Recording datagrams to pcap / pcapng files, as a capture on the interface shows them.
//!
//! Each datagram becomes an Ethernet + IP + UDP frame ([`frame`]) written as one record with
//! one write(2) and nothing buffered. A kill can still interrupt a write between two pages, so
//! on Linux a watchdog process cuts such a half record off once we are gone (see `guard.rs`):
//! the file is valid after a kill at any moment. `.pcapng` files also carry each packet's
//! direction and comments.

mod file;
mod frame;
mod guard;
mod pcap;
mod pcapng;
mod read;
pub mod route;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

pub use frame::{MAX_PAYLOAD_V4, MAX_PAYLOAD_V6, frame};
pub use read::{Capture, Datagram, Endpoint, Filter, ReadError, Skipped, parse_pcap, read_pcap};

use file::RecordFile;
use pcap::PcapFile;
use pcapng::PcapNgFile;

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
    pub comment: Option<String>,
    pub timestamp: SystemTime,
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
    format: Format,
    /// Packets written so far; packet ids are 1, 2, … — the frame numbers Wireshark shows.
    packets: u64,
}

enum Format {
    Pcap(PcapFile),
    PcapNg(PcapNgFile),
}

impl Recorder {
    /// `.pcapng` extension → pcapng, anything else → classic pcap. Creates or truncates the file
    /// and writes its header(s) at once. On Linux this forks the watchdog (`udpsh-capture`),
    /// which ends with the last clone of the recorder, or with the process.
    pub fn create(path: &Path) -> Result<Recorder, CaptureError> {
        let error = |detail: String| CaptureError::new(path, detail);
        let file = RecordFile::create(path).map_err(|e| error(e.to_string()))?;
        let is_pcapng = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("pcapng"));
        let format = if is_pcapng {
            Format::PcapNg(PcapNgFile::create(file).map_err(error)?)
        } else {
            Format::Pcap(PcapFile::create(file).map_err(error)?)
        };
        Ok(Recorder {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                pcapng: is_pcapng,
                state: Mutex::new(State { format, packets: 0 }),
            }),
        })
    }

    /// Writes one record (one write(2), then flush) and returns the packet's id. After an error
    /// (disk full) the file still ends with the last complete record, and recording may go on.
    pub fn record(&self, pkt: &Packet) -> Result<u64, CaptureError> {
        let (src, dst) = wire_addresses(pkt);
        let mut frame = frame::try_frame(src, dst, pkt.payload).map_err(|e| self.error(e))?;
        let cut = pkt.len.saturating_sub(pkt.payload.len());
        if cut > 0 {
            frame::claim_wire_length(&mut frame, pkt.len);
        }
        let wire_len = (frame.len() + cut) as u32;
        // A clock before 1970 is recorded as 1970.
        let timestamp = pkt.timestamp.duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut state = self.lock();
        let id = state.packets + 1;
        let result = match &mut state.format {
            Format::Pcap(file) => file.record(&frame, wire_len, timestamp),
            Format::PcapNg(file) => file.record(
                id,
                frame,
                wire_len,
                timestamp,
                pkt.direction,
                pkt.comment.as_deref(),
            ),
        };
        result.map_err(|e| self.error(e))?;
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
        match &mut self.lock().format {
            Format::Pcap(_) => Ok(()),
            Format::PcapNg(file) => file.annotate(packet_id, comment).map_err(|e| self.error(e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
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
        // A panic elsewhere while holding the lock leaves no half-written record: each write
        // starts from scratch (RecordFile discards pending bytes), so go on.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, detail: String) -> CaptureError {
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
