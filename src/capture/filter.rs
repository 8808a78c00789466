//! Which datagrams of a capture to keep: `dport=53`, `src=127.0.0.1:5000`, as `read_pcap`'s map
//! and `udpsh replay --filter` give them.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// Which datagrams to keep. `src`/`dst` match an IP, or an IP and port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub src: Option<Endpoint>,
    pub dst: Option<Endpoint>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// Either port.
    pub port: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Ip(IpAddr),
    Addr(SocketAddr),
}

impl Endpoint {
    /// `127.0.0.1`, `::1`, `127.0.0.1:53` or `[::1]:53`.
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let t = text.trim();
        if let Ok(a) = t.parse::<SocketAddr>() {
            return Ok(Endpoint::Addr(a));
        }
        let bare = t.trim_start_matches('[').trim_end_matches(']');
        bare.parse::<IpAddr>()
            .map(Endpoint::Ip)
            .map_err(|_| format!("'{text}' is not an IP address or ip:port"))
    }

    fn matches(&self, addr: SocketAddr) -> bool {
        match self {
            Endpoint::Ip(ip) => ip.to_canonical() == addr.ip().to_canonical(),
            Endpoint::Addr(a) => {
                a.port() == addr.port() && a.ip().to_canonical() == addr.ip().to_canonical()
            }
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Ip(ip) => write!(f, "{ip}"),
            Endpoint::Addr(a) => write!(f, "{a}"),
        }
    }
}

impl Filter {
    pub const KEYS: &'static str = "src, dst, sport, dport, port";

    /// `dport=53`, `src=127.0.0.1:5000,dport=53`: comma- or space-separated `key=value`
    /// (`and` between them is allowed), keys as in [`Filter::KEYS`].
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut filter = Filter::default();
        let words = text
            .split([',', ' '])
            .filter(|w| !w.is_empty() && *w != "and");
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| format!("'{word}' is not key=value (keys: {})", Filter::KEYS))?;
            filter.set(key.trim(), value.trim())?;
        }
        Ok(filter)
    }

    /// Sets one key from text.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let port = || {
            value
                .parse::<u16>()
                .map_err(|_| format!("{key}: '{value}' is not a port (0 to 65535)"))
        };
        match key {
            "src" => self.src = Some(Endpoint::parse(value).map_err(|e| format!("src: {e}"))?),
            "dst" => self.dst = Some(Endpoint::parse(value).map_err(|e| format!("dst: {e}"))?),
            "sport" => self.sport = Some(port()?),
            "dport" => self.dport = Some(port()?),
            "port" => self.port = Some(port()?),
            other => {
                return Err(format!("no filter key '{other}' (keys: {})", Filter::KEYS));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    pub fn matches(&self, src: SocketAddr, dst: SocketAddr) -> bool {
        self.src.is_none_or(|e| e.matches(src))
            && self.dst.is_none_or(|e| e.matches(dst))
            && self.sport.is_none_or(|p| p == src.port())
            && self.dport.is_none_or(|p| p == dst.port())
            && self.port.is_none_or(|p| p == src.port() || p == dst.port())
    }
}
