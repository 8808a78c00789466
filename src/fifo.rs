//! Opening a file that may be a FIFO without hanging: `open(2)` of a FIFO waits for the other
//! end, which may never come (and no `--timeout` or signal handler can end a thread blocked
//! there). Knows nothing of scripts.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens `path` to write, creating or truncating a regular file. A FIFO is opened once a
/// reader has it open, waited for a few seconds (then an error saying so), and is then
/// written as any pipe.
pub fn create_for_writing(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(m) if m.file_type().is_fifo() => {}
        // `/dev/stdout`, `/dev/null`: written to, never truncated.
        Ok(m) if !m.is_file() && !m.is_dir() => return OpenOptions::new().write(true).open(path),
        _ => return File::create(path),
    }
    // A reader may come a moment later (`wireshark -k -i FIFO` started after udpsh).
    let until = std::time::Instant::now() + READER_WAIT;
    loop {
        match OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
        {
            Ok(file) => {
                blocking(&file)?;
                return Ok(file);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if std::time::Instant::now() >= until || crate::stop::interrupted() {
                    return Err(io::Error::other(format!(
                        "it is a FIFO that nobody opened to read within {}s",
                        READER_WAIT.as_secs()
                    )));
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e),
        }
    }
}

/// How long a FIFO to write is waited on for its reader.
const READER_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Reads a whole regular file; anything else (a FIFO, a device) is refused, not waited on.
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::other(if meta.is_dir() {
            "it is a folder"
        } else {
            "not a regular file"
        }));
    }
    std::fs::read(path)
}

/// Back to blocking writes, as for any other output.
fn blocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on an open descriptor we own.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_without_a_reader_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = create_for_writing(&fifo).unwrap_err();
        assert!(err.to_string().contains("nobody opened to read"), "{err}");
        assert!(
            read_regular(&fifo)
                .unwrap_err()
                .to_string()
                .contains("not a regular file")
        );
        // With a reader, it opens.
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        assert!(create_for_writing(&fifo).is_ok());
        let plain = dir.path().join("p");
        std::fs::write(&plain, b"x").unwrap();
        assert_eq!(read_regular(&plain).unwrap(), b"x");
    }
}
