//! udpsh's benchmark driver: runs udpsh, native Rust and Python contenders (and iperf3 when
//! installed) as child processes on loopback, interleaved round by round, and prints medians
//! and the ratios the performance issue sets targets for. Run it with `bench/run`.
//!
//! Every run is bounded: by a datagram count, and by a time limit after which the child is
//! killed. Only loopback addresses are used.

mod child;
mod native;

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: bench/run [--rounds N] [--quick] [--only GROUPS] [--udpsh PATH] [--python PATH]
  GROUPS: comma-separated among send, echo, startup, memory, blast, pace, iperf (default all)
  --quick: fewer rounds and datagrams (a smoke run; ratios are noisier)";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        // The native contenders, run as children of the driver like the others.
        Some("native-send") => contender(|| {
            let secs = native::send_loop(arg(&args, 1)?, arg(&args, 2)?).map_err(str)?;
            println!("seconds {secs}");
            Ok(())
        }),
        Some("native-send-rec") => contender(|| {
            let file = PathBuf::from(args.get(3).ok_or("no capture file")?);
            let secs =
                native::send_loop_recorded(arg(&args, 1)?, arg(&args, 2)?, &file).map_err(str)?;
            println!("seconds {secs}");
            Ok(())
        }),
        Some("native-mmsg") => contender(|| {
            let secs =
                native::mmsg_loop(arg(&args, 1)?, arg(&args, 2)?, arg(&args, 3)?).map_err(str)?;
            println!("seconds {secs}");
            Ok(())
        }),
        Some("native-echo") => contender(|| native::echo_server(arg(&args, 1)?).map_err(str)),
        _ => match Config::parse(&args) {
            Ok(cfg) => drive(cfg),
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                2
            }
        },
    };
    std::process::exit(code);
}

fn contender(f: impl FnOnce() -> Result<(), String>) -> i32 {
    match f() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> Result<T, String> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("argument {i} missing or invalid"))
}

fn str(e: impl std::fmt::Display) -> String {
    e.to_string()
}

struct Config {
    rounds: usize,
    /// Datagrams of the send loops and blasts.
    sends: u64,
    /// Round trips per echo run.
    trips: u64,
    /// Datagrams of the big recorded run (memory).
    recorded: u64,
    /// Seconds of each paced blast, and its rates.
    pace_secs: f64,
    rates: Vec<u64>,
    /// Seconds of each iperf3 run.
    iperf_secs: u64,
    groups: Vec<String>,
    root: PathBuf,
    udpsh: PathBuf,
    python: Option<PathBuf>,
    tmp: PathBuf,
}

const GROUPS: [&str; 7] = [
    "send", "echo", "startup", "memory", "blast", "pace", "iperf",
];

impl Config {
    fn parse(args: &[String]) -> Result<Config, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("no repository root")?
            .to_path_buf();
        let mut cfg = Config {
            rounds: 5,
            sends: 200_000,
            trips: 20_000,
            recorded: 1_000_000,
            pace_secs: 5.0,
            // 0: unlimited, for the capacity the paced runs must stay under.
            rates: vec![0, 20_000, 100_000],
            iperf_secs: 2,
            groups: GROUPS.iter().map(|g| g.to_string()).collect(),
            udpsh: root.join("target/release/udpsh"),
            python: None,
            tmp: std::env::temp_dir().join(format!("udpsh-bench-{}", std::process::id())),
            root,
        };
        let mut python = None;
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--rounds" => {
                    cfg.rounds = value()?
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or("--rounds needs a number above 0")?;
                }
                "--quick" => {
                    cfg.rounds = 3;
                    cfg.sends = 50_000;
                    cfg.trips = 5_000;
                    cfg.recorded = 200_000;
                    cfg.pace_secs = 2.0;
                    cfg.iperf_secs = 1;
                }
                "--only" => {
                    let only = value()?;
                    cfg.groups = only.split(',').map(|g| g.trim().to_string()).collect();
                    if let Some(bad) = cfg.groups.iter().find(|g| !GROUPS.contains(&g.as_str())) {
                        return Err(format!("unknown group '{bad}'"));
                    }
                }
                "--udpsh" => cfg.udpsh = PathBuf::from(value()?),
                "--python" => python = Some(PathBuf::from(value()?)),
                "-h" | "--help" => return Err("udpsh benchmarks".into()),
                other => return Err(format!("unknown argument '{other}'")),
            }
        }
        if !cfg.udpsh.is_file() {
            return Err(format!(
                "{} not found: build it first (bench/run does)",
                cfg.udpsh.display()
            ));
        }
        cfg.python = python.or_else(find_python);
        Ok(cfg)
    }

    fn wants(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }

    fn udpsh(&self) -> Command {
        let mut cmd = Command::new(&self.udpsh);
        cmd.current_dir(&self.root);
        cmd
    }

    fn python(&self) -> Option<Command> {
        let mut cmd = Command::new(self.python.as_ref()?);
        cmd.current_dir(&self.root);
        Some(cmd)
    }

    fn me(&self) -> Command {
        Command::new(std::env::current_exe().expect("own path"))
    }
}

/// The interpreter itself rather than a `python3` shim (pyenv's would add 100 ms to start-up).
fn find_python() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && path.is_file()).then_some(path)
}

/// Samples of one contender: seconds (what is compared) and the child's CPU seconds.
#[derive(Default)]
struct Series {
    label: String,
    /// Datagrams or round trips per sample, for a per-second figure.
    per: u64,
    secs: Vec<f64>,
    cpu: Vec<f64>,
}

#[derive(Default)]
struct Results {
    series: BTreeMap<&'static str, Series>,
    /// Insertion order of `series`.
    order: Vec<&'static str>,
    /// (what, value, unit, note) measured once.
    once: Vec<(String, f64, &'static str, String)>,
    ratios: Vec<Ratio>,
    notes: Vec<String>,
}

struct Ratio {
    name: String,
    value: Option<f64>,
    /// (at least, text); `None`: shown for information.
    target: Option<Target>,
}

#[derive(Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
    Within(f64),
}

impl Target {
    fn met(self, v: f64) -> bool {
        match self {
            Target::AtLeast(t) => v >= t,
            Target::AtMost(t) => v <= t,
            Target::Within(t) => v.abs() <= t,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Target::AtLeast(t) => format!(">= {t:.2}{unit}"),
            Target::AtMost(t) => format!("<= {t:.2}{unit}"),
            Target::Within(t) => format!("within ±{:.0}%", t * 100.0),
        }
    }
}

impl Results {
    fn add(&mut self, key: &'static str, label: &str, per: u64, secs: f64, cpu: f64) {
        if !self.series.contains_key(key) {
            self.order.push(key);
        }
        let s = self.series.entry(key).or_default();
        s.label = label.to_string();
        s.per = per;
        s.secs.push(secs);
        s.cpu.push(cpu);
    }

    fn median(&self, key: &str) -> Option<f64> {
        self.series.get(key).and_then(|s| median(&s.secs))
    }

    /// How many times faster `a` is than `b` (time of b / time of a).
    fn speed(&mut self, name: &str, a: &str, b: &str, target: Option<Target>) {
        let value = match (self.median(a), self.median(b)) {
            (Some(x), Some(y)) if x > 0.0 => Some(y / x),
            _ => None,
        };
        self.ratios.push(Ratio {
            name: name.to_string(),
            value,
            target,
        });
    }

    /// Like [`Results::speed`], on the CPU seconds.
    fn speed_cpu(&mut self, name: &str, a: &str, b: &str) {
        let cpu = |k: &str| self.series.get(k).and_then(|s| median(&s.cpu));
        let value = match (cpu(a), cpu(b)) {
            (Some(x), Some(y)) if x > 0.0 => Some(y / x),
            _ => None,
        };
        self.ratios.push(Ratio {
            name: name.to_string(),
            value,
            target: None,
        });
    }

    fn note(&mut self, text: String) {
        eprintln!("  note: {text}");
        self.notes.push(text);
    }
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

fn drive(cfg: Config) -> i32 {
    if let Err(e) = std::fs::create_dir_all(&cfg.tmp) {
        eprintln!("cannot create {}: {e}", cfg.tmp.display());
        return 2;
    }
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
        for g in ["send", "blast", "echo", "startup"] {
            if cfg.wants(g) {
                groups.push(g);
            }
        }
        if iperf {
            groups.push("iperf");
        }
        for g in groups {
            let result = match g {
                "send" => send_round(&cfg, &mut r, round, to),
                "blast" => blast_round(&cfg, &mut r, round, to),
                "echo" => echo_round(&cfg, &mut r, round),
                "startup" => startup_round(&cfg, &mut r),
                _ => iperf_round(&cfg, &mut r),
            };
            if let Err(e) = result {
                r.note(format!("round {}, {g}: {e}", round + 1));
            }
        }
    }
    if cfg.wants("pace") {
        for &rate in &cfg.rates {
            if let Err(e) = pace_run(&cfg, &mut r, rate) {
                r.note(format!("pace {rate}/s: {e}"));
            }
        }
    }
    if cfg.wants("memory")
        && let Err(e) = memory_runs(&cfg, &mut r)
    {
        r.note(format!("memory: {e}"));
    }
    drop(sink);
    let _ = std::fs::remove_dir_all(&cfg.tmp);
    ratios(&mut r);
    print_report(&cfg, &r, started.elapsed());
    0
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

const LIMIT: Duration = Duration::from_secs(120);

/// Runs the contenders of one group in an order that rotates with the round.
fn rotated<T>(mut items: Vec<T>, round: usize) -> Vec<T> {
    let n = items.len().max(1);
    items.rotate_left(round % n);
    items
}

fn send_round(cfg: &Config, r: &mut Results, round: usize, to: SocketAddr) -> Result<(), String> {
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

fn blast_round(cfg: &Config, r: &mut Results, round: usize, to: SocketAddr) -> Result<(), String> {
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

fn free_port() -> Result<u16, String> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(str)?;
    Ok(s.local_addr().map_err(str)?.port())
}

/// Makes the command of an echo server listening on a port.
type Server<'a> = Box<dyn Fn(u16) -> Command + 'a>;

fn echo_round(cfg: &Config, r: &mut Results, round: usize) -> Result<(), String> {
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
    // Client and server share one CPU: a round trip is then the two programs' work and two
    // context switches, not a virtual CPU's wake-up from idle (which costs more than either).
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    let cpu = cpus - 1;
    native::pin(Some(cpu));
    let result = (|| {
        for (key, label, make) in rotated(runs, round) {
            let port = free_port()?;
            let server = child::start(&mut make(port), false, LIMIT)?;
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

fn startup_round(cfg: &Config, r: &mut Results) -> Result<(), String> {
    for _ in 0..5 {
        let mut udpsh = cfg.udpsh();
        udpsh.args(["-e", ""]);
        let out = child::run(&mut udpsh, LIMIT)?.ok()?;
        r.add(
            "start.udpsh",
            "udpsh -e ''",
            1,
            out.wall.as_secs_f64(),
            out.cpu.as_secs_f64(),
        );
        if let Some(mut py) = cfg.python() {
            py.args(["-c", "import socket"]);
            let out = child::run(&mut py, LIMIT)?.ok()?;
            r.add(
                "start.python",
                "python3 -c 'import socket'",
                1,
                out.wall.as_secs_f64(),
                out.cpu.as_secs_f64(),
            );
        }
    }
    Ok(())
}

fn iperf_round(cfg: &Config, r: &mut Results) -> Result<(), String> {
    // iperf3 talks TCP on its port for control, then sends UDP to the same number.
    let port = {
        let s = std::net::TcpListener::bind("127.0.0.1:0").map_err(str)?;
        s.local_addr().map_err(str)?.port()
    };
    let mut server = Command::new("iperf3");
    server.args(["-s", "-1", "-B", "127.0.0.1", "-p", &port.to_string()]);
    let server = child::start(&mut server, false, LIMIT)?;
    std::thread::sleep(Duration::from_millis(300));
    let mut client = Command::new("iperf3");
    client.args([
        "-u",
        "-c",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-l",
        "64",
        "-b",
        "0",
        "-t",
        &cfg.iperf_secs.to_string(),
        "-J",
    ]);
    let out = child::run(&mut client, LIMIT);
    let _ = server.stop();
    let out = out?.ok()?;
    let json: serde_json::Value = serde_json::from_str(&out.stdout).map_err(str)?;
    let sum = &json["end"]["sum_sent"];
    let (Some(packets), Some(secs)) = (sum["packets"].as_f64(), sum["seconds"].as_f64()) else {
        return Err("no end.sum_sent in iperf3's JSON".into());
    };
    // Stored as the time 200k datagrams would take at its rate, to compare like for like.
    let per = cfg.sends;
    r.add(
        "iperf.udp",
        "iperf3 -u -l 64 -b 0",
        per,
        per as f64 * secs / packets,
        out.cpu.as_secs_f64(),
    );
    Ok(())
}

/// A paced blast of `pace_secs` at `rate`, its datagrams counted and timed on arrival by a
/// reading receiver; at rate 0, an unlimited blast of `sends` datagrams to that receiver: the
/// capacity a paced blast must stay under (delivering to a reader costs more than to a full
/// queue).
fn pace_run(cfg: &Config, r: &mut Results, rate: u64) -> Result<(), String> {
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
    let rx = UdpSocket::bind("127.0.0.1:0").map_err(str)?;
    big_receive_buffer(&rx);
    let to = rx.local_addr().map_err(str)?;
    let receiver = std::thread::spawn(move || -> (u64, Option<(Instant, Instant)>) {
        let _ = rx.set_read_timeout(Some(Duration::from_secs(3)));
        let mut buf = [0u8; 2048];
        let (mut count, mut first, mut last) = (0u64, None, None);
        while count < n {
            if rx.recv_from(&mut buf).is_err() {
                break;
            }
            let now = Instant::now();
            first.get_or_insert(now);
            last = Some(now);
            count += 1;
        }
        (count, first.zip(last))
    });
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
    let (got, span) = receiver.join().map_err(|_| "receiver panicked")?;
    let out = out?;
    let own = out.value("rate")?;
    r.once
        .push((format!("{what}: its own rate"), own, "/s", String::new()));
    let arrived = match span {
        Some((a, b)) if got > 1 => (got - 1) as f64 / (b - a).as_secs_f64(),
        _ => 0.0,
    };
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
    });
    Ok(())
}

fn big_receive_buffer(sock: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 32 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt with a c_int value on our own socket.
        let rc = unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            return;
        }
    }
}

/// Peak memory of recorded runs of growing length: flat means it does not grow with them.
fn memory_runs(cfg: &Config, r: &mut Results) -> Result<(), String> {
    let sink = UdpSocket::bind("127.0.0.1:0").map_err(str)?;
    let to = sink.local_addr().map_err(str)?;
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
    });
    let grow = rss[&(cfg.recorded, Some("mem.pcapng"))] / rss[&(small, Some("mem.pcapng"))];
    r.ratios.push(Ratio {
        name: format!(
            "memory while recording: peak RSS {} / {} datagrams",
            cfg.recorded, small
        ),
        value: Some(grow),
        target: Some(Target::AtMost(1.10)),
    });
    Ok(())
}

fn ratios(r: &mut Results) {
    use Target::AtLeast;
    r.speed(
        "send loop: udpsh / native Rust",
        "send.udpsh",
        "send.native",
        Some(AtLeast(0.90)),
    );
    r.speed(
        "send loop: udpsh / Python",
        "send.udpsh",
        "send.python",
        Some(AtLeast(1.2)),
    );
    r.speed(
        "send loop: Python / native Rust",
        "send.python",
        "send.native",
        None,
    );
    r.speed(
        "send loop: --pcap x.pcap / without",
        "send.udpsh.pcap",
        "send.udpsh",
        Some(AtLeast(0.85)),
    );
    r.speed(
        "send loop: --pcap x.pcapng / without",
        "send.udpsh.pcapng",
        "send.udpsh",
        Some(AtLeast(0.85)),
    );
    r.speed(
        "  floor: native + write(2) per datagram / native",
        "send.native.rec",
        "send.native",
        None,
    );
    r.speed(
        "echo: udpsh / native Rust",
        "echo.udpsh",
        "echo.native",
        Some(AtLeast(0.90)),
    );
    r.speed(
        "echo: udpsh / Python seed",
        "echo.udpsh",
        "echo.python",
        Some(AtLeast(1.2)),
    );
    r.speed_cpu(
        "  echo, server CPU per datagram: udpsh / native",
        "echo.udpsh",
        "echo.native",
    );
    r.speed_cpu(
        "  echo, server CPU per datagram: udpsh / Python",
        "echo.udpsh",
        "echo.python",
    );
    r.speed(
        "start-up: udpsh faster than Python by",
        "start.udpsh",
        "start.python",
        Some(AtLeast(3.0)),
    );
    r.speed(
        "blast / native sendmmsg loop",
        "blast.udpsh",
        "blast.native",
        Some(AtLeast(0.90)),
    );
    r.speed(
        "blast / native send_to loop",
        "blast.udpsh",
        "send.native",
        None,
    );
    r.speed(
        "blast / iperf3 -u (datagrams/s)",
        "blast.udpsh",
        "iperf.udp",
        None,
    );
}

fn print_report(cfg: &Config, r: &Results, took: Duration) {
    println!();
    println!(
        "udpsh benchmarks: {} rounds, interleaved; medians (min–max). 64-byte datagrams on loopback, {} per send loop, {} round trips per echo run. {} CPUs.",
        cfg.rounds,
        cfg.sends,
        cfg.trips,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!(
        "{:<40} {:>20} {:>14} {:>10}",
        "contender", "median s (min–max)", "per second", "CPU s"
    );
    for key in &r.order {
        let s = &r.series[key];
        let (Some(m), Some(lo), Some(hi)) = (
            median(&s.secs),
            s.secs.iter().copied().reduce(f64::min),
            s.secs.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        let per = if s.per > 1 {
            format!("{}/s", human(s.per as f64 / m))
        } else {
            String::new()
        };
        println!(
            "{:<40} {:>20} {:>14} {:>10}",
            s.label,
            format!("{} ({}–{})", secs(m), secs(lo), secs(hi)),
            per,
            format!("{:.3}", median(&s.cpu).unwrap_or(0.0))
        );
    }
    if r.series.contains_key("echo.udpsh") {
        println!(
            "(echo: client and server share one CPU; CPU s is the server's during the round trips)"
        );
    }
    if !r.once.is_empty() {
        println!();
        for (what, value, unit, note) in &r.once {
            let v = if *unit == "/s" {
                format!("{}/s", human(*value))
            } else {
                format!("{value:.1} {unit}")
            };
            println!("{what:<66} {v:>12}   {note}");
        }
    }
    println!();
    println!("{:<56} {:>9} {:>14}   met", "ratio", "value", "target");
    // Ratios of groups not run (`--only`) are left out.
    for ratio in r.ratios.iter().filter(|r| r.value.is_some()) {
        let pct = matches!(ratio.target, Some(Target::Within(_)));
        let value = ratio.value.map_or("n/a".to_string(), |v| {
            if pct {
                format!("{:+.2}%", v * 100.0)
            } else {
                format!("{v:.2}×")
            }
        });
        let (target, met) = match (ratio.target, ratio.value) {
            (Some(t), Some(v)) => (
                t.text(if pct { "" } else { "×" }),
                if t.met(v) { "yes" } else { "NO" },
            ),
            (Some(t), None) => (t.text("×"), "n/a"),
            (None, _) => (String::new(), ""),
        };
        println!("{:<56} {:>9} {:>14}   {}", ratio.name, value, target, met);
    }
    for note in &r.notes {
        println!("note: {note}");
    }
    println!();
    println!("(took {:.0} s)", took.as_secs_f64());
}

fn secs(s: f64) -> String {
    if s < 0.1 {
        format!("{:.1}ms", s * 1000.0)
    } else {
        format!("{s:.3}")
    }
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}
