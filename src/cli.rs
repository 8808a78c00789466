//! The command line (clap definitions only).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::report::ReportSpec;

#[derive(Parser, Debug)]
#[command(
    name = "udpsh",
    version,
    about = "A scriptable UDP test harness and packet REPL",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Run a one-line script, like `python3 -c`.
    #[arg(short = 'e', value_name = "SCRIPT")]
    pub eval: Option<String>,

    #[command(flatten)]
    pub common: Common,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Interactive shell (the default).
    Repl(Common),
    /// Run scripts (files, or every *.rhai below folders) with assertions.
    Run(Box<RunArgs>),
    /// Print shell completions: `source <(udpsh completions bash)`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Compile scripts and the modules they import, and report syntax errors; run nothing.
    Check {
        /// Script files or folders (every *.rhai below).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Forward UDP to a server with loss, delay, jitter, duplication and reordering.
    Proxy(ProxyArgs),
    /// Resend the client side of a capture to a server; with --check, compare the replies.
    Replay(ReplayArgs),
    /// Open-loop load with latency percentiles: requests on schedule, replies paired.
    Load(Box<LoadArgs>),
    /// Fuzz a UDP service: start it, send it mutated datagrams, pin and minimize each crash.
    Fuzz(Box<FuzzArgs>),
}

/// Options shared by `run`, `repl` and `-e`.
#[derive(Args, Debug, Default, Clone)]
pub struct Common {
    /// A value the script reads with var("NAME", default); repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,

    /// Record every datagram to FILE (.pcapng → pcapng, else pcap).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Wall-clock limit per script, in seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<f64>,

    /// Show every datagram sent and received.
    #[arg(short, long)]
    pub verbose: bool,

    /// How large a script's strings, arrays, blobs and maps may grow (default 256M).
    #[arg(long, value_name = "SIZE", value_parser = crate::api::limits::parse_size)]
    pub max_memory: Option<usize>,

    /// Make every random draw repeatable: random_bytes, random_int, the modules' ids and
    /// tokens, and the seeds of proxies not given one.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Script files or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub common: Common,

    /// One capture per script in DIR, named after the script.
    #[arg(long, value_name = "DIR", conflicts_with = "pcap")]
    pub pcap_dir: Option<PathBuf>,

    /// junit=FILE, tap[=FILE] or json=FILE; repeatable.
    #[arg(long = "report", value_name = "FORMAT")]
    pub reports: Vec<ReportSpec>,

    /// Run up to N scripts at once.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// Only failures and the summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Only tests whose `file › test` name contains PATTERN (`*` matches anything); repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub filter: Vec<String>,

    /// Leave out tests whose name contains PATTERN; repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,

    /// Only tests with this tag; repeatable (any of them).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,

    /// Leave out tests with this tag; repeatable.
    #[arg(long, value_name = "TAG")]
    pub skip_tag: Vec<String>,

    /// Print what would run (one `file › test` a line), run nothing.
    #[arg(long)]
    pub list: bool,

    /// Run a failed test again, up to N more times; one that then passes is flaky.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(crate::api::suite::MAX_RETRIES)))]
    pub retry: u32,

    /// Run every script N times (soak, flakiness hunting); every run is counted.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,

    /// Stop at the first failure: no later test or script starts.
    #[arg(long)]
    pub fail_fast: bool,

    /// Run the I-th of N deterministic slices of the suite.
    #[arg(long, value_name = "I/N", value_parser = crate::runner::discover::parse_shard)]
    pub shard: Option<(usize, usize)>,
}

#[derive(Args, Debug)]
pub struct ProxyArgs {
    /// The server to forward to (host:port).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    pub to: SocketAddr,

    /// Where clients send to.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0", value_parser = parse_addr)]
    pub listen: SocketAddr,

    /// Share of datagrams dropped: 5% or 0.05.
    #[arg(long, value_name = "P", value_parser = crate::proxy::values::probability, allow_hyphen_values = true)]
    pub loss: Option<f64>,

    /// Added to every datagram: 20ms, 1.5s.
    #[arg(long, value_name = "TIME", value_parser = parse_delay, allow_hyphen_values = true)]
    pub delay: Option<Duration>,

    /// Each delay varies by up to this much either way (order is kept).
    #[arg(long, value_name = "TIME", value_parser = parse_delay, allow_hyphen_values = true)]
    pub jitter: Option<Duration>,

    /// Share of datagrams sent twice.
    #[arg(long, value_name = "P", value_parser = crate::proxy::values::probability, allow_hyphen_values = true)]
    pub dup: Option<f64>,

    /// Share of datagrams that go out after the next one.
    #[arg(long, value_name = "P", value_parser = crate::proxy::values::probability, allow_hyphen_values = true)]
    pub reorder: Option<f64>,

    /// Makes every decision reproducible (printed when not given).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Record both legs to FILE (.pcapng: with what the proxy did to each datagram).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Stop once N datagrams (both directions) have arrived.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Stop after this long: 30s, 500ms.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// A pcap or pcapng capture (udpsh, tcpdump, Wireshark).
    pub file: PathBuf,

    /// The server to replay against (host:port).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    pub to: SocketAddr,

    /// Recorded spacing divided by X; `max` sends without waiting.
    #[arg(long, value_name = "X|max", default_value = "1", value_parser = crate::replay::parse_speed)]
    pub speed: crate::replay::Speed,

    /// Which datagrams are the requests: dport=53, src=10.0.0.5:4000 (default: every one
    /// sent to the first datagram's destination).
    #[arg(long, value_name = "EXPR", value_parser = crate::capture::Filter::parse)]
    pub filter: Option<crate::capture::Filter>,

    /// Compare each live reply with the recorded one.
    #[arg(long)]
    pub check: bool,

    /// Byte offsets not compared, e.g. 0-1 (a DNS id); repeatable.
    #[arg(long = "ignore-bytes", value_name = "A-B", value_parser = crate::replay::parse_ignore)]
    pub ignore: Vec<crate::replay::ByteRange>,

    /// How long to wait for replies after the last request.
    #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_duration)]
    pub wait: Duration,
}

/// `udpsh load --to ADDR (--payload HEX | ...)`, or `udpsh load merge A.json ...`.
#[derive(Args, Debug)]
#[command(subcommand_negates_reqs = true, args_conflicts_with_subcommands = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    pub merge: Option<LoadMerge>,

    /// The server (host:port).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr, required = true)]
    pub to: Option<SocketAddr>,

    #[command(flatten)]
    pub request: LoadRequest,

    /// Requests per second of the whole run, open loop: 20k, 1.5M, 500 (default 1k).
    #[arg(long, value_name = "N", value_parser = crate::load::command::parse_rate)]
    pub rate: Option<f64>,

    /// How long requests are sent: 10s, 500ms (default 10s).
    #[arg(long, value_name = "TIME", value_parser = parse_duration, conflicts_with = "count")]
    pub duration: Option<Duration>,

    /// How many requests the whole run sends.
    #[arg(long, value_name = "N", value_parser = crate::load::command::parse_count)]
    pub count: Option<u64>,

    /// Source sockets, each its own port; requests go round-robin (default 8).
    #[arg(long, value_name = "N")]
    pub clients: Option<usize>,

    /// Pairing of replies: dns, coap, stun, bytes:A-B (inclusive) or order (the default;
    /// dns with --dns).
    #[arg(long, value_name = "HOW", value_parser = crate::load::Pairing::parse)]
    pub pair: Option<crate::load::Pairing>,

    /// Unanswered after this, a request is lost (a reply after it: late); default 1s.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub timeout: Option<Duration>,

    /// The first part of the run, sent but left out of the results.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub warmup: Option<Duration>,

    #[command(flatten)]
    pub thresholds: LoadThresholds,

    /// Send the requests of the schedule with index I modulo N (I from 0): one of N processes.
    #[arg(long, value_name = "I/N", value_parser = crate::load::Segment::parse)]
    pub segment: Option<crate::load::Segment>,

    /// Write the result (counts, percentiles, timeline, histograms) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Record one request in --sample with its reply to FILE (.pcapng: with comments).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Record one request in N (default 1000; 0: none).
    #[arg(long, value_name = "N")]
    pub sample: Option<u64>,

    /// A value --script reads with var("NAME", default); repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

/// Where the requests come from: exactly one.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct LoadRequest {
    /// The request in hex: "00 01 ab".
    #[arg(long, value_name = "HEX", value_parser = parse_hex)]
    pub payload: Option<crate::load::command::Hex>,

    /// The request is this file's bytes.
    #[arg(long, value_name = "FILE")]
    pub payload_file: Option<PathBuf>,

    /// The request is this text (UTF-8).
    #[arg(long, value_name = "TEXT")]
    pub text: Option<String>,

    /// A DNS query for NAME (type A, or NAME/TYPE); pairs by DNS id.
    #[arg(long, value_name = "NAME[/TYPE]")]
    pub dns: Option<String>,

    /// A script whose value is the options map of load() (its request may be |i| blob).
    #[arg(long, value_name = "F.rhai")]
    pub script: Option<PathBuf>,
}

#[derive(Args, Debug, Default, Clone)]
pub struct LoadThresholds {
    /// Exit 1 when the p99 latency is over TIME: 5ms.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub max_p99: Option<Duration>,

    /// Exit 1 when the p99.9 latency is over TIME.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub max_p999: Option<Duration>,

    /// Exit 1 when more requests than this are lost: 0.1% or 0.001.
    #[arg(long, value_name = "P", value_parser = crate::proxy::values::probability)]
    pub max_loss: Option<f64>,
}

#[derive(Subcommand, Debug)]
pub enum LoadMerge {
    /// Merge the --json results of segments (or of runs at the same time) into one.
    Merge {
        /// --json files of `udpsh load`.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,

        /// Write the merged result to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,

        #[command(flatten)]
        thresholds: LoadThresholds,
    },
}

/// `--payload "00 01 ab"`, read as `hex()` reads it.
fn parse_hex(text: &str) -> Result<crate::load::command::Hex, String> {
    crate::api::loadtest::parse_hex(text).map(crate::load::command::Hex)
}

#[derive(Args, Debug)]
pub struct FuzzArgs {
    /// The service to fuzz (host:port).
    #[arg(long, value_name = "ADDR", value_parser = parse_addr)]
    pub to: SocketAddr,

    /// The program serving it, started (and started again) by udpsh: 'PROGRAM ARGS...'.
    #[arg(long, value_name = "COMMAND")]
    pub start: Option<String>,

    /// A seed: a file's bytes, every file of a folder, or a capture's datagrams; repeatable.
    #[arg(long = "seed-file", value_name = "F")]
    pub seed_files: Vec<PathBuf>,

    /// Seeds from a capture (pcap, pcapng): the datagrams it holds to the target's port.
    #[arg(long, value_name = "CAPTURE")]
    pub from: Vec<PathBuf>,

    /// A seed in hex ("01 00 05 68 69"); repeatable.
    #[arg(long, value_name = "HEX", value_parser = parse_bytes)]
    pub hex: Vec<Vec<u8>>,

    /// Mutate by structure: dns, coap or stun (their usual requests are the seeds if none
    /// are given).
    #[arg(long, value_name = "NAME", value_parser = crate::fuzz::Protocol::parse)]
    pub protocol: Option<crate::fuzz::Protocol>,

    /// Mutate field by field: '!B kind, H len, 5s name' (as layout() takes it).
    #[arg(long, value_name = "LAYOUT", value_parser = parse_layout)]
    pub layout: Option<crate::binary::Layout>,

    /// Stop after N cases.
    #[arg(long, value_name = "N")]
    pub cases: Option<u64>,

    /// Stop after this long: 60s, 5m (pinning and minimizing come after).
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Makes the cases reproducible (printed when not given).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Where crash-<hash>.rhai and crash-<hash>.pcapng go.
    #[arg(long, value_name = "DIR", default_value = "crashes")]
    pub out: PathBuf,

    /// After a crash, start the program again and go on (else stop at the first).
    #[arg(long)]
    pub restart: bool,

    /// Cases between two liveness checks.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub every: u64,

    /// No answer to the probe within this long is a hang.
    #[arg(long, value_name = "TIME", default_value = "1s", value_parser = parse_duration)]
    pub hang: Duration,

    /// The datagram that asks whether it is alive (default: the first seed it answers).
    #[arg(long, value_name = "HEX", value_parser = parse_bytes)]
    pub probe: Option<Vec<u8>>,

    /// Wall-clock limit for everything, pinning and minimizing included, in seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<f64>,

    /// Record one case in 1,000 (and the probes' exchanges likewise) to FILE.
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
}

/// `--hex "01 00 05"` and `--probe 00`, read as `hex()` reads them.
fn parse_bytes(text: &str) -> Result<Vec<u8>, String> {
    crate::api::loadtest::parse_hex(text)
}

fn parse_layout(text: &str) -> Result<crate::binary::Layout, String> {
    crate::binary::Layout::parse(text).map_err(|e| e.to_string())
}

fn parse_addr(text: &str) -> Result<SocketAddr, String> {
    // A name that DNS never answers for is given up on after a few seconds, as a usage error.
    let lookup = crate::stop::Stop::new(Some(Duration::from_secs(5)));
    crate::net::addr::parse_addr_stoppable(text, false, &lookup).map_err(|e| match e {
        crate::net::NetError::Stopped(_) => format!("'{text}': no answer from DNS within 5s"),
        crate::net::NetError::Failed { message, .. } => format!("'{text}': {message}"),
    })
}

fn parse_delay(text: &str) -> Result<Duration, String> {
    crate::proxy::values::duration(text, false)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::proxy::values::span(text)
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))?;
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(format!("'{name}' is not a variable name"));
    }
    Ok((name.to_string(), value.to_string()))
}

fn parse_secs(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(s),
        Ok(s) if s >= 1e9 => Err(format!(
            "'{text}' seconds is more than 30 years: leave --timeout out to wait without end"
        )),
        _ => Err(format!("'{text}' is not a positive number of seconds")),
    }
}
