//! Wire formats of the built-in modules (`udpsh/dns`, `udpsh/ntp`, ...): parse and emit to
//! plain structs, with the real daemons' bytes as tests. No Rhai here.

pub mod coap;
pub mod crypto;
pub mod dns;
pub mod ntp;
pub mod radius;
mod radius_dict;
pub mod sip;
pub mod snmp;
pub mod stun;
pub mod syslog;
pub mod tftp;

/// A fresh 64-bit random value (ids, tokens, transaction ids) for code that has no script's
/// own stream at hand: the run-wide one, seeded by `--seed`.
pub fn random_u64() -> u64 {
    crate::random::global().u64()
}

#[cfg(test)]
mod garbage_tests;
