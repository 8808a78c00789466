//! `udpsh replay --speed max` of a capture of 200,000 datagrams against a native send loop of
//! as many, both timed on arrival at one reading receiver (interleaved).

use std::time::Duration;

use super::{LIMIT, rotated};
use crate::child;
use crate::native::{self, Arrivals};
use crate::options::Config;
use crate::statistics::Results;

pub fn round(cfg: &Config, r: &mut Results, round: usize) -> Result<(), String> {
    let n = cfg.sends;
    let capture = cfg.tmp.join("replay.pcap");
    if !capture.is_file() {
        native::write_capture(&capture, n, 9).map_err(|e| e.to_string())?;
    }
    let runs: Vec<(&'static str, &str)> = vec![
        ("replay.udpsh", "udpsh replay --speed max"),
        ("replay.native", "native send_to loop (to a reader)"),
    ];
    for (key, label) in rotated(runs, round) {
        let arrivals = Arrivals::start(n, Duration::from_secs(3)).map_err(|e| e.to_string())?;
        let to = arrivals.addr.to_string();
        let mut cmd = if key == "replay.udpsh" {
            let mut c = cfg.udpsh();
            c.arg("replay")
                .arg(&capture)
                .args(["--to", &to, "--speed", "max"]);
            c
        } else {
            let mut c = cfg.me();
            c.arg("native-send").arg(&to).arg(n.to_string());
            c
        };
        let out = child::run(&mut cmd, LIMIT);
        let (count, rate) = arrivals.finish();
        let out = out?.ok()?;
        if count < n * 9 / 10 {
            r.note(format!("{label}: only {count} of {n} arrived"));
        }
        if rate > 0.0 {
            // As the time n datagrams take at the rate seen on arrival.
            r.add(key, label, n, n as f64 / rate, out.cpu.as_secs_f64());
        }
    }
    Ok(())
}
