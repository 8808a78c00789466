//! `proxy(upstream, opts)`: the impairment proxy ([`crate::proxy`]) from a script.
//!
//! | name | signature | summary | example |
//! | --- | --- | --- | --- |
//! | `proxy` | `proxy(upstream) / proxy(upstream, #{...}) → proxy` | forwards to `upstream` on a thread of its own, each client through its own upstream socket | `let p = proxy(server.local_addr, #{loss: 0.1, seed: 7});` |
//! | `addr` | `p.addr → string` | where clients send to | `c.sendto("hi", p.addr);` |
//! | `set` | `p.set(#{...})` | changes the given settings for every datagram from now on | `p.set(#{loss: 1.0});` |
//! | `stats` | `p.stats() → map` | `#{up, down, clients, seed}`, each direction `#{received, forwarded, dropped, duplicated, reordered, delayed, queued, errors}` | `p.stats().up.dropped` |
//! | `close` | `p.close() → map` | stops it after sending what it still delays; the final stats | `p.close();` |
//!
//! Options: `loss`, `dup`, `reorder` (0 to 1, or `"5%"`), `delay`, `jitter` (seconds, or
//! `"20ms"`), both directions at once or per direction in `up: #{...}` / `down: #{...}`;
//! `seed` (an integer; default random, and `stats().seed` tells it); at start only `listen`
//! (default `"127.0.0.1:0"`) and `pcap` (a file of its own with both legs; without it the
//! run's `--pcap` gets the legs no socket of the script records).
//!
//! A proxy stops when the script ends (its run's stop flag, which the proxy thread watches)
//! or when its last handle is dropped, whichever comes first.

use std::net::SocketAddr;
use std::sync::Arc;

use rhai::{Dynamic, Engine, ImmutableString, Map};

use crate::capture::Recorder;
use crate::proxy::{
    DirStats, Impairment, LocalSockets, Options, Proxy, Recording, Settings, Stats, values,
};

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error};
use super::registry;

/// A proxy as scripts hold it; the last clone dropped closes it.
#[derive(Clone)]
pub struct ProxyHandle {
    proxy: Arc<Proxy>,
    seed: u64,
}

const START_KEYS: &str = "listen, seed, pcap, loss, delay, jitter, dup, reorder, up, down";
const SET_KEYS: &str = "seed, loss, delay, jitter, dup, reorder, up, down";
const DIRECTION_KEYS: &str = "loss, delay, jitter, dup, reorder";

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_type_with_name::<ProxyHandle>("proxy");
    let c = ctx.clone();
    engine.register_fn("proxy", move |upstream: &str| {
        start(&c, upstream, &Map::new())
    });
    let c = ctx.clone();
    engine.register_fn("proxy", move |upstream: &str, opts: Map| {
        start(&c, upstream, &opts)
    });
    engine.register_get("addr", |p: &mut ProxyHandle| p.proxy.addr().to_string());
    engine.register_fn("set", |p: &mut ProxyHandle, opts: Map| set(p, &opts));
    engine.register_fn("stats", |p: &mut ProxyHandle| {
        stats_map(&p.proxy.stats(), p.seed)
    });
    engine.register_fn("close", |p: &mut ProxyHandle| {
        stats_map(&p.proxy.close(), p.seed)
    });
    engine.register_fn("to_string", |p: &mut ProxyHandle| describe(p));
    engine.register_fn("to_debug", |p: &mut ProxyHandle| describe(p));
}

fn describe(p: &ProxyHandle) -> String {
    let state = if p.proxy.is_closed() { " closed" } else { "" };
    format!("proxy({} → {}{state})", p.proxy.addr(), p.proxy.upstream())
}

fn start(ctx: &Arc<ScriptCtx>, upstream: &str, opts: &Map) -> Fallible<ProxyHandle> {
    check_keys(opts, START_KEYS, "proxy")?;
    let mut o = Options::new(address(ctx, upstream, "proxy upstream")?);
    if let Some(v) = opts.get("listen") {
        o.listen = address(ctx, &text(v, "listen")?, "proxy listen")?;
    }
    o.settings = settings(Settings::default(), opts)?;
    o.seed = match opts.get("seed") {
        Some(v) => seed(v)?,
        None => ctx.random.seed(),
    };
    o.recording = match opts.get("pcap") {
        Some(v) => {
            let path = text(v, "pcap")?;
            let recorder = Recorder::create(std::path::Path::new(&path))
                .map_err(|e| script_error(ErrorKind::Capture, e.to_string()))?;
            Some(Recording {
                recorder,
                local: None,
            })
        }
        None => ctx.run.recorder().map(|recorder| Recording {
            recorder,
            local: Some(Arc::new(ScriptSockets) as Arc<dyn LocalSockets>),
        }),
    };
    o.stop = Some(ctx.run.stop.clone());
    let seed = o.seed;
    let proxy = Proxy::start(o).map_err(|e| {
        let kind = if crate::threads::is_no_thread(&e) {
            ErrorKind::Thread
        } else {
            ErrorKind::Network
        };
        script_error(kind, e.to_string())
    })?;
    let proxy = Arc::new(proxy);
    // Closed with the script, unless the script dropped its last handle (which closes it).
    ctx.run
        .background
        .add(Arc::new(LeftRunning(Arc::downgrade(&proxy))));
    Ok(ProxyHandle { proxy, seed })
}

/// A script's proxy as its run's background registry holds it.
struct LeftRunning(std::sync::Weak<Proxy>);

impl super::background::Background for LeftRunning {
    fn stop(&self, _grace: std::time::Duration) -> Option<Box<rhai::EvalAltResult>> {
        if let Some(proxy) = self.0.upgrade() {
            proxy.close();
        }
        None
    }

    fn describe(&self) -> String {
        self.0.upgrade().map_or("proxy (dropped)".into(), |p| {
            format!("proxy on {}", p.addr())
        })
    }

    fn finished(&self) -> bool {
        self.0.upgrade().is_none_or(|p| p.is_closed())
    }
}

fn set(p: &mut ProxyHandle, opts: &Map) -> Fallible<()> {
    if let Some(key) = ["listen", "pcap"].iter().find(|k| opts.contains_key(**k)) {
        return Err(script_error(
            ErrorKind::Value,
            format!("set() cannot change {key}, only {SET_KEYS}: start another proxy"),
        ));
    }
    check_keys(opts, SET_KEYS, "set")?;
    let new = settings(p.proxy.settings(), opts)?;
    let reseed = opts.get("seed").map(seed).transpose()?;
    p.proxy
        .set(new, reseed)
        .map_err(|_| script_error(ErrorKind::Closed, "the proxy is closed"))?;
    if let Some(s) = reseed {
        p.seed = s;
    }
    Ok(())
}

/// `base` with what `opts` changes: top-level keys both ways, then `up` and `down`.
fn settings(base: Settings, opts: &Map) -> Fallible<Settings> {
    let mut s = base;
    s.up = impairment(s.up, opts, "")?;
    s.down = impairment(s.down, opts, "")?;
    for (key, dir) in [("up", &mut s.up), ("down", &mut s.down)] {
        if let Some(v) = opts.get(key) {
            let map = v
                .read_lock::<Map>()
                .ok_or_else(|| {
                    script_error(
                        ErrorKind::Value,
                        format!(
                            "{key} must be a map like #{{loss: 0.1}}, not {}",
                            v.type_name()
                        ),
                    )
                })?
                .clone();
            check_keys(&map, DIRECTION_KEYS, key)?;
            *dir = impairment(*dir, &map, &format!("{key}."))?;
        }
    }
    Ok(s)
}

fn impairment(base: Impairment, opts: &Map, prefix: &str) -> Fallible<Impairment> {
    let mut imp = base;
    let name = |k: &str| format!("{prefix}{k}");
    for (key, slot) in [
        ("loss", &mut imp.loss),
        ("dup", &mut imp.dup),
        ("reorder", &mut imp.reorder),
    ] {
        if let Some(v) = opts.get(key) {
            *slot = probability(v, &name(key))?;
        }
    }
    for (key, slot) in [("delay", &mut imp.delay), ("jitter", &mut imp.jitter)] {
        if let Some(v) = opts.get(key) {
            *slot = duration(v, &name(key))?;
        }
    }
    Ok(imp)
}

fn probability(v: &Dynamic, name: &str) -> Fallible<f64> {
    let result = match v.read_lock::<ImmutableString>() {
        Some(t) => values::probability(&t),
        None => values::probability_value(super::values::float(v, name)?),
    };
    result.map_err(|e| script_error(ErrorKind::Value, format!("proxy {name}: {e}")))
}

fn duration(v: &Dynamic, name: &str) -> Fallible<std::time::Duration> {
    let result = match v.read_lock::<ImmutableString>() {
        Some(t) => values::duration(&t, true),
        None => {
            let secs = super::values::float(v, name)?;
            values::seconds(secs).map_err(|e| format!("{secs} {e}"))
        }
    };
    result.map_err(|e| script_error(ErrorKind::Value, format!("proxy {name}: {e}")))
}

fn seed(v: &Dynamic) -> Fallible<u64> {
    let n = super::values::int(v, "seed")?;
    u64::try_from(n).map_err(|_| script_error(ErrorKind::Value, "proxy seed must be 0 or more"))
}

fn text(v: &Dynamic, name: &str) -> Fallible<String> {
    v.read_lock::<ImmutableString>()
        .map(|s| s.to_string())
        .ok_or_else(|| {
            script_error(
                ErrorKind::Value,
                format!("{name} must be a string, not {}", v.type_name()),
            )
        })
}

/// `host:port`, a name looked up as sockets do: given up at the script's `--timeout`.
pub(super) fn address(ctx: &ScriptCtx, text: &str, name: &str) -> Fallible<SocketAddr> {
    use crate::net::NetError;
    crate::net::addr::parse_addr_stoppable(text, false, &ctx.run.stop).map_err(|e| match e {
        NetError::Stopped(reason) => super::error::stopped(reason),
        NetError::Failed { kind, message } => {
            script_error(kind, format!("{name} '{text}': {message}"))
        }
    })
}

/// Unknown keys are an error listing the valid ones.
pub(super) fn check_keys(opts: &Map, valid: &str, what: &str) -> Fallible<()> {
    match opts
        .keys()
        .find(|k| !valid.split(", ").any(|v| v == k.as_str()))
    {
        Some(key) => Err(script_error(
            ErrorKind::Value,
            format!("{what} has no option '{key}' (it has {valid})"),
        )),
        None => Ok(()),
    }
}

fn stats_map(s: &Stats, seed: u64) -> Map {
    let mut m = Map::new();
    m.insert("up".into(), direction_map(&s.up).into());
    m.insert("down".into(), direction_map(&s.down).into());
    m.insert("clients".into(), (s.clients as i64).into());
    m.insert("seed".into(), (seed as i64).into());
    m
}

fn direction_map(d: &DirStats) -> Map {
    let mut m = Map::new();
    for (k, v) in [
        ("received", d.received),
        ("forwarded", d.forwarded),
        ("dropped", d.dropped),
        ("duplicated", d.duplicated),
        ("reordered", d.reordered),
        ("delayed", d.delayed),
        ("queued", d.queued),
        ("errors", d.errors),
    ] {
        m.insert(k.into(), (v as i64).into());
    }
    m
}

/// The script's sockets, as the capture registry knows them.
struct ScriptSockets;

impl LocalSockets for ScriptSockets {
    fn add(&self, addr: SocketAddr) {
        registry::add(addr);
    }

    fn remove(&self, addr: SocketAddr) {
        registry::remove(addr);
    }

    fn is_local(&self, addr: SocketAddr) -> bool {
        registry::is_local(addr)
    }
}

pub(super) fn script_sockets() -> Arc<dyn LocalSockets> {
    Arc::new(ScriptSockets)
}
