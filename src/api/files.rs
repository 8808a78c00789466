//! `read_file` and `write_file`: a regular file at once; a FIFO, device or socket in slices, so
//! a writer that never comes (or `/dev/zero`, which never ends) is bounded by `--timeout`,
//! Ctrl-C and the memory limit instead of hanging or exhausting memory.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use rhai::{Blob, Dynamic, Engine};

use crate::display::quoted;
use crate::stop::{SLICE, Stop};

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error, stopped};

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn("read_file", move |path: &str| read_file(&c, path));
    let c = ctx.clone();
    engine.register_fn("write_file", move |path: &str, data: Dynamic| {
        super::values::with_payload(&data, |bytes| write_file(&c, path, bytes))
    });
}

fn failed(what: &str, path: &str, err: impl std::fmt::Display) -> Box<rhai::EvalAltResult> {
    script_error(
        ErrorKind::File,
        format!("cannot {what} {}: {err}", quoted(path)),
    )
}

fn read_file(ctx: &ScriptCtx, path: &str) -> Fallible<Blob> {
    let limit = ctx.run.limits.array_items();
    let meta = std::fs::metadata(path).map_err(|e| failed("read", path, e))?;
    if meta.is_dir() {
        return Err(failed("read", path, "it is a folder"));
    }
    let too_big = || {
        failed(
            "read",
            path,
            format!(
                "it holds more than {limit} bytes, the most a blob may under the memory limit \
                 (an eighth of --max-memory)"
            ),
        )
    };
    if meta.is_file() {
        if meta.len() > limit as u64 {
            return Err(too_big());
        }
        return std::fs::read(path).map_err(|e| failed("read", path, e));
    }
    // A FIFO, device or socket: it may never send, or never end.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| failed("read", path, e))?;
    let mut data = Vec::new();
    let mut chunk = vec![0; 64 << 10];
    loop {
        wait_until(&file, PollFlags::POLLIN, &ctx.run.stop)?;
        match file.read(&mut chunk) {
            Ok(0) => return Ok(data),
            Ok(n) => {
                if data.len() + n > limit {
                    return Err(too_big());
                }
                data.extend_from_slice(&chunk[..n]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed("read", path, e)),
        }
    }
}

fn write_file(ctx: &ScriptCtx, path: &str, data: &[u8]) -> Fallible<i64> {
    let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir());
    if !special {
        return std::fs::write(path, data)
            .map(|_| data.len() as i64)
            .map_err(|e| failed("write", path, e));
    }
    // A FIFO opens for writing only once a reader has it open: wait for one, in slices.
    let mut file = loop {
        match open_nonblocking_writer(path) {
            Ok(file) => break file,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if let Some(reason) = ctx.run.stop.check() {
                    return Err(stopped(reason));
                }
                std::thread::sleep(SLICE.min(std::time::Duration::from_millis(10)));
            }
            Err(e) => return Err(failed("write", path, e)),
        }
    };
    let mut rest = data;
    while !rest.is_empty() {
        wait_until(&file, PollFlags::POLLOUT, &ctx.run.stop)?;
        match file.write(rest) {
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(failed("write", path, e)),
        }
    }
    Ok(data.len() as i64)
}

fn open_nonblocking_writer(path: &str) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

/// Waits, a slice at a time, until `file` is ready (or hung up); a stop ends the wait.
fn wait_until(file: &File, ready: PollFlags, stop: &Stop) -> Fallible<()> {
    loop {
        if let Some(reason) = stop.check() {
            return Err(stopped(reason));
        }
        let mut fds = [PollFd::new(file.as_fd(), ready)];
        let slice = PollTimeout::try_from(SLICE).unwrap_or(PollTimeout::NONE);
        match poll(&mut fds, slice) {
            Ok(0) => {}
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(script_error(ErrorKind::File, format!("cannot wait: {e}"))),
        }
    }
}
