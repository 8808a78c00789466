//! The capture file, written one complete record at a time.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

/// A `Write` for pcap-file's writers that makes every record one write(2).
///
/// pcap-file serializes a record field by field. Those writes land in `pending` (memory);
/// `commit` then hands the whole record to the kernel at once. A process killed at any moment
/// thus leaves complete records only, and nothing waits in a user-space buffer between
/// records. `flush()` commits, so writers without access to their sink (pcap's `PcapWriter`)
/// work too.
pub(super) struct RecordFile {
    file: File,
    pending: Vec<u8>,
    /// Length of the valid data in the file; the file cursor stays there.
    end: u64,
}

impl RecordFile {
    /// Creates or truncates `path`.
    pub(super) fn create(path: &Path) -> io::Result<RecordFile> {
        Ok(RecordFile {
            file: File::create(path)?,
            pending: Vec::new(),
            end: 0,
        })
    }

    /// Drops serialized bytes not committed (after a failed serialization or a panic).
    pub(super) fn discard(&mut self) {
        self.pending.clear();
    }

    /// Appends the pending bytes in one write; returns the offset they start at. On failure
    /// (disk full) the file is cut back to its last complete record.
    pub(super) fn commit(&mut self) -> io::Result<u64> {
        let offset = self.end;
        self.write_pending_at(offset)?;
        Ok(offset)
    }

    /// Replaces everything from `offset` (a record boundary) to the end by the pending bytes, in
    /// one write. Meant for rewriting the last few records with more bytes than before, so the
    /// file never gets shorter meanwhile: until the write is done, readers see the old records.
    pub(super) fn commit_at(&mut self, offset: u64) -> io::Result<()> {
        self.write_pending_at(offset)
    }

    fn write_pending_at(&mut self, offset: u64) -> io::Result<()> {
        let result = self.try_write_at(offset);
        self.pending.clear();
        match result {
            Ok(new_end) => {
                self.end = new_end;
                Ok(())
            }
            Err(e) => {
                // Best effort: drop a partial record so the file stays readable.
                let _ = self.file.set_len(self.end);
                let _ = self.file.seek(SeekFrom::Start(self.end));
                Err(e)
            }
        }
    }

    fn try_write_at(&mut self, offset: u64) -> io::Result<u64> {
        if offset != self.end {
            self.file.seek(SeekFrom::Start(offset))?;
        }
        self.file.write_all(&self.pending)?;
        let new_end = offset + self.pending.len() as u64;
        if new_end < self.end {
            self.file.set_len(new_end)?;
        }
        self.file.flush()?;
        Ok(new_end)
    }
}

impl Write for RecordFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.commit().map(drop)
    }
}
