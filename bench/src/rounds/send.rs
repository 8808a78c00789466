//! The send loops: udpsh (bare, and recording to pcap and pcapng), native Rust (bare, and with
//! one write(2) per record: the floor of any capture) and Python, all to the one full sink.

use std::net::SocketAddr;
use std::process::Command;

use super::{LIMIT, rotated};
use crate::child;
use crate::options::Config;
use crate::statistics::Results;

pub fn round(cfg: &Config, r: &mut Results, round: usize, to: SocketAddr) -> Result<(), String> {
    let n = cfg.sends;
    let script = cfg.root.join("bench/send_loop.rhai");
    let udpsh = |pcap: Option<&str>| {
        let mut cmd = cfg.udpsh();
        cmd.arg("run");
        if let Some(name) = pcap {
            cmd.arg("--pcap").arg(cfg.tmp.join(name));
        }
        cmd.arg(&script)
            .arg("--var")
            .arg(format!("addr={to}"))
            .arg("--var")
            .arg(format!("n={n}"));
        cmd
    };
    let mut runs: Vec<(&'static str, &str, Command)> = vec![
        ("send.udpsh", "udpsh run send_loop.rhai", udpsh(None)),
        (
            "send.udpsh.pcap",
            "udpsh run --pcap x.pcap",
            udpsh(Some("send.pcap")),
        ),
        (
            "send.udpsh.pcapng",
            "udpsh run --pcap x.pcapng",
            udpsh(Some("send.pcapng")),
        ),
        ("send.native", "native Rust send_to loop", {
            let mut c = cfg.me();
            c.arg("native-send").arg(to.to_string()).arg(n.to_string());
            c
        }),
        ("send.native.rec", "native send_to + write(2) per record", {
            let mut c = cfg.me();
            c.arg("native-send-rec")
                .arg(to.to_string())
                .arg(n.to_string())
                .arg(cfg.tmp.join("native.pcap"));
            c
        }),
    ];
    if let Some(mut py) = cfg.python() {
        py.arg(cfg.root.join("bench/send_loop.py"))
            .arg(to.to_string())
            .arg(n.to_string());
        runs.push(("send.python", "Python socket loop", py));
    }
    for (key, label, mut cmd) in rotated(runs, round) {
        let out = child::run(&mut cmd, LIMIT)?.ok()?;
        r.add(key, label, n, out.value("seconds")?, out.cpu.as_secs_f64());
        for name in ["send.pcap", "send.pcapng", "native.pcap"] {
            let _ = std::fs::remove_file(cfg.tmp.join(name));
        }
    }
    Ok(())
}
