//! The impairment proxy without impairment: datagrams forwarded per second by `udpsh proxy`
//! against a native forwarder (interleaved), each between a windowed client and an echo
//! server; and, once, how close a 20 ms delay is kept at 10,000 datagrams/s.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{LIMIT, rotated};
use crate::child;
use crate::native;
use crate::options::Config;
use crate::statistics::{Ratio, Results, Target};

/// Datagrams in flight at once through the forwarder.
const WINDOW: u64 = 16;

pub fn round(cfg: &Config, r: &mut Results, round: usize) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let (echo, server) = native::echo_thread(stop.clone()).map_err(|e| e.to_string())?;
    let result = (|| {
        let runs: Vec<(&'static str, &str, Forwarder)> = vec![
            (
                "proxy.udpsh",
                "udpsh proxy (no impairment)",
                Box::new(|port| {
                    let mut c = cfg.udpsh();
                    c.args(["proxy", "--to", &echo.to_string(), "--listen"])
                        .arg(format!("127.0.0.1:{port}"));
                    c
                }),
            ),
            (
                "proxy.native",
                "native Rust forwarder",
                Box::new(|port| {
                    let mut c = cfg.me();
                    c.arg("native-forward")
                        .arg(port.to_string())
                        .arg(echo.to_string());
                    c
                }),
            ),
        ];
        for (key, label, make) in rotated(runs, round) {
            let port = free_port()?;
            let fwd = child::start(&mut make(port), false, LIMIT)?;
            let to = SocketAddr::from(([127, 0, 0, 1], port));
            let timed = native::windowed_trips(to, cfg.trips, WINDOW, Duration::from_secs(10));
            let out = fwd.stop()?;
            match timed {
                // Both ways: each round trip is two datagrams forwarded.
                Ok(secs) => r.add(key, label, 2 * cfg.trips, secs, out.cpu.as_secs_f64()),
                Err(e) => return Err(format!("{label}: {e}; stderr: {}", out.stderr.trim())),
            }
        }
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    result
}

/// The requested delay of the accuracy run.
const DELAY: Duration = Duration::from_millis(20);

/// `udpsh proxy --delay 20ms` at `rate` datagrams/s for `pace_secs`: each datagram's time from
/// its send to its arrival, minus 20 ms. Reports the median, the 99th percentile and the worst.
pub fn delay_accuracy(cfg: &Config, r: &mut Results, rate: u64) -> Result<(), String> {
    let n = (rate as f64 * cfg.pace_secs).round() as u64;
    eprintln!(
        "proxy: {rate}/s through a 20 ms delay for {} s",
        cfg.pace_secs
    );
    let sink = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    native::big_receive_buffer(&sink);
    sink.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let sink_addr = sink.local_addr().map_err(|e| e.to_string())?;
    let port = free_port()?;
    let mut cmd = cfg.udpsh();
    cmd.args(["proxy", "--to", &sink_addr.to_string(), "--delay", "20ms"])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"));
    let proxy = child::start(&mut cmd, false, LIMIT)?;
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    let result = measure(&sink, to, n, rate);
    let _ = proxy.stop();
    let (errors, lost) = result?;
    let quantile = |q: f64| errors[((errors.len() - 1) as f64 * q).round() as usize];
    let (p50, p99, worst) = (quantile(0.5), quantile(0.99), quantile(1.0));
    r.once.push((
        format!("proxy delay 20 ms at {rate}/s: error median / p99 / worst"),
        p99 * 1e3,
        "ms",
        format!(
            "{:.3} / {:.3} / {:.3} ms, {} of {n} arrived",
            p50 * 1e3,
            p99 * 1e3,
            worst * 1e3,
            n - lost
        ),
    ));
    r.ratios.push(Ratio {
        name: format!("proxy delay error p99 at {rate}/s (20 ms asked)"),
        value: Some(p99 * 1e3),
        target: Some(Target::AtMostMs(1.0)),
        calls: None,
    });
    Ok(())
}

/// Sends `n` numbered datagrams at `rate` to `to` and times their arrival at `sink`; returns
/// the sorted errors (seconds beyond the delay, or before it: absolute) and how many were lost.
fn measure(sink: &UdpSocket, to: SocketAddr, n: u64, rate: u64) -> Result<(Vec<f64>, u64), String> {
    let tx = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    // Warm up until the proxy forwards (20 ms later); warm-ups are numbered past the run.
    sink.set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        tx.send_to(&u64::MAX.to_be_bytes(), to)
            .map_err(|e| e.to_string())?;
        if sink.recv_from(&mut buf).is_ok() {
            break;
        }
        if Instant::now() > deadline {
            return Err("nothing came through the proxy within 10 s".into());
        }
    }
    sink.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let receiver = {
        let sink = sink.try_clone().map_err(|e| e.to_string())?;
        std::thread::spawn(move || {
            let mut arrived = vec![None; n as usize];
            let mut buf = [0u8; 64];
            let mut got = 0;
            while got < n {
                let Ok((len, _)) = sink.recv_from(&mut buf) else {
                    break;
                };
                if len < 8 {
                    continue;
                }
                let i = u64::from_be_bytes(buf[..8].try_into().unwrap_or([0xff; 8]));
                if let Some(slot) = arrived.get_mut(i as usize) {
                    *slot = Some(start.elapsed());
                    got += 1;
                }
            }
            arrived
        })
    };
    // Paced by sleeping (each datagram's real send time is what counts): a spinning sender
    // would take a core from the proxy on a 2-CPU machine.
    let mut sent = Vec::with_capacity(n as usize);
    for i in 0..n {
        let due = Duration::from_secs_f64(i as f64 / rate as f64);
        let left = due.saturating_sub(start.elapsed());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
        sent.push(start.elapsed());
        tx.send_to(&i.to_be_bytes(), to)
            .map_err(|e| e.to_string())?;
    }
    let arrived = receiver.join().map_err(|_| "receiver panicked")?;
    let mut lost = 0;
    let mut errors: Vec<f64> = Vec::with_capacity(n as usize);
    for (s, a) in sent.iter().zip(&arrived) {
        match a {
            Some(a) => {
                errors.push((a.saturating_sub(*s).as_secs_f64() - DELAY.as_secs_f64()).abs())
            }
            None => lost += 1,
        }
    }
    if errors.is_empty() {
        return Err("no datagram arrived".into());
    }
    errors.sort_by(f64::total_cmp);
    Ok((errors, lost))
}

fn free_port() -> Result<u16, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(s.local_addr().map_err(|e| e.to_string())?.port())
}

/// Makes the command of a forwarder listening on a port.
type Forwarder<'a> = Box<dyn Fn(u16) -> std::process::Command + 'a>;
