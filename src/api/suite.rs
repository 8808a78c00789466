//! `test(name, closure)`, `test(name, #{tags, timeout, retries}, closure)`, `skip(reason)` and
//! `skip_if(cond, reason)`: many tests in one file. Each test runs at once (in order, in the
//! script's own scope), is tried again up to its `retries`, and is logged for the runner,
//! which makes each its own case in every report. Code outside `test()` is the file's set-up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext, Position};

use crate::select::test_name;
use crate::stop::StopReason;

use super::cases::{LoggedAttempt, LoggedCase, Skip, Tried, skip_reason, tags_of};
use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error};

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "test",
        move |nc: NativeCallContext, name: &str, body: FnPtr| {
            run_test(&nc, &c, name, &Map::new(), &body)
        },
    );
    let c = ctx.clone();
    engine.register_fn(
        "test",
        move |nc: NativeCallContext, name: &str, opts: Map, body: FnPtr| {
            run_test(&nc, &c, name, &opts, &body)
        },
    );
    engine.register_fn("skip", |nc: NativeCallContext| skip(&nc, String::new()));
    engine.register_fn("skip", |nc: NativeCallContext, reason: &str| {
        skip(&nc, reason.to_string())
    });
    engine.register_fn(
        "skip_if",
        |nc: NativeCallContext, cond: bool, reason: &str| {
            if cond {
                skip(&nc, reason.to_string())
            } else {
                Ok(())
            }
        },
    );
}

fn skip(nc: &NativeCallContext, reason: String) -> Fallible<()> {
    let reason = if reason.is_empty() {
        "skipped".to_string()
    } else {
        reason
    };
    Err(EvalAltResult::ErrorTerminated(Dynamic::from(Skip(reason)), nc.call_position()).into())
}

struct Options {
    tags: Vec<String>,
    timeout: Option<Duration>,
    retries: Option<u32>,
}

const OPTIONS: &str = "tags, timeout, retries";

/// The most tries after a failure (`--retry`, a test's `retries`): each try is kept for the
/// reports, so the count is bounded.
pub const MAX_RETRIES: u32 = 1000;

/// What is wrong with a `test()` options map, if anything: for the check before a file runs.
pub fn options_problem(opts: &Map) -> Option<String> {
    let e = options(opts).err()?;
    let from_fields = match e.as_ref() {
        EvalAltResult::ErrorRuntime(v, _) => super::error::fields(v).map(|f| f.1),
        _ => None,
    };
    Some(from_fields.unwrap_or_else(|| e.to_string()))
}

fn options(opts: &Map) -> Fallible<Options> {
    if let Some(key) = opts
        .keys()
        .find(|k| !["tags", "timeout", "retries"].contains(&k.as_str()))
    {
        return Err(script_error(
            ErrorKind::Value,
            format!("test(): unknown option '{key}' (options: {OPTIONS})"),
        ));
    }
    let timeout = match opts.get("timeout") {
        Some(v) => Some(super::values::seconds(
            super::values::float(v, "timeout")?,
            "test timeout",
        )?),
        None => None,
    };
    let retries = match opts.get("retries") {
        Some(v) => {
            let n = super::values::int(v, "retries")?;
            match u32::try_from(n) {
                Ok(n) if n <= MAX_RETRIES => Some(n),
                _ => {
                    return Err(script_error(
                        ErrorKind::Value,
                        format!("test(): retries must be 0 to {MAX_RETRIES}, not {n}"),
                    ));
                }
            }
        }
        None => None,
    };
    let tags = tags_of(&Dynamic::from(opts.clone()));
    Ok(Options {
        tags,
        timeout,
        retries,
    })
}

fn run_test(
    nc: &NativeCallContext,
    ctx: &ScriptCtx,
    name: &str,
    opts: &Map,
    body: &FnPtr,
) -> Fallible<()> {
    let opts = options(opts)?;
    let suite = &ctx.suite;
    let log = &ctx.cases;
    if !suite
        .selection
        .selects(&test_name(&ctx.name, name), &opts.tags)
        || log.stopped.load(std::sync::atomic::Ordering::Relaxed)
    {
        return Ok(());
    }
    let retries = opts.retries.unwrap_or(suite.retries);
    let stop = &ctx.run.stop;
    let mut attempts = Vec::new();
    let mut run_stopped = None;
    let (sent_before, received_before) = ctx.run.counts();
    let mut output = String::new();
    for try_number in 0..=retries {
        // A retry never starts past --timeout or after Ctrl-C / SIGTERM: the run stops.
        if try_number > 0
            && let Some(reason) = stop.check().filter(|r| *r != StopReason::TestTimeout)
        {
            run_stopped = Some(Dynamic::from(reason.as_str()));
            break;
        }
        ctx.run.start_test_output();
        stop.set_test_deadline(opts.timeout);
        let started = Instant::now();
        let result = body.call_within_context::<Dynamic>(nc, ());
        stop.set_test_deadline(None);
        output = ctx.run.take_test_output();
        let duration = started.elapsed();
        let outcome = match result {
            Ok(_) => Tried::Passed,
            Err(e) => match skip_reason(&e) {
                Some(reason) => Tried::Skipped(reason),
                None => {
                    run_stopped = run_stop_token(&e);
                    Tried::Failed(e)
                }
            },
        };
        let done = !matches!(outcome, Tried::Failed(_)) || run_stopped.is_some();
        attempts.push(LoggedAttempt { duration, outcome });
        if done {
            break;
        }
    }
    let failure = match attempts.last().map(|a| &a.outcome) {
        Some(Tried::Failed(e)) => Some(super::diagnose::from_eval(e, &ctx.name).message),
        _ => None,
    };
    let failed = failure.is_some();
    if let Some(message) = failure {
        // As for a failing file: the capture notes it on the latest datagram.
        ctx.run
            .annotate_last(&format!("udpsh: {} › {name}: {message}", ctx.name));
    }
    log.cases
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(LoggedCase {
            name: name.to_string(),
            attempts,
            output,
            sent: ctx.run.counts().0 - sent_before,
            received: ctx.run.counts().1 - received_before,
        });
    if failed && suite.fail_fast {
        log.stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    // A `--timeout` or Ctrl-C ends the file, not just the test.
    match run_stopped {
        Some(token) => Err(EvalAltResult::ErrorTerminated(token, Position::NONE).into()),
        None => Ok(()),
    }
}

/// The token of a stop of the whole run (its `--timeout`, Ctrl-C), as opposed to one
/// test's own timeout.
fn run_stop_token(err: &EvalAltResult) -> Option<Dynamic> {
    match err.unwrap_inner() {
        EvalAltResult::ErrorTerminated(token, _)
            if StopReason::parse(&token.to_string()) != Some(StopReason::TestTimeout) =>
        {
            Some(token.clone())
        }
        _ => None,
    }
}
