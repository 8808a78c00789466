//! `spawn(|| ...)` and `spawn("file.rhai", #{vars})`: run on a thread of its own, with its own
//! engine, sharing the run's stop flag, recorder and counters. `join()` waits (stoppably).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map};

use crate::diagnostic::Diagnostic;
use crate::stop::{SLICE, StopReason};

use super::context::{ScriptCtx, VarValue};
use super::error::{Fallible, script_error, stopped, with_fields};

type Outcome = Result<Dynamic, Box<EvalAltResult>>;

/// A spawned thread; `join()` gives its result once, then the same result again.
#[derive(Clone)]
pub struct SpawnHandle(Arc<HandleState>);

struct HandleState {
    name: String,
    done: Mutex<Receiver<Outcome>>,
    result: Mutex<Option<Outcome>>,
    joined: std::sync::atomic::AtomicBool,
}

impl SpawnHandle {
    fn start(name: String, work: impl FnOnce() -> Outcome + Send + 'static) -> SpawnHandle {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(work());
        });
        SpawnHandle(Arc::new(HandleState {
            name,
            done: Mutex::new(rx),
            result: Mutex::new(None),
            joined: Default::default(),
        }))
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }

    pub fn was_joined(&self) -> bool {
        self.0.joined.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits for the thread; gives up with the reason when `should_stop` says so.
    pub fn wait(&self, should_stop: impl Fn() -> Option<StopReason>) -> Result<(), StopReason> {
        let mut result = self.0.result.lock().unwrap_or_else(|p| p.into_inner());
        if result.is_some() {
            return Ok(());
        }
        let rx = self.0.done.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match rx.recv_timeout(SLICE) {
                Ok(outcome) => {
                    *result = Some(outcome);
                    return Ok(());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    *result = Some(Err(script_error("thread", "the spawned thread panicked")));
                    return Ok(());
                }
            }
            if let Some(reason) = should_stop() {
                return Err(reason);
            }
        }
    }

    /// The thread's result, once; later calls see its value again, or that it failed.
    pub fn take(&self) -> Option<Outcome> {
        let mut slot = self.0.result.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = slot.take()?;
        *slot = Some(match &outcome {
            Ok(value) => Ok(value.clone()),
            Err(_) => Err(script_error(
                "thread",
                "the thread failed (reported at its first join)",
            )),
        });
        Some(outcome)
    }

    fn join(&self, ctx: &ScriptCtx) -> Outcome {
        self.0
            .joined
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.wait(|| ctx.run.stop.check()).map_err(stopped)?;
        self.take()
            .unwrap_or_else(|| Err(script_error("thread", "the thread has no result")))
    }
}

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_type_with_name::<SpawnHandle>("thread");
    let c = ctx.clone();
    engine.register_fn("spawn", move |f: FnPtr| {
        Ok::<_, Box<EvalAltResult>>(spawn_closure(&c, f))
    });
    let c = ctx.clone();
    engine.register_fn("spawn", move |path: &str| spawn_file(&c, path, Map::new()));
    let c = ctx.clone();
    engine.register_fn("spawn", move |path: &str, vars: Map| {
        spawn_file(&c, path, vars)
    });
    let c = ctx.clone();
    engine.register_fn("join", move |h: &mut SpawnHandle| h.join(&c));
    engine.register_get("finished", |h: &mut SpawnHandle| {
        h.0.result.lock().map(|r| r.is_some()).unwrap_or(false)
    });
    engine.register_fn("to_string", |h: &mut SpawnHandle| {
        format!("thread({})", h.name())
    });
    engine.register_fn("to_debug", |h: &mut SpawnHandle| {
        format!("thread({})", h.name())
    });
}

fn remember(ctx: &ScriptCtx, handle: &SpawnHandle) {
    ctx.run
        .threads
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(handle.clone());
}

/// The thread gets its own copies of the captured variables, as a Rust `move` closure
/// would: Rhai's shared captures would otherwise be locked by one thread's blocking call
/// (a `recvfrom`) and fail in another with "data race". Sockets inside stay the same socket.
fn unshare(f: &mut FnPtr, depth: usize) {
    for value in f.iter_curry_mut() {
        *value = value.flatten_clone();
        if depth > 0
            && let Some(mut inner) = value.write_lock::<FnPtr>()
        {
            unshare(&mut inner, depth - 1);
        }
    }
}

fn spawn_closure(ctx: &Arc<ScriptCtx>, mut f: FnPtr) -> SpawnHandle {
    unshare(&mut f, 4);
    let c = ctx.clone();
    let name = format!("closure in {}", ctx.name);
    let handle = SpawnHandle::start(name, move || {
        let engine = super::engine(&c);
        let ast = c.ast();
        super::modules::call_closure(&engine, &ast, &c.dir, &f)
    });
    remember(ctx, &handle);
    handle
}

fn spawn_file(ctx: &Arc<ScriptCtx>, path: &str, vars: Map) -> Fallible<SpawnHandle> {
    let full = clean(&ctx.dir.join(path));
    let source = std::fs::read_to_string(&full).map_err(|e| {
        script_error(
            "file",
            format!("cannot read script '{}': {e}", full.display()),
        )
    })?;
    let mut child_vars = ctx.vars.clone();
    for (name, value) in vars {
        child_vars.insert(name.to_string(), VarValue::Value(value));
    }
    let name = full.display().to_string();
    let dir = full.parent().unwrap_or(Path::new(".")).to_path_buf();
    let child = ScriptCtx::new(ctx.run.clone(), name.clone(), &dir, child_vars);
    let engine = super::engine(&child);
    let ast = super::prepared(&source, |source| engine.compile(source)).map_err(|e| {
        let d = Diagnostic::from_parse(&e, &name);
        child_failure("compile", &d, &source)
    })?;
    let ast = Arc::new(ast);
    child.set_ast(ast.clone());
    let handle = SpawnHandle::start(name.clone(), move || {
        engine.eval_ast::<Dynamic>(&ast).map_err(|e| {
            if matches!(*e, EvalAltResult::ErrorTerminated(..)) {
                return e;
            }
            let d = Diagnostic::from_eval(&e, &name);
            child_failure(&d.kind.clone(), &d, &source)
        })
    });
    remember(ctx, &handle);
    Ok(handle)
}

/// `scripts/scenarios/../chat_client.rhai` → `scripts/chat_client.rhai`, for names people read.
fn clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A spawned script's error, re-raised in the parent with the child's own rendering.
fn child_failure(kind: &str, d: &Diagnostic, source: &str) -> Box<EvalAltResult> {
    let mut fields = Map::new();
    fields.insert("detail".into(), d.render(source, false).into());
    fields.insert("file".into(), d.file.clone().into());
    fields.insert("line".into(), (d.line as i64).into());
    fields.insert("col".into(), (d.col as i64).into());
    with_fields(
        kind,
        format!("in spawned script {}: {}", d.file, d.message),
        fields,
    )
}
