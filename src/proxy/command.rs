//! `udpsh proxy --to ADDR ...`: a rootless netem for UDP between any client and server.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use super::{DirStats, Impairment, Options, Proxy, Recording, Settings, Stats};
use crate::capture::Recorder;
use crate::display::print_error;
use crate::outcome::exit;

/// How often the live line is redrawn and the limits are checked.
const TICK: Duration = Duration::from_millis(100);

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    SIGNALLED.store(true, Ordering::Relaxed);
}

/// Ctrl-C and SIGTERM end the proxy cleanly: what it delays is sent, the counts printed.
fn catch_signals() {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// What `udpsh proxy` was asked, as plain values (`options.rs` makes it from the command line).
pub struct ProxyCommand {
    pub to: std::net::SocketAddr,
    pub listen: std::net::SocketAddr,
    pub loss: Option<f64>,
    pub delay: Option<Duration>,
    pub jitter: Option<Duration>,
    pub dup: Option<f64>,
    pub reorder: Option<f64>,
    pub seed: Option<u64>,
    pub pcap: Option<std::path::PathBuf>,
    /// Stop once this many datagrams (both ways) arrived.
    pub count: Option<u64>,
    pub duration: Option<Duration>,
}

pub fn run(args: &ProxyCommand) -> i32 {
    let imp = Impairment {
        loss: args.loss.unwrap_or(0.0),
        delay: args.delay.unwrap_or_default(),
        jitter: args.jitter.unwrap_or_default(),
        dup: args.dup.unwrap_or(0.0),
        reorder: args.reorder.unwrap_or(0.0),
    };
    let recording = match args.pcap.as_deref().map(Recorder::create).transpose() {
        Ok(r) => r.map(|recorder| Recording {
            recorder,
            local: None,
        }),
        Err(e) => {
            print_error(e);
            return exit::USAGE;
        }
    };
    let seed = args.seed.unwrap_or_else(|| crate::random::global().seed());
    let opts = Options {
        listen: args.listen,
        upstream: args.to,
        settings: Settings::both(imp),
        seed,
        recording,
        stop: None,
        limit: args.count,
    };
    catch_signals();
    let proxy = match Proxy::start(opts) {
        Ok(p) => p,
        Err(e) => {
            print_error(e);
            return exit::ERROR;
        }
    };
    println!(
        "udpsh proxy: listening on {}, forwarding to {} ({}, seed {seed})",
        proxy.addr(),
        args.to,
        describe(&imp)
    );
    let _ = std::io::stdout().flush();

    let live = std::io::stderr().is_terminal();
    let started = Instant::now();
    loop {
        std::thread::sleep(TICK);
        let stats = proxy.stats();
        if live {
            eprint!("\r\x1b[2K{}", live_line(&stats));
        }
        let received = stats.up.received + stats.down.received;
        let done = SIGNALLED.load(Ordering::Relaxed)
            || args.count.is_some_and(|n| received >= n)
            || args.duration.is_some_and(|d| started.elapsed() >= d);
        if done {
            break;
        }
    }
    let stats = proxy.close();
    if live {
        eprint!("\r\x1b[2K");
    }
    print!("{}", summary(&stats));
    if let Some(e) = proxy.capture_error() {
        eprintln!("warning: {e}");
    }
    0
}

/// `loss 5%, delay 20ms, jitter 5ms, dup 0%, reorder 0%`.
pub fn describe(imp: &Impairment) -> String {
    format!(
        "loss {}, delay {}, jitter {}, dup {}, reorder {}",
        percent(imp.loss),
        millis(imp.delay),
        millis(imp.jitter),
        percent(imp.dup),
        percent(imp.reorder)
    )
}

fn percent(p: f64) -> String {
    format!("{}%", (p * 1e4).round() / 1e2)
}

fn millis(d: Duration) -> String {
    format!("{}ms", (d.as_secs_f64() * 1e6).round() / 1e3)
}

/// `up: 120 in, 114 out, 6 dropped | down: 114 in, 114 out, 0 dropped`, short enough for a
/// narrow terminal; duplicates, reorders and queued ones only when there are some.
fn live_line(s: &Stats) -> String {
    let dir = |d: &DirStats| {
        let mut text = format!(
            "{} in, {} out, {} dropped",
            d.received,
            (d.forwarded + d.duplicated).saturating_sub(d.queued),
            d.dropped
        );
        for (n, what) in [
            (d.duplicated, "dup"),
            (d.reordered, "reordered"),
            (d.queued, "queued"),
        ] {
            if n > 0 {
                text += &format!(", {n} {what}");
            }
        }
        text
    };
    format!("up: {} | down: {}", dir(&s.up), dir(&s.down))
}

/// The counts printed at exit, one direction a line.
pub fn summary(s: &Stats) -> String {
    let dir = |name: &str, d: &DirStats| {
        let mut line = format!(
            "{name}: received {}, forwarded {}, dropped {}, duplicated {}, reordered {}, delayed {}",
            d.received, d.forwarded, d.dropped, d.duplicated, d.reordered, d.delayed
        );
        if d.errors > 0 {
            line += &format!(", send errors {}", d.errors);
        }
        line + "\n"
    };
    format!(
        "{}{}clients: {}\n",
        dir("up", &s.up),
        dir("down", &s.down),
        s.clients
    )
}
