//! Where the REPL's lines go. The main thread writes to stdout itself, so a line's own output
//! comes before its result; other threads (watches, spawned closures) hand their lines to a
//! printer thread, which prints them above the prompt with rustyline's ExternalPrinter, or on
//! stdout without a terminal.

use std::io::Write;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use rustyline::ExternalPrinter;

enum Message {
    Line(String),
    /// Answered once every line sent before it is printed.
    Flush(SyncSender<()>),
    /// From now on, print above the prompt.
    External(Box<dyn ExternalPrinter + Send>),
}

pub struct Printer {
    main: ThreadId,
    tx: Mutex<Sender<Message>>,
    /// No printer thread could be started: each thread prints its own lines.
    direct: bool,
}

impl Printer {
    /// A printer whose main thread is the calling one.
    pub fn start() -> Arc<Printer> {
        let (tx, rx) = channel();
        let direct = crate::threads::start("udpsh-printer", None, move || background(rx)).is_err();
        Arc::new(Printer {
            main: std::thread::current().id(),
            tx: Mutex::new(tx),
            direct,
        })
    }

    /// Lines from other threads go above the prompt from now on.
    pub fn use_external(&self, external: Box<dyn ExternalPrinter + Send>) {
        self.send(Message::External(external));
    }

    /// Prints one line (already safe for the terminal).
    pub fn line(&self, text: &str) {
        if std::thread::current().id() == self.main || self.direct {
            let mut out = std::io::stdout().lock();
            crate::display::note_stdout(writeln!(out, "{text}").and_then(|()| out.flush()));
        } else {
            self.send(Message::Line(text.to_string()));
        }
    }

    /// Waits (a little) until the lines of other threads are out.
    pub fn flush(&self) {
        if self.direct {
            return;
        }
        let (tx, rx) = sync_channel(1);
        self.send(Message::Flush(tx));
        let _ = rx.recv_timeout(Duration::from_secs(1));
    }

    fn send(&self, message: Message) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let _ = tx.send(message);
    }
}

fn background(rx: Receiver<Message>) {
    let mut external: Option<Box<dyn ExternalPrinter + Send>> = None;
    for message in rx {
        match message {
            Message::Line(mut text) => {
                text.push('\n');
                let printed = external
                    .as_mut()
                    .is_some_and(|p| p.print(text.clone()).is_ok());
                if !printed {
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                }
            }
            Message::Flush(done) => {
                let _ = done.send(());
            }
            Message::External(p) => external = Some(p),
        }
    }
}
