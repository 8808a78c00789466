//! `udpsh load --to ADDR (--payload HEX | --payload-file F | --text T | --dns NAME[/TYPE] |
//! --script F.rhai) [...]` and `udpsh load merge A.json B.json ...`.
//!
//! Exit status: 0 the run ended and crossed no threshold; 1 a threshold (`--max-p99`,
//! `--max-p999`, `--max-loss`) was crossed; 2 a bad option or file (nothing was sent); 3 the
//! network or the script failed; 130 Ctrl-C.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::engine::{self, Failure, Hooks, Progress, Reply, Sampled};
use super::histogram;
use super::pairing::Pairing;
use super::plan::{Plan, Requests};
use super::record;
use super::render;
use super::result::{self, Report};
use super::settings::Asked;
use crate::capture::Recorder;
use crate::display::{one_line, print_error};
use crate::outcome::exit;
use crate::protocols::dns;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Where the requests come from.
pub enum Payload {
    /// `--payload HEX` or `--text T`.
    Bytes(Vec<u8>),
    File(PathBuf),
    /// `--dns NAME[/TYPE]`: a recursive query (type A unless given).
    Dns(String),
    /// `--script F.rhai`, compiled and run: its value is the options map of `load()`.
    Script(Box<dyn Script>),
}

/// A `--script` whose value was the options map of `load()`; its closures run in the
/// script's engine (the API, above this room, makes it: `api::loadtest`).
pub trait Script {
    /// What the map asked (the command line's flags go over it).
    fn asked(&self) -> Asked;
    fn take_requests(&mut self) -> Requests;
    fn has_check(&self) -> bool;
    /// Appends request `i` made by its `request` closure; an error comes rendered.
    fn request(&mut self, i: u64, out: &mut Vec<u8>) -> Result<(), String>;
    fn check(&mut self, reply: &Reply) -> Result<bool, String>;
}

/// `--max-p99`, `--max-p999`, `--max-loss`.
#[derive(Clone, Debug, Default)]
pub struct Thresholds {
    pub max_p99: Option<Duration>,
    pub max_p999: Option<Duration>,
    pub max_loss: Option<f64>,
}

impl Thresholds {
    /// What `r` crossed, with the numbers.
    pub fn crossed(&self, r: &Report) -> Vec<String> {
        let mut out = Vec::new();
        for (limit, value, name, flag) in [
            (self.max_p99, r.latency.p99, "p99", "--max-p99"),
            (self.max_p999, r.latency.p999, "p99.9", "--max-p999"),
        ] {
            if let Some(limit) = limit
                && value > limit.as_secs_f64()
            {
                out.push(format!(
                    "{name} latency {} is over {flag} {}",
                    render::duration(value),
                    render::duration(limit.as_secs_f64())
                ));
            }
        }
        if let Some(limit) = self.max_loss
            && r.counts.loss() > limit
        {
            out.push(format!(
                "loss {} ({} of {} requests) is over --max-loss {}",
                render::percent(r.counts.loss()),
                r.counts.lost,
                r.counts.sent,
                render::percent(limit)
            ));
        }
        out
    }
}

/// What `udpsh load` was asked, as plain values (`options.rs` makes it from the command line).
pub struct LoadCommand {
    pub to: SocketAddr,
    pub payload: Payload,
    pub asked: Asked,
    pub thresholds: Thresholds,
    pub json: Option<PathBuf>,
    pub pcap: Option<PathBuf>,
}

pub struct MergeCommand {
    pub files: Vec<PathBuf>,
    pub json: Option<PathBuf>,
    pub thresholds: Thresholds,
}

/// `20k`, `1.5M`, `500`: requests per second, above 0.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim().trim_end_matches("/s");
    let (number, scale) = match t.char_indices().last() {
        Some((at, 'k' | 'K')) => (&t[..at], 1e3),
        Some((at, 'm' | 'M')) => (&t[..at], 1e6),
        _ => (t, 1.0),
    };
    match number.parse::<f64>().map(|n| n * scale) {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "'{text}' is not a rate: write 500, 20k or 1.5M (per second)"
        )),
    }
}

/// `100000`, `100k`, `10M`: a whole number of requests.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let bad = || format!("'{text}' is not a count: write 1000, 100k or 10M");
    let n = parse_rate(text).map_err(|_| bad())?;
    (n.fract() == 0.0 && n < 1e15)
        .then_some(n as u64)
        .ok_or_else(bad)
}

/// The bytes of `--payload` (clap would take a bare `Vec<u8>` for many values).
#[derive(Clone, Debug)]
pub struct Hex(pub Vec<u8>);

fn usage(message: impl std::fmt::Display) -> i32 {
    print_error(message);
    exit::USAGE
}

pub fn run(mut cmd: LoadCommand) -> i32 {
    if let Some(code) = check_outputs(cmd.json.as_deref(), cmd.pcap.as_deref()) {
        return code;
    }
    let (requests, scripted, asked, default_pair) = match requests(&mut cmd) {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    let check = scripted.as_ref().is_some_and(|s| s.has_check());
    let plan = match asked.plan(cmd.to, requests, check, default_pair) {
        Ok(p) => p,
        Err(bad) => return usage(bad.flag()),
    };
    let recorder = match cmd.pcap.as_deref().map(Recorder::create).transpose() {
        Ok(r) => r,
        Err(e) => return usage(e),
    };
    println!("{}", header(&plan));
    let _ = std::io::stdout().flush();
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::Relaxed) {
            std::process::exit(exit::INTERRUPTED);
        }
    });
    let live = std::io::stderr().is_terminal();
    let mut hooks = Cli {
        scripted,
        recorder: recorder.as_ref(),
        live,
        capture_error: None,
    };
    let outcome = engine::run(&plan, &mut hooks);
    if live {
        eprint!("\r\x1b[2K");
    }
    if let Some(e) = hooks.capture_error.take() {
        eprintln!("warning: {e}");
    }
    let report = match outcome {
        Ok(r) => r,
        Err(Failure::Setup(bad)) => return usage(bad.flag()),
        Err(Failure::Hook(Stop::Interrupted)) => {
            eprintln!("interrupted");
            return exit::INTERRUPTED;
        }
        Err(Failure::Hook(Stop::Script(e)) | Failure::Request(e) | Failure::Network(e)) => {
            print_error(e);
            return exit::ERROR;
        }
    };
    finish(&report, &[], cmd.json.as_deref(), &cmd.thresholds)
}

/// Prints the report, writes `--json`, and checks the thresholds: the exit status.
fn finish(report: &Report, notes: &[String], json: Option<&Path>, limits: &Thresholds) -> i32 {
    let latency = match report.histograms() {
        Ok(h) => h.latency,
        Err(_) => histogram::new(),
    };
    print!("{}", render::report(report, &latency));
    for note in notes {
        eprintln!("note: {note}");
    }
    if let Some(path) = json
        && let Err(e) = std::fs::write(path, report.to_json())
    {
        print_error(format_args!(
            "cannot write {}: {e}",
            one_line(&path.to_string_lossy())
        ));
        return exit::ERROR;
    }
    let crossed = limits.crossed(report);
    for line in &crossed {
        eprintln!("threshold crossed: {line}");
    }
    if crossed.is_empty() {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// `--json` and `--pcap` must be two files.
fn check_outputs(json: Option<&Path>, pcap: Option<&Path>) -> Option<i32> {
    let (Some(json), Some(pcap)) = (json, pcap) else {
        return None;
    };
    (json == pcap).then(|| usage("--json and --pcap name the same file: give each its own"))
}

/// The requests, the script behind them (if any), what it asked, and the pairing they
/// suggest (DNS for `--dns`).
type Prepared = (Requests, Option<Box<dyn Script>>, Asked, Pairing);

fn requests(cmd: &mut LoadCommand) -> Result<Prepared, String> {
    let asked = cmd.asked.clone();
    let payload = std::mem::replace(&mut cmd.payload, Payload::Bytes(Vec::new()));
    Ok(match payload {
        Payload::Bytes(b) => (Requests::One(b), None, asked, Pairing::Order),
        Payload::File(path) => {
            let bytes = std::fs::read(&path).map_err(|e| {
                format!("--payload-file {}: {e}", one_line(&path.to_string_lossy()))
            })?;
            (Requests::One(bytes), None, asked, Pairing::Order)
        }
        Payload::Dns(spec) => {
            let (name, qtype) = spec.split_once('/').unwrap_or((&spec, "A"));
            let query =
                dns::query(0, name, qtype, None).map_err(|e| format!("--dns {spec}: {e}"))?;
            (Requests::One(query), None, asked, Pairing::Dns)
        }
        Payload::Script(mut script) => {
            let asked = asked.over(script.asked());
            (script.take_requests(), Some(script), asked, Pairing::Order)
        }
    })
}

/// `udpsh load: 127.0.0.1:53, 1,000/s for 10s (10,000 requests), 8 clients, pair dns, timeout 1s`.
fn header(plan: &Plan) -> String {
    let s = &plan.schedule;
    let mut text = format!(
        "udpsh load: {}, {} for {} ({} requests), {} clients, pair {}, timeout {}",
        plan.target,
        render::per_second(s.rate()),
        render::duration(s.end() as f64 / 1e9),
        crate::net::group(usize::try_from(s.total()).unwrap_or(usize::MAX)),
        plan.clients,
        plan.pairing,
        render::duration(plan.timeout.as_secs_f64())
    );
    if s.measured_from() > 0 {
        text += &format!(
            ", warm-up {}",
            render::duration(s.measured_from() as f64 / 1e9)
        );
    }
    if !s.segment().is_whole() {
        text += &format!(
            ", segment {} ({} requests)",
            s.segment(),
            crate::net::group(usize::try_from(s.len()).unwrap_or(usize::MAX))
        );
    }
    text
}

pub fn merge(cmd: MergeCommand) -> i32 {
    let mut reports = Vec::new();
    for path in &cmd.files {
        let shown = one_line(&path.to_string_lossy()).into_owned();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return usage(format_args!("{shown}: {e}")),
        };
        match Report::from_json(&text).and_then(|r| r.histograms().map(|_| r)) {
            Ok(r) => reports.push(r),
            Err(e) => return usage(format_args!("{shown}: {e}")),
        }
    }
    if cmd.json.as_ref().is_some_and(|j| cmd.files.contains(j)) {
        return usage("--json names one of the files to merge: give it a file of its own");
    }
    let (merged, notes) = match result::merge(&reports) {
        Ok(m) => m,
        Err(e) => return usage(e),
    };
    println!(
        "udpsh load merge: {}, {}, pair {}",
        crate::display::plural(reports.len() as u64, "result", "results"),
        merged.target,
        merged.pair
    );
    finish(&merged, &notes, cmd.json.as_deref(), &cmd.thresholds)
}

/// Why a command-line run stopped early.
enum Stop {
    Interrupted,
    Script(String),
}

struct Cli<'a> {
    scripted: Option<Box<dyn Script>>,
    recorder: Option<&'a Recorder>,
    live: bool,
    capture_error: Option<String>,
}

impl Hooks for Cli<'_> {
    type Error = Stop;

    fn request(&mut self, i: u64, out: &mut Vec<u8>) -> Result<(), Stop> {
        match &mut self.scripted {
            Some(s) => s.request(i, out).map_err(Stop::Script),
            None => Ok(()),
        }
    }

    fn check(&mut self, reply: &Reply) -> Result<bool, Stop> {
        match &mut self.scripted {
            Some(s) => s.check(reply).map_err(Stop::Script),
            None => Ok(true),
        }
    }

    fn sampled(&mut self, d: &Sampled) {
        if let Some(recorder) = self.recorder
            && let Err(e) = record::record(recorder, d, &record::comment("udpsh", d))
        {
            self.capture_error.get_or_insert_with(|| e.to_string());
        }
    }

    fn tick(&mut self, progress: &Progress) -> Result<(), Stop> {
        if INTERRUPTED.load(Ordering::Relaxed) {
            return Err(Stop::Interrupted);
        }
        if self.live {
            eprint!("\r\x1b[2K{}", render::live_line(progress));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::histogram::Summary;
    use crate::load::result::Counts;

    #[test]
    fn rates_and_counts_take_suffixes() {
        assert_eq!(parse_rate("20k"), Ok(20_000.0));
        assert_eq!(parse_rate("1.5M"), Ok(1_500_000.0));
        assert_eq!(parse_rate("250/s"), Ok(250.0));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("fast").is_err());
        assert_eq!(parse_count("10M"), Ok(10_000_000));
        assert!(parse_count("1.5").is_err());
    }

    #[test]
    fn thresholds_say_the_numbers() {
        let r = Report {
            target: "x".into(),
            requested_rate: 1.0,
            segment: None,
            pair: "order".into(),
            counts: Counts {
                sent: 1000,
                received: 990,
                lost: 10,
                ..Counts::default()
            },
            rate: 0.0,
            throughput: 0.0,
            behind: 0.0,
            seconds: 1.0,
            latency: Summary {
                p99: 0.0123,
                p999: 0.02,
                ..Summary::default()
            },
            service: Summary::default(),
            timeline: vec![],
            histogram: String::new(),
            service_histogram: String::new(),
        };
        let t = Thresholds {
            max_p99: Some(Duration::from_millis(5)),
            max_p999: Some(Duration::from_millis(50)),
            max_loss: Some(0.001),
        };
        assert_eq!(
            t.crossed(&r),
            [
                "p99 latency 12.3ms is over --max-p99 5.00ms",
                "loss 1% (10 of 1000 requests) is over --max-loss 0.1%"
            ]
        );
        assert!(Thresholds::default().crossed(&r).is_empty());
    }
}
