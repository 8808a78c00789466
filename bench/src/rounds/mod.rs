//! The schedule, as hyperfine's scheduler: round after round, every group runs its contenders
//! in an order that rotates with the round (so none always goes first, on a colder or a warmer
//! machine); then the paced blasts and the memory runs, once each. A group that fails leaves a
//! note and the others go on.

mod blast;
mod echo;
mod fuzz;
mod iperf;
mod load;
mod memory;
mod pace;
mod proxy;
mod replay;
mod send;
mod startup;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use crate::options::Config;
use crate::statistics::Results;

/// How long a child may run before it is killed (the memory runs have their own).
const LIMIT: Duration = Duration::from_secs(120);

/// Runs every group `cfg` asks for; returns the samples and when the timed part began.
pub fn run(cfg: &Config) -> (Results, Instant) {
    let mut r = Results::default();
    if cfg.python.is_none() {
        r.note("python3 not found: Python contenders skipped".into());
    }
    let iperf = cfg.wants("iperf") && which("iperf3");
    if cfg.wants("iperf") && !iperf {
        r.note("iperf3 not installed: its comparison skipped (apt-get install iperf3)".into());
    }
    // A sink that never reads: every contender's datagrams meet the same full queue.
    let sink = UdpSocket::bind("127.0.0.1:0").expect("sink socket");
    let to = sink.local_addr().expect("sink address");
    let started = Instant::now();
    for round in 0..cfg.rounds {
        eprintln!("round {}/{}", round + 1, cfg.rounds);
        let mut groups: Vec<&str> = vec![];
        for g in [
            "send", "blast", "echo", "startup", "proxy", "replay", "load", "fuzz",
        ] {
            if cfg.wants(g) {
                groups.push(g);
            }
        }
        if iperf {
            groups.push("iperf");
        }
        for g in groups {
            let result = match g {
                "send" => send::round(cfg, &mut r, round, to),
                "blast" => blast::round(cfg, &mut r, round, to),
                "echo" => echo::round(cfg, &mut r, round),
                "startup" => startup::round(cfg, &mut r),
                "proxy" => proxy::round(cfg, &mut r, round),
                "replay" => replay::round(cfg, &mut r, round),
                "load" => load::round(cfg, &mut r, round),
                "fuzz" => fuzz::round(cfg, &mut r, round),
                _ => iperf::round(cfg, &mut r),
            };
            if let Err(e) = result {
                r.note(format!("round {}, {g}: {e}", round + 1));
            }
        }
    }
    if cfg.wants("proxy")
        && let Err(e) = proxy::delay_accuracy(cfg, &mut r, 10_000)
    {
        r.note(format!("proxy delay: {e}"));
    }
    if cfg.wants("load") {
        load::once(cfg, &mut r);
    }
    if cfg.wants("fuzz")
        && let Err(e) = fuzz::time_to_bugs(cfg, &mut r)
    {
        r.note(format!("fuzz, time to bugs: {e}"));
    }
    if cfg.wants("instructions") {
        crate::instructions::count(cfg, &mut r, to);
    }
    if cfg.wants("pace") {
        for &rate in &cfg.rates {
            if let Err(e) = pace::run(cfg, &mut r, rate) {
                r.note(format!("pace {rate}/s: {e}"));
            }
        }
    }
    if cfg.wants("memory")
        && let Err(e) = memory::runs(cfg, &mut r)
    {
        r.note(format!("memory: {e}"));
    }
    drop(sink);
    (r, started)
}

pub fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Runs the contenders of one group in an order that rotates with the round.
fn rotated<T>(mut items: Vec<T>, round: usize) -> Vec<T> {
    let n = items.len().max(1);
    items.rotate_left(round % n);
    items
}

#[cfg(test)]
mod tests {
    use super::rotated;

    #[test]
    fn each_round_starts_with_the_next_contender() {
        let order = |round| rotated(vec!["a", "b", "c"], round);
        assert_eq!(order(0), ["a", "b", "c"]);
        assert_eq!(order(1), ["b", "c", "a"]);
        assert_eq!(order(4), ["b", "c", "a"]);
        assert!(rotated(Vec::<u8>::new(), 3).is_empty());
    }
}
