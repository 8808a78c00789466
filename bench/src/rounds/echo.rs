//! Echo servers (udpsh's script, native Rust, the Python seed) driven by one native client in
//! lock-step round trips.

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use super::{LIMIT, rotated};
use crate::options::Config;
use crate::statistics::Results;
use crate::{child, native};

pub fn round(cfg: &Config, r: &mut Results, round: usize) -> Result<(), String> {
    let mut runs: Vec<(&'static str, &str, Server)> = vec![
        (
            "echo.udpsh",
            "udpsh run scripts/echo_server.rhai",
            Box::new(|port| {
                let mut c = cfg.udpsh();
                c.args(["run", "scripts/echo_server.rhai", "--timeout", "300"])
                    .arg("--var")
                    .arg(format!("port={port}"));
                c
            }),
        ),
        (
            "echo.native",
            "native Rust echo server",
            Box::new(|port| {
                let mut c = cfg.me();
                c.arg("native-echo").arg(port.to_string());
                c
            }),
        ),
    ];
    let seed = cfg.root.join("fixtures/seeds/echo_server.py");
    if cfg.python.is_some() && seed.is_file() {
        runs.push((
            "echo.python",
            "Python seed echo_server.py",
            Box::new(move |port| {
                let mut c = cfg.python().expect("python");
                c.arg(&seed).env("PORT", port.to_string());
                c
            }),
        ));
    }
    // Server and client on cores of their own (the last two): the round trip is then the
    // two programs' work and the wake-ups, and neither waits for the other's time slice.
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    let (server_cpu, client_cpu) = (cpus - 1, cpus.saturating_sub(2));
    let result = (|| {
        for (key, label, make) in rotated(runs, round) {
            let port = free_port()?;
            // The child inherits the CPU of the thread that starts it.
            native::pin(Some(server_cpu));
            let server = child::start(&mut make(port), false, LIMIT);
            native::pin(Some(client_cpu));
            let server = server?;
            let pid = server.pid();
            let mut before = None;
            let timed = native::round_trips(port, cfg.trips, Duration::from_secs(10), || {
                before = native::cpu_seconds(pid)
            });
            let used = before.zip(native::cpu_seconds(pid)).map(|(a, b)| b - a);
            let out = server.kill()?;
            match timed {
                // CPU: the server's, during the timed round trips only.
                Ok(secs) => r.add(key, label, cfg.trips, secs, used.unwrap_or(f64::NAN)),
                Err(e) => return Err(format!("{label}: {e}; stderr: {}", out.stderr.trim())),
            }
        }
        Ok(())
    })();
    native::pin(None);
    result
}

fn free_port() -> Result<u16, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(s.local_addr().map_err(|e| e.to_string())?.port())
}

/// Makes the command of an echo server listening on a port.
type Server<'a> = Box<dyn Fn(u16) -> Command + 'a>;
