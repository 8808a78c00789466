//! `spawn(|| ...)` and `spawn("file.rhai", #{vars})`: run on a thread of its own, with its own
//! engine, sharing the run's stop flag, recorder and counters. `join()` waits (stoppably).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map};

use crate::diagnostic::Diagnostic;

use super::context::{ScriptCtx, VarValue};
use super::error::{ErrorKind, Fallible, script_error};
use super::source::ReadError;
use super::thread::SpawnHandle;

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_type_with_name::<SpawnHandle>("thread");
    let c = ctx.clone();
    engine.register_fn("spawn", move |f: FnPtr| spawn_closure(&c, f));
    let c = ctx.clone();
    engine.register_fn("spawn", move |path: &str| spawn_file(&c, path, Map::new()));
    let c = ctx.clone();
    engine.register_fn("spawn", move |path: &str, vars: Map| {
        spawn_file(&c, path, vars)
    });
    let c = ctx.clone();
    engine.register_fn("join", move |h: &mut SpawnHandle| h.join(&c.run.stop));
    engine.register_get("finished", |h: &mut SpawnHandle| h.finished());
    engine.register_fn("to_string", |h: &mut SpawnHandle| {
        format!("thread({})", h.name())
    });
    engine.register_fn("to_debug", |h: &mut SpawnHandle| {
        format!("thread({})", h.name())
    });
}

fn remember(ctx: &ScriptCtx, handle: &SpawnHandle) {
    ctx.run.background.add(Arc::new(handle.clone()));
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

fn spawn_closure(ctx: &Arc<ScriptCtx>, mut f: FnPtr) -> Fallible<SpawnHandle> {
    unshare(&mut f, 4);
    let c = ctx.clone();
    let name = format!("closure in {}", ctx.name);
    let handle = SpawnHandle::start(name, move || {
        let engine = super::engine(&c);
        let ast = c.ast();
        super::modules::call_closure(&engine, &ast, &c, &f)
    })?;
    remember(ctx, &handle);
    Ok(handle)
}

fn spawn_file(ctx: &Arc<ScriptCtx>, path: &str, vars: Map) -> Fallible<SpawnHandle> {
    let full = clean(&ctx.dir.join(path));
    let name = full.display().to_string();
    let source = super::source::read_script(&full, &name).map_err(|e| match e {
        ReadError::Message(m) => script_error(ErrorKind::File, m),
        ReadError::Diagnostic(d) => child_failure(&d, ""),
    })?;
    let mut child_vars = ctx.vars.clone();
    for (name, value) in vars {
        child_vars.insert(name.to_string(), VarValue::Value(value));
    }
    let dir = full.parent().unwrap_or(Path::new(".")).to_path_buf();
    let child = ScriptCtx::new(ctx.run.clone(), name.clone(), &dir, child_vars);
    let engine = super::engine(&child);
    let ast =
        super::source::compile(&engine, &source, &name).map_err(|d| child_failure(&d, &source))?;
    let ast = Arc::new(ast);
    child.set_ast(ast.clone());
    let handle = SpawnHandle::start(name.clone(), move || {
        engine.eval_ast::<Dynamic>(&ast).map_err(|e| {
            if super::error::is_stop(&e) {
                return e;
            }
            let d = super::diagnose::from_eval(&e, &name);
            child_failure(&d, &source)
        })
    })?;
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
fn child_failure(d: &Diagnostic, source: &str) -> Box<EvalAltResult> {
    super::diagnose::nested(d, source, "in spawned script")
}
