//! `s.watch(...)` and `s.unwatch()` outside the REPL: they do nothing, so a session saved
//! with `:save` replays under `udpsh run`. The REPL registers its own over these.

use rhai::{Engine, FnPtr, Map};

use super::socket::Sock;

pub fn register(engine: &mut Engine) {
    engine.register_fn("watch", |_: &mut Sock| {});
    engine.register_fn("watch", |_: &mut Sock, _: FnPtr| {});
    engine.register_fn("watch", |_: &mut Sock, _: Map| {});
    engine.register_fn("unwatch", |_: &mut Sock| {});
}
