//! `udpsh/syslog`: `syslog::rfc5424(#{...})`, `syslog::rfc3164(#{...})` (a line to send)
//! and `syslog::parse(data)`.

use rhai::{Dynamic, FuncRegistration, Map, Module, NativeCallContext};

use super::{at, map, value_error};
use crate::api::error::Fallible;
use crate::api::values::{self, with_payload};
use crate::protocols::syslog::{self, Entry};

const KEYS: &[&str] = &[
    "facility", "severity", "app", "msg", "host", "procid", "msgid", "time",
];

/// A facility or severity by name (`"local3"`) or number.
fn level(
    v: Option<&Dynamic>,
    default: u8,
    by_name: fn(&str) -> Result<u8, String>,
    by_number: fn(i64) -> Result<u8, String>,
) -> Fallible<u8> {
    let found = match v {
        None => return Ok(default),
        Some(v) if v.is_int() => by_number(v.as_int().unwrap_or(-1)),
        Some(v) => match v.clone().into_immutable_string() {
            Ok(s) => by_name(&s),
            Err(t) => Err(format!(
                "a syslog facility or severity is a name or a number, not {t}"
            )),
        },
    };
    found.map_err(value_error)
}

/// A text field; numbers (a procid) are taken as their digits.
fn text(m: &Map, key: &str) -> Option<String> {
    m.get(key).filter(|v| !v.is_unit()).map(|v| v.to_string())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn entry(m: &Map, what: &str) -> Fallible<Entry> {
    values::check_keys(m, what, KEYS)?;
    let time = match m.get("time") {
        Some(v) => values::float(v, "time")?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    };
    Ok(Entry {
        facility: level(
            m.get("facility"),
            1,
            syslog::facility,
            syslog::facility_number,
        )?,
        severity: level(
            m.get("severity"),
            6,
            syslog::severity,
            syslog::severity_number,
        )?,
        time,
        host: Some(text(m, "host").unwrap_or_else(hostname)),
        app: Some(text(m, "app").unwrap_or_else(|| "udpsh".into())),
        procid: text(m, "procid"),
        msgid: text(m, "msgid"),
        msg: text(m, "msg").unwrap_or_default(),
    })
}

fn parse(data: &Dynamic) -> Fallible<Map> {
    with_payload(data, |b| {
        let text = String::from_utf8_lossy(b);
        let p = syslog::parse(&text).map_err(|e| value_error(format!("syslog::parse: {e}")))?;
        let opt = |v: Option<String>| v.map_or(Dynamic::UNIT, Dynamic::from);
        let name = |v: Option<&str>| v.map_or(Dynamic::UNIT, |s| s.to_string().into());
        let structured: Map = p
            .data
            .into_iter()
            .map(|(id, params)| {
                let params: Map = params
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect();
                (id.into(), params.into())
            })
            .collect();
        Ok(map(vec![
            ("format", p.format.into()),
            ("facility", name(p.facility)),
            ("severity", name(p.severity)),
            ("time", p.time.map_or(Dynamic::UNIT, Dynamic::from)),
            ("host", opt(p.host)),
            ("app", opt(p.app)),
            ("procid", opt(p.procid)),
            ("msgid", opt(p.msgid)),
            ("structured", structured.into()),
            ("msg", p.msg.into()),
        ]))
    })
}

pub fn register(m: &mut Module) {
    FuncRegistration::new("rfc5424").set_into_module(m, |nc: NativeCallContext, o: Map| {
        let line =
            entry(&o, "syslog::rfc5424").and_then(|e| syslog::rfc5424(&e).map_err(value_error));
        at(&nc, line)
    });
    FuncRegistration::new("rfc3164").set_into_module(m, |nc: NativeCallContext, o: Map| {
        let line =
            entry(&o, "syslog::rfc3164").and_then(|e| syslog::rfc3164(&e).map_err(value_error));
        at(&nc, line)
    });
    FuncRegistration::new("parse").set_into_module(m, |nc: NativeCallContext, data: Dynamic| {
        at(&nc, parse(&data))
    });
}
