//! The one place where a datagram of a load's sample becomes a capture record: the
//! [`Hooks::sampled`](super::Hooks::sampled) of the command line and of a script both call it.

use crate::capture::{CaptureError, Direction, Packet, Recorder};

use super::engine::{Sampled, Way};

/// `load: request 3000`, `load: reply to request 3000`, after `who` (the script and line, or
/// `udpsh`).
pub fn comment(who: &str, d: &Sampled) -> String {
    match d.way {
        Way::Request => format!("{who} load: request {}", d.i),
        Way::Reply => format!("{who} load: reply to request {}", d.i),
    }
}

/// Records `d`, with `comment` where the file keeps comments (pcapng).
pub fn record(recorder: &Recorder, d: &Sampled, comment: &str) -> Result<u64, CaptureError> {
    recorder.record(&Packet {
        src: d.src,
        dst: d.dst,
        payload: d.data,
        len: d.len,
        direction: match d.way {
            Way::Request => Direction::Outbound,
            Way::Reply => Direction::Inbound,
        },
        comment: recorder.keeps_comments().then_some(comment),
        timestamp: d.time,
        ttl: Packet::DEFAULT_TTL,
        tos: 0,
    })
}
