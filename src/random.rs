//! Every random draw of a run — `random_bytes`, `random_int`, the modules' ids, tokens,
//! transaction ids and branches, the seeds of proxies (and fuzzers) not given one — comes
//! from here: from the OS, or after `--seed N` from a ChaCha stream per script, so a run
//! repeats draw for draw. No Rhai here.
//!
//! Each script draws from its own stream (keyed by its file name), so what one script draws
//! does not depend on which others ran before it or beside it (`-j`), and a script run alone
//! with the same seed draws what it drew in the whole run.

use std::sync::{Mutex, OnceLock};

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

static RUN_SEED: OnceLock<u64> = OnceLock::new();

/// `--seed N`: from now on every [`Random`] made is seeded. Set once, before scripts start;
/// false when a seed was set already.
pub fn set_run_seed(seed: u64) -> bool {
    RUN_SEED.set(seed).is_ok()
}

/// The `--seed` of this run, if one was given.
pub fn run_seed() -> Option<u64> {
    RUN_SEED.get().copied()
}

/// The run-wide stream, for code that runs outside any script (a command's own engine).
pub fn global() -> &'static Random {
    static GLOBAL: OnceLock<Random> = OnceLock::new();
    GLOBAL.get_or_init(|| Random::for_stream("udpsh"))
}

/// A source of random values: the OS's, or a seeded stream.
pub struct Random(Option<Mutex<ChaCha8Rng>>);

impl Random {
    /// The stream `name` of this run: seeded by `--seed` when one was given, else the OS.
    pub fn for_stream(name: &str) -> Random {
        match run_seed() {
            Some(seed) => Random::seeded(seed, name),
            None => Random::os(),
        }
    }

    /// Stream `name` of `seed`: the same seed and name give the same draws.
    pub fn seeded(seed: u64, name: &str) -> Random {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(fnv1a(name.as_bytes()));
        Random(Some(Mutex::new(rng)))
    }

    pub fn os() -> Random {
        Random(None)
    }

    pub fn is_seeded(&self) -> bool {
        self.0.is_some()
    }

    pub fn fill(&self, buf: &mut [u8]) {
        match &self.0 {
            Some(rng) => rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .fill_bytes(buf),
            None => os_fill(buf),
        }
    }

    pub fn bytes(&self, n: usize) -> Vec<u8> {
        let mut b = vec![0; n];
        self.fill(&mut b);
        b
    }

    pub fn u64(&self) -> u64 {
        let mut b = [0; 8];
        self.fill(&mut b);
        u64::from_be_bytes(b)
    }

    /// Uniform in `lo..=hi` (no modulo bias); `None` when `lo > hi`.
    pub fn int_in(&self, lo: i64, hi: i64) -> Option<i64> {
        if lo > hi {
            return None;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.u64());
        Some(rng.random_range(lo..=hi))
    }

    /// A seed for an engine of its own (a proxy's, a fuzzer's) that was not given one: short,
    /// so that a printed seed is easy to pass back.
    pub fn seed(&self) -> u64 {
        self.u64() % 1_000_000
    }
}

/// The OS's random bytes (getrandom); should the OS refuse, std's per-process random hash
/// keys mixed with a counter and the clock, which still never repeat within a run.
fn os_fill(buf: &mut [u8]) {
    if getrandom::fill(buf).is_ok() {
        return;
    }
    for chunk in buf.chunks_mut(8) {
        let v = fallback_u64().to_be_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

fn fallback_u64() -> u64 {
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

/// FNV-1a: a stream number from a name that stays the same across builds and platforms.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_stream_repeats_and_streams_differ() {
        let a = Random::seeded(7, "a.rhai");
        let again = Random::seeded(7, "a.rhai");
        let b = Random::seeded(7, "b.rhai");
        let first: Vec<u64> = (0..4).map(|_| a.u64()).collect();
        assert_eq!(first, (0..4).map(|_| again.u64()).collect::<Vec<_>>());
        assert_ne!(first, (0..4).map(|_| b.u64()).collect::<Vec<_>>());
        assert_ne!(
            Random::seeded(8, "a.rhai").u64(),
            Random::seeded(7, "a.rhai").u64()
        );
    }

    #[test]
    fn int_in_stays_in_bounds_and_reaches_both_ends() {
        let r = Random::seeded(1, "x");
        let draws: Vec<i64> = (0..200).map(|_| r.int_in(-2, 2).unwrap()).collect();
        assert!(draws.iter().all(|v| (-2..=2).contains(v)));
        assert!(draws.contains(&-2) && draws.contains(&2));
        assert_eq!(r.int_in(5, 5), Some(5));
        assert_eq!(r.int_in(3, 2), None);
        assert!(r.int_in(i64::MIN, i64::MAX).is_some());
    }

    #[test]
    fn the_os_source_gives_different_bytes() {
        let r = Random::os();
        assert!(!r.is_seeded());
        assert_ne!(r.bytes(16), r.bytes(16));
        assert_eq!(r.bytes(0), Vec::<u8>::new());
    }
}
