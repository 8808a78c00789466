//! Rhai's own tokenizer over an input, with byte offsets: the REPL reads inputs by tokens
//! (never by searching text, which would find `.watch(` inside a string).

use rhai::{Engine, Token};

/// One token and where it starts.
#[derive(Debug, Clone)]
pub struct Tok {
    pub token: Token,
    /// Byte offset in the input.
    pub start: usize,
    /// 1-based line and column (in characters), as Rhai counts them.
    pub line: usize,
    pub col: usize,
}

impl Tok {
    pub fn is(&self, token: &Token) -> bool {
        &self.token == token
    }

    /// `(` of a call, or the `()` Rhai reads as one token.
    pub fn opens_call(&self) -> bool {
        matches!(self.token, Token::LeftParen | Token::Unit)
    }

    pub fn ident(&self) -> Option<&str> {
        match &self.token {
            Token::Identifier(name) => Some(name.as_str()),
            _ => None,
        }
    }
}

/// The tokens of `src` (comments and whitespace skipped), up to an error or the end.
pub fn tokens(engine: &Engine, src: &str) -> Vec<Tok> {
    let lines = line_starts(src);
    let inputs = [src];
    let (stream, control) = engine.lex(&inputs);
    let mut out = Vec::new();
    // Braces open inside `${ ... }` of backtick strings: at the matching `}` the string
    // goes on, which the parser would tell the tokenizer.
    let mut interpolations: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    for (token, pos) in stream {
        if token == Token::EOF {
            break;
        }
        let (line, col) = (pos.line().unwrap_or(1), pos.position().unwrap_or(1));
        let start = offset(src, &lines, line, col);
        let stop = matches!(token, Token::LexError(_));
        match &token {
            // `${` comes as the string so far, then `{`.
            Token::InterpolatedString(_) => interpolations.push(depth + 1),
            Token::LeftBrace | Token::MapStart => depth += 1,
            Token::RightBrace => {
                if interpolations.last() == Some(&depth) {
                    interpolations.pop();
                    control.borrow_mut().is_within_text = true;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        out.push(Tok {
            token,
            start,
            line,
            col,
        });
        if stop {
            break;
        }
    }
    out
}

fn line_starts(src: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(src.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// Byte offset of a 1-based line and column (in characters).
fn offset(src: &str, lines: &[usize], line: usize, col: usize) -> usize {
    let Some(&start) = lines.get(line.saturating_sub(1)) else {
        return src.len();
    };
    let rest = &src[start..];
    rest.char_indices()
        .nth(col.saturating_sub(1))
        .map_or(src.len(), |(i, _)| start + i)
}

/// Index of the token that closes the bracket opened at `open` (same kind), if any.
pub fn closing(toks: &[Tok], open: usize) -> Option<usize> {
    if toks.get(open)?.is(&Token::Unit) {
        return Some(open);
    }
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.token {
            Token::LeftBrace | Token::MapStart | Token::LeftParen | Token::LeftBracket => {
                depth += 1
            }
            Token::RightBrace | Token::RightParen | Token::RightBracket => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Brackets still open at the end of `src`, and whether it ends inside a string.
pub fn open_at_end(engine: &Engine, src: &str) -> (usize, bool) {
    let toks = tokens(engine, src);
    let mut braces = 0usize;
    let mut in_string = false;
    for t in &toks {
        match &t.token {
            Token::LeftBrace | Token::MapStart | Token::LeftParen | Token::LeftBracket => {
                braces += 1
            }
            Token::RightBrace | Token::RightParen | Token::RightBracket => {
                braces = braces.saturating_sub(1)
            }
            Token::LexError(_) => in_string = true,
            _ => {}
        }
    }
    (braces, in_string)
}

/// Index of the first token of the last top-level statement.
pub fn last_statement(toks: &[Tok]) -> Option<usize> {
    let end = toks.len()
        - toks
            .iter()
            .rev()
            .take_while(|t| t.is(&Token::SemiColon))
            .count();
    let toks = &toks[..end];
    let mut depth = 0usize;
    let mut start = None;
    let mut after_block = false;
    for (i, t) in toks.iter().enumerate() {
        if depth == 0 && (start.is_none() || after_block) && !t.is(&Token::SemiColon) {
            // A statement begins: at the start, after `;`, or after a block that ended one.
            if start.is_none() || after_block_ends_statement(toks, i) {
                start = Some(i);
            }
        }
        after_block = false;
        match t.token {
            Token::LeftBrace | Token::MapStart | Token::LeftParen | Token::LeftBracket => {
                depth += 1
            }
            Token::RightBrace | Token::RightParen | Token::RightBracket => {
                depth = depth.saturating_sub(1);
                after_block = depth == 0 && t.is(&Token::RightBrace);
            }
            Token::SemiColon if depth == 0 => start = None,
            _ => {}
        }
    }
    start
}

/// After a top-level `}`, does the token at `i` start a new statement (not `else`, `catch`,
/// an operator or a method call continuing an expression)?
fn after_block_ends_statement(toks: &[Tok], i: usize) -> bool {
    !matches!(
        toks[i].token,
        Token::Else
            | Token::Catch
            | Token::Period
            | Token::Elvis
            | Token::Comma
            | Token::RightParen
            | Token::Plus
            | Token::Minus
            | Token::Multiply
            | Token::Divide
            | Token::EqualsTo
            | Token::NotEqualsTo
            | Token::LeftBracket
            | Token::Until
            | Token::While
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new()
    }

    #[test]
    fn offsets_are_bytes_and_strings_are_one_token() {
        let src = "let s = \"a.watch(1)\"; // .watch(\n s.sendto(\"é\", 1)";
        let toks = tokens(&engine(), src);
        let names: Vec<_> = toks.iter().filter_map(Tok::ident).collect();
        assert_eq!(names, ["s", "s", "sendto"]);
        let sendto = toks.iter().find(|t| t.ident() == Some("sendto")).unwrap();
        assert_eq!(&src[sendto.start..sendto.start + 6], "sendto");
        assert_eq!((sendto.line, sendto.col), (2, 4));
    }

    #[test]
    fn interpolation_resumes_the_string() {
        let src = "let t = `a ${ #{x: 1}.x } .watch( ${y}`; z";
        let names: Vec<_> = tokens(&engine(), src)
            .iter()
            .filter_map(|t| t.ident().map(String::from))
            .collect();
        assert_eq!(names, ["t", "x", "x", "y", "z"]);
    }

    #[test]
    fn open_brackets_and_strings() {
        assert_eq!(open_at_end(&engine(), "fn f() {\n  if x {"), (2, false));
        assert_eq!(open_at_end(&engine(), "let t = `abc\n"), (0, true));
        assert_eq!(open_at_end(&engine(), "f(1) { }"), (0, false));
    }
}
