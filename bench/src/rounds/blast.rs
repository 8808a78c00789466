//! `s.blast` against a native sendmmsg loop of the same batch, to the one full sink.

use std::net::SocketAddr;

use super::{LIMIT, rotated};
use crate::child;
use crate::options::Config;
use crate::statistics::Results;

pub fn round(cfg: &Config, r: &mut Results, round: usize, to: SocketAddr) -> Result<(), String> {
    let n = cfg.sends;
    let mut udpsh = cfg.udpsh();
    udpsh
        .arg("run")
        .arg(cfg.root.join("bench/blast.rhai"))
        .arg("--var")
        .arg(format!("addr={to}"))
        .arg("--var")
        .arg(format!("n={n}"));
    let mut native = cfg.me();
    native
        .arg("native-mmsg")
        .arg(to.to_string())
        .arg(n.to_string())
        .arg("64");
    let runs = vec![
        ("blast.udpsh", "udpsh blast (sendmmsg ×64)", udpsh),
        ("blast.native", "native sendmmsg loop ×64", native),
    ];
    for (key, label, mut cmd) in rotated(runs, round) {
        let out = child::run(&mut cmd, LIMIT)?.ok()?;
        r.add(key, label, n, out.value("seconds")?, out.cpu.as_secs_f64());
    }
    Ok(())
}
