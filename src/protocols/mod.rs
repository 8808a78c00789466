//! Wire formats of the built-in modules (`udpsh/dns`, `udpsh/ntp`, ...): parse and emit to
//! plain structs, with the real daemons' bytes as tests. No Rhai here.

pub mod coap;
pub mod dns;
pub mod ntp;
pub mod stun;
pub mod tftp;

/// A fresh 64-bit random value (ids, tokens, transaction ids) without a seeded RNG:
/// std's per-process random hash keys mixed with a counter and the clock.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}
