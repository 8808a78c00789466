//! `udpsh` / `udpsh repl`: the interactive shell over the script API. At a terminal it is a
//! rustyline editor ([`interactive`]); with stdin piped it reads and runs the same inputs
//! quietly ([`piped`]).

mod catch;
mod commands;
mod editor;
mod help;
mod highlight;
mod input;
mod interactive;
mod interrupt;
mod keys;
mod lex;
mod meta;
mod piped;
mod printer;
mod python;
mod save;
mod session;
mod show;
mod unbound;
mod watch;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::{Limits, VarValue};
use crate::capture::Recorder;
use crate::outcome::exit;
use crate::stop;

use session::Options;

/// What `udpsh repl` was started with.
pub struct ReplOptions {
    pub vars: BTreeMap<String, VarValue>,
    pub limits: Limits,
    pub pcap: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub verbose: bool,
    pub color: bool,
}

/// A terminal rustyline cannot edit on (no completion, hints or history keys).
pub(crate) fn dumb_terminal() -> bool {
    matches!(
        std::env::var("TERM").as_deref(),
        Ok("dumb" | "cons25" | "emacs")
    )
}

/// Runs the REPL; returns the exit code.
pub fn run(options: ReplOptions) -> i32 {
    // Ctrl-C cancels the input being evaluated here, not the threads it spawned.
    stop::interrupt_this_thread_only();
    let recorder = match options.pcap.as_deref().map(Recorder::create).transpose() {
        Ok(r) => r,
        Err(e) => {
            crate::display::print_error(e);
            return exit::USAGE;
        }
    };
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let opts = Options {
        vars: options.vars,
        limits: options.limits,
        recorder,
        timeout: options.timeout,
        verbose: options.verbose,
        color: options.color,
        file: if terminal { "<repl>" } else { "<stdin>" },
    };
    interrupt::install_handler(terminal);
    // What udpsh itself holds is not the session's data under --max-memory.
    crate::memory::set_aside_all();
    if terminal {
        interactive::run(opts)
    } else {
        piped::run(opts)
    }
}
