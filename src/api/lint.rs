//! Warnings a script gets before it runs, for code Rhai accepts but that is surely wrong:
//! `d.data == "PONG"` compares a blob with a string, which Rhai says is never equal (its
//! fast `==` cannot be overridden without slowing every operator), so the branch never runs.

use rhai::{AST, ASTNode, Expr, Stmt};

/// One warning: where, and what to write instead.
#[derive(Debug, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Every `==` / `!=` of a surely-blob (`x.data`, `hex(..)`, `blob(..)`, `x.to_blob()`) and a
/// string literal, in the script and its functions.
pub fn warnings(ast: &AST) -> Vec<Warning> {
    let mut found = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let (call, pos) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => (call, pos),
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => (call, pos),
            _ => return true,
        };
        if (call.name == "==" || call.name == "!=") && call.args.len() == 2 {
            let (a, b) = (&call.args[0], &call.args[1]);
            let blob_and_text = (is_blob(a) && is_text(b)) || (is_text(a) && is_blob(b));
            if blob_and_text {
                let always = if call.name == "==" { "false" } else { "true" };
                let (line, col) = super::positions::real(ast.source(), *pos);
                found.push(Warning {
                    line,
                    col,
                    message: format!(
                        "a blob {} a string is always {always} in Rhai: compare text with text \
                         (d.text == \"PONG\") or bytes with bytes (d.data == \"PONG\".to_blob())",
                        call.name
                    ),
                });
            }
        }
        true
    });
    found
}

fn is_text(e: &Expr) -> bool {
    matches!(e, Expr::StringConstant(..) | Expr::InterpolatedString(..))
}

fn is_blob(e: &Expr) -> bool {
    match e {
        Expr::Dot(x, ..) => match &x.rhs {
            Expr::Property(p, _) => p.2 == "data",
            Expr::MethodCall(m, _) => m.name == "to_blob",
            _ => false,
        },
        Expr::FnCall(f, _) => f.namespace.is_empty() && (f.name == "hex" || f.name == "blob"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_compared_with_a_string_is_found_wherever_it_is() {
        let engine = crate::api::compiler();
        let ast = engine
            .compile(
                r#"let d = 1;
                if d.data == "PONG" { }
                fn f(x) { hex("00") != `a` }
                if d.text == "PONG" { }
                if d.data == "PONG".to_blob() { }"#,
            )
            .unwrap();
        let found = warnings(&ast);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(
            (found[0].line, found[0].message.contains("always false")),
            (2, true)
        );
        assert!(found[1].message.contains("always true"));
    }
}
