//! `:save FILE`: the session as a script that replays under `udpsh run`.
//!
//! - Every input, in order; one that failed is kept as comments (its `fn` definitions stay
//!   live, since the session has them), and the header says how many.
//! - A function defined again later keeps only its last definition (Rhai refuses two).
//! - `it` is assigned where the session assigned it, when a later input reads it.
//! - Each socket made by `let s = udp(..)` gets `s.settimeout(5)` right after, unless that
//!   input sets one itself or the socket serves a `spawn`ed thread: every receive of the
//!   replay ends with a `timeout` error instead of waiting forever. A later settimeout in
//!   the script still wins.
//! - `watch`/`unwatch` stay: under `udpsh run` watch does nothing and unwatch drops the
//!   datagrams waiting, which the REPL's watch took.

use std::collections::HashMap;

use rhai::{Engine, Token};

use super::lex::{self, Tok};
use super::session::{Input, Outcome};

/// The timeout `:save` gives sockets made without one, in seconds.
pub const REPLAY_TIMEOUT: &str = "5";

/// What `:save` wrote.
pub struct Saved {
    pub text: String,
    pub inputs: usize,
    pub failed: usize,
    pub timeouts: Vec<String>,
    /// Functions defined again that earlier inputs called: those calls now run the last
    /// definition (a script has one definition per name).
    pub redefined: Vec<String>,
}

/// A top-level `fn` definition: byte span in its input, name and arity.
struct FnDef {
    start: usize,
    end: usize,
    name: String,
    arity: usize,
}

pub fn script(engine: &Engine, inputs: &[Input], path: &str) -> Saved {
    let defs: Vec<Vec<FnDef>> = inputs
        .iter()
        .map(|i| match i.outcome {
            Outcome::Failed {
                compiled: false, ..
            } => Vec::new(),
            _ => fn_defs(&lex::tokens(engine, &i.source)),
        })
        .collect();
    // The input holding the last definition of each (name, arity).
    let mut last: HashMap<(String, usize), usize> = HashMap::new();
    for (i, list) in defs.iter().enumerate() {
        for d in list {
            last.insert((d.name.clone(), d.arity), i);
        }
    }
    let spawned = spawned_names(engine, inputs);
    let reads_it: Vec<bool> = inputs
        .iter()
        .map(|i| {
            !matches!(i.outcome, Outcome::Failed { .. })
                && reads_it(&lex::tokens(engine, &i.source))
        })
        .collect();

    let mut saved = Saved {
        text: String::new(),
        inputs: 0,
        failed: 0,
        timeouts: Vec::new(),
        redefined: Vec::new(),
    };
    for ((name, arity), &at) in &last {
        let first = defs
            .iter()
            .position(|l| l.iter().any(|d| &d.name == name && d.arity == *arity));
        let called_between = first.is_some_and(|first| {
            first < at
                && inputs[first..at].iter().any(|i| {
                    // A failed input is a comment: its calls do not run.
                    if matches!(i.outcome, Outcome::Failed { .. }) {
                        return false;
                    }
                    let toks = lex::tokens(engine, &i.source);
                    // A call, not the `fn name(` of a definition.
                    toks.iter().enumerate().any(|(k, t)| {
                        t.ident() == Some(name.as_str())
                            && toks.get(k + 1).is_some_and(Tok::opens_call)
                            && !(k > 0 && toks[k - 1].is(&Token::Fn))
                    })
                })
        });
        if called_between && !saved.redefined.contains(name) {
            saved.redefined.push(name.clone());
        }
    }
    saved.redefined.sort();
    let mut body = String::new();
    for (i, input) in inputs.iter().enumerate() {
        let (keep, dropped): (Vec<&FnDef>, Vec<&FnDef>) = defs[i]
            .iter()
            .partition(|d| last.get(&(d.name.clone(), d.arity)) == Some(&i));
        let mut text = without(&input.source, &dropped, &last, inputs);
        match &input.outcome {
            Outcome::Failed { message, .. } => {
                saved.failed += 1;
                body.push_str(&format!(
                    "// input #{} failed and is left out: {}\n",
                    input.number,
                    crate::display::one_line(message)
                ));
                for line in input.source.trim_end().lines() {
                    body.push_str("//     ");
                    body.push_str(line);
                    body.push('\n');
                }
                // Its functions were defined all the same.
                for d in keep {
                    let def = &input.source[d.start..d.end];
                    body.push_str(def);
                    body.push('\n');
                }
                continue;
            }
            Outcome::Ran { shown } => {
                if *shown && read_later(inputs, &reads_it, i) {
                    text = assign_it(engine, &text);
                }
            }
        }
        let (with_timeouts, named) = add_timeouts(engine, &text, &spawned);
        saved.timeouts.extend(named);
        let body_text = with_timeouts.trim_end();
        saved.inputs += 1;
        if body_text.trim().is_empty() {
            continue;
        }
        body.push_str(body_text);
        body.push_str(terminator(engine, body_text));
        body.push('\n');
    }
    let mut header = format!(
        "// Saved from the udpsh REPL; run with: udpsh run {path}\n\
         // Sockets made here without a timeout get settimeout({REPLAY_TIMEOUT}) so that no receive\n\
         // waits forever. Under udpsh run watch() does nothing and unwatch() drops the\n\
         // datagrams waiting (in the REPL the watch took them).\n"
    );
    for name in &saved.redefined {
        header.push_str(&format!(
            "// {name} was defined again in the session: here every call runs its last definition.\n"
        ));
    }
    if saved.failed > 0 {
        header.push_str(&format!(
            "// {} input{} failed in the session and {} kept as comments.\n",
            saved.failed,
            if saved.failed == 1 { "" } else { "s" },
            if saved.failed == 1 { "is" } else { "are" }
        ));
    }
    saved.text = format!("{header}{body}");
    saved
}

/// The input without the definitions that a later input replaces.
fn without(
    source: &str,
    dropped: &[&FnDef],
    last: &HashMap<(String, usize), usize>,
    inputs: &[Input],
) -> String {
    let mut out = String::new();
    let mut at = 0;
    for d in dropped {
        out.push_str(&source[at..d.start]);
        let later = last
            .get(&(d.name.clone(), d.arity))
            .map_or(0, |&i| inputs[i].number);
        out.push_str(&format!(
            "// fn {}: defined again in input #{later}, which is kept",
            d.name
        ));
        at = d.end;
    }
    out.push_str(&source[at..]);
    out
}

/// Whether an input after `i` reads the `it` that input `i` set (up to the next one that
/// sets it, which reads it first).
fn read_later(inputs: &[Input], reads_it: &[bool], i: usize) -> bool {
    for j in i + 1..inputs.len() {
        if reads_it[j] {
            return true;
        }
        if matches!(inputs[j].outcome, Outcome::Ran { shown: true }) {
            return false;
        }
    }
    false
}

/// Top-level `[private] fn name(a, b) { ... }`.
fn fn_defs(toks: &[Tok]) -> Vec<FnDef> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        if depth == 0 && t.is(&Token::Fn) {
            let start = match i.checked_sub(1).map(|p| &toks[p]) {
                Some(p) if p.is(&Token::Private) => p.start,
                _ => t.start,
            };
            if let (Some(name), Some(open)) =
                (toks.get(i + 1).and_then(Tok::ident), toks.get(i + 2))
                && open.opens_call()
                && let Some(close) = lex::closing(toks, i + 2)
                && toks.get(close + 1).is_some_and(|b| b.is(&Token::LeftBrace))
                && let Some(end) = lex::closing(toks, close + 1)
            {
                let arity = toks[(i + 3).min(close)..close]
                    .iter()
                    .filter(|p| p.ident().is_some())
                    .count();
                out.push(FnDef {
                    start,
                    end: toks[end].start + 1,
                    name: name.to_string(),
                    arity,
                });
                i = end + 1;
                continue;
            }
        }
        match t.token {
            Token::LeftBrace | Token::MapStart | Token::LeftParen | Token::LeftBracket => {
                depth += 1
            }
            Token::RightBrace | Token::RightParen | Token::RightBracket => {
                depth = depth.saturating_sub(1)
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Whether the input reads the REPL's `it` (not a field `.it`, not its own `let it`).
fn reads_it(toks: &[Tok]) -> bool {
    toks.iter().enumerate().any(|(i, t)| {
        t.ident() == Some("it")
            && !i
                .checked_sub(1)
                .is_some_and(|p| matches!(toks[p].token, Token::Period | Token::Let | Token::Const))
    })
}

/// `expr` → `let it = expr;`, for the last statement of the input.
fn assign_it(engine: &Engine, text: &str) -> String {
    let toks = lex::tokens(engine, text);
    let Some(last) = lex::last_statement(&toks) else {
        return text.to_string();
    };
    if matches!(
        toks[last].token,
        Token::Let | Token::Const | Token::Fn | Token::Try | Token::Import
    ) {
        return text.to_string();
    }
    let at = toks[last].start;
    format!("{}let it = {};", &text[..at], text[at..].trim_end())
}

/// Socket names passed into a `spawn(...)` call anywhere in the session.
fn spawned_names(engine: &Engine, inputs: &[Input]) -> Vec<String> {
    let mut names = Vec::new();
    for input in inputs {
        let toks = lex::tokens(engine, &input.source);
        for (i, t) in toks.iter().enumerate() {
            if t.ident() == Some("spawn")
                && toks.get(i + 1).is_some_and(Tok::opens_call)
                && let Some(close) = lex::closing(&toks, i + 1)
            {
                names.extend(
                    toks[i + 2..close]
                        .iter()
                        .filter_map(Tok::ident)
                        .map(String::from),
                );
            }
        }
    }
    names
}

/// `let s = udp(...)` statements get `s.settimeout(5);` after them, unless the input sets
/// a timeout on `s` itself or `s` serves a spawned thread. Returns the text and the names.
fn add_timeouts(engine: &Engine, text: &str, spawned: &[String]) -> (String, Vec<String>) {
    let toks = lex::tokens(engine, text);
    let mut inserts: Vec<(usize, String, bool)> = Vec::new();
    let mut names = Vec::new();
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        match t.token {
            Token::LeftBrace | Token::MapStart | Token::LeftParen | Token::LeftBracket => {
                depth += 1
            }
            Token::RightBrace | Token::RightParen | Token::RightBracket => {
                depth = depth.saturating_sub(1)
            }
            _ => {}
        }
        if depth != 0 || !matches!(t.token, Token::Let) {
            continue;
        }
        let (Some(name), Some(eq), Some(udp), Some(open)) = (
            toks.get(i + 1).and_then(Tok::ident),
            toks.get(i + 2),
            toks.get(i + 3),
            toks.get(i + 4),
        ) else {
            continue;
        };
        if !eq.is(&Token::Equals) || udp.ident() != Some("udp") || !open.opens_call() {
            continue;
        }
        let sets_own = toks.windows(3).any(|w| {
            w[0].ident() == Some(name)
                && w[1].is(&Token::Period)
                && w[2].ident() == Some("settimeout")
        });
        if sets_own || spawned.iter().any(|s| s == name) {
            continue;
        }
        // After the statement: its `;` at depth 0, or the end of the input.
        let Some(close) = lex::closing(&toks, i + 4) else {
            continue;
        };
        let mut d = 0usize;
        let semi = toks[close + 1..].iter().find(|t| {
            match t.token {
                Token::LeftBrace | Token::MapStart | Token::LeftParen | Token::LeftBracket => {
                    d += 1
                }
                Token::RightBrace | Token::RightParen | Token::RightBracket => {
                    d = d.saturating_sub(1)
                }
                _ => {}
            }
            d == 0 && t.is(&Token::SemiColon)
        });
        let call = format!(" {name}.settimeout({REPLAY_TIMEOUT});");
        match semi {
            Some(s) => inserts.push((s.start + 1, call, false)),
            None => inserts.push((text.trim_end().len(), call, true)),
        }
        names.push(name.to_string());
    }
    let mut out = text.to_string();
    for (at, call, needs_semi) in inserts.into_iter().rev() {
        let glue = if needs_semi { ";" } else { "" };
        out.insert_str(at, &format!("{glue}{call}"));
    }
    (out, names)
}

/// What must follow an input so that the next statement can follow it in one script:
/// nothing, `;`, or (after a trailing comment) `;` on a line of its own.
fn terminator(engine: &Engine, body: &str) -> &'static str {
    let compiles = |glue: &str| {
        crate::api::prepared(&format!("{body}{glue}\n0"), |s| engine.compile(s)).is_ok()
    };
    if compiles("") {
        ""
    } else if compiles(";") {
        ";"
    } else {
        "\n;"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(n: usize, source: &str, shown: bool) -> Input {
        Input::new(source, n, Outcome::Ran { shown })
    }

    #[test]
    fn keeps_the_last_definition_and_comments_failures() {
        let e = crate::api::compiler();
        let inputs = vec![
            ran(1, "fn f(x) { x }\nlet a = f(1);", false),
            Input::new(
                "s.sendto(\"x\", \"127.0.0.1:9\"); oops()",
                2,
                Outcome::Failed {
                    message: "unknown function oops ()".into(),
                    compiled: true,
                },
            ),
            ran(3, "fn f(x) { x * 2 }", false),
            ran(6, "fn g(x) { x }", false),
            ran(7, "fn g(y) { y }", false),
            ran(4, "f(a)", true),
            ran(5, "it + 1", true),
        ];
        let saved = script(&e, &inputs, "t.rhai");
        assert_eq!((saved.inputs, saved.failed), (6, 1));
        assert_eq!(saved.redefined, ["f"]);
        let text = &saved.text;
        assert!(
            text.contains("// fn f: defined again in input #3, which is kept\nlet a = f(1);"),
            "{text}"
        );
        assert!(
            text.contains(
                "// input #2 failed and is left out: unknown function oops ()\n//     s.sendto("
            ),
            "{text}"
        );
        assert!(text.contains("let it = f(a);\nit + 1"), "{text}");
        assert!(
            text.contains("1 input failed in the session and is kept as comments"),
            "{text}"
        );
        assert!(
            crate::api::prepared(text, |s| e.compile(s)).is_ok(),
            "{text}"
        );
    }

    #[test]
    fn sockets_get_a_timeout_unless_they_have_one_or_serve_a_thread() {
        let e = crate::api::compiler();
        let (text, names) = add_timeouts(&e, "let s = udp(\"127.0.0.1:0\")", &[]);
        assert_eq!(text, "let s = udp(\"127.0.0.1:0\"); s.settimeout(5);");
        assert_eq!(names, ["s"]);
        let (text, _) = add_timeouts(&e, "let a = udp(0); let b = udp(); a.recvfrom()", &[]);
        assert_eq!(
            text,
            "let a = udp(0); a.settimeout(5); let b = udp(); b.settimeout(5); a.recvfrom()"
        );
        let (text, _) = add_timeouts(&e, "let a = udp(0); a.settimeout(1.0);", &[]);
        assert_eq!(text, "let a = udp(0); a.settimeout(1.0);");
        let (text, _) = add_timeouts(&e, "let srv = udp(0);", &["srv".into()]);
        assert_eq!(text, "let srv = udp(0);");
        let (text, _) = add_timeouts(&e, "let t = \"let s = udp(0);\"", &[]);
        assert_eq!(text, "let t = \"let s = udp(0);\"");
    }

    #[test]
    fn watch_in_a_string_is_just_a_string() {
        let e = crate::api::compiler();
        let inputs = vec![ran(1, "let note = \"call s.watch() later\";", false)];
        let saved = script(&e, &inputs, "t.rhai");
        assert!(
            saved.text.contains("let note = \"call s.watch() later\";"),
            "{}",
            saved.text
        );
    }
}
