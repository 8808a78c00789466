//! The module graph of `src/` has no cycles: read from the `crate::…` and `super::…` paths of
//! each file (its unit tests left out), between top-level modules and between the siblings of
//! each folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;

use crate::support::repo;

type Module = Vec<String>;

fn modules(src: &Path) -> BTreeMap<Module, String> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut name: Module = rel.iter().map(|p| p.to_string_lossy().into()).collect();
            if name.last().is_some_and(|l| l == "mod") {
                name.pop();
            }
            if name == ["lib"] || name == ["main"] {
                name.clear();
            }
            found.insert(name, std::fs::read_to_string(&path).expect("a source file"));
        }
    }
    found
}

/// `a::{b, c::d}` → `a::b a::c::d`, and comments out.
fn flatten(text: &str) -> String {
    let comments = Regex::new(r"//.*").unwrap();
    let braces = Regex::new(r"((?:crate|super)(?:::[a-z_][a-z0-9_]*)*)::\{([^{}]*)\}").unwrap();
    let text = comments.replace_all(text, "");
    braces
        .replace_all(&text, |c: &regex::Captures| {
            c[2].split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| format!("{}::{x}", &c[1]))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .into_owned()
}

fn edges(modules: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let crate_path = Regex::new(r"\bcrate((?:::[a-z_][a-z0-9_]*)+)").unwrap();
    let super_path = Regex::new(r"\bsuper::([a-z_][a-z0-9_]*)").unwrap();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, text) in modules {
        // A file's unit tests (at its end) are not what the module depends on.
        let text = flatten(text.split("#[cfg(test)]").next().unwrap_or_default());
        for c in crate_path.captures_iter(&text) {
            let to: Module = c[1].split("::").skip(1).map(String::from).collect();
            // The edge is between the children of the deepest parent the two share.
            let shared = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if shared < from.len() && shared < to.len() && modules.contains_key(&to[..=shared]) {
                edges
                    .entry(from[..=shared].to_vec())
                    .or_default()
                    .insert(to[..=shared].to_vec());
            }
        }
        if let Some((_, parent)) = from.split_last() {
            for c in super_path.captures_iter(&text) {
                let mut to = parent.to_vec();
                to.push(c[1].to_string());
                if &to != from && modules.contains_key(&to) {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    edges
}

fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    fn visit(
        at: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<Module, bool>,
        stack: &mut Vec<Module>,
        found: &mut Vec<String>,
    ) {
        state.insert(at.clone(), false);
        stack.push(at.clone());
        for next in edges.get(at).into_iter().flatten() {
            match state.get(next) {
                Some(false) => {
                    let from = stack.iter().position(|m| m == next).unwrap();
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|m| m.join("::")).collect();
                    cycle.push(next.join("::"));
                    found.push(cycle.join(" -> "));
                }
                Some(true) => {}
                None => visit(next, edges, state, stack, found),
            }
        }
        stack.pop();
        state.insert(at.clone(), true);
    }
    let mut state = BTreeMap::new();
    let mut found = Vec::new();
    for at in edges.keys() {
        if !state.contains_key(at) {
            visit(at, edges, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found
}

#[test]
fn the_module_graph_has_no_cycles() {
    let modules = modules(&repo().join("src"));
    let edges = edges(&modules);
    assert!(
        edges.len() > 20,
        "the reader found too few modules: {edges:?}"
    );
    assert_eq!(cycles(&edges), Vec::<String>::new());
}

#[test]
fn the_reader_finds_a_cycle_when_there_is_one() {
    let mut modules = BTreeMap::new();
    modules.insert(vec!["api".to_string()], String::new());
    modules.insert(
        vec!["api".into(), "context".into()],
        "use super::spawn::SpawnHandle;".into(),
    );
    modules.insert(
        vec!["api".into(), "spawn".into()],
        "use crate::api::{context::ScriptCtx, error};".into(),
    );
    modules.insert(vec!["api".into(), "error".into()], String::new());
    modules.insert(vec!["diagnostic".into()], "use crate::api::error;".into());
    let edges = edges(&modules);
    assert_eq!(
        cycles(&edges),
        vec!["api::context -> api::spawn -> api::context".to_string()]
    );
}
