//! Meta-commands: lines that start with `:` (never valid Rhai, so they cannot clash).

use std::path::Path;

use crate::api::Sock;
use crate::capture::Recorder;
use crate::display;

use super::commands::COMMANDS;
use super::help;
use super::save;
use super::session::Session;
use super::show;
use super::watch::{self, How};

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
        ":watch" => watch(session, line, arg),
        ":unwatch" => unwatch(session, line, arg),
        ":jobs" => Ok(jobs(session)),
        ":stop" => stop(session, arg),
        ":pcap" => pcap(session, arg),
        ":save" => save(session, arg, false),
        ":save!" => save(session, arg, true),
        _ => Err(unknown(cmd)),
    };
    (Next::Continue, result)
}

/// `unknown command :sav; did you mean :save?`
fn unknown(cmd: &str) -> String {
    let names = COMMANDS.iter().map(|c| c.trim_start_matches(':'));
    let meant = crate::api::forms::nearest(cmd.trim_start_matches(':'), names)
        .map_or(String::new(), |m| format!("; did you mean :{m}?"));
    format!(
        "unknown command {}{meant} (:help lists them)",
        display::terminal_safe(cmd)
    )
}

/// `:help ARG`: the overview, a topic, an entry, a function of the session, or a search.
pub fn help_for(session: &Session, name: &str) -> Result<String, String> {
    let width = help::width();
    let name = name.trim();
    if name.is_empty() {
        return Ok(help::overview(width, !super::dumb_terminal()));
    }
    if let Some(t) = help::topic(name) {
        return Ok(help::describe_topic(t, width));
    }
    if let Some(text) = help::describe(name, width) {
        return Ok(text);
    }
    let bare = name
        .rsplit('.')
        .next()
        .unwrap_or(name)
        .trim_end_matches("()");
    // `help(s)`: what the value's type has.
    if let Some(value) = session.variable(name) {
        let word = crate::api::forms::value_word(value);
        let who = if name == "it" {
            "it (the last result)"
        } else {
            name
        };
        let a = if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return Ok(format!(
            "{who} is {a} {word}: {}\n{}",
            session.show_short(value),
            help::describe_type(&word, width)
        ));
    }
    let mine: Vec<String> = session
        .functions()
        .filter(|f| f.starts_with(&format!("fn {bare}(")))
        .collect();
    if !mine.is_empty() {
        return Ok(format!("{}\n  defined in this session", mine.join("\n")));
    }
    if let Some(found) = help::search(bare, width) {
        return Ok(found);
    }
    let meant = help::nearest(bare).map_or(String::new(), |m| format!("; did you mean {m}?"));
    Err(format!(
        "no help for '{}'{meant} (:help lists everything)",
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
            "recording to {} ({})",
            r.path().display(),
            show::plural(r.packets(), "packet", "packets")
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
                crate::api::forms::value_word(value),
                session.show_short(value)
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

fn watch(session: &mut Session, line: &str, arg: &str) -> Result<String, String> {
    if arg.is_empty() {
        let all: Vec<String> = session
            .watches
            .sockets()
            .iter()
            .map(|(s, how)| format!("{}{how}", show::socket(s)))
            .collect();
        return Ok(if all.is_empty() {
            "watching nothing (:watch s)".into()
        } else {
            format!("watching {}", all.join(", "))
        });
    }
    let (name, mode) = arg.split_once(' ').unwrap_or((arg, ""));
    let (how, call) = match mode.trim() {
        "" => (How::default(), format!("{name}.watch();")),
        "compact" => (How::compact(), format!("{name}.watch(#{{compact: true}});")),
        other => {
            return Err(format!(
                "unknown watch mode '{}': :watch {name} or :watch {name} compact \
                 (formats and filters: {name}.watch(#{{format: |d| ..., filter: |d| ...}}))",
                display::terminal_safe(other)
            ));
        }
    };
    let shown = how.describe();
    let s = socket_named(session, name)?;
    // Its own input: what the watch records is in the name of the line that asked.
    let ctx = session.command(line, &call);
    if session
        .watches
        .watch(&ctx, &s, how)
        .map_err(|e| e.to_string())?
    {
        Ok(format!(
            "watching {}{shown} (:unwatch {name} to stop){}",
            show::socket(&s),
            watch::unbound_note(&s)
        ))
    } else {
        Ok(format!("now watching {}{shown}", show::socket(&s)))
    }
}

fn unwatch(session: &mut Session, line: &str, name: &str) -> Result<String, String> {
    if name.is_empty() {
        let watched: Vec<String> = session
            .variables()
            .iter()
            .filter(|(_, v)| {
                v.read_lock::<Sock>()
                    .is_some_and(|s| session.watches.is_watched(&s))
            })
            .map(|(n, _)| format!("{n}.unwatch();"))
            .collect();
        let n = session.watches.unwatch_all();
        if n > 0 {
            session.command(line, &watched.join(" "));
        }
        return Ok(format!(
            "stopped {}",
            show::plural(n as u64, "watch", "watches")
        ));
    }
    let s = socket_named(session, name)?;
    match session.watches.unwatch(&s) {
        Some(hidden) => {
            session.command(line, &format!("{name}.unwatch();"));
            Ok(format!(
                "stopped watching {}{}",
                show::socket(&s),
                watch::hidden_note(hidden)
            ))
        }
        None => Err(format!("{name} is not being watched")),
    }
}

/// `:jobs`: what the session left running.
fn jobs(session: &Session) -> String {
    let mut lines: Vec<String> = session
        .run()
        .background
        .list()
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let state = match (job.finished(), job.cancelled()) {
                (true, true) => "stopped",
                (true, false) => "done   ",
                (false, _) => "running",
            };
            format!(
                "[{}] {state} {}",
                i + 1,
                display::terminal_safe(&job.describe())
            )
        })
        .collect();
    for (s, how) in session.watches.sockets() {
        lines.push(format!("    watch   {}{how} (:unwatch)", show::socket(&s)));
    }
    if lines.is_empty() {
        return "no jobs; spawn(|| ...) starts one".into();
    }
    lines.join("\n")
}

/// `:stop N`: cancels job N, waiting a little to say it ended.
fn stop(session: &Session, arg: &str) -> Result<String, String> {
    let list = session.run().background.list();
    let n: usize = arg
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| "which job? e.g. :stop 1 (:jobs lists them)".to_string())?;
    let job = n
        .checked_sub(1)
        .and_then(|i| list.get(i))
        .ok_or_else(|| format!("no job [{n}]; :jobs lists them"))?;
    let what = display::terminal_safe(&job.describe()).into_owned();
    if job.finished() {
        return Ok(format!("[{n}] {what} had already ended"));
    }
    job.cancel();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !job.finished() && std::time::Instant::now() < until {
        std::thread::sleep(crate::stop::SLICE);
    }
    Ok(if job.finished() {
        format!("[{n}] {what} stopped")
    } else {
        format!("[{n}] {what} was told to stop; it ends at its next step (:jobs shows it)")
    })
}

fn pcap(session: &Session, arg: &str) -> Result<String, String> {
    match arg {
        "" => Ok(pcap_status(session)),
        "off" => match session.set_recorder(None) {
            Some(r) => Ok(format!(
                "stopped recording; {} holds {}",
                r.path().display(),
                show::plural(r.packets(), "packet", "packets")
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

/// Writes the session as a script for `udpsh run` (see `save`); over an existing file only
/// with `:save!`.
fn save(session: &Session, path: &str, replace: bool) -> Result<String, String> {
    if path.is_empty() {
        return Err("where? e.g. :save session.rhai".into());
    }
    let shown = display::terminal_safe(path).into_owned();
    let quoted = save::shell_quoted(path);
    let saved = save::script(session.engine(), session.inputs(), path);
    let mut file = std::fs::OpenOptions::new();
    file.write(true);
    if replace {
        file.create(true).truncate(true);
    } else {
        file.create_new(true);
    }
    let written = file.open(path).and_then(|mut f| {
        use std::io::Write;
        f.write_all(saved.text.as_bytes())
    });
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(format!(
                "{shown} exists; :save! {} replaces it",
                display::terminal_safe(path)
            ));
        }
        Err(e) => return Err(format!("cannot write {shown}: {e}")),
        Ok(()) => {}
    }
    let mut what = format!(
        "saved {} to {shown}",
        show::plural(saved.inputs as u64, "input", "inputs")
    );
    if saved.failed > 0 {
        let failed = show::plural(saved.failed as u64, "input", "inputs");
        if saved.partly == 0 {
            what.push_str(&format!(", and {failed} that failed as comments"));
        } else {
            what.push_str(&format!(
                ", and {failed} that failed (the statements that ran before the failure are \
                 kept, the one that failed and the rest are comments)"
            ));
        }
    }
    if !saved.timeouts.is_empty() {
        what.push_str(&format!(
            "; {} {} settimeout({}) so the replay never hangs",
            saved.timeouts.join(", "),
            if saved.timeouts.len() == 1 {
                "gets"
            } else {
                "get"
            },
            save::REPLAY_TIMEOUT
        ));
    }
    if !saved.redefined.is_empty() {
        what.push_str(&format!(
            "; {} defined again: earlier calls run the last definition there",
            saved.redefined.join(", ")
        ));
    }
    Ok(format!(
        "{what}; replay with: udpsh run {}",
        display::terminal_safe(&quoted)
    ))
}
