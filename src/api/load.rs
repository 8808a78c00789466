//! Load from a script: `s.blast(data, addr, count)` and `s.blast(data, addr, count, #{...})`
//! send from native code in batches (see [`crate::blast`]); `s.drops` tells how many datagrams
//! the kernel dropped at a socket whose receive buffer overflowed.
//!
//! Options of `blast` (all optional):
//! - `rate`: datagrams per second, or `bps`: payload bits per second (as `iperf3 -b`);
//!   neither = as fast as the kernel takes them;
//! - `sample`: record (and show with `-v`) one datagram in `sample`: the 1st, the
//!   `sample + 1`st, …; `0` records none; default `1`, every one, like `sendto`;
//! - `batch`: datagrams per `sendmmsg` call, 1 to 1024 (default 64).
//!
//! It returns `#{count, bytes, seconds, rate, bps, recorded}`: datagrams and payload bytes sent,
//! how long it took, datagrams and payload bits per second, datagrams recorded.

use std::io;
use std::sync::{Arc, MutexGuard};

use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext};
use socket2::SockAddr;

use crate::blast::{self, Observer, Pace};
use crate::net;

use super::context::ScriptCtx;
use super::error::{ErrorKind, Fallible, script_error, stopped};
use super::socket::Sock;
use super::values;

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn(
        "blast",
        move |nc: NativeCallContext,
              s: &mut Sock,
              data: Dynamic,
              addr: ImmutableString,
              count: i64| { run(&c, &nc, s, &data, &addr, count, &Map::new()) },
    );
    let c = ctx.clone();
    engine.register_fn(
        "blast",
        move |nc: NativeCallContext,
              s: &mut Sock,
              data: Dynamic,
              addr: ImmutableString,
              count: i64,
              opts: Map| { run(&c, &nc, s, &data, &addr, count, &opts) },
    );
    engine.register_get("drops", |s: &mut Sock| -> i64 {
        i64::try_from(s.net().drops()).unwrap_or(i64::MAX)
    });
}

struct Options {
    pace: Pace,
    sample: u64,
    batch: usize,
}

const OPTIONS: &str = "rate, bps, sample, batch";

fn options(opts: &Map, len: usize) -> Fallible<Options> {
    if let Some(key) = opts
        .keys()
        .find(|k| !OPTIONS.split(", ").any(|o| o == k.as_str()))
    {
        return Err(script_error(
            ErrorKind::Value,
            format!("blast has no option '{key}' (it has {OPTIONS})"),
        ));
    }
    let positive = |name: &str| -> Fallible<Option<f64>> {
        let Some(v) = opts.get(name) else {
            return Ok(None);
        };
        let x = values::float(v, name)?;
        if x.is_finite() && x > 0.0 {
            Ok(Some(x))
        } else {
            Err(script_error(
                ErrorKind::Value,
                format!("blast: {name} must be a number above 0, not {x}"),
            ))
        }
    };
    let pace = match (positive("rate")?, positive("bps")?) {
        (Some(_), Some(_)) => {
            return Err(script_error(
                ErrorKind::Value,
                "blast: give a rate (datagrams/s) or a bps (bits/s), not both",
            ));
        }
        (Some(rate), None) => Pace::Rate(rate),
        (None, Some(bps)) => Pace::from_bps(bps, len).ok_or_else(|| {
            script_error(
                ErrorKind::Value,
                "blast: an empty payload has no bits to pace with bps",
            )
        })?,
        (None, None) => Pace::Unlimited,
    };
    let sample = match opts.get("sample") {
        Some(v) => u64::try_from(values::int(v, "sample")?).map_err(|_| {
            script_error(
                ErrorKind::Value,
                "blast: sample must be 0 (record none) or more",
            )
        })?,
        None => 1,
    };
    let batch = match opts.get("batch") {
        Some(v) => match values::int(v, "batch")? {
            n @ 1..=1024 => n as usize,
            n => {
                return Err(script_error(
                    ErrorKind::Value,
                    format!("blast: batch must be between 1 and 1024, not {n}"),
                ));
            }
        },
        None => blast::BATCH,
    };
    Ok(Options {
        pace,
        sample,
        batch,
    })
}

fn run(
    ctx: &ScriptCtx,
    nc: &NativeCallContext,
    s: &Sock,
    data: &Dynamic,
    addr: &ImmutableString,
    count: i64,
    opts: &Map,
) -> Fallible<Map> {
    let count = u64::try_from(count)
        .map_err(|_| script_error(ErrorKind::Value, "blast: count must not be negative"))?;
    let to = s.destination(addr)?;
    values::with_payload(data, |bytes| {
        let opts = options(opts, bytes.len())?;
        check_size(bytes.len(), &to)?;
        if s.net().is_closed() {
            return Err(script_error(ErrorKind::Closed, "the socket is closed"));
        }
        let native = s.prepare_send(&to)?;
        let mut watch = Watch {
            sock: s,
            ctx,
            line: super::socket::line_of(nc),
            data: bytes,
            to: &to,
            sample: opts.sample,
            recorded: 0,
            in_order: None,
        };
        let result = blast::blast(
            s.net().socket(),
            bytes,
            &native,
            count,
            opts.pace,
            opts.batch,
            &mut watch,
        );
        match result {
            Ok(report) => {
                if let (Some(dst), true) = (to.as_socket(), report.sent > 0) {
                    s.note_sent(bytes.len(), net::canonical(dst), watch.line);
                }
                if report.icmp_error {
                    // The kernel's note of an earlier refusal went to a send: keep it for
                    // the next receive.
                    s.net().note_send_error();
                }
                Ok(summary(&report, watch.recorded))
            }
            Err(blast::Error::Observer { error, .. }) => Err(error),
            Err(blast::Error::Io { sent, error }) => Err(send_error(s, &to, sent, &error)),
        }
    })
}

/// Counts, records and shows each batch like `sendto` would its datagram; stops on a stop.
struct Watch<'a> {
    sock: &'a Sock,
    ctx: &'a ScriptCtx,
    line: usize,
    data: &'a [u8],
    to: &'a SockAddr,
    sample: u64,
    recorded: u64,
    in_order: Option<MutexGuard<'static, ()>>,
}

impl Watch<'_> {
    fn observed(&self) -> bool {
        self.sample > 0 && self.sock.observes_sends()
    }
}

impl Observer for Watch<'_> {
    type Error = Box<EvalAltResult>;

    fn before_send(&mut self) {
        if self.observed() {
            self.in_order = self.sock.send_order();
        }
    }

    fn sent(&mut self, first: u64, n: usize) -> Fallible<()> {
        self.sock.count_sent(n as u64);
        if self.observed() {
            let end = first + n as u64;
            let mut i = first.div_ceil(self.sample) * self.sample;
            while i < end {
                self.sock.observe_sent(
                    self.ctx,
                    self.line,
                    "blast",
                    self.data,
                    self.to,
                    std::time::SystemTime::now(),
                )?;
                self.recorded += 1;
                i += self.sample;
            }
        }
        self.in_order = None;
        Ok(())
    }

    fn check(&mut self) -> Fallible<()> {
        match self.sock.run_ctx().stop.check() {
            Some(reason) => Err(stopped(reason)),
            None => Ok(()),
        }
    }
}

fn summary(report: &blast::Report, recorded: u64) -> Map {
    let int = |n: u64| Dynamic::from(i64::try_from(n).unwrap_or(i64::MAX));
    let mut map = Map::new();
    map.insert("count".into(), int(report.sent));
    map.insert("bytes".into(), int(report.bytes));
    map.insert("seconds".into(), report.elapsed.as_secs_f64().into());
    map.insert("rate".into(), report.rate().into());
    map.insert("bps".into(), report.bps().into());
    map.insert("recorded".into(), int(recorded));
    map
}

/// The size limit `sendto` enforces, with its message.
fn check_size(len: usize, to: &SockAddr) -> Fallible<()> {
    let (limit, family) = if to.is_ipv6() {
        (net::MAX_IPV6_PAYLOAD, "IPv6")
    } else {
        (net::MAX_IPV4_PAYLOAD, "IPv4")
    };
    if len > limit {
        return Err(script_error(
            ErrorKind::Oversize,
            format!(
                "datagram of {} bytes is over the {family} UDP limit of {} bytes",
                net::group(len),
                net::group(limit)
            ),
        ));
    }
    Ok(())
}

fn send_error(s: &Sock, to: &SockAddr, sent: u64, err: &io::Error) -> Box<EvalAltResult> {
    let target = to.as_socket().map_or("?".to_string(), |a| a.to_string());
    let mut message = format!("cannot send to {target}: {err}");
    if sent > 0 {
        message.push_str(&format!(" (after {sent} datagrams)"));
    }
    let kind = if err.kind() == io::ErrorKind::PermissionDenied {
        if !s.net().broadcast() {
            message.push_str(" (a broadcast address needs setbroadcast(true))");
        }
        ErrorKind::PermissionDenied
    } else {
        ErrorKind::Network
    };
    script_error(kind, message)
}
