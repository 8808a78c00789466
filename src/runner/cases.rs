//! The tests a script declares: top-level `test("name", …)` calls with a literal name (and
//! literal tags), found in the AST without running anything — for `--list`, for selection,
//! and so a failing set-up fails each of the file's tests by name.

use rhai::{AST, Expr, Stmt};

use crate::api::cases::tags_of;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    pub tags: Vec<String>,
    /// Line and column of its `test(` call.
    pub at: (usize, usize),
}

/// Whether the script calls `test()` anywhere besides its declared tests: names made at run
/// time, or tests in loops or functions. Those are chosen only when they run.
pub fn has_runtime_tests(ast: &AST, declared: usize) -> bool {
    let mut calls = 0;
    ast.walk(&mut |path: &[rhai::ASTNode]| {
        let call = match path.last() {
            Some(rhai::ASTNode::Expr(Expr::FnCall(call, _))) => Some(call),
            Some(rhai::ASTNode::Stmt(Stmt::FnCall(call, _))) => Some(call),
            _ => None,
        };
        if call.is_some_and(|c| c.name == "test" && c.namespace.is_empty()) {
            calls += 1;
        }
        true
    });
    calls > declared
}

/// The file's declared tests, in order.
pub fn declared(ast: &AST) -> Vec<Declared> {
    ast.statements()
        .iter()
        .filter_map(|stmt| match stmt {
            Stmt::FnCall(call, pos) => Some((call, *pos)),
            Stmt::Expr(expr) => match expr.as_ref() {
                Expr::FnCall(call, pos) => Some((call, *pos)),
                _ => None,
            },
            _ => None,
        })
        .filter(|(call, _)| call.name == "test" && call.namespace.is_empty())
        .filter_map(|(call, pos)| {
            let name = call.args.first()?.get_literal_value(None)?;
            let name = name.read_lock::<rhai::ImmutableString>()?.to_string();
            let tags = match call.args.len() {
                3 => call.args[1]
                    .get_literal_value(None)
                    .map(|opts| tags_of(&opts))
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let at = crate::api::positions::real(ast.source(), pos);
            Some(Declared { name, tags, at })
        })
        .collect()
}

/// The first top-level `test(name, #{...}, f)` whose literal options are wrong (an unknown
/// key, a bad value): found before the file runs, so it fails alone instead of stopping the
/// file's set-up (and with it every later test). Its position and what is wrong.
pub fn bad_options(ast: &AST) -> Option<((usize, usize), String)> {
    ast.statements().iter().find_map(|stmt| {
        let (call, pos) = match stmt {
            Stmt::FnCall(call, pos) => (call, *pos),
            Stmt::Expr(expr) => match expr.as_ref() {
                Expr::FnCall(call, pos) => (call, *pos),
                _ => return None,
            },
            _ => return None,
        };
        if call.name != "test" || !call.namespace.is_empty() || call.args.len() != 3 {
            return None;
        }
        let opts = call.args[1].get_literal_value(None)?;
        let opts = opts.read_lock::<rhai::Map>()?;
        let problem = crate::api::suite::options_problem(&opts)?;
        Some((crate::api::positions::real(ast.source(), pos), problem))
    })
}

/// A test named like an earlier one, or with no name: reports could not tell them apart.
pub fn misnamed(declared: &[Declared]) -> Option<(&Declared, String)> {
    declared.iter().enumerate().find_map(|(i, d)| {
        if d.name.trim().is_empty() {
            return Some((d, "a test needs a name".to_string()));
        }
        let first = declared[..i].iter().find(|e| e.name == d.name)?;
        Some((
            d,
            format!(
                "test \"{}\" is named twice (first at line {}): reports need one name per test",
                d.name, first.at.0
            ),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_tests_with_literal_names_and_tags() {
        let engine = crate::api::compiler();
        let ast = engine
            .compile(
                r#"let s = 1;
                test("A record", || { assert(true) });
                test("slow", #{tags: ["dns", "slow"], timeout: 2.0}, || {});
                let n = "computed"; test(n, || {});
                if s > 0 { test("nested", || {}) }
                "#,
            )
            .unwrap();
        let found = declared(&ast);
        assert!(has_runtime_tests(&ast, found.len()));
        assert_eq!(
            found,
            [
                Declared {
                    name: "A record".into(),
                    tags: vec![],
                    at: (2, 17)
                },
                Declared {
                    name: "slow".into(),
                    tags: vec!["dns".into(), "slow".into()],
                    at: (3, 17)
                },
            ]
        );
    }
}
