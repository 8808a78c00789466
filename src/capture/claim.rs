//! The one rule for every file a capture is written to (`--pcap`, `--pcap-dir`,
//! `proxy(#{pcap})`, `udpsh proxy --pcap`, `:pcap`): a capture never replaces a file that
//! holds something else, nor an input of the run (a script, a module it imports), and two
//! captures of one process never write one file (each would write over the other).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError, Weak};

use super::Inner;

/// A regular file, however it is named (a hard link, `./x`, a symlink).
type Identity = (u64, u64);

/// The first bytes of a pcap (either byte order, micro- or nanosecond) or pcapng file.
pub(super) const MAGICS: [[u8; 4]; 5] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

#[derive(Default)]
pub(super) struct Claims {
    /// Captures being written now.
    open: Vec<(Identity, Weak<Inner>)>,
    /// The run's scripts and the modules they import.
    inputs: Vec<Identity>,
}

static CLAIMS: Mutex<Claims> = Mutex::new(Claims {
    open: Vec::new(),
    inputs: Vec::new(),
});

/// Held while a capture file is checked, created and registered, so two threads cannot
/// both claim a new file.
pub(super) fn lock() -> MutexGuard<'static, Claims> {
    CLAIMS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `path` is read by this run: no capture may replace it from now on.
pub fn protect(path: &Path) {
    if let Some(id) = identity(path) {
        let mut claims = lock();
        if !claims.inputs.contains(&id) {
            claims.inputs.push(id);
        }
    }
}

fn identity(path: &Path) -> Option<Identity> {
    let meta = std::fs::metadata(path).ok()?;
    meta.is_file().then(|| (meta.dev(), meta.ino()))
}

impl Claims {
    /// Why a capture may not be written to `path`, if it may not. A file not there yet, an
    /// empty file, a FIFO or a device (written to, never replaced) may be.
    pub(super) fn refusal(&mut self, path: &Path) -> Option<String> {
        self.open.retain(|(_, alive)| alive.strong_count() > 0);
        let id = identity(path)?;
        if self.inputs.contains(&id) {
            return Some(
                "it is an input of this run (a script, or a module one imports): refusing to \
                 overwrite it"
                    .into(),
            );
        }
        if self.open.iter().any(|(open, _)| *open == id) {
            return Some(
                "another capture of this run is writing it (--pcap, a proxy's pcap, :pcap): \
                 two writers would corrupt it; give each its own file"
                    .into(),
            );
        }
        if !holds_a_capture(path) {
            return Some(
                "it holds something that is not a capture: refusing to replace it (remove \
                 it, or record to another file)"
                    .into(),
            );
        }
        None
    }

    /// The capture written to the file `id` from now on, while `inner` lives.
    pub(super) fn register(&mut self, id: Option<Identity>, inner: Weak<Inner>) {
        if let Some(id) = id {
            self.open.push((id, inner));
        }
    }
}

/// Whether an existing regular file is empty or starts as a capture does.
fn holds_a_capture(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    let Ok(mut file) = std::fs::File::open(path) else {
        // Unreadable: creating it fails the same way, and says so.
        return true;
    };
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    // A capture cut in its first bytes (killed while its header was written) is one too.
    read == 0 || MAGICS.iter().any(|m| m.starts_with(&head[..read]))
}

/// The file of an open capture.
pub(super) fn identity_of(file: &std::fs::File) -> Option<Identity> {
    let meta = file.metadata().ok()?;
    meta.is_file().then(|| (meta.dev(), meta.ino()))
}
