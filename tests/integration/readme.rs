//! The README as a user reads it (as just's tests/readme.rs does): its API tables are the one
//! API table of `api::docs`, every Rhai example compiles, and the examples marked
//! `<!-- runs -->` run and pass. `UPDATE_README=1 cargo test readme` rewrites the tables.

use crate::support::*;

const TABLES_START: &str =
    "<!-- api-tables: made from src/api/docs.rs; UPDATE_README=1 cargo test readme -->\n";
const TABLES_END: &str = "<!-- /api-tables -->\n";

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

#[test]
fn the_api_tables_are_the_api_table() {
    let text = readme();
    let start = text
        .find(TABLES_START)
        .expect("README has the api-tables start marker")
        + TABLES_START.len();
    let end = start
        + text[start..]
            .find(TABLES_END)
            .expect("README has the end marker");
    let made = format!("\n{}", udpsh::api::docs_markdown::api_tables());
    if std::env::var_os("UPDATE_README").is_some() {
        let updated = format!("{}{made}{}", &text[..start], &text[end..]);
        std::fs::write(repo().join("README.md"), updated).unwrap();
        return;
    }
    assert!(
        text[start..end] == made,
        "README's API tables differ from src/api/docs.rs: UPDATE_README=1 cargo test readme"
    );
}

/// The fenced blocks of the README: (info string, body, whether `<!-- runs -->` precedes it).
fn blocks(text: &str) -> Vec<(String, String, bool)> {
    let mut found = Vec::new();
    let mut lines = text.lines().peekable();
    let mut previous = "";
    while let Some(line) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let runs = previous.trim() == "<!-- runs -->";
            let mut body = String::new();
            for inner in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                body.push_str(inner);
                body.push('\n');
            }
            found.push((info.trim().to_string(), body, runs));
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    found
}

#[test]
fn every_rhai_example_compiles() {
    let examples: Vec<String> = blocks(&readme())
        .into_iter()
        .filter(|(info, _, _)| info == "rhai")
        .map(|(_, body, _)| body)
        .collect();
    assert!(examples.len() >= 5, "{} examples", examples.len());
    // Compiled only (`udpsh check`): an example may join a multicast group or start a daemon,
    // which must never happen on the host.
    for body in &examples {
        let mut u = Udpsh::new(&["check"]);
        let file = u.path("example.rhai");
        std::fs::write(&file, body).unwrap();
        let out = u.arg(file.display()).output();
        assert_eq!(
            out.code,
            Some(0),
            "a README example does not compile:\n{body}\n{}",
            out.dump()
        );
    }
}

#[test]
fn the_examples_marked_runs_pass() {
    let marked: Vec<(String, String)> = blocks(&readme())
        .into_iter()
        .filter(|(_, _, runs)| *runs)
        .map(|(info, body, _)| (info, body))
        .collect();
    assert!(!marked.is_empty(), "no example is marked <!-- runs -->");
    for (info, body) in marked {
        match info.as_str() {
            "rhai" => {
                Udpsh::script("example.rhai", &body).output().success();
            }
            "sh" => {
                for command in body.lines().filter(|l| l.starts_with("udpsh ")) {
                    let command = command.split(" #").next().unwrap_or(command);
                    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
                    Udpsh::new(&args).output().success();
                }
            }
            other => panic!("cannot run a ```{other} example"),
        }
    }
}
