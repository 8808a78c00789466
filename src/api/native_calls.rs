//! Marks the calls of a script that no script function can answer as calls of native
//! functions only, so Rhai does not look for a script function first at each call.
//!
//! Rhai looks up a script function before a native one at every call, and for a method call
//! first by the receiver's type name (`map_type_name`, a hash, two cache lookups): about 500
//! instructions of a `c.sendto(b, addr)` that can only reach udpsh's `sendto`. A call whose
//! name no function of the script has (at any arity) cannot reach a script function:
//! a script's only script functions are its own (`fn`, closures); a module's are called with
//! its namespace (`dns::ask`), which is left alone, and so are operators. A map whose
//! property holds a closure (`obj.send(x)`) is still called: Rhai looks at the map before the
//! hashes. Only whole programs are marked (a REPL line may call a function of an earlier
//! line), and only their top-level code: the bodies of functions and closures live in the
//! script's function library, which Rhai shares and does not let us rewrite.

use std::collections::HashSet;

use rhai::{AST, Expr, FnCallExpr, FnCallHashes, Stmt, StmtBlock};

/// `ast` with the calls of its top-level code marked.
pub fn mark(ast: AST) -> AST {
    let names: HashSet<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
    let mut statements = ast.statements().to_vec();
    let marker = Marker { names };
    for s in &mut statements {
        marker.stmt(s);
    }
    let source = ast.source().unwrap_or_default().to_string();
    AST::new_with_source(statements, ast.shared_lib().clone(), source)
}

struct Marker {
    /// Names of the script's own functions.
    names: HashSet<String>,
}

impl Marker {
    fn stmt(&self, s: &mut Stmt) {
        match s {
            Stmt::If(x, _) | Stmt::While(x, _) | Stmt::Do(x, ..) | Stmt::TryCatch(x, _) => {
                self.expr(&mut x.expr);
                self.block(&mut x.body);
                self.block(&mut x.branch);
            }
            Stmt::Switch(x, _) => {
                self.expr(&mut x.0);
                for case in x.1.expressions.iter_mut() {
                    self.expr(&mut case.lhs);
                    self.expr(&mut case.rhs);
                }
            }
            Stmt::For(x, _) => {
                let flow = &mut x.2;
                self.expr(&mut flow.expr);
                self.block(&mut flow.body);
                self.block(&mut flow.branch);
            }
            Stmt::Var(x, ..) => self.expr(&mut x.1),
            Stmt::Assignment(x) => {
                self.expr(&mut x.1.lhs);
                self.expr(&mut x.1.rhs);
            }
            Stmt::FnCall(call, _) => self.call(call),
            Stmt::Block(block) => self.block(block),
            Stmt::Expr(e) => self.expr(e),
            Stmt::BreakLoop(Some(e), ..) | Stmt::Return(Some(e), ..) => self.expr(e),
            Stmt::Import(x, _) => self.expr(&mut x.0),
            _ => {}
        }
    }

    fn block(&self, block: &mut StmtBlock) {
        for s in block.statements_mut().iter_mut() {
            self.stmt(s);
        }
    }

    fn expr(&self, e: &mut Expr) {
        match e {
            Expr::InterpolatedString(items, _) | Expr::Array(items, _) => {
                for item in items.iter_mut() {
                    self.expr(item);
                }
            }
            Expr::Map(x, _) => {
                for (_, value) in x.0.iter_mut() {
                    self.expr(value);
                }
            }
            Expr::MethodCall(call, _) | Expr::FnCall(call, _) => self.call(call),
            Expr::Stmt(block) => self.block(block),
            Expr::Dot(x, ..) | Expr::Index(x, ..) => {
                self.expr(&mut x.lhs);
                self.expr(&mut x.rhs);
            }
            Expr::And(items, _) | Expr::Or(items, _) | Expr::Coalesce(items, _) => {
                for item in items.iter_mut() {
                    self.expr(item);
                }
            }
            Expr::Custom(x, _) => {
                for input in x.inputs.iter_mut() {
                    self.expr(input);
                }
            }
            _ => {}
        }
    }

    fn call(&self, call: &mut FnCallExpr) {
        for arg in call.args.iter_mut() {
            self.expr(arg);
        }
        if call.op_token.is_none()
            && call.namespace.is_empty()
            && !call.hashes.is_native_only()
            && !self.names.contains(call.name.as_str())
        {
            call.hashes = FnCallHashes::from_native_only(call.hashes.native());
        }
    }
}

#[cfg(test)]
mod tests {
    use rhai::{Dynamic, Engine};

    fn run(src: &str) -> Dynamic {
        let mut engine = Engine::new();
        engine.register_fn("twice", |x: i64| x * 2);
        engine.register_fn("twice", |s: &mut rhai::Map| s.len() as i64 * 2);
        let ast = super::mark(engine.compile(src).unwrap());
        engine.eval_ast::<Dynamic>(&ast).unwrap()
    }

    #[test]
    fn native_calls_still_reach_native_functions() {
        assert_eq!(run("twice(21)").as_int().unwrap(), 42);
        assert_eq!(run("let m = #{a: 1}; m.twice()").as_int().unwrap(), 2);
        assert_eq!(
            run("let x = 0; for i in 0..3 { x += twice(i) } x")
                .as_int()
                .unwrap(),
            6
        );
    }

    #[test]
    fn script_functions_are_still_found() {
        // The script's own function of a native name wins, as before.
        assert_eq!(run("fn twice(x) { x * 3 } twice(2)").as_int().unwrap(), 6);
        assert_eq!(
            run("fn twice() { 7 } let m = #{}; m.twice()")
                .as_int()
                .unwrap(),
            7
        );
        // A closure in a map property, called as a method.
        let src = "let m = #{twice: |x| x + 100}; m.twice(1)";
        assert_eq!(run(src).as_int().unwrap(), 101);
        // Calls inside functions and closures are left as they are.
        let src = "fn f(x) { twice(x) } let g = |x| twice(x); f(1) + g.call(2)";
        assert_eq!(run(src).as_int().unwrap(), 6);
    }
}
