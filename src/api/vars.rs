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
        let (Some(name), Some(default)) = (
            call.args[0].get_literal_value(None),
            call.args[1].get_literal_value(None),
        ) else {
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
                found = Some(Diagnostic {
                    kind: ErrorKind::Usage,
                    stop: None,
                    message: message.unwrap_or_else(|| format!("bad --var {name}")),
                    file: file.into(),
                    line: pos.line().unwrap_or(0),
                    col: pos.position().unwrap_or(0),
                    detail: None,
                    notes: Vec::new(),
                });
                false
            }
        }
    });
    found
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
}
