//! Structure-aware mutation for the protocols udpsh knows: each walks a message as far as it
//! reads cleanly and changes what parsers trip on. A message that does not read as the
//! protocol at all is left to the byte mutators.

pub mod coap;
pub mod dns;
pub mod stun;

use rand_chacha::ChaCha8Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Dns,
    Coap,
    Stun,
}

impl Protocol {
    pub const NAMES: &'static str = "dns, coap, stun";

    pub fn parse(name: &str) -> Result<Protocol, String> {
        match name.to_ascii_lowercase().as_str() {
            "dns" => Ok(Protocol::Dns),
            "coap" => Ok(Protocol::Coap),
            "stun" => Ok(Protocol::Stun),
            _ => Err(format!(
                "'{name}' is not a protocol fuzz knows ({})",
                Protocol::NAMES
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Dns => "dns",
            Protocol::Coap => "coap",
            Protocol::Stun => "stun",
        }
    }

    /// One structural change; false when `data` does not read as this protocol.
    pub fn mutate(self, rng: &mut ChaCha8Rng, data: &mut Vec<u8>, max_len: usize) -> bool {
        match self {
            Protocol::Dns => dns::mutate(rng, data, max_len),
            Protocol::Coap => coap::mutate(rng, data, max_len),
            Protocol::Stun => stun::mutate(rng, data, max_len),
        }
    }

    /// Seeds when none are given: an ordinary request that any server of the protocol answers.
    pub fn default_seeds(self) -> Vec<Vec<u8>> {
        match self {
            Protocol::Dns => ["A", "AAAA", "MX", "TXT"]
                .iter()
                .filter_map(|t| crate::protocols::dns::query(0x5a5a, "example.test", t, None).ok())
                .collect(),
            Protocol::Coap => ["/.well-known/core", "/"]
                .iter()
                .filter_map(|p| {
                    crate::protocols::coap::request("GET", p, 0x5a5a, &[1, 2], b"").ok()
                })
                .collect(),
            Protocol::Stun => vec![crate::protocols::stun::binding(*b"udpsh-fuzz-1")],
        }
    }
}

/// The big-endian u16 at `at` (0 past the end).
pub(crate) fn u16_at(m: &[u8], at: usize) -> u16 {
    let b = |i: usize| m.get(i).copied().unwrap_or(0);
    u16::from_be_bytes([b(at), b(at + 1)])
}

/// Writes a big-endian u16 at `at` where it fits.
pub(crate) fn put_u16(m: &mut [u8], at: usize, v: u16) {
    for (i, b) in v.to_be_bytes().into_iter().enumerate() {
        if let Some(slot) = m.get_mut(at + i) {
            *slot = b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_seeds() {
        assert_eq!(Protocol::parse("DNS"), Ok(Protocol::Dns));
        assert!(
            Protocol::parse("ntp")
                .unwrap_err()
                .contains("dns, coap, stun")
        );
        for p in [Protocol::Dns, Protocol::Coap, Protocol::Stun] {
            let seeds = p.default_seeds();
            assert!(!seeds.is_empty(), "{p:?}");
        }
        assert!(dns::map(&Protocol::Dns.default_seeds()[0]).is_some());
    }
}
