//! The Rhai surface of udpsh: one engine per script (or spawned thread), its functions
//! closing over that script's context.

mod assert;
mod context;
mod datagram;
pub mod docs;
pub mod error;
mod helpers;
mod load;
mod proxy;
mod registry;
mod replay;
mod socket;
mod spawn;
mod values;

pub use context::{Output, RunCtx, ScriptCtx, VarValue};
pub use datagram::Datagram;
pub use socket::Sock;
pub use spawn::SpawnHandle;

use std::sync::Arc;

use rhai::{Dynamic, Engine, OptimizationLevel};

/// An engine for one script (or one spawned thread of it).
pub fn engine(ctx: &Arc<ScriptCtx>) -> Engine {
    let mut engine = Engine::new();
    // Full optimisation would run our (side-effecting) functions at compile time.
    engine.set_optimization_level(OptimizationLevel::Simple);
    engine.set_max_expr_depths(256, 256);
    allow_spawn_keyword(&mut engine);
    let stop = ctx.run.stop.clone();
    engine.on_progress(move |ops| {
        // An atomic load on every operation; the clock only every 1024.
        let reason = if ops % 1024 == 0 {
            stop.check()
        } else {
            stop.flagged()
        };
        reason.map(|r| Dynamic::from(r.as_str()))
    });
    let out = ctx.run.out.clone();
    engine.on_print(move |text| out.line(text));
    let out = ctx.run.out.clone();
    engine.on_debug(move |text, _, _| out.line(text));

    values::register(&mut engine);
    datagram::register(&mut engine);
    socket::register(&mut engine, ctx);
    load::register(&mut engine, ctx);
    helpers::register(&mut engine, ctx);
    assert::register(&mut engine, ctx);
    spawn::register(&mut engine, ctx);
    proxy::register(&mut engine, ctx);
    replay::register(&mut engine, ctx);
    engine
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
