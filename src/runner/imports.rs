//! `udpsh check` also compiles what a script imports: a module with a syntax error, or one
//! that is not there, is found before the script runs, not when the `import` does.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rhai::{AST, ASTNode, Engine, Stmt};

use crate::api;
use crate::diagnostic::Diagnostic;
use crate::kind::ErrorKind;

/// A script or module: its compiled form, the name errors use and its text.
pub struct Script<'a> {
    pub ast: &'a AST,
    pub name: &'a str,
    pub source: &'a str,
}

/// A problem in a module, with the text it points into.
pub struct ImportProblem {
    pub diagnostic: Diagnostic,
    pub source: String,
}

/// Every module `ast` (the script `name` in `dir`) imports by a literal path, and every module
/// those import, compiled once each.
pub fn check(engine: &Engine, script: &Script, dir: &Path) -> Vec<ImportProblem> {
    let mut seen = HashSet::new();
    let mut problems = Vec::new();
    visit(engine, script, dir, &mut seen, &mut problems);
    problems
}

fn visit(
    engine: &Engine,
    script: &Script,
    dir: &Path,
    seen: &mut HashSet<PathBuf>,
    problems: &mut Vec<ImportProblem>,
) {
    for (path, line, col) in literal_imports(script.ast) {
        if let Some(module) = path.strip_prefix("udpsh/") {
            if !api::modules::BUILT_IN.contains(&module) {
                let message = format!(
                    "there is no built-in module '{path}' (there are udpsh/{})",
                    api::modules::BUILT_IN.join(", udpsh/")
                );
                problems.push(at_import(script, line, col, message));
            }
            continue;
        }
        let file = api::modules::module_file(dir, &path);
        let real = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if !seen.insert(real) {
            continue;
        }
        let shown = file.display().to_string();
        let text = match api::source::read_script(&file, &shown) {
            Ok(text) => text,
            Err(api::source::ReadError::Message(m)) => {
                let message = format!("cannot import '{path}': {m}");
                problems.push(at_import(script, line, col, message));
                continue;
            }
            Err(api::source::ReadError::Diagnostic(d)) => {
                problems.push(ImportProblem {
                    diagnostic: *d,
                    source: String::new(),
                });
                continue;
            }
        };
        match api::source::compile(engine, &text, &shown) {
            Ok(module) => {
                let below = file.parent().unwrap_or(dir).to_path_buf();
                let inner = Script {
                    ast: &module,
                    name: &shown,
                    source: &text,
                };
                visit(engine, &inner, &below, seen, problems);
            }
            Err(d) => problems.push(ImportProblem {
                diagnostic: *d,
                source: text,
            }),
        }
    }
}

/// `import "x"` anywhere in the script (in a function or block too), with its position.
fn literal_imports(ast: &AST) -> Vec<(String, usize, usize)> {
    let mut found = Vec::new();
    ast.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Stmt(Stmt::Import(x, pos))) = path.last()
            && let Some(value) = x.0.get_literal_value(None)
            && let Ok(text) = value.into_immutable_string()
        {
            let (line, col) = crate::api::positions::real(ast.source(), *pos);
            found.push((text.to_string(), line, col));
        }
        true
    });
    found
}

fn at_import(script: &Script, line: usize, col: usize, message: String) -> ImportProblem {
    ImportProblem {
        diagnostic: Diagnostic::at(ErrorKind::File, message, script.name, line, col),
        source: script.source.to_string(),
    }
}
