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
    let times = plan.send_times(opts.speed);
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
        while next < times.len() && times[next] <= start.elapsed() {
            let request = &plan.requests[next];
            let (sock, local) = &socks[client_index[next]];
            sock.send_to(&request.data, opts.to).map_err(|e| {
                Failure::Network(format!(
                    "cannot send frame {} to {}: {e}",
                    request.frame, opts.to
                ))
            })?;
            record(
                opts,
                *local,
                opts.to,
                &request.data,
                Direction::Outbound,
                format!("replay of frame {}", request.frame),
            );
            checker.sent(client_index[next], request);
            last_send = Instant::now();
            next += 1;
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
                let comment = match checker.reply(i, &buf[..n]) {
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
    comment: String,
) {
    let Some(rec) = &opts.recording else { return };
    if direction == Direction::Inbound && rec.local.as_ref().is_some_and(|l| l.is_local(src)) {
        return;
    }
    let _ = rec.recorder.record(&Packet {
        src,
        dst,
        payload,
        len: payload.len(),
        direction,
        comment: rec.recorder.keeps_comments().then_some(comment.as_str()),
        timestamp: SystemTime::now(),
    });
}
