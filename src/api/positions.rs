//! Real positions in scripts longer than Rhai counts. Rhai keeps a line number in 16 bits and
//! stops at 65535, so every error past that line would say "line ≥ 65535". A script that long
//! is compiled *folded*: from line [`FOLD_FROM`] on, lines are joined into lines of up to
//! [`WIDE`] characters — a newline in code is whitespace to Rhai, so the program is the same —
//! and each join is remembered, so a position Rhai reports maps back to its real line and
//! column ([`real`]). A newline that means something stays: one in a string or character
//! literal (part of its value) and one that ends a doc comment (`///`, `//!`); a plain `//`
//! comment is blanked (spaces) so that its newline can go. The folded text is lexed against
//! the original, token for token, before it is used: any difference, and the script is
//! compiled as written (positions past 65535 then say so).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use rhai::{Engine, Position};

/// Lines before this one are never folded: Rhai numbers them right.
const FOLD_FROM: usize = 60_000;
/// The last line Rhai numbers right (65535 means "that or more").
const LAST_LINE: usize = u16::MAX as usize - 1;
/// Longest line a fold makes, in characters: Rhai's columns are 16 bits too.
const WIDE: usize = 60_000;

/// Where the real lines of a folded script went: per line Rhai sees from [`FOLD_FROM`] on,
/// the column each real line starts at.
pub struct Folding {
    lines: Vec<Vec<(u32, u32)>>,
}

impl Folding {
    /// The real line and column of what Rhai saw at `line`, `col` (both from 1).
    fn real(&self, line: usize, col: usize) -> Option<(usize, usize)> {
        if line < FOLD_FROM {
            return Some((line, col));
        }
        let segments = self.lines.get(line - FOLD_FROM)?;
        let i = segments.partition_point(|(start, _)| *start as usize <= col);
        let (start, real) = *segments.get(i.checked_sub(1)?)?;
        Some((real as usize, col - start as usize + 1))
    }
}

/// The foldings of the scripts compiled so far, by name.
static FOLDINGS: RwLock<Vec<(String, Arc<Folding>)>> = RwLock::new(Vec::new());
/// Whether any script was folded: until then [`real`] reads no table.
static ANY: AtomicBool = AtomicBool::new(false);

/// The text to compile for the script `name`: `source` itself, or folded when it has more
/// lines than Rhai numbers (the folding is then kept for [`real`]).
pub fn fold(engine: &Engine, name: &str, source: &str) -> Option<String> {
    forget(name);
    if source.bytes().filter(|b| *b == b'\n').count() < LAST_LINE {
        return None;
    }
    let (text, folding) = folded(source)?;
    if !same_tokens(engine, source, &text) {
        return None;
    }
    let mut all = FOLDINGS.write().unwrap_or_else(PoisonError::into_inner);
    all.push((name.to_string(), Arc::new(folding)));
    ANY.store(true, Ordering::Relaxed);
    Some(text)
}

fn forget(name: &str) {
    if ANY.load(Ordering::Relaxed) {
        let mut all = FOLDINGS.write().unwrap_or_else(PoisonError::into_inner);
        all.retain(|(n, _)| n != name);
    }
}

/// The real line and column (from 1; 0 when Rhai gave none) of `pos` in the script `name`.
/// Past what Rhai counts, and not folded, it stays 65535: "that or more".
pub fn real(name: Option<&str>, pos: Position) -> (usize, usize) {
    let (line, col) = (pos.line().unwrap_or(0), pos.position().unwrap_or(0));
    map(name, line, col)
}

/// [`real`] for a line and column already read from a position.
pub fn map(name: Option<&str>, line: usize, col: usize) -> (usize, usize) {
    if line < FOLD_FROM || !ANY.load(Ordering::Relaxed) {
        return (line, col);
    }
    let Some(name) = name else {
        return (line, col);
    };
    let all = FOLDINGS.read().unwrap_or_else(PoisonError::into_inner);
    all.iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, folding)| folding.real(line, col))
        .unwrap_or((line, col))
}

/// Whether Rhai reads the same tokens from both texts: folding changed no string and no
/// token boundary.
fn same_tokens(engine: &Engine, source: &str, folded: &str) -> bool {
    let mut right = Vec::new();
    each_token(engine, folded, |token, _| {
        right.push(token);
        true
    });
    let mut i = 0;
    let all_same = each_token(engine, source, |token, _| {
        let same = right.get(i) == Some(&token);
        i += 1;
        same
    });
    all_same && i == right.len()
}

/// Calls `f` with each token of `text`, up to the end, as the parser reads them: after the
/// `}` that closes a `${` of a backtick string, the string goes on (a bare lexer would read
/// the rest of the string as code). Stops early, returning false, when `f` does.
pub fn each_token(
    engine: &Engine,
    text: &str,
    mut f: impl FnMut(rhai::Token, Position) -> bool,
) -> bool {
    use rhai::Token;
    let inputs = [text];
    let (tokens, control) = engine.lex(&inputs);
    // Per open `${`: how many braces deep its code is.
    let mut open: Vec<usize> = Vec::new();
    let mut interpolation_starts = false;
    for (token, pos) in tokens {
        if token == Token::EOF {
            break;
        }
        match &token {
            Token::InterpolatedString(_) => interpolation_starts = true,
            Token::LeftBrace | Token::MapStart if interpolation_starts => {
                interpolation_starts = false;
                open.push(1);
            }
            Token::LeftBrace | Token::MapStart => {
                if let Some(depth) = open.last_mut() {
                    *depth += 1;
                }
            }
            Token::RightBrace => {
                if let Some(depth) = open.last_mut() {
                    *depth -= 1;
                    if *depth == 0 {
                        open.pop();
                        control.borrow_mut().is_within_text = true;
                    }
                }
            }
            _ => {}
        }
        if !f(token, pos) {
            return false;
        }
    }
    true
}

/// What a character of the source is part of, for the scan.
#[derive(Clone, Copy, PartialEq)]
enum Part {
    /// Code; `true` inside a `${ }` of a backtick string, with its `{` depth.
    Code(bool, usize),
    /// A `"…"` string or `'…'` character, by its quote.
    Quoted(char),
    Backtick,
    Comment(usize),
}

/// Each line of `source` (without its newline), with a plain `//` comment blanked, and
/// whether the newline after it may become a space.
fn lines(source: &str) -> Vec<(String, bool)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = String::new();
    let mut stack = vec![Part::Code(false, 0)];
    // The line ends with a doc comment: its newline stays.
    let mut doc = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied().unwrap_or('\0');
        let top = *stack.last().unwrap_or(&Part::Code(false, 0));
        if c == '\n' {
            // A newline inside a string is part of it; one in code or a block comment is
            // whitespace.
            let foldable = matches!(top, Part::Code(..) | Part::Comment(_)) && !doc;
            doc = false;
            out.push((std::mem::take(&mut line), foldable));
            i += 1;
            continue;
        }
        match top {
            Part::Code(interpolated, depth) => match c {
                '/' if next == '/' => {
                    let end = chars[i..]
                        .iter()
                        .position(|c| *c == '\n')
                        .map_or(chars.len(), |n| i + n);
                    let third = chars.get(i + 2).copied().unwrap_or('\0');
                    let fourth = chars.get(i + 3).copied().unwrap_or('\0');
                    doc = (third == '/' && fourth != '/') || third == '!';
                    if doc {
                        line.extend(&chars[i..end]);
                    } else {
                        line.extend(std::iter::repeat_n(' ', end - i));
                    }
                    i = end;
                    continue;
                }
                '/' if next == '*' => {
                    stack.push(Part::Comment(1));
                    line.push_str("/*");
                    i += 2;
                    continue;
                }
                '"' | '\'' => stack.push(Part::Quoted(c)),
                '`' => stack.push(Part::Backtick),
                '{' if interpolated => {
                    stack.pop();
                    stack.push(Part::Code(true, depth + 1));
                }
                '}' if interpolated => {
                    stack.pop();
                    if depth > 1 {
                        stack.push(Part::Code(true, depth - 1));
                    }
                }
                _ => {}
            },
            Part::Quoted(quote) => match c {
                '\\' if next != '\n' => {
                    line.push(c);
                    line.push(next);
                    i += 2;
                    continue;
                }
                // A doubled quote is one quote inside.
                _ if c == quote && next == quote => {
                    line.push(c);
                    line.push(next);
                    i += 2;
                    continue;
                }
                _ if c == quote => {
                    stack.pop();
                }
                _ => {}
            },
            Part::Backtick => match c {
                '\\' if next == '$' => {
                    line.push(c);
                    line.push(next);
                    i += 2;
                    continue;
                }
                '`' if next == '`' => {
                    line.push_str("``");
                    i += 2;
                    continue;
                }
                '`' => {
                    stack.pop();
                }
                '$' if next == '{' => {
                    stack.push(Part::Code(true, 1));
                    line.push_str("${");
                    i += 2;
                    continue;
                }
                _ => {}
            },
            Part::Comment(depth) => {
                if c == '/' && next == '*' {
                    stack.pop();
                    stack.push(Part::Comment(depth + 1));
                    line.push_str("/*");
                    i += 2;
                    continue;
                }
                if c == '*' && next == '/' {
                    stack.pop();
                    if depth > 1 {
                        stack.push(Part::Comment(depth - 1));
                    }
                    line.push_str("*/");
                    i += 2;
                    continue;
                }
            }
        }
        line.push(c);
        i += 1;
    }
    out.push((line, false));
    out
}

/// `source` with its lines from [`FOLD_FROM`] on joined where they may be, and where each
/// went; `None` when folding would not bring every line within what Rhai counts.
fn folded(source: &str) -> Option<(String, Folding)> {
    let lines = lines(source);
    let mut text = String::with_capacity(source.len());
    let mut folding = Folding { lines: Vec::new() };
    // The width of the line being made, and whether the last newline became a space.
    let mut width = 0usize;
    let mut joined = false;
    for (n, (line, foldable)) in lines.iter().enumerate() {
        let real = u32::try_from(n + 1).ok()?;
        let chars = line.chars().count();
        if n + 1 >= FOLD_FROM {
            if !joined {
                folding.lines.push(Vec::new());
                width = 0;
            }
            let start = u32::try_from(width + 1).ok()?;
            folding.lines.last_mut()?.push((start, real));
            width += chars;
        }
        text.push_str(line);
        if n + 1 == lines.len() {
            break;
        }
        // A newline is kept before the folding starts, where it means something, and where
        // the next line would make this one too wide.
        let next = lines.get(n + 1).map_or(0, |(l, _)| l.chars().count());
        joined = n + 1 >= FOLD_FROM && *foldable && width + 1 + next <= WIDE;
        if joined {
            text.push(' ');
            width += 1;
        } else {
            text.push('\n');
        }
    }
    (FOLD_FROM - 1 + folding.lines.len() <= LAST_LINE).then_some((text, folding))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        crate::api::compiler()
    }

    #[test]
    fn short_scripts_are_not_folded() {
        assert!(fold(&engine(), "short.rhai", "let x = 1;\n").is_none());
        let p = Position::new(3, 4);
        assert_eq!(real(Some("short.rhai"), p), (3, 4));
    }

    #[test]
    fn every_line_of_a_long_script_maps_back() {
        let mut source = String::new();
        for n in 1..=200_000 {
            match n % 5 {
                0 => source.push_str("// a comment with \"quotes\" and `ticks`\n"),
                1 => source.push_str(&format!("let v{n} = \"line\\n {n}\";\n")),
                // A newline in a string stays: one in a thousand lines, so the rest can fold.
                2 if n % 1000 == 2 => source.push_str("let t = `two\nlines`;\n"),
                2 => source.push_str("let t = `one ${n} line`;\n"),
                3 => source.push_str("/* a\n block */ let c = 'x';\n"),
                _ => source.push_str("   x = 1 + 2;   \n"),
            }
        }
        let name = "long.rhai";
        let text = fold(&engine(), name, &source).expect("folded");
        assert!(text.lines().count() < LAST_LINE);
        // Every token's position in the folded text names its real line and column.
        let real_lines: Vec<&str> = source.lines().collect();
        let mut checked = 0;
        each_token(&engine(), &text, |token, pos| {
            let (line, col) = real(Some(name), pos);
            let text = real_lines[line - 1];
            let at: String = text.chars().skip(col - 1).collect();
            let syntax = match &token {
                rhai::Token::Identifier(name) => name.to_string(),
                t if t.is_literal() => t.literal_syntax().to_string(),
                _ => String::new(),
            };
            if !syntax.is_empty() {
                assert!(at.starts_with(&syntax), "{line}:{col}: {syntax} in {text}");
                checked += 1;
            }
            true
        });
        assert!(checked > 200_000, "{checked}");
    }

    #[test]
    fn newlines_that_mean_something_stay() {
        let parts =
            lines("let a = \"x\\\ny\";\n/// doc\nfn f() {}\nlet s = `a${ {1} }\nb`; // c\n");
        let foldable: Vec<bool> = parts.iter().map(|(_, f)| *f).collect();
        assert_eq!(foldable, [false, true, false, true, false, true, false]);
        assert_eq!(parts[5].0, "b`;     ");
    }
}
