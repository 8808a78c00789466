//! `udpsh fuzz` against boofuzz (from PyPI) on the same fast native target on loopback: the
//! planted server of fixtures/fuzz/ built with -DFIXED, which answers every datagram and, at
//! SIGTERM, prints how many it received. Each contender fuzzes it for `fuzz_secs` with a
//! liveness check every 1,000 cases; a case counts only if the target received it (its count,
//! less the contender's liveness probes). boofuzz is set up quietly: replies read, no web UI,
//! no console log, its results database in memory (`bench/boofuzz_udp.py`).
//!
//! Once: the time udpsh takes to each planted bug (buggy builds, with ASan for the overflow
//! only ASan sees), median of 5 seeds: until it is found, and until it is pinned, minimized
//! and written as a reproducer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{LIMIT, rotated};
use crate::child;
use crate::options::Config;
use crate::statistics::{Results, median};

/// Cases per sample, as the series count them (the time is scaled to it).
const PER: u64 = 100_000;

/// The planted server, built into the bench's temp folder once.
fn build(cfg: &Config, name: &str, flags: &[&str]) -> Result<PathBuf, String> {
    let out = cfg.tmp.join(name);
    if out.is_file() {
        return Ok(out);
    }
    let status = Command::new("cc")
        .args(["-O1", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(&out)
        .args(flags)
        .arg(cfg.root.join("fixtures/fuzz/planted.c"))
        .status()
        .map_err(|e| format!("cc: {e}"))?;
    if !status.success() {
        return Err(format!("cc {flags:?} planted.c failed"));
    }
    Ok(out)
}

fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_or(0, |a| a.port())
}

/// The number after `word` in `text`, commas dropped ("1,234 probes" → 1234 for "probes").
fn number_before(text: &str, word: &str) -> Option<f64> {
    let at = text.find(&format!(" {word}"))?;
    let start = text[..at].rfind(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))? + 1;
    text[start..at].replace(',', "").parse().ok()
}

fn boofuzz_installed(cfg: &Config) -> bool {
    cfg.python().is_some_and(|mut py| {
        py.args(["-c", "import boofuzz"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

pub fn round(cfg: &Config, r: &mut Results, round: usize) -> Result<(), String> {
    let target = build(cfg, "planted-fixed", &["-DFIXED"])?;
    let mut runs = vec!["fuzz.udpsh"];
    if boofuzz_installed(cfg) {
        runs.push("fuzz.boofuzz");
    } else if round == 0 {
        r.note("boofuzz not installed: its comparison skipped (pip install boofuzz)".into());
    }
    let secs = cfg.fuzz_secs;
    for key in rotated(runs, round) {
        let port = free_port();
        let mut server = Command::new(&target);
        server.arg(port.to_string());
        let server = child::start(&mut server, true, LIMIT)?;
        std::thread::sleep(Duration::from_millis(100));
        let to = format!("127.0.0.1:{port}");
        let (out, label, probes_word) = if key == "fuzz.udpsh" {
            let mut c = cfg.udpsh();
            c.args([
                "fuzz",
                "--to",
                &to,
                "--hex",
                "00",
                "--hex",
                "01 00 05 68 65 6c 6c 6f",
            ])
            .args([
                "--layout",
                "!B kind, H len, 5s name",
                "--every",
                "1000",
                "--seed",
            ])
            .arg((round + 1).to_string())
            .args(["--duration", &format!("{secs}s"), "--out"])
            .arg(cfg.tmp.join("fuzz-crashes"));
            (child::run(&mut c, LIMIT), "udpsh fuzz", "probes")
        } else {
            let mut c = cfg.python().ok_or("no python3")?;
            c.arg(cfg.root.join("bench/boofuzz_udp.py")).args([
                "127.0.0.1",
                &port.to_string(),
                &secs.to_string(),
                "-",
            ]);
            (child::run(&mut c, LIMIT), "boofuzz 0.4 (quiet)", "pings")
        };
        let counted = server.stop()?;
        let out = out?;
        let received = counted.value("received")?;
        let (fuzzing, probes) = if key == "fuzz.udpsh" {
            let text = &out.stdout;
            let secs = text
                .split(" cases in ")
                .nth(1)
                .and_then(|t| t.split('s').next())
                .and_then(|t| t.parse::<f64>().ok())
                .ok_or_else(|| format!("no time in udpsh's summary: {text}"))?;
            (secs, number_before(text, probes_word).unwrap_or(0.0))
        } else {
            (out.value("seconds")?, out.value(probes_word)?)
        };
        let cases = (received - probes).max(0.0);
        if cases > 0.0 && fuzzing > 0.0 {
            let rate = cases / fuzzing;
            r.add(key, label, PER, PER as f64 / rate, out.cpu.as_secs_f64());
        } else {
            r.note(format!("{label}: nothing counted ({})", out.stderr.trim()));
        }
    }
    Ok(())
}

/// A planted bug: its build, how the server is started, and the fuzz's options.
struct Bug {
    name: &'static str,
    build: (&'static str, &'static [&'static str]),
    dns: bool,
    options: &'static [&'static str],
}

const BUGS: &[Bug] = &[
    Bug {
        name: "shallow crash (SIGFPE)",
        build: ("planted", &[]),
        dns: false,
        options: &["--hex", "00", "--hex", "01 00 05 68 65 6c 6c 6f"],
    },
    Bug {
        name: "overflow only ASan sees",
        build: ("planted-asan", &["-fsanitize=address"]),
        dns: false,
        options: &["--hex", "00", "--hex", "02 00 05 68 65"],
    },
    Bug {
        name: "hang (0.3 s without an answer)",
        build: ("planted", &[]),
        dns: false,
        options: &[
            "--hex",
            "00",
            "--hex",
            "03 00 05 01 01 01 01 01",
            "--hang",
            "0.3s",
        ],
    },
    Bug {
        name: "two-datagram sequence (SIGSEGV)",
        build: ("planted", &[]),
        dns: false,
        options: &[
            "--hex",
            "00",
            "--hex",
            "04 00 05 68 65",
            "--hex",
            "01 00 05 68 65",
        ],
    },
    Bug {
        name: "exit 3",
        build: ("planted", &[]),
        dns: false,
        options: &["--hex", "00", "--hex", "05 00 03 6e 6f 77"],
    },
    Bug {
        name: "DNS pointer loop, --protocol dns",
        build: ("planted", &[]),
        dns: true,
        options: &["--protocol", "dns"],
    },
];

/// The time to each planted bug, median of 5 seeds.
pub fn time_to_bugs(cfg: &Config, r: &mut Results) -> Result<(), String> {
    for bug in BUGS {
        let program = match build(cfg, bug.build.0, bug.build.1) {
            Ok(p) => p,
            Err(e) => {
                r.note(format!("{}: {e}", bug.name));
                continue;
            }
        };
        let (mut found, mut done, mut cases) = (Vec::new(), Vec::new(), Vec::new());
        for seed in 1..=5u64 {
            match time_to_bug(cfg, bug, &program, seed) {
                Ok((case, at, wall)) => {
                    cases.push(case);
                    found.push(at);
                    done.push(wall);
                }
                Err(e) => r.note(format!("{}, seed {seed}: {e}", bug.name)),
            }
        }
        if let (Some(at), Some(wall), Some(case)) = (median(&found), median(&done), median(&cases))
        {
            r.once.push((
                format!("time to bug: {}", bug.name),
                at * 1e3,
                "ms",
                format!(
                    "found after {case:.0} cases (median of {}); found, pinned, minimized and written: {wall:.2} s",
                    found.len()
                ),
            ));
        }
    }
    Ok(())
}

/// (case, seconds of fuzzing, wall seconds of the whole command) for one seed.
fn time_to_bug(
    cfg: &Config,
    bug: &Bug,
    program: &Path,
    seed: u64,
) -> Result<(f64, f64, f64), String> {
    let port = free_port();
    let mut start = format!("{} {port}", program.display());
    if bug.dns {
        start += " dns";
    }
    let mut c = cfg.udpsh();
    c.args([
        "fuzz",
        "--to",
        &format!("127.0.0.1:{port}"),
        "--start",
        &start,
    ])
    .args(bug.options)
    .args([
        "--cases",
        "5000000",
        "--timeout",
        "60",
        "--seed",
        &seed.to_string(),
        "--out",
    ])
    .arg(cfg.tmp.join(format!("bugs-{seed}")));
    let out = child::run(&mut c, LIMIT)?;
    if out.status != 1 {
        return Err(format!(
            "no crash found (exit {}): {}",
            out.status,
            out.stdout.trim()
        ));
    }
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("found at case "))
        .ok_or("no 'found at case' line")?;
    let case: f64 = line
        .split(' ')
        .next()
        .map(|n| n.replace(',', ""))
        .and_then(|n| n.parse().ok())
        .ok_or("no case number")?;
    let at: f64 = line
        .split('(')
        .nth(1)
        .and_then(|t| t.split('s').next())
        .and_then(|t| t.parse().ok())
        .ok_or("no time")?;
    Ok((case, at, out.wall.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::number_before;

    #[test]
    fn reads_counts_out_of_the_summary() {
        let text = "  (12,345 probes, 1,000 replies)";
        assert_eq!(number_before(text, "probes"), Some(12345.0));
        assert_eq!(number_before(text, "replies"), Some(1000.0));
        assert_eq!(number_before(text, "pings"), None);
    }
}
