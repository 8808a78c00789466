//! Ctrl-C in the REPL: it cancels the input being evaluated, not the session.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::outcome::exit;
use crate::stop;

/// True while an input runs: Ctrl-C then cancels it instead of reaching the editor.
pub static EVALUATING: AtomicBool = AtomicBool::new(false);
/// Ctrl-Cs seen while the current input has not yet stopped.
static PENDING_INTERRUPTS: AtomicU8 = AtomicU8::new(0);

/// Ctrl-C stops the running input (the session goes on); at the prompt, rustyline reads it as
/// a key. Without a terminal, Ctrl-C between inputs exits. Three Ctrl-Cs on an input that
/// does not stop exit too.
pub fn install_handler(terminal: bool) {
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
pub fn evaluation_ended() {
    PENDING_INTERRUPTS.store(0, Ordering::SeqCst);
}
