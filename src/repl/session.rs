//! State across inputs, the rhai-repl way: each input is compiled with the scope, merged
//! into one AST (so functions stay), run with the scope (so variables and sockets stay), and
//! then its statements are dropped. Imports stay too (as static modules of later engines).
//!
//! At the keyboard, input N is `<repl>#N`: errors, capture comments and spawned threads name
//! it, and each input gets an engine of its own made for that name. Piped input is `<stdin>`,
//! compiled at its own lines of the whole input, so every position is a line of the file.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rhai::module_resolvers::ModuleResolver;
use rhai::{
    AST, Dynamic, Engine, EvalAltResult, Module, NativeCallContext, Position, Scope, Shared, Stmt,
};

use crate::api::{self, Limits, Output, RunCtx, ScriptCtx, Sock, VarValue};
use crate::capture::Recorder;
use crate::diagnostic::Diagnostic;
use crate::display;
use crate::kind::ErrorKind;
use crate::outcome::{Status, exit};
use crate::stop::{self, Stop, StopReason};

use super::catch::{self, CAUGHT, NotCaught};
use super::keys::KeyOrders;
use super::printer::Printer;
use super::show;
use super::watch::{self, Watches};

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

/// What a variable holds, for completion after `.`: its type in plain words (`socket`,
/// `datagram`, `blob`, `string`, `array`, `layout`, ...), and a map's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarKind {
    Socket,
    Datagram,
    Thread,
    Blob,
    Text,
    Array,
    Layout,
    /// A map and its keys.
    Map(Vec<String>),
    /// Anything else, by its type in plain words (`integer`, `process`, `proxy`).
    Other(String),
}

impl VarKind {
    pub fn of(value: &Dynamic) -> VarKind {
        if let Some(m) = value.read_lock::<rhai::Map>() {
            return VarKind::Map(m.keys().map(|k| k.to_string()).collect());
        }
        VarKind::from_word(&api::forms::value_word(value))
    }

    pub fn from_word(word: &str) -> VarKind {
        match word {
            "socket" => VarKind::Socket,
            "datagram" => VarKind::Datagram,
            "thread" => VarKind::Thread,
            "blob" => VarKind::Blob,
            "string" => VarKind::Text,
            "array" => VarKind::Array,
            "layout" => VarKind::Layout,
            "map" => VarKind::Map(Vec::new()),
            other => VarKind::Other(other.to_string()),
        }
    }

    /// The type in plain words, as `api::forms` names it.
    pub fn word(&self) -> &str {
        match self {
            VarKind::Socket => "socket",
            VarKind::Datagram => "datagram",
            VarKind::Thread => "thread",
            VarKind::Blob => "blob",
            VarKind::Text => "string",
            VarKind::Array => "array",
            VarKind::Layout => "layout",
            VarKind::Map(_) => "map",
            VarKind::Other(word) => word,
        }
    }
}

/// What the editor may complete: refreshed after every input.
#[derive(Default)]
pub struct Names {
    pub vars: Vec<(String, VarKind)>,
    pub functions: Vec<String>,
    /// Imported modules: the name used (`dns`) and the module (`udpsh/dns`).
    pub modules: Vec<(String, String)>,
}

/// How an input ended, for `:save`.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It ran; `shown` when its value was printed (and became `it`).
    Ran { shown: bool },
    /// It failed; `compiled` when it got as far as running (its functions exist). `ran`:
    /// the bytes of its source before the top-level statement that failed, which ran whole
    /// (0 when nothing did).
    Failed {
        message: String,
        compiled: bool,
        ran: usize,
    },
}

/// One input of the session.
pub struct Input {
    pub source: String,
    /// `#3`: its number, from 1.
    pub number: usize,
    /// Its first line in the whole session (1 for the first input).
    pub first_line: usize,
    pub outcome: Outcome,
}

impl Input {
    #[cfg(test)]
    pub fn new(source: &str, number: usize, outcome: Outcome) -> Input {
        Input {
            source: source.to_string(),
            number,
            first_line: 1,
            outcome,
        }
    }
}

/// Registers functions that exist only at the REPL (e.g. `input()` at the terminal).
pub type Extension = Box<dyn Fn(&mut Engine)>;

pub struct Session {
    engine: Engine,
    scope: Scope<'static>,
    /// The functions defined so far (statements are cleared after each run).
    ast: AST,
    run: Arc<RunCtx>,
    /// The context of the latest input (`<repl>#N`).
    ctx: Arc<ScriptCtx>,
    vars: BTreeMap<String, VarValue>,
    printer: Arc<Printer>,
    pub watches: Arc<Watches>,
    pub names: Arc<RwLock<Names>>,
    pub orders: Arc<RwLock<KeyOrders>>,
    inputs: Vec<Input>,
    /// Which input defined each function, to show the right source in its errors.
    defined_in: HashMap<String, usize>,
    /// `import "udpsh/dns" as dns`: kept for later inputs and spawned closures.
    imports: Vec<(String, String, Stmt)>,
    modules: watch::Modules,
    resolver: Arc<CachedResolver>,
    extensions: Vec<Extension>,
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
        let ctx = ScriptCtx::new(
            run.clone(),
            opts.file.to_string(),
            Path::new("."),
            opts.vars.clone(),
        );
        let orders = Arc::new(RwLock::new(KeyOrders::with_api()));
        let resolver = Arc::new(CachedResolver::new(&ctx));
        let modules = watch::Modules::default();
        let watches = Watches::new(printer.clone(), opts.color, orders.clone(), modules.clone());
        let mut session = Session {
            engine: Engine::new_raw(),
            scope: Scope::new(),
            ast: AST::empty(),
            run,
            ctx,
            vars: opts.vars,
            printer: printer.clone(),
            watches,
            names: Arc::new(RwLock::new(Names::default())),
            orders,
            inputs: Vec::new(),
            defined_in: HashMap::new(),
            imports: Vec::new(),
            modules,
            resolver,
            extensions: Vec::new(),
            timeout: opts.timeout,
            color: opts.color,
            file: opts.file,
            lines: 0,
            annotated: None,
        };
        session.engine = session.new_engine();
        session.scope.push(CAUGHT, ());
        session
    }

    /// At the keyboard, each input is numbered (`<repl>#3`).
    fn numbered(&self) -> bool {
        self.file == "<repl>"
    }

    /// The number the next input will get.
    pub fn next_number(&self) -> usize {
        self.inputs.len() + 1
    }

    fn new_engine(&self) -> Engine {
        let mut engine = api::engine(&self.ctx);
        engine.set_module_resolver(SharedResolver(self.resolver.clone()));
        register_watch(&mut engine, &self.ctx, &self.watches, &self.printer);
        for extend in &self.extensions {
            extend(&mut engine);
        }
        // The session's imports, made for this input (see CachedResolver).
        self.resolver.set_ctx(&self.ctx);
        let mut modules = Vec::new();
        for (alias, path, _) in &self.imports {
            if let Ok(m) = self.resolver.resolve(&engine, None, path, Position::NONE) {
                engine.register_static_module(alias.as_str(), m.clone());
                modules.push((alias.clone(), m));
            }
        }
        *self.modules.write().unwrap_or_else(|p| p.into_inner()) = modules;
        engine
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Adds REPL-only functions, to this engine and to every later input's.
    pub fn extend(&mut self, extension: Extension) {
        extension(&mut self.engine);
        self.extensions.push(extension);
    }

    pub fn run(&self) -> &RunCtx {
        &self.run
    }

    /// Lines of piped input that were not Rhai (blank lines, meta-commands).
    pub fn skip_lines(&mut self, n: usize) {
        self.lines += n;
    }

    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    pub fn functions(&self) -> impl Iterator<Item = String> + '_ {
        self.ast
            .iter_functions()
            .filter(|f| !f.name.starts_with("anon$"))
            .map(|f| format!("fn {}({})", f.name, f.params.join(", ")))
    }

    /// Whether `name` is a variable or function of this session.
    pub fn defines(&self, name: &str) -> bool {
        self.scope.contains(name) || self.ast.iter_functions().any(|f| f.name == name)
    }

    /// Variables in scope, in the order they were made (a shadowed name once: the latest).
    pub fn variables(&self) -> Vec<(&str, &Dynamic)> {
        let mut seen = std::collections::HashSet::new();
        let mut all: Vec<(&str, &Dynamic)> = self
            .scope
            .iter_raw()
            .filter(|(name, _, _)| !name.starts_with("__udpsh"))
            .filter(|(name, _, _)| seen.insert(*name))
            .map(|(name, _, value)| (name, value))
            .collect();
        all.reverse();
        all
    }

    /// The value of variable `name`.
    pub fn variable(&self, name: &str) -> Option<&Dynamic> {
        (!name.starts_with("__udpsh")).then(|| self.scope.get(name))?
    }

    /// The socket held by variable `name`.
    pub fn socket(&self, name: &str) -> Option<Sock> {
        self.scope.get(name)?.read_lock::<Sock>().map(|s| s.clone())
    }

    /// A meta-command that does what an input could (`:watch s` is `s.watch();`): it takes
    /// the next input number, so what it starts is recorded as `<repl>#N`, and `:save` writes
    /// it as `source` with `typed` as a comment. Returns the context to start it with.
    pub fn command(&mut self, typed: &str, source: &str) -> Arc<ScriptCtx> {
        let index = self.inputs.len();
        self.inputs.push(Input {
            source: format!("{source} // {typed}"),
            number: index + 1,
            first_line: self.lines + 1,
            outcome: Outcome::Ran { shown: false },
        });
        if !self.numbered() {
            return self.ctx.clone();
        }
        let ctx = ScriptCtx::new(
            self.run.clone(),
            self.input_name(index),
            Path::new("."),
            self.vars.clone(),
        );
        ctx.set_ast(self.ctx.ast());
        ctx
    }

    /// Compiles and runs one input; returns what to print, or the failure.
    pub fn eval(&mut self, source: &str) -> Result<Option<String>, Failure> {
        let index = self.inputs.len();
        self.inputs.push(Input {
            source: source.to_string(),
            number: index + 1,
            first_line: self.lines + 1,
            outcome: Outcome::Failed {
                message: String::new(),
                compiled: false,
                ran: 0,
            },
        });
        self.lines += source.lines().count().max(1);
        if self.numbered() {
            self.ctx = ScriptCtx::new(
                self.run.clone(),
                format!("<repl>#{}", index + 1),
                Path::new("."),
                self.vars.clone(),
            );
            self.engine = self.new_engine();
        }
        if let Some(d) = self.hopeless_receive(source) {
            return Err(self.fail(index, d, exit::ERROR, false));
        }
        let text = self.compiled_text(index);
        let rewrite = catch::rewrite(&self.engine, &text);
        let to_run = rewrite.as_ref().map_or(text.as_str(), |r| r.text.as_str());
        let compiled =
            match api::prepared(to_run, |s| self.engine.compile_with_scope(&self.scope, s)) {
                Ok(ast) => ast,
                Err(e) => {
                    let mut d = api::diagnose::from_parse(&e, &self.ctx.name);
                    api::diagnose::explain_incomplete(&mut d, &e, &self.engine, &text);
                    if let Some(r) = &rewrite {
                        d.col = r.unshift(d.line, d.col);
                    }
                    python_note(&mut d, source);
                    return Err(self.fail(index, d, exit::USAGE, false));
                }
            };
        if let Ok(mut orders) = self.orders.write() {
            orders.learn_from(&self.engine, source);
        }
        for f in compiled.iter_functions() {
            self.defined_in.insert(f.name.to_string(), index);
        }
        let imports = imports_of(&compiled);
        self.ast += compiled;
        self.share_ast(&imports);
        if rewrite.is_some() {
            let _ = self.scope.set_value(CAUGHT, NotCaught);
        }
        let before = self.run.last_packet();
        let result =
            self.guarded(|engine, scope, ast| engine.eval_ast_with_scope::<Dynamic>(scope, ast));
        self.ast.clear_statements();
        self.keep_imports(imports);
        let result = match rewrite {
            Some(_) => result.map(|value| self.caught().unwrap_or(value)),
            None => result,
        };
        self.refresh_names();
        match result {
            Ok(value) => {
                // As in IPython, a closing `;` hides the result: `s.sendto(..);` is quiet.
                let quiet = source.trim_end().ends_with(';');
                let shown = if quiet { None } else { self.show(&value) };
                if shown.is_some() && self.scope.is_constant("it") != Some(true) {
                    self.scope.set_value("it", value);
                }
                self.inputs[index].outcome = Outcome::Ran {
                    shown: shown.is_some(),
                };
                self.refresh_names();
                Ok(shown)
            }
            Err((e, timed_out)) => {
                let failure = self.runtime_failure(&e, index, timed_out, rewrite.as_ref());
                // Only a datagram this input sent or received carries its failure.
                if self.run.last_packet() != before {
                    self.annotate_capture(&failure.message);
                }
                Err(failure)
            }
        }
    }

    /// A receive on a socket that has no address can never get a datagram: say so rather
    /// than wait forever (nothing of the input runs).
    fn hopeless_receive(&self, source: &str) -> Option<Diagnostic> {
        let unbound = |name: &str| {
            self.socket(name)
                .is_some_and(|s| s.local_addr().is_none() && !s.net().is_closed())
        };
        let (name, line, col) =
            super::unbound::first_hopeless_receive(&self.engine, source, unbound)?;
        let at = self.inputs.last().map_or(1, |i| i.first_line);
        let line = if self.numbered() { line } else { line + at - 1 };
        Some(Diagnostic {
            kind: ErrorKind::Network,
            stop: None,
            message: format!(
                "{name} is not bound and has sent nothing, so it will never get a datagram"
            ),
            file: self.ctx.name.clone(),
            line,
            col,
            detail: None,
            notes: vec![format!(
                "bind it first ({name}.bind(\"127.0.0.1:0\"), then {name}.local_addr is its address), \
                 or send from it first (the OS then gives it a port)"
            )],
        })
    }

    /// The value of a final try/catch's block that ran to its end (see `catch`).
    fn caught(&mut self) -> Option<Dynamic> {
        let value = self.scope.get(CAUGHT)?.clone();
        let _ = self.scope.set_value(CAUGHT, ());
        (!value.is::<NotCaught>()).then_some(value)
    }

    /// The input as compiled: piped, at its own lines of the whole input.
    fn compiled_text(&self, index: usize) -> String {
        let input = &self.inputs[index];
        if self.numbered() {
            input.source.clone()
        } else {
            format!("{}{}", "\n".repeat(input.first_line - 1), input.source)
        }
    }

    /// A value on one line, as `:vars` shows it.
    pub fn show_short(&self, value: &Dynamic) -> String {
        let orders = self.orders.read().unwrap_or_else(|p| p.into_inner());
        show::debug(value, &orders)
    }

    /// What the REPL prints for a value, map keys in the order they were written.
    pub fn show(&self, value: &Dynamic) -> Option<String> {
        let orders = self.orders.read().unwrap_or_else(|p| p.into_inner());
        show::result(value, &orders)
    }

    /// Spawned closures and watch formatters see the session's functions and imports.
    fn share_ast(&self, new_imports: &[(String, String, Stmt)]) {
        let mut statements: Vec<Stmt> = self.imports.iter().map(|(_, _, s)| s.clone()).collect();
        statements.extend(new_imports.iter().map(|(_, _, s)| s.clone()));
        let mut shared = AST::new(statements, self.ast.shared_lib().clone());
        shared.set_source(self.ctx.name.as_str());
        self.ctx.set_ast(Arc::new(shared));
    }

    /// After an input: its imports become static modules of later inputs' engines.
    fn keep_imports(&mut self, imports: Vec<(String, String, Stmt)>) {
        for (alias, path, stmt) in imports {
            let Ok(module) = self
                .resolver
                .resolve(&self.engine, None, &path, Position::NONE)
            else {
                continue;
            };
            self.engine
                .register_static_module(alias.as_str(), module.clone());
            let mut modules = self.modules.write().unwrap_or_else(|p| p.into_inner());
            modules.retain(|(a, _)| a != &alias);
            modules.push((alias.clone(), module));
            drop(modules);
            self.imports.retain(|(a, _, _)| a != &alias);
            self.imports.push((alias, path, stmt));
        }
    }

    /// As in `udpsh run`: the latest datagram recorded carries the failure in a pcapng
    /// capture (once: a later failure does not pile onto the same datagram).
    fn annotate_capture(&mut self, message: &str) {
        if let (Some(recorder), Some(id)) = (self.run.recorder(), self.run.last_packet())
            && self.annotated != Some(id)
        {
            let _ = recorder.annotate(id, &format!("udpsh: {}: {message}", self.ctx.name));
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
            crate::threads::start("udpsh-input-timer", None, move || {
                if let Err(RecvTimeoutError::Timeout) = limit_rx.recv_timeout(limit) {
                    fired.store(true, Ordering::SeqCst);
                    stop::interrupt();
                }
            })
        });
        let timer = match timer.transpose() {
            Ok(timer) => timer,
            // No thread to hold --timeout: the input does not run unbounded.
            Err(e) => {
                super::interrupt::EVALUATING.store(false, Ordering::SeqCst);
                return Err((crate::api::error::no_thread(e), false));
            }
        };
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

    fn runtime_failure(
        &mut self,
        err: &EvalAltResult,
        index: usize,
        timed_out: bool,
        rewrite: Option<&catch::Rewrite>,
    ) -> Failure {
        let mut d = api::diagnose::from_eval(err, &self.ctx.name);
        // An error inside a function shows that function's source, from its own input.
        let source = innermost_function(err)
            .filter(|_| !innermost(err).position().is_none())
            .and_then(|name| self.defined_in.get(name).copied())
            .unwrap_or(index);
        if source == index
            && let Some(r) = rewrite
        {
            d.col = r.unshift(d.line, d.col);
        }
        if self.numbered() {
            d.file = self.input_name(source);
            self.rename_notes(&mut d, err, index);
        }
        let in_fn = innermost_function(err).is_some_and(|f| !f.starts_with("anon$"));
        if in_fn && matches!(innermost(err), EvalAltResult::ErrorVariableNotFound(..)) {
            d.notes.push(
                "a fn does not see the session's variables: pass them as parameters, \
                 or use a closure (let f = |x| ...; f.call(x))"
                    .into(),
            );
        }
        if let EvalAltResult::ErrorVariableNotFound(name, _) = innermost(err)
            && name.chars().count() >= 3
            && let Some(meant) = api::forms::nearest(
                name,
                self.variables()
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>(),
            )
        {
            d.notes.push(format!("did you mean {meant}?"));
        }
        python_note(&mut d, &self.inputs[index].source);
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
        let ran = self.ran_before(err, index, rewrite);
        let failure = self.fail_from(index, source, d, code, true);
        if let Outcome::Failed { ran: r, .. } = &mut self.inputs[index].outcome {
            *r = ran;
        }
        failure
    }

    /// How much of input `index` ran before the top-level statement that `err` stopped in:
    /// the byte offset where that statement starts (0 when it is the first, or when the
    /// position is unknown). What ran is what `:save` keeps of a failed input.
    fn ran_before(
        &self,
        err: &EvalAltResult,
        index: usize,
        rewrite: Option<&catch::Rewrite>,
    ) -> usize {
        // The outermost call is in this input, wherever the function it called was defined.
        let pos = match err {
            EvalAltResult::ErrorInFunctionCall(_, _, _, pos) => *pos,
            other => other.position(),
        };
        let (Some(line), Some(col)) = (pos.line(), pos.position()) else {
            return 0;
        };
        let col = rewrite.map_or(col, |r| r.unshift(line, col));
        // Piped input is compiled at its own lines of the whole input.
        let line = if self.numbered() {
            line
        } else {
            line.saturating_sub(self.inputs[index].first_line - 1)
        };
        let source = &self.inputs[index].source;
        let toks = super::lex::tokens(&self.engine, source);
        let Some(&failed) = super::lex::statement_starts(&toks)
            .iter()
            .rev()
            .find(|&&i| (toks[i].line, toks[i].col) <= (line, col))
        else {
            return 0;
        };
        let compiles =
            |upto: usize| api::prepared(&source[..upto], |s| self.engine.compile(s)).is_ok();
        // `s.recvfrom(1024).txt`: the receive ran (it took a datagram) before `.txt` failed,
        // so what is left of the chain before that name is kept too.
        let name_not_found = matches!(
            err,
            EvalAltResult::ErrorFunctionNotFound(..)
                | EvalAltResult::ErrorPropertyNotFound(..)
                | EvalAltResult::ErrorDotExpr(..)
        );
        if name_not_found
            && let Some(at) = toks.iter().position(|t| (t.line, t.col) == (line, col))
            && at > failed + 1
            && toks[at - 1].is(&rhai::Token::Period)
            && toks[failed..at]
                .iter()
                .any(|t| t.is(&rhai::Token::LeftParen))
            && compiles(toks[at - 1].start)
        {
            return toks[at - 1].start;
        }
        let ran = toks[failed].start;
        // Only a prefix that stands on its own as a script (it always should).
        if compiles(ran) { ran } else { 0 }
    }

    /// `<repl>#3`.
    fn input_name(&self, index: usize) -> String {
        format!("{}#{}", self.file, index + 1)
    }

    /// Each "in call to function" note names the input its call is in: the caller's own.
    fn rename_notes(&self, d: &mut Diagnostic, err: &EvalAltResult, index: usize) {
        let mut notes = d.notes.iter_mut();
        let mut caller = index;
        let mut frame = err;
        let current = format!(" at {}:", self.ctx.name);
        while let EvalAltResult::ErrorInFunctionCall(name, _, next, _) = frame {
            // Diagnostic::from_eval writes no note for closures.
            if !name.starts_with("anon$")
                && let Some(note) = notes.next()
            {
                *note = note.replace(&current, &format!(" at {}:", self.input_name(caller)));
            }
            caller = self
                .defined_in
                .get(name.as_str())
                .copied()
                .unwrap_or(caller);
            frame = next;
        }
    }

    fn fail(&mut self, index: usize, d: Diagnostic, code: i32, compiled: bool) -> Failure {
        self.fail_from(index, index, d, code, compiled)
    }

    /// Marks input `index` failed; `source` is the input whose text the error points into.
    fn fail_from(
        &mut self,
        index: usize,
        source: usize,
        d: Diagnostic,
        code: i32,
        compiled: bool,
    ) -> Failure {
        let text = self.compiled_text(source);
        let plain = d.render(&text, false);
        // Error messages can quote network data: never colour what needed escaping.
        let rendered = match display::terminal_safe(&plain) {
            std::borrow::Cow::Borrowed(_) if self.color => d.render(&text, true),
            safe => safe.into_owned(),
        };
        self.inputs[index].outcome = Outcome::Failed {
            message: d.message.clone(),
            compiled,
            ran: 0,
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
            .map(|(name, v)| (name.to_string(), VarKind::of(v)))
            .collect();
        let mut functions: Vec<String> = self
            .ast
            .iter_functions()
            .filter(|f| !f.name.starts_with("anon$"))
            .map(|f| f.name.to_string())
            .collect();
        functions.dedup();
        let modules = self
            .imports
            .iter()
            .map(|(alias, path, _)| {
                let name = path.strip_prefix("udpsh/").unwrap_or(path);
                (alias.clone(), name.to_string())
            })
            .collect();
        *self.names.write().unwrap_or_else(|p| p.into_inner()) = Names {
            vars,
            functions,
            modules,
        };
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
        self.run.set_recorder(recorder)
    }

    /// At the end: stop spawned threads and watches.
    pub fn finish(&self) {
        self.watches.unwatch_all();
        self.run.stop.finish();
        // Children started here (and threads) end with the session.
        let _ = self.run.background.stop_all(crate::process::GRACE);
    }
}

/// A hint when the input looks like Python.
fn python_note(d: &mut Diagnostic, source: &str) {
    for hint in super::python::after_failure(source) {
        if !d.notes.contains(&hint) {
            d.notes.push(hint);
        }
    }
}

/// `import "path" as alias;` at the top level of an input.
fn imports_of(ast: &AST) -> Vec<(String, String, Stmt)> {
    ast.statements()
        .iter()
        .filter_map(|stmt| {
            let Stmt::Import(x, _) = stmt else {
                return None;
            };
            let path = x.0.get_literal_value(None)?.into_immutable_string().ok()?;
            let alias = x.1.name.to_string();
            (!alias.is_empty()).then(|| (alias, path.to_string(), stmt.clone()))
        })
        .collect()
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

/// The session's module resolver. A script module is loaded once, then kept (an import typed
/// again, a spawned closure's import, the static module of later inputs: the same module). A
/// built-in one is made for the input that uses it, so what its functions send is recorded
/// in that input's name.
pub struct CachedResolver {
    ctx: RwLock<Arc<ScriptCtx>>,
    cache: Mutex<HashMap<String, Shared<Module>>>,
}

impl CachedResolver {
    fn new(ctx: &Arc<ScriptCtx>) -> CachedResolver {
        CachedResolver {
            ctx: RwLock::new(ctx.clone()),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The input being run from now on.
    fn set_ctx(&self, ctx: &Arc<ScriptCtx>) {
        *self.ctx.write().unwrap_or_else(|p| p.into_inner()) = ctx.clone();
    }

    fn inner(&self) -> api::modules::Resolver {
        api::modules::Resolver::new(&self.ctx.read().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ModuleResolver for CachedResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        if path.starts_with("udpsh/") {
            return self.inner().resolve(engine, source, path, pos);
        }
        if let Some(m) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Ok(m.clone());
        }
        let module = self.inner().resolve(engine, source, path, pos)?;
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_string(), module.clone());
        Ok(module)
    }
}

struct SharedResolver(Arc<CachedResolver>);

impl ModuleResolver for SharedResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        self.0.resolve(engine, source, path, pos)
    }
}

/// `s.watch(...)` and `s.unwatch()`: at the REPL they print (see `watch`); these replace the
/// do-nothing ones of `udpsh run`.
fn register_watch(
    engine: &mut Engine,
    ctx: &Arc<ScriptCtx>,
    watches: &Arc<Watches>,
    printer: &Arc<Printer>,
) {
    let start = {
        let (c, w, p) = (ctx.clone(), watches.clone(), printer.clone());
        move |s: &Sock, mut how: watch::How| -> Result<(), Box<EvalAltResult>> {
            how.lib = Some(c.ast().shared_lib().clone());
            let shown = how.describe();
            if w.watch(&c, s, how).map_err(crate::api::error::no_thread)? {
                p.line(&format!(
                    "watching {}{shown} (.unwatch() stops){}",
                    show::socket(s),
                    watch::unbound_note(s)
                ));
            } else {
                p.line(&format!("now watching {}{shown}", show::socket(s)));
            }
            Ok(())
        }
    };
    let at = |call: &NativeCallContext, mut how: watch::How| {
        how.line = call.call_position().line().unwrap_or(0);
        how
    };
    let plain = start.clone();
    engine.register_fn("watch", move |call: NativeCallContext, s: &mut Sock| {
        plain(s, at(&call, watch::How::default()))
    });
    let with_format = start.clone();
    engine.register_fn(
        "watch",
        move |call: NativeCallContext, s: &mut Sock, f: rhai::FnPtr| {
            with_format(s, at(&call, watch::How::formatted(f)))
        },
    );
    engine.register_fn(
        "watch",
        move |call: NativeCallContext,
              s: &mut Sock,
              opts: rhai::Map|
              -> Result<(), Box<EvalAltResult>> {
            start(s, at(&call, watch::How::from_map(&opts)?))
        },
    );
    let (w, p) = (watches.clone(), printer.clone());
    engine.register_fn("unwatch", move |s: &mut Sock| {
        if let Some(hidden) = w.unwatch(s) {
            p.line(&format!(
                "stopped watching {}{}",
                show::socket(s),
                watch::hidden_note(hidden)
            ));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(file: &'static str) -> Session {
        let opts = Options {
            vars: BTreeMap::new(),
            limits: Limits::default(),
            recorder: None,
            timeout: None,
            verbose: false,
            color: false,
            file,
        };
        Session::new(opts, &Printer::start())
    }

    #[test]
    fn it_is_the_last_result_shown() {
        let mut s = session("<repl>");
        assert_eq!(s.eval("40 + 2").ok().flatten().as_deref(), Some("42"));
        assert_eq!(s.eval("it + 1").ok().flatten().as_deref(), Some("43"));
        assert_eq!(s.eval("let x = 5;").ok().flatten(), None);
        assert_eq!(s.eval("it").ok().flatten().as_deref(), Some("43"));
    }

    #[test]
    fn a_catch_block_shows_its_value() {
        let mut s = session("<repl>");
        let shown = s.eval("try { throw #{kind: \"timeout\"} } catch (e) { e.kind }");
        assert_eq!(shown.ok().flatten().as_deref(), Some("\"timeout\""));
        let shown = s.eval("try { 7 } catch (e) { e.kind }");
        assert_eq!(shown.ok().flatten().as_deref(), Some("7"));
        // A column after the rewrite is the column typed.
        let failure = s
            .eval("try { throw 1 } catch (e) { e.nosuch() }")
            .err()
            .unwrap();
        assert!(
            failure.rendered.contains("<repl>#3:1:31"),
            "{}",
            failure.rendered
        );
    }

    #[test]
    fn errors_name_the_numbered_input() {
        let mut s = session("<repl>");
        s.eval("fn bad(x) {\n  x + nothing\n}").ok();
        s.eval("1").ok();
        let failure = s.eval("bad(1)").err().unwrap();
        assert!(
            failure.rendered.contains("--> <repl>#1:2:7"),
            "{}",
            failure.rendered
        );
        assert!(
            failure
                .rendered
                .contains("in call to function 'bad' at <repl>#3:1:1"),
            "{}",
            failure.rendered
        );
    }

    #[test]
    fn imports_stay_for_later_inputs() {
        let mut s = session("<repl>");
        s.eval("import \"udpsh/dns\" as dns;").ok();
        let shown = s.eval("dns::query(\"a.test\", \"A\").len()").ok().flatten();
        assert_eq!(shown.as_deref(), Some("24"));
        assert_eq!(
            s.names.read().unwrap().modules,
            [("dns".into(), "dns".into())]
        );
    }

    #[test]
    fn maps_print_in_the_order_written() {
        let mut s = session("<repl>");
        let shown = s.eval("#{zeta: 1, alpha: 2, mid: 3}").ok().flatten();
        assert_eq!(
            shown.as_deref(),
            Some("#{\"zeta\": 1, \"alpha\": 2, \"mid\": 3}")
        );
    }
}
