//! Runs one compiled script to an outcome: its engine, its stop flag, its threads, its
//! failure rendered with the source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{AST, Dynamic, Engine, EvalAltResult};

use crate::api::cases::{LoggedCase, SuiteSettings, Tried, skip_reason};
use crate::api::{self, Limits, Output, RunCtx, ScriptCtx, VarValue};
use crate::capture::Recorder;
use crate::diagnostic::Diagnostic;
use crate::outcome::{Attempt, CaseOwn, CaseResult, Failure, FileResult, Status};
use crate::select::{Selection, test_name};
use crate::stop::{Stop, StopReason};

use super::cases::{Declared, bad_options, declared, has_runtime_tests, misnamed};

/// A script read and compiled, ready to run.
pub struct Compiled {
    pub path: PathBuf,
    pub name: String,
    pub source: String,
    pub ast: Arc<AST>,
    /// Its top-level `test("name", …)`s, found without running it.
    pub declared: Vec<Declared>,
    /// It has tests named or placed so that only running it finds them.
    pub runtime_tests: bool,
}

impl Compiled {
    /// Whether the selection leaves anything of it to run.
    pub fn is_selected(&self, selection: &Selection) -> bool {
        if self.runtime_tests {
            return true;
        }
        if self.declared.is_empty() {
            return selection.selects(&self.name, &[]);
        }
        self.selected_tests(selection).next().is_some()
    }

    /// Its declared tests that the selection keeps.
    pub fn selected_tests<'a>(
        &'a self,
        selection: &'a Selection,
    ) -> impl Iterator<Item = &'a Declared> {
        self.declared
            .iter()
            .filter(|d| selection.selects(&test_name(&self.name, &d.name), &d.tags))
    }
}

/// Compiles `source`, or says where its syntax error is.
pub fn compile(
    engine: &Engine,
    path: PathBuf,
    name: String,
    source: &str,
) -> Result<Compiled, Box<Diagnostic>> {
    let ast = api::source::compile(engine, source, &name)?;
    let declared = declared(&ast);
    // Wrong test() options, two tests of one name: usage errors at the test, before it runs.
    let problem = bad_options(&ast).or_else(|| misnamed(&declared).map(|(t, why)| (t.at, why)));
    if let Some(((line, col), why)) = problem {
        return Err(Box::new(Diagnostic::at(
            crate::kind::ErrorKind::Usage,
            why,
            &name,
            line,
            col,
        )));
    }
    Ok(Compiled {
        path,
        name,
        source: source.to_string(),
        runtime_tests: has_runtime_tests(&ast, declared.len()),
        declared,
        ast: Arc::new(ast),
    })
}

pub struct RunSettings {
    pub vars: BTreeMap<String, VarValue>,
    pub suite: Arc<SuiteSettings>,
    pub limits: Limits,
    pub timeout: Option<Duration>,
    pub verbose: bool,
}

/// Runs one script; `live` also gets each printed line as it comes.
pub fn run(
    script: &Compiled,
    settings: &RunSettings,
    recorder: Option<Recorder>,
    live: Option<Output>,
) -> FileResult {
    let deadline = settings.timeout.and_then(crate::stop::deadline_after);
    run_until(script, settings, recorder, live, deadline)
}

/// Runs one script that must end by `deadline` (its `--timeout`, counted from its first try
/// when `--retry` runs it again).
pub fn run_until(
    script: &Compiled,
    settings: &RunSettings,
    recorder: Option<Recorder>,
    live: Option<Output>,
    deadline: Option<Instant>,
) -> FileResult {
    let started = Instant::now();
    let printed = Arc::new(Mutex::new(String::new()));
    let sink = printed.clone();
    let out = Output::new(move |line| {
        if let Some(live) = &live {
            live.line(line);
        }
        let mut all = sink.lock().unwrap_or_else(|p| p.into_inner());
        all.push_str(line);
        all.push('\n');
        keep_tail(&mut all);
    });
    let stop = Arc::new(Stop::until(deadline));
    // The deadline timer only where there is a deadline (a thread costs start-up time).
    if settings.timeout.is_some() || !script.declared.is_empty() || script.runtime_tests {
        stop.watch();
    }
    // Absolute, so the attachments of a JUnit report open from anywhere (Jenkins, GitLab).
    let capture = recorder
        .as_ref()
        .map(|r| std::path::absolute(r.path()).unwrap_or_else(|_| r.path().to_path_buf()));
    let run = Arc::new(
        RunCtx::new(stop.clone(), recorder, settings.verbose, out).with_limits(settings.limits),
    );
    let dir = script
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ctx = ScriptCtx::in_suite(
        run.clone(),
        script.name.clone(),
        dir,
        settings.vars.clone(),
        settings.suite.clone(),
    );
    ctx.set_ast(script.ast.clone());
    let engine = api::engine(&ctx);
    let mut result = engine.eval_ast::<Dynamic>(&script.ast).map(|_| ());
    // A deadline that passed during the last, costly call: a run past --timeout never passes.
    if result.is_ok()
        && let Some(StopReason::Timeout) = stop.check()
    {
        result = Err(Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::from(StopReason::Timeout.as_str()),
            rhai::Position::NONE,
        )));
    }
    stop.finish();
    // Whatever the script left running ends with it; a failure there is the script's.
    let leftover = run.background.stop_all(BACKGROUND_GRACE);
    if result.is_ok()
        && let Some(e) = leftover
    {
        result = Err(e);
    }
    let duration = started.elapsed();
    let logged = std::mem::take(&mut *ctx.cases.cases.lock().unwrap_or_else(|p| p.into_inner()));
    let fail_fast = ctx.cases.stopped.load(std::sync::atomic::Ordering::Relaxed);
    let ending = Ending {
        result,
        duration,
        fail_fast,
    };
    let cases = cases_of(script, settings, logged, ending, &run);
    let (sent, received) = run.counts();
    let output = printed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    FileResult {
        path: script.path.clone(),
        name: script.name.clone(),
        duration,
        output,
        sent,
        received,
        capture,
        cases,
        run: None,
    }
}

/// How the file's run ended, as a whole.
struct Ending {
    result: Result<(), Box<EvalAltResult>>,
    duration: Duration,
    /// A test failed under `--fail-fast`, so later tests did not run.
    fail_fast: bool,
}

/// The file's cases: the tests it ran, then the declared tests it never reached — skipped,
/// or failed with the set-up's error. A file without tests is one case, the file itself.
fn cases_of(
    script: &Compiled,
    settings: &RunSettings,
    logged: Vec<LoggedCase>,
    ending: Ending,
    run: &RunCtx,
) -> Vec<CaseResult> {
    let timeout = settings.timeout;
    let ran: Vec<String> = logged.iter().map(|c| c.name.clone()).collect();
    let mut cases: Vec<CaseResult> = logged
        .into_iter()
        .map(|c| case_of(c, script, timeout))
        .collect();
    let unreached: Vec<String> = script
        .selected_tests(&settings.suite.selection)
        .filter(|d| !ran.contains(&d.name))
        .map(|d| d.name.clone())
        .collect();
    let is_one_test = cases.is_empty() && script.declared.is_empty() && !script.runtime_tests;
    match ending.result {
        Ok(()) if is_one_test => {
            let attempt = Attempt {
                status: Status::Passed,
                duration: ending.duration,
                failure: None,
            };
            cases.push(CaseResult::once(None, attempt));
        }
        Ok(()) => {
            let why = if ending.fail_fast {
                "not run: an earlier test failed, and --fail-fast"
            } else {
                "not reached: the script ended before this test"
            };
            cases.extend(
                unreached
                    .into_iter()
                    .map(|n| CaseResult::skipped(Some(n), why.into())),
            );
        }
        Err(e) => {
            if let Some(reason) = skip_reason(&e) {
                if is_one_test {
                    cases.push(CaseResult::skipped(None, reason));
                } else {
                    cases.extend(
                        unreached
                            .into_iter()
                            .map(|n| CaseResult::skipped(Some(n), reason.clone())),
                    );
                }
                return cases;
            }
            let (status, failure) = failure_of(&e, script, timeout);
            run.annotate_last(&format!("udpsh: {}", failure.message));
            let stopped = matches!(status, Status::Timeout | Status::Interrupted);
            if stopped && cases.last().is_some_and(|c| c.status() == status) {
                // The stop ended a test, which says so: the tests after it never began.
                let why = match status {
                    Status::Timeout => "not run: --timeout was reached in an earlier test",
                    _ => "not run: the run was interrupted in an earlier test",
                };
                cases.extend(
                    unreached
                        .into_iter()
                        .map(|n| CaseResult::skipped(Some(n), why.into())),
                );
                return cases;
            }
            let attempt = |duration| Attempt {
                status,
                duration,
                failure: Some(failure.clone()),
            };
            if unreached.is_empty() {
                // A file that is one test, or an error after its last test.
                cases.push(CaseResult::once(None, attempt(ending.duration)));
            } else {
                cases.extend(
                    unreached
                        .into_iter()
                        .map(|n| CaseResult::once(Some(n), attempt(Duration::ZERO))),
                );
            }
        }
    }
    cases
}

/// A test as it ran: each try, rendered.
fn case_of(logged: LoggedCase, script: &Compiled, timeout: Option<Duration>) -> CaseResult {
    let mut skip = None;
    let attempts = logged
        .attempts
        .into_iter()
        .map(|a| match a.outcome {
            Tried::Passed => Attempt {
                status: Status::Passed,
                duration: a.duration,
                failure: None,
            },
            Tried::Skipped(reason) => {
                skip = Some(reason);
                Attempt {
                    status: Status::Skipped,
                    duration: a.duration,
                    failure: None,
                }
            }
            Tried::Failed(e) => {
                let (status, failure) = failure_of(&e, script, timeout);
                Attempt {
                    status,
                    duration: a.duration,
                    failure: Some(failure),
                }
            }
        })
        .collect();
    CaseResult {
        name: Some(logged.name),
        attempts,
        skip_reason: skip,
        own: Some(CaseOwn {
            output: logged.output,
            sent: logged.sent,
            received: logged.received,
        }),
    }
}

/// How long a thread left running gets to finish after its script ended.
const BACKGROUND_GRACE: Duration = Duration::from_secs(2);

/// Output kept with a result (for reports and failures); a server that prints forever must
/// not grow memory without bound, and the end is what explains a failure.
const OUTPUT_KEPT: usize = 64 * 1024;

fn keep_tail(text: &mut String) {
    if text.len() <= 2 * OUTPUT_KEPT {
        return;
    }
    let mut cut = text.len() - OUTPUT_KEPT;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    let cut = text[cut..].find('\n').map_or(cut, |i| cut + i + 1);
    text.replace_range(..cut, "[… earlier output not kept …]\n");
}

fn failure_of(
    err: &EvalAltResult,
    script: &Compiled,
    timeout: Option<Duration>,
) -> (Status, Failure) {
    let mut d = api::diagnose::from_eval(err, &script.name);
    let status = Status::of(&d);
    match (d.stop, timeout) {
        (Some(StopReason::Timeout), Some(limit)) => {
            d.message = format!("stopped: --timeout of {}s reached", limit.as_secs_f64());
        }
        (Some(StopReason::TestTimeout), _) => {
            d.message = "stopped: the test's timeout was reached".into();
        }
        _ => {}
    }
    let rendered = d.render(
        &api::diagnose::source_of(&d, &script.name, &script.source),
        false,
    );
    let failure = Failure {
        message: d.message.clone(),
        file: PathBuf::from(&d.file),
        line: d.line,
        col: d.col,
        rendered,
    };
    (status, failure)
}
