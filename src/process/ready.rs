//! Whether a UDP socket is bound at an address, from the kernel's tables `/proc/net/udp`
//! and `/proc/net/udp6` (of this network namespace): how `wait_udp` sees a daemon is up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::child::ProcessError;
use crate::kind::ErrorKind;
use crate::stop::Stop;

const TABLES: [&str; 2] = ["/proc/net/udp", "/proc/net/udp6"];
const POLL: Duration = Duration::from_millis(10);

/// What `wait_udp` waits for: a port, on an address or on any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub ip: Option<IpAddr>,
    pub port: u16,
}

impl Target {
    /// A socket bound at `bound` serves this target: same port, and the same address or an
    /// any-address (an IPv6 one serves IPv4 too, dual-stack).
    pub fn served_by(&self, bound: SocketAddr) -> bool {
        if bound.port() != self.port {
            return false;
        }
        let Some(want) = self.ip else { return true };
        let have = bound.ip().to_canonical();
        have == want.to_canonical()
            || match have {
                IpAddr::V4(v4) => v4.is_unspecified() && want.is_ipv4(),
                IpAddr::V6(v6) => v6.is_unspecified(),
            }
    }
}

/// The local addresses of a `/proc/net/udp{,6}` table.
pub fn bound_addresses(table: &str) -> Vec<SocketAddr> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| local_address(line.split_whitespace().nth(1)?))
        .collect()
}

/// `0100007F:0035` → 127.0.0.1:53 (each 32-bit word as the kernel printed it, host order).
fn local_address(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        let hex = ip.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(hex, 16).ok()?.to_ne_bytes())
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut octets = [0u8; 16];
            for i in 0..4 {
                octets[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// What the kernel holds for the sockets bound at a target (summed, e.g. over SO_REUSEPORT
/// sockets): bytes waiting to be read (`rx_queue`) and datagrams dropped because the receive
/// buffer was full (`drops`). How the fuzzer paces itself and counts what really arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Backlog {
    pub queued: u64,
    pub drops: u64,
}

/// The backlog of the sockets of `table` serving `target`; `None` when none does.
pub fn backlog_in(table: &str, target: Target) -> Option<Backlog> {
    let mut found = None;
    for line in table.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(local) = fields.get(1).and_then(|f| local_address(f)) else {
            continue;
        };
        if !target.served_by(local) {
            continue;
        }
        let queued = fields
            .get(4)
            .and_then(|f| f.split_once(':'))
            .and_then(|(_, rx)| u64::from_str_radix(rx, 16).ok())
            .unwrap_or(0);
        let drops = fields.get(12).and_then(|f| f.parse().ok()).unwrap_or(0);
        let sum: &mut Backlog = found.get_or_insert_with(Backlog::default);
        sum.queued += queued;
        sum.drops += drops;
    }
    found
}

/// The backlog at `target` in this network namespace, if a socket there serves it.
pub fn backlog(target: Target) -> Option<Backlog> {
    let table = if target.ip.is_some_and(|ip| ip.is_ipv6()) {
        TABLES[1]
    } else {
        TABLES[0]
    };
    backlog_in(&std::fs::read_to_string(table).ok()?, target)
}

pub fn is_bound(target: Target) -> bool {
    TABLES.iter().any(|t| {
        std::fs::read_to_string(t)
            .map(|table| {
                bound_addresses(&table)
                    .into_iter()
                    .any(|a| target.served_by(a))
            })
            .unwrap_or(false)
    })
}

/// Waits until something is bound at `target`, up to `timeout`, stoppably.
pub fn wait_bound(target: Target, timeout: Duration, stop: &Stop) -> Result<(), ProcessError> {
    if target.port == 0 {
        // A socket bound to port 0 gets another port: nothing is ever bound to 0.
        return Err(ProcessError::Failed {
            kind: ErrorKind::Value,
            message: "wait_udp: port 0 is never bound (binding to 0 picks another port): \
                      give the port the service listens on"
                .into(),
        });
    }
    let deadline = Instant::now().checked_add(timeout);
    loop {
        if is_bound(target) {
            return Ok(());
        }
        if let Some(reason) = stop.check() {
            return Err(ProcessError::Stopped(reason));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let at = match target.ip {
                Some(ip) => SocketAddr::new(ip, target.port).to_string(),
                None => format!("port {}", target.port),
            };
            return Err(ProcessError::Failed {
                kind: ErrorKind::Timeout,
                message: format!(
                    "nothing was bound to UDP {at} after {}s (see /proc/net/udp)",
                    timeout.as_secs_f64()
                ),
            });
        }
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_endian = "little")]
    #[test]
    fn reads_the_kernel_tables() {
        // Lines as Linux prints them (little-endian host).
        let v4 = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
          123: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0\n\
          124: 00000000:1F90 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 0\n";
        assert_eq!(
            bound_addresses(v4),
            vec![
                "127.0.0.1:53".parse::<SocketAddr>().unwrap(),
                "0.0.0.0:8080".parse().unwrap()
            ]
        );
        let v6 = "  sl  local_address                         remote_address                        st\n\
           1: 00000000000000000000000001000000:14E9 00000000000000000000000000000000:0000 07\n\
           2: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07\n";
        assert_eq!(
            bound_addresses(v6),
            vec![
                "[::1]:5353".parse::<SocketAddr>().unwrap(),
                "[::]:53".parse().unwrap()
            ]
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn reads_queues_and_drops() {
        let v4 = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
          123: 0100007F:0035 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 1 2 0000000000000000 7\n\
          124: 0100007F:0035 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 1 2 0000000000000000 1\n\
          125: 0100007F:0036 00000000:0000 07 00000000:00000100 00:00000000 00000000     0        0 1 2 0000000000000000 9\n";
        let target = Target {
            ip: Some("127.0.0.1".parse().unwrap()),
            port: 53,
        };
        assert_eq!(
            backlog_in(v4, target),
            Some(Backlog {
                queued: 0x440,
                drops: 8
            })
        );
        assert_eq!(backlog_in(v4, Target { ip: None, port: 1 }), None);
    }

    #[test]
    fn any_addresses_serve_specific_ones() {
        let t = |ip: &str, port| Target {
            ip: Some(ip.parse().unwrap()),
            port,
        };
        assert!(t("127.0.0.1", 53).served_by("0.0.0.0:53".parse().unwrap()));
        assert!(t("127.0.0.1", 53).served_by("[::]:53".parse().unwrap()));
        assert!(t("::1", 53).served_by("[::]:53".parse().unwrap()));
        assert!(!t("::1", 53).served_by("0.0.0.0:53".parse().unwrap()));
        assert!(!t("127.0.0.1", 53).served_by("127.0.0.2:53".parse().unwrap()));
        assert!(!t("127.0.0.1", 53).served_by("127.0.0.1:54".parse().unwrap()));
        assert!(Target { ip: None, port: 9 }.served_by("[::1]:9".parse().unwrap()));
    }

    #[test]
    fn sees_a_socket_of_this_process() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = s.local_addr().unwrap();
        let target = Target {
            ip: Some(at.ip()),
            port: at.port(),
        };
        wait_bound(target, Duration::from_secs(2), &Stop::default()).unwrap();
        drop(s);
        let err = wait_bound(target, Duration::from_millis(50), &Stop::default()).unwrap_err();
        assert!(err.to_string().contains("nothing was bound"), "{err}");
    }
}
