//! The records of a pcap or pcapng file, walked as libpcap and Wireshark's wiretap walk them:
//! the link type's upper bits (the FCS length) masked, a record that cannot be used skipped
//! when its length still tells where the next one starts, and a file cut or damaged in the
//! middle of a record read up to its last complete record, with the place said once.
//!
//! Written here rather than with pcap-file's readers, which stop at the first record they
//! dislike (a fraction of a second too big, a length over the snapshot length) and return
//! nothing of a file cut mid-record.

use std::time::Duration;

/// One packet as the file holds it.
pub(super) struct Record<'a> {
    /// LINKTYPE_ value, upper bits masked.
    pub link: u32,
    pub time: Duration,
    pub data: &'a [u8],
    pub original_len: u32,
    pub comment: Option<String>,
}

/// What the walk meets, in file order.
pub(super) enum Step<'a> {
    Packet(Record<'a>),
    /// A packet record that cannot be used (names no interface, lengths that contradict its
    /// block); the records after it are still read. Counts as a frame, as Wireshark's does.
    Bad,
}

/// libpcap's LT_LINKTYPE: the low 26 bits; the FCS length and its flag live above them.
const LINK_MASK: u32 = 0x03ff_ffff;
/// Wiretap's largest record for most link types: a longer one means a damaged file.
const MAX_RECORD: u32 = 262_144;

/// Walks the records of `bytes`. `Ok(None)`: read to its end; `Ok(Some(why))`: damaged, read
/// up to the place `why` names; `Err`: not a capture at all.
pub(super) fn walk(bytes: &[u8], each: &mut dyn FnMut(Step)) -> Result<Option<String>, String> {
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        pcapng(bytes, each)
    } else {
        pcap(bytes, each)
    }
}

#[derive(Clone, Copy)]
struct Order(bool);

impl Order {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let v = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.0 {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let v = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.0 {
            u32::from_be_bytes(v)
        } else {
            u32::from_le_bytes(v)
        })
    }
}

fn cut(frame: u64, at: usize, size: usize) -> String {
    format!("cut short in the middle of frame {frame} (at byte {at} of {size})")
}

fn pcap(bytes: &[u8], each: &mut dyn FnMut(Step)) -> Result<Option<String>, String> {
    let magic = bytes
        .get(..4)
        .ok_or("not a pcap or pcapng file (too short)")?;
    let (order, nanos, extra) = match magic {
        [0xa1, 0xb2, 0xc3, 0xd4] => (Order(true), false, 0),
        [0xd4, 0xc3, 0xb2, 0xa1] => (Order(false), false, 0),
        [0xa1, 0xb2, 0x3c, 0x4d] => (Order(true), true, 0),
        [0x4d, 0x3c, 0xb2, 0xa1] => (Order(false), true, 0),
        // Alexey Kuznetzov's patched libpcap: 8 more bytes per record header.
        [0xa1, 0xb2, 0xcd, 0x34] => (Order(true), false, 8),
        [0x34, 0xcd, 0xb2, 0xa1] => (Order(false), false, 8),
        _ => return Err("not a pcap or pcapng file (unknown magic number)".into()),
    };
    let (Some(snaplen), Some(link)) = (order.u32(bytes, 16), order.u32(bytes, 20)) else {
        return Err(format!(
            "cut short in its 24-byte file header ({} bytes)",
            bytes.len()
        ));
    };
    let link = link & LINK_MASK;
    let limit = snaplen.max(MAX_RECORD);
    let header = 16 + extra;
    let (mut at, mut frame) = (24usize, 0u64);
    while at < bytes.len() {
        frame += 1;
        let Some(h) = bytes.get(at..at + header) else {
            return Ok(Some(cut(frame, at, bytes.len())));
        };
        let field = |i: usize| order.u32(h, i * 4).unwrap_or(0);
        let (secs, frac, included, original) = (field(0), field(1), field(2), field(3));
        if included > limit {
            return Ok(Some(format!(
                "damaged at frame {frame} (byte {at}): it claims {included} bytes, more than any packet"
            )));
        }
        let start = at + header;
        let Some(data) = bytes.get(start..start + included as usize) else {
            return Ok(Some(cut(frame, at, bytes.len())));
        };
        let frac = if nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        each(Step::Packet(Record {
            link,
            time: Duration::from_secs(u64::from(secs)) + Duration::from_nanos(frac),
            data,
            original_len: original,
            comment: None,
        }));
        at = start + included as usize;
    }
    Ok(None)
}

/// An interface of the current pcapng section.
struct Interface {
    link: u32,
    /// Ticks per second, as a power: (base 10 or 2, exponent).
    resolution: (bool, u32),
    offset: i64,
}

impl Interface {
    fn time(&self, ticks: u64) -> Duration {
        let (decimal, exp) = self.resolution;
        let from_offset = |d: Duration| match u64::try_from(self.offset) {
            Ok(o) => d.saturating_add(Duration::from_secs(o)),
            Err(_) => d.saturating_sub(Duration::from_secs(self.offset.unsigned_abs())),
        };
        let per_second: u128 = if decimal {
            10u128.checked_pow(exp).unwrap_or(u128::MAX)
        } else {
            1u128.checked_shl(exp).unwrap_or(u128::MAX)
        };
        let ticks = u128::from(ticks);
        let secs = (ticks / per_second).min(u128::from(u64::MAX)) as u64;
        let nanos = (ticks % per_second * 1_000_000_000 / per_second) as u32;
        from_offset(Duration::new(secs, nanos))
    }
}

/// Options of a block body from `at`: (code, value) until opt_endofopt or the end.
fn options(order: Order, body: &[u8], mut at: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let (Some(code), Some(len)) = (order.u16(body, at), order.u16(body, at + 2)) {
        let Some(value) = body.get(at + 4..at + 4 + usize::from(len)) else {
            break;
        };
        if code == 0 {
            break;
        }
        out.push((code, value));
        at += 4 + usize::from(len).div_ceil(4) * 4;
    }
    out
}

fn comments(opts: &[(u16, &[u8])]) -> Option<String> {
    let all: Vec<String> = opts
        .iter()
        .filter(|(code, _)| *code == 1)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    (!all.is_empty()).then(|| all.join("; "))
}

fn pcapng(bytes: &[u8], each: &mut dyn FnMut(Step)) -> Result<Option<String>, String> {
    let mut order = Order(false);
    let mut interfaces: Vec<Interface> = Vec::new();
    let (mut at, mut frame) = (0usize, 0u64);
    while at < bytes.len() {
        let first = at == 0;
        let damaged = |what: &str| Some(format!("damaged after frame {frame} (byte {at}): {what}"));
        let Some(kind) = bytes.get(at..at + 4) else {
            return Ok(Some(cut(frame + 1, at, bytes.len())));
        };
        let kind = u32::from_le_bytes([kind[0], kind[1], kind[2], kind[3]]);
        if kind == 0x0a0d_0d0a {
            // A section header: its byte-order magic says how to read the rest.
            order = match bytes.get(at + 8..at + 12) {
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => Order(true),
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => Order(false),
                Some(_) if first => return Err("not a pcapng file (bad byte-order magic)".into()),
                Some(_) => return Ok(damaged("a section header with a bad byte-order magic")),
                None if first => return Err("cut short in its section header".into()),
                None => return Ok(Some(cut(frame + 1, at, bytes.len()))),
            };
            interfaces.clear();
        }
        let Some(total) = order.u32(bytes, at + 4).map(|t| t as usize) else {
            return Ok(Some(cut(frame + 1, at, bytes.len())));
        };
        if total < 12 || total % 4 != 0 {
            return Ok(damaged(&format!("a block of {total} bytes")));
        }
        let Some(block) = bytes.get(at..at + total) else {
            let packet = matches!(kind, 2 | 3 | 6);
            return Ok(Some(cut(frame + u64::from(packet), at, bytes.len())));
        };
        if order.u32(block, total - 4) != Some(total as u32) {
            return Ok(damaged("a block whose two lengths differ"));
        }
        let body = &block[8..total - 4];
        match kind {
            1 => interfaces.push(interface(order, body)),
            2 | 3 | 6 => {
                frame += 1;
                each(match packet(order, kind, body, &interfaces) {
                    Some(record) => Step::Packet(record),
                    None => Step::Bad,
                });
            }
            _ => {}
        }
        at += total;
    }
    Ok(None)
}

fn interface(order: Order, body: &[u8]) -> Interface {
    let mut i = Interface {
        link: order.u16(body, 0).map_or(u32::MAX, u32::from) & LINK_MASK,
        resolution: (true, 6),
        offset: 0,
    };
    for (code, value) in options(order, body, 8) {
        match (code, value) {
            (9, [r, ..]) => i.resolution = (r & 0x80 == 0, u32::from(r & 0x7f)),
            (14, v) if v.len() == 8 => {
                let v: [u8; 8] = v.try_into().unwrap_or_default();
                i.offset = if order.0 {
                    i64::from_be_bytes(v)
                } else {
                    i64::from_le_bytes(v)
                };
            }
            _ => {}
        }
    }
    i
}

/// An enhanced (6), simple (3) or obsolete (2) packet block's record.
fn packet<'a>(order: Order, kind: u32, body: &'a [u8], ifs: &[Interface]) -> Option<Record<'a>> {
    let ticks = |at: usize| {
        Some(u64::from(order.u32(body, at)?) << 32 | u64::from(order.u32(body, at + 4)?))
    };
    let (iface, ticks, included, original, data_at): (usize, u64, usize, u32, usize) = match kind {
        6 => (
            order.u32(body, 0)? as usize,
            ticks(4)?,
            order.u32(body, 12)? as usize,
            order.u32(body, 16)?,
            20,
        ),
        2 => (
            usize::from(order.u16(body, 0)?),
            ticks(4)?,
            order.u32(body, 12)? as usize,
            order.u32(body, 16)?,
            20,
        ),
        // Simple: no interface id (the first), no time, the data fills the block.
        _ => {
            let original = order.u32(body, 0)?;
            let room = body.len().checked_sub(4)?;
            (0, 0, room.min(original as usize), original, 4)
        }
    };
    let interface = ifs.get(iface)?;
    let data = body.get(data_at..data_at.checked_add(included)?)?;
    let comment = if kind == 3 {
        None
    } else {
        comments(&options(order, body, data_at + included.div_ceil(4) * 4))
    };
    Some(Record {
        link: interface.link,
        time: if kind == 3 {
            Duration::ZERO
        } else {
            interface.time(ticks)
        },
        data,
        original_len: original,
        comment,
    })
}
