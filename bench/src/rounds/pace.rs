//! Paced blasts, timed on arrival by a reading receiver.

use std::time::Duration;

use super::LIMIT;
use crate::child;
use crate::options::Config;
use crate::statistics::{Ratio, Results, Target};

/// A paced blast of `pace_secs` at `rate`, its datagrams counted and timed on arrival by a
/// reading receiver; at rate 0, an unlimited blast of `sends` datagrams to that receiver: the
/// capacity a paced blast must stay under (delivering to a reader costs more than to a full
/// queue).
pub fn run(cfg: &Config, r: &mut Results, rate: u64) -> Result<(), String> {
    let n = if rate == 0 {
        eprintln!("unlimited blast to a reading receiver");
        cfg.sends
    } else {
        eprintln!("paced blast at {rate}/s for {} s", cfg.pace_secs);
        (rate as f64 * cfg.pace_secs).round() as u64
    };
    let what = if rate == 0 {
        format!("unlimited blast of {n} to a reading receiver")
    } else {
        format!("paced blast {rate}/s × {} s", cfg.pace_secs)
    };
    let arrivals =
        crate::native::Arrivals::start(n, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    let to = arrivals.addr;
    let mut cmd = cfg.udpsh();
    cmd.arg("run")
        .arg(cfg.root.join("bench/blast.rhai"))
        .arg("--var")
        .arg(format!("addr={to}"))
        .arg("--var")
        .arg(format!("n={n}"))
        .arg("--var")
        .arg(format!("rate={rate}"));
    let out = child::run(&mut cmd, LIMIT)?.ok();
    let (got, arrived) = arrivals.finish();
    let out = out?;
    let own = out.value("rate")?;
    r.once
        .push((format!("{what}: its own rate"), own, "/s", String::new()));
    r.once.push((
        format!("{what}: rate on arrival"),
        arrived,
        "/s",
        format!("{got} of {n} arrived"),
    ));
    if rate == 0 {
        return Ok(());
    }
    r.ratios.push(Ratio {
        name: format!(
            "pacing error at {rate}/s over {} s (on arrival)",
            cfg.pace_secs
        ),
        value: Some(arrived / rate as f64 - 1.0),
        target: Some(Target::Within(0.02)),
        calls: None,
    });
    Ok(())
}
