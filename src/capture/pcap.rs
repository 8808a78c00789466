//! Classic pcap: nanosecond timestamps, Ethernet link type. No comments or directions.
//!
//! The global header comes from pcap-file; each record (16-byte header, then the frame) is
//! written by hand straight into its place, in the byte order of the header (native).

use pcap_file::pcap::{PcapHeader, PcapTsResolution, PcapWriteError, PcapWriter};
use pcap_file::{DataLink, Endianness};

use super::{Entry, SNAPLEN};

/// What the global header says: Ethernet, nanosecond timestamps, our snap length.
fn global() -> PcapHeader {
    PcapHeader {
        snaplen: SNAPLEN,
        datalink: DataLink::ETHERNET,
        ts_resolution: PcapTsResolution::NanoSecond,
        endianness: Endianness::native(),
        ..PcapHeader::default()
    }
}

/// The global header (magic 0xa1b23c4d: nanosecond timestamps).
pub(super) fn header() -> Result<Vec<u8>, String> {
    let writer = PcapWriter::with_header(Vec::new(), global()).map_err(describe)?;
    Ok(writer.into_inner())
}

/// Bytes of the record of `e`.
pub(super) fn record_len(e: &Entry) -> usize {
    16 + e.captured()
}

/// Writes the record of `e` into `out` (of [`record_len`] bytes).
pub(super) fn write_record(out: &mut [u8], e: &Entry) {
    let captured = e.captured();
    let secs = e.timestamp.as_secs() as u32;
    let fields = [
        secs,
        e.timestamp.subsec_nanos(),
        captured as u32,
        e.original,
    ];
    for (i, v) in fields.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
    }
    let h = e.headers.len();
    out[16..16 + h].copy_from_slice(e.headers);
    out[16 + h..16 + captured].copy_from_slice(e.payload);
}

fn describe(e: PcapWriteError) -> String {
    match e {
        PcapWriteError::Io(io) | PcapWriteError::FieldWriteFailed(_, io) => io.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pcap_file::pcap::PcapPacket;

    use super::*;
    use crate::capture::Direction;

    /// The same bytes as pcap-file's own writer.
    #[test]
    fn a_record_as_pcap_file_writes_it() {
        let headers = [1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
        let payload = b"hello";
        let e = Entry {
            headers: &headers,
            payload,
            original: 40,
            timestamp: Duration::new(1_700_000_000, 123_456_789),
            direction: Direction::Outbound,
            comment: None,
        };
        let mut ours = vec![0; record_len(&e)];
        write_record(&mut ours, &e);
        let mut theirs = PcapWriter::with_header(Vec::new(), global()).unwrap();
        let frame: Vec<u8> = headers.iter().chain(payload).copied().collect();
        theirs
            .write_packet(&PcapPacket::new(e.timestamp, 40, &frame).unwrap())
            .unwrap();
        assert_eq!(ours, theirs.into_inner()[24..]);
    }
}
