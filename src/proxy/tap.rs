//! Recording both legs of the proxy: what arrives (inbound) and what it sends (outbound).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::capture::{Direction, Packet, Recorder};

use super::{LocalSockets, Recording};

pub(super) struct Tap {
    recorder: Recorder,
    local: Option<Arc<dyn LocalSockets>>,
    first_error: Arc<Mutex<Option<String>>>,
}

impl Tap {
    pub(super) fn new(recording: Recording, first_error: Arc<Mutex<Option<String>>>) -> Tap {
        Tap {
            recorder: recording.recorder,
            local: recording.local,
            first_error,
        }
    }

    /// A datagram that reached the proxy. One from a socket of this process was recorded
    /// when it was sent; it is not recorded twice (nor can its comment be added then).
    pub(super) fn inbound(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
        comment: Option<String>,
    ) {
        if self.local.as_ref().is_some_and(|l| l.is_local(src)) {
            return;
        }
        self.record(src, dst, data, Direction::Inbound, comment);
    }

    /// A datagram the proxy sent: always the proxy's to record.
    pub(super) fn outbound(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        data: &[u8],
        comment: Option<String>,
    ) {
        self.record(src, dst, data, Direction::Outbound, comment);
    }

    /// Tells the local sockets that datagrams from `addr` are recorded by the proxy.
    pub(super) fn register(&self, addr: SocketAddr) {
        if let Some(l) = &self.local {
            l.add(addr);
        }
    }

    pub(super) fn unregister(&self, addr: SocketAddr) {
        if let Some(l) = &self.local {
            l.remove(addr);
        }
    }

    fn record(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
        direction: Direction,
        comment: Option<String>,
    ) {
        let packet = Packet {
            src,
            dst,
            payload,
            len: payload.len(),
            direction,
            comment: comment
                .as_deref()
                .filter(|_| self.recorder.keeps_comments()),
            timestamp: SystemTime::now(),
            ttl: Packet::DEFAULT_TTL,
            tos: 0,
        };
        if let Err(e) = self.recorder.record(&packet) {
            let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert_with(|| e.to_string());
        }
    }
}
