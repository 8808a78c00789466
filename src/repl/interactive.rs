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

use super::editor::ReplHelper;
use super::meta::{self, Next};
use super::printer::Printer;
use super::session::{Options, Session};

pub fn run(opts: Options) -> i32 {
    let color = opts.color;
    let printer = Printer::start();
    let mut session = Session::new(opts, &printer);
    register_input(session.engine_mut());
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
    println!(
        "udpsh {} — Rhai with UDP sockets. :help for help, Tab completes, Ctrl-D exits.",
        env!("CARGO_PKG_VERSION")
    );
    let prompt = if color {
        ("udpsh> ", "\x1b[1;32mudpsh>\x1b[0m ")
    } else {
        ("udpsh> ", "udpsh> ")
    };
    loop {
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                if empty_line.load(Ordering::Relaxed) {
                    println!("(Ctrl-D or :quit exits)");
                }
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                crate::display::print_error(e);
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line.as_str());
        if let Some(path) = &history {
            let _ = editor.append_history(path);
        }
        if line.trim_start().starts_with(':') {
            let (next, result) = meta::run(&mut session, &line);
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
        match session.eval(&line) {
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
