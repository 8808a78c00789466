//! `udpsh run` and `udpsh check`: find scripts, compile them all, run them (on up to `-j`
//! threads), print one line each, the failures, a summary, and write the reports.

pub mod discover;
pub mod outputs;
pub mod script;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::api::source::ReadError;
use crate::api::{self, Output, VarValue};
use crate::capture::Recorder;
use crate::outcome::{FileResult, Status, exit, exit_code};
use crate::report::{self, ReportSpec, terminal};

pub use script::{Compiled, RunSettings};

pub struct SuiteOptions {
    pub settings: RunSettings,
    pub reports: Vec<ReportSpec>,
    pub jobs: usize,
    pub quiet: bool,
    pub color: bool,
}

/// Reads and compiles every script; on any syntax error prints them all and returns `Err(exit::USAGE)`.
/// `--var` values that do not fit their literal `var()` defaults are found here too.
pub fn compile_all(
    files: &[discover::ScriptFile],
    vars: &BTreeMap<String, VarValue>,
    color: bool,
) -> Result<Vec<Compiled>, i32> {
    let engine = api::compiler();
    let mut compiled = Vec::new();
    let mut failed = false;
    for file in files {
        let source = match api::source::read_script(&file.path, &file.name) {
            Ok(s) => s,
            Err(ReadError::Message(m)) => {
                crate::display::print_error(m);
                failed = true;
                continue;
            }
            Err(ReadError::Diagnostic(d)) => {
                eprint!("{}", d.render("", color));
                failed = true;
                continue;
            }
        };
        let checked = script::compile(&engine, file.path.clone(), file.name.clone(), &source)
            .and_then(|c| match api::vars::check(&c.ast, vars, &c.name) {
                Some(d) => Err(Box::new(d)),
                None => Ok(c),
            });
        match checked {
            Ok(c) => compiled.push(c),
            Err(d) => {
                eprint!("{}", d.render(&source, color));
                failed = true;
            }
        }
    }
    if failed {
        Err(exit::USAGE)
    } else {
        Ok(compiled)
    }
}

/// Where a run's datagrams are recorded.
pub enum Captures {
    None,
    /// `--pcap FILE`: every script into one file.
    Shared(Recorder),
    /// `--pcap-dir`: the path of each script's capture, in the order of the scripts.
    PerScript(Vec<PathBuf>),
}

/// Runs a compiled suite; returns the exit code.
pub fn run_suite(scripts: &[Compiled], captures: &Captures, opts: &SuiteOptions) -> i32 {
    let tap_on_stdout = opts.reports.iter().any(|r| r.uses_stdout());
    let lines = Lines {
        to_stderr: tap_on_stdout,
        lock: Mutex::new(()),
    };
    let started = Instant::now();
    let outcomes = run_all(scripts, opts, captures, &lines, started);
    let total = started.elapsed();
    let mut text = String::new();
    let failures = if streamed_live(opts, &lines) {
        // Their output is on the screen already, just above.
        let mut shown = outcomes.clone();
        shown.iter_mut().for_each(|o| o.output.clear());
        terminal::failures_section(&shown, opts.color)
    } else {
        terminal::failures_section(&outcomes, opts.color)
    };
    if !failures.is_empty() {
        text.push('\n');
        text.push_str(&failures);
    }
    text.push_str(&terminal::summary_line(&outcomes, total, opts.color));
    lines.print(&text);
    if let Err(e) = report::write_reports(&opts.reports, &outcomes, total) {
        crate::display::print_error(e);
        return exit::ERROR.max(exit_code(&outcomes));
    }
    exit_code(&outcomes)
}

/// The runner's own lines: never interleaved, on stderr when TAP owns stdout.
struct Lines {
    to_stderr: bool,
    lock: Mutex<()>,
}

impl Lines {
    fn print(&self, text: &str) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let text = if text.ends_with('\n') {
            text.to_string()
        } else {
            format!("{text}\n")
        };
        if self.to_stderr {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

fn run_all(
    scripts: &[Compiled],
    opts: &SuiteOptions,
    captures: &Captures,
    lines: &Lines,
    started: Instant,
) -> Vec<FileResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<FileResult>>> = Mutex::new(vec![None; scripts.len()]);
    let workers = opts.jobs.clamp(1, scripts.len().max(1));
    let live = streamed_live(opts, lines).then(Output::stdout);
    let progress = Progress::new(live.is_none(), scripts.len());
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(script) = scripts.get(i) else { break };
            let recorder = match recorder_for(i, captures) {
                Ok(r) => r,
                Err(e) => {
                    lines.print(&format!("error: {}", crate::display::one_line(&e)));
                    None
                }
            };
            progress.started(&script.name);
            let outcome = script::run(script, &opts.settings, recorder, live.clone());
            progress.finished();
            report_one(&outcome, opts, workers, lines);
            let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
            all[i] = Some(outcome);
            // As hyperfine does: a run killed later still leaves reports of what ended.
            let done: Vec<FileResult> = all.iter().flatten().cloned().collect();
            drop(all);
            let _ = report::write_report_files(&opts.reports, &done, started.elapsed());
        }
    };
    std::thread::scope(|scope| {
        let started_workers = (0..workers)
            .filter(|_| {
                std::thread::Builder::new()
                    .name("udpsh-worker".into())
                    .stack_size(api::SCRIPT_STACK)
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        // The OS gave no thread at all: run the scripts here.
        if started_workers == 0 {
            work();
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// A `[3/8] running name…` line on a terminal's stderr, erased before each result line.
struct Progress {
    shown: bool,
    total: usize,
    started: AtomicUsize,
}

impl Progress {
    fn new(wanted: bool, total: usize) -> Progress {
        use std::io::IsTerminal;
        Progress {
            shown: wanted && total > 1 && std::io::stderr().is_terminal(),
            total,
            started: AtomicUsize::new(0),
        }
    }

    fn started(&self, name: &str) {
        if !self.shown {
            return;
        }
        let n = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        eprint!(
            "\r\x1b[K[{n}/{}] running {}…",
            self.total,
            crate::display::one_line(name)
        );
    }

    fn finished(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

/// With one job, output streams as it is printed; with more, it is kept with the result.
fn streamed_live(opts: &SuiteOptions, lines: &Lines) -> bool {
    opts.jobs <= 1 && !opts.quiet && !lines.to_stderr
}

fn report_one(outcome: &FileResult, opts: &SuiteOptions, workers: usize, lines: &Lines) {
    let passed = outcome.status() == Status::Passed;
    if opts.quiet && passed {
        return;
    }
    let mut text = String::new();
    if workers > 1 && !opts.quiet && !outcome.output.is_empty() {
        text.push_str(&crate::display::terminal_safe(&outcome.output));
    }
    for case in outcome.cases() {
        text.push_str(&terminal::result_line(&case, opts.color));
        text.push('\n');
    }
    lines.print(&text);
}

fn recorder_for(i: usize, captures: &Captures) -> Result<Option<Recorder>, String> {
    match captures {
        Captures::None => Ok(None),
        Captures::Shared(r) => Ok(Some(r.clone())),
        Captures::PerScript(paths) => Recorder::create(&paths[i])
            .map(Some)
            .map_err(|e| e.to_string()),
    }
}

/// `udpsh check`: compile only.
pub fn check(paths: &[PathBuf], color: bool) -> i32 {
    let files = match discover::discover(paths) {
        Ok(f) => f,
        Err(e) => {
            crate::display::print_error(e);
            return exit::USAGE;
        }
    };
    match compile_all(&files, &BTreeMap::new(), color) {
        Ok(compiled) => {
            for c in &compiled {
                println!("ok      {}", crate::display::one_line(&c.name));
            }
            0
        }
        Err(code) => code,
    }
}
