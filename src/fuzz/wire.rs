//! The fuzzer's two sockets, both connected to the target (so an ICMP port unreachable comes
//! back as a refusal at once): one sends the cases, many per `sendmmsg(2)`, and reads the
//! replies without waiting for them; the other asks the probe and waits for its answer, which
//! comes after the target has handled every case sent before it.
//!
//! Every datagram the fuzzer sends or receives passes here, and is told of to one [`Tap`]
//! (sampled, as `load` does): the seam to the run's capture.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::capture::{Direction, Packet, Recorder};

/// Told of the datagrams that go by (those the sampling picks).
pub trait Tap: Send + Sync {
    fn datagram(&self, direction: Direction, local: SocketAddr, remote: SocketAddr, data: &[u8]);
}

/// A capture file as a tap: each datagram one packet, with a comment saying what it was.
pub struct CaptureTap {
    pub recorder: Recorder,
    pub comment: String,
}

impl Tap for CaptureTap {
    fn datagram(&self, direction: Direction, local: SocketAddr, remote: SocketAddr, data: &[u8]) {
        let (src, dst) = match direction {
            Direction::Outbound => (local, remote),
            Direction::Inbound => (remote, local),
        };
        let _ = self.recorder.record(&Packet {
            src,
            dst,
            payload: data,
            len: data.len(),
            direction,
            comment: Some(self.comment.as_str()).filter(|_| self.recorder.keeps_comments()),
            timestamp: SystemTime::now(),
            ttl: Packet::DEFAULT_TTL,
            tos: 0,
        });
    }
}

/// Where datagrams are told of, and how many: one in `sample` of each direction (`0`: none).
#[derive(Clone)]
pub struct Recording {
    pub tap: Arc<dyn Tap>,
    pub sample: u64,
}

/// Why a send or receive failed.
#[derive(Debug)]
pub enum Fault {
    /// ICMP port unreachable: nothing is bound at the target any more.
    Refused,
    Io(io::Error),
}

impl From<io::Error> for Fault {
    fn from(e: io::Error) -> Fault {
        match e.raw_os_error() {
            Some(libc::ECONNREFUSED) => Fault::Refused,
            _ => Fault::Io(e),
        }
    }
}

/// Replies read per `recvmmsg` call, and the bytes kept of each (a reply is counted, and
/// recorded up to this length).
const READ_BATCH: usize = 32;
const READ_LEN: usize = 2048;
/// How often a wait for an answer looks at the caller's `give_up`.
const SLICE: Duration = Duration::from_millis(10);

pub struct Wire {
    target: SocketAddr,
    cases: UdpSocket,
    probe: UdpSocket,
    recording: Option<Recording>,
    sent: u64,
    read: u64,
    asked: u64,
    rx: Vec<[u8; READ_LEN]>,
}

impl Wire {
    pub fn open(target: SocketAddr, recording: Option<Recording>) -> io::Result<Wire> {
        let (cases, probe) = sockets(target)?;
        Ok(Wire {
            target,
            cases,
            probe,
            recording: recording.filter(|r| r.sample > 0),
            sent: 0,
            read: 0,
            asked: 0,
            rx: vec![[0u8; READ_LEN]; READ_BATCH],
        })
    }

    /// Fresh sockets: after a restart, nothing left over from the old run (a late reply, a
    /// refusal) is read as news.
    pub fn reopen(&mut self) -> io::Result<()> {
        (self.cases, self.probe) = sockets(self.target)?;
        Ok(())
    }

    /// Probes sent so far.
    pub fn asked(&self) -> u64 {
        self.asked
    }

    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// Where the cases leave from.
    pub fn local(&self) -> SocketAddr {
        self.cases
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Sends the cases in order, up to 64 per system call.
    pub fn send<B: AsRef<[u8]>>(&mut self, cases: &[B]) -> Result<(), Fault> {
        for chunk in cases.chunks(64) {
            let mut iovs: Vec<libc::iovec> = chunk
                .iter()
                .map(|c| libc::iovec {
                    iov_base: c.as_ref().as_ptr() as *mut libc::c_void,
                    iov_len: c.as_ref().len(),
                })
                .collect();
            let mut headers = headers(&mut iovs);
            let mut done = 0;
            while done < headers.len() {
                let rest = &mut headers[done..];
                // SAFETY: the headers point at `iovs` and at the cases, which outlive the call.
                let n = unsafe {
                    libc::sendmmsg(
                        self.cases.as_raw_fd(),
                        rest.as_mut_ptr(),
                        rest.len() as _,
                        0,
                    )
                };
                if n < 0 {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EINTR) => continue,
                        Some(libc::ENOBUFS | libc::EAGAIN) => {
                            std::thread::sleep(Duration::from_micros(100));
                            continue;
                        }
                        _ => return Err(e.into()),
                    }
                }
                for case in &chunk[done..done + n as usize] {
                    self.tell_sent(Direction::Outbound, case.as_ref());
                }
                done += n as usize;
            }
        }
        Ok(())
    }

    /// Reads the replies waiting at the case socket, without waiting; returns how many.
    pub fn drain(&mut self) -> Result<u64, Fault> {
        let mut total = 0;
        loop {
            let mut iovs: Vec<libc::iovec> = self
                .rx
                .iter_mut()
                .map(|b| libc::iovec {
                    iov_base: b.as_mut_ptr() as *mut libc::c_void,
                    iov_len: READ_LEN,
                })
                .collect();
            let mut headers = headers(&mut iovs);
            // SAFETY: the headers point at `self.rx`, which outlives the call.
            let n = unsafe {
                libc::recvmmsg(
                    self.cases.as_raw_fd(),
                    headers.as_mut_ptr(),
                    READ_BATCH as _,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                return match e.raw_os_error() {
                    Some(libc::EAGAIN) => Ok(total),
                    Some(libc::EINTR) => continue,
                    _ => Err(e.into()),
                };
            }
            for (i, h) in headers.iter().take(n as usize).enumerate() {
                let len = (h.msg_len as usize).min(READ_LEN);
                let reply = self.rx[i][..len].to_vec();
                self.tell_read(&reply);
            }
            total += n as u64;
            if (n as usize) < READ_BATCH {
                return Ok(total);
            }
        }
    }

    /// Sends the probe from the probe socket.
    pub fn ask(&mut self, probe: &[u8]) -> Result<(), Fault> {
        self.asked += 1;
        self.probe.send(probe)?;
        self.tell_sent(Direction::Outbound, probe);
        Ok(())
    }

    /// Waits up to `timeout` for one answer to a probe; `give_up` is asked every 10 ms (the
    /// process died: no answer will come). `Ok(false)`: none came.
    pub fn answer(
        &mut self,
        timeout: Duration,
        mut give_up: impl FnMut() -> bool,
    ) -> Result<bool, Fault> {
        let end = Instant::now() + timeout;
        let mut buf = [0u8; READ_LEN];
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            let mut fds = [libc::pollfd {
                fd: self.probe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let wait = left.min(SLICE).as_millis().max(1) as libc::c_int;
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(fds.as_mut_ptr(), 1, wait) };
            if ready > 0 {
                let n = self.probe.recv(&mut buf)?;
                let reply = buf[..n].to_vec();
                self.tell_read(&reply);
                return Ok(true);
            }
            if ready < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                return Err(io::Error::last_os_error().into());
            }
            if give_up() {
                return Ok(false);
            }
        }
    }

    fn tell_sent(&mut self, direction: Direction, data: &[u8]) {
        let n = self.sent;
        self.sent += 1;
        self.tell(n, direction, data);
    }

    fn tell_read(&mut self, data: &[u8]) {
        let n = self.read;
        self.read += 1;
        self.tell(n, Direction::Inbound, data);
    }

    fn tell(&self, n: u64, direction: Direction, data: &[u8]) {
        if let Some(r) = &self.recording
            && n.is_multiple_of(r.sample)
        {
            r.tap.datagram(direction, self.local(), self.target, data);
        }
    }
}

/// One `mmsghdr` per buffer, without an address (the sockets are connected); they point into
/// `iovs`, which must outlive their use.
fn headers(iovs: &mut [libc::iovec]) -> Vec<libc::mmsghdr> {
    iovs.iter_mut()
        .map(|iov| {
            // SAFETY: all-zero is a valid msghdr: no name, no control data, no flags.
            let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
            msg.msg_iov = iov;
            msg.msg_iovlen = 1;
            libc::mmsghdr {
                msg_hdr: msg,
                msg_len: 0,
            }
        })
        .collect()
}

fn sockets(target: SocketAddr) -> io::Result<(UdpSocket, UdpSocket)> {
    let any: SocketAddr = if target.is_ipv6() {
        "[::]:0".parse().expect("an address")
    } else {
        "0.0.0.0:0".parse().expect("an address")
    };
    let open = || -> io::Result<UdpSocket> {
        let s = UdpSocket::bind(any)?;
        s.connect(target)?;
        Ok(s)
    };
    Ok((open()?, open()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_in_order_reads_replies_and_sees_refusals() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut wire = Wire::open(server.local_addr().unwrap(), None).unwrap();
        let cases: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; usize::from(i) + 1]).collect();
        wire.send(&cases).unwrap();
        let mut buf = [0u8; 512];
        for i in 0..100u8 {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], &cases[usize::from(i)][..]);
            if i < 3 {
                server.send_to(b"ok", from).unwrap();
            }
        }
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(wire.drain().unwrap(), 3);
        wire.ask(b"ping").unwrap();
        let (_, from) = server.recv_from(&mut buf).unwrap();
        server.send_to(b"pong", from).unwrap();
        assert!(wire.answer(Duration::from_secs(2), || false).unwrap());
        assert!(!wire.answer(Duration::from_millis(30), || false).unwrap());
        drop(server);
        wire.ask(b"ping").unwrap();
        assert!(matches!(
            wire.answer(Duration::from_secs(2), || false),
            Err(Fault::Refused)
        ));
    }
}
