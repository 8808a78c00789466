//! `udpsh fuzz --to ADDR --start 'PROGRAM ARGS...' ...`: starts the program, fuzzes it, and
//! prints what it found; exit 1 when a crash was found, 0 when none.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::fields::Fields;
use super::wire::{CaptureTap, Recording};
use super::{Config, Crash, Error, Hooks, Protocol, Report, live, seeds};
use crate::binary::Layout;
use crate::capture::Recorder;
use crate::display::print_error;
use crate::outcome::exit;
use crate::process::ready::{Target, wait_bound};
use crate::process::{Child, GRACE};
use crate::stop::{Stop, StopReason};

/// What `udpsh fuzz` was asked, as plain values (`options.rs` makes it from the command line).
pub struct FuzzCommand {
    pub to: SocketAddr,
    /// The program and its arguments, as one shell-quoted line.
    pub start: Option<String>,
    pub seed_files: Vec<PathBuf>,
    pub from: Vec<PathBuf>,
    pub hex: Vec<Vec<u8>>,
    pub protocol: Option<Protocol>,
    pub layout: Option<Layout>,
    pub cases: Option<u64>,
    pub duration: Option<Duration>,
    pub seed: Option<u64>,
    pub out: PathBuf,
    pub restart: bool,
    pub every: u64,
    pub hang: Duration,
    pub probe: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    pub pcap: Option<PathBuf>,
}

/// Recorded during the fuzzing with `--pcap`: one case in this many, as `load` samples.
const SAMPLE: u64 = 1000;
/// How long the program may take to bind its port.
const STARTUP: Duration = Duration::from_secs(10);

pub fn run(args: &FuzzCommand) -> i32 {
    match prepare(args) {
        Ok((cfg, child, recording)) => fuzz(args, &cfg, child, recording),
        Err(e) => {
            print_error(e);
            exit::USAGE
        }
    }
}

type Prepared = (Config, Option<Arc<Child>>, Option<Recording>);

fn prepare(args: &FuzzCommand) -> Result<Prepared, String> {
    let mut seeds: Vec<Vec<u8>> = args.hex.clone();
    for path in args.seed_files.iter().chain(&args.from) {
        seeds.extend(seeds::load(path, args.to.port())?);
    }
    if seeds.is_empty() {
        seeds = args.protocol.map(Protocol::default_seeds).ok_or(
            "fuzz needs seeds: --seed-file FILE, --from CAPTURE, --hex HEX, or --protocol for its usual requests",
        )?;
    }
    let mut cfg = Config::new(args.to, seeds);
    cfg.fields = args.layout.as_ref().map(Fields::of);
    cfg.protocol = args.protocol;
    cfg.cases = args.cases;
    cfg.duration = args.duration;
    cfg.seed = args.seed.unwrap_or_else(|| crate::random::global().seed());
    cfg.out = args.out.clone();
    cfg.restart = args.restart;
    cfg.every = args.every.max(1);
    cfg.hang = args.hang;
    cfg.probe = args.probe.clone();
    if cfg.cases.is_none() && cfg.duration.is_none() && args.timeout.is_none() {
        return Err("fuzz needs a bound: --cases N, --duration TIME or --timeout SECS".into());
    }
    let recording = match &args.pcap {
        Some(path) => Some(Recording {
            tap: Arc::new(CaptureTap {
                recorder: Recorder::create(path).map_err(|e| e.to_string())?,
                comment: "udpsh fuzz".into(),
            }),
            sample: SAMPLE,
        }),
        None => None,
    };
    let child = match &args.start {
        Some(line) => Some(Arc::new(start(line, args.to)?)),
        None => None,
    };
    Ok((cfg, child, recording))
}

/// Starts the program of `--start` and waits until it has bound the target's port.
fn start(line: &str, to: SocketAddr) -> Result<Child, String> {
    let words = shlex::split(line).ok_or_else(|| format!("--start '{line}': unbalanced quotes"))?;
    let (program, args) = words
        .split_first()
        .ok_or("--start needs a program and its arguments")?;
    let child = Child::start(program, args).map_err(|e| e.to_string())?;
    let target = Target {
        ip: Some(to.ip()),
        port: to.port(),
    };
    if let Err(e) = wait_bound(target, STARTUP, &Stop::default()) {
        let output = child.output();
        child.stop(GRACE);
        return Err(format!(
            "{e}\n{}",
            crate::display::terminal_safe(output.trim_end())
        ));
    }
    Ok(child)
}

struct Terminal {
    stop: Stop,
    live: bool,
    recording: Option<Recording>,
    shown: bool,
}

impl Hooks for Terminal {
    fn alive(&mut self) -> Option<Result<bool, String>> {
        None
    }

    fn has_alive(&self) -> bool {
        false
    }

    fn stopped(&self) -> Option<StopReason> {
        self.stop.check()
    }

    fn progress(&mut self, report: &Report, last: Option<&Crash>) {
        if self.live {
            self.shown = true;
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K{}", live::line(report, last));
            let _ = err.flush();
        }
    }

    fn recorder(&self) -> Option<Recording> {
        self.recording.clone()
    }
}

fn fuzz(
    args: &FuzzCommand,
    cfg: &Config,
    child: Option<Arc<Child>>,
    recording: Option<Recording>,
) -> i32 {
    let mut term = Terminal {
        stop: Stop::new(args.timeout),
        live: std::io::stderr().is_terminal(),
        recording,
        shown: false,
    };
    let result = super::run(cfg, child.clone(), &mut term);
    if let Some(c) = &child {
        c.stop(GRACE);
    }
    if term.shown {
        eprint!("\r\x1b[2K");
    }
    let target = cfg.target.to_string();
    match result {
        Ok(report) => {
            print!("{}", live::summary(&target, &report));
            if report.crashes.is_empty() {
                exit::OK
            } else {
                exit::FAILED
            }
        }
        Err(Error::Stopped(reason, report)) => {
            print!("{}", live::summary(&target, &report));
            print_error(format!("fuzz stopped ({})", reason.as_str()));
            exit::ERROR
        }
        Err(Error::Failed(message)) => {
            print_error(message);
            exit::ERROR
        }
    }
}
