//! Classes of bug fixed at their root stay fixed there: each has one path in the source, and
//! a new way around it fails here, before it can fail a user.
//!
//! - Every thread is made by `threads::start` (a refused thread is an error of kind
//!   `thread`; `std::thread::spawn` panics).
//! - Every float becomes a duration in `seconds.rs` (`Duration::from_secs_f64`, `div_f64`
//!   and friends panic on a negative, NaN or too large value).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::repo;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where `patterns` appear in udpsh's own code (tests left out), but for `allowed`.
fn uses(patterns: &[&str], allowed: &str) -> Vec<String> {
    let mut files = Vec::new();
    sources(&repo().join("src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let name = file.strip_prefix(repo()).unwrap().display().to_string();
        if name == allowed || name.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may make threads and durations as they like.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or_default();
            if patterns.iter().any(|p| line.contains(p)) {
                found.push(format!("{name}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn every_thread_is_made_by_threads_start() {
    let found = uses(
        &[
            "thread::spawn",
            "thread::Builder",
            "spawn_scoped(",
            "Builder::new().name",
        ],
        "src/threads.rs",
    );
    assert!(
        found.is_empty(),
        "threads made around threads::start:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_float_becomes_a_duration_in_seconds_rs() {
    let found = uses(
        &[
            "from_secs_f64",
            "from_secs_f32",
            "try_from_secs_f",
            "div_f64",
            "div_f32",
            "mul_f64",
            "mul_f32",
        ],
        "src/seconds.rs",
    );
    assert!(
        found.is_empty(),
        "floats made durations around seconds.rs:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_watch_the_os_refuses_a_thread_is_an_error_of_kind_thread() {
    // As for spawn: the REPL's own thread (256 MiB of stack) fits, a watch's does not.
    let out = Command::new("prlimit")
        .arg(format!("--as={}", 512u64 << 20))
        .arg(env!("CARGO_BIN_EXE_udpsh"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(
                b"let s = udp(\"127.0.0.1:0\");\n\
                  try { s.watch(); print(\"watching\") } catch (e) { print(`kind ${e.kind}`) }\n",
            )?;
            child.wait_with_output()
        })
        .expect("prlimit (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned()
        + String::from_utf8_lossy(&out.stderr).as_ref();
    assert!(text.contains("kind thread"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
