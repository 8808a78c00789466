//! Runs one compiled script to an outcome: its engine, its stop flag, its threads, its
//! failure rendered with the source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{AST, Dynamic, Engine, EvalAltResult};

use crate::api::{self, Output, RunCtx, ScriptCtx, VarValue};
use crate::capture::Recorder;
use crate::diagnostic::Diagnostic;
use crate::outcome::{Failure, ScriptOutcome, Status};
use crate::stop::Stop;

/// A script read and compiled, ready to run.
pub struct Compiled {
    pub path: PathBuf,
    pub name: String,
    pub source: String,
    pub ast: Arc<AST>,
}

/// An engine for compiling only: the API functions exist, but nothing runs.
pub fn compiler() -> Engine {
    let run = Arc::new(RunCtx::new(
        Arc::new(Stop::new(None)),
        None,
        false,
        Output::new(|_| {}),
    ));
    let ctx = ScriptCtx::new(run, String::new(), Path::new("."), BTreeMap::new());
    api::engine(&ctx)
}

/// Compiles `source`, or says where its syntax error is.
pub fn compile(
    engine: &Engine,
    path: PathBuf,
    name: String,
    source: &str,
) -> Result<Compiled, Box<Diagnostic>> {
    match engine.compile(source) {
        Ok(ast) => Ok(Compiled {
            path,
            name,
            source: source.to_string(),
            ast: Arc::new(ast),
        }),
        Err(e) => Err(Box::new(api::diagnose::from_parse(&e, &name))),
    }
}

pub struct RunSettings {
    pub vars: BTreeMap<String, VarValue>,
    pub timeout: Option<Duration>,
    pub verbose: bool,
}

/// Runs one script; `live` also gets each printed line as it comes.
pub fn run(
    script: &Compiled,
    settings: &RunSettings,
    recorder: Option<Recorder>,
    live: Option<Output>,
) -> ScriptOutcome {
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
    let stop = Arc::new(Stop::new(settings.timeout));
    let capture = recorder.as_ref().map(|r| r.path().to_path_buf());
    let run = Arc::new(RunCtx::new(stop.clone(), recorder, settings.verbose, out));
    let dir = script
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let ctx = ScriptCtx::new(run.clone(), script.name.clone(), dir, settings.vars.clone());
    ctx.set_ast(script.ast.clone());
    let engine = api::engine(&ctx);
    let mut result = engine.eval_ast::<Dynamic>(&script.ast).map(|_| ());
    stop.finish();
    run.children.stop_all();
    if result.is_ok() {
        result = reap_threads(&run);
    }
    let failure = result
        .err()
        .map(|e| failure_of(&e, script, settings.timeout));
    let status = failure.as_ref().map_or(Status::Passed, |(s, _)| *s);
    if let (Some((_, f)), Some(rec)) = (&failure, run.recorder())
        && let Some(id) = run.last_packet()
    {
        let _ = rec.annotate(id, &format!("udpsh: {}", f.message));
    }
    let (sent, received) = run.counts();
    let output = printed.lock().unwrap_or_else(|p| p.into_inner()).clone();
    ScriptOutcome {
        path: script.path.clone(),
        name: script.name.clone(),
        status,
        duration: started.elapsed(),
        output,
        failure: failure.map(|(_, f)| f),
        sent,
        received,
        capture,
    }
}

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

/// Threads the script spawned but never joined: stop them, and surface their failures.
fn reap_threads(run: &RunCtx) -> Result<(), Box<EvalAltResult>> {
    let threads = std::mem::take(&mut *run.threads.lock().unwrap_or_else(|p| p.into_inner()));
    let mut first_error = None;
    for handle in threads.iter().filter(|h| !h.was_joined()) {
        let grace = Instant::now() + Duration::from_secs(2);
        let waited =
            handle.wait(|| (Instant::now() > grace).then_some(crate::stop::StopReason::Finished));
        if waited.is_ok()
            && let Some(Err(e)) = handle.take()
            && !matches!(*e, EvalAltResult::ErrorTerminated(..))
            && first_error.is_none()
        {
            first_error = Some(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn failure_of(
    err: &EvalAltResult,
    script: &Compiled,
    timeout: Option<Duration>,
) -> (Status, Failure) {
    let mut d = api::diagnose::from_eval(err, &script.name);
    let status = Status::of(&d);
    if status == Status::Timeout
        && let Some(limit) = timeout
    {
        d.message = format!("stopped: --timeout of {}s reached", limit.as_secs_f64());
    }
    let rendered = d.render(&script.source, false);
    let failure = Failure {
        message: d.message.clone(),
        file: PathBuf::from(&d.file),
        line: d.line,
        col: d.col,
        rendered,
    };
    (status, failure)
}
