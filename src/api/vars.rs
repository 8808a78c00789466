//! `--var` values checked before anything runs: every `var("name", default)` whose default is
//! a literal tells the type its value must have, so `--var port=abc` is a usage error at that
//! call (exit 2), not a failure halfway through a run.

use std::collections::BTreeMap;

use rhai::{AST, ASTNode, Expr, Stmt};

use crate::diagnostic::Diagnostic;
use crate::kind::ErrorKind;

use super::context::VarValue;
use super::error;

/// The first `--var` value that does not fit the literal default of its `var()` call.
pub fn check(ast: &AST, vars: &BTreeMap<String, VarValue>, file: &str) -> Option<Diagnostic> {
    let mut found = None;
    ast.walk(&mut |path: &[ASTNode]| {
        let (call, pos) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => (call, pos),
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => (call, pos),
            _ => return true,
        };
        if call.name != "var" || call.args.len() != 2 || !call.namespace.is_empty() {
            return true;
        }
        let default = call.args[1]
            .get_literal_value(None)
            .or_else(|| match &call.args[1] {
                // `var("payload", hex("01 02"))`, `var("b", blob(0))`: a blob default.
                Expr::FnCall(f, _)
                    if f.namespace.is_empty() && (f.name == "hex" || f.name == "blob") =>
                {
                    Some(rhai::Dynamic::from_blob(Vec::new()))
                }
                _ => None,
            });
        let (Some(name), Some(default)) = (call.args[0].get_literal_value(None), default) else {
            return true;
        };
        let Some(VarValue::Text(text)) = vars.get(&name.to_string()) else {
            return true;
        };
        match super::helpers::parse_var(&name.to_string(), text, &default) {
            Ok(_) => true,
            Err(e) => {
                let message = match *e {
                    rhai::EvalAltResult::ErrorRuntime(v, _) => error::fields(&v).map(|f| f.1),
                    _ => None,
                };
                let (line, col) = super::positions::real(Some(file), *pos);
                found = Some(Diagnostic {
                    kind: ErrorKind::Usage,
                    stop: None,
                    message: message.unwrap_or_else(|| format!("bad --var {name}")),
                    file: file.into(),
                    line,
                    col,
                    detail: None,
                    notes: Vec::new(),
                });
                false
            }
        }
    });
    found
}

/// The `--var` names no script reads (a typo: `--var sever=…`), when that can be known: no
/// `var()` name is computed, and no script spawns another (which might read it).
pub fn unread<'a>(
    asts: impl Iterator<Item = &'a AST>,
    vars: &BTreeMap<String, VarValue>,
) -> Vec<String> {
    let mut read = std::collections::HashSet::new();
    let mut unknowable = false;
    for ast in asts {
        ast.walk(&mut |path: &[ASTNode]| {
            let call = match path.last() {
                Some(ASTNode::Expr(Expr::FnCall(call, _))) => call,
                Some(ASTNode::Stmt(Stmt::FnCall(call, _))) => call,
                _ => return true,
            };
            match (call.name.as_str(), call.args.first()) {
                ("var", Some(name)) => match name.get_literal_value(None) {
                    Some(name) => {
                        read.insert(name.to_string());
                    }
                    None => unknowable = true,
                },
                // A closure is a function pointer (or, capturing, a call that curries one);
                // anything else may name a script file.
                ("spawn", Some(arg)) => {
                    unknowable |= !is_closure(arg);
                }
                _ => {}
            }
            true
        });
    }
    if unknowable {
        return Vec::new();
    }
    vars.keys()
        .filter(|k| !read.contains(*k))
        .cloned()
        .collect()
}

fn is_closure(expr: &Expr) -> bool {
    match expr {
        Expr::DynamicConstant(v, _) => v.is::<rhai::FnPtr>(),
        Expr::FnCall(call, _) => call.name == "curry" || call.name.starts_with("anon$"),
        // A capturing closure: the captured variables shared, then the curry call.
        Expr::Stmt(block) => match block.statements().last() {
            Some(Stmt::FnCall(call, _)) => call.name == "curry",
            Some(Stmt::Expr(e)) => is_closure(e),
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, VarValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), VarValue::Text(v.to_string())))
            .collect()
    }

    #[test]
    fn a_value_of_the_wrong_type_is_found_at_its_call() {
        let engine = crate::api::compiler();
        let ast = engine
            .compile("let a = 1;\nfn f() { var(\"port\", 8888) }\nlet w = var(\"wait\", 2.0);")
            .unwrap();
        let d = check(&ast, &vars(&[("port", "abc")]), "s.rhai").unwrap();
        assert_eq!((d.line, d.kind), (2, ErrorKind::Usage));
        assert!(
            d.message.contains("'abc' is not an integer"),
            "{}",
            d.message
        );
        assert!(check(&ast, &vars(&[("port", "9000"), ("wait", "0.5")]), "s").is_none());
        assert!(check(&ast, &vars(&[("wait", "soon")]), "s").is_some());
    }

    #[test]
    fn a_var_no_script_reads_is_named() {
        let engine = crate::api::compiler();
        let ast = engine.compile("let p = var(\"port\", 1);").unwrap();
        let given = vars(&[("port", "2"), ("sever", "x")]);
        assert_eq!(unread(std::iter::once(&ast), &given), ["sever"]);
        let spawns = engine.compile("spawn(\"child.rhai\");").unwrap();
        assert!(unread([&ast, &spawns].into_iter(), &given).is_empty());
        let closure = engine.compile("spawn(|| 1); var(\"port\", 1)").unwrap();
        assert_eq!(unread(std::iter::once(&closure), &given), ["sever"]);
        let capturing = engine
            .compile("let x = var(\"port\", 1); spawn(|| x + 1);")
            .unwrap();
        assert_eq!(unread(std::iter::once(&capturing), &given), ["sever"]);
    }
}
