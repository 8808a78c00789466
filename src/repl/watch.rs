//! `s.watch()` / `:watch s`: a thread per watched socket prints each datagram it receives
//! above the prompt, like `nc -u -l`. While a line runs, the watches pause, so the line's own
//! `recvfrom` gets its datagrams.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use anstyle::{AnsiColor, Style};

use crate::api::{ScriptCtx, Sock};

use super::printer::Printer;
use super::show;

struct Watch {
    sock: Sock,
    stop: Arc<AtomicBool>,
}

pub struct Watches {
    /// Readers: watch threads, one receive slice at a time. Writer: a running line.
    gate: Arc<RwLock<()>>,
    list: Mutex<Vec<Watch>>,
    printer: Arc<Printer>,
    color: bool,
}

impl Watches {
    pub fn new(printer: Arc<Printer>, color: bool) -> Arc<Watches> {
        Arc::new(Watches {
            gate: Arc::new(RwLock::new(())),
            list: Mutex::new(Vec::new()),
            printer,
            color,
        })
    }

    /// Held while a line runs: the watched sockets belong to it meanwhile.
    pub fn pause(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_watched(&self, sock: &Sock) -> bool {
        self.lock().iter().any(|w| same(&w.sock, sock))
    }

    /// Starts watching; false if it already was.
    pub fn watch(&self, ctx: &Arc<ScriptCtx>, sock: &Sock) -> bool {
        let mut list = self.lock();
        list.retain(|w| !w.stop.load(Ordering::Relaxed));
        if list.iter().any(|w| same(&w.sock, sock)) {
            return false;
        }
        let stop = Arc::new(AtomicBool::new(false));
        list.push(Watch {
            sock: sock.clone(),
            stop: stop.clone(),
        });
        let job = Job {
            sock: sock.clone(),
            stop,
            gate: self.gate.clone(),
            printer: self.printer.clone(),
            ctx: ctx.clone(),
            color: self.color,
        };
        std::thread::spawn(move || job.run());
        true
    }

    /// Stops watching; false if it was not. Never waits for the thread (a running line may
    /// hold the gate it waits on).
    pub fn unwatch(&self, sock: &Sock) -> bool {
        let mut list = self.lock();
        let before = list.len();
        list.retain(|w| {
            let hit = same(&w.sock, sock);
            if hit {
                w.stop.store(true, Ordering::Relaxed);
            }
            !hit
        });
        list.len() < before
    }

    pub fn unwatch_all(&self) -> usize {
        let mut list = self.lock();
        for w in list.iter() {
            w.stop.store(true, Ordering::Relaxed);
        }
        std::mem::take(&mut *list).len()
    }

    /// The sockets being watched.
    pub fn sockets(&self) -> Vec<Sock> {
        let mut list = self.lock();
        list.retain(|w| !w.stop.load(Ordering::Relaxed));
        list.iter().map(|w| w.sock.clone()).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Watch>> {
        self.list.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The same socket (clones share one).
pub fn same(a: &Sock, b: &Sock) -> bool {
    std::ptr::eq(a.net(), b.net())
}

/// One watch thread.
struct Job {
    sock: Sock,
    stop: Arc<AtomicBool>,
    gate: Arc<RwLock<()>>,
    printer: Arc<Printer>,
    ctx: Arc<ScriptCtx>,
    color: bool,
}

impl Job {
    fn run(self) {
        while !self.stop.load(Ordering::Relaxed) {
            if self.sock.net().is_closed() {
                self.printer
                    .line(&self.line("watch ended: the socket is closed"));
                self.stop.store(true, Ordering::Relaxed);
                break;
            }
            // Wait without the gate (a peek takes nothing), so a line never waits for us.
            if !self.datagram_waiting() {
                continue;
            }
            let got = {
                let _turn = self.gate.read().unwrap_or_else(|p| p.into_inner());
                if self.stop.load(Ordering::Relaxed) {
                    break;
                }
                self.sock.poll_receive(&self.ctx)
            };
            match got {
                Ok(Some(d)) => {
                    // With -v the datagram was already shown, arrow and all.
                    if !self.ctx.run.verbose {
                        self.printer.line(&self.line(&show::datagram(&d)));
                    }
                }
                // A line that ran meanwhile took it.
                Ok(None) => {}
                Err(e) => {
                    let why = crate::api::diagnose::from_eval(&e, &self.ctx.name);
                    self.printer
                        .line(&self.line(&format!("watch ended: {}", why.message)));
                    self.stop.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Waits up to the socket's read slice (50 ms) for a datagram, leaving it queued.
    fn datagram_waiting(&self) -> bool {
        let started = Instant::now();
        let mut byte = [MaybeUninit::<u8>::uninit(); 1];
        match self.sock.net().socket().peek(&mut byte) {
            Ok(_) => true,
            // A socket with a short timeout returns at once: don't spin.
            Err(_) => {
                if started.elapsed() < Duration::from_millis(10) {
                    std::thread::sleep(crate::stop::SLICE);
                }
                false
            }
        }
    }

    /// `[127.0.0.1:40312] "pong" from 127.0.0.1:5000 (4 bytes)`.
    fn line(&self, text: &str) -> String {
        let local = self
            .sock
            .local_addr()
            .map_or("unbound".to_string(), |a| a.to_string());
        let tag = format!("[{local}]");
        if self.color {
            let style = Style::new().fg_color(Some(AnsiColor::Cyan.into()));
            format!("{}{tag}{} {text}", style.render(), style.render_reset())
        } else {
            format!("{tag} {text}")
        }
    }
}
