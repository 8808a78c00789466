//! pcapng: one Ethernet interface with nanosecond timestamps, one Enhanced Packet Block per
//! datagram with its direction and comments.
//!
//! The section header and interface description come from pcap-file; each Enhanced Packet
//! Block is written by hand straight into its place (native byte order, as the section header
//! says), with no allocation. The latest blocks are kept ([`Recent`]) so that a comment can
//! still be added to one of them ([`Recent::annotate`]).

use std::borrow::Cow;
use std::collections::VecDeque;

use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption, InterfaceTsResolution,
};
use pcap_file::pcapng::blocks::section_header::{SectionHeaderBlock, SectionHeaderOption};
use pcap_file::pcapng::{PcapNgWriteError, PcapNgWriter};
use pcap_file::{DataLink, Endianness};

use super::{Direction, Entry, SNAPLEN};

/// How many of the latest packets `annotate` can still rewrite in place, and the most bytes
/// of them kept in memory (the latest packet is always kept).
const RECENT_PACKETS: usize = 64;
const RECENT_BYTES: usize = 1 << 20;
/// The buffer of recent blocks drops the bytes of forgotten ones past this much.
const COMPACT_AT: usize = 64 << 10;

/// Longest comment kept, leaving room in the u16 option length for the "…" that marks a cut.
const MAX_COMMENT: usize = 65_000;
const CUT: &str = "…";

const ENHANCED_PACKET: u32 = 6;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const OPT_FLAGS: u16 = 2;
/// epb_flags bits 0-1: inbound = 1, outbound = 2.
const INBOUND: u32 = 1;
const OUTBOUND: u32 = 2;

/// The section header and the interface description.
pub(super) fn header() -> Result<Vec<u8>, String> {
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
    let mut writer = PcapNgWriter::with_section_header(Vec::new(), section).map_err(describe)?;
    writer.write_pcapng_block(interface).map_err(describe)?;
    Ok(writer.into_inner())
}

/// A comment as the block keeps it: at most [`MAX_COMMENT`] bytes (cut at a character
/// boundary, marked with "…"), since an option's length is a u16.
fn kept(comment: &str) -> (&str, &str) {
    if comment.len() <= MAX_COMMENT {
        return (comment, "");
    }
    let mut end = MAX_COMMENT;
    while !comment.is_char_boundary(end) {
        end -= 1;
    }
    (&comment[..end], CUT)
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Bytes of a comment option.
fn comment_len(comment: &str) -> usize {
    let (text, mark) = kept(comment);
    4 + padded(text.len() + mark.len())
}

/// Bytes of the Enhanced Packet Block of `e`.
pub(super) fn record_len(e: &Entry) -> usize {
    // Header (type, length, interface, time ×2, lengths ×2), data, flags, end of options,
    // trailing length.
    28 + padded(e.captured()) + 8 + e.comment.map_or(0, comment_len) + 4 + 4
}

/// Writes the block of `e` into `out` (of [`record_len`] bytes).
pub(super) fn write_record(out: &mut [u8], e: &Entry) {
    let total = out.len() as u32;
    let captured = e.captured();
    let ns = e.timestamp.as_nanos() as u64;
    let words = [
        ENHANCED_PACKET,
        total,
        0,
        (ns >> 32) as u32,
        ns as u32,
        captured as u32,
        e.original,
    ];
    let mut at = 0;
    for w in words {
        put32(out, &mut at, w);
    }
    let h = e.headers.len();
    out[at..at + h].copy_from_slice(e.headers);
    out[at + h..at + captured].copy_from_slice(e.payload);
    let data_end = at + padded(captured);
    out[at + captured..data_end].fill(0);
    at = data_end;
    put16(out, &mut at, OPT_FLAGS);
    put16(out, &mut at, 4);
    let flags = match e.direction {
        Direction::Inbound => INBOUND,
        Direction::Outbound => OUTBOUND,
    };
    put32(out, &mut at, flags);
    if let Some(comment) = e.comment {
        put_comment(out, &mut at, comment);
    }
    put16(out, &mut at, OPT_END);
    put16(out, &mut at, 0);
    put32(out, &mut at, total);
}

fn put_comment(out: &mut [u8], at: &mut usize, comment: &str) {
    let (text, mark) = kept(comment);
    let n = text.len() + mark.len();
    put16(out, at, OPT_COMMENT);
    put16(out, at, n as u16);
    out[*at..*at + text.len()].copy_from_slice(text.as_bytes());
    out[*at + text.len()..*at + n].copy_from_slice(mark.as_bytes());
    out[*at + n..*at + padded(n)].fill(0);
    *at += padded(n);
}

fn put16(out: &mut [u8], at: &mut usize, v: u16) {
    out[*at..*at + 2].copy_from_slice(&v.to_ne_bytes());
    *at += 2;
}

fn put32(out: &mut [u8], at: &mut usize, v: u32) {
    out[*at..*at + 4].copy_from_slice(&v.to_ne_bytes());
    *at += 4;
}

/// The block with one more comment: before its end of options, its lengths updated.
fn with_comment(block: &[u8], comment: &str) -> Vec<u8> {
    let keep = block.len().saturating_sub(8);
    let mut out = vec![0; block.len() + comment_len(comment)];
    out[..keep].copy_from_slice(&block[..keep]);
    let mut at = keep;
    put_comment(&mut out, &mut at, comment);
    put16(&mut out, &mut at, OPT_END);
    put16(&mut out, &mut at, 0);
    let total = out.len() as u32;
    put32(&mut out, &mut at, total);
    out[4..8].copy_from_slice(&total.to_ne_bytes());
    out
}

/// The latest blocks written, as they are in the file: consecutive, from the offset of the
/// oldest. Their bytes live in one buffer that is reused, so keeping them allocates nothing
/// once it has grown.
#[derive(Default)]
pub(super) struct Recent {
    bytes: Vec<u8>,
    /// `bytes[..start]` belong to blocks no longer kept.
    start: usize,
    /// Id, file offset and length of each block kept, oldest first.
    blocks: VecDeque<(u64, u64, usize)>,
}

/// What [`Recent::annotate`] wants written: `bytes` from file offset `offset` to the end.
pub(super) struct Rewrite {
    pub offset: u64,
    pub bytes: Vec<u8>,
    index: usize,
    /// The annotated block's new length.
    block_len: usize,
}

impl Recent {
    /// Keeps the block `bytes` of packet `id`, written at `offset`.
    pub(super) fn remember(&mut self, id: u64, offset: u64, bytes: &[u8]) {
        if let Some(&(_, last, len)) = self.blocks.back()
            && last + len as u64 != offset
        {
            // Not right after the last one (a failed write in between): start over.
            self.clear();
        }
        self.bytes.extend_from_slice(bytes);
        self.blocks.push_back((id, offset, bytes.len()));
        let mut kept = self.bytes.len() - self.start;
        while self.blocks.len() > RECENT_PACKETS || (kept > RECENT_BYTES && self.blocks.len() > 1) {
            if let Some((_, _, len)) = self.blocks.pop_front() {
                self.start += len;
                kept -= len;
            }
        }
        if self.start > COMPACT_AT && self.start * 2 > self.bytes.len() {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
    }

    /// Forgets every block (after a failed write: the file may not hold them).
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.start = 0;
        self.blocks.clear();
    }

    /// The rewrite that adds `comment` to packet `id`: the block and those after it.
    ///
    /// Only the latest packets are kept ([`RECENT_PACKETS`], [`RECENT_BYTES`]). An older `id`
    /// gets its comment on the latest packet instead, prefixed with "frame <id>: " (ids are
    /// Wireshark's frame numbers), so the message is never lost.
    pub(super) fn annotate(&self, id: u64, comment: &str, latest: u64) -> Result<Rewrite, String> {
        let Some(&(newest, ..)) = self.blocks.back() else {
            return Err(if latest == 0 {
                format!("no packet {id} to annotate: nothing recorded yet")
            } else {
                format!("no packet {id} to annotate (latest is {latest}, no longer kept)")
            });
        };
        let (index, comment) = match self.blocks.iter().position(|b| b.0 == id) {
            Some(index) => (index, Cow::Borrowed(comment)),
            None if (1..newest).contains(&id) => (
                self.blocks.len() - 1,
                Cow::Owned(format!("frame {id}: {comment}")),
            ),
            None => return Err(format!("no packet {id} to annotate (latest is {newest})")),
        };
        let (_, offset, _) = self.blocks[index];
        let from = self.start + self.offset_in_buffer(index);
        let len = self.blocks[index].2;
        let block = with_comment(&self.bytes[from..from + len], &comment);
        let mut bytes = Vec::with_capacity(block.len() + self.bytes.len() - from - len);
        bytes.extend_from_slice(&block);
        bytes.extend_from_slice(&self.bytes[from + len..]);
        Ok(Rewrite {
            offset,
            bytes,
            index,
            block_len: block.len(),
        })
    }

    /// The tail as it was before a failed rewrite from block `index`.
    pub(super) fn tail_from(&self, rewrite: &Rewrite) -> Vec<u8> {
        let from = self.start + self.offset_in_buffer(rewrite.index);
        self.bytes[from..].to_vec()
    }

    /// After the rewrite was written: the blocks as the file now has them.
    pub(super) fn rewritten(&mut self, rewrite: Rewrite) {
        let from = self.start + self.offset_in_buffer(rewrite.index);
        self.bytes.truncate(from);
        self.bytes.extend_from_slice(&rewrite.bytes);
        self.blocks[rewrite.index].2 = rewrite.block_len;
        let mut offset = rewrite.offset;
        for b in self.blocks.iter_mut().skip(rewrite.index) {
            b.1 = offset;
            offset += b.2 as u64;
        }
    }

    /// After a failed rewrite that could not put the old blocks back: they are lost.
    pub(super) fn lost_from(&mut self, rewrite: &Rewrite) -> usize {
        let lost = self.blocks.len() - rewrite.index;
        let from = self.start + self.offset_in_buffer(rewrite.index);
        self.bytes.truncate(from);
        self.blocks.truncate(rewrite.index);
        lost
    }

    fn offset_in_buffer(&self, index: usize) -> usize {
        self.blocks.iter().take(index).map(|b| b.2).sum()
    }
}

/// The OS error itself for I/O failures, the validation message otherwise.
fn describe(e: PcapNgWriteError) -> String {
    match e {
        PcapNgWriteError::Io(io) => io.to_string(),
        PcapNgWriteError::Validation { field, source } => format!("invalid {field}: {source}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pcap_file::pcapng::Block;
    use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
    use pcap_file::pcapng::blocks::opt_common::CommonOption;

    use super::*;

    /// The blocks pcap-file's own writer makes of the same packet, after our header.
    fn theirs(e: &Entry, comments: &[&str]) -> Vec<u8> {
        let mut writer = PcapNgWriter::with_section_header(
            Vec::new(),
            SectionHeaderBlock {
                endianness: Endianness::native(),
                options: vec![SectionHeaderOption::UserApplication("udpsh".into())],
                ..SectionHeaderBlock::default()
            },
        )
        .unwrap();
        writer
            .write_pcapng_block(InterfaceDescriptionBlock {
                linktype: DataLink::ETHERNET,
                snaplen: SNAPLEN,
                options: vec![
                    InterfaceDescriptionOption::IfName("udpsh".into()),
                    InterfaceDescriptionOption::IfTsResol(InterfaceTsResolution::NANO),
                ],
            })
            .unwrap();
        let start = writer.get_ref().len();
        let flags = match e.direction {
            Direction::Inbound => INBOUND,
            Direction::Outbound => OUTBOUND,
        };
        let mut options = vec![EnhancedPacketOption::Flags(flags)];
        for c in comments {
            options.push(EnhancedPacketOption::Common(CommonOption::Comment(
                Cow::Owned(c.to_string()),
            )));
        }
        let frame: Vec<u8> = e.headers.iter().chain(e.payload).copied().collect();
        writer
            .write_block(&Block::EnhancedPacket(EnhancedPacketBlock {
                interface_id: 0,
                timestamp: e.timestamp,
                original_len: e.original,
                data: Cow::Owned(frame),
                options,
            }))
            .unwrap();
        writer.into_inner()[start..].to_vec()
    }

    fn entry<'a>(payload: &'a [u8], comment: Option<&'a str>, dir: Direction) -> Entry<'a> {
        Entry {
            headers: &[9; 42],
            payload,
            original: 42 + payload.len() as u32 + 3,
            timestamp: Duration::new(1_700_000_000, 123_456_789),
            direction: dir,
            comment,
        }
    }

    fn ours(e: &Entry) -> Vec<u8> {
        let mut out = vec![0xee; record_len(e)];
        write_record(&mut out, e);
        out
    }

    #[test]
    fn blocks_as_pcap_file_writes_them() {
        for (payload, comment) in [
            (&b""[..], None),
            (b"x", Some("chat.rhai:12 sendto")),
            (b"abcd", Some("")),
            (b"odd length", Some("é")),
        ] {
            for dir in [Direction::Inbound, Direction::Outbound] {
                let e = entry(payload, comment, dir);
                let want = theirs(&e, comment.as_slice());
                assert_eq!(ours(&e), want, "{payload:?} {comment:?}");
            }
        }
    }

    #[test]
    fn a_long_comment_is_cut_and_marked() {
        let long = "é".repeat(40_000);
        let e = entry(b"x", Some(&long), Direction::Outbound);
        let (text, mark) = kept(&long);
        let cut = format!("{text}{mark}");
        assert!(cut.len() <= MAX_COMMENT + 3 && cut.ends_with('…'));
        assert_eq!(ours(&e), theirs(&e, &[&cut]));
    }

    #[test]
    fn a_comment_added_later_is_the_block_pcap_file_writes_with_both() {
        let e = entry(b"payload", Some("first"), Direction::Inbound);
        let block = ours(&e);
        assert_eq!(
            with_comment(&block, "second"),
            theirs(&e, &["first", "second"])
        );
    }

    #[test]
    fn recent_blocks_are_bounded_and_their_buffer_reused() {
        let mut recent = Recent::default();
        let block = vec![7u8; 1000];
        let mut offset = 100;
        for id in 1..=10_000u64 {
            recent.remember(id, offset, &block);
            offset += 1000;
        }
        assert_eq!(recent.blocks.len(), RECENT_PACKETS);
        assert!(recent.bytes.capacity() < 3 * RECENT_BYTES);
        assert_eq!(recent.blocks.front().unwrap().0, 10_000 - 63);
        // A gap (a failed write) starts over.
        recent.remember(10_001, offset + 1, &block);
        assert_eq!(recent.blocks.len(), 1);
    }
}
