//! The README as a user reads it (as just's tests/readme.rs does): its API tables are the one
//! API table of `api::docs`, every Rhai example compiles, and the examples marked
//! `<!-- runs -->` run and pass. `UPDATE_README=1 cargo test readme` rewrites the tables.

use crate::support::*;

/// The README's regions made from the code: (start marker, end marker, their text).
fn regions() -> [(&'static str, &'static str, String); 2] {
    [
        (
            "<!-- api-tables: made from src/api/docs.rs; UPDATE_README=1 cargo test readme -->\n",
            "<!-- /api-tables -->\n",
            format!("\n{}", udpsh::api::docs_markdown::api_tables()),
        ),
        (
            "<!-- error-kinds: made from src/kind.rs; UPDATE_README=1 cargo test readme -->\n",
            "<!-- /error-kinds -->\n",
            format!("\n{}\n", udpsh::api::docs_markdown::error_kinds()),
        ),
    ]
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

#[test]
fn the_api_tables_are_the_api_table() {
    let mut text = readme();
    for (start_marker, end_marker, made) in regions() {
        let start = text
            .find(start_marker)
            .unwrap_or_else(|| panic!("README lacks {start_marker}"))
            + start_marker.len();
        let end = start
            + text[start..]
                .find(end_marker)
                .unwrap_or_else(|| panic!("README lacks {end_marker}"));
        if std::env::var_os("UPDATE_README").is_some() {
            text = format!("{}{made}{}", &text[..start], &text[end..]);
            continue;
        }
        assert!(
            text[start..end] == made,
            "README differs from the code at {start_marker}: UPDATE_README=1 cargo test readme"
        );
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(repo().join("README.md"), text).unwrap();
    }
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
