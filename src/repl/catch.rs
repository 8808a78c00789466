//! `try { .. } catch (e) { e.kind }` as the last statement of an input: Rhai drops the value
//! of a catch block, so the REPL runs the input with the block's value kept in a hidden
//! variable and shows it, as it shows the value of the `try` block.

use rhai::{Engine, Token};

use super::lex;

/// The hidden variable the catch block's value goes to.
pub const CAUGHT: &str = "__udpsh_caught";

/// Marks "no catch block ran" in [`CAUGHT`].
#[derive(Clone)]
pub struct NotCaught;

/// The input to compile instead, and how its columns moved.
pub struct Rewrite {
    pub text: String,
    /// Insertions, in the input's coordinates: on `line`, after column `col`, `by` chars.
    shifts: Vec<(usize, usize, usize)>,
}

impl Rewrite {
    /// A position in the rewritten text, back in the input as typed.
    pub fn unshift(&self, line: usize, col: usize) -> usize {
        let mut moved = 0;
        for &(l, c, by) in self.shifts.iter().filter(|s| s.0 == line) {
            let _ = l;
            if col > c + moved {
                if col <= c + moved + by {
                    // Inside the text the REPL added: point at where it went in.
                    return c;
                }
                moved += by;
            }
        }
        col - moved
    }
}

const OPEN: &str = "__udpsh_caught = {";
const CLOSE: &str = "};";

/// The rewrite, when the input ends with a try/catch: both blocks keep their value.
pub fn rewrite(engine: &Engine, input: &str) -> Option<Rewrite> {
    let toks = lex::tokens(engine, input);
    let try_at = lex::last_statement(&toks)?;
    if !toks[try_at].is(&Token::Try) {
        return None;
    }
    let body_open = try_at + 1;
    if !toks.get(body_open)?.is(&Token::LeftBrace) {
        return None;
    }
    let body_end = lex::closing(&toks, body_open)?;
    let mut i = body_end + 1;
    if !toks.get(i)?.is(&Token::Catch) {
        return None;
    }
    i += 1;
    if toks.get(i)?.is(&Token::LeftParen) {
        i = lex::closing(&toks, i)? + 1;
    }
    if !toks.get(i)?.is(&Token::LeftBrace) {
        return None;
    }
    let catch_end = lex::closing(&toks, i)?;
    if toks[catch_end + 1..]
        .iter()
        .any(|t| !t.is(&Token::SemiColon))
    {
        return None;
    }
    // (byte offset, text) in order.
    let inserts = [
        (&toks[body_open], toks[body_open].start + 1, OPEN),
        (&toks[body_end], toks[body_end].start, CLOSE),
        (&toks[i], toks[i].start + 1, OPEN),
        (&toks[catch_end], toks[catch_end].start, CLOSE),
    ];
    let mut text = String::with_capacity(input.len() + 2 * (OPEN.len() + CLOSE.len()));
    let mut at = 0;
    let mut shifts = Vec::new();
    for (tok, offset, piece) in inserts {
        text.push_str(&input[at..offset]);
        text.push_str(piece);
        at = offset;
        // After `{` the insertion follows its column; before `}` it precedes it.
        let col = if piece == OPEN { tok.col } else { tok.col - 1 };
        shifts.push((tok.line, col, piece.chars().count()));
    }
    text.push_str(&input[at..]);
    Some(Rewrite { text, shifts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_a_final_try_catch() {
        let e = Engine::new();
        let r = rewrite(&e, "let a = 1;\ntry { x() } catch (e) { e.kind }").unwrap();
        assert_eq!(
            r.text,
            "let a = 1;\ntry {__udpsh_caught = { x() };} catch (e) {__udpsh_caught = { e.kind };}"
        );
        // `x` at 7 and `kind` at 27 of the line as typed.
        assert_eq!(r.unshift(2, 7 + 18), 7);
        assert_eq!(r.unshift(2, 27 + 18 + 2 + 18), 27);
        assert_eq!(r.unshift(1, 5), 5);
        assert!(rewrite(&e, "try { 1 } catch { 2 };").is_some());
        assert!(rewrite(&e, "if x { 1 } try { 1 } catch (e) { \"}\" }").is_some());
        assert!(rewrite(&e, "try { 1 } catch (e) { 2 } let b = 3;").is_none());
        assert!(rewrite(&e, "let t = \"try { 1 } catch (e) { 2 }\"").is_none());
        assert!(rewrite(&e, "fn f() { try { 1 } catch (e) { 2 } }").is_none());
    }

    #[test]
    fn the_value_of_the_catch_block_is_kept() {
        let e = Engine::new();
        let mut scope = rhai::Scope::new();
        scope.push(CAUGHT, ());
        let r = rewrite(&e, "try { throw \"x\" } catch (err) { err + \"!\" }").unwrap();
        e.run_with_scope(&mut scope, &r.text).unwrap();
        assert_eq!(scope.get_value::<String>(CAUGHT).unwrap(), "x!");
    }
}
