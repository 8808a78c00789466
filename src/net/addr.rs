//! Addresses from a script's text: `"host:port"`, `"[v6]:port"`, `":port"`, a bare port,
//! Python's `""` and `"<broadcast>"`. Names are looked up on a helper thread, waited for in
//! slices, so `--timeout` and Ctrl-C end a lookup that gets no answer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::mpsc;

use super::{ErrorKind, NetError, NetResult};
use crate::stop::{SLICE, Stop};

/// Checks a port number from a script.
pub fn port(port: i64) -> NetResult<u16> {
    u16::try_from(port).map_err(|_| {
        NetError::new(
            ErrorKind::Address,
            format!("port {port} is out of range (0 to 65535)"),
        )
    })
}

/// Host and port to an address, preferring the given family for `""`, `localhost` and names
/// that have both. A name lookup cannot be stopped (see [`resolve_stoppable`]).
pub fn resolve(host: &str, port_number: i64, ipv6: bool) -> NetResult<SocketAddr> {
    resolve_stoppable(host, port_number, ipv6, &Stop::default())
}

/// As [`resolve`]; a name lookup gives up when `stop` says so.
pub fn resolve_stoppable(
    host: &str,
    port_number: i64,
    ipv6: bool,
    stop: &Stop,
) -> NetResult<SocketAddr> {
    let port = port(port_number)?;
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = match host {
        "" => {
            if ipv6 {
                Ipv6Addr::UNSPECIFIED.into()
            } else {
                Ipv4Addr::UNSPECIFIED.into()
            }
        }
        "localhost" => {
            if ipv6 {
                Ipv6Addr::LOCALHOST.into()
            } else {
                Ipv4Addr::LOCALHOST.into()
            }
        }
        "<broadcast>" => Ipv4Addr::BROADCAST.into(),
        _ => match host.parse::<IpAddr>() {
            Ok(ip) => ip,
            // A malformed number is a typo, not a name to ask DNS about.
            Err(_) if host.chars().all(|c| c.is_ascii_digit() || c == '.') => {
                return Err(NetError::new(
                    ErrorKind::Address,
                    format!("'{host}' is not a valid IPv4 address"),
                ));
            }
            Err(_) => lookup(host, port, ipv6, stop)?,
        },
    };
    Ok(SocketAddr::new(ip, port))
}

/// Parses `"host:port"`, `"[v6]:port"`, `":port"` or a bare port.
pub fn parse_addr(text: &str, ipv6: bool) -> NetResult<SocketAddr> {
    parse_addr_stoppable(text, ipv6, &Stop::default())
}

/// As [`parse_addr`]; a name lookup gives up when `stop` says so.
pub fn parse_addr_stoppable(text: &str, ipv6: bool, stop: &Stop) -> NetResult<SocketAddr> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bad = || {
        NetError::new(
            ErrorKind::Address,
            format!("bad address '{text}': expected \"host:port\", e.g. \"127.0.0.1:8888\""),
        )
    };
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, port),
        None => ("", text),
    };
    if host.contains(':') && !host.starts_with('[') {
        return Err(bad());
    }
    let port: i64 = port.trim().parse().map_err(|_| bad())?;
    resolve_stoppable(host, port, ipv6, stop)
}

/// Asks the system resolver on a thread of its own: the answer may take many seconds (or
/// never come), and the caller must stay stoppable meanwhile. A lookup given up on finishes
/// in the background and its answer is dropped.
fn lookup(host: &str, port: u16, ipv6: bool, stop: &Stop) -> NetResult<IpAddr> {
    lookup_with(host, port, ipv6, stop, system_lookup)
}

type Resolver = fn(&str, u16) -> std::io::Result<Vec<SocketAddr>>;

fn system_lookup(name: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    (name, port).to_socket_addrs().map(|a| a.collect())
}

fn lookup_with(
    host: &str,
    port: u16,
    ipv6: bool,
    stop: &Stop,
    resolver: Resolver,
) -> NetResult<IpAddr> {
    let (tx, rx) = mpsc::channel();
    let name = host.to_string();
    crate::threads::start("resolve", None, move || {
        let _ = tx.send(resolver(&name, port));
    })
    .map_err(|e| {
        NetError::new(
            ErrorKind::Thread,
            format!("cannot resolve host '{host}': {e}"),
        )
    })?;
    let addrs = loop {
        match rx.recv_timeout(SLICE) {
            Ok(answer) => break answer,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(NetError::new(
                    ErrorKind::Address,
                    format!("cannot resolve host '{host}': the lookup failed"),
                ));
            }
        }
        if let Some(reason) = stop.check() {
            return Err(NetError::Stopped(reason));
        }
    };
    let addrs = addrs.map_err(|e| {
        NetError::new(
            ErrorKind::Address,
            format!("cannot resolve host '{host}': {e}"),
        )
    })?;
    addrs
        .iter()
        .find(|a| a.is_ipv6() == ipv6)
        .or(addrs.first())
        .map(|a| a.ip())
        .ok_or_else(|| NetError::new(ErrorKind::Address, format!("host '{host}' has no address")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn parses_addresses_like_python() {
        assert_eq!(
            parse_addr("127.0.0.1:8888", false).unwrap(),
            "127.0.0.1:8888".parse().unwrap()
        );
        assert_eq!(
            parse_addr(":7788", false).unwrap(),
            "0.0.0.0:7788".parse().unwrap()
        );
        assert_eq!(
            parse_addr("localhost:1", true).unwrap(),
            "[::1]:1".parse().unwrap()
        );
        assert_eq!(
            parse_addr("<broadcast>:7788", false).unwrap().ip(),
            Ipv4Addr::BROADCAST
        );
        assert!(parse_addr("127.0.0.1:70000", false).is_err());
        assert!(parse_addr("nonsense", false).is_err());
        assert!(parse_addr("1.2.3:9", false).is_err());
    }

    fn never_answers(_: &str, _: u16) -> std::io::Result<Vec<SocketAddr>> {
        std::thread::sleep(Duration::from_secs(30));
        Ok(Vec::new())
    }

    fn both_families(_: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(vec![
            SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        ])
    }

    #[test]
    fn a_stop_ends_a_lookup_that_gets_no_answer() {
        let stop = Stop::new(Some(Duration::from_millis(120)));
        let started = Instant::now();
        let got = lookup_with("slow.test", 9, false, &stop, never_answers);
        let waited = started.elapsed();
        assert!(matches!(got, Err(NetError::Stopped(_))), "{got:?}");
        assert!(waited < Duration::from_millis(400), "{waited:?}");
    }

    #[test]
    fn a_lookup_prefers_the_family_asked_for() {
        let stop = Stop::default();
        let v4 = lookup_with("both.test", 9, false, &stop, both_families).unwrap();
        let v6 = lookup_with("both.test", 9, true, &stop, both_families).unwrap();
        assert_eq!((v4.is_ipv4(), v6.is_ipv6()), (true, true));
    }
}
