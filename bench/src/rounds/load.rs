//! `udpsh load`. In rounds: replies per second at saturation (an open loop asked for more than
//! the loopback can carry) against a batched echo server, udpsh and a native correlator in
//! turn. Once: the highest rate dnsmasq answers with < 1% loss, udpsh and dnsperf stepping up
//! together; the pacing at 100,000/s on arrival; the p50 against a server that answers 2 ms
//! after each request arrives; what a `request` or `check` closure costs per datagram; peak
//! memory of 10M requests against 1M.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{LIMIT, rotated, which};
use crate::child::{self, Running};
use crate::options::Config;
use crate::statistics::{Ratio, Results, Target};

/// Asked of both at saturation: far more than the loopback carries.
const SATURATE: &str = "1000000";
/// 8 bytes for the index udpsh (or the correlator) writes, then a word.
const PAYLOAD: &str = "0000000000000000 70696e67";

fn free_port() -> Result<u16, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(s.local_addr().map_err(|e| e.to_string())?.port())
}

/// A child of the driver echoing on a free port of 127.0.0.1 (`native-fast-echo`, …), once it
/// answers (a loaded machine may take a while to start it).
fn native_server(
    cfg: &Config,
    what: &str,
    extra: &[&str],
) -> Result<(Running, SocketAddr), String> {
    let port = free_port()?;
    let mut cmd = cfg.me();
    cmd.arg(what).arg(port.to_string()).args(extra);
    let server = child::start(&mut cmd, false, LIMIT)?;
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let probe = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    probe
        .set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    for _ in 0..200 {
        let _ = probe.send_to(b"probe", to);
        if probe.recv_from(&mut buf).is_ok() {
            return Ok((server, to));
        }
    }
    let _ = server.kill();
    Err(format!("{what} did not answer on {to} within 10 s"))
}

/// `udpsh load --to TO --json FILE ARGS...`, run to its end: the result.
fn udpsh_load(
    cfg: &Config,
    to: &str,
    args: &[&str],
) -> Result<(serde_json::Value, child::Outcome), String> {
    let json = cfg.tmp.join("load.json");
    let mut cmd = cfg.udpsh();
    cmd.args(["load", "--to", to, "--json"])
        .arg(&json)
        .args(args);
    let out = child::run(&mut cmd, LIMIT)?.ok()?;
    let text = std::fs::read_to_string(&json).map_err(|e| e.to_string())?;
    let value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    Ok((value, out))
}

fn num(v: &serde_json::Value, path: &str) -> Result<f64, String> {
    path.split('.')
        .fold(v, |v, k| &v[k])
        .as_f64()
        .ok_or_else(|| format!("no {path} in the result of udpsh load"))
}

/// One round at saturation: replies per second of each, as seconds per `sends` replies.
pub fn round(cfg: &Config, r: &mut Results, round: usize) -> Result<(), String> {
    let (echo, to) = native_server(cfg, "native-fast-echo", &[])?;
    let n = cfg.sends.to_string();
    let result = (|| -> Result<(), String> {
        for key in rotated(vec!["load.udpsh", "load.native"], round) {
            let (replies_per_sec, cpu) = if key == "load.udpsh" {
                let args = [
                    "--payload",
                    PAYLOAD,
                    "--pair",
                    "bytes:0-7",
                    "--rate",
                    SATURATE,
                    "--count",
                    &n,
                    "--clients",
                    "1",
                    "--timeout",
                    "200ms",
                ];
                let (v, out) = udpsh_load(cfg, &to.to_string(), &args)?;
                (num(&v, "throughput")?, out.cpu.as_secs_f64())
            } else {
                let mut cmd = cfg.me();
                cmd.args(["native-correlate", &to.to_string(), SATURATE, &n, "200"]);
                let out = child::run(&mut cmd, LIMIT)?.ok()?;
                (
                    out.value("received")? / out.value("seconds")?,
                    out.cpu.as_secs_f64(),
                )
            };
            let label = if key == "load.udpsh" {
                "udpsh load, replies at saturation"
            } else {
                "native open-loop correlator"
            };
            r.add(
                key,
                label,
                cfg.sends,
                cfg.sends as f64 / replies_per_sec.max(1.0),
                cpu,
            );
        }
        Ok(())
    })();
    let _ = echo.kill();
    result
}

/// Everything measured once.
pub fn once(cfg: &Config, r: &mut Results) {
    for (what, result) in [
        ("load vs dnsmasq", dnsmasq_rates(cfg, r)),
        ("load pacing", pacing(cfg, r)),
        ("load p50 vs 2 ms", known_delay(cfg, r)),
        ("load closures", closures(cfg, r)),
        ("load memory", memory(cfg, r)),
    ] {
        if let Err(e) = result {
            r.note(format!("{what}: {e}"));
        }
    }
}

/// Steps the rate up, udpsh and dnsperf in turn at each step against one dnsmasq, until both
/// fail twice running: the highest rate each sent in full (99% of it) with < 1% loss.
/// dnsperf's `-Q` is a ceiling (it holds back once `-q` queries are in flight), so a step
/// where it sent less than asked is no pass; it runs with `-q 100` (its default) and
/// `-q 1000`, and the better counts.
fn dnsmasq_rates(cfg: &Config, r: &mut Results) -> Result<(), String> {
    if !which("dnsmasq") {
        return Err("dnsmasq not installed (apt-get install dnsmasq-base)".into());
    }
    let dnsperf = which("dnsperf");
    if !dnsperf {
        r.note(
            "dnsperf not installed: udpsh against dnsmasq alone (apt-get install dnsperf)".into(),
        );
    }
    let port = free_port()?;
    let mut cmd = Command::new("dnsmasq");
    cmd.args([
        "-d",
        "-p",
        &port.to_string(),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
    ])
    .args([
        "--no-resolv",
        "--no-hosts",
        "--address=/example.test/10.1.2.3",
    ])
    .arg(format!(
        "--pid-file={}",
        cfg.tmp.join("dnsmasq.pid").display()
    ));
    let server = child::start(&mut cmd, false, Duration::from_secs(900))?;
    std::thread::sleep(Duration::from_millis(300));
    let queries = cfg.tmp.join("queries.txt");
    std::fs::write(&queries, "example.test A\n").map_err(|e| e.to_string())?;
    let to = format!("127.0.0.1:{port}");
    let secs: u64 = if cfg.rounds < 5 { 1 } else { 2 };
    let mut best = [0.0f64; 2];
    let mut failing = [0u32; 2];
    let steps = [
        10_000u64, 15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 50_000, 60_000, 80_000, 100_000,
    ];
    let result = (|| -> Result<(), String> {
        for rate in steps {
            eprintln!("load vs dnsmasq: {rate}/s");
            let rate_text = rate.to_string();
            if failing[0] < 2 {
                let duration = format!("{secs}s");
                let args = [
                    "--dns",
                    "example.test",
                    "--rate",
                    &rate_text,
                    "--duration",
                    &duration,
                    "--timeout",
                    "1s",
                ];
                let (v, _) = udpsh_load(cfg, &to, &args)?;
                let loss = num(&v, "lost")? / num(&v, "sent")?.max(1.0);
                let full = num(&v, "rate")? >= 0.99 * rate as f64;
                step(&mut best[0], &mut failing[0], rate, full && loss < 0.01);
                let what = format!("udpsh load vs dnsmasq at {rate}/s: loss");
                r.once.push((
                    what,
                    loss * 100.0,
                    "%",
                    format!("sent {:.0}/s", num(&v, "rate")?),
                ));
            }
            if dnsperf && failing[1] < 2 {
                let mut passed = false;
                for outstanding in ["100", "1000"] {
                    let (sent, lost) = dnsperf_run(&queries, port, rate, secs, outstanding)?;
                    let loss = lost / sent.max(1.0);
                    passed |= sent >= 0.99 * (rate * secs) as f64 && loss < 0.01;
                    let what = format!("dnsperf -q {outstanding} vs dnsmasq at {rate}/s: loss");
                    let note = format!("sent {:.0}/s", sent / secs as f64);
                    r.once.push((what, loss * 100.0, "%", note));
                }
                step(&mut best[1], &mut failing[1], rate, passed);
            }
            if failing[0] >= 2 && (!dnsperf || failing[1] >= 2) {
                break;
            }
        }
        Ok(())
    })();
    let _ = server.kill();
    result?;
    let what = "udpsh load: highest rate sent in full with < 1% loss against dnsmasq";
    r.once.push((what.into(), best[0], "/s", String::new()));
    if dnsperf {
        let what = "dnsperf: highest rate sent in full with < 1% loss against dnsmasq";
        r.once.push((what.into(), best[1], "/s", String::new()));
        r.ratios.push(Ratio {
            name: "load vs dnsmasq, highest rate with < 1% loss: udpsh / dnsperf".into(),
            value: (best[1] > 0.0).then(|| best[0] / best[1]),
            target: Some(Target::AtLeast(1.0)),
            calls: None,
        });
    }
    Ok(())
}

fn step(best: &mut f64, failing: &mut u32, rate: u64, passed: bool) {
    if passed {
        *best = best.max(rate as f64);
        *failing = 0;
    } else {
        *failing += 1;
    }
}

/// dnsperf at `rate` for `secs` with at most `outstanding` queries in flight: (sent, lost).
fn dnsperf_run(
    queries: &Path,
    port: u16,
    rate: u64,
    secs: u64,
    outstanding: &str,
) -> Result<(f64, f64), String> {
    let mut cmd = Command::new("dnsperf");
    cmd.args(["-s", "127.0.0.1", "-p", &port.to_string(), "-d"])
        .arg(queries)
        .args([
            "-l",
            &secs.to_string(),
            "-Q",
            &rate.to_string(),
            "-c",
            "8",
            "-b",
            "4096",
        ])
        .args(["-q", outstanding, "-t", "1"]);
    let out = child::run(&mut cmd, LIMIT)?.ok()?;
    let field = |name: &str| -> Result<f64, String> {
        out.stdout
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(name)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .ok_or_else(|| format!("no '{name}' in dnsperf's output"))
    };
    Ok((field("Queries sent:")?, field("Queries lost:")?))
}

/// At 100,000/s for `pace_secs` to a receiver that counts and times arrivals.
fn pacing(cfg: &Config, r: &mut Results) -> Result<(), String> {
    let rate = 100_000u64;
    let n = (rate as f64 * cfg.pace_secs).round() as u64;
    eprintln!("load: paced at {rate}/s for {} s", cfg.pace_secs);
    let arrivals =
        crate::native::Arrivals::start(n, Duration::from_secs(3)).map_err(|e| e.to_string())?;
    let to = arrivals.addr.to_string();
    let args = [
        "--payload",
        PAYLOAD,
        "--rate",
        &rate.to_string(),
        "--count",
        &n.to_string(),
        "--timeout",
        "100ms",
    ];
    let run = udpsh_load(cfg, &to, &args);
    let (got, arrived) = arrivals.finish();
    let (v, _) = run?;
    r.once.push((
        format!("load at {rate}/s: its own rate"),
        num(&v, "rate")?,
        "/s",
        format!("behind {:.2} ms", num(&v, "behind")? * 1e3),
    ));
    r.once.push((
        format!("load at {rate}/s: rate on arrival"),
        arrived,
        "/s",
        format!("{got} of {n} arrived"),
    ));
    r.ratios.push(Ratio {
        name: format!(
            "load: pacing error at {rate}/s over {} s (on arrival)",
            cfg.pace_secs
        ),
        value: Some(arrived / rate as f64 - 1.0),
        target: Some(Target::Within(0.01)),
        calls: None,
    });
    Ok(())
}

/// Against a server that answers 2 ms after each request's kernel receive time.
fn known_delay(cfg: &Config, r: &mut Results) -> Result<(), String> {
    eprintln!("load: p50 against a 2 ms server");
    let (server, to) = native_server(cfg, "native-delay-echo", &["2000"])?;
    let args = [
        "--payload",
        PAYLOAD,
        "--pair",
        "bytes:0-7",
        "--rate",
        "1000",
        "--duration",
        "3s",
        "--clients",
        "1",
    ];
    let run = udpsh_load(cfg, &to.to_string(), &args);
    let _ = server.kill();
    let (v, _) = run?;
    let p50 = num(&v, "latency.p50")?;
    r.once.push((
        "load vs a 2 ms server: latency p50".into(),
        p50 * 1e3,
        "ms",
        format!(
            "service p50 {:.3} ms, latency p99 {:.3} ms",
            num(&v, "service.p50")? * 1e3,
            num(&v, "latency.p99")? * 1e3
        ),
    ));
    r.ratios.push(Ratio {
        name: "load: latency p50 − a server's known 2 ms (ms)".into(),
        value: Some((p50 - 0.002) * 1e3),
        target: Some(Target::AtMostMs(0.05)),
        calls: None,
    });
    Ok(())
}

/// What a `request` closure and a `check` closure cost per datagram: the CPU time per request
/// of a run with each, less that of the same run with a constant request (CPU time, not the
/// rate reached, so that the other jobs of a shared machine count less). Rounds of the three
/// in turn; the least of each, as other jobs only ever add to it.
fn closures(cfg: &Config, r: &mut Results) -> Result<(), String> {
    let (echo, to) = native_server(cfg, "native-fast-echo", &[])?;
    let n = cfg.sends;
    let variants = [
        (
            "a constant request",
            format!("#{{request: hex(\"{PAYLOAD}\")}}"),
        ),
        (
            "request: |i| pack(…)",
            "#{request: |i| pack(\"!Q\", i) + \"ping\"}".into(),
        ),
        (
            "check: |d| …",
            format!("#{{request: hex(\"{PAYLOAD}\"), check: |d| d.len > 8}}"),
        ),
    ];
    let result = (|| -> Result<(), String> {
        let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
        for round in 0..cfg.rounds.min(5) {
            for (k, (what, script)) in variants.iter().enumerate() {
                eprintln!("load: round {} with {what}", round + 1);
                let file = cfg.tmp.join("opts.rhai");
                std::fs::write(&file, script).map_err(|e| e.to_string())?;
                let file = file.display().to_string();
                let count = n.to_string();
                let args = [
                    "--script",
                    &file,
                    "--pair",
                    "bytes:0-7",
                    "--rate",
                    "50000",
                    "--count",
                    &count,
                    "--clients",
                    "1",
                    "--timeout",
                    "200ms",
                ];
                let (v, out) = udpsh_load(cfg, &to.to_string(), &args)?;
                let sent = num(&v, "sent")?.max(1.0);
                cpu[k].push(out.cpu.as_secs_f64() / sent * 1e6);
            }
        }
        let least: Vec<f64> = cpu
            .iter()
            .map(|c| c.iter().copied().fold(f64::INFINITY, f64::min))
            .collect();
        for ((what, _), us) in variants.iter().zip(&least) {
            let what = format!("load at 50,000/s with {what}: CPU per request");
            r.once.push((what, *us, "µs", String::new()));
        }
        for (what, k) in [("request", 1), ("check", 2)] {
            let what = format!("a {what} closure, CPU per datagram");
            r.once
                .push((what, least[k] - least[0], "µs", String::new()));
        }
        Ok(())
    })();
    let _ = echo.kill();
    result
}

/// Peak RSS of 1M and 10M requests sent to a socket that never reads (all lost).
fn memory(cfg: &Config, r: &mut Results) -> Result<(), String> {
    let sink = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let to = sink.local_addr().map_err(|e| e.to_string())?.to_string();
    let small = cfg.recorded;
    let mut rss = Vec::new();
    for n in [small, small * 10] {
        eprintln!("load: memory of {n} requests");
        let json = cfg.tmp.join("mem.json");
        let mut cmd = cfg.udpsh();
        cmd.args([
            "load",
            "--to",
            &to,
            "--payload",
            PAYLOAD,
            "--rate",
            "500000",
            "--count",
        ])
        .arg(n.to_string())
        .args(["--timeout", "100ms", "--json"])
        .arg(&json);
        let out = child::run(&mut cmd, Duration::from_secs(600))?.ok()?;
        let mib = out.maxrss_kib as f64 / 1024.0;
        r.once.push((
            format!("load: peak RSS, {n} requests"),
            mib,
            "MiB",
            format!("in {:.1} s", out.wall.as_secs_f64()),
        ));
        rss.push(mib);
    }
    r.ratios.push(Ratio {
        name: format!("load: peak RSS of {} / {} requests", small * 10, small),
        value: Some(rss[1] / rss[0]),
        target: Some(Target::AtMost(1.10)),
        calls: None,
    });
    Ok(())
}
