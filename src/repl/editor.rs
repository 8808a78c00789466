//! The rustyline helper: Tab completion (API functions, variables, the methods of the value's
//! own type after `.`, module functions after `dns::`, file names inside `read_file("`,
//! meta-commands), hints (the parameters of the call being typed, else history), syntax
//! highlighting, and auto-indent inside `{`.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, RwLock};

use rhai::Engine;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::history::SearchDirection;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::highlight;
use super::input;
use super::session::{Names, VarKind};
use crate::api::docs::{self, Kind};
use crate::api::{explain, forms};

/// Rhai's keywords and the built-ins people reach for.
const KEYWORDS: &[&str] = &[
    "let",
    "const",
    "fn",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "do",
    "until",
    "break",
    "continue",
    "return",
    "throw",
    "try",
    "catch",
    "switch",
    "true",
    "false",
    "import",
    "print",
    "debug",
    "type_of",
    "is_def_var",
    "is_def_fn",
    "Fn",
    "call",
    "len",
];

/// Functions whose first argument is a file name: Tab inside `read_file("` completes paths.
const FILE_FUNCTIONS: &[&str] = &["read_file", "write_file", "read_pcap", "replay", "spawn"];

/// One indentation step inside `{`.
pub const INDENT: &str = "    ";

pub struct ReplHelper {
    /// Compiles only, to tell finished input from unfinished.
    compiler: Engine,
    names: Arc<RwLock<Names>>,
    color: bool,
}

impl ReplHelper {
    pub fn new(names: Arc<RwLock<Names>>, color: bool) -> ReplHelper {
        ReplHelper {
            compiler: crate::api::compiler(),
            names,
            color,
        }
    }

    fn names(&self) -> std::sync::RwLockReadGuard<'_, Names> {
        self.names.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Candidates for the word `word` that starts at `start` in `line`.
    fn candidates(&self, line: &str, start: usize, word: &str) -> Vec<Pair> {
        let before = &line[..start];
        if let Some(module) = before.strip_suffix("::") {
            return self.module_candidates(word_before(module), word);
        }
        if let Some(receiver) = before.strip_suffix('.') {
            // `1.` is a number being typed, not a receiver.
            if receiver.ends_with(|c: char| c.is_ascii_digit())
                && word_before(receiver).chars().all(|c| c.is_ascii_digit())
            {
                return Vec::new();
            }
            let kind = self.kind_of(receiver);
            return members(kind.as_ref())
                .into_iter()
                .filter(|(name, _)| name.starts_with(word))
                .map(|(name, call)| call_pair(&name, call))
                .collect();
        }
        let names = self.names();
        let mut all: Vec<Pair> = docs::ENTRIES
            .iter()
            .filter(|e| e.kind == Kind::Function)
            .map(|e| call_pair(e.name, true))
            .chain(names.functions.iter().map(|f| call_pair(f, true)))
            .chain(names.vars.iter().map(|(v, _)| call_pair(v, false)))
            .chain(names.modules.iter().map(|(alias, _)| Pair {
                display: format!("{alias}::"),
                replacement: format!("{alias}::"),
            }))
            .chain(KEYWORDS.iter().map(|k| call_pair(k, false)))
            .filter(|p| p.display.starts_with(word))
            .collect();
        all.sort_by(|a, b| a.display.cmp(&b.display));
        all.dedup_by(|a, b| a.display == b.display);
        all
    }

    /// `dns::` → the functions of the module imported as `dns`.
    fn module_candidates(&self, alias: &str, word: &str) -> Vec<Pair> {
        let names = self.names();
        let module = names
            .modules
            .iter()
            .find(|(a, _)| a == alias)
            .map_or(alias, |(_, m)| m.as_str());
        docs::ENTRIES
            .iter()
            .filter(|e| e.kind == Kind::Module(module_name(module)) && e.name.starts_with(word))
            .map(|e| call_pair(e.name, true))
            .collect()
    }

    /// What the expression before a `.` is: a variable's kind, a string literal, the result
    /// of a call or a field (by the API table's return types), or `None` when unknown.
    fn kind_of(&self, receiver: &str) -> Option<VarKind> {
        let receiver = receiver.trim_end();
        if receiver.ends_with('"') || receiver.ends_with('`') {
            return Some(VarKind::Text);
        }
        if receiver.ends_with(']') {
            let open = matching(receiver, '[', ']')?;
            let inner = &receiver[open + 1..receiver.len() - 1];
            let base = self.kind_of(&receiver[..open]);
            return match base {
                // A range of a blob is a blob; one element is a byte.
                Some(VarKind::Blob) if inner.contains("..") => Some(VarKind::Blob),
                Some(VarKind::Blob) => Some(VarKind::Other("integer".into())),
                Some(VarKind::Text) if inner.contains("..") => Some(VarKind::Text),
                Some(VarKind::Datagram) if inner.trim() == "0" => Some(VarKind::Blob),
                Some(VarKind::Datagram) if inner.trim() == "1" => Some(VarKind::Text),
                _ => None,
            };
        }
        if let Some(call) = receiver.strip_suffix(')') {
            let open = matching(receiver, '(', ')')?;
            let name = word_before(&call[..open]);
            let head = &call[..open - name.len()];
            let owner = head.strip_suffix('.').map(|r| self.kind_of(r));
            return returned(name, owner);
        }
        let name = word_before(receiver);
        if name.is_empty() {
            return None;
        }
        let head = &receiver[..receiver.len() - name.len()];
        if let Some(owner) = head.strip_suffix('.') {
            let owner = self.kind_of(owner);
            if let Some(VarKind::Map(keys)) = &owner
                && keys.iter().any(|k| k == name)
            {
                return None;
            }
            return field_type(name, owner.as_ref());
        }
        self.names()
            .vars
            .iter()
            .rev()
            .find(|(v, _)| v == name)
            .map(|(_, k)| k.clone())
    }

    fn meta_candidates(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let text = &line[..pos];
        match text.split_once(' ') {
            None => (
                0,
                super::commands::COMMANDS
                    .iter()
                    .filter(|c| c.starts_with(text))
                    .map(|c| call_pair(c, false))
                    .collect(),
            ),
            Some((cmd, arg)) => {
                let start = pos - arg.len();
                let wanted: Vec<String> = match cmd {
                    ":help" => docs::ENTRIES
                        .iter()
                        .map(|e| e.name.to_string())
                        .chain(docs::TOPICS.iter().map(|t| t.name.to_string()))
                        .collect(),
                    ":watch" | ":unwatch" => {
                        if let Some((_, mode)) = arg.split_once(' ') {
                            let start = pos - mode.len();
                            return (start, words(&["compact".to_string()], mode));
                        }
                        self.names()
                            .vars
                            .iter()
                            .filter(|(_, k)| *k == VarKind::Socket)
                            .map(|(v, _)| v.clone())
                            .collect()
                    }
                    ":pcap" | ":save" => {
                        let (at, found) = paths(arg);
                        return (start + at, found);
                    }
                    _ => Vec::new(),
                };
                let mut found = words(&wanted, arg);
                found.dedup_by(|a, b| a.display == b.display);
                (start, found)
            }
        }
    }

    /// Inside `read_file("...`: the start of the partial path and its completions.
    fn file_candidates(&self, line: &str, pos: usize) -> Option<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let quote = before.rfind('"')?;
        let partial = &before[quote + 1..];
        let call = before[..quote].trim_end().strip_suffix('(')?;
        if !FILE_FUNCTIONS.contains(&word_before(call)) || partial.contains('\\') {
            return None;
        }
        // An odd number of quotes before: the string is open at the cursor.
        if before.matches('"').count().is_multiple_of(2) {
            return None;
        }
        let (at, found) = paths(partial);
        Some((quote + 1 + at, found))
    }
}

/// The module name the API table uses (`dns`), as a `'static` for `Kind::Module`.
fn module_name(module: &str) -> &'static str {
    docs::ENTRIES
        .iter()
        .find_map(|e| match e.kind {
            Kind::Module(m) if m == module => Some(m),
            _ => None,
        })
        .unwrap_or("")
}

/// Rhai's own functions that take a value first but are not its methods.
const PLAIN_FUNCTIONS: &[&str] = &[
    "print",
    "debug",
    "max",
    "min",
    "type_of",
    "get_fn_metadata_list",
    "is_def_fn",
    "is_def_var",
    "eval",
];

/// Names a value of `kind` has after `.`: (name, is a call). Unknown: every method.
fn members(kind: Option<&VarKind>) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    let mut add = |name: &str, call: bool| {
        if !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), call));
        }
    };
    let Some(kind) = kind else {
        for e in docs::ENTRIES
            .iter()
            .filter(|e| matches!(e.kind, Kind::Method(_) | Kind::Property(_)))
        {
            add(e.name, e.is_call());
        }
        return out;
    };
    if let VarKind::Map(keys) = kind {
        for k in keys {
            add(k, false);
        }
    }
    if let Some(on) = explain::on_of(kind.word()) {
        for e in docs::ENTRIES
            .iter()
            .filter(|e| e.kind == Kind::Method(on) || e.kind == Kind::Property(on))
        {
            add(e.name, e.is_call());
        }
    }
    for (name, property) in forms::members(kind.word()) {
        // Rhai lets any function be called as a method of its first argument: a plain
        // function (`udp`, `print`, `max`) is no member of a string all the same.
        let plain_function = {
            let documented = docs::lookup(name);
            (!documented.is_empty() && documented.iter().all(|e| e.kind == Kind::Function))
                || PLAIN_FUNCTIONS.contains(&name)
        };
        if !matches!(name, "to_string" | "to_debug") && !plain_function {
            add(name, !property);
        }
    }
    out.sort();
    out
}

/// What `name(...)` returns: from the API table (its signature's `→ type`), else the engine.
fn returned(name: &str, owner: Option<Option<VarKind>>) -> Option<VarKind> {
    let on = owner
        .as_ref()
        .and_then(|o| o.as_ref())
        .and_then(|k| explain::on_of(k.word()));
    let entry = docs::lookup(name)
        .into_iter()
        .find(|e| match (e.kind, owner.is_some()) {
            (Kind::Function, false) => true,
            (Kind::Method(o), true) => on.is_none_or(|on| on == o),
            _ => false,
        });
    if let Some(e) = entry {
        return return_word(e.signature).map(|w| VarKind::from_word(&w));
    }
    let receiver = owner.and_then(|o| o).map(|k| k.word().to_string());
    forms::named(name)
        .into_iter()
        .find(|f| {
            !f.property
                && receiver
                    .as_ref()
                    .is_none_or(|r| f.params.first() == Some(r))
        })
        .filter(|f| !f.ret.is_empty() && f.ret != "value")
        .map(|f| VarKind::from_word(&f.ret))
}

/// The type of field `name` of a value of kind `owner`.
fn field_type(name: &str, owner: Option<&VarKind>) -> Option<VarKind> {
    let on = owner.and_then(|k| explain::on_of(k.word()));
    let entry = docs::lookup(name)
        .into_iter()
        .find(|e| matches!(e.kind, Kind::Property(o) if on.is_none_or(|on| on == o)))?;
    return_word(entry.signature).map(|w| VarKind::from_word(&w))
}

/// `d.data → blob   (also d[0])` → `blob`; `int` → `integer`.
fn return_word(signature: &str) -> Option<String> {
    let (_, ret) = signature.rsplit_once(" → ")?;
    let word: String = ret
        .trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    Some(match word.as_str() {
        "int" => "integer".into(),
        "" if ret.trim_start().starts_with("#{") => "map".into(),
        "" => return None,
        _ => word,
    })
}

fn words(all: &[String], prefix: &str) -> Vec<Pair> {
    all.iter()
        .filter(|w| w.starts_with(prefix))
        .map(|w| call_pair(w, false))
        .collect()
}

/// Files and folders that complete `partial` (relative to the current folder): the offset
/// in `partial` where the completed part starts, and the names (folders end in `/`).
fn paths(partial: &str) -> (usize, Vec<Pair>) {
    let (dir, prefix) = match partial.rfind('/') {
        Some(i) => (&partial[..=i], &partial[i + 1..]),
        None => ("", partial),
    };
    let folder = if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    };
    let mut found: Vec<Pair> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with(prefix)
                || name.contains(['"', '\\'])
                || (name.starts_with('.') && !prefix.starts_with('.'))
            {
                return None;
            }
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let shown = if is_dir { format!("{name}/") } else { name };
            Some(Pair {
                display: shown.clone(),
                replacement: shown,
            })
        })
        .collect();
    found.sort_by(|a, b| a.display.cmp(&b.display));
    (dir.len(), found)
}

fn call_pair(name: &str, call: bool) -> Pair {
    Pair {
        display: name.to_string(),
        replacement: if call {
            format!("{name}(")
        } else {
            name.to_string()
        },
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier that ends `text`.
fn word_before(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident(*c))
        .last()
        .map_or(text.len(), |(i, _)| i);
    &text[start..]
}

/// Index of the `open` that the `close` ending `text` closes.
fn matching(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices().rev() {
        if c == close {
            depth += 1;
        } else if c == open {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line.trim_start().starts_with(':') && !line[..pos].contains('\n') {
            return Ok(self.meta_candidates(line, pos));
        }
        if let Some(found) = self.file_candidates(line, pos) {
            return Ok(found);
        }
        let word = word_before(&line[..pos]);
        let start = pos - word.len();
        // Tab in the indentation of a line is not a request for every name there is.
        let line_start = line[..start].rfind('\n').map_or(0, |i| i + 1);
        if word.is_empty() && line[line_start..start].trim().is_empty() {
            return Ok((start, Vec::new()));
        }
        Ok((start, self.candidates(line, start, word)))
    }
}

/// A hint: from history (→ accepts it), or the parameters of a call (shown only).
pub struct ReplHint {
    display: String,
    accept: Option<String>,
}

impl Hint for ReplHint {
    fn display(&self) -> &str {
        &self.display
    }

    fn completion(&self) -> Option<&str> {
        self.accept.as_deref()
    }
}

impl ReplHelper {
    /// `bufsize) → datagram` right after `s.recvfrom(`.
    fn signature_hint(&self, line: &str) -> Option<String> {
        let call = line.strip_suffix('(')?;
        let name = word_before(call);
        if name.is_empty() {
            return None;
        }
        let head = &call[..call.len() - name.len()];
        let entry = if let Some(module) = head.strip_suffix("::") {
            let names = self.names();
            let alias = word_before(module);
            let m = names
                .modules
                .iter()
                .find(|(a, _)| a == alias)
                .map_or(alias.to_string(), |(_, m)| m.clone());
            docs::lookup(name)
                .into_iter()
                .find(|e| e.kind == Kind::Module(module_name(&m)))
        } else {
            let method = head.ends_with('.');
            let on = head
                .strip_suffix('.')
                .and_then(|r| self.kind_of(r))
                .and_then(|k| explain::on_of(k.word()));
            let found = docs::lookup(name);
            found
                .iter()
                .find(|e| method && on.is_some_and(|on| e.kind == Kind::Method(on)))
                .or_else(|| {
                    found.iter().find(|e| {
                        e.is_call()
                            && (e.kind == Kind::Function) != method
                            && !matches!(e.kind, Kind::Module(_))
                    })
                })
                .copied()
        }?;
        entry.params()
    }
}

impl Hinter for ReplHelper {
    type Hint = ReplHint;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<ReplHint> {
        if line.is_empty() || pos < line.len() {
            return None;
        }
        // Right after `(` the parameters matter more than what was typed before.
        if let Some(params) = self.signature_hint(line) {
            return Some(ReplHint {
                // Without colour a hint must not look like typed text.
                display: if self.color {
                    params
                } else {
                    format!("  ‹{params}›")
                },
                accept: None,
            });
        }
        if !self.color {
            return None;
        }
        let past = history_hint(line, ctx)?;
        Some(ReplHint {
            display: past.clone(),
            accept: Some(past),
        })
    }
}

/// The rest of the latest history entry that starts with `line`.
fn history_hint(line: &str, ctx: &Context<'_>) -> Option<String> {
    let history = ctx.history();
    let start = history.len().checked_sub(1)?;
    let found = history
        .starts_with(line, start, SearchDirection::Reverse)
        .ok()??;
    let entry = found.entry;
    (entry.len() > line.len() && !entry.contains('\n')).then(|| entry[line.len()..].to_string())
}

impl Highlighter for ReplHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight::line(line))
    }

    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if !self.color {
            return Cow::Borrowed(hint);
        }
        Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Validator for ReplHelper {
    /// One line at a time: the loop asks for the next line at `...>`. A buffer of several
    /// lines (from history, or a bracketed paste) is checked as a whole.
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let text = ctx.input();
        if !text.contains('\n') || input::is_complete(&self.compiler, text) || input::gave_up(text)
        {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Helper for ReplHelper {}

/// The indentation for the next line of an unfinished input: one step per open bracket,
/// none inside a string (its text must not change).
pub fn indent_for(engine: &Engine, input: &str) -> String {
    let (open, in_string) = super::lex::open_at_end(engine, input);
    if in_string {
        String::new()
    } else {
        INDENT.repeat(open.min(8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(vars: &[(&str, VarKind)]) -> ReplHelper {
        let names = Names {
            vars: vars
                .iter()
                .map(|(n, k)| (n.to_string(), k.clone()))
                .collect(),
            functions: vec!["greet".into()],
            modules: vec![("dns".into(), "dns".into())],
        };
        ReplHelper::new(Arc::new(RwLock::new(names)), false)
    }

    fn complete(h: &ReplHelper, line: &str) -> Vec<String> {
        let word = word_before(line);
        let start = line.len() - word.len();
        h.candidates(line, start, word)
            .into_iter()
            .map(|p| p.replacement)
            .collect()
    }

    #[test]
    fn a_string_offers_its_methods_not_every_function_that_takes_one() {
        let names: Vec<String> = members(Some(&VarKind::Text))
            .into_iter()
            .map(|m| m.0)
            .collect();
        for want in ["len", "to_upper", "split"] {
            assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
        }
        for not in ["udp", "spawn", "proxy", "print", "var", "max"] {
            assert!(!names.iter().any(|n| n == not), "{not} offered: {names:?}");
        }
    }

    #[test]
    fn methods_follow_the_receiver_type() {
        let h = helper(&[
            ("s", VarKind::Socket),
            ("d", VarKind::Datagram),
            ("b", VarKind::Blob),
            ("m", VarKind::Map(vec!["rcode".into(), "answers".into()])),
        ]);
        assert_eq!(complete(&h, "s.recvf"), ["recvfrom("]);
        assert_eq!(complete(&h, "let x = s.local"), ["local_addr"]);
        assert_eq!(complete(&h, "d.te"), ["text"]);
        assert_eq!(complete(&h, "d.po"), ["port"]);
        assert!(complete(&h, "d.re").is_empty());
        assert!(complete(&h, "s.recvfrom(10).tr").contains(&"truncated".to_string()));
        assert_eq!(complete(&h, "udp(0).setb"), ["setbroadcast("]);
        assert!(complete(&h, "b.pa").contains(&"parse_be_int(".to_string()));
        assert!(!complete(&h, "b.").contains(&"recvfrom(".to_string()));
        assert!(complete(&h, "\"x\".to_up").contains(&"to_upper(".to_string()));
        assert!(complete(&h, "d.data.sl").contains(&"slice(".to_string()));
        assert!(complete(&h, "hex(\"01\").pu").contains(&"push(".to_string()));
        assert_eq!(complete(&h, "m.rc"), ["rcode"]);
        assert_eq!(complete(&h, "dns::as"), ["ask("]);
        assert!(complete(&h, "1.").is_empty());
    }

    #[test]
    fn words_complete_functions_variables_keywords() {
        let h = helper(&[("server", VarKind::Socket)]);
        assert!(complete(&h, "se").contains(&"server".to_string()));
        assert_eq!(complete(&h, "let x = ud"), ["udp("]);
        assert_eq!(complete(&h, "gr"), ["greet("]);
        assert_eq!(complete(&h, "whi"), ["while"]);
    }

    #[test]
    fn meta_commands_complete() {
        let h = helper(&[
            ("s", VarKind::Socket),
            ("n", VarKind::Other("integer".into())),
        ]);
        let (start, found) = h.meta_candidates(":he", 3);
        assert_eq!((start, found[0].replacement.as_str()), (0, ":help"));
        let (start, found) = h.meta_candidates(":help recv", 10);
        let names: Vec<_> = found.iter().map(|p| p.replacement.as_str()).collect();
        assert_eq!(start, 6);
        assert!(names.starts_with(&["recvfrom", "recv"]), "{names:?}");
        let (_, found) = h.meta_candidates(":watch ", 7);
        assert_eq!(found.len(), 1);
        let (_, found) = h.meta_candidates(":help er", 8);
        assert_eq!(found[0].replacement, "errors");
    }

    #[test]
    fn file_names_complete_inside_read_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("golden.pcapng"), b"").unwrap();
        std::fs::create_dir(dir.path().join("fixtures")).unwrap();
        let h = helper(&[]);
        let base = dir.path().display().to_string();
        let line = format!("let p = read_pcap(\"{base}/go");
        let (start, found) = h.file_candidates(&line, line.len()).unwrap();
        assert_eq!(start, line.len() - 2);
        assert_eq!(found[0].replacement, "golden.pcapng");
        let line = format!("read_file(\"{base}/fi");
        let (_, found) = h.file_candidates(&line, line.len()).unwrap();
        assert_eq!(found[0].replacement, "fixtures/");
        assert!(h.file_candidates("print(\"go", 9).is_none());
    }

    #[test]
    fn signature_hints_know_the_receiver() {
        let h = helper(&[("s", VarKind::Socket), ("t", VarKind::Thread)]);
        assert_eq!(
            h.signature_hint("s.recvfrom(").unwrap(),
            "bufsize) → datagram"
        );
        assert_eq!(
            h.signature_hint("dns::ask(").unwrap(),
            "sock, server, name) → map"
        );
        assert!(h.signature_hint("t.join(").is_some());
        assert!(h.signature_hint("(").is_none());
    }

    #[test]
    fn indentation_follows_open_braces() {
        let e = crate::api::compiler();
        assert_eq!(indent_for(&e, "fn f() {"), INDENT);
        assert_eq!(indent_for(&e, "fn f() {\n    if x {"), INDENT.repeat(2));
        assert_eq!(indent_for(&e, "let t = `a\n"), "");
    }
}
