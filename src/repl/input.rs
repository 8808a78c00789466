//! When is an input finished? The Rhai parser decides: an error that is only the end of the
//! input coming too soon (an open block, call, array or backtick string) asks for more lines.

use rhai::{Engine, LexError, ParseErrorType};

/// Whether `input` is ready to run (or to show its syntax error).
pub fn is_complete(engine: &Engine, input: &str) -> bool {
    let text = input.trim();
    if text.is_empty() || text.starts_with(':') {
        return true;
    }
    let Err(err) = engine.compile(input) else {
        return true;
    };
    // `for i in range(3):` is Python's block: run it now, to show the hint, not `...>`.
    if super::python::block_header(text.lines().last().unwrap_or("")) {
        return true;
    }
    let pos = err.position();
    let unfinished = match err.err_type() {
        ParseErrorType::BadInput(LexError::UnterminatedString) => {
            // A backtick string spans lines; a "..." one only after a trailing `\`.
            let start = offset(input, pos.line(), pos.position());
            let opened = start.and_then(|i| input[i..].chars().next());
            opened == Some('`') || input.trim_end_matches(['\n', '\r']).ends_with('\\')
        }
        ParseErrorType::MissingToken(..)
        | ParseErrorType::UnexpectedEOF
        | ParseErrorType::ExprExpected(_)
        | ParseErrorType::VariableExpected
        | ParseErrorType::PropertyExpected
        | ParseErrorType::FnMissingBody(_)
        | ParseErrorType::FnMissingParams(_) => {
            // Only when nothing but blanks follows the error: `(1 2)` is wrong, not unfinished.
            offset(input, pos.line(), pos.position()).is_none_or(|i| input[i..].trim().is_empty())
        }
        _ => false,
    };
    !unfinished
}

/// The way out of a continuation that will never end, at the keyboard: two empty lines
/// (rustyline validates the buffer before adding the newline of the line just ended).
pub fn gave_up(input: &str) -> bool {
    input[input.trim_end().len()..].matches('\n').count() >= 2
}

/// Byte offset of a 1-based line and column (in characters); the end of the input when the
/// position is just past it.
fn offset(input: &str, line: Option<usize>, col: Option<usize>) -> Option<usize> {
    let (line, col) = (line?, col.unwrap_or(1));
    let mut start = 0;
    for _ in 1..line {
        start += input[start..].find('\n')? + 1;
    }
    let rest = &input[start..];
    let in_line = rest
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    Some(start + in_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(input: &str) -> bool {
        is_complete(&Engine::new(), input)
    }

    #[test]
    fn open_constructs_continue() {
        assert!(!complete("fn f(x) {"));
        assert!(!complete("fn f(x) {\n  x + 1"));
        assert!(!complete("fn f(x) {\n"));
        assert!(!complete("s.recvfrom("));
        assert!(!complete("let a = [1, 2"));
        assert!(!complete("let x = "));
        assert!(!complete("let s = `multi\nline"));
        assert!(!complete("let s = \"abc\\"));
        assert!(!complete("x."));
    }

    #[test]
    fn finished_or_wrong_input_runs() {
        assert!(complete("fn f(x) { x + 1 }"));
        assert!(complete("let x = (1 2)"));
        assert!(complete("let s = \"abc"));
        assert!(complete("foo(1 2)"));
        assert!(complete(":help recvfrom"));
        assert!(complete(""));
        assert!(complete("let x = 1; // done"));
        assert!(complete("for i in range(3):"));
        assert!(complete("def f(x):"));
        assert!(complete("else:"));
        assert!(!complete("let m = #{a:"));
    }

    #[test]
    fn two_empty_lines_end_a_continuation() {
        assert!(!gave_up("fn f(x) {\n"));
        assert!(gave_up("fn f(x) {\n\n"));
    }
}
