//! `s.watch(...)` and `s.unwatch()` outside the REPL, so a session saved with `:save`
//! replays under `udpsh run`: `watch` does nothing, and `unwatch` drops the datagrams waiting
//! on the socket, which the REPL's watch would have taken and shown. The REPL registers its
//! own over these.

use std::sync::Arc;

use rhai::{Engine, FnPtr, Map};

use super::context::ScriptCtx;
use super::socket::Sock;

/// A flood cannot keep `unwatch` busy for ever.
const MAX_DROPPED: usize = 100_000;

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_fn("watch", |_: &mut Sock| {});
    engine.register_fn("watch", |_: &mut Sock, _: FnPtr| {});
    engine.register_fn("watch", |_: &mut Sock, _: Map| {});
    let c = ctx.clone();
    engine.register_fn("unwatch", move |s: &mut Sock| {
        for _ in 0..MAX_DROPPED {
            // Recorded and counted like any receive; a socket error ends the draining.
            if !matches!(s.poll_receive(&c), Ok(Some(_))) {
                break;
            }
        }
    });
}
