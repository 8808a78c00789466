//! `read_pcap` and `replay` from a script ([`crate::capture::read_pcap`], [`crate::replay`]).
//!
//! | name | signature | summary | example |
//! | --- | --- | --- | --- |
//! | `read_pcap` | `read_pcap(path) / read_pcap(path, #{src, dst, sport, dport, port, details}) → array` | the UDP datagrams of a pcap/pcapng file, each `#{frame, time, src, dst, data, len, comment}`; with `details: true` `#{datagrams, damaged, skipped}` | `read_pcap("golden.pcapng", #{dport: 53})` |
//! | `replay` | `replay(path, #{to, speed, check, ignore, filter, wait}) → map` | resends the capture's client side to `to`; `#{sent, replies, matched, mismatched, missing, extra}` | `replay("golden.pcapng", #{to: srv, check: true, ignore: [0..2]})` |
//!
//! With `check: true`, a reply that differs from the recorded one fails the script with kind
//! `assertion` (exit 1), its message the first diff's head line and its detail every diff
//! (hexdump rows with frame numbers); a recorded reply that never came fails with kind
//! `timeout` (exit 3). Without `check` the map is returned whatever happened. The error
//! carries the counts in its `result` field.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rhai::{Array, Blob, Dynamic, Engine, ImmutableString, Map};

use crate::capture::{Filter, read_pcap};
use crate::proxy::Recording;
use crate::replay::{self, ByteRange, Options, Plan, Report, Speed, live::Failure};
use crate::stop::StopReason;

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error, stopped, with_fields};
use super::proxy::{check_keys, script_sockets};

const FILTER_KEYS: &str = "src, dst, sport, dport, port";
const REPLAY_KEYS: &str = "to, speed, check, ignore, filter, wait";

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    engine.register_fn("read_pcap", |path: &str| read(path, &Map::new()));
    engine.register_fn("read_pcap", |path: &str, filter: Map| read(path, &filter));
    let c = ctx.clone();
    engine.register_fn("replay", move |path: &str, opts: Map| run(&c, path, &opts));
}

/// The datagrams, or with `details: true` `#{datagrams, damaged, skipped}`.
fn read(path: &str, filter: &Map) -> Fallible<Dynamic> {
    let mut filter = filter.clone();
    let details = match filter.remove("details") {
        None => false,
        Some(v) => v.as_bool().map_err(|t| {
            script_error(
                ErrorKind::Value,
                format!("read_pcap details must be true or false, not {t}"),
            )
        })?,
    };
    let capture = read_capture(path, &filter_of(&filter, "read_pcap")?)?;
    let datagrams = datagram_maps(capture.datagrams);
    if !details {
        return Ok(datagrams.into());
    }
    let s = &capture.skipped;
    let mut skipped = Map::new();
    for (k, v) in [
        ("not_udp", s.not_udp),
        ("fragments", s.fragments),
        ("truncated", s.truncated),
        ("malformed", s.malformed),
        ("filtered", s.filtered),
        ("bad_records", s.bad_records),
        ("unsupported", s.unsupported),
    ] {
        skipped.insert(k.into(), (v as i64).into());
    }
    let mut m = Map::new();
    m.insert("datagrams".into(), datagrams.into());
    m.insert(
        "damaged".into(),
        capture.damaged.map_or(Dynamic::UNIT, Dynamic::from),
    );
    m.insert("skipped".into(), skipped.into());
    Ok(m.into())
}

/// The capture, with a warning on stderr when the file is damaged.
fn read_capture(path: &str, filter: &Filter) -> Fallible<crate::capture::Capture> {
    let capture = read_pcap(Path::new(path), filter)
        .map_err(|e| script_error(ErrorKind::File, e.to_string()))?;
    if let Some(warning) = capture.damage_warning(Path::new(path)) {
        crate::display::print_warning(warning);
    }
    Ok(capture)
}

fn datagram_maps(datagrams: Vec<crate::capture::Datagram>) -> Array {
    datagrams
        .into_iter()
        .map(|d| {
            let mut m = Map::new();
            m.insert("frame".into(), (d.frame as i64).into());
            m.insert("time".into(), d.time.as_secs_f64().into());
            m.insert("src".into(), d.src.to_string().into());
            m.insert("dst".into(), d.dst.to_string().into());
            m.insert("len".into(), (d.len as i64).into());
            m.insert("data".into(), Dynamic::from_blob(Blob::from(d.data)));
            m.insert(
                "comment".into(),
                d.comment.map_or(Dynamic::UNIT, |c| c.into()),
            );
            m.into()
        })
        .collect()
}

/// `#{dport: 53, src: "127.0.0.1"}` → a filter; ports may be numbers or text.
fn filter_of(map: &Map, what: &str) -> Fallible<Filter> {
    check_keys(map, FILTER_KEYS, &format!("{what} filter"))?;
    let mut f = Filter::default();
    for (key, value) in map {
        let text = if value.is_int() {
            value.to_string()
        } else if let Some(s) = value.read_lock::<ImmutableString>() {
            s.to_string()
        } else {
            return Err(script_error(
                ErrorKind::Value,
                format!(
                    "{what} filter {key}: give a port number or an address, not {}",
                    value.type_name()
                ),
            ));
        };
        f.set(key, &text)
            .map_err(|e| script_error(ErrorKind::Value, format!("{what} filter {e}")))?;
    }
    Ok(f)
}

fn run(ctx: &Arc<ScriptCtx>, path: &str, opts: &Map) -> Fallible<Map> {
    check_keys(opts, REPLAY_KEYS, "replay")?;
    let to = match opts.get("to") {
        Some(v) => {
            let text = v.read_lock::<ImmutableString>().map(|s| s.to_string());
            let text = text.ok_or_else(|| {
                script_error(ErrorKind::Value, "replay: to must be \"host:port\"")
            })?;
            super::proxy::address(ctx, &text, "replay: to")?
        }
        None => {
            return Err(script_error(
                ErrorKind::Value,
                "replay needs #{to: \"host:port\"}: the server",
            ));
        }
    };
    let speed = match opts.get("speed") {
        None => Speed::Times(1.0),
        Some(v) if v.is_string() => replay::parse_speed(&v.to_string())
            .map_err(|e| script_error(ErrorKind::Value, format!("replay speed: {e}")))?,
        Some(v) => {
            let x = super::values::float(v, "speed")?;
            replay::parse_speed(&x.to_string())
                .map_err(|e| script_error(ErrorKind::Value, format!("replay speed: {e}")))?
        }
    };
    let check = match opts.get("check") {
        None => false,
        Some(v) => v.as_bool().map_err(|t| {
            script_error(
                ErrorKind::Value,
                format!("replay check must be true or false, not {t}"),
            )
        })?,
    };
    let ignore = match opts.get("ignore") {
        None => Vec::new(),
        Some(v) => ignore_of(v)?,
    };
    let wait = match opts.get("wait") {
        None => Duration::from_secs(1),
        Some(v) => {
            let s = super::values::float(v, "wait")?;
            crate::seconds::duration(s).map_err(|_| {
                script_error(
                    ErrorKind::Value,
                    format!("replay wait: {s} is not a number of seconds"),
                )
            })?
        }
    };
    let filter = match opts.get("filter") {
        None => None,
        Some(v) => {
            let map = v.read_lock::<Map>().map(|m| m.clone()).ok_or_else(|| {
                script_error(
                    ErrorKind::Value,
                    format!(
                        "replay filter must be a map like #{{dport: 53}}, not {}",
                        v.type_name()
                    ),
                )
            })?;
            Some(filter_of(&map, "replay")?)
        }
    };

    let capture = read_capture(path, &Filter::default())?;
    let plan = Plan::new(&capture, filter.as_ref())
        .map_err(|e| script_error(ErrorKind::Value, format!("replay of {path}: {e}")))?;
    let opts = Options {
        to,
        speed,
        check,
        ignore,
        wait,
        recording: ctx.run.recorder().map(|recorder| Recording {
            recorder,
            local: Some(script_sockets()),
        }),
    };
    let stop = ctx.run.stop.clone();
    let report = replay::replay(&plan, &opts, &|| stop.check().is_some()).map_err(|e| match e {
        Failure::Stopped => stopped(ctx.run.stop.check().unwrap_or(StopReason::Interrupted)),
        Failure::Network(m) => script_error(ErrorKind::Network, format!("replay of {path}: {m}")),
        Failure::Invalid(m) => script_error(ErrorKind::Value, format!("replay of {path}: {m}")),
    })?;
    let result = result_map(&report);
    if !check {
        return Ok(result);
    }
    let mut fields = Map::new();
    fields.insert("result".into(), result.clone().into());
    if report.mismatched > 0 {
        let head = report.diffs[0]
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        fields.insert(
            "detail".into(),
            report.diffs.concat().trim_end().to_string().into(),
        );
        return Err(with_fields(
            ErrorKind::Assertion,
            format!(
                "replay of {path}: {} of {} replies differ from the capture; {head}",
                report.mismatched,
                report.matched + report.mismatched
            ),
            fields,
        ));
    }
    if report.missing > 0 {
        fields.insert(
            "detail".into(),
            report.missing_lines().trim_end().to_string().into(),
        );
        let (reply, request) = report.missing_frames[0];
        return Err(with_fields(
            ErrorKind::Timeout,
            format!(
                "replay of {path}: {} recorded replies never came within {}s of the last request (first: no reply to frame {request}, recorded as frame {reply})",
                report.missing,
                wait.as_secs_f64()
            ),
            fields,
        ));
    }
    Ok(result)
}

/// `[0..2]`, `[0..=1, 6]`, `["0-1", "8-"]`: ranges, single offsets or text as on the command line.
fn ignore_of(v: &Dynamic) -> Fallible<Vec<ByteRange>> {
    let items: Array = match v.read_lock::<Array>() {
        Some(a) => a.clone(),
        None => vec![v.clone()],
    };
    let bad = |what: String| {
        script_error(
            ErrorKind::Value,
            format!("replay ignore: {what}; write [0..2], [6] or [\"8-\"]"),
        )
    };
    let offset = |n: i64| usize::try_from(n).map_err(|_| bad(format!("{n} is not a byte offset")));
    items
        .iter()
        .map(|item| {
            if let Some(r) = item.read_lock::<std::ops::Range<i64>>() {
                let (start, end) = (offset(r.start)?, offset(r.end)?);
                return if end > start {
                    Ok(ByteRange {
                        start,
                        end: Some(end),
                    })
                } else {
                    Err(bad(format!("{}..{} is empty", r.start, r.end)))
                };
            }
            if let Some(r) = item.read_lock::<std::ops::RangeInclusive<i64>>() {
                let (start, last) = (offset(*r.start())?, offset(*r.end())?);
                return if last >= start {
                    Ok(ByteRange::through(start, last))
                } else {
                    Err(bad(format!("{}..={} is empty", r.start(), r.end())))
                };
            }
            if let Ok(n) = item.as_int() {
                let start = offset(n)?;
                return Ok(ByteRange::through(start, start));
            }
            if let Some(s) = item.read_lock::<ImmutableString>() {
                return replay::parse_ignore(&s).map_err(bad);
            }
            Err(bad(format!("a {} is not a byte range", item.type_name())))
        })
        .collect()
}

fn result_map(r: &Report) -> Map {
    let mut m = Map::new();
    for (k, v) in [
        ("sent", r.sent),
        ("replies", r.replies),
        ("matched", r.matched),
        ("mismatched", r.mismatched),
        ("missing", r.missing),
        ("extra", r.extra),
    ] {
        m.insert(k.into(), (v as i64).into());
    }
    m
}
