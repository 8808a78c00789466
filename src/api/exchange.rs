//! One request/reply exchange for the protocol modules: send, wait for the reply that
//! `accept` takes, resend on timeout, through the socket's own script functions (so
//! recording and `-v` see every datagram). It stands in for the SPEC's `s.request(...)`
//! until that lands (branch v2-net): same options, `timeout` (s, per try) and `retries`.

use rhai::{Blob, Dynamic, Map, NativeCallContext};

use super::datagram::Datagram;
use super::error::{ErrorKind, Fallible, script_error};
use super::values;

pub struct Options {
    pub timeout: f64,
    pub tries: u32,
}

impl Options {
    pub fn from_map(opts: &Map, what: &str) -> Fallible<Options> {
        for key in opts.keys() {
            if !["timeout", "retries", "accept"].contains(&key.as_str()) {
                return Err(script_error(
                    ErrorKind::Value,
                    format!("{what} has no option '{key}' (it has timeout, retries)"),
                ));
            }
        }
        let timeout = match opts.get("timeout") {
            Some(v) => values::float(v, "timeout")?,
            None => 1.0,
        };
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(script_error(
                ErrorKind::Value,
                format!("{what}: timeout must be above 0"),
            ));
        }
        let retries = match opts.get("retries") {
            Some(v) => values::int(v, "retries")?,
            None => 2,
        };
        let retries = u32::try_from(retries)
            .ok()
            .filter(|r| *r <= 100)
            .ok_or_else(|| {
                script_error(
                    ErrorKind::Value,
                    format!("{what}: retries must be 0 to 100"),
                )
            })?;
        Ok(Options {
            timeout,
            tries: retries + 1,
        })
    }
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A reply, with the times the request went out and the reply came in.
pub struct Reply {
    pub data: Blob,
    pub from: String,
    pub sent: f64,
    pub received: f64,
    pub tries: u32,
}

/// Sends `data` to `to` and waits for a datagram `accept` takes (others are dropped).
pub fn exchange(
    nc: &NativeCallContext,
    sock: &Dynamic,
    data: &Blob,
    to: &str,
    opts: &Options,
    accept: &dyn Fn(&[u8], &str) -> bool,
) -> Fallible<Reply> {
    let old: Dynamic = nc.call_fn("gettimeout", (sock.clone(),))?;
    let result = attempt(nc, sock, data, to, opts, accept);
    let restore: Fallible<()> = nc.call_fn("settimeout", (sock.clone(), old));
    let reply = result?;
    restore?;
    Ok(reply)
}

fn attempt(
    nc: &NativeCallContext,
    sock: &Dynamic,
    data: &Blob,
    to: &str,
    opts: &Options,
    accept: &dyn Fn(&[u8], &str) -> bool,
) -> Fallible<Reply> {
    for tries in 1..=opts.tries {
        let sent = now();
        let _: i64 = nc.call_fn("sendto", (sock.clone(), data.clone(), to.to_string()))?;
        let deadline = sent + opts.timeout;
        loop {
            let left = deadline - now();
            if left <= 0.0 {
                break;
            }
            let () = nc.call_fn("settimeout", (sock.clone(), left.max(0.001)))?;
            match nc.call_fn::<Dynamic>("recvfrom", (sock.clone(), 65_535_i64)) {
                Ok(d) => {
                    let received = now();
                    let Some(d) = d.read_lock::<Datagram>().map(|d| d.clone()) else {
                        continue;
                    };
                    let from = d.from.to_string();
                    if accept(&d.data, &from) {
                        return Ok(Reply {
                            data: d.data,
                            from,
                            sent,
                            received,
                            tries,
                        });
                    }
                }
                Err(e) if super::error::is_kind(&e, ErrorKind::Timeout) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Err(script_error(
        ErrorKind::Timeout,
        format!(
            "no reply from {to} after {} tr{} of {}s",
            opts.tries,
            if opts.tries == 1 { "y" } else { "ies" },
            opts.timeout
        ),
    ))
}
