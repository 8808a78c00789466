//! `load(target, #{...})`: the load engine of [`crate::load`] from a script, and the options
//! map of `udpsh load --script F.rhai` ([`Scripted`]). (`load.rs` beside it is `blast`.)
//!
//! Options: `request` (blob or string; an array, taken in turn; or `|i| blob`), `rate`,
//! `duration` or `count`, `clients`, `pair` (`"dns"`, `"coap"`, `"stun"`, `"order"`,
//! `"bytes:0-1"` or `[0..2]`), `timeout`, `warmup`, `check` (`|d| bool`), `sample`, `segment`.
//!
//! A `request` or `check` closure runs in the script for every request or reply, on the
//! thread of the run: it costs what a Rhai call costs (a few µs with the datagram it is
//! handed), which bounds the rate it can keep; the README gives the measured figure. The
//! sender that falls behind says so in `behind`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, Map, NativeCallContext};

use crate::load::settings::Asked;
use crate::load::{
    self, Failure, Hooks, Invalid, Pairing, Reply, Report, Requests, Sampled, Segment, Way,
};
use crate::net;

use super::context::{Output, RunCtx, ScriptCtx, VarValue};
use super::datagram::Datagram;
use super::error::{ErrorKind, Fallible, from_net, script_error, stopped};
use super::{registry, values};

const KEYS: &[&str] = &[
    "request", "rate", "duration", "count", "clients", "pair", "timeout", "warmup", "check",
    "sample", "segment",
];

/// `r.histogram`: the latency histogram, as `--json` holds it.
#[derive(Clone)]
pub struct LoadHistogram(ImmutableString);

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "load",
        move |nc: NativeCallContext, target: &str, opts: Map| run(&c, &nc, target, &opts),
    );
    engine
        .register_type_with_name::<LoadHistogram>("histogram")
        .register_fn(
            "save",
            |h: &mut LoadHistogram, path: &str| -> Fallible<()> {
                std::fs::write(path, h.0.as_bytes())
                    .map_err(|e| script_error(ErrorKind::File, format!("cannot write {path}: {e}")))
            },
        )
        .register_fn("to_string", |h: &mut LoadHistogram| h.0.to_string())
        .register_fn("to_debug", |h: &mut LoadHistogram| h.0.to_string());
}

fn value_error(message: impl Into<String>) -> Box<EvalAltResult> {
    script_error(ErrorKind::Value, message)
}

/// What an options map asks, its requests, and its closures.
struct Options {
    asked: Asked,
    requests: Requests,
    request: Option<FnPtr>,
    check: Option<FnPtr>,
}

fn options(opts: &Map) -> Fallible<Options> {
    values::check_keys(opts, "load", KEYS)?;
    let secs = |key: &str| -> Fallible<Option<Duration>> {
        opts.get(key)
            .map(|v| values::float(v, key).and_then(|s| values::seconds(s, key)))
            .transpose()
    };
    let count = |key: &str| -> Fallible<Option<u64>> {
        opts.get(key)
            .map(|v| {
                u64::try_from(values::int(v, key)?)
                    .map_err(|_| value_error(format!("load: {key} must be 0 or more")))
            })
            .transpose()
    };
    let closure = |key: &str| -> Fallible<Option<FnPtr>> {
        opts.get(key)
            .map(|v| {
                v.clone().try_cast::<FnPtr>().ok_or_else(|| {
                    value_error(format!(
                        "load: {key} must be a function |d| ..., not {}",
                        super::forms::value_word(v)
                    ))
                })
            })
            .transpose()
    };
    let (requests, request) = match opts.get("request") {
        None => return Err(value_error("load needs a request: #{request: blob, ...}")),
        Some(v) if v.is_fnptr() => (Requests::Made, closure("request")?),
        Some(v) if v.is_array() => {
            let turns: Array = v.clone().cast();
            let turns = turns
                .iter()
                .map(|t| values::with_payload(t, |b| Ok(b.to_vec())))
                .collect::<Fallible<Vec<_>>>()?;
            if turns.is_empty() {
                return Err(value_error("load: request is an empty array"));
            }
            (Requests::Turns(turns), None)
        }
        Some(v) => (
            Requests::One(values::with_payload(v, |b| Ok(b.to_vec()))?),
            None,
        ),
    };
    let asked = Asked {
        rate: opts
            .get("rate")
            .map(|v| values::float(v, "rate"))
            .transpose()?,
        duration: secs("duration")?,
        count: count("count")?,
        clients: count("clients")?.map(|n| n.min(usize::MAX as u64) as usize),
        pair: opts.get("pair").map(pairing).transpose()?,
        timeout: secs("timeout")?,
        warmup: secs("warmup")?,
        sample: count("sample")?,
        segment: match opts.get("segment") {
            Some(v) => Some(Segment::parse(&v.to_string()).map_err(value_error)?),
            None => None,
        },
    };
    Ok(Options {
        asked,
        requests,
        request,
        check: closure("check")?,
    })
}

/// `"dns"`, `"bytes:0-1"`, or a byte range `[0..2]` / `0..2` (`..=` inclusive).
fn pairing(v: &Dynamic) -> Fallible<Pairing> {
    let range = if v.is_array() {
        let a: Array = v.clone().cast();
        (a.len() == 1).then(|| a[0].clone())
    } else {
        Some(v.clone())
    };
    let bytes = range.and_then(|r| {
        let r2 = r.clone();
        r.try_cast::<std::ops::Range<i64>>().or_else(|| {
            r2.try_cast::<std::ops::RangeInclusive<i64>>()
                .map(|r| *r.start()..*r.end() + 1)
        })
    });
    match bytes {
        Some(r) if r.start >= 0 && r.end > r.start => Ok(Pairing::Bytes {
            start: r.start as usize,
            end: r.end as usize,
        }),
        Some(r) => Err(value_error(format!(
            "load: pair [{}..{}] is an empty range",
            r.start, r.end
        ))),
        None => Pairing::parse(&v.to_string()).map_err(|e| value_error(format!("load: pair {e}"))),
    }
}

fn run(ctx: &Arc<ScriptCtx>, nc: &NativeCallContext, target: &str, opts: &Map) -> Fallible<Map> {
    let o = options(opts)?;
    let target = net::parse_addr_stoppable(target, false, &ctx.run.stop).map_err(from_net)?;
    let plan = o
        .asked
        .plan(target, o.requests, o.check.is_some(), Pairing::Order)
        .map_err(|bad| invalid(&bad))?;
    let mut hooks = InScript {
        ctx,
        nc,
        line: nc.call_position().line().unwrap_or(0),
        request: o.request,
        check: o.check,
        clients: Vec::new(),
    };
    let outcome = load::run(&plan, &mut hooks);
    let report = outcome.map_err(|f| match f {
        Failure::Setup(bad) => invalid(&bad),
        Failure::Request(e) => value_error(format!("load: {e}")),
        Failure::Network(e) => script_error(ErrorKind::Network, format!("load: {e}")),
        Failure::Hook(e) => e,
    })?;
    let c = &report.counts;
    ctx.run
        .sent
        .fetch_add(c.sent, std::sync::atomic::Ordering::Relaxed);
    ctx.run.received.fetch_add(
        c.received + c.late + c.duplicate,
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(result_map(&report))
}

fn invalid(bad: &Invalid) -> Box<EvalAltResult> {
    value_error(format!("load: {}", bad.key()))
}

/// The result map: counts, rates, `latency` and `service`, `timeline`, `histogram`.
pub fn result_map(r: &Report) -> Map {
    let int = |n: u64| Dynamic::from(i64::try_from(n).unwrap_or(i64::MAX));
    let summary = |s: &load::histogram::Summary| {
        let mut m = Map::new();
        for (k, v) in [
            ("min", s.min),
            ("mean", s.mean),
            ("stdev", s.stdev),
            ("p50", s.p50),
            ("p90", s.p90),
            ("p99", s.p99),
            ("p999", s.p999),
            ("p9999", s.p9999),
            ("max", s.max),
        ] {
            m.insert(k.into(), v.into());
        }
        m
    };
    let c = &r.counts;
    let mut m = Map::new();
    for (k, v) in [
        ("sent", c.sent),
        ("received", c.received),
        ("lost", c.lost),
        ("late", c.late),
        ("duplicate", c.duplicate),
        ("refused", c.refused),
        ("bad", c.bad),
        ("errors", c.errors),
        ("unmatched", c.unmatched),
    ] {
        m.insert(k.into(), int(v));
    }
    for (k, v) in [
        ("rate", r.rate),
        ("throughput", r.throughput),
        ("behind", r.behind),
        ("seconds", r.seconds),
    ] {
        m.insert(k.into(), v.into());
    }
    m.insert("latency".into(), summary(&r.latency).into());
    m.insert("service".into(), summary(&r.service).into());
    let timeline: Array = r
        .timeline
        .iter()
        .map(|s| {
            let mut t = Map::new();
            t.insert("t".into(), int(s.t));
            t.insert("sent".into(), int(s.sent));
            t.insert("received".into(), int(s.received));
            t.insert("lost".into(), int(s.lost));
            t.insert("p50".into(), s.p50.into());
            t.insert("p99".into(), s.p99.into());
            Dynamic::from_map(t)
        })
        .collect();
    m.insert("timeline".into(), timeline.into());
    m.insert(
        "histogram".into(),
        Dynamic::from(LoadHistogram(r.histogram.clone().into())),
    );
    m
}

/// Blob or string from a `request` closure.
fn request_bytes(v: &Dynamic, out: &mut Vec<u8>) -> Fallible<()> {
    values::with_payload(v, |b| {
        out.extend_from_slice(b);
        Ok(())
    })
    .map_err(|_| {
        value_error(format!(
            "load: request must return a blob or a string, not {}",
            super::forms::value_word(v)
        ))
    })
}

fn verdict(v: &Dynamic) -> Fallible<bool> {
    v.as_bool().map_err(|_| {
        value_error(format!(
            "load: check must return true or false, not {}",
            super::forms::value_word(v)
        ))
    })
}

/// The reply as a script's datagram, for `check`.
fn datagram(r: &Reply) -> Dynamic {
    Dynamic::from(Datagram {
        data: r.data.to_vec(),
        len: r.len,
        from: r.from,
        time: Some(r.time),
        ..Datagram::default()
    })
}

/// A run of `load()`: closures called in the script's context, the sample recorded in its
/// capture, a stop (`--timeout`, Ctrl-C) seen at each tick.
struct InScript<'a> {
    ctx: &'a ScriptCtx,
    nc: &'a NativeCallContext<'a>,
    line: usize,
    request: Option<FnPtr>,
    check: Option<FnPtr>,
    /// Registered as this process's sockets until the run ends.
    clients: Vec<SocketAddr>,
}

impl Hooks for InScript<'_> {
    type Error = Box<EvalAltResult>;

    fn bound(&mut self, clients: &[SocketAddr]) {
        // A peer of this script then leaves the requests it receives to our recording.
        for &a in clients {
            registry::add(a);
        }
        self.clients = clients.to_vec();
    }

    fn request(&mut self, i: u64, out: &mut Vec<u8>) -> Fallible<()> {
        if let Some(f) = &self.request {
            let v: Dynamic = f.call_within_context(self.nc, (i as i64,))?;
            request_bytes(&v, out)?;
        }
        Ok(())
    }

    fn check(&mut self, reply: &Reply) -> Fallible<bool> {
        match &self.check {
            Some(f) => verdict(&f.call_within_context(self.nc, (datagram(reply),))?),
            None => Ok(true),
        }
    }

    fn sampled(&mut self, d: &Sampled) {
        // A reply from a socket of this script was recorded when that socket sent it.
        if d.way == Way::Reply && registry::is_local(d.src) {
            return;
        }
        let run = &self.ctx.run;
        let who = format!("{}:{}", self.ctx.name, self.line);
        run.with_recorder(|r| load::record::record(r, d, &load::record::comment(&who, d)));
    }

    fn tick(&mut self, _: &load::Progress) -> Fallible<()> {
        match self.ctx.run.stop.check() {
            Some(reason) => Err(stopped(reason)),
            None => Ok(()),
        }
    }
}

impl Drop for InScript<'_> {
    fn drop(&mut self) {
        for &a in &self.clients {
            registry::remove(a);
        }
    }
}

/// `udpsh load --script F.rhai`: the options map F evaluates to, and its closures, called in
/// F's engine for the whole run. Errors come rendered, with F's line.
pub struct Scripted {
    engine: Engine,
    /// The script's functions and imports, for its closures.
    global: rhai::GlobalRuntimeState,
    name: String,
    source: String,
    options: Options,
    _ctx: Arc<ScriptCtx>,
}

impl Scripted {
    pub fn from_file(path: &Path, vars: &[(String, String)]) -> Result<Scripted, String> {
        let name = path.to_string_lossy().into_owned();
        let shown = crate::display::one_line(&name).into_owned();
        let source = std::fs::read_to_string(path).map_err(|e| format!("--script {shown}: {e}"))?;
        let ast = Arc::new(
            super::source::compile(&super::compiler(), &source, &name)
                .map_err(|d| d.render(&source, false))?,
        );
        let vars: BTreeMap<String, VarValue> = vars
            .iter()
            .map(|(k, v)| (k.clone(), VarValue::Text(v.clone())))
            .collect();
        let run = Arc::new(RunCtx::new(
            Arc::new(crate::stop::Stop::new(None)),
            None,
            false,
            Output::stdout(),
        ));
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        let ctx = ScriptCtx::new(run, name.clone(), dir.unwrap_or(Path::new(".")), vars);
        ctx.set_ast(ast.clone());
        let engine = super::engine(&ctx);
        let render =
            |e: &EvalAltResult| super::diagnose::from_eval(e, &name).render(&source, false);
        let value = engine.eval_ast::<Dynamic>(&ast).map_err(|e| render(&e))?;
        let map = value.clone().try_cast::<Map>().ok_or_else(|| {
            format!(
                "--script {shown}: its value must be the options map of load(), #{{request: ..., ...}}, not {}",
                super::forms::value_word(&value)
            )
        })?;
        let options = options(&map).map_err(|e| format!("--script {shown}: {}", render(&e)))?;
        let global = super::modules::closure_state(&engine, &ast, &ctx).map_err(|e| render(&e))?;
        Ok(Scripted {
            engine,
            global,
            name,
            source,
            options,
            _ctx: ctx,
        })
    }

    fn render(&self, e: &EvalAltResult) -> String {
        super::diagnose::from_eval(e, &self.name).render(&self.source, false)
    }

    fn call(&self, f: &FnPtr, arg: Dynamic) -> Fallible<Dynamic> {
        let nc = NativeCallContext::new_with_all_fields(
            &self.engine,
            f.fn_name(),
            None,
            &self.global,
            rhai::Position::NONE,
        );
        f.call_raw(&nc, None, [arg])
    }
}

impl load::command::Script for Scripted {
    fn asked(&self) -> Asked {
        self.options.asked.clone()
    }

    fn take_requests(&mut self) -> Requests {
        std::mem::replace(&mut self.options.requests, Requests::Made)
    }

    fn has_check(&self) -> bool {
        self.options.check.is_some()
    }

    fn request(&mut self, i: u64, out: &mut Vec<u8>) -> Result<(), String> {
        let Some(f) = &self.options.request else {
            return Ok(());
        };
        self.call(f, Dynamic::from(i as i64))
            .and_then(|v| request_bytes(&v, out))
            .map_err(|e| self.render(&e))
    }

    fn check(&mut self, reply: &Reply) -> Result<bool, String> {
        let Some(f) = &self.options.check else {
            return Ok(true);
        };
        self.call(f, datagram(reply))
            .and_then(|v| verdict(&v))
            .map_err(|e| self.render(&e))
    }
}

/// `--payload HEX`, read as `hex()` reads it.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    super::helpers::parse_hex(text).map_err(|e| {
        let err = *e;
        match &err {
            EvalAltResult::ErrorRuntime(v, _) => {
                super::error::fields(v).map_or_else(|| err.to_string(), |(_, message)| message)
            }
            _ => err.to_string(),
        }
    })
}
