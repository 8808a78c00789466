//! `b[2..6]`, `b[6..]`, `d.data[0..2]`: sub-blobs (and sub-strings, sub-arrays) by range.
//!
//! Rhai indexes blobs, strings and arrays with integers only and lets no indexer be
//! registered for them. So [`prepared`] rewrites each index whose brackets hold a range at
//! their own level into the operator `@`: `b[2..6]` → `b@(2..6)`, and `b[2..].len()` →
//! `(b@(2..)).len()`. It is a text change (1 or 2 more characters), so a space after the
//! bracket (or before the operand) is dropped to keep later columns where the script has them.

use std::collections::HashMap;

use rhai::{Array, Blob, Dynamic, Engine, ImmutableString};

use super::bytes::bounds;
use super::error::{ErrorKind, Fallible, script_error};

/// The operator a range index becomes; a reserved symbol in Rhai, so no script uses it.
pub const OPERATOR: &str = "@";

/// Runs `compile` on `source` with its range indexes rewritten.
pub fn prepared<T>(source: &str, compile: impl FnOnce(&str) -> T) -> T {
    let marks = scan(source);
    if marks.is_empty() {
        return compile(source);
    }
    compile(&rewrite(source, &marks))
}

/// One range index: char offsets of its `[`, its `]`, and the start of what it indexes;
/// `wrap` when more postfix follows (`.len()`), which must apply to the slice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mark {
    open: usize,
    close: usize,
    start: usize,
    wrap: bool,
}

const KEYWORDS: &[&str] = &[
    "in", "return", "throw", "let", "const", "if", "else", "while", "loop", "do", "until",
    "switch", "for", "fn", "import", "export", "as", "is", "try", "catch", "break", "continue",
    "private",
];

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Code; the count is the `{` depth inside a `${ }` interpolation (0 outside one).
    Code(usize),
    Backtick,
}

/// An open bracket of any kind, with what to restore when it closes.
struct Open {
    at: usize,
    square: bool,
    /// `[` right after an operand: an index, not an array literal.
    index: bool,
    range: bool,
    /// Start of the operand this opener continues (or the opener itself).
    start: usize,
}

/// Every index whose brackets hold `..` or `..=` at their own level.
pub fn scan(source: &str) -> Vec<Mark> {
    let chars: Vec<char> = source.chars().collect();
    let mut marks = Vec::new();
    let mut i = 0;
    let mut modes = vec![Mode::Code(0)];
    let mut opens: Vec<Open> = Vec::new();
    // Whether the previous token ends an operand (a name, literal, `)` or `]`), and where
    // that operand's postfix chain began.
    let mut operand: Option<usize> = None;
    // The previous token was a `.` or `::` (a property or path follows).
    let mut joined = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied().unwrap_or('\0');
        if modes.last() == Some(&Mode::Backtick) {
            if c == '`' {
                modes.pop();
            } else if c == '$' && next == '{' {
                i += 1;
                modes.push(Mode::Code(1));
                operand = None;
            }
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && next == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == '*' {
            let mut nest = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nest += 1;
                    i += 1;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nest -= 1;
                    i += 1;
                    if nest == 0 {
                        i += 1;
                        break;
                    }
                }
                i += 1;
            }
            continue;
        }
        let begin = i;
        let start = if joined {
            operand.unwrap_or(begin)
        } else {
            begin
        };
        joined = false;
        if c == '"' || c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            operand = Some(begin);
            continue;
        }
        if c == '`' {
            modes.push(Mode::Backtick);
            i += 1;
            operand = Some(begin);
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let mut word = String::new();
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                word.push(chars[i]);
                i += 1;
            }
            // A number's fraction (`1.5`), not a range (`1..5`) nor a method (`1.max`).
            if word.starts_with(|d: char| d.is_ascii_digit())
                && chars.get(i) == Some(&'.')
                && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())
            {
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            operand = (!KEYWORDS.contains(&word.as_str())).then_some(start);
            continue;
        }
        i += 1;
        match c {
            '[' | '(' | '{' => {
                let index = operand.is_some() && c != '{';
                opens.push(Open {
                    at: begin,
                    square: c == '[',
                    index,
                    range: false,
                    start: operand.filter(|_| index).unwrap_or(begin),
                });
                if c == '{'
                    && let Some(Mode::Code(n)) = modes.last_mut()
                    && *n > 0
                {
                    *n += 1;
                }
                operand = None;
            }
            ']' | ')' | '}' => {
                if c == '}'
                    && let Some(Mode::Code(n)) = modes.last_mut()
                    && *n > 0
                {
                    *n -= 1;
                    if *n == 0 {
                        modes.pop();
                        operand = None;
                        continue;
                    }
                }
                let Some(open) = opens.pop() else {
                    operand = None;
                    continue;
                };
                if open.square && open.index && open.range && !assigned(&chars[i..]) {
                    marks.push(Mark {
                        open: open.at,
                        close: begin,
                        start: open.start,
                        wrap: continues(&chars[i..]),
                    });
                }
                operand = (c != '}').then_some(open.start);
            }
            '.' if next == '.' => {
                if let Some(open) = opens.last_mut() {
                    open.range = true;
                }
                i += 1;
                if chars.get(i) == Some(&'=') {
                    i += 1;
                }
                operand = None;
            }
            '.' => joined = true,
            '?' if next == '.' => {
                i += 1;
                joined = true;
            }
            ':' if next == ':' => {
                i += 1;
                joined = true;
            }
            _ => operand = None,
        }
    }
    marks
}

/// `b[0..2] = x` stays an index (and Rhai's own error), not a slice.
fn assigned(rest: &[char]) -> bool {
    let mut it = rest.iter().skip_while(|c| c.is_whitespace());
    matches!((it.next(), it.next()), (Some('='), Some(c)) if *c != '=')
}

/// More postfix after the `]`: `.len()`, `[0]`, `?.x`.
fn continues(rest: &[char]) -> bool {
    let mut it = rest.iter().skip_while(|c| **c == ' ' || **c == '\t');
    match (it.next(), it.next()) {
        (Some('.'), Some(c)) => *c != '.',
        (Some('['), _) => true,
        (Some('?'), Some('.' | '[')) => true,
        _ => false,
    }
}

/// The source with each mark turned into the `@` operator.
pub fn rewrite(source: &str, marks: &[Mark]) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut insert: HashMap<usize, String> = HashMap::new();
    let mut replace: HashMap<usize, &str> = HashMap::new();
    let mut dropped = vec![false; chars.len()];
    let blank = |c: char| c == ' ' || c == '\t';
    for m in marks {
        replace.insert(m.open, "@(");
        let mut extra = 1;
        if m.wrap {
            insert.entry(m.start).or_default().push('(');
            replace.insert(m.close, "))");
            extra += 1;
        } else {
            replace.insert(m.close, ")");
        }
        // Keep later columns: drop spaces right after the `]`, else right before the operand
        // when that merges no two tokens.
        let mut at = m.close + 1;
        while extra > 0 && at < chars.len() && blank(chars[at]) && !dropped[at] {
            dropped[at] = true;
            extra -= 1;
            at += 1;
        }
        let mut at = m.start;
        while extra > 0 && at > 0 && blank(chars[at - 1]) && !dropped[at - 1] {
            let before = if at >= 2 { chars[at - 2] } else { '\n' };
            if before.is_alphanumeric() || before == '_' || before == '"' {
                break;
            }
            dropped[at - 1] = true;
            extra -= 1;
            at -= 1;
        }
    }
    let mut out = String::with_capacity(source.len() + 2 * marks.len());
    for (i, c) in chars.iter().enumerate() {
        if let Some(text) = insert.get(&i) {
            out.push_str(text);
        }
        if dropped[i] {
            continue;
        }
        match replace.get(&i) {
            Some(text) => out.push_str(text),
            None => out.push(*c),
        }
    }
    out
}

fn range_of(v: &Dynamic) -> Option<(i64, Option<i64>)> {
    if let Some(r) = v.read_lock::<std::ops::Range<i64>>() {
        return Some((r.start, Some(r.end)));
    }
    let r = v.read_lock::<std::ops::RangeInclusive<i64>>()?;
    let end = *r.end();
    Some((
        *r.start(),
        Some(if end == i64::MAX { end } else { end + 1 }),
    ))
}

/// `value[range]` for a blob, a string (by characters) or an array.
pub fn slice_value(target: &Dynamic, range: &Dynamic) -> Fallible<Dynamic> {
    let Some((start, end)) = range_of(range) else {
        return Err(script_error(
            ErrorKind::Value,
            format!(
                "an index range must be a range like 2..6, not {}",
                super::forms::value_word(range)
            ),
        ));
    };
    if let Some(b) = target.read_lock::<Blob>() {
        let r = bounds(b.len(), start, end, "blob[range]")?;
        return Ok(Dynamic::from_blob(b[r].to_vec()));
    }
    if let Some(s) = target.read_lock::<ImmutableString>() {
        let chars: Vec<char> = s.chars().collect();
        let r = bounds(chars.len(), start, end, "string[range]")?;
        return Ok(chars[r].iter().collect::<String>().into());
    }
    if let Some(a) = target.read_lock::<Array>() {
        let r = bounds(a.len(), start, end, "array[range]")?;
        return Ok(Dynamic::from_array(a[r].to_vec()));
    }
    Err(script_error(
        ErrorKind::Value,
        format!(
            "a {} cannot be indexed with a range",
            super::forms::value_word(target)
        ),
    ))
}

pub fn register(engine: &mut Engine) {
    // A reserved symbol is free to become an operator; it binds tighter than any other.
    let _ = engine.register_custom_operator(OPERATOR, 255);
    engine.register_fn(OPERATOR, |target: Dynamic, range: Dynamic| {
        slice_value(&target, &range)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(src: &str) -> String {
        rewrite(src, &scan(src))
    }

    #[test]
    fn rewrites_range_indexes() {
        assert_eq!(out("b[2..6]"), "b@(2..6)");
        assert_eq!(out("b[6..]"), "b@(6..)");
        assert_eq!(out("d.data[0..2] == q[0..=1]"), "d.data@(0..2)==q@(0..=1)");
        assert_eq!(out("b[1..].len()"), "(b@(1..)).len()");
        assert_eq!(
            out("x = s.recv(9)[0..2].len();"),
            "x =(s.recv(9)@(0..2)).len();"
        );
        assert_eq!(out("f(x)[1..2]"), "f(x)@(1..2)");
        assert_eq!(out("b[f(1)..g[2]]"), "b@(f(1)..g[2])");
        assert_eq!(out("b[x[1..2].len()]"), "b[(x@(1..2)).len()]");
    }

    #[test]
    fn keeps_later_columns_where_it_can() {
        let src = "let a = d.data[0..2] == q[0..2]; fail()";
        let new = out(src);
        assert_eq!(new.find("fail"), src.find("fail"));
    }

    #[test]
    fn leaves_everything_else() {
        for src in [
            "b[2]",
            "[1..3]",
            "for i in [0..3] {}",
            "\"b[1..2]\" // c[1..2]\n/* d[1..2] */",
            "b[1.5]",
            "b[0..2] = x",
            "`d[1..2]`",
            "let x = [0..2];",
            "return [1..2]",
        ] {
            assert_eq!(out(src), src, "{src}");
        }
        assert_eq!(out("`${d[1..2]}`"), "`${d@(1..2)}`");
    }
}
