//! `udpsh` / `udpsh repl`: the interactive shell over the script API. At a terminal it is a
//! rustyline editor ([`interactive`]); with stdin piped it reads and runs the same inputs
//! quietly ([`piped`]).

mod editor;
mod help;
mod highlight;
mod input;
mod interactive;
mod meta;
mod piped;
mod printer;
mod session;
mod show;
mod watch;

use crate::outcome::exit;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use crate::cli::Common;
use crate::stop;

use session::Options;

/// True while an input runs: Ctrl-C then cancels it instead of reaching the editor.
static EVALUATING: AtomicBool = AtomicBool::new(false);
/// Ctrl-Cs seen while the current input has not yet stopped.
static PENDING_INTERRUPTS: AtomicU8 = AtomicU8::new(0);

/// Runs the REPL with the options of `udpsh repl`; returns the exit code.
pub fn run(common: &Common, color: bool) -> i32 {
    // Ctrl-C cancels the input being evaluated here, not the threads it spawned.
    stop::interrupt_this_thread_only();
    let recorder = match crate::open_capture(common.pcap.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let vars = crate::cli_vars(common);
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let opts = Options {
        vars,
        recorder,
        timeout: common.timeout.map(Duration::from_secs_f64),
        verbose: common.verbose,
        color,
        file: if terminal { "<repl>" } else { "<stdin>" },
    };
    install_interrupt_handler(terminal);
    if terminal {
        interactive::run(opts)
    } else {
        piped::run(opts)
    }
}

/// Ctrl-C stops the running input (the session goes on); at the prompt, rustyline reads it as
/// a key. Without a terminal, Ctrl-C between inputs exits. Three Ctrl-Cs on an input that
/// does not stop exit too.
fn install_interrupt_handler(terminal: bool) {
    let _ = ctrlc::set_handler(move || {
        if !EVALUATING.load(Ordering::SeqCst) {
            if !terminal {
                std::process::exit(exit::INTERRUPTED);
            }
            return;
        }
        if PENDING_INTERRUPTS.fetch_add(1, Ordering::SeqCst) >= 2 {
            eprintln!("\nudpsh: the input does not stop; exiting");
            std::process::exit(exit::INTERRUPTED);
        }
        stop::interrupt();
    });
}

/// Called when an input ends, however it ended.
fn evaluation_ended() {
    PENDING_INTERRUPTS.store(0, Ordering::SeqCst);
}
