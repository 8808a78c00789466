//! Syslog messages: RFC 5424 and RFC 3164 (BSD) built here (a line of text; no crate builds
//! one for the wire without also sending it), read by `syslog_loose`.

use chrono::{DateTime, Datelike, Local, SecondsFormat, TimeZone, Utc};
use syslog_loose::{ProcId, Variant};

/// Facility names by number (RFC 5424 §6.2.1, as syslog(3) and rsyslog name them).
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Other names people write for the same facility or severity.
const ALIASES: &[(&str, &str)] = &[
    ("security", "audit"),
    ("console", "alert"),
    ("cron2", "clock"),
    ("emergency", "emerg"),
    ("panic", "emerg"),
    ("critical", "crit"),
    ("error", "err"),
    ("warn", "warning"),
    ("informational", "info"),
];

fn lookup(names: &[&str], text: &str, what: &str) -> Result<u8, String> {
    let lower = text.to_ascii_lowercase();
    let lower = ALIASES
        .iter()
        .find(|(alias, _)| *alias == lower)
        .map_or(lower.as_str(), |(_, name)| name);
    names
        .iter()
        .position(|n| *n == lower)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| format!("'{text}' is not a syslog {what} ({})", names.join(", ")))
}

pub fn facility(text: &str) -> Result<u8, String> {
    lookup(&FACILITIES, text, "facility")
}

pub fn severity(text: &str) -> Result<u8, String> {
    lookup(&SEVERITIES, text, "severity")
}

pub fn facility_number(n: i64) -> Result<u8, String> {
    u8::try_from(n)
        .ok()
        .filter(|n| usize::from(*n) < FACILITIES.len())
        .ok_or_else(|| format!("syslog facility {n} is not 0 to 23"))
}

pub fn severity_number(n: i64) -> Result<u8, String> {
    u8::try_from(n)
        .ok()
        .filter(|n| usize::from(*n) < SEVERITIES.len())
        .ok_or_else(|| format!("syslog severity {n} is not 0 to 7"))
}

/// What a message says; `None` fields are the nil value `-` (RFC 5424) or left out (3164).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Entry {
    pub facility: u8,
    pub severity: u8,
    /// Float Unix seconds; the caller fills in now.
    pub time: f64,
    pub host: Option<String>,
    pub app: Option<String>,
    pub procid: Option<String>,
    pub msgid: Option<String>,
    pub msg: String,
}

fn pri(e: &Entry) -> u16 {
    u16::from(e.facility) * 8 + u16::from(e.severity)
}

/// A header field of RFC 5424 §6: printable US-ASCII without spaces, at most `max` long.
fn header_field(value: Option<&str>, name: &str, max: usize) -> Result<String, String> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok("-".into());
    };
    if v.len() > max || !v.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(format!(
            "syslog {name} '{}' must be 1 to {max} printable ASCII characters without spaces",
            v.escape_debug()
        ));
    }
    Ok(v.to_string())
}

/// To the microsecond, the precision both formats can carry; from 1970 to the year 2262
/// (what a 64-bit count of nanoseconds holds).
fn utc(time: f64) -> Result<DateTime<Utc>, String> {
    let micros = (time * 1e6).round();
    if !(0.0..=9.2e15).contains(&micros) {
        return Err(format!(
            "syslog time {time} is not a Unix time from 1970 to 2262"
        ));
    }
    Ok(Utc.timestamp_nanos(micros as i64 * 1000))
}

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG` (no structured data).
pub fn rfc5424(e: &Entry) -> Result<String, String> {
    let time = utc(e.time)?.to_rfc3339_opts(SecondsFormat::Micros, true);
    Ok(format!(
        "<{}>1 {time} {} {} {} {} - {}",
        pri(e),
        header_field(e.host.as_deref(), "host", 255)?,
        header_field(e.app.as_deref(), "app", 48)?,
        header_field(e.procid.as_deref(), "procid", 128)?,
        header_field(e.msgid.as_deref(), "msgid", 32)?,
        e.msg
    ))
}

/// `<PRI>Mmm dd hh:mm:ss HOSTNAME TAG[PID]: MSG`, the time in local time as RFC 3164 has it.
pub fn rfc3164(e: &Entry) -> Result<String, String> {
    let local: DateTime<Local> = utc(e.time)?.with_timezone(&Local);
    let host = header_field(e.host.as_deref(), "host", 255)?;
    let app = header_field(e.app.as_deref(), "app", 32)?;
    let tag = match e.procid.as_deref().filter(|p| !p.is_empty()) {
        Some(pid) => format!("{app}[{}]", header_field(Some(pid), "procid", 128)?),
        None => app,
    };
    Ok(format!(
        "<{}>{} {host} {tag}: {}",
        pri(e),
        local.format("%b %e %H:%M:%S"),
        e.msg
    ))
}

/// A message read back; names for facility and severity.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub format: &'static str,
    pub facility: Option<&'static str>,
    pub severity: Option<&'static str>,
    pub time: Option<f64>,
    pub host: Option<String>,
    pub app: Option<String>,
    pub procid: Option<String>,
    pub msgid: Option<String>,
    /// RFC 5424 structured data: each element's id and its params.
    pub data: Vec<(String, Vec<(String, String)>)>,
    pub msg: String,
}

pub fn parse(text: &str) -> Result<Parsed, String> {
    let text = text.trim_end_matches(['\n', '\r', '\0']);
    let this_year = Local::now().year();
    let m = syslog_loose::parse_message_with_year_exact(text, |_| this_year, Variant::Either)
        .map_err(|_| "not a syslog message (RFC 5424 or RFC 3164)".to_string())?;
    let owned = |s: Option<&str>| s.map(str::to_string);
    Ok(Parsed {
        format: match m.protocol {
            syslog_loose::Protocol::RFC5424(_) => "rfc5424",
            syslog_loose::Protocol::RFC3164 => "rfc3164",
        },
        facility: m.facility.map(|f| FACILITIES[f as usize]),
        severity: m.severity.map(|s| s.as_str()),
        time: m
            .timestamp
            .map(|t| t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9),
        host: owned(m.hostname),
        app: owned(m.appname),
        procid: m.procid.map(|p| match p {
            ProcId::PID(n) => n.to_string(),
            ProcId::Name(s) => s.to_string(),
        }),
        msgid: owned(m.msgid),
        data: m
            .structured_data
            .iter()
            .map(|e| {
                let params = e.params().map(|(k, v)| (k.to_string(), v)).collect();
                (e.id.to_string(), params)
            })
            .collect(),
        msg: m.msg.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            facility: facility("local3").unwrap(),
            severity: severity("warning").unwrap(),
            time: 1_700_000_000.25,
            host: Some("box".into()),
            app: Some("udpsh".into()),
            procid: Some("42".into()),
            msgid: Some("ID7".into()),
            msg: "disk almost full".into(),
        }
    }

    #[test]
    fn rfc5424_is_byte_exact_and_reads_back() {
        let line = rfc5424(&entry()).unwrap();
        assert_eq!(
            line,
            "<156>1 2023-11-14T22:13:20.250000Z box udpsh 42 ID7 - disk almost full"
        );
        let p = parse(&line).unwrap();
        assert_eq!(p.format, "rfc5424");
        assert_eq!((p.facility, p.severity), (Some("local3"), Some("warning")));
        assert_eq!(p.time, Some(1_700_000_000.25));
        assert_eq!(p.host.as_deref(), Some("box"));
        assert_eq!(p.procid.as_deref(), Some("42"));
        assert_eq!(p.msgid.as_deref(), Some("ID7"));
        assert_eq!(p.msg, "disk almost full");
        let nil = Entry {
            host: None,
            msgid: Some(String::new()),
            ..entry()
        };
        assert!(rfc5424(&nil).unwrap().contains(" - udpsh 42 - - "));
    }

    #[test]
    fn rfc3164_reads_back() {
        let line = rfc3164(&entry()).unwrap();
        assert!(line.starts_with("<156>Nov "), "{line}");
        assert!(line.ends_with(" box udpsh[42]: disk almost full"), "{line}");
        let p = parse(&line).unwrap();
        assert_eq!(p.format, "rfc3164");
        assert_eq!(p.app.as_deref(), Some("udpsh"));
        assert_eq!(p.procid.as_deref(), Some("42"));
        assert_eq!(p.msg, "disk almost full");
    }

    #[test]
    fn names_numbers_and_bad_fields() {
        assert_eq!(facility("LOCAL7"), Ok(23));
        assert_eq!(severity("error"), Ok(3));
        assert!(facility("local8").unwrap_err().contains("local7"));
        assert!(facility_number(24).is_err());
        assert_eq!(severity_number(7), Ok(7));
        let spaced = Entry {
            app: Some("my app".into()),
            ..entry()
        };
        assert!(rfc5424(&spaced).unwrap_err().contains("without spaces"));
        assert!(parse("hello").is_err());
        for time in [f64::NAN, -1.0, 1e300, f64::INFINITY] {
            assert!(rfc5424(&Entry { time, ..entry() }).is_err(), "{time}");
            assert!(rfc3164(&Entry { time, ..entry() }).is_err(), "{time}");
        }
        let sd = parse(r#"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] BOM'su root' failed"#).unwrap();
        assert_eq!(sd.data[0].0, "exampleSDID@32473");
        assert_eq!(sd.data[0].1[0], ("iut".to_string(), "3".to_string()));
    }
}
