//! pcapng: one Ethernet interface with nanosecond timestamps, one Enhanced Packet Block per
//! datagram with its direction and comments.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
};
use pcap_file::pcapng::blocks::opt_common::CommonOption;
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{Block, PcapNgWriteError, PcapNgWriter};
use pcap_file::{DataLink, Endianness};

use super::file::RecordFile;
use super::{Direction, SNAPLEN};

/// How many of the latest packets `annotate` can still rewrite in place, and the most bytes
/// of them kept in memory (the latest packet is always kept).
const RECENT_PACKETS: usize = 64;
const RECENT_BYTES: usize = 1 << 20;

/// Longest comment kept, leaving room in the u16 option length for the "…" that marks a cut.
const MAX_COMMENT: usize = 65_000;

/// epb_flags bits 0-1: inbound = 1, outbound = 2.
const INBOUND: u32 = 1;
const OUTBOUND: u32 = 2;

pub(super) struct PcapNgFile {
    writer: PcapNgWriter<RecordFile>,
    /// The latest blocks, oldest first, with their id and file offset.
    recent: VecDeque<Recent>,
    recent_bytes: usize,
}

struct Recent {
    id: u64,
    offset: u64,
    block: EnhancedPacketBlock<'static>,
}

impl PcapNgFile {
    /// Writes the section header and the interface description in one write.
    pub(super) fn create(file: RecordFile) -> Result<PcapNgFile, String> {
        let section = SectionHeaderBlock {
            endianness: Endianness::native(),
            options: vec![SectionHeaderOption::UserApplication("udpsh".into())],
            ..SectionHeaderBlock::default()
        };
        let interface = InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: SNAPLEN,
            options: vec![
                InterfaceDescriptionOption::IfName("udpsh".into()),
                InterfaceDescriptionOption::IfTsResol(InterfaceTsResolution::NANO),
            ],
        };
        let mut writer = PcapNgWriter::with_section_header(file, section).map_err(describe)?;
        writer.write_pcapng_block(interface).map_err(describe)?;
        writer.get_mut().commit().map_err(|e| e.to_string())?;
        Ok(PcapNgFile {
            writer,
            recent: VecDeque::new(),
            recent_bytes: 0,
        })
    }

    /// Appends packet `id` in one write.
    pub(super) fn record(
        &mut self,
        id: u64,
        frame: Vec<u8>,
        wire_len: u32,
        timestamp: Duration,
        direction: Direction,
        comment: Option<&str>,
    ) -> Result<(), String> {
        let flags = match direction {
            Direction::Inbound => INBOUND,
            Direction::Outbound => OUTBOUND,
        };
        let mut options = vec![EnhancedPacketOption::Flags(flags)];
        options.extend(comment.map(comment_option));
        let block = Block::EnhancedPacket(EnhancedPacketBlock {
            interface_id: 0,
            timestamp,
            original_len: wire_len,
            data: Cow::Owned(frame),
            options,
        });
        self.writer.get_mut().discard();
        self.writer.write_block(&block).map_err(describe)?;
        let offset = self.writer.get_mut().commit().map_err(|e| e.to_string())?;
        if let Block::EnhancedPacket(block) = block {
            self.remember(Recent { id, offset, block });
        }
        Ok(())
    }

    /// Adds a comment to packet `id` by rewriting it and the packets after it in one write.
    ///
    /// Only the latest packets are kept in memory ([`RECENT_PACKETS`], [`RECENT_BYTES`]). An
    /// older `id` gets its comment on the latest packet instead, prefixed with "frame <id>: "
    /// (ids are Wireshark's frame numbers), so the message is never lost.
    pub(super) fn annotate(&mut self, id: u64, comment: &str) -> Result<(), String> {
        let Some(latest) = self.recent.back().map(|r| r.id) else {
            return Err(format!("no packet {id} to annotate: nothing recorded yet"));
        };
        let (index, comment) = match self.recent.iter().position(|r| r.id == id) {
            Some(index) => (index, Cow::Borrowed(comment)),
            None if (1..latest).contains(&id) => (
                self.recent.len() - 1,
                Cow::Owned(format!("frame {id}: {comment}")),
            ),
            None => return Err(format!("no packet {id} to annotate (latest is {latest})")),
        };

        let mut annotated = self.recent[index].block.clone();
        annotated.options.push(comment_option(&comment));
        let start = self.recent[index].offset;
        let sizes = match self.write_tail(index, Some(&annotated)) {
            Ok(sizes) => sizes,
            Err(e) => return Err(self.restore_tail(index, e)),
        };
        self.recent[index].block = annotated;
        let mut offset = start;
        for (recent, size) in self.recent.iter_mut().skip(index).zip(sizes) {
            recent.offset = offset;
            offset += size as u64;
        }
        Ok(())
    }

    /// Rewrites the recent blocks from `index` on (the first one replaced by `first` if given)
    /// in one write; returns their new sizes.
    fn write_tail(
        &mut self,
        index: usize,
        first: Option<&EnhancedPacketBlock<'static>>,
    ) -> Result<Vec<usize>, String> {
        let start = self.recent[index].offset;
        let writer = &mut self.writer;
        writer.get_mut().discard();
        let mut sizes = Vec::with_capacity(self.recent.len() - index);
        for (i, recent) in self.recent.iter().enumerate().skip(index) {
            let block = match first {
                Some(first) if i == index => first.clone(),
                _ => recent.block.clone(),
            };
            sizes.push(
                writer
                    .write_block(&Block::EnhancedPacket(block))
                    .map_err(describe)?,
            );
        }
        writer
            .get_mut()
            .rewrite_from(start)
            .map_err(|e| e.to_string())?;
        Ok(sizes)
    }

    /// After a failed rewrite that cut the file before packet `index`, puts the old blocks back.
    fn restore_tail(&mut self, index: usize, error: String) -> String {
        let cut = self.writer.get_ref().end() == self.recent[index].offset;
        if !cut || self.write_tail(index, None).is_ok() {
            return error;
        }
        let lost = self.recent.len() - index;
        self.recent.truncate(index);
        self.recent_bytes = self.recent.iter().map(|r| r.block.data.len()).sum();
        format!("{error}; the last {lost} packets are lost")
    }

    fn remember(&mut self, recent: Recent) {
        self.recent_bytes += recent.block.data.len();
        self.recent.push_back(recent);
        while self.recent.len() > RECENT_PACKETS
            || (self.recent_bytes > RECENT_BYTES && self.recent.len() > 1)
        {
            if let Some(old) = self.recent.pop_front() {
                self.recent_bytes = self.recent_bytes.saturating_sub(old.block.data.len());
            }
        }
    }
}

/// An opt_comment. Its length is a u16: a longer comment is cut (at a character boundary)
/// rather than losing the packet.
fn comment_option(comment: &str) -> EnhancedPacketOption<'static> {
    let mut end = comment.len().min(MAX_COMMENT);
    while !comment.is_char_boundary(end) {
        end -= 1;
    }
    let mut text = comment[..end].to_owned();
    if end < comment.len() {
        text.push('…');
    }
    EnhancedPacketOption::Common(CommonOption::Comment(Cow::Owned(text)))
}

/// The OS error itself for I/O failures, the validation message otherwise.
fn describe(e: PcapNgWriteError) -> String {
    match e {
        PcapNgWriteError::Io(io) => io.to_string(),
        PcapNgWriteError::Validation { field, source } => format!("invalid {field}: {source}"),
        other => other.to_string(),
    }
}
