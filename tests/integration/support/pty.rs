//! Drives `udpsh` in a pseudo-terminal like a person at a keyboard, keeping everything it
//! printed, so a failed expectation shows the whole screen so far. Every wait is bounded, and
//! the pty's process is killed when the `Repl` is dropped.

use std::process::Command;
use std::time::Duration;

use expectrl::session::OsSession;
use expectrl::{ControlCode, Expect, Regex, Session};
use tempfile::TempDir;

/// How long any one expectation may wait.
const WAIT: Duration = Duration::from_secs(8);

/// A fresh empty prompt: rustyline draws `udpsh> ` then returns the cursor to column 7; a
/// redraw of a line being typed has the line after the prompt instead.
pub const PROMPT: &str = "udpsh> \r";
/// The same in colour.
pub const COLOR_PROMPT: &str = "udpsh>\x1b[0m \r";

/// The REPL in a pseudo-terminal: start it with `Udpsh::new(&[]).home(dir).pty()`. Dropping
/// it kills the process if it is still running.
pub struct Repl {
    session: OsSession,
    transcript: Vec<u8>,
    _dir: Option<TempDir>,
}

impl Repl {
    /// Starts `cmd` (made by `Udpsh::pty`) in a pty and waits for its first empty prompt, in
    /// colour if `color`; keeps `dir` (the builder's temp folder) while it runs.
    pub(super) fn spawn(cmd: Command, label: &str, color: bool, dir: Option<TempDir>) -> Repl {
        let mut session =
            Session::spawn(cmd).unwrap_or_else(|e| panic!("starting `{label}` in a pty: {e}"));
        session.set_expect_timeout(Some(WAIT));
        let mut repl = Repl {
            session,
            transcript: Vec::new(),
            _dir: dir,
        };
        repl.expect(if color { COLOR_PROMPT } else { PROMPT });
        repl
    }

    /// Types `text` and Enter, then waits for the line to be taken (its echo ends).
    pub fn line(&mut self, text: &str) {
        self.type_text(text);
        self.type_text("\r");
    }

    /// Types `text` (no Enter).
    pub fn type_text(&mut self, text: &str) {
        self.session
            .send(text)
            .unwrap_or_else(|e| self.fail(&format!("cannot type {text:?}: {e}")));
    }

    /// Types a line and waits for the next empty prompt: for lines that print nothing.
    pub fn run(&mut self, text: &str) {
        self.line(text);
        self.expect(PROMPT);
    }

    /// Types a one-line input and returns what it printed before the next prompt (without
    /// the echo of the input itself).
    pub fn eval(&mut self, text: &str) -> String {
        self.line(text);
        let screen = self.expect(PROMPT);
        match screen.split_once('\n') {
            Some((_echo, printed)) => printed.to_string(),
            None => String::new(),
        }
    }

    pub fn ctrl_c(&mut self) {
        self.session
            .send(ControlCode::EndOfText)
            .unwrap_or_else(|e| self.fail(&format!("cannot send Ctrl-C: {e}")));
    }

    pub fn ctrl_d(&mut self) {
        self.session
            .send(ControlCode::EndOfTransmission)
            .unwrap_or_else(|e| self.fail(&format!("cannot send Ctrl-D: {e}")));
    }

    /// Waits for `needle`; returns what came before it (as text).
    pub fn expect(&mut self, needle: &str) -> String {
        match self.session.expect(needle) {
            Ok(found) => self.keep(found.before(), found.as_bytes()),
            Err(e) => self.fail(&format!("waiting for {needle:?}: {e}")),
        }
    }

    /// Waits for a regular expression; returns its capture groups (0 = the whole match).
    pub fn expect_re(&mut self, re: &str) -> Vec<String> {
        match self.session.expect(Regex(re)) {
            Ok(found) => {
                let groups = found
                    .matches()
                    .map(|g| String::from_utf8_lossy(g).into_owned())
                    .collect();
                self.keep(found.before(), found.as_bytes());
                groups
            }
            Err(e) => self.fail(&format!("waiting for /{re}/: {e}")),
        }
    }

    /// Waits for the process to end and returns its exit code.
    pub fn exit_code(mut self) -> i32 {
        use expectrl::process::unix::WaitStatus;
        let _ = self.session.expect(expectrl::Eof).map(|f| {
            self.transcript.extend_from_slice(f.as_bytes());
        });
        for _ in 0..100 {
            match self.session.get_process().status() {
                Ok(WaitStatus::Exited(_, code)) => return code,
                Ok(WaitStatus::Signaled(_, sig, _)) => self.fail(&format!("killed by {sig}")),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        self.fail("udpsh did not exit")
    }

    /// Everything the terminal received so far.
    pub fn transcript(&self) -> &[u8] {
        &self.transcript
    }

    /// Adds what one expectation read (`all`: what came before and the match).
    fn keep(&mut self, before: &[u8], all: &[u8]) -> String {
        self.transcript.extend_from_slice(all);
        String::from_utf8_lossy(before).into_owned()
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- terminal so far ---\n{}",
            String::from_utf8_lossy(&self.transcript).escape_debug()
        )
    }
}
