//! Meta-commands: lines that start with `:` (never valid Rhai, so they cannot clash).

use std::path::Path;

use crate::api::Sock;
use crate::capture::Recorder;
use crate::display;

use super::help;
use super::session::Session;
use super::show;

pub const COMMANDS: &[&str] = &[
    ":help", ":sockets", ":vars", ":watch", ":unwatch", ":pcap", ":save", ":quit",
];

/// What the loop does after a meta-command.
pub enum Next {
    Continue,
    Quit,
}

/// Runs one `:` line: its text for stdout, or an error for stderr.
pub fn run(session: &mut Session, line: &str) -> (Next, Result<String, String>) {
    let line = line.trim();
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    let result = match cmd {
        ":quit" | ":q" | ":exit" => return (Next::Quit, Ok(String::new())),
        ":help" | ":h" | ":?" => help_for(session, arg),
        ":sockets" => Ok(sockets(session)),
        ":vars" => Ok(vars(session)),
        ":watch" => watch(session, arg),
        ":unwatch" => unwatch(session, arg),
        ":pcap" => pcap(session, arg),
        ":save" => save(session, arg),
        _ => Err(format!(
            "unknown command {}; :help lists them",
            display::terminal_safe(cmd)
        )),
    };
    (Next::Continue, result)
}

fn help_for(session: &Session, name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Ok(help::overview());
    }
    let name = name.trim_start_matches("s.").trim_start_matches("d.");
    let name = name.trim_end_matches("()").trim_end_matches('(');
    if let Some(text) = help::describe(name) {
        return Ok(text);
    }
    let mine: Vec<String> = session
        .functions()
        .filter(|f| f.starts_with(&format!("fn {name}(")))
        .collect();
    if !mine.is_empty() {
        return Ok(format!("{}\n  defined in this session", mine.join("\n")));
    }
    Err(format!(
        "no help for '{}'; :help lists every function",
        display::terminal_safe(name)
    ))
}

fn sockets(session: &Session) -> String {
    let mut lines = Vec::new();
    for (name, value) in session.variables() {
        let Some(s) = value.read_lock::<Sock>() else {
            continue;
        };
        lines.push(format!("{name:<10} {}", describe(session, &s)));
    }
    if lines.is_empty() {
        lines.push("no sockets; let s = udp(\"127.0.0.1:0\") makes one".into());
    }
    lines.push(pcap_status(session));
    lines.join("\n")
}

fn describe(session: &Session, s: &Sock) -> String {
    let net = s.net();
    let addr = s
        .local_addr()
        .map_or("unbound".to_string(), |a| a.to_string());
    let mut parts = vec![addr];
    if net.is_closed() {
        parts.push("closed".into());
    }
    parts.push(match net.timeout() {
        Some(t) => format!("timeout {}s", t.as_secs_f64()),
        None => "no timeout".into(),
    });
    if net.broadcast() {
        parts.push("broadcast".into());
    }
    if session.watches.is_watched(s) {
        parts.push("watched".into());
    }
    parts.join(", ")
}

fn pcap_status(session: &Session) -> String {
    match session.run().recorder() {
        Some(r) => format!(
            "recording to {} ({} packets)",
            r.path().display(),
            r.packets()
        ),
        None => "not recording (:pcap FILE)".into(),
    }
}

fn vars(session: &Session) -> String {
    let mut lines: Vec<String> = session
        .variables()
        .iter()
        .map(|(name, value)| {
            format!(
                "{name:<10} {:<9} {}",
                session.engine().map_type_name(value.type_name()),
                show::debug(value)
            )
        })
        .collect();
    lines.extend(session.functions());
    if lines.is_empty() {
        return "no variables yet".into();
    }
    lines.join("\n")
}

fn socket_named(session: &Session, name: &str) -> Result<Sock, String> {
    if name.is_empty() {
        return Err("which socket? e.g. :watch s".into());
    }
    session.socket(name).ok_or_else(|| {
        format!(
            "'{}' is not a socket in scope (:sockets lists them)",
            display::terminal_safe(name)
        )
    })
}

fn watch(session: &Session, name: &str) -> Result<String, String> {
    if name.is_empty() {
        let all: Vec<String> = session.watches.sockets().iter().map(show::socket).collect();
        return Ok(if all.is_empty() {
            "watching nothing (:watch s)".into()
        } else {
            format!("watching {}", all.join(", "))
        });
    }
    let s = socket_named(session, name)?;
    if session.watches.watch(session.ctx(), &s) {
        Ok(format!(
            "watching {} (:unwatch {name} to stop)",
            show::socket(&s)
        ))
    } else {
        Ok(format!("already watching {}", show::socket(&s)))
    }
}

fn unwatch(session: &Session, name: &str) -> Result<String, String> {
    if name.is_empty() {
        let n = session.watches.unwatch_all();
        return Ok(format!(
            "stopped {n} watch{}",
            if n == 1 { "" } else { "es" }
        ));
    }
    let s = socket_named(session, name)?;
    if session.watches.unwatch(&s) {
        Ok(format!("stopped watching {}", show::socket(&s)))
    } else {
        Err(format!("{name} is not being watched"))
    }
}

fn pcap(session: &Session, arg: &str) -> Result<String, String> {
    match arg {
        "" => Ok(pcap_status(session)),
        "off" => match session.set_recorder(None) {
            Some(r) => Ok(format!(
                "stopped recording; {} holds {} packets",
                r.path().display(),
                r.packets()
            )),
            None => Ok("was not recording".into()),
        },
        path => {
            let recorder = Recorder::create(Path::new(path)).map_err(|e| e.to_string())?;
            let shown = recorder.path().display().to_string();
            match session.set_recorder(Some(recorder)) {
                Some(old) => Ok(format!(
                    "recording to {shown} (closed {})",
                    old.path().display()
                )),
                None => Ok(format!("recording to {shown}")),
            }
        }
    }
}

/// Writes the inputs that ran, as a script for `udpsh run`. REPL-only calls are kept as
/// comments, so the script still runs.
fn save(session: &Session, path: &str) -> Result<String, String> {
    if path.is_empty() {
        return Err("where? e.g. :save session.rhai".into());
    }
    let mut text = String::from("// Saved from the udpsh REPL; run with: udpsh run ");
    text.push_str(path);
    text.push('\n');
    for input in session.ran() {
        let body = input.trim_end();
        if repl_only(body) {
            for line in body.lines() {
                text.push_str("// (REPL only) ");
                text.push_str(line);
                text.push('\n');
            }
        } else {
            text.push_str(body);
            text.push_str(terminator(session.engine(), body));
            text.push('\n');
        }
    }
    std::fs::write(path, &text).map_err(|e| format!("cannot write {path}: {e}"))?;
    let n = session.ran().len();
    Ok(format!(
        "saved {n} input{} to {path}; replay with: udpsh run {path}",
        if n == 1 { "" } else { "s" }
    ))
}

/// What must follow an input so that the next statement can follow it in one script:
/// nothing, `;`, or (after a trailing comment) `;` on a line of its own.
fn terminator(engine: &rhai::Engine, body: &str) -> &'static str {
    let compiles = |glue: &str| engine.compile(format!("{body}{glue}\n0")).is_ok();
    if compiles("") {
        ""
    } else if compiles(";") {
        ";"
    } else {
        "\n;"
    }
}

/// Uses `watch` or `unwatch`, which exist only here.
fn repl_only(input: &str) -> bool {
    input.contains(".watch(") || input.contains(".unwatch(")
}
