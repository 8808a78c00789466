//! Hashes, HMACs and random values: `md5`, `sha1`, `sha256`, `hmac(alg, key, data)`,
//! `random_bytes(n)`, `random_int(lo, hi)`. The digests are RustCrypto's
//! ([`crate::protocols::crypto`]); the random values come from the script's stream of
//! [`crate::random`] (the OS, or `--seed`).

use std::sync::Arc;

use rhai::{Blob, Dynamic, Engine, NativeCallContext};

use crate::protocols::crypto::{self, Alg};

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error};
use super::values::with_payload;

fn value_error(message: String) -> Box<rhai::EvalAltResult> {
    script_error(ErrorKind::Value, message)
}

fn hmac(alg: &str, key: &Dynamic, data: &Dynamic) -> Fallible<Blob> {
    let alg = Alg::from_name(alg).ok_or_else(|| {
        value_error(format!(
            "hmac: '{alg}' is not a hash udpsh has; use {}",
            Alg::NAMES
        ))
    })?;
    with_payload(key, |k| with_payload(data, |d| Ok(crypto::hmac(alg, k, d))))
}

/// `random_bytes(n)`: bounded by the blob limit (an eighth of `--max-memory`), as `blob(n)`.
fn random_bytes(ctx: &ScriptCtx, nc: &NativeCallContext, n: i64) -> Fallible<Blob> {
    let max = nc.engine().max_array_size();
    match usize::try_from(n) {
        Ok(n) if max == 0 || n <= max => Ok(ctx.random.bytes(n)),
        Ok(_) => Err(value_error(format!(
            "random_bytes({n}) is over the memory limit: a blob holds at most {max} bytes (an eighth of --max-memory)"
        ))),
        Err(_) => Err(value_error(format!(
            "random_bytes({n}): a count cannot be negative"
        ))),
    }
}

fn random_int(ctx: &ScriptCtx, lo: i64, hi: i64) -> Fallible<i64> {
    ctx.random.int_in(lo, hi).ok_or_else(|| {
        value_error(format!(
            "random_int({lo}, {hi}): the low end is above the high end (both ends are included)"
        ))
    })
}

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    for (name, alg) in [
        ("md5", Alg::Md5),
        ("sha1", Alg::Sha1),
        ("sha256", Alg::Sha256),
    ] {
        engine.register_fn(name, move |data: Dynamic| {
            with_payload(&data, |b| Ok(crypto::digest(alg, b)))
        });
    }
    engine.register_fn("hmac", |alg: &str, key: Dynamic, data: Dynamic| {
        hmac(alg, &key, &data)
    });
    let c = ctx.clone();
    engine.register_fn("random_bytes", move |nc: NativeCallContext, n: i64| {
        random_bytes(&c, &nc, n)
    });
    let c = ctx.clone();
    engine.register_fn("random_int", move |lo: i64, hi: i64| random_int(&c, lo, hi));
}
