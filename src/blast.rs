//! The engine of `s.blast(...)`: one payload sent `count` times to one address from native
//! code, in batches of one `sendmmsg(2)` each, as fast as the kernel takes them or paced to a
//! rate. Knows nothing of Rhai: an [`Observer`] hears of every batch (to count, record and
//! show it) and is asked between batches and during waits whether to go on.
//!
//! Pacing follows an absolute schedule: datagram `i` is due at `start + i / rate`. A late
//! wake-up (timer slack, a busy CPU) is caught up by sending what is due at once, so the
//! long-run rate is exact whatever the sleep granularity; a blast of `count` datagrams at
//! `rate` ends at `start + count / rate`, when the last datagram's slot is over.

use std::io;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use socket2::SockAddr;

/// Datagrams per `sendmmsg` call by default.
pub const BATCH: usize = 64;
/// Most datagrams per call: the kernel's limit (`UIO_MAXIOV`).
pub const MAX_BATCH: usize = 1024;
/// The longest wait between two looks at the observer, so a stop is seen quickly.
const NAP: Duration = Duration::from_millis(50);

/// How fast to send.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// As fast as the kernel takes them.
    Unlimited,
    /// Datagrams per second (finite, above zero), spread evenly.
    Rate(f64),
}

impl Pace {
    /// A rate of payload bits per second (as `iperf3 -b` counts) for datagrams of `len`
    /// bytes; `None` for an empty payload, which carries no bits.
    pub fn from_bps(bps: f64, len: usize) -> Option<Pace> {
        (len > 0).then(|| Pace::Rate(bps / (8.0 * len as f64)))
    }
}

/// What a blast did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Datagrams the kernel took.
    pub sent: u64,
    /// Payload bytes in them.
    pub bytes: u64,
    /// From the first send to the last (paced: to the end of the last datagram's slot).
    pub elapsed: Duration,
    /// A send met the ICMP error of an earlier datagram (IP_RECVERR): the socket's next
    /// receive should report it.
    pub icmp_error: bool,
}

impl Report {
    /// Datagrams per second.
    pub fn rate(&self) -> f64 {
        per_second(self.sent as f64, self.elapsed)
    }

    /// Payload bits per second.
    pub fn bps(&self) -> f64 {
        per_second(self.bytes as f64 * 8.0, self.elapsed)
    }
}

fn per_second(amount: f64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { amount / secs } else { 0.0 }
}

/// Told of each batch, asked whether to go on.
pub trait Observer {
    type Error;

    /// Called just before each batch is handed to the kernel.
    fn before_send(&mut self) {}

    /// Datagrams `first .. first + n` (numbered from 0) have just been sent.
    fn sent(&mut self, first: u64, n: usize) -> Result<(), Self::Error>;

    /// Called after each batch and at least every 50 ms while waiting: an error ends the
    /// blast (a stop, Ctrl-C).
    fn check(&mut self) -> Result<(), Self::Error>;
}

/// Why a blast ended early; `sent` datagrams had left by then.
#[derive(Debug)]
pub enum Error<E> {
    Io { sent: u64, error: io::Error },
    Observer { sent: u64, error: E },
}

/// Sends `data` to `to` `count` times from the socket `fd`, `batch` datagrams per system call
/// (clamped to 1 ..= [`MAX_BATCH`]), at `pace`.
///
/// The caller checks the payload size and the pace (a positive, finite rate); the socket must
/// be blocking for sends (a full send buffer waits rather than failing).
pub fn blast<O: Observer>(
    fd: &impl AsRawFd,
    data: &[u8],
    to: &SockAddr,
    count: u64,
    pace: Pace,
    batch: usize,
    observer: &mut O,
) -> Result<Report, Error<O::Error>> {
    let mut sender = Batch::new(fd.as_raw_fd(), data, to, batch.clamp(1, MAX_BATCH));
    let start = Instant::now();
    let mut sent: u64 = 0;
    let fail = |sent, error| Error::Observer { sent, error };
    while sent < count {
        let left = count - sent;
        let want = match pace {
            Pace::Unlimited => left,
            Pace::Rate(rate) => {
                let now = Instant::now();
                // Datagrams due by now: number 0 at `start`, number i at i / rate.
                let due = ((now - start).as_secs_f64() * rate).floor() + 1.0;
                let due = if due >= count as f64 {
                    count
                } else {
                    due as u64
                };
                if due <= sent {
                    nap_until(start, sent as f64 / rate, now);
                    observer.check().map_err(|e| fail(sent, e))?;
                    continue;
                }
                due - sent
            }
        };
        observer.before_send();
        let n = sender
            .send(want.min(sender.capacity() as u64) as usize)
            .map_err(|error| Error::Io { sent, error })?;
        observer
            .sent(sent, n)
            .map_err(|e| fail(sent + n as u64, e))?;
        sent += n as u64;
        observer.check().map_err(|e| fail(sent, e))?;
    }
    if let Pace::Rate(rate) = pace {
        // The last datagram's slot ends at count / rate: then the next blast keeps the pace.
        let end = count as f64 / rate;
        loop {
            let now = Instant::now();
            if (now - start).as_secs_f64() >= end {
                break;
            }
            nap_until(start, end, now);
            observer.check().map_err(|e| fail(sent, e))?;
        }
    }
    Ok(Report {
        sent,
        bytes: sent.saturating_mul(data.len() as u64),
        elapsed: start.elapsed(),
        icmp_error: sender.icmp_error,
    })
}

/// Sleeps until `start + at` seconds, or [`NAP`] at most.
fn nap_until(start: Instant, at: f64, now: Instant) {
    let wait = crate::seconds::duration(at)
        .ok()
        .and_then(|at| start.checked_add(at))
        .map_or(NAP, |due| due.saturating_duration_since(now));
    std::thread::sleep(wait.min(NAP));
}

/// The `mmsghdr`s of one `sendmmsg` call, made once: every one points at the same payload
/// and address, which the kernel only reads.
struct Batch<'a> {
    fd: i32,
    headers: Vec<libc::mmsghdr>,
    icmp_error: bool,
    // The headers point into these two; boxed so that they never move.
    _iov: Box<libc::iovec>,
    _to: &'a SockAddr,
    _data: &'a [u8],
}

impl<'a> Batch<'a> {
    fn new(fd: i32, data: &'a [u8], to: &'a SockAddr, size: usize) -> Batch<'a> {
        let mut iov = Box::new(libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        });
        let iov_ptr: *mut libc::iovec = &mut *iov;
        let headers = (0..size)
            .map(|_| crate::net::send_entry(to, iov_ptr))
            .collect();
        Batch {
            fd,
            headers,
            icmp_error: false,
            _iov: iov,
            _to: to,
            _data: data,
        }
    }

    fn capacity(&self) -> usize {
        self.headers.len()
    }

    /// Sends up to `n` (≤ capacity) datagrams; returns how many the kernel took (≥ 1).
    fn send(&mut self, n: usize) -> io::Result<usize> {
        let n = n.min(self.headers.len());
        crate::net::sendmmsg(self.fd, &mut self.headers[..n], &mut self.icmp_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    struct Count(u64, u64);

    impl Observer for Count {
        type Error = ();
        fn sent(&mut self, first: u64, n: usize) -> Result<(), ()> {
            assert_eq!(first, self.0, "batches in order");
            self.0 += n as u64;
            Ok(())
        }
        fn check(&mut self) -> Result<(), ()> {
            self.1 += 1;
            Ok(())
        }
    }

    fn pair() -> (UdpSocket, UdpSocket, SockAddr) {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = SockAddr::from(rx.local_addr().unwrap());
        (tx, rx, to)
    }

    #[test]
    fn sends_exactly_count() {
        let (tx, rx, to) = pair();
        let mut seen = Count(0, 0);
        let report = blast(&tx, b"abc", &to, 150, Pace::Unlimited, 64, &mut seen).unwrap();
        assert_eq!(report.sent, 150);
        assert_eq!(report.bytes, 450);
        assert_eq!(seen.0, 150);
        rx.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 16];
        let mut got = 0;
        while let Ok(n) = rx.recv(&mut buf) {
            assert_eq!(&buf[..n], b"abc");
            got += 1;
        }
        assert_eq!(got, 150);
    }

    #[test]
    fn paced_blast_lasts_count_over_rate() {
        let (tx, _rx, to) = pair();
        let mut seen = Count(0, 0);
        let report = blast(&tx, b"x", &to, 50, Pace::Rate(1000.0), 64, &mut seen).unwrap();
        assert_eq!(report.sent, 50);
        // Never early: the schedule ends at 50 / 1000 s.
        assert!(report.elapsed >= Duration::from_millis(50));
    }

    #[test]
    fn observer_stops_it() {
        struct StopAt(u64);
        impl Observer for StopAt {
            type Error = &'static str;
            fn sent(&mut self, first: u64, n: usize) -> Result<(), &'static str> {
                self.0 = first + n as u64;
                Ok(())
            }
            fn check(&mut self) -> Result<(), &'static str> {
                if self.0 >= 10 { Err("stop") } else { Ok(()) }
            }
        }
        let (tx, _rx, to) = pair();
        let err = blast(&tx, b"x", &to, 1000, Pace::Unlimited, 4, &mut StopAt(0)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Observer {
                    sent: 12,
                    error: "stop"
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn bps_is_payload_bits() {
        assert_eq!(Pace::from_bps(8000.0, 100), Some(Pace::Rate(10.0)));
        assert_eq!(Pace::from_bps(8000.0, 0), None);
    }
}
