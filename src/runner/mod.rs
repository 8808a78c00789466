//! `udpsh run` and `udpsh check`: find scripts, compile them all, run them (on up to `-j`
//! threads), print one line each, the failures, a summary, and write the reports.

pub mod cases;
pub mod discover;
pub mod imports;
pub mod outputs;
pub mod plan;
pub mod script;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::api::source::ReadError;
use crate::api::{self, Output, VarValue};
use crate::capture::Recorder;
use crate::outcome::{CaseResult, FileResult, exit, exit_code};
use crate::report::{self, ReportSpec, terminal};

use plan::{Finished, Job, NOT_RUN, NOT_RUN_INTERRUPTED, Plan, not_run};
pub use script::{Compiled, RunSettings};

pub struct SuiteOptions {
    pub settings: RunSettings,
    /// `--repeat`: runs of each script.
    pub repeat: u32,
    pub reports: Vec<ReportSpec>,
    pub jobs: usize,
    pub quiet: bool,
    pub color: bool,
}

/// Reads and compiles every script, printing every syntax error (and `--var` value that does
/// not fit its literal default). `Err` holds what did not compile, as results for reports.
pub fn compile_all(
    files: &[discover::ScriptFile],
    vars: &BTreeMap<String, VarValue>,
    color: bool,
) -> Result<Vec<Compiled>, Vec<FileResult>> {
    let engine = api::compiler();
    let mut compiled = Vec::new();
    let mut failed = Vec::new();
    for file in files {
        // The tests a file declares, when it compiled: a --var its set-up reads that does
        // not fit fails each of them by name.
        let mut tests = Vec::new();
        let (diagnostic, source) = match api::source::read_script(&file.path, &file.name) {
            Ok(source) => {
                let checked =
                    script::compile(&engine, file.path.clone(), file.name.clone(), &source)
                        .and_then(|c| match api::vars::check(&c.ast, vars, &c.name) {
                            Some(d) => {
                                tests = c.declared.iter().map(|t| t.name.clone()).collect();
                                Err(Box::new(d))
                            }
                            None => Ok(c),
                        });
                match checked {
                    Ok(c) => {
                        warn(&c);
                        compiled.push(c);
                        continue;
                    }
                    Err(d) => (Some(d), source),
                }
            }
            Err(ReadError::Message(m)) => {
                crate::display::print_error(&m);
                failed.push(not_compiled(file, &m, None));
                continue;
            }
            Err(ReadError::Diagnostic(d)) => (Some(d), String::new()),
        };
        if let Some(d) = diagnostic {
            eprint!("{}", d.render(&source, color));
            let mut result = not_compiled(file, &d.message, Some((&d, &source)));
            if !tests.is_empty() {
                let case = result.cases.remove(0);
                result.cases = tests
                    .into_iter()
                    .map(|name| CaseResult {
                        name: Some(name),
                        ..case.clone()
                    })
                    .collect();
            }
            failed.push(result);
        }
    }
    if failed.is_empty() {
        Ok(compiled)
    } else {
        Err(failed)
    }
}

/// What [`api::lint`] finds, on stderr: code that runs but is surely not what was meant.
pub fn warn(script: &Compiled) {
    for w in api::lint::warnings(&script.ast) {
        crate::display::print_warning(format!(
            "{}:{}:{}: {}",
            script.name, w.line, w.col, w.message
        ));
    }
}

/// A script that did not compile, as a result: so CI's report shows why nothing ran.
fn not_compiled(
    file: &discover::ScriptFile,
    message: &str,
    diagnostic: Option<(&crate::diagnostic::Diagnostic, &str)>,
) -> FileResult {
    let failure = crate::outcome::Failure {
        message: message.to_string(),
        file: file.path.clone(),
        line: diagnostic.map_or(0, |(d, _)| d.line),
        col: diagnostic.map_or(0, |(d, _)| d.col),
        rendered: diagnostic.map_or_else(
            || format!("error: {message}\n"),
            |(d, source)| d.render(source, false),
        ),
    };
    let attempt = crate::outcome::Attempt {
        status: crate::outcome::Status::Error,
        duration: std::time::Duration::ZERO,
        failure: Some(failure),
    };
    FileResult {
        path: file.path.clone(),
        name: file.name.clone(),
        duration: std::time::Duration::ZERO,
        output: String::new(),
        sent: 0,
        received: 0,
        capture: None,
        cases: vec![crate::outcome::CaseResult::once(None, attempt)],
        run: None,
    }
}

/// Where a run's datagrams are recorded.
pub enum Captures {
    None,
    /// `--pcap FILE`: every script into one file.
    Shared(Recorder),
    /// `--pcap-dir`: one capture per script run, in this folder.
    PerScript(PathBuf),
}

/// `--list`: what would run, one `file › test` (or `file`) a line.
pub fn list(scripts: &[Compiled], selection: &crate::select::Selection) {
    let mut out = std::io::stdout().lock();
    for script in scripts {
        let name = crate::display::one_line(&script.name);
        if script.declared.is_empty() && !script.runtime_tests {
            let _ = writeln!(out, "{name}");
        }
        for test in script.selected_tests(selection) {
            let _ = writeln!(out, "{name} › {}", crate::display::one_line(&test.name));
        }
        if script.runtime_tests {
            let _ = writeln!(out, "{name} › … (tests named when it runs)");
        }
    }
}

/// Runs a compiled suite; returns the exit code.
pub fn run_suite(scripts: &[Compiled], captures: &Captures, opts: &SuiteOptions) -> i32 {
    let plan = Plan::new(scripts, opts.repeat);
    let capture_paths = match captures {
        Captures::PerScript(dir) => {
            let names: Vec<&str> = scripts.iter().map(|s| s.name.as_str()).collect();
            match outputs::capture_paths(dir, &names, plan.repeat()) {
                Ok(paths) => Some(paths),
                Err(e) => {
                    crate::display::print_error(e);
                    return exit::USAGE;
                }
            }
        }
        _ => None,
    };
    let tap_on_stdout = opts.reports.iter().any(|r| r.uses_stdout());
    let lines = Lines::new(tap_on_stdout);
    let started = Instant::now();
    let (outcomes, not_started) = run_all(&plan, opts, (captures, &capture_paths), &lines, started);
    lines.finish();
    let total = started.elapsed();
    let mut text = String::new();
    let failures = if streamed_live(opts, &lines) {
        // Their output is on the screen already, just above.
        let mut shown = outcomes.clone();
        for file in &mut shown {
            file.output.clear();
            file.cases
                .iter_mut()
                .filter_map(|c| c.own.as_mut())
                .for_each(|own| own.output.clear());
        }
        terminal::failures_section(&shown, opts.color)
    } else {
        terminal::failures_section(&outcomes, opts.color)
    };
    if !failures.is_empty() {
        text.push('\n');
        text.push_str(&failures);
    }
    if not_started > 0 {
        let why = if crate::stop::interrupted() {
            "the run was interrupted"
        } else {
            "an earlier test failed, and --fail-fast"
        };
        text.push_str(&format!(
            "{not_started} more runs of --repeat {} were not started: {why}\n",
            plan.repeat()
        ));
    }
    text.push_str(&terminal::summary_line(&outcomes, total, opts.color));
    lines.print(&text);
    // SIGTERM or Ctrl-C between two jobs stopped the run: never a pass.
    let stopped = if crate::stop::interrupted() {
        exit::ERROR
    } else {
        exit::OK
    };
    if let Err(e) = report::write_reports(&opts.reports, &outcomes, total) {
        crate::display::print_error(e);
        return exit::ERROR.max(exit_code(&outcomes));
    }
    stopped.max(exit_code(&outcomes))
}

/// The runner's own lines: never interleaved, on stderr when TAP owns stdout; on a terminal,
/// a live progress line below them.
struct Lines {
    to_stderr: bool,
    progress: Mutex<Progress>,
}

impl Lines {
    fn new(to_stderr: bool) -> Lines {
        Lines {
            to_stderr,
            progress: Mutex::new(Progress::default()),
        }
    }

    fn print(&self, text: &str) {
        let progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        progress.erase();
        let text = if text.ends_with('\n') {
            text.to_string()
        } else {
            format!("{text}\n")
        };
        if self.to_stderr {
            let _ = std::io::stderr().write_all(text.as_bytes());
        } else {
            let mut out = std::io::stdout().lock();
            crate::display::note_stdout(out.write_all(text.as_bytes()).and_then(|()| out.flush()));
        }
        progress.draw();
    }

    /// Changes the progress line and draws it again.
    fn progress(&self, change: impl FnOnce(&mut Progress)) {
        let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        progress.erase();
        change(&mut progress);
        progress.draw();
    }

    fn finish(&self) {
        self.progress(|p| p.shown = false);
    }
}

/// `[5/12] 1 failed · running dns.rhai, ntp.rhai…` on a terminal's stderr, never in a pipe
/// or a CI log.
#[derive(Default)]
struct Progress {
    shown: bool,
    total: u64,
    done: u64,
    failed: u64,
    running: Vec<String>,
}

impl Progress {
    fn wanted(total: u64) -> bool {
        use std::io::IsTerminal;
        total > 1 && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
    }

    fn text(&self) -> String {
        let mut line = format!("[{}/{}]", self.done, self.total);
        if self.failed > 0 {
            line += &format!(" {} failed", self.failed);
        }
        if !self.running.is_empty() {
            let names: Vec<String> = self
                .running
                .iter()
                .map(|n| crate::display::one_line(n).into_owned())
                .collect();
            line += &format!(" · running {}…", names.join(", "));
        }
        // One terminal line: a wrapped line could not be erased.
        let width = terminal_width().saturating_sub(1).max(20);
        if line.chars().count() > width {
            line = line.chars().take(width - 1).collect::<String>() + "…";
        }
        line
    }

    fn draw(&self) {
        if self.shown {
            eprint!("{}", self.text());
        }
    }

    fn erase(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(80)
}

/// Runs the plan's jobs on up to `-j` workers until they are done, a failure under
/// `--fail-fast`, or Ctrl-C / SIGTERM. Returns every result in the plan's order (the first
/// round's jobs that never started as skipped, so no test goes missing) and how many later
/// runs of `--repeat` never started.
fn run_all(
    plan: &Plan,
    opts: &SuiteOptions,
    captures: (&Captures, &Option<outputs::CapturePaths>),
    lines: &Lines,
    started: Instant,
) -> (Vec<FileResult>, u64) {
    let next = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let finished = Mutex::new(Finished::default());
    let total = plan.jobs();
    let workers = opts
        .jobs
        .clamp(1, usize::try_from(total).unwrap_or(usize::MAX).max(1));
    let live = streamed_live(opts, lines).then(Output::stdout);
    let shown = live.is_none() && Progress::wanted(total);
    lines.progress(|p| {
        p.shown = shown;
        p.total = total;
    });
    let work = || {
        loop {
            if opts.settings.suite.fail_fast && failed.load(Ordering::Relaxed) {
                break;
            }
            if crate::stop::interrupted() {
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = plan.job(i) else { break };
            let recorder = match recorder_for(&job, captures) {
                Ok(r) => r,
                Err(e) => {
                    lines.print(&format!("error: {}", crate::display::one_line(&e)));
                    None
                }
            };
            lines.progress(|p| p.running.push(job.name.clone()));
            let outcome = run_job(&job, &opts.settings, recorder, live.clone());
            let ok = outcome.status().is_ok();
            if !ok {
                failed.store(true, Ordering::Relaxed);
            }
            lines.progress(|p| {
                p.done += 1;
                p.failed += u64::from(!ok);
                p.running.retain(|n| *n != job.name);
            });
            report_one(&outcome, opts, workers, lines);
            let mut done = finished.lock().unwrap_or_else(|p| p.into_inner());
            done.push(i, outcome);
            // As hyperfine does: a run killed later still leaves reports of what ended.
            let now = Instant::now();
            if opts.reports.iter().any(|r| !r.uses_stdout()) && done.rewrite_due(now) {
                let _ = report::write_report_files(&opts.reports, done.so_far(), started.elapsed());
                done.rewritten(now.elapsed());
            }
        }
    };
    std::thread::scope(|scope| {
        let started_workers = (0..workers)
            .filter(|_| {
                crate::threads::start_scoped(scope, "udpsh-worker", Some(api::SCRIPT_STACK), work)
                    .is_ok()
            })
            .count();
        // The OS gave no thread at all: run the scripts here.
        if started_workers == 0 {
            work();
        }
    });
    let finished = finished.into_inner().unwrap_or_else(|p| p.into_inner());
    let first = plan.first_round();
    let ran_first = finished.contains_first_round(first);
    let ran = finished.so_far().len() as u64;
    let mut results = finished.into_ordered();
    // What --fail-fast or a stop left unrun of the first round is reported, skipped (or
    // interrupted), so no test goes missing; later rounds of --repeat are only counted.
    let why = if crate::stop::interrupted() {
        NOT_RUN_INTERRUPTED
    } else {
        NOT_RUN
    };
    let mut unrun = 0;
    for (i, ran) in (0..first).zip(ran_first) {
        if ran {
            continue;
        }
        let Some(job) = plan.job(i) else { continue };
        let skipped = not_run(&job, &opts.settings, why);
        report_one(&skipped, opts, workers, lines);
        results.push((i, skipped));
        unrun += 1;
    }
    results.sort_by_key(|(i, _)| *i);
    let not_started = total.saturating_sub(ran).saturating_sub(unrun);
    (results.into_iter().map(|(_, r)| r).collect(), not_started)
}

/// With one job, output streams as it is printed; with more, it is kept with the result.
fn streamed_live(opts: &SuiteOptions, lines: &Lines) -> bool {
    opts.jobs <= 1 && !opts.quiet && !lines.to_stderr
}

fn report_one(outcome: &FileResult, opts: &SuiteOptions, workers: usize, lines: &Lines) {
    if opts.quiet && outcome.status().is_ok() {
        return;
    }
    let mut text = String::new();
    if workers > 1 && !opts.quiet && !outcome.output.is_empty() {
        text.push_str(&crate::display::terminal_safe(&outcome.output));
    }
    for case in outcome
        .cases()
        .filter(|c| !opts.quiet || !c.status().is_ok())
    {
        text.push_str(&terminal::result_line(&case, opts.color));
        text.push('\n');
    }
    lines.print(&text);
}

fn recorder_for(
    job: &Job,
    (captures, paths): (&Captures, &Option<outputs::CapturePaths>),
) -> Result<Option<Recorder>, String> {
    match (captures, paths) {
        (Captures::Shared(r), _) => Ok(Some(r.clone())),
        (Captures::PerScript(_), Some(paths)) => {
            let path = paths.of(job.index, job.run.map_or(1, |(k, _)| k));
            Recorder::create(&path).map(Some).map_err(|e| e.to_string())
        }
        _ => Ok(None),
    }
}

/// Runs one job; a file that is one test and fails is run again up to `--retry` times, its
/// attempts kept (a test() file retries each test itself). `--timeout` bounds the job with
/// its retries: a retry gets what is left, and none starts past it or after Ctrl-C/SIGTERM.
fn run_job(
    job: &Job,
    settings: &RunSettings,
    recorder: Option<Recorder>,
    live: Option<Output>,
) -> FileResult {
    let deadline = settings.timeout.and_then(crate::stop::deadline_after);
    let run = || {
        script::run_until(
            job.script,
            settings,
            recorder.clone(),
            live.clone(),
            deadline,
        )
    };
    let mut result = run();
    let mut tries = 0;
    while tries < settings.suite.retries
        && !result.has_named_cases()
        && !result.status().is_ok()
        && result.status() != crate::outcome::Status::Interrupted
        && !crate::stop::interrupted()
        && deadline.is_none_or(|d| Instant::now() < d)
    {
        tries += 1;
        let again = run();
        let mut attempts = std::mem::take(&mut result.cases[0].attempts);
        attempts.extend(again.cases[0].attempts.iter().cloned());
        result = again;
        result.cases[0].attempts = attempts;
    }
    result.name = job.name.clone();
    result.run = job.run;
    result
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
    let compiled = match compile_all(&files, &BTreeMap::new(), color) {
        Err(_) => return exit::USAGE,
        Ok(compiled) => compiled,
    };
    let engine = api::compiler();
    let mut code = exit::OK;
    for c in &compiled {
        let dir = c.path.parent().unwrap_or(std::path::Path::new("."));
        let script = imports::Script {
            ast: &c.ast,
            name: &c.name,
            source: &c.source,
        };
        let problems = imports::check(&engine, &script, dir);
        for p in &problems {
            eprint!("{}", p.diagnostic.render(&p.source, color));
        }
        if problems.is_empty() {
            println!("ok      {}", crate::display::one_line(&c.name));
        } else {
            code = exit::USAGE;
        }
    }
    code
}
