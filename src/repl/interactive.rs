//! The REPL at a terminal: rustyline with Emacs keys, history in the XDG state folder,
//! completion, hints, colours, multi-line input, and datagrams printed above the prompt.

use crate::outcome::exit;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{
    Cmd, ColorMode, CompletionType, ConditionalEventHandler, Config, EditMode, Editor, Event,
    EventContext, EventHandler, KeyEvent, RepeatCount,
};

use super::editor::{INDENT, ReplHelper, indent_for};
use super::input;
use super::meta::{self, Next};
use super::printer::Printer;
use super::python::{self, Instead};
use super::session::{Options, Session};

pub fn run(opts: Options) -> i32 {
    let color = opts.color;
    let printer = Printer::start();
    let mut session = Session::new(opts, &printer);
    session.extend(Box::new(register_input));
    let mut editor = match new_editor(color) {
        Ok(e) => e,
        Err(e) => {
            crate::display::print_error(format_args!("cannot start the line editor: {e}"));
            return exit::USAGE;
        }
    };
    editor.set_helper(Some(ReplHelper::new(session.names.clone(), color)));
    let empty_line = Arc::new(AtomicBool::new(false));
    editor.bind_sequence(
        KeyEvent::ctrl('c'),
        EventHandler::Conditional(Box::new(CtrlC(empty_line.clone()))),
    );
    if let Ok(p) = editor.create_external_printer() {
        printer.use_external(Box::new(p));
    }
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!("{}", banner(super::dumb_terminal()));
    loop {
        let prompt = Prompt::new(session.next_number(), color);
        let Some(input) = read_input(&mut editor, &session, &prompt, &empty_line) else {
            break;
        };
        if input.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(input.as_str());
        if let Some(path) = &history {
            let _ = editor.append_history(path);
        }
        if input.trim_start().starts_with(':') {
            let (next, result) = meta::run(&mut session, &input);
            match result {
                Ok(text) if text.is_empty() => {}
                Ok(text) => println!("{text}"),
                Err(text) => crate::display::print_error(text),
            }
            if let Next::Quit = next {
                break;
            }
            continue;
        }
        if let Some(instead) = python::instead(&input, |n| session.defines(n)) {
            match instead {
                Instead::Quit => break,
                Instead::Hint(hint) => println!("{hint}"),
                Instead::Help { name, hint } => {
                    println!("{hint}");
                    match meta::help_for(&session, &name) {
                        Ok(text) => println!("{text}"),
                        Err(text) => crate::display::print_error(text),
                    }
                }
            }
            continue;
        }
        match session.eval(&input) {
            Ok(Some(text)) => println!("{text}"),
            Ok(None) => {}
            Err(failure) => {
                if failure.code == exit::INTERRUPTED {
                    // The terminal echoed ^C where the cursor was.
                    eprintln!();
                }
                eprint!("{}", failure.rendered)
            }
        }
    }
    session.finish();
    0
}

/// The first line; under TERM=dumb rustyline edits nothing, so Tab is not promised.
fn banner(dumb: bool) -> String {
    let keys = if dumb {
        "Ctrl-D exits"
    } else {
        "Tab completes, Ctrl-D exits"
    };
    format!(
        "udpsh {} — Rhai with UDP sockets. :help for help, {keys}.",
        env!("CARGO_PKG_VERSION")
    )
}

/// `[3] udpsh> ` and, for the lines of an unfinished input, `      ...> ` as wide.
struct Prompt {
    first: (String, String),
    more: (String, String),
}

impl Prompt {
    fn new(number: usize, color: bool) -> Prompt {
        let plain = format!("[{number}] udpsh> ");
        let width = plain.chars().count();
        let more = format!("{:>w$}", "...> ", w = width);
        if color {
            Prompt {
                first: (
                    plain,
                    format!("\x1b[2m[{number}]\x1b[0m \x1b[1;32mudpsh>\x1b[0m "),
                ),
                more: (more.clone(), format!("\x1b[2m{more}\x1b[0m")),
            }
        } else {
            Prompt {
                first: (plain.clone(), plain),
                more: (more.clone(), more),
            }
        }
    }
}

/// Reads one input: a line, and while the parser says it is unfinished, more lines at
/// `...>`. Inside brackets the prompt shows the indentation, and a line typed without any
/// gets it in the input (a pasted line keeps its own; `}` closes a level). `None` at the end.
fn read_input(
    editor: &mut Editor<ReplHelper, FileHistory>,
    session: &Session,
    prompt: &Prompt,
    empty_line: &AtomicBool,
) -> Option<String> {
    let mut text = String::new();
    let mut empty_run = 0;
    loop {
        let first = text.is_empty();
        let indent = if first {
            String::new()
        } else {
            indent_for(session.engine(), &text)
        };
        let got = if first {
            editor.readline(&prompt.first)
        } else {
            let more = (
                format!("{}{indent}", prompt.more.0),
                format!("{}{indent}", prompt.more.1),
            );
            editor.readline(&more)
        };
        let line = match got {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                if first && empty_line.load(Ordering::Relaxed) {
                    println!("(Ctrl-D or :quit exits)");
                }
                // Ctrl-C drops the unfinished input, as in Python.
                return Some(String::new());
            }
            // Ctrl-D in an unfinished input runs it as it is (to show what is missing).
            Err(ReadlineError::Eof) if !first => return Some(text),
            Err(ReadlineError::Eof) => return None,
            Err(e) => {
                crate::display::print_error(e);
                return None;
            }
        };
        if first {
            if line.trim().is_empty() || line.trim_start().starts_with(':') {
                return Some(line);
            }
            text = line;
        } else {
            empty_run = if line.trim().is_empty() {
                empty_run + 1
            } else {
                0
            };
            text.push('\n');
            text.push_str(&indented(&line, &indent));
        }
        let done = input::is_complete(session.engine(), &text) || empty_run >= 2;
        if done {
            return Some(text.trim_end().to_string());
        }
    }
}

/// A continuation line as it goes into the input.
fn indented(line: &str, indent: &str) -> String {
    if indent.is_empty() || line.is_empty() || line.starts_with(char::is_whitespace) {
        return line.to_string();
    }
    if line.starts_with(['}', ')', ']']) {
        return format!("{}{line}", &indent[INDENT.len().min(indent.len())..]);
    }
    format!("{indent}{line}")
}

fn new_editor(color: bool) -> rustyline::Result<Editor<ReplHelper, FileHistory>> {
    let config = Config::builder()
        .edit_mode(EditMode::Emacs)
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .history_ignore_dups(true)?
        .history_ignore_space(true)
        .max_history_size(10_000)?
        .color_mode(if color {
            ColorMode::Enabled
        } else {
            ColorMode::Disabled
        })
        .build();
    Editor::with_config(config)
}

/// `input()` at the terminal reads with a line editor of its own: Ctrl-C cancels the input
/// like any running line, and no reader is left behind to steal the next keystrokes.
fn register_input(engine: &mut rhai::Engine) {
    engine.register_fn("input", || ask(""));
    engine.register_fn("input", |prompt: &str| ask(prompt));
}

fn ask(prompt: &str) -> Result<rhai::Dynamic, Box<rhai::EvalAltResult>> {
    let safe = crate::display::terminal_safe(prompt);
    let mut editor = rustyline::DefaultEditor::new().map_err(|e| {
        crate::api::error::script_error(
            crate::kind::ErrorKind::File,
            format!("cannot read the terminal: {e}"),
        )
    })?;
    match editor.readline(safe.as_ref()) {
        Ok(line) => Ok(line.into()),
        Err(ReadlineError::Eof) => Ok(rhai::Dynamic::UNIT),
        Err(ReadlineError::Interrupted) => Err(crate::api::error::stopped(
            crate::stop::StopReason::Interrupted,
        )),
        Err(e) => Err(crate::api::error::script_error(
            crate::kind::ErrorKind::File,
            format!("cannot read the terminal: {e}"),
        )),
    }
}

/// `$XDG_STATE_HOME/udpsh/history`, else `~/.local/state/udpsh/history`; the folder is
/// made if needed. `None` when neither variable is set (no history kept).
fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    let dir = state.join("udpsh");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("history"))
}

/// Notes whether Ctrl-C came on an empty line, then lets rustyline interrupt as usual.
struct CtrlC(Arc<AtomicBool>);

impl ConditionalEventHandler for CtrlC {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        self.0.store(ctx.line().is_empty(), Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dumb_terminal_is_not_promised_tab() {
        assert!(banner(false).contains("Tab completes"));
        assert!(!banner(true).contains("Tab"));
        assert!(!super::super::help::overview(88, false).contains("Tab completes"));
    }

    #[test]
    fn continuation_lines_get_the_indentation() {
        assert_eq!(indented("x + 1", "    "), "    x + 1");
        assert_eq!(indented("  x + 1", "    "), "  x + 1");
        assert_eq!(indented("}", "        "), "    }");
        assert_eq!(indented("lines`", ""), "lines`");
        let p = Prompt::new(12, false);
        assert_eq!(p.first.0, "[12] udpsh> ");
        assert_eq!(p.more.0.chars().count(), p.first.0.chars().count());
        assert!(p.more.0.ends_with("...> "));
    }
}
