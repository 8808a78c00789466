//! User-space instructions per call, counted by callgrind (valgrind): the same on a busy
//! machine as on a quiet one, so they compare per-call costs where timings cannot. Each count
//! is the difference of two runs of different lengths divided by the difference of their
//! lengths, so start-up and exit cancel out.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::native;
use crate::options::Config;
use crate::statistics::Results;

/// Calls of the shorter and the longer run.
const SHORT: u64 = 4_000;
const LONG: u64 = 12_000;

/// Counts every contender the report shows instructions for; a failure leaves a note.
pub fn count(cfg: &Config, r: &mut Results, sink: std::net::SocketAddr) {
    if !crate::rounds::which("valgrind") {
        r.note("valgrind not installed: no instruction counts (apt-get install valgrind)".into());
        return;
    }
    eprintln!("instructions per call (callgrind)");
    let send = |pcap: Option<&'static str>| {
        move |n: u64| {
            let mut c = cfg.udpsh();
            c.arg("run");
            if let Some(p) = pcap {
                c.arg("--pcap").arg(cfg.tmp.join(p));
            }
            c.arg(cfg.root.join("bench/send_loop.rhai")).args([
                "--var",
                &format!("addr={sink}"),
                "--var",
                &format!("n={n}"),
            ]);
            c
        }
    };
    let mut jobs: Vec<(&'static str, Make<'_, u64>)> = vec![
        ("send.udpsh", Box::new(send(None))),
        ("send.udpsh.pcap", Box::new(send(Some("ir.pcap")))),
        ("send.udpsh.pcapng", Box::new(send(Some("ir.pcapng")))),
        (
            "send.native",
            Box::new(|n: u64| {
                let mut c = cfg.me();
                c.arg("native-send")
                    .arg(sink.to_string())
                    .arg(n.to_string());
                c
            }),
        ),
    ];
    if cfg.python.is_some() {
        jobs.push((
            "send.python",
            Box::new(|n: u64| {
                let mut c = cfg.python().expect("python");
                c.arg(cfg.root.join("bench/send_loop.py"))
                    .arg(sink.to_string())
                    .arg(n.to_string());
                c
            }),
        ));
    }
    for (key, make) in &jobs {
        match per_call(cfg, &**make, SHORT, LONG) {
            Ok(v) => r.instructions.insert(key, v),
            Err(e) => {
                r.note(format!("instructions of {key}: {e}"));
                None
            }
        };
    }
    let echo: Vec<(&'static str, Make<'_, u16>)> = vec![
        (
            "echo.udpsh",
            Box::new(|port| {
                let mut c = cfg.udpsh();
                c.args(["run", "scripts/echo_server.rhai", "--var"])
                    .arg(format!("port={port}"));
                c
            }),
        ),
        (
            "echo.native",
            Box::new(|port| {
                let mut c = cfg.me();
                c.arg("native-echo").arg(port.to_string());
                c
            }),
        ),
        (
            "echo.python",
            Box::new(|port| {
                let mut c = cfg.python().unwrap_or_else(|| Command::new("python3"));
                c.arg(cfg.root.join("fixtures/seeds/echo_server.py"))
                    .env("PORT", port.to_string());
                c
            }),
        ),
    ];
    for (key, make) in &echo {
        if *key == "echo.python" && cfg.python.is_none() {
            continue;
        }
        let short = echo_run(cfg, &**make, SHORT / 4);
        let long = echo_run(cfg, &**make, LONG / 4);
        match (short, long) {
            (Ok(a), Ok(b)) => {
                r.instructions
                    .insert(key, (b - a) as f64 / ((LONG - SHORT) / 4) as f64);
            }
            (Err(e), _) | (_, Err(e)) => r.note(format!("instructions of {key}: {e}")),
        }
    }
}

/// Makes a contender's command from a count or a port.
type Make<'a, T> = Box<dyn Fn(T) -> Command + 'a>;

/// Instructions per call of the contender made by `make(n)`.
fn per_call(cfg: &Config, make: &dyn Fn(u64) -> Command, a: u64, b: u64) -> Result<f64, String> {
    let short = callgrind(cfg, &mut make(a), None)?;
    let long = callgrind(cfg, &mut make(b), None)?;
    Ok((long as f64 - short as f64) / (b - a) as f64)
}

/// Instructions of an echo server (under callgrind) answering `n` round trips, then stopped
/// with SIGINT.
fn echo_run(cfg: &Config, make: &dyn Fn(u16) -> Command, n: u64) -> Result<u64, String> {
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        s.local_addr().map_err(|e| e.to_string())?.port()
    };
    callgrind(
        cfg,
        &mut make(port),
        Some(&|| native::round_trips(port, n, Duration::from_secs(60), || {}).map(drop)),
    )
}

/// Runs `cmd` under callgrind and returns the instructions of its main process (the
/// capture's watchdog is a process of its own). With `drive`, runs it while the child runs,
/// then stops the child with SIGINT.
fn callgrind(
    cfg: &Config,
    cmd: &mut Command,
    drive: Option<&dyn Fn() -> Result<(), String>>,
) -> Result<u64, String> {
    let out = cfg.tmp.join("callgrind.%p.out");
    let mut vg = Command::new("valgrind");
    vg.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(cmd.get_current_dir().unwrap_or(Path::new(".")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SIGINT ends the servers: a shell may have started the driver with it ignored (a
    // background job), which Python would keep.
    // SAFETY: signal(2) is async-signal-safe, as pre_exec requires.
    unsafe {
        vg.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let child = vg.spawn().map_err(|e| format!("valgrind: {e}"))?;
    if let Some(drive) = drive {
        let driven = drive();
        // SAFETY: kill(2) of our own child, not yet reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        driven?;
    }
    let done = child.wait_with_output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&done.stderr);
    let main = stderr
        .lines()
        .find_map(|l| l.strip_prefix("==")?.split("==").next())
        .ok_or("no valgrind output")?
        .to_string();
    stderr
        .lines()
        .filter(|l| l.starts_with(&format!("=={main}==")))
        .find_map(|l| l.split("Collected : ").nth(1)?.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in: {}", stderr.trim()))
}
