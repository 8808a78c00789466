//! State across lines, the rhai-repl way: each input is compiled with the scope, merged into
//! one AST (so functions stay), run with the scope (so variables and sockets stay), and then
//! its statements are dropped. Keeps the inputs that ran, for `:save`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rhai::{AST, Dynamic, Engine, EvalAltResult, Scope};

use crate::api::{self, Datagram, Limits, Output, RunCtx, ScriptCtx, Sock, VarValue};
use crate::capture::Recorder;
use crate::diagnostic::Diagnostic;
use crate::display;
use crate::kind::ErrorKind;
use crate::outcome::{Status, exit};
use crate::stop::{self, Stop, StopReason};

use super::printer::Printer;
use super::show;
use super::watch::Watches;

/// What the session was started with.
pub struct Options {
    pub vars: BTreeMap<String, VarValue>,
    pub limits: Limits,
    pub recorder: Option<Recorder>,
    pub timeout: Option<Duration>,
    pub verbose: bool,
    pub color: bool,
    /// `<repl>` at the keyboard, `<stdin>` when piped (there, lines count from the start).
    pub file: &'static str,
}

/// A failed input: its rendering and the exit code it stands for.
pub struct Failure {
    pub message: String,
    pub rendered: String,
    /// As `udpsh run` counts it (`outcome::exit`); Ctrl-C is `exit::INTERRUPTED`.
    pub code: i32,
}

/// A variable's kind, for completion after `.`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    Socket,
    Datagram,
    Thread,
    Other,
}

/// What the editor may complete: refreshed after every input.
#[derive(Default)]
pub struct Names {
    pub vars: Vec<(String, VarKind)>,
    pub functions: Vec<String>,
}

struct Input {
    source: String,
    /// Its first line in the whole session (1 for the first input).
    first_line: usize,
}

pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    /// The functions defined so far (statements are cleared after each run).
    ast: AST,
    ctx: Arc<ScriptCtx>,
    pub watches: Arc<Watches>,
    pub names: Arc<RwLock<Names>>,
    inputs: Vec<Input>,
    /// Which input defined each function, to show the right source in its errors.
    defined_in: HashMap<String, usize>,
    /// The inputs that ran without error, in order, for `:save`.
    ran: Vec<String>,
    timeout: Option<Duration>,
    color: bool,
    file: &'static str,
    lines: usize,
    /// The capture packet that the latest failure was noted on.
    annotated: Option<u64>,
}

impl Session {
    pub fn new(opts: Options, printer: &Arc<Printer>) -> Session {
        let out = printer.clone();
        let output = Output::new(move |line| out.line(&display::terminal_safe(line)));
        let run = Arc::new(
            RunCtx::new(
                Arc::new(Stop::new(None)),
                opts.recorder,
                opts.verbose,
                output,
            )
            .with_limits(opts.limits),
        );
        let ctx = ScriptCtx::new(run, opts.file.to_string(), Path::new("."), opts.vars);
        let watches = Watches::new(printer.clone(), opts.color);
        let mut engine = api::engine(&ctx);
        register_watch(&mut engine, &ctx, &watches, printer);
        Session {
            engine,
            scope: Scope::new(),
            ast: AST::empty(),
            ctx,
            watches,
            names: Arc::new(RwLock::new(Names::default())),
            inputs: Vec::new(),
            defined_in: HashMap::new(),
            ran: Vec::new(),
            timeout: opts.timeout,
            color: opts.color,
            file: opts.file,
            lines: 0,
            annotated: None,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// For REPL-only functions.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    pub fn ctx(&self) -> &Arc<ScriptCtx> {
        &self.ctx
    }

    pub fn run(&self) -> &RunCtx {
        &self.ctx.run
    }

    /// Lines of piped input that were not Rhai (blank lines, meta-commands).
    pub fn skip_lines(&mut self, n: usize) {
        self.lines += n;
    }

    /// The inputs that ran without error.
    pub fn ran(&self) -> &[String] {
        &self.ran
    }

    pub fn functions(&self) -> impl Iterator<Item = String> + '_ {
        self.ast
            .iter_functions()
            .filter(|f| !f.name.starts_with("anon$"))
            .map(|f| format!("fn {}({})", f.name, f.params.join(", ")))
    }

    /// Variables in scope, in the order they were made (a shadowed name once: the latest).
    pub fn variables(&self) -> Vec<(&str, &Dynamic)> {
        let mut seen = std::collections::HashSet::new();
        let mut all: Vec<(&str, &Dynamic)> = self
            .scope
            .iter_raw()
            .filter(|(name, _, _)| seen.insert(*name))
            .map(|(name, _, value)| (name, value))
            .collect();
        all.reverse();
        all
    }

    /// The socket held by variable `name`.
    pub fn socket(&self, name: &str) -> Option<Sock> {
        self.scope.get(name)?.read_lock::<Sock>().map(|s| s.clone())
    }

    /// Compiles and runs one input; returns what to print, or the failure.
    pub fn eval(&mut self, source: &str) -> Result<Option<String>, Failure> {
        let index = self.inputs.len();
        self.inputs.push(Input {
            source: source.to_string(),
            first_line: self.lines + 1,
        });
        self.lines += source.lines().count().max(1);
        let compiled = match crate::api::prepared(source, |source| {
            self.engine.compile_with_scope(&self.scope, source)
        }) {
            Ok(ast) => ast,
            Err(e) => {
                let d = api::diagnose::from_parse(&e, self.file);
                return Err(self.failure(d, index, exit::USAGE));
            }
        };
        for f in compiled.iter_functions() {
            self.defined_in.insert(f.name.to_string(), index);
        }
        self.ast += compiled;
        self.ctx.set_ast(Arc::new(self.ast.clone()));
        let result =
            self.guarded(|engine, scope, ast| engine.eval_ast_with_scope::<Dynamic>(scope, ast));
        self.ast.clear_statements();
        self.refresh_names();
        match result {
            Ok(value) => {
                self.ran.push(source.to_string());
                // As in IPython, a closing `;` hides the result: `s.sendto(..);` is quiet.
                let quiet = source.trim_end().ends_with(';');
                Ok(if quiet { None } else { show::result(&value) })
            }
            Err((e, timed_out)) => {
                let failure = self.runtime_failure(&e, index, timed_out);
                self.annotate_capture(&failure.message);
                Err(failure)
            }
        }
    }

    /// As in `udpsh run`: the latest datagram recorded carries the failure in a pcapng
    /// capture (once: a later failure does not pile onto the same datagram).
    fn annotate_capture(&mut self, message: &str) {
        let run = &self.ctx.run;
        if let (Some(recorder), Some(id)) = (run.recorder(), run.last_packet())
            && self.annotated != Some(id)
        {
            let _ = recorder.annotate(id, &format!("udpsh: {message}"));
            self.annotated = Some(id);
        }
    }

    /// Runs with the watches paused, the Ctrl-C flag clear, and `--timeout` enforced.
    fn guarded<T>(
        &mut self,
        work: impl FnOnce(&Engine, &mut Scope<'static>, &AST) -> Result<T, Box<EvalAltResult>>,
    ) -> Result<T, (Box<EvalAltResult>, bool)> {
        let watches = self.watches.clone();
        let _paused = watches.pause();
        stop::clear_interrupt();
        super::interrupt::EVALUATING.store(true, Ordering::SeqCst);
        let timed_out = Arc::new(AtomicBool::new(false));
        let (done, limit_rx) = channel::<()>();
        let timer = self.timeout.map(|limit| {
            let fired = timed_out.clone();
            std::thread::spawn(move || {
                if let Err(RecvTimeoutError::Timeout) = limit_rx.recv_timeout(limit) {
                    fired.store(true, Ordering::SeqCst);
                    stop::interrupt();
                }
            })
        });
        let result = work(&self.engine, &mut self.scope, &self.ast);
        drop(done);
        if let Some(t) = timer {
            let _ = t.join();
        }
        super::interrupt::EVALUATING.store(false, Ordering::SeqCst);
        super::interrupt::evaluation_ended();
        stop::clear_interrupt();
        result.map_err(|e| (e, timed_out.load(Ordering::SeqCst)))
    }

    fn runtime_failure(&self, err: &EvalAltResult, index: usize, timed_out: bool) -> Failure {
        let mut d = api::diagnose::from_eval(err, self.file);
        // An error inside a function shows that function's source, from its own input.
        let source = innermost_function(err)
            .filter(|_| !innermost(err).position().is_none())
            .and_then(|name| self.defined_in.get(name).copied())
            .unwrap_or(index);
        if self.file == "<stdin>" {
            self.renumber_notes(&mut d, err, index);
        }
        let in_fn = innermost_function(err).is_some_and(|f| !f.starts_with("anon$"));
        if in_fn && matches!(innermost(err), EvalAltResult::ErrorVariableNotFound(..)) {
            d.notes.push(
                "a fn does not see the session's variables: pass them as parameters, \
                 or use a closure (let f = |x| ...; f.call(x))"
                    .into(),
            );
        }
        if timed_out {
            // The REPL's --timeout stops an input the way Ctrl-C does; say which it was.
            let limit = self.timeout.map_or(0.0, |t| t.as_secs_f64());
            d.kind = ErrorKind::Timeout;
            d.stop = Some(StopReason::Timeout);
            d.message = format!("stopped: --timeout of {limit}s reached");
        }
        let code = match Status::of(&d) {
            Status::Interrupted => exit::INTERRUPTED,
            status => status.exit_code(),
        };
        self.failure(d, source, code)
    }

    /// Piped input counts lines from the start: each "in call to function" note moves by
    /// the first line of the input its call is in (the caller's own input).
    fn renumber_notes(&self, d: &mut Diagnostic, err: &EvalAltResult, index: usize) {
        let mut notes = d.notes.iter_mut();
        let mut caller = index;
        let mut frame = err;
        while let EvalAltResult::ErrorInFunctionCall(name, _, next, _) = frame {
            // Diagnostic::from_eval writes no note for closures.
            if !name.starts_with("anon$")
                && let Some(note) = notes.next()
            {
                shift_line(note, self.file, self.inputs[caller].first_line - 1);
            }
            caller = self
                .defined_in
                .get(name.as_str())
                .copied()
                .unwrap_or(caller);
            frame = next;
        }
    }

    fn failure(&self, mut d: Diagnostic, source: usize, code: i32) -> Failure {
        let input = &self.inputs[source];
        // Piped input counts lines from the start, so an error names the line of the file.
        let padded;
        let text = if self.file == "<stdin>" && d.line > 0 {
            d.line += input.first_line - 1;
            padded = format!("{}{}", "\n".repeat(input.first_line - 1), input.source);
            &padded
        } else {
            &input.source
        };
        let plain = d.render(text, false);
        // Error messages can quote network data: never colour what needed escaping.
        let rendered = match display::terminal_safe(&plain) {
            std::borrow::Cow::Borrowed(_) if self.color => d.render(text, true),
            safe => safe.into_owned(),
        };
        Failure {
            message: d.message,
            rendered,
            code,
        }
    }

    fn refresh_names(&self) {
        let vars = self
            .variables()
            .into_iter()
            .map(|(name, v)| (name.to_string(), kind_of(v)))
            .collect();
        let mut functions: Vec<String> = self
            .ast
            .iter_functions()
            .filter(|f| !f.name.starts_with("anon$"))
            .map(|f| f.name.to_string())
            .collect();
        functions.dedup();
        *self.names.write().unwrap_or_else(|p| p.into_inner()) = Names { vars, functions };
    }

    /// Starts recording into `recorder` (or stops); sockets made before now learn each
    /// datagram's destination too.
    pub fn set_recorder(&self, recorder: Option<Recorder>) -> Option<Recorder> {
        if recorder.is_some() {
            for (_, v) in self.variables() {
                if let Some(s) = v.read_lock::<Sock>() {
                    s.net().want_destination();
                }
            }
        }
        self.ctx.run.set_recorder(recorder)
    }

    /// At the end: stop spawned threads and watches.
    pub fn finish(&self) {
        self.watches.unwatch_all();
        self.ctx.run.stop.finish();
        // Children started here (and threads) end with the session.
        let _ = self.ctx.run.background.stop_all(crate::process::GRACE);
    }
}

fn kind_of(value: &Dynamic) -> VarKind {
    if value.read_lock::<Sock>().is_some() {
        VarKind::Socket
    } else if value.read_lock::<Datagram>().is_some() {
        VarKind::Datagram
    } else if value.read_lock::<api::SpawnHandle>().is_some() {
        VarKind::Thread
    } else {
        VarKind::Other
    }
}

/// `... at FILE:3:5` → `... at FILE:{3 + by}:5`.
fn shift_line(note: &mut String, file: &str, by: usize) {
    let marker = format!(" at {file}:");
    let Some(at) = note.rfind(&marker) else {
        return;
    };
    let rest = &note[at + marker.len()..];
    if let Some((line, col)) = rest.split_once(':')
        && let Ok(line) = line.parse::<usize>()
    {
        *note = format!("{}{marker}{}:{col}", &note[..at], line + by);
    }
}

fn innermost(mut err: &EvalAltResult) -> &EvalAltResult {
    while let EvalAltResult::ErrorInFunctionCall(_, _, next, _) = err {
        err = next;
    }
    err
}

fn innermost_function(mut err: &EvalAltResult) -> Option<&str> {
    let mut name = None;
    while let EvalAltResult::ErrorInFunctionCall(n, _, next, _) = err {
        name = Some(n.as_str());
        err = next;
    }
    name
}

/// `s.watch()` and `s.unwatch()`: REPL-only methods.
fn register_watch(
    engine: &mut Engine,
    ctx: &Arc<ScriptCtx>,
    watches: &Arc<Watches>,
    printer: &Arc<Printer>,
) {
    let (c, w, p) = (ctx.clone(), watches.clone(), printer.clone());
    engine.register_fn("watch", move |s: &mut Sock| {
        if w.watch(&c, s) {
            p.line(&format!("watching {} (.unwatch() stops)", show::socket(s)));
        }
    });
    let (w, p) = (watches.clone(), printer.clone());
    engine.register_fn("unwatch", move |s: &mut Sock| {
        if w.unwatch(s) {
            p.line(&format!("stopped watching {}", show::socket(s)));
        }
    });
}
