//! The plain functions: `var`, `sleep`, `now`, `hex`, `to_hex`, files, `script_dir`, `input`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rhai::{Blob, Dynamic, Engine, ImmutableString};

use crate::stop;

use super::context::{ScriptCtx, VarValue};
use super::error::{ErrorKind, Fallible, script_error, stopped};

pub fn register(engine: &mut Engine, ctx: &Arc<ScriptCtx>) {
    let c = ctx.clone();
    engine.register_fn("var", move |name: &str, default: Dynamic| {
        var(&c, name, default)
    });
    let c = ctx.clone();
    engine.register_fn("script_dir", move || c.dir.display().to_string());
    let c = ctx.clone();
    engine.register_fn("sleep", move |secs: f64| pause(&c, secs));
    let c = ctx.clone();
    engine.register_fn("sleep", move |secs: i64| pause(&c, secs as f64));
    engine.register_fn("now", || {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    });
    engine.register_fn("hex", parse_hex);
    engine.register_fn("to_hex", |b: Blob| to_hex(&b));
    engine.register_fn("to_hex", |s: &str| to_hex(s.as_bytes()));
    let c = ctx.clone();
    engine.register_fn("input", move || input(&c, None));
    let c = ctx.clone();
    engine.register_fn("input", move |prompt: &str| input(&c, Some(prompt)));
}

/// `var("port", 8888)`: the `--var` value parsed to the default's type, else the default.
fn var(ctx: &ScriptCtx, name: &str, default: Dynamic) -> Fallible<Dynamic> {
    match ctx.vars.get(name) {
        None => Ok(default),
        Some(VarValue::Value(v)) => Ok(v.clone()),
        Some(VarValue::Text(text)) => parse_var(name, text, &default),
    }
}

pub fn parse_var(name: &str, text: &str, default: &Dynamic) -> Fallible<Dynamic> {
    let bad = |what: &str| {
        // A blob default shows as `[]`, which says nothing: name its type instead.
        let of = if default.is_blob() {
            format!("var(\"{name}\", …) takes a blob")
        } else {
            format!("the type of var(\"{name}\", {default})")
        };
        script_error(
            ErrorKind::Usage,
            format!("--var {name}={text}: '{text}' is not {what} ({of})"),
        )
    };
    if default.is_int() {
        text.trim()
            .parse::<i64>()
            .map(Dynamic::from)
            .map_err(|_| bad("an integer"))
    } else if default.is_float() {
        text.trim()
            .parse::<f64>()
            .map(Dynamic::from)
            .map_err(|_| bad("a number"))
    } else if default.is_bool() {
        match text.trim() {
            "true" | "1" | "yes" => Ok(true.into()),
            "false" | "0" | "no" => Ok(false.into()),
            _ => Err(bad("true or false")),
        }
    } else if default.is_blob() {
        parse_hex(text)
            .map(Dynamic::from_blob)
            .map_err(|_| bad("hex bytes (like \"de ad 01\")"))
    } else if default.is_char() {
        let mut chars = text.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c.into()),
            _ => Err(bad("one character")),
        }
    } else if default.is_array() || default.is_map() {
        // JSON, as people pass lists and tables on command lines: [1, 2] or {"a": 1}.
        let value: serde_json::Value = serde_json::from_str(text).map_err(|_| {
            bad(if default.is_array() {
                "a JSON array (like [1, 2])"
            } else {
                "a JSON object (like {\"a\": 1})"
            })
        })?;
        let fits = if default.is_array() {
            value.is_array()
        } else {
            value.is_object()
        };
        if !fits {
            return Err(bad(if default.is_array() {
                "a JSON array"
            } else {
                "a JSON object"
            }));
        }
        rhai::serde::to_dynamic(value).map_err(|_| bad("a value udpsh can hold"))
    } else {
        Ok(text.into())
    }
}

fn pause(ctx: &ScriptCtx, secs: f64) -> Fallible<()> {
    let time = super::values::seconds(secs, "sleep")?;
    stop::sleep(time, &ctx.run.stop).map_err(stopped)
}

/// `hex("48 65 6c")` → blob; spaces, colons, dashes and a `0x` prefix are allowed.
pub fn parse_hex(text: &str) -> Fallible<Blob> {
    crate::binary::from_hex(text).map_err(|why| {
        script_error(
            ErrorKind::Value,
            format!("hex({}): {why}", crate::display::quoted(text)),
        )
    })
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A line from stdin (without its newline), or `()` at the end of input; waits in slices
/// so `--timeout` and Ctrl-C still work.
fn input(ctx: &ScriptCtx, prompt: Option<&str>) -> Fallible<Dynamic> {
    use std::io::{BufRead, Write};
    if let Some(prompt) = prompt {
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{prompt}");
        let _ = out.flush();
    }
    let (tx, rx) = std::sync::mpsc::channel();
    crate::threads::start("udpsh-input", None, move || {
        let mut line = String::new();
        let got = std::io::stdin().lock().read_line(&mut line);
        let _ = tx.send(got.map(|n| (n, line)));
    })
    .map_err(super::error::no_thread)?;
    loop {
        if let Some(reason) = ctx.run.stop.check() {
            return Err(stopped(reason));
        }
        match rx.recv_timeout(stop::SLICE) {
            Ok(Ok((0, _))) => return Ok(Dynamic::UNIT),
            Ok(Ok((_, line))) => {
                let line = line.strip_suffix('\n').unwrap_or(&line);
                let line = line.strip_suffix('\r').unwrap_or(line);
                return Ok(ImmutableString::from(line).into());
            }
            Ok(Err(e)) => {
                return Err(script_error(
                    ErrorKind::File,
                    format!("cannot read stdin: {e}"),
                ));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => return Ok(Dynamic::UNIT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        assert_eq!(parse_hex("48 65 6c:6c-6f").unwrap(), b"Hello".to_vec());
        assert_eq!(to_hex(b"Hello"), "48656c6c6f");
        assert!(parse_hex("4").is_err());
        assert!(parse_hex("zz").is_err());
        // Non-ASCII text (a peer's payload) is an error, never a panic.
        assert!(parse_hex("aéb").is_err());
        assert!(parse_hex("你好").is_err());
    }

    #[test]
    fn vars_take_the_default_type() {
        assert_eq!(
            parse_var("p", "9000", &Dynamic::from(1_i64))
                .unwrap()
                .as_int(),
            Ok(9000)
        );
        assert!(parse_var("p", "abc", &Dynamic::from(1_i64)).is_err());
        assert_eq!(
            parse_var("w", "0.5", &Dynamic::from(2.0_f64))
                .unwrap()
                .as_float(),
            Ok(0.5)
        );
        assert!(
            parse_var("b", "true", &Dynamic::from(false))
                .unwrap()
                .as_bool()
                .unwrap()
        );
        assert_eq!(
            parse_var("h", "x", &Dynamic::UNIT).unwrap().to_string(),
            "x"
        );
    }
}
