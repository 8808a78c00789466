//! The service under test: `start(program, args)` and `wait_udp(addr, timeout)`.
//!
//! | name | form | summary |
//! | --- | --- | --- |
//! | `start` | `start(program)` / `start(program, [args]) → process` | a child process, stopped when the script ends |
//! | `wait_udp` | `wait_udp("host:port", secs)` / `wait_udp(port, secs)` | until a UDP socket is bound there |
//! | `output` | `p.output() → string` | stdout and stderr so far |
//! | `alive` | `p.alive() → bool` | still running |
//! | `stop` | `p.stop()` / `p.stop(grace) → int` | TERM, then KILL after `grace` (2 s); the exit code |
//! | `wait` | `p.wait()` / `p.wait(secs) → int` | until it exits: its code (−signal if killed) |
//! | `pid` | `p.pid → int` | its process id |

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult};

use crate::net;
use crate::process::ready::{self, Target};
use crate::process::{Child, GRACE, ProcessError, code_of};

use super::background::Background;
use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, from_net, script_error, stopped};
use super::socket::optional_seconds;
use super::values::seconds;

/// A script's handle on a child: cheap to clone.
#[derive(Clone)]
pub struct Process(Arc<Child>);

impl Process {
    /// The child itself, for the fuzzer (which restarts it in place).
    pub(super) fn child(&self) -> Arc<Child> {
        self.0.clone()
    }
}

/// A child still running when its script ends gets TERM, then KILL after [`GRACE`].
impl Background for Process {
    fn begin_stop(&self) {
        self.0.terminate();
    }

    /// `grace` is what is left of the run's one grace for everything (TERM went to all).
    fn stop(&self, grace: Duration) -> Option<Box<EvalAltResult>> {
        if self.0.alive() {
            self.0.stop(grace);
        }
        None
    }

    fn describe(&self) -> String {
        format!("process {} (pid {})", self.0.program(), self.0.pid())
    }

    fn finished(&self) -> bool {
        !self.0.alive()
    }
}

fn from_process(err: ProcessError) -> Box<EvalAltResult> {
    match err {
        ProcessError::Stopped(reason) => stopped(reason),
        ProcessError::Failed { kind, message } => script_error(kind, message),
    }
}

fn describe(p: &Process) -> String {
    let state = match p.0.try_status() {
        None => "running".to_string(),
        Some(status) => format!("exited {}", code_of(status)),
    };
    format!("process({} pid {}, {state})", p.0.program(), p.0.pid())
}

fn start(ctx: &ScriptCtx, program: &str, args: &Array) -> Fallible<Process> {
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.is_string() || a.is_int() || a.is_float() || a.is_bool() || a.is_char() {
                Ok(a.to_string())
            } else {
                Err(script_error(
                    ErrorKind::Value,
                    format!(
                        "start: arguments are strings or numbers, not {}",
                        a.type_name()
                    ),
                ))
            }
        })
        .collect::<Fallible<_>>()?;
    let child = Process(Arc::new(
        Child::start(program, &args).map_err(from_process)?,
    ));
    ctx.run.background.add(Arc::new(child.clone()));
    Ok(child)
}

fn wait_udp(ctx: &ScriptCtx, target: Target, timeout: &Dynamic) -> Fallible<()> {
    let timeout = optional_seconds(timeout, "timeout")?.unwrap_or(Duration::MAX);
    ready::wait_bound(target, timeout, &ctx.run.stop).map_err(from_process)
}

fn target_of(ctx: &ScriptCtx, text: &str) -> Fallible<Target> {
    let addr =
        net::parse_addr_stoppable(text, text.contains('['), &ctx.run.stop).map_err(from_net)?;
    let ip = (!addr.ip().is_unspecified()).then_some(addr.ip());
    Ok(Target {
        ip,
        port: addr.port(),
    })
}

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_type_with_name::<Process>("process");
    let c = ctx.clone();
    engine.register_fn("start", move |program: &str| {
        start(&c, program, &Array::new())
    });
    let c = ctx.clone();
    engine.register_fn("start", move |program: &str, args: Array| {
        start(&c, program, &args)
    });
    let c = ctx.clone();
    engine.register_fn("wait_udp", move |addr: &str, timeout: Dynamic| {
        wait_udp(&c, target_of(&c, addr)?, &timeout)
    });
    let c = ctx.clone();
    engine.register_fn("wait_udp", move |port: i64, timeout: Dynamic| {
        let port = net::port(port).map_err(from_net)?;
        wait_udp(&c, Target { ip: None, port }, &timeout)
    });
    engine.register_fn("output", |p: &mut Process| p.0.output());
    engine.register_fn("alive", |p: &mut Process| p.0.alive());
    engine.register_get("pid", |p: &mut Process| i64::from(p.0.pid()));
    let c = ctx.clone();
    engine.register_fn("stop", move |p: &mut Process| {
        code_of(p.0.stop_within(GRACE, Some(&c.run.stop)))
    });
    let c = ctx.clone();
    engine.register_fn("stop", move |p: &mut Process, grace: f64| {
        let grace = seconds(grace, "stop")?;
        Ok::<_, Box<EvalAltResult>>(code_of(p.0.stop_within(grace, Some(&c.run.stop))))
    });
    let c = ctx.clone();
    engine.register_fn("stop", move |p: &mut Process, grace: i64| {
        let grace = seconds(grace as f64, "stop")?;
        Ok::<_, Box<EvalAltResult>>(code_of(p.0.stop_within(grace, Some(&c.run.stop))))
    });
    let c = ctx.clone();
    engine.register_fn("wait", move |p: &mut Process| {
        p.0.wait(None, &c.run.stop)
            .map(code_of)
            .map_err(from_process)
    });
    let c = ctx.clone();
    engine.register_fn("wait", move |p: &mut Process, timeout: Dynamic| {
        let timeout = optional_seconds(&timeout, "timeout")?;
        p.0.wait(timeout, &c.run.stop)
            .map(code_of)
            .map_err(from_process)
    });
    engine.register_fn("to_string", |p: &mut Process| describe(p));
    engine.register_fn("to_debug", |p: &mut Process| describe(p));
}
