//! Peak memory (wait4's maxrss) of recording and printing runs of growing length.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::Duration;

use crate::child;
use crate::options::Config;
use crate::statistics::{Ratio, Results, Target};

/// Peak memory of recorded runs of growing length: flat means it does not grow with them.
pub fn runs(cfg: &Config, r: &mut Results) -> Result<(), String> {
    let sink = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let to = sink.local_addr().map_err(|e| e.to_string())?;
    let small = cfg.recorded / 10;
    let mut rss = BTreeMap::new();
    for (n, pcap) in [
        (small, Some("mem.pcapng")),
        (cfg.recorded, Some("mem.pcapng")),
        (cfg.recorded, Some("mem.pcap")),
        (cfg.recorded, None),
    ] {
        eprintln!(
            "memory: {n} datagrams{}",
            pcap.map_or(String::new(), |p| format!(" recorded to {p}"))
        );
        let mut cmd = cfg.udpsh();
        cmd.arg("run");
        if let Some(p) = pcap {
            cmd.arg("--pcap").arg(cfg.tmp.join(p));
        }
        cmd.arg(cfg.root.join("bench/send_loop.rhai"))
            .arg("--var")
            .arg(format!("addr={to}"))
            .arg("--var")
            .arg(format!("n={n}"));
        let out = child::run(&mut cmd, Duration::from_secs(600))?.ok()?;
        let size = pcap
            .and_then(|p| std::fs::metadata(cfg.tmp.join(p)).ok())
            .map_or(String::new(), |m| {
                format!("capture {:.0} MB", m.len() as f64 / 1e6)
            });
        if let Some(p) = pcap {
            let _ = std::fs::remove_file(cfg.tmp.join(p));
        }
        let what = format!(
            "peak RSS, {n} datagrams {}",
            pcap.map_or("not recorded".to_string(), |p| format!("recorded ({p})"))
        );
        r.once
            .push((what, out.maxrss_kib as f64 / 1024.0, "MiB", size));
        rss.insert((n, pcap), out.maxrss_kib as f64);
    }
    // A script that prints every datagram, as the echo server does, for as long.
    let mut printed = Vec::new();
    for n in [small, cfg.recorded] {
        eprintln!("memory: {n} lines printed");
        let mut cmd = cfg.udpsh();
        cmd.arg("run")
            .arg(cfg.root.join("bench/print_loop.rhai"))
            .arg("--var")
            .arg(format!("n={n}"));
        let out = child::start(&mut cmd, false, Duration::from_secs(600))?
            .finish()?
            .ok()?;
        r.once.push((
            format!("peak RSS, {n} lines printed (stdout to /dev/null)"),
            out.maxrss_kib as f64 / 1024.0,
            "MiB",
            String::new(),
        ));
        printed.push(out.maxrss_kib as f64);
    }
    r.ratios.push(Ratio {
        name: format!(
            "memory while printing: peak RSS {} / {} lines",
            cfg.recorded, small
        ),
        value: Some(printed[1] / printed[0]),
        target: Some(Target::AtMost(1.10)),
        calls: None,
    });
    let grow = rss[&(cfg.recorded, Some("mem.pcapng"))] / rss[&(small, Some("mem.pcapng"))];
    r.ratios.push(Ratio {
        name: format!(
            "memory while recording: peak RSS {} / {} datagrams",
            cfg.recorded, small
        ),
        value: Some(grow),
        target: Some(Target::AtMost(1.10)),
        calls: None,
    });
    Ok(())
}
