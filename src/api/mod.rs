//! The Rhai surface of udpsh: one engine per script (or spawned thread), its functions
//! closing over that script's context.

mod assert;
pub mod background;
mod binary;
mod bytes;
mod callsite;
pub mod cases;
mod context;
mod crypto;
mod datagram;
pub mod diagnose;
pub mod docs;
pub mod docs_markdown;
pub mod error;
pub mod explain;
mod files;
pub mod forms;
mod fuzz;
mod helpers;
mod join;
pub mod limits;
pub mod lint;
mod load;
pub mod loadtest;
pub mod modules;
mod native_calls;
pub mod positions;
mod process;
mod proxy;
mod ranges;
mod registry;
mod replay;
mod request;
mod socket;
mod sockopts;
pub mod source;
mod spawn;
pub mod suite;
mod thread;
mod values;
pub mod vars;
mod watch;

pub use binary::ScriptLayout;
pub use context::{Output, RunCtx, ScriptCtx, VarValue};
pub use datagram::Datagram;
pub use limits::Limits;
pub use ranges::prepared;
pub use socket::Sock;
pub use thread::{SCRIPT_STACK, SpawnHandle};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rhai::{Dynamic, Engine, OptimizationLevel};

use crate::stop::Stop;

/// An engine for one script (or one spawned thread of it).
pub fn engine(ctx: &Arc<ScriptCtx>) -> Engine {
    // Engine::new(), but with Rhai's standard library built once per process and shared by
    // every engine (the compiler's, each script's, each spawned thread's): building it was
    // a third of `udpsh -e ''`.
    let mut engine = Engine::new_raw();
    engine.set_max_strings_interned(rhai::default_limits::MAX_STRINGS_INTERNED);
    engine.register_global_module(standard_library());
    // Full optimisation would run our (side-effecting) functions at compile time.
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_max_expr_depths(256, 256);
    ctx.run.limits.apply(&mut engine);
    allow_spawn_keyword(&mut engine);
    engine.set_module_resolver(modules::Resolver::new(ctx));
    engine.on_progress(progress(ctx));
    let out = ctx.run.out.clone();
    let run = ctx.run.clone();
    engine.on_print(move |text| {
        run.note_test_output(text);
        out.line(text)
    });
    let out = ctx.run.out.clone();
    let run = ctx.run.clone();
    engine.on_debug(move |text, _, _| {
        run.note_test_output(text);
        out.line(text)
    });

    values::register(&mut engine);
    binary::register(&mut engine);
    bytes::register(&mut engine);
    ranges::register(&mut engine);
    datagram::register(&mut engine);
    socket::register(&mut engine, ctx);
    sockopts::register(&mut engine);
    request::register(&mut engine, ctx);
    process::register(&mut engine, ctx);
    load::register(&mut engine, ctx);
    loadtest::register(&mut engine, ctx);
    helpers::register(&mut engine, ctx);
    files::register(&mut engine, ctx);
    assert::register(&mut engine, ctx);
    spawn::register(&mut engine, ctx);
    suite::register(&mut engine, ctx);
    proxy::register(&mut engine, ctx);
    replay::register(&mut engine, ctx);
    fuzz::register(&mut engine, ctx);
    watch::register(&mut engine, ctx);
    crypto::register(&mut engine, ctx);
    join::register(&mut engine);
    engine
}

/// What the interpreter checks as it runs: a stop (`--timeout`, Ctrl-C, the run's end) and
/// the memory budget. Also for engines made elsewhere (the REPL's watch formatters).
pub fn progress(ctx: &ScriptCtx) -> impl Fn(u64) -> Option<Dynamic> + Send + Sync + 'static {
    let stop = ctx.run.stop.clone();
    let budget = ctx.run.limits.memory;
    move |ops| {
        // Rhai calls this on every operation: the flags are looked at every 16 (a stop is
        // seen within microseconds), the clock every 1024.
        if ops % 16 != 0 {
            return None;
        }
        if let Some(over) = crate::memory::over(budget) {
            return Some(Dynamic::from(over));
        }
        let reason = if ops % 1024 == 0 {
            stop.check()
        } else {
            stop.flagged()
        };
        reason.map(|r| Dynamic::from(r.as_str()))
    }
}

/// Rhai's standard package, as `Engine::new()` registers it, made once.
fn standard_library() -> rhai::Shared<rhai::Module> {
    use rhai::packages::{Package, StandardPackage};
    static LIBRARY: std::sync::OnceLock<rhai::Shared<rhai::Module>> = std::sync::OnceLock::new();
    LIBRARY
        .get_or_init(|| StandardPackage::new().as_shared_module())
        .clone()
}

/// An engine for compiling only: the API functions exist, but nothing runs.
pub fn compiler() -> Engine {
    engine(&idle_context())
}

/// A script context that runs nothing: no deadline, no capture, output dropped.
pub(crate) fn idle_context() -> Arc<ScriptCtx> {
    let run = Arc::new(RunCtx::new(
        Arc::new(Stop::new(None)),
        None,
        false,
        Output::new(|_| {}),
    ));
    ScriptCtx::new(run, String::new(), Path::new("."), BTreeMap::new())
}

/// Rhai reserves `spawn` and `var` for future features; the SPEC names two of our functions
/// so, and the tokenizer hands them on as plain identifiers.
#[allow(deprecated)]
fn allow_spawn_keyword(engine: &mut Engine) {
    use rhai::Token;
    engine.on_parse_token(|token, _, _| match token {
        Token::Reserved(word) if matches!(word.as_str(), "spawn" | "var") => {
            Token::Identifier(word)
        }
        other => other,
    });
}
