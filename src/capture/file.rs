//! The capture file, written one complete record at a time.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;

#[cfg(target_os = "linux")]
use super::guard::Guard;

/// A `Write` for pcap-file's writers that makes every record one write(2).
///
/// pcap-file serializes a record field by field. Those writes land in `pending` (memory);
/// `commit` then hands the whole record to the kernel at once, and nothing waits in a
/// user-space buffer between records. `flush()` commits, so writers that do not give access to
/// their sink (pcap's `PcapWriter`) work too. On Linux a watchdog process ([`Guard`]) cuts a
/// record that a kill interrupted halfway.
pub(super) struct RecordFile {
    file: File,
    pending: Vec<u8>,
    /// Length of the valid data in the file; the file cursor stays there.
    end: u64,
    #[cfg(target_os = "linux")]
    guard: Option<Guard>,
}

impl RecordFile {
    /// Creates or truncates `path`.
    pub(super) fn create(path: &Path) -> io::Result<RecordFile> {
        let file = File::create(path)?;
        Ok(RecordFile {
            // Without a watchdog (fork failed) recording still works, unprotected from kills.
            #[cfg(target_os = "linux")]
            guard: Guard::spawn(&file, 0).ok(),
            file,
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
        self.write_pending(offset).map(|()| offset)
    }

    /// Replaces everything from `offset` (a record boundary) to the end by the pending bytes, in
    /// one write. Until that write is done, readers see the old records; if we die during it,
    /// the watchdog cuts the file at `offset`. On failure the file is unchanged (not seekable)
    /// or ends at `offset`.
    pub(super) fn rewrite_from(&mut self, offset: u64) -> io::Result<()> {
        if let Err(e) = self.file.seek(SeekFrom::Start(offset)) {
            self.pending.clear();
            return Err(e);
        }
        self.set_valid_len(offset);
        self.write_pending(offset)
    }

    /// Length of the valid data in the file.
    pub(super) fn end(&self) -> u64 {
        self.end
    }

    /// Writes the pending bytes at `offset`, where the file cursor is.
    fn write_pending(&mut self, offset: u64) -> io::Result<()> {
        let new_end = offset + self.pending.len() as u64;
        let result = self.file.write_all(&self.pending).and_then(|()| {
            if new_end < self.end {
                self.file.set_len(new_end)?;
            }
            self.file.flush()
        });
        self.pending.clear();
        match result {
            Ok(()) => {
                self.end = new_end;
                self.set_valid_len(new_end);
                Ok(())
            }
            Err(e) => {
                self.cut(offset);
                Err(e)
            }
        }
    }

    /// Best effort: ends the file at `len`, dropping a partial record.
    fn cut(&mut self, len: u64) {
        let _ = self.file.set_len(len);
        let _ = self.file.seek(SeekFrom::Start(len));
        self.end = len;
        self.set_valid_len(len);
    }

    fn set_valid_len(&self, len: u64) {
        #[cfg(target_os = "linux")]
        if let Some(guard) = &self.guard {
            guard.set_valid_len(len);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = len;
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
