//! The socket side of a replay: one socket per recorded client (so the server sees as many
//! clients as the capture shows), requests sent on the plan's schedule, replies read as they
//! come and handed to the [`Checker`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant, SystemTime};

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::time::TimeSpec;

use super::compare::{Checker, Verdict};
use super::plan::Plan;
use super::{ByteRange, Report, Speed};
use crate::capture::{Direction, Packet};
use crate::proxy::Recording;
use crate::stop::SLICE;

pub struct Options {
    pub to: SocketAddr,
    pub speed: Speed,
    pub check: bool,
    pub ignore: Vec<ByteRange>,
    /// How long to wait for replies after the last request.
    pub wait: Duration,
    pub recording: Option<Recording>,
}

/// Why a replay did not finish.
#[derive(Debug)]
pub enum Failure {
    /// `should_stop` said so (a script's timeout, Ctrl-C).
    Stopped,
    Network(String),
    /// An option that cannot work with this capture (a speed too slow for its spacing).
    Invalid(String),
}

/// Resends the plan's requests to `opts.to` and pairs the replies.
pub fn replay(
    plan: &Plan,
    opts: &Options,
    should_stop: &dyn Fn() -> bool,
) -> Result<Report, Failure> {
    let net = |e: io::Error| Failure::Network(e.to_string());
    let any: IpAddr = match opts.to {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let mut socks = Vec::with_capacity(plan.clients.len());
    for _ in &plan.clients {
        let s = UdpSocket::bind(SocketAddr::new(any, 0)).map_err(net)?;
        s.set_nonblocking(true).map_err(net)?;
        let local = s.local_addr().map_err(net)?;
        if let Some(l) = opts.recording.as_ref().and_then(|r| r.local.as_ref()) {
            l.add(local);
        }
        socks.push((s, local));
    }
    let result = run(plan, opts, &socks, should_stop);
    if let Some(l) = opts.recording.as_ref().and_then(|r| r.local.as_ref()) {
        for (_, local) in &socks {
            l.remove(*local);
        }
    }
    result
}

fn run(
    plan: &Plan,
    opts: &Options,
    socks: &[(UdpSocket, SocketAddr)],
    should_stop: &dyn Fn() -> bool,
) -> Result<Report, Failure> {
    let times = plan.send_times(opts.speed).map_err(Failure::Invalid)?;
    let client_index: Vec<usize> = plan
        .requests
        .iter()
        .map(|r| {
            plan.clients
                .iter()
                .position(|c| *c == r.client)
                .unwrap_or(0)
        })
        .collect();
    let mut checker = Checker::new(plan.clients.len(), opts.check, opts.ignore.clone());
    let mut buf = vec![0u8; 65_536];
    let start = Instant::now();
    let mut last_send = start;
    let mut next = 0;
    loop {
        if should_stop() {
            return Err(Failure::Stopped);
        }
        let sent_before = next;
        let to = socket2::SockAddr::from(opts.to);
        // Requests due now, in runs of one client's, go out in one sendmmsg(2) each (at
        // `speed max` all of them are due: no clock is read per datagram).
        let now = start.elapsed();
        while next < times.len() && (times[next].is_zero() || times[next] <= now) {
            let client = client_index[next];
            let mut end = next + 1;
            while end < times.len()
                && end - next < BATCH
                && client_index[end] == client
                && (times[end].is_zero() || times[end] <= now)
            {
                end += 1;
            }
            let batch = &plan.requests[next..end];
            let (sock, local) = &socks[client];
            send_all(sock, batch, &to).map_err(|(i, e)| {
                Failure::Network(format!(
                    "cannot send frame {} to {}: {e}",
                    batch[i].frame, opts.to
                ))
            })?;
            for request in batch {
                record(
                    opts,
                    *local,
                    opts.to,
                    &request.data,
                    Direction::Outbound,
                    || format!("replay of frame {}", request.frame),
                );
                checker.sent(client, request);
            }
            next = end;
        }
        if next > sent_before {
            last_send = Instant::now();
        }
        let waited = last_send.elapsed();
        if next == times.len() && (!checker.waiting() || waited >= opts.wait) {
            return Ok(checker.finish());
        }
        let timeout = if next < times.len() {
            times[next].saturating_sub(start.elapsed())
        } else {
            opts.wait.saturating_sub(waited)
        };
        let ready = wait(socks, timeout.min(SLICE));
        for i in ready {
            let (sock, local) = &socks[i];
            while let Ok((n, from)) = sock.recv_from(&mut buf) {
                let verdict = checker.reply(i, &buf[..n]);
                let comment = || match verdict {
                    Verdict::Matched(f) => format!("reply, matches frame {f}"),
                    Verdict::Mismatched(f) => format!("reply, differs from frame {f}"),
                    Verdict::Counted(f) => format!("reply, as frame {f}"),
                    Verdict::Extra => "reply not in the capture".to_string(),
                };
                record(opts, from, *local, &buf[..n], Direction::Inbound, comment);
            }
        }
    }
}

/// Requests sent in one system call at most.
const BATCH: usize = 64;

/// Sends every request of `batch` to `to`, in order, with sendmmsg(2); on failure, which
/// request failed and why.
fn send_all(
    sock: &UdpSocket,
    batch: &[super::plan::Request],
    to: &socket2::SockAddr,
) -> Result<(), (usize, io::Error)> {
    use std::os::fd::AsRawFd;
    let mut iovs: Vec<libc::iovec> = batch
        .iter()
        .map(|r| libc::iovec {
            iov_base: r.data.as_ptr() as *mut libc::c_void,
            iov_len: r.data.len(),
        })
        .collect();
    let mut headers: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .map(|iov| crate::net::send_entry(to, iov))
        .collect();
    let mut done = 0;
    while done < headers.len() {
        let left = &mut headers[done..];
        // SAFETY: the headers point at `to`, the iovecs and the requests' bytes, all alive
        // for the call; the kernel reads at most `left.len()` of them.
        let n = unsafe { libc::sendmmsg(sock.as_raw_fd(), left.as_mut_ptr(), left.len() as _, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err((done, e));
        }
        if n == 0 {
            return Err((
                done,
                io::Error::new(io::ErrorKind::WriteZero, "sent nothing"),
            ));
        }
        done += n as usize;
    }
    Ok(())
}

/// Indices of the sockets with a datagram waiting, after at most `timeout`.
fn wait(socks: &[(UdpSocket, SocketAddr)], timeout: Duration) -> Vec<usize> {
    let mut fds: Vec<PollFd> = socks
        .iter()
        .map(|(s, _)| PollFd::new(s.as_fd(), PollFlags::POLLIN))
        .collect();
    let _ = ppoll(&mut fds, Some(TimeSpec::from_duration(timeout)), None);
    fds.iter()
        .enumerate()
        .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
        .map(|(i, _)| i)
        .collect()
}

/// Records a leg, unless a socket of this process (the server, in a script) records it.
fn record(
    opts: &Options,
    src: SocketAddr,
    dst: SocketAddr,
    payload: &[u8],
    direction: Direction,
    comment: impl FnOnce() -> String,
) {
    // Nothing is formatted unless it is recorded: `speed max` sends at the kernel's pace.
    let Some(rec) = &opts.recording else { return };
    if direction == Direction::Inbound && rec.local.as_ref().is_some_and(|l| l.is_local(src)) {
        return;
    }
    let comment = rec.recorder.keeps_comments().then(comment);
    let _ = rec.recorder.record(&Packet {
        src,
        dst,
        payload,
        len: payload.len(),
        direction,
        comment: comment.as_deref(),
        timestamp: SystemTime::now(),
        ttl: Packet::DEFAULT_TTL,
        tos: 0,
    });
}
