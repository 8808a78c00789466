//! Reading a script and the checks Rhai's parser does not make: not a regular file, not UTF-8
//! (with the line and column of the first bad byte), a block comment never closed (which
//! would make the rest of the script a comment and the run a false pass).

use std::path::Path;

use rhai::Engine;

use crate::diagnostic::Diagnostic;
use crate::kind::ErrorKind;

/// Why a script could not be read: a message, or a positioned diagnostic.
pub enum ReadError {
    Message(String),
    Diagnostic(Box<Diagnostic>),
}

/// The text of the script at `path` (shown as `name`).
pub fn read_script(path: &Path, name: &str) -> Result<String, ReadError> {
    let shown = crate::display::one_line(name).into_owned();
    let meta = std::fs::metadata(path)
        .map_err(|e| ReadError::Message(format!("cannot read {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(ReadError::Message(format!(
            "cannot read {shown}: not a regular file"
        )));
    }
    let bytes =
        std::fs::read(path).map_err(|e| ReadError::Message(format!("cannot read {shown}: {e}")))?;
    // A BOM, as some editors save it, is not part of the script (Python skips it too).
    let bytes = match bytes.strip_prefix(b"\xef\xbb\xbf") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let text = String::from_utf8_lossy(good);
        let line = text.matches('\n').count() + 1;
        let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ReadError::Diagnostic(Box::new(compile_error(
            name,
            line,
            col,
            "the script is not valid UTF-8 text".into(),
        )))
    })
}

/// Compiles a script (range indexes rewritten, see `ranges`), refusing what Rhai lets
/// through: a block comment never closed.
pub fn compile(engine: &Engine, source: &str, name: &str) -> Result<rhai::AST, Box<Diagnostic>> {
    // Past 65535 lines, the text Rhai compiles is folded (see `positions`).
    let mut folded = None;
    let ast = super::prepared(source, |source| {
        folded = super::positions::fold(engine, name, source);
        engine.compile(folded.as_deref().unwrap_or(source))
    })
    .map_err(|e| {
        let mut d = super::diagnose::from_parse(&e, name);
        super::diagnose::explain_incomplete(&mut d, &e, engine, source);
        Box::new(d)
    })?;
    match unterminated_comment(engine, folded.as_deref().unwrap_or(source), name) {
        Some(d) => Err(Box::new(d)),
        None => {
            let mut ast = super::native_calls::mark(ast);
            // Errors and call sites name their script by it, to find their real positions.
            ast.set_source(name);
            Ok(ast)
        }
    }
}

/// A `/*` with no `*/` (Rhai ends such a comment silently at the end of the file).
pub fn unterminated_comment(engine: &Engine, source: &str, name: &str) -> Option<Diagnostic> {
    let inputs = [source];
    let (mut tokens, _) = engine.lex(&inputs);
    let mut last_end = (1, 0);
    for (token, pos) in tokens.by_ref() {
        if token == rhai::Token::EOF {
            break;
        }
        last_end = (pos.line().unwrap_or(1), pos.position().unwrap_or(0));
    }
    if tokens.state.comment_level == 0 {
        return None;
    }
    // The comment opens after the last token: find its `/*`.
    let (line, col) = opening_after(source, last_end)?;
    let (line, col) = super::positions::map(Some(name), line, col);
    Some(compile_error(
        name,
        line,
        col,
        "syntax error: this block comment is never closed (no */ before the end)".into(),
    ))
}

fn opening_after(source: &str, (line, col): (usize, usize)) -> Option<(usize, usize)> {
    let mut offset = 0;
    for (i, text) in source.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            offset += text.char_indices().nth(col).map_or(text.len(), |(b, _)| b);
            break;
        }
        offset += text.len();
    }
    let at = offset + source.get(offset..)?.find("/*")?;
    let before = &source[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, col))
}

fn compile_error(name: &str, line: usize, col: usize, message: String) -> Diagnostic {
    Diagnostic {
        kind: ErrorKind::Compile,
        stop: None,
        message,
        file: name.into(),
        line,
        col,
        detail: None,
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_comment_left_open() {
        let engine = crate::api::compiler();
        let src = "let a = 1;\nassert(false);\n/* never closed\nmore";
        let d = unterminated_comment(&engine, src, "x.rhai").unwrap();
        assert_eq!((d.line, d.col), (3, 1));
        assert!(unterminated_comment(&engine, "let a = 1; /* ok */ a", "x").is_none());
        assert!(unterminated_comment(&engine, "let s = \"/*\";", "x").is_none());
        let d = unterminated_comment(&engine, "/* a /* b */", "x").unwrap();
        assert_eq!((d.line, d.col), (1, 1));
    }

    #[test]
    fn names_the_first_byte_that_is_not_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.rhai");
        std::fs::write(&path, b"let a = 1;\nlet b = \"\xff\";\n").unwrap();
        let Err(ReadError::Diagnostic(d)) = read_script(&path, "bad.rhai") else {
            panic!("expected a diagnostic");
        };
        assert_eq!((d.line, d.col), (2, 10));
        let Err(ReadError::Message(m)) = read_script(dir.path(), "dir") else {
            panic!("expected a message");
        };
        assert!(m.ends_with("not a regular file"), "{m}");
    }
}
