//! `s.watch()` / `:watch s`: a thread per watched socket prints each datagram it receives
//! above the prompt, like `nc -u -l`. While a line runs, the watches pause, so the line's own
//! `recvfrom` gets its datagrams.
//!
//! How each datagram is shown: in full (a hexdump when binary), in one line (`compact`), or
//! as the value of a formatter closure (`s.watch(|d| hdr.unpack(d.data))`); a `filter`
//! closure hides the datagrams it returns false for (they are counted).

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant, SystemTime};

use anstyle::{AnsiColor, Style};
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Map, Module, NativeCallContext, Shared};

use crate::api::{Datagram, ScriptCtx, Sock};
use crate::display;

use super::keys::KeyOrders;
use super::printer::Printer;
use super::show;

/// Modules the session imported, for formatter closures that use them (`dns::parse`).
pub type Modules = Arc<RwLock<Vec<(String, Shared<Module>)>>>;

/// How a watch shows datagrams.
#[derive(Clone, Default)]
pub struct How {
    pub compact: bool,
    pub format: Option<FnPtr>,
    pub filter: Option<FnPtr>,
    /// The functions (closures included) of the input that asked: the closures live there.
    pub lib: Option<Shared<Module>>,
    /// The line of that input's `s.watch(...)` (0 for `:watch`), for capture comments.
    pub line: usize,
}

impl How {
    pub fn formatted(f: FnPtr) -> How {
        How {
            format: Some(f),
            ..How::default()
        }
    }

    pub fn compact() -> How {
        How {
            compact: true,
            ..How::default()
        }
    }

    /// `#{compact: true, filter: |d| ..., format: |d| ...}`.
    pub fn from_map(opts: &Map) -> Result<How, Box<EvalAltResult>> {
        let mut how = How::default();
        for (key, value) in opts {
            match key.as_str() {
                "compact" => {
                    how.compact = value
                        .as_bool()
                        .map_err(|_| bad("compact", "true or false"))?
                }
                "format" => {
                    how.format = Some(
                        value
                            .clone()
                            .try_cast::<FnPtr>()
                            .ok_or_else(|| bad("format", "a closure |d| ..."))?,
                    )
                }
                "filter" => {
                    how.filter = Some(value.clone().try_cast::<FnPtr>().ok_or_else(|| {
                        bad("filter", "a closure |d| ... returning true or false")
                    })?)
                }
                other => {
                    return Err(crate::api::error::script_error(
                        crate::kind::ErrorKind::Value,
                        format!("watch has no option '{other}' (it has compact, filter, format)"),
                    ));
                }
            }
        }
        Ok(how)
    }

    /// ` (compact, filtered)`, or "".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.compact {
            parts.push("compact");
        }
        if self.format.is_some() {
            parts.push("formatted");
        }
        if self.filter.is_some() {
            parts.push("filtered");
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

fn bad(option: &str, wanted: &str) -> Box<EvalAltResult> {
    crate::api::error::script_error(
        crate::kind::ErrorKind::Value,
        format!("watch option {option} must be {wanted}"),
    )
}

/// For a socket with no address yet: it cannot get anything until it has one.
pub fn unbound_note(sock: &Sock) -> &'static str {
    if sock.local_addr().is_none() {
        "; it is not bound, so nothing reaches it until it is bound or sends"
    } else {
        ""
    }
}

/// `; 3 datagrams hidden by the filter`, or "".
pub fn hidden_note(hidden: u64) -> String {
    if hidden == 0 {
        String::new()
    } else {
        format!(
            "; {} hidden by its filter",
            show::plural(hidden, "datagram was", "datagrams were")
        )
    }
}

struct Watch {
    sock: Sock,
    stop: Arc<AtomicBool>,
    how: Arc<RwLock<How>>,
    hidden: Arc<AtomicU64>,
    /// The input that asked last: datagrams are recorded in its name.
    ctx: Arc<RwLock<Arc<ScriptCtx>>>,
}

pub struct Watches {
    /// Readers: watch threads, one receive slice at a time. Writer: a running line.
    gate: Arc<RwLock<()>>,
    list: Mutex<Vec<Watch>>,
    printer: Arc<Printer>,
    color: bool,
    orders: Arc<RwLock<KeyOrders>>,
    modules: Modules,
}

impl Watches {
    pub fn new(
        printer: Arc<Printer>,
        color: bool,
        orders: Arc<RwLock<KeyOrders>>,
        modules: Modules,
    ) -> Arc<Watches> {
        Arc::new(Watches {
            gate: Arc::new(RwLock::new(())),
            list: Mutex::new(Vec::new()),
            printer,
            color,
            orders,
            modules,
        })
    }

    /// Held while a line runs: the watched sockets belong to it meanwhile.
    pub fn pause(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_watched(&self, sock: &Sock) -> bool {
        self.lock().iter().any(|w| same(&w.sock, sock))
    }

    /// Starts watching; false if it already was (then it is shown the new way from now on).
    /// The OS may refuse the watch its thread.
    pub fn watch(
        &self,
        ctx: &Arc<ScriptCtx>,
        sock: &Sock,
        how: How,
    ) -> Result<bool, crate::threads::NoThread> {
        let mut list = self.lock();
        list.retain(|w| !w.stop.load(Ordering::Relaxed));
        if let Some(w) = list.iter().find(|w| same(&w.sock, sock)) {
            *w.how.write().unwrap_or_else(|p| p.into_inner()) = how;
            *w.ctx.write().unwrap_or_else(|p| p.into_inner()) = ctx.clone();
            return Ok(false);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let how = Arc::new(RwLock::new(how));
        let hidden = Arc::new(AtomicU64::new(0));
        let shared_ctx = Arc::new(RwLock::new(ctx.clone()));
        let watch = Watch {
            sock: sock.clone(),
            stop: stop.clone(),
            how: how.clone(),
            hidden: hidden.clone(),
            ctx: shared_ctx.clone(),
        };
        let job = Job {
            sock: sock.clone(),
            stop,
            how,
            hidden,
            gate: self.gate.clone(),
            printer: self.printer.clone(),
            ctx: shared_ctx,
            color: self.color,
            orders: self.orders.clone(),
            modules: self.modules.clone(),
        };
        crate::threads::start("udpsh-watch", Some(crate::api::SCRIPT_STACK), move || {
            job.run()
        })?;
        list.push(watch);
        Ok(true)
    }

    /// Stops watching; `None` if it was not, else how many datagrams its filter hid. Never
    /// waits for the thread (a running line may hold the gate it waits on).
    pub fn unwatch(&self, sock: &Sock) -> Option<u64> {
        let mut list = self.lock();
        let mut hidden = None;
        list.retain(|w| {
            let hit = same(&w.sock, sock);
            if hit {
                w.stop.store(true, Ordering::Relaxed);
                hidden = Some(w.hidden.load(Ordering::Relaxed));
            }
            !hit
        });
        hidden
    }

    pub fn unwatch_all(&self) -> usize {
        let mut list = self.lock();
        for w in list.iter() {
            w.stop.store(true, Ordering::Relaxed);
        }
        std::mem::take(&mut *list).len()
    }

    /// The sockets being watched, and how.
    pub fn sockets(&self) -> Vec<(Sock, String)> {
        let mut list = self.lock();
        list.retain(|w| !w.stop.load(Ordering::Relaxed));
        list.iter()
            .map(|w| {
                let how = w.how.read().unwrap_or_else(|p| p.into_inner()).describe();
                (w.sock.clone(), how)
            })
            .collect()
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
    how: Arc<RwLock<How>>,
    hidden: Arc<AtomicU64>,
    gate: Arc<RwLock<()>>,
    printer: Arc<Printer>,
    ctx: Arc<RwLock<Arc<ScriptCtx>>>,
    color: bool,
    orders: Arc<RwLock<KeyOrders>>,
    modules: Modules,
}

impl Job {
    fn ctx(&self) -> Arc<ScriptCtx> {
        self.ctx.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn run(self) {
        // Made once, when a closure first needs it.
        let mut caller: Option<Caller> = None;
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
                let line = self.how.read().unwrap_or_else(|p| p.into_inner()).line;
                self.sock.poll_receive(&self.ctx(), line)
            };
            match got {
                Ok(Some(d)) => {
                    // With -v the datagram was already shown, arrow and all (unless this
                    // watch has a view of its own).
                    let how = self.how.read().unwrap_or_else(|p| p.into_inner()).clone();
                    let own_view = how.compact || how.format.is_some() || how.filter.is_some();
                    if !self.ctx().run.verbose || own_view {
                        let caller = caller.get_or_insert_with(|| {
                            Caller::new(&self.ctx(), &self.modules, &self.stop)
                        });
                        if let Some(text) = self.render(&d, &how, caller) {
                            self.printer.line(&self.line(&text));
                        }
                    }
                }
                // A line that ran meanwhile took it.
                Ok(None) => {}
                Err(e) => {
                    let why = crate::api::diagnose::from_eval(&e, &self.ctx().name);
                    self.printer
                        .line(&self.line(&format!("watch ended: {}", why.message)));
                    self.stop.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// The datagram as this watch shows it; `None` when its filter hides it.
    fn render(&self, d: &Datagram, how: &How, caller: &Caller) -> Option<String> {
        if let Some(filter) = &how.filter {
            match caller.call(filter, d, how) {
                Ok(v) if v.as_bool() == Ok(true) => {}
                Ok(v) if v.as_bool() == Ok(false) => {
                    self.hidden.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
                Ok(v) => {
                    return Some(format!(
                        "filter gave {}, not true or false; shown: {}",
                        crate::api::forms::value_word(&v),
                        show::datagram_line(d)
                    ));
                }
                Err(e) => return Some(self.failed("filter", &e, d)),
            }
        }
        let when = if how.compact {
            format!("{} ", clock(SystemTime::now()))
        } else {
            String::new()
        };
        if let Some(format) = &how.format {
            return Some(match caller.call(format, d, how) {
                Ok(value) => {
                    let orders = self.orders.read().unwrap_or_else(|p| p.into_inner());
                    let shown = match value.read_lock::<rhai::ImmutableString>() {
                        Some(s) => display::terminal_safe(&display::one_line(&s)).into_owned(),
                        None => show::debug(&value, &orders),
                    };
                    format!("{when}{} ← {shown}", d.from)
                }
                Err(e) => self.failed("format", &e, d),
            });
        }
        if how.compact {
            // One line: text when it reads as text, else its first bytes in hex.
            return Some(format!(
                "{when}{} from {} ({})",
                display::payload_summary(&d.data),
                d.from,
                show::bytes(d.len)
            ));
        }
        Some(show::datagram(d))
    }

    fn failed(&self, what: &str, err: &EvalAltResult, d: &Datagram) -> String {
        let why = crate::api::diagnose::from_eval(err, &self.ctx().name);
        format!(
            "{what} failed ({}); shown: {}",
            why.message,
            show::datagram_line(d)
        )
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

/// `12:34:56.789` (UTC), for compact lines.
fn clock(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000
    )
}

/// Calls the watch's closures on its own thread, with the session's functions and modules.
struct Caller {
    engine: Engine,
}

impl Caller {
    /// `stop`: the watch's own flag, which also ends a formatter or filter that never
    /// returns (`:unwatch` sets it).
    fn new(ctx: &Arc<ScriptCtx>, modules: &Modules, stop: &Arc<AtomicBool>) -> Caller {
        let mut engine = crate::api::engine(ctx);
        let run_checks = crate::api::progress(ctx);
        let stop = stop.clone();
        engine.on_progress(move |ops| {
            if stop.load(Ordering::Relaxed) {
                return Some(Dynamic::from(crate::stop::StopReason::Finished.as_str()));
            }
            run_checks(ops)
        });
        for (alias, module) in modules.read().unwrap_or_else(|p| p.into_inner()).iter() {
            engine.register_static_module(alias.as_str(), module.clone());
        }
        Caller { engine }
    }

    fn call(&self, f: &FnPtr, d: &Datagram, how: &How) -> Result<Dynamic, Box<EvalAltResult>> {
        let mut global = self.engine.new_global_runtime_state();
        if let Some(lib) = &how.lib {
            global.lib.push(lib.clone());
        }
        // The closure's captured values are copies here, as in spawn: a line running
        // meanwhile may hold the originals.
        let mut f = f.clone();
        for value in f.iter_curry_mut() {
            *value = value.flatten_clone();
        }
        let ctx = NativeCallContext::new_with_all_fields(
            &self.engine,
            f.fn_name(),
            None,
            &global,
            rhai::Position::NONE,
        );
        f.call_raw(&ctx, None, [Dynamic::from(d.clone())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_is_hours_minutes_seconds_millis() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(3_723_004);
        assert_eq!(clock(t), "01:02:03.004");
    }

    #[test]
    fn options_are_checked() {
        let mut m = Map::new();
        m.insert("compact".into(), true.into());
        assert!(How::from_map(&m).unwrap().compact);
        m.insert("colour".into(), true.into());
        assert!(How::from_map(&m).is_err());
        assert_eq!(How::compact().describe(), " (compact)");
    }
}
