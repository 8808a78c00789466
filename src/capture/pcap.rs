//! Classic pcap: nanosecond timestamps, Ethernet link type. No comments or directions.

use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapTsResolution, PcapWriteError, PcapWriter};
use pcap_file::{DataLink, Endianness};

use super::SNAPLEN;
use super::file::RecordFile;

pub(super) struct PcapFile {
    writer: PcapWriter<RecordFile>,
}

impl PcapFile {
    /// Writes the global header (magic 0xa1b23c4d: nanosecond timestamps).
    pub(super) fn create(file: RecordFile) -> Result<PcapFile, String> {
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: PcapTsResolution::NanoSecond,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let mut writer = PcapWriter::with_header(file, header).map_err(describe)?;
        writer.flush().map_err(describe)?;
        Ok(PcapFile { writer })
    }

    /// Appends one record of a packet `wire_len` bytes long, of which `frame` was kept.
    pub(super) fn record(
        &mut self,
        frame: &[u8],
        wire_len: u32,
        timestamp: Duration,
    ) -> Result<(), String> {
        let packet = PcapPacket::new(timestamp, wire_len, frame)
            .map_err(|e| format!("cannot record packet: {e}"))?;
        // `flush` commits the record to the file in one write (see RecordFile).
        let result = self
            .writer
            .write_packet(&packet)
            .and_then(|_| self.writer.flush());
        result.map_err(describe)
    }
}

/// The OS error itself for I/O failures ("No space left on device (os error 28)").
fn describe(e: PcapWriteError) -> String {
    match e {
        PcapWriteError::Io(io) | PcapWriteError::FieldWriteFailed(_, io) => io.to_string(),
        other => other.to_string(),
    }
}
