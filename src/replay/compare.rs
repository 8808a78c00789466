//! Comparing live replies with recorded ones: bytes in the ignored ranges are masked, a
//! difference is shown as the hexdump rows around its first byte. No sockets.

use std::fmt::Write;

use crate::display;

use super::plan::{Expected, Request};
use super::{ByteRange, Report};

/// Whether two replies are equal outside the ignored bytes (lengths must agree).
pub fn same(recorded: &[u8], live: &[u8], ignore: &[ByteRange]) -> bool {
    first_difference(recorded, live, ignore).is_none()
}

/// The first offset where they differ outside the ignored bytes (or where one ends).
pub fn first_difference(recorded: &[u8], live: &[u8], ignore: &[ByteRange]) -> Option<usize> {
    let ignored = |i: usize| ignore.iter().any(|r| r.contains(i));
    let common = recorded.len().min(live.len());
    let at = (0..common).find(|&i| recorded[i] != live[i] && !ignored(i));
    at.or((recorded.len() != live.len()).then_some(common))
}

/// Bytes per hexdump row.
const ROW: usize = 16;

/// "frame 6 (reply to frame 4) differs at byte 31 (recorded 45 bytes, live 45 bytes)", and
/// the rows from one before to one after the first difference, both sides, with `^^` under
/// the bytes that differ (ignored bytes shown as `__`).
pub fn diff(expected: &Expected, request_frame: u64, live: &[u8], ignore: &[ByteRange]) -> String {
    let recorded = &expected.data[..];
    let at = first_difference(recorded, live, ignore).unwrap_or(0);
    let mut out = format!(
        "frame {} (reply to frame {request_frame}) differs at byte {at} (recorded {}, live {})",
        expected.frame,
        crate::display::plural(recorded.len() as u64, "byte", "bytes"),
        crate::display::plural(live.len() as u64, "byte", "bytes")
    );
    if !ignore.is_empty() {
        let ranges: Vec<String> = ignore.iter().map(ByteRange::to_string).collect();
        let _ = write!(out, ", ignoring bytes {}", ranges.join(", "));
    }
    out.push('\n');
    let first_row = (at / ROW).saturating_sub(1);
    let last_row = (at / ROW + 1).min(recorded.len().max(live.len()).saturating_sub(1) / ROW);
    for row in first_row..=last_row {
        let start = row * ROW;
        let line = |bytes: &[u8]| {
            let end = bytes.len().min(start + ROW);
            let part = bytes.get(start..end).unwrap_or(&[]);
            format!(
                "{start:04x}  {:<47}  {}",
                display::spaced_hex(part),
                ascii(part)
            )
        };
        let _ = writeln!(out, "  recorded {}", line(recorded));
        let _ = writeln!(out, "  live     {}", line(live));
        let marks: String = (start..start + ROW)
            .map(|i| {
                let (r, l) = (recorded.get(i), live.get(i));
                if r.is_none() && l.is_none() {
                    "   "
                } else if ignore.iter().any(|g| g.contains(i)) {
                    "__ "
                } else if r != l {
                    "^^ "
                } else {
                    "   "
                }
            })
            .collect();
        if !marks.trim().is_empty() {
            let _ = writeln!(out, "{:17}{}", "", marks.trim_end());
        }
    }
    out
}

/// What became of a live reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Equal to the recorded reply of this frame.
    Matched(u64),
    /// Compared with the recorded reply of this frame, and different.
    Mismatched(u64),
    /// Taken as the reply of this frame, not compared (no `check`).
    Counted(u64),
    /// No recorded reply was waiting on this socket.
    Extra,
}

struct Pending {
    expected: Expected,
    request: u64,
}

/// Pairs the live replies of each client socket with the recorded ones still waiting.
pub struct Checker {
    check: bool,
    ignore: Vec<ByteRange>,
    pending: Vec<Vec<Pending>>,
    /// Requests (by frame) that a live reply was paired with already.
    answered: std::collections::HashSet<u64>,
    report: Report,
}

impl Checker {
    pub fn new(clients: usize, check: bool, ignore: Vec<ByteRange>) -> Checker {
        Checker {
            check,
            ignore,
            pending: (0..clients).map(|_| Vec::new()).collect(),
            answered: std::collections::HashSet::new(),
            report: Report::default(),
        }
    }

    /// `request` went out on the socket of client `client`: its replies are awaited.
    pub fn sent(&mut self, client: usize, request: &Request) {
        self.report.sent += 1;
        if let Some(list) = self.pending.get_mut(client) {
            list.extend(request.replies.iter().map(|e| Pending {
                expected: e.clone(),
                request: request.frame,
            }));
        }
    }

    /// A live reply on the socket of `client`. It matches any awaited reply equal to it
    /// (servers may answer out of order); otherwise it is compared with the oldest one.
    pub fn reply(&mut self, client: usize, data: &[u8]) -> Verdict {
        self.report.replies += 1;
        let Some(list) = self.pending.get_mut(client).filter(|l| !l.is_empty()) else {
            self.report.extra += 1;
            return Verdict::Extra;
        };
        if !self.check {
            return Verdict::Counted(list.remove(0).expected.frame);
        }
        if let Some(i) = list
            .iter()
            .position(|p| same(&p.expected.data, data, &self.ignore))
        {
            self.report.matched += 1;
            let p = list.remove(i);
            self.answered.insert(p.request);
            return Verdict::Matched(p.expected.frame);
        }
        // Compared with the oldest reply of a request not answered yet: a second recorded
        // reply (a duplicate the network made) is no reply to the next request.
        let Some(i) = list
            .iter()
            .position(|p| !self.answered.contains(&p.request))
        else {
            self.report.extra += 1;
            return Verdict::Extra;
        };
        let p = list.remove(i);
        self.answered.insert(p.request);
        self.report.mismatched += 1;
        self.report
            .diffs
            .push(diff(&p.expected, p.request, data, &self.ignore));
        Verdict::Mismatched(p.expected.frame)
    }

    /// Whether a recorded reply is still awaited.
    pub fn waiting(&self) -> bool {
        self.pending.iter().any(|l| !l.is_empty())
    }

    /// The counts; what is still awaited is missing.
    pub fn finish(mut self) -> Report {
        for list in &self.pending {
            for p in list {
                self.report.missing += 1;
                self.report
                    .missing_frames
                    .push((p.expected.frame, p.request));
            }
        }
        self.report.missing_frames.sort_unstable();
        self.report
    }
}

fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: usize, end: Option<usize>) -> ByteRange {
        ByteRange { start, end }
    }

    #[test]
    fn masks_and_lengths() {
        assert!(same(b"abcd", b"abcd", &[]));
        assert!(!same(b"abcd", b"xbcd", &[]));
        assert!(same(b"abcd", b"xycd", &[range(0, Some(2))]));
        assert!(!same(b"abcd", b"abc", &[range(3, None)]), "lengths count");
        assert!(same(b"abcdef", b"abcxyz", &[range(3, None)]));
        assert_eq!(first_difference(b"abc", b"abcd", &[]), Some(3));
        assert_eq!(
            first_difference(b"abcd", b"abXd", &[range(0, Some(1))]),
            Some(2)
        );
    }

    #[test]
    fn a_diff_shows_frames_offsets_and_rows() {
        let mut recorded: Vec<u8> = (0..40).collect();
        let mut live = recorded.clone();
        live[33] = 0xff;
        live[0] = 0xee;
        recorded[1] = 7;
        live[1] = 8;
        let e = Expected {
            frame: 6,
            data: recorded,
        };
        let text = diff(&e, 4, &live, &[range(0, Some(2))]);
        let want = [
            "frame 6 (reply to frame 4) differs at byte 33 (recorded 40 bytes, live 40 bytes), ignoring bytes 0-1",
            "  recorded 0010  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f  ................",
            "  live     0010  10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f  ................",
            "  recorded 0020  20 21 22 23 24 25 26 27                           !\"#$%&'",
            "  live     0020  20 ff 22 23 24 25 26 27                           .\"#$%&'",
            "                    ^^",
        ]
        .map(|l| l.to_string() + "\n")
        .concat();
        assert_eq!(text, want);
    }

    fn request(frame: u64, replies: &[(u64, &str)]) -> Request {
        Request {
            frame,
            client: "127.0.0.1:1".parse().unwrap(),
            server: "127.0.0.1:2".parse().unwrap(),
            data: Vec::new(),
            offset: std::time::Duration::ZERO,
            replies: replies
                .iter()
                .map(|(f, d)| Expected {
                    frame: *f,
                    data: d.as_bytes().to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_checker_pairs_counts_and_reports() {
        let mut c = Checker::new(2, true, vec![range(0, Some(1))]);
        c.sent(0, &request(1, &[(2, "Aone")]));
        c.sent(0, &request(3, &[(4, "Atwo")]));
        c.sent(1, &request(5, &[(6, "Athree"), (7, "Afour")]));
        assert!(c.waiting());
        // Out of order, and the first byte masked.
        assert_eq!(c.reply(0, b"Ztwo"), Verdict::Matched(4));
        assert_eq!(c.reply(0, b"Zone"), Verdict::Matched(2));
        assert_eq!(c.reply(0, b"more"), Verdict::Extra);
        assert_eq!(c.reply(1, b"Athrex"), Verdict::Mismatched(6));
        let r = c.finish();
        assert_eq!(
            (
                r.sent,
                r.replies,
                r.matched,
                r.mismatched,
                r.missing,
                r.extra
            ),
            (3, 4, 2, 1, 1, 1)
        );
        assert_eq!(r.missing_frames, [(7, 5)]);
        assert!(
            r.diffs[0].starts_with("frame 6 (reply to frame 5) differs at byte 5"),
            "{}",
            r.diffs[0]
        );
    }

    #[test]
    fn a_duplicate_in_the_recording_is_not_the_reply_to_the_next_request() {
        // Recorded: A answered twice (the network duplicated it), B unanswered, C answered.
        let mut c = Checker::new(1, true, Vec::new());
        c.sent(0, &request(1, &[(2, "A"), (3, "A")]));
        assert_eq!(c.reply(0, b"A"), Verdict::Matched(2));
        c.sent(0, &request(4, &[]));
        assert_eq!(c.reply(0, b"B"), Verdict::Extra);
        c.sent(0, &request(5, &[(6, "C")]));
        assert_eq!(c.reply(0, b"C"), Verdict::Matched(6));
        let r = c.finish();
        assert_eq!((r.matched, r.mismatched, r.missing, r.extra), (2, 0, 1, 1));
        assert_eq!(r.missing_frames, [(3, 1)]);
    }

    #[test]
    fn without_check_replies_are_only_counted() {
        let mut c = Checker::new(1, false, Vec::new());
        c.sent(0, &request(1, &[(2, "x")]));
        assert_eq!(c.reply(0, b"anything"), Verdict::Counted(2));
        let r = c.finish();
        assert_eq!((r.matched, r.mismatched, r.missing), (0, 0, 0));
    }

    #[test]
    fn a_shorter_reply() {
        let e = Expected {
            frame: 2,
            data: b"hello world".to_vec(),
        };
        let text = diff(&e, 1, b"hello", &[]);
        assert!(
            text.starts_with(
                "frame 2 (reply to frame 1) differs at byte 5 (recorded 11 bytes, live 5 bytes)"
            ),
            "{text}"
        );
        assert!(text.contains("^^ ^^ ^^ ^^ ^^ ^^"), "{text}");
    }
}
