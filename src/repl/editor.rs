//! The rustyline helper: Tab completion (API functions, variables, methods after `.`, meta
//! commands), hints (from history, else the parameters of the call being typed), syntax
//! highlighting, and multi-line input decided by the Rhai parser.

use std::borrow::Cow;
use std::sync::{Arc, RwLock};

use rhai::Engine;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::{Hint, Hinter};
use rustyline::history::SearchDirection;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::highlight;
use super::input;
use super::meta;
use super::session::{Names, VarKind};
use crate::api::docs::{self, Kind};

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
    "print",
    "debug",
    "type_of",
    "is_def_var",
    "is_def_fn",
    "Fn",
    "call",
    "len",
];

pub struct ReplHelper {
    /// Compiles only, to tell finished input from unfinished.
    compiler: Engine,
    names: Arc<RwLock<Names>>,
    files: FilenameCompleter,
    color: bool,
}

impl ReplHelper {
    pub fn new(names: Arc<RwLock<Names>>, color: bool) -> ReplHelper {
        ReplHelper {
            compiler: crate::api::compiler(),
            names,
            files: FilenameCompleter::new(),
            color,
        }
    }

    fn names(&self) -> std::sync::RwLockReadGuard<'_, Names> {
        self.names.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Candidates for the word `word` that starts at `start` in `line`.
    fn candidates(&self, line: &str, start: usize, word: &str) -> Vec<Pair> {
        let before = &line[..start];
        if let Some(receiver) = before.strip_suffix('.') {
            let kinds = member_kinds(self.receiver_kind(receiver));
            return docs::ENTRIES
                .iter()
                .filter(|e| kinds.contains(&e.kind) && e.name.starts_with(word))
                .map(|e| call_pair(e.name, e.is_call()))
                .collect();
        }
        let names = self.names();
        let mut all: Vec<Pair> = docs::ENTRIES
            .iter()
            .filter(|e| e.kind == Kind::Function)
            .map(|e| call_pair(e.name, true))
            .chain(names.functions.iter().map(|f| call_pair(f, true)))
            .chain(names.vars.iter().map(|(v, _)| call_pair(v, false)))
            .chain(KEYWORDS.iter().map(|k| call_pair(k, false)))
            .filter(|p| p.display.starts_with(word))
            .collect();
        all.sort_by(|a, b| a.display.cmp(&b.display));
        all.dedup_by(|a, b| a.display == b.display);
        all
    }

    /// What the expression before a `.` is: a variable's kind, or the result of a call.
    fn receiver_kind(&self, receiver: &str) -> Option<VarKind> {
        let receiver = receiver.trim_end();
        if let Some(call) = receiver.strip_suffix(')') {
            let open = matching_open(call)?;
            let method = word_before(&call[..open]);
            return match method {
                "udp" => Some(VarKind::Socket),
                "recvfrom" => Some(VarKind::Datagram),
                "spawn" => Some(VarKind::Thread),
                _ => None,
            };
        }
        if receiver.ends_with(']') {
            return None;
        }
        let name = word_before(receiver);
        self.names()
            .vars
            .iter()
            .rev()
            .find(|(v, _)| v == name)
            .map(|(_, k)| *k)
    }

    fn meta_candidates(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let text = &line[..pos];
        match text.split_once(' ') {
            None => (
                0,
                meta::COMMANDS
                    .iter()
                    .filter(|c| c.starts_with(text))
                    .map(|c| call_pair(c, false))
                    .collect(),
            ),
            Some((cmd, arg)) => {
                let start = pos - arg.len();
                let wanted: Vec<&str> = match cmd {
                    ":help" => docs::ENTRIES.iter().map(|e| e.name).collect(),
                    ":watch" | ":unwatch" => {
                        let names = self.names();
                        let sockets: Vec<String> = names
                            .vars
                            .iter()
                            .filter(|(_, k)| *k == VarKind::Socket)
                            .map(|(v, _)| v.clone())
                            .collect();
                        return (start, words(&sockets, arg));
                    }
                    ":pcap" | ":save" => {
                        return self
                            .files
                            .complete_path(line, pos)
                            .unwrap_or((start, Vec::new()));
                    }
                    _ => Vec::new(),
                };
                let mut found: Vec<Pair> = wanted
                    .into_iter()
                    .filter(|w| w.starts_with(arg))
                    .map(|w| call_pair(w, false))
                    .collect();
                found.dedup_by(|a, b| a.display == b.display);
                (start, found)
            }
        }
    }
}

fn words(all: &[String], prefix: &str) -> Vec<Pair> {
    all.iter()
        .filter(|w| w.starts_with(prefix))
        .map(|w| call_pair(w, false))
        .collect()
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

/// Which help entries complete after `x.` for a receiver of this kind.
fn member_kinds(kind: Option<VarKind>) -> &'static [Kind] {
    use crate::api::docs::On;
    match kind {
        Some(VarKind::Socket) => &[Kind::Method(On::Socket), Kind::Property(On::Socket)],
        Some(VarKind::Datagram) => &[Kind::Property(On::Datagram), Kind::Method(On::Datagram)],
        Some(VarKind::Thread) => &[Kind::Method(On::Thread)],
        _ => &[
            Kind::Method(On::Socket),
            Kind::Property(On::Socket),
            Kind::Property(On::Datagram),
            Kind::Method(On::Datagram),
            Kind::Method(On::Thread),
        ],
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

/// Index of the `(` that the `)` just after `text` closes.
fn matching_open(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => return Some(i),
            '(' => depth -= 1,
            _ => {}
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
        let word = word_before(&line[..pos]);
        let start = pos - word.len();
        Ok((start, self.candidates(line, start, word)))
    }
}

/// A hint: from history (→ accepts it), or the parameters of a call (shown only).
pub struct ReplHint {
    display: String,
    accept: bool,
}

impl Hint for ReplHint {
    fn display(&self) -> &str {
        &self.display
    }

    fn completion(&self) -> Option<&str> {
        self.accept.then_some(self.display.as_str())
    }
}

impl Hinter for ReplHelper {
    type Hint = ReplHint;

    fn hint(&self, line: &str, pos: usize, ctx: &Context<'_>) -> Option<ReplHint> {
        // Without colour a hint would look like typed text.
        if !self.color || line.is_empty() || pos < line.len() {
            return None;
        }
        if let Some(past) = history_hint(line, ctx) {
            return Some(ReplHint {
                display: past,
                accept: true,
            });
        }
        let call = line.strip_suffix('(')?;
        let name = word_before(call);
        let method = call[..call.len() - name.len()].ends_with('.');
        let entry = docs::lookup(name).into_iter().find(|e| {
            e.is_call() && (e.kind == Kind::Function) != method && e.params().is_some()
        })?;
        Some(ReplHint {
            display: entry.params()?,
            accept: false,
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
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let text = ctx.input();
        if input::is_complete(&self.compiler, text) || input::gave_up(text) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Helper for ReplHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(vars: &[(&str, VarKind)]) -> ReplHelper {
        let names = Names {
            vars: vars.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
            functions: vec!["greet".into()],
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
    fn methods_follow_the_receiver_type() {
        let h = helper(&[("s", VarKind::Socket), ("d", VarKind::Datagram)]);
        assert_eq!(complete(&h, "s.recvf"), ["recvfrom("]);
        assert_eq!(complete(&h, "let x = s.local"), ["local_addr"]);
        assert_eq!(complete(&h, "d.te"), ["text"]);
        assert!(complete(&h, "d.re").is_empty());
        assert_eq!(complete(&h, "s.recvfrom(10).tr"), ["truncated", "tries"]);
        assert_eq!(complete(&h, "udp(0).setb"), ["setbroadcast("]);
    }

    #[test]
    fn words_complete_functions_variables_keywords() {
        let h = helper(&[("server", VarKind::Socket)]);
        assert_eq!(complete(&h, "se"), ["select(", "server"]);
        assert_eq!(complete(&h, "let x = ud"), ["udp("]);
        assert_eq!(complete(&h, "gr"), ["greet("]);
        assert_eq!(complete(&h, "whi"), ["while"]);
    }

    #[test]
    fn meta_commands_complete() {
        let h = helper(&[("s", VarKind::Socket), ("n", VarKind::Other)]);
        let (start, found) = h.meta_candidates(":he", 3);
        assert_eq!((start, found[0].replacement.as_str()), (0, ":help"));
        let (start, found) = h.meta_candidates(":help recv", 10);
        let names: Vec<_> = found.iter().map(|p| p.replacement.as_str()).collect();
        assert_eq!((start, names), (6, vec!["recvfrom", "recv", "recv_any"]));
        let (_, found) = h.meta_candidates(":watch ", 7);
        assert_eq!(found.len(), 1);
    }
}
