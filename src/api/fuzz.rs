//! `fuzz(target, #{...})`: the fuzzer ([`crate::fuzz`]) from a script. The `alive` closure is
//! called between batches (every `every` cases) and while pinning, never per case.
//!
//! | name | form | summary |
//! | --- | --- | --- |
//! | `fuzz` | `fuzz(target, #{seeds, layout, protocol, process, alive, cases, duration, seed, restart, out, every, hang, probe, max_len, trials}) → map` | `#{cases, rate, restarts, crashes: [#{kind, detail, input, sequence, file, capture, pinned, seen}], ...}` |

use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Blob, Dynamic, Engine, FnPtr, Map, NativeCallContext};

use crate::fuzz::fields::Fields;
use crate::fuzz::wire::{CaptureTap, Recording};
use crate::fuzz::{self, Config, Crash, Error, Hooks, Protocol, Report};
use crate::stop::StopReason;

use super::binary::ScriptLayout;
use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, from_net, script_error, stopped};
use super::process::Process;
use super::socket::line_of;
use super::values;

const KEYS: &[&str] = &[
    "seeds", "layout", "protocol", "process", "alive", "cases", "duration", "seed", "restart",
    "out", "every", "hang", "probe", "max_len", "trials",
];
/// Recorded to the run's `--pcap` during the fuzzing: one case in this many.
const SAMPLE: u64 = 1000;

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "fuzz",
        move |nc: NativeCallContext, target: &str, opts: Map| run(&c, &nc, target, &opts),
    );
}

fn value_error(message: impl Into<String>) -> Box<rhai::EvalAltResult> {
    script_error(ErrorKind::Value, message)
}

fn run(ctx: &ScriptCtx, nc: &NativeCallContext, target: &str, opts: &Map) -> Fallible<Map> {
    values::check_keys(opts, "fuzz", KEYS)?;
    let target = crate::net::parse_addr_stoppable(target, target.contains('['), &ctx.run.stop)
        .map_err(from_net)?;
    let protocol = match opts.get("protocol") {
        Some(v) => Some(Protocol::parse(&text(v, "protocol")?).map_err(value_error)?),
        None => None,
    };
    let mut seeds = match opts.get("seeds") {
        Some(v) => seeds(v, target.port())?,
        None => Vec::new(),
    };
    if seeds.is_empty() {
        seeds = protocol.map(Protocol::default_seeds).ok_or_else(|| {
            value_error(
                "fuzz needs seeds: #{seeds: [blob, ...]} (or a capture file), or a protocol",
            )
        })?;
    }
    let mut cfg = Config::new(target, seeds);
    cfg.protocol = protocol;
    if let Some(v) = opts.get("layout") {
        let layout = v.clone().try_cast::<ScriptLayout>().ok_or_else(|| {
            value_error(format!(
                "fuzz: layout must be a layout(\"...\"), not {}",
                v.type_name()
            ))
        })?;
        cfg.fields = Some(Fields::of(&layout.0));
    }
    cfg.cases = opts.get("cases").map(|v| count(v, "cases")).transpose()?;
    cfg.duration = opts
        .get("duration")
        .map(|v| secs(v, "duration"))
        .transpose()?;
    if cfg.cases.is_none() && cfg.duration.is_none() {
        return Err(value_error(
            "fuzz needs a bound: cases: N or duration: seconds",
        ));
    }
    cfg.seed = match opts.get("seed") {
        Some(v) => u64::try_from(values::int(v, "seed")?)
            .map_err(|_| value_error("fuzz: seed must be 0 or more"))?,
        None => ctx.random.seed(),
    };
    cfg.restart = opts
        .get("restart")
        .map(|v| flag(v, "restart"))
        .transpose()?
        .unwrap_or(false);
    if let Some(v) = opts.get("out") {
        cfg.out = text(v, "out")?.into();
    }
    if let Some(v) = opts.get("every") {
        cfg.every = count(v, "every")?.max(1);
    }
    if let Some(v) = opts.get("hang") {
        cfg.hang = secs(v, "hang")?;
    }
    if let Some(v) = opts.get("probe") {
        cfg.probe = Some(values::with_payload(v, |b| Ok(b.to_vec()))?);
    }
    if let Some(v) = opts.get("max_len") {
        cfg.max_len = count(v, "max_len")? as usize;
    }
    if let Some(v) = opts.get("trials") {
        cfg.trials = u32::try_from(count(v, "trials")?).unwrap_or(u32::MAX);
    }
    let child = match opts.get("process") {
        Some(v) => Some(
            v.clone()
                .try_cast::<Process>()
                .ok_or_else(|| {
                    value_error(format!(
                        "fuzz: process must be what start() returned, not {}",
                        v.type_name()
                    ))
                })?
                .child(),
        ),
        None => None,
    };
    let alive = match opts.get("alive") {
        Some(v) => Some(v.clone().try_cast::<FnPtr>().ok_or_else(|| {
            value_error(format!(
                "fuzz: alive must be a function || ... returning true or false, not {}",
                v.type_name()
            ))
        })?),
        None => None,
    };
    let recording = ctx.run.recorder().map(|recorder| Recording {
        tap: Arc::new(CaptureTap {
            recorder,
            comment: format!("{}:{} fuzz", ctx.name, line_of(nc)),
        }),
        sample: SAMPLE,
    });
    let mut hooks = ScriptHooks {
        ctx,
        nc,
        alive,
        recording,
    };
    match fuzz::run(&cfg, child, &mut hooks) {
        Ok(report) => Ok(result(&report)),
        Err(Error::Stopped(reason, _)) => Err(stopped(reason)),
        Err(Error::Failed(message)) => Err(script_error(ErrorKind::Network, message)),
    }
}

struct ScriptHooks<'a> {
    ctx: &'a ScriptCtx,
    nc: &'a NativeCallContext<'a>,
    alive: Option<FnPtr>,
    recording: Option<Recording>,
}

impl Hooks for ScriptHooks<'_> {
    fn alive(&mut self) -> Option<Result<bool, String>> {
        let f = self.alive.as_ref()?;
        Some(match f.call_within_context::<Dynamic>(self.nc, ()) {
            Ok(v) => v
                .as_bool()
                .map_err(|t| format!("alive must return true or false, not {t}")),
            Err(e) => Err(message(&e)),
        })
    }

    fn has_alive(&self) -> bool {
        self.alive.is_some()
    }

    fn stopped(&self) -> Option<StopReason> {
        self.ctx.run.stop.check()
    }

    fn recorder(&self) -> Option<Recording> {
        self.recording.clone()
    }
}

/// What a failed `alive` said: the message of the error it threw (inside the closure call).
fn message(e: &rhai::EvalAltResult) -> String {
    use rhai::EvalAltResult::{ErrorInFunctionCall, ErrorRuntime};
    match e {
        ErrorInFunctionCall(_, _, inner, _) => message(inner),
        ErrorRuntime(v, _) => super::error::fields(v).map_or_else(|| v.to_string(), |(_, m)| m),
        _ => e.to_string(),
    }
}

/// The options' `seeds`: blobs and strings, or paths of captures, files and folders.
fn seeds(v: &Dynamic, port: u16) -> Fallible<Vec<Vec<u8>>> {
    if v.is_string() {
        let path = text(v, "seeds")?;
        return fuzz::seeds::load(std::path::Path::new(&path), port)
            .map_err(|e| script_error(ErrorKind::File, e));
    }
    let list = v.clone().try_cast::<Array>().ok_or_else(|| {
        value_error(format!(
            "fuzz: seeds must be an array of blobs, or a capture's path, not {}",
            v.type_name()
        ))
    })?;
    list.iter()
        .map(|s| {
            if let Some(b) = s.read_lock::<Blob>() {
                return Ok(b.to_vec());
            }
            values::with_payload(s, |b| Ok(b.to_vec()))
        })
        .collect()
}

fn text(v: &Dynamic, name: &str) -> Fallible<String> {
    v.clone()
        .into_string()
        .map_err(|t| value_error(format!("fuzz: {name} must be a string, not {t}")))
}

fn flag(v: &Dynamic, name: &str) -> Fallible<bool> {
    v.as_bool()
        .map_err(|t| value_error(format!("fuzz: {name} must be true or false, not {t}")))
}

fn count(v: &Dynamic, name: &str) -> Fallible<u64> {
    u64::try_from(values::int(v, name)?)
        .map_err(|_| value_error(format!("fuzz: {name} must be 0 or more")))
}

fn secs(v: &Dynamic, name: &str) -> Fallible<Duration> {
    values::seconds(values::float(v, name)?, name)
}

fn result(r: &Report) -> Map {
    let mut m = Map::new();
    let int = |n: u64| Dynamic::from(i64::try_from(n).unwrap_or(i64::MAX));
    m.insert("cases".into(), int(r.cases));
    m.insert("sent".into(), int(r.sent));
    m.insert("dropped".into(), int(r.dropped));
    m.insert("probes".into(), int(r.probes));
    m.insert("replies".into(), int(r.replies));
    m.insert("restarts".into(), int(r.restarts));
    m.insert("seed".into(), int(r.seed));
    m.insert("seconds".into(), Dynamic::from(r.elapsed.as_secs_f64()));
    m.insert("rate".into(), Dynamic::from(r.rate()));
    let crashes: Array = r.crashes.iter().map(|c| Dynamic::from(crash(c))).collect();
    m.insert("crashes".into(), Dynamic::from(crashes));
    let notes: Array = r.notes.iter().map(|n| Dynamic::from(n.clone())).collect();
    m.insert("notes".into(), Dynamic::from(notes));
    m
}

fn crash(c: &Crash) -> Map {
    let mut m = Map::new();
    let path = |p: &Option<std::path::PathBuf>| {
        p.as_ref()
            .map_or(Dynamic::UNIT, |p| Dynamic::from(p.display().to_string()))
    };
    m.insert(
        "kind".into(),
        Dynamic::from(c.verdict.kind.as_str().to_string()),
    );
    m.insert("detail".into(), Dynamic::from(c.verdict.detail.clone()));
    m.insert("input".into(), Dynamic::from_blob(c.input().to_vec()));
    let sequence: Array = c
        .sequence
        .iter()
        .map(|d| Dynamic::from_blob(d.clone()))
        .collect();
    m.insert("sequence".into(), Dynamic::from(sequence));
    m.insert("file".into(), path(&c.file));
    m.insert("capture".into(), path(&c.capture));
    m.insert("pinned".into(), Dynamic::from(c.pinned));
    m.insert(
        "case".into(),
        Dynamic::from(i64::try_from(c.case).unwrap_or(i64::MAX)),
    );
    m.insert("at".into(), Dynamic::from(c.at.as_secs_f64()));
    m.insert(
        "seen".into(),
        Dynamic::from(i64::try_from(c.seen).unwrap_or(i64::MAX)),
    );
    m.insert(
        "report".into(),
        c.verdict
            .report
            .as_ref()
            .map_or(Dynamic::UNIT, |r| Dynamic::from(r.clone())),
    );
    m
}
