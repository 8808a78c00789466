//! The capture file: headers written at once, then records, each written whole.
//!
//! On Linux records go through the shared ring to the watchdog (`ring.rs`, `guard.rs`), which
//! writes them in batches and finishes the file after any kill of udpsh. Without it (another
//! system, or the fork failed, or the watchdog was killed) each record is one `pwrite(2)`, as
//! the ring would have written it, and a failed write is cut back to the last whole record.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

#[cfg(target_os = "linux")]
use super::ring::{MAX_ENTRY, Ring};

pub(super) struct Output {
    file: File,
    /// A regular file: written at offsets, cut back after a failed write, rewritten in place.
    /// Else (a pipe, `/dev/stdout`) records are written in sequence.
    seekable: bool,
    /// Where the next record goes: the file's length once every record sent is written.
    end: u64,
    #[cfg(target_os = "linux")]
    ring: Option<Ring>,
    /// A record being built for a direct write.
    scratch: Vec<u8>,
    /// Where the record being built goes.
    building: Building,
}

enum Building {
    Nothing,
    #[cfg(target_os = "linux")]
    InRing,
    Direct,
}

impl Output {
    /// Creates or truncates `path` and writes `header` in one write, at once.
    pub(super) fn create(path: &Path, header: &[u8]) -> io::Result<Output> {
        let file = crate::fifo::create_for_writing(path)?;
        let seekable = file.metadata()?.file_type().is_file();
        let end = header.len() as u64;
        write_at(&file, seekable, header, 0)?;
        Ok(Output {
            // Without a watchdog (fork failed) recording still works, unprotected from kills.
            #[cfg(target_os = "linux")]
            ring: Ring::spawn(&file, end, seekable).ok(),
            file,
            seekable,
            end,
            scratch: Vec::new(),
            building: Building::Nothing,
        })
    }

    /// The regular file written (device and inode), `None` for a pipe or a device.
    pub(super) fn identity(&self) -> Option<(u64, u64)> {
        super::claim::identity_of(&self.file)
    }

    /// Room for a record of `len` bytes at the end; fill it, then [`Output::commit`] it.
    /// Returns the offset where it goes.
    pub(super) fn reserve(&mut self, len: usize) -> (u64, &mut [u8]) {
        let offset = self.end;
        #[cfg(target_os = "linux")]
        if len <= MAX_ENTRY && self.ring.is_some() {
            if self.ring.as_mut().is_some_and(|r| r.reserve(len).is_ok()) {
                self.building = Building::InRing;
                return (
                    offset,
                    self.ring.as_mut().map_or(&mut [][..], |r| r.buffer()),
                );
            }
            self.take_over();
        }
        self.building = Building::Direct;
        self.scratch.clear();
        self.scratch.resize(len, 0);
        (offset, &mut self.scratch)
    }

    /// Writes the record reserved: handed to the watchdog, or written at once. On a failed
    /// direct write the file is cut back to its last whole record.
    pub(super) fn commit(&mut self) -> io::Result<()> {
        match std::mem::replace(&mut self.building, Building::Nothing) {
            Building::Nothing => Ok(()),
            #[cfg(target_os = "linux")]
            Building::InRing => {
                if let Some(ring) = &mut self.ring {
                    self.end += ring.publish() as u64;
                }
                Ok(())
            }
            Building::Direct => {
                // A record too big for the ring goes after what the ring holds.
                #[cfg(target_os = "linux")]
                if let Some(ring) = &mut self.ring
                    && ring.sync().is_err()
                {
                    self.take_over();
                }
                let result = write_at(&self.file, self.seekable, &self.scratch, self.end);
                match result {
                    Ok(()) => {
                        self.end += self.scratch.len() as u64;
                        #[cfg(target_os = "linux")]
                        if let Some(ring) = &self.ring {
                            ring.set_end(self.end);
                        }
                        Ok(())
                    }
                    Err(e) => {
                        self.cut(self.end);
                        Err(e)
                    }
                }
            }
        }
    }

    /// Drops a record reserved and not committed.
    pub(super) fn discard(&mut self) {
        self.building = Building::Nothing;
        #[cfg(target_os = "linux")]
        if let Some(ring) = &mut self.ring {
            ring.cancel();
        }
    }

    /// A write the watchdog could not make since the last call (a full disk). The records
    /// since then were dropped; the file ends with the last whole record before it.
    pub(super) fn take_error(&mut self) -> Option<io::Error> {
        #[cfg(target_os = "linux")]
        if let Some(ring) = &mut self.ring {
            let error = ring.take_error()?;
            match ring.resume().and_then(|()| ring.sync()) {
                Ok(()) => self.end = ring.end(),
                Err(_) => self.take_over(),
            }
            return Some(error);
        }
        None
    }

    /// Waits until every record is in the file (for readers in the same process).
    pub(super) fn sync(&mut self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(ring) = &mut self.ring
            && ring.sync().is_err()
        {
            self.take_over();
        }
        match self.take_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Replaces everything from `offset` (a record boundary) to the end by `bytes`, in one
    /// write. Until that write is done, readers see the old records; if we die during it, the
    /// watchdog cuts the file at `offset`. On failure the file ends at `offset`.
    pub(super) fn rewrite_from(&mut self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        if !self.seekable {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "records already written to a pipe or device cannot be rewritten",
            ));
        }
        self.sync()?;
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.ring {
            ring.set_valid(offset);
        }
        let new_end = offset + bytes.len() as u64;
        let result = self.file.write_all_at(bytes, offset).and_then(|()| {
            if new_end < self.end {
                self.file.set_len(new_end)?;
            }
            Ok(())
        });
        let end = match result {
            Ok(()) => new_end,
            Err(_) => {
                let _ = self.file.set_len(offset);
                offset
            }
        };
        self.end = end;
        #[cfg(target_os = "linux")]
        if let Some(ring) = &self.ring {
            ring.set_end(end);
        }
        result
    }

    #[cfg(all(test, target_os = "linux"))]
    pub(super) fn watchdog(&self) -> Option<libc::pid_t> {
        self.ring.as_ref().map(|r| r.child())
    }

    /// Length of the valid data in the file once every record is written.
    pub(super) fn end(&self) -> u64 {
        self.end
    }

    /// The watchdog is gone: writes what it left in the ring, and every record from now on.
    #[cfg(target_os = "linux")]
    fn take_over(&mut self) {
        let Some(mut ring) = self.ring.take() else {
            return;
        };
        ring.abandon();
        let (valid, records) = ring.leftovers();
        self.cut(valid);
        let mut end = valid;
        for r in &records {
            if write_at(&self.file, self.seekable, r, end).is_err() {
                self.cut(end);
                break;
            }
            end += r.len() as u64;
        }
        self.end = end;
    }

    /// Ends a regular file at `len` (best effort); a pipe cannot be cut.
    fn cut(&self, len: u64) {
        if self.seekable {
            let _ = self.file.set_len(len);
        }
    }
}

/// Writes `bytes` at `offset` of a regular file, or next in a pipe or device.
fn write_at(file: &File, seekable: bool, bytes: &[u8], offset: u64) -> io::Result<()> {
    if seekable {
        file.write_all_at(bytes, offset)
    } else {
        use std::io::Write;
        (&*file).write_all(bytes)
    }
}
