//! The fuzzer of `fuzz(target, #{...})` and `udpsh fuzz`: a black box, native and seeded.
//!
//! - [`cases`] makes the cases from the seeds: byte mutators ([`mutate`], AFL's havoc), field
//!   by field from a layout ([`fields`]), by structure for DNS, CoAP and STUN ([`structure`]);
//!   the same seed gives the same cases.
//! - [`wire`] sends them in batches (`sendmmsg`), paced by probes the target answers, and is
//!   the one seam through which datagrams are recorded.
//! - [`oracle`] tells a crash: the owned process ended (a signal, an exit), a sanitizer report
//!   in its output, the port refused (ICMP), or no answer within the `hang` time.
//! - [`engine`] runs the loop; on a crash [`pin`] replays the datagrams since the last good
//!   check with restarts to find the one or the sequence, [`minimize`] shrinks it (ddmin over
//!   the sequence, then over the bytes), and [`reproducer`] writes `crash-<hash>.rhai` (a
//!   `test()` that fails while the bug is there) and `crash-<hash>.pcapng`.
//!
//! No Rhai here: the script's `alive` check comes in through [`Hooks`].

pub mod cases;
pub mod command;
pub mod engine;
pub mod fields;
mod found;
pub mod live;
pub mod minimize;
pub mod mutate;
pub mod oracle;
pub mod pin;
pub mod reproducer;
pub mod seeds;
pub mod structure;
mod trial;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use engine::run;
pub use oracle::{Kind, Verdict};
pub use structure::Protocol;

use crate::stop::StopReason;

/// What to fuzz, and how.
#[derive(Clone, Debug)]
pub struct Config {
    pub target: SocketAddr,
    pub seeds: Vec<Vec<u8>>,
    pub fields: Option<fields::Fields>,
    pub protocol: Option<Protocol>,
    /// Stop after this many cases, or after `duration`, whichever comes first.
    pub cases: Option<u64>,
    pub duration: Option<Duration>,
    pub seed: u64,
    /// After a crash, start the program again and go on; else stop at the first.
    pub restart: bool,
    /// Where `crash-<hash>.rhai` and `.pcapng` go.
    pub out: PathBuf,
    /// Cases between two liveness checks.
    pub every: u64,
    /// No answer within this long is a hang.
    pub hang: Duration,
    /// Cases grow up to this many bytes.
    pub max_len: usize,
    /// The datagram that asks whether the target answers; default: the first seed it answers.
    pub probe: Option<Vec<u8>>,
    /// At most this many trial runs to pin and minimize one crash.
    pub trials: u32,
}

impl Config {
    pub const EVERY: u64 = 1000;
    pub const HANG: Duration = Duration::from_secs(1);
    pub const TRIALS: u32 = 400;

    pub fn new(target: SocketAddr, seeds: Vec<Vec<u8>>) -> Config {
        Config {
            target,
            seeds,
            fields: None,
            protocol: None,
            cases: None,
            duration: None,
            seed: 1,
            restart: false,
            out: PathBuf::from("crashes"),
            every: Config::EVERY,
            hang: Config::HANG,
            max_len: 0,
            probe: None,
            trials: Config::TRIALS,
        }
    }

    /// How long cases may grow: four times the longest seed, at least 1 KiB, at most what one
    /// datagram carries.
    pub fn max_len(&self) -> usize {
        let most = if self.target.is_ipv6() {
            crate::capture::MAX_PAYLOAD_V6
        } else {
            crate::capture::MAX_PAYLOAD_V4
        };
        if self.max_len > 0 {
            return self.max_len.min(most);
        }
        let longest = self.seeds.iter().map(Vec::len).max().unwrap_or(0);
        (4 * longest).max(1024).min(most)
    }
}

/// One unique crash, pinned and minimized.
#[derive(Clone, Debug)]
pub struct Crash {
    pub verdict: Verdict,
    /// The minimized datagrams that make it happen, in order (the last is the input).
    pub sequence: Vec<Vec<u8>>,
    /// False when it could not be made to happen again (then `sequence` is what was sent
    /// since the last good check, unminimized).
    pub pinned: bool,
    /// The case count when it was seen, and how long the fuzzing had run by then.
    pub case: u64,
    pub at: Duration,
    /// How many times it was seen (the same kind and place, or the same minimized input).
    pub seen: u64,
    pub file: Option<PathBuf>,
    pub capture: Option<PathBuf>,
}

impl Crash {
    pub fn input(&self) -> &[u8] {
        self.sequence.last().map_or(&[], Vec::as_slice)
    }
}

/// What a fuzz run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Cases the target received (those dropped at its socket are not counted when it can be
    /// seen).
    pub cases: u64,
    pub sent: u64,
    /// Cases dropped at the target's full receive buffer.
    pub dropped: u64,
    pub probes: u64,
    pub replies: u64,
    pub elapsed: Duration,
    pub restarts: u64,
    pub crashes: Vec<Crash>,
    /// Crashes counted as one already known without pinning them (see `found.rs`).
    pub repeats: u64,
    pub seed: u64,
    /// Why it ended early (`--timeout`, Ctrl-C).
    pub stopped: Option<StopReason>,
    /// What the user should know (no probe, so no hang detection; a crash not pinned; ...).
    pub notes: Vec<String>,
}

impl Report {
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.cases as f64 / secs
        } else {
            0.0
        }
    }
}

/// What the fuzzer asks of its caller.
pub trait Hooks {
    /// The script's liveness check (`alive`), called between batches; `None` when there is
    /// none. `Err` is a message: the check failed (a timeout, a refusal), which counts as
    /// "not alive".
    fn alive(&mut self) -> Option<Result<bool, String>>;
    /// Whether there is an `alive` check (without calling it).
    fn has_alive(&self) -> bool;
    /// Whether to stop now, and why (`--timeout`, Ctrl-C).
    fn stopped(&self) -> Option<StopReason>;
    /// Called about ten times a second with the progress so far, and at each crash.
    fn progress(&mut self, _report: &Report, _last: Option<&Crash>) {}
    /// Where datagrams are recorded (the run's `--pcap`), if anywhere.
    fn recorder(&self) -> Option<wire::Recording> {
        None
    }
}

/// Why a fuzz run could not go on.
#[derive(Debug)]
pub enum Error {
    /// Bad options, a target that is not alive at the start, a program that will not start.
    Failed(String),
    Stopped(StopReason, Box<Report>),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Failed(m) => f.write_str(m),
            Error::Stopped(r, report) => write!(
                f,
                "fuzz stopped ({}) after {} cases, {} crashes found",
                r.as_str(),
                report.cases,
                report.crashes.len()
            ),
        }
    }
}
