//! Waiting on several sockets at once (`select`, `recv_any`): `poll(2)` in slices, so a stop
//! is seen, and an error queued by ICMP counts as ready (the receive then reports it).

use std::time::{Duration, Instant};

use super::{NetError, NetResult, UdpSock};
use crate::stop::{SLICE, Stop};

/// The indexes of the sockets that have a datagram (or an error) waiting, as soon as one
/// has; empty when `timeout` passes first (`None` waits without end). Closed sockets are
/// never ready.
pub fn ready(socks: &[&UdpSock], timeout: Option<Duration>, stop: &Stop) -> NetResult<Vec<usize>> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    loop {
        let open: Vec<usize> = (0..socks.len())
            .filter(|&i| !socks[i].is_closed())
            .collect();
        let pending: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| socks[i].has_queued_error())
            .collect();
        if !pending.is_empty() {
            return Ok(pending);
        }
        let left = deadline.map_or(SLICE, |d| d.saturating_duration_since(Instant::now()));
        let fds: Vec<_> = open.iter().map(|&i| socks[i].raw_fd()).collect();
        let seen = super::sys::poll(&fds, left.min(SLICE))
            .map_err(|e| NetError::io("cannot wait on the sockets", e))?;
        let hits: Vec<usize> = open
            .iter()
            .zip(seen)
            .filter(|(_, r)| r.readable || r.error)
            .map(|(&i, _)| i)
            .collect();
        if !hits.is_empty() {
            return Ok(hits);
        }
        if let Some(reason) = stop.check() {
            return Err(NetError::Stopped(reason));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Vec::new());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_socket_with_a_datagram() {
        let a = UdpSock::bound("127.0.0.1:0".parse().unwrap()).unwrap();
        let b = UdpSock::bound("127.0.0.1:0".parse().unwrap()).unwrap();
        let stop = Stop::default();
        let none = ready(&[&a, &b], Some(Duration::from_millis(30)), &stop).unwrap();
        assert!(none.is_empty());
        let tx = UdpSock::unbound().unwrap();
        tx.send_to(b"x", &b.local_addr().unwrap().into()).unwrap();
        let hit = ready(&[&a, &b], Some(Duration::from_secs(2)), &stop).unwrap();
        assert_eq!(hit, vec![1]);
    }

    #[test]
    fn an_icmp_error_makes_a_socket_ready() {
        let gone = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let a = UdpSock::unbound().unwrap();
        a.send_to(b"x", &gone.into()).unwrap();
        let hit = ready(&[&a], Some(Duration::from_secs(2)), &Stop::default()).unwrap();
        assert_eq!(hit, vec![0]);
    }
}
