//! The REPL without a terminal (`echo 'udp(0)' | udpsh`, CI): the same inputs, the same
//! multi-line rule and results, no prompt, no banner; exits non-zero if an input failed.

use crate::outcome::exit;
use std::io::BufRead;

use super::input;
use super::meta::{self, Next};
use super::printer::Printer;
use super::python::{self, Instead};
use super::session::{Options, Session};

pub fn run(opts: Options) -> i32 {
    let printer = Printer::start();
    let mut session = Session::new(opts, &printer);
    let mut worst = exit::OK;
    let mut pending = String::new();
    loop {
        let mut line = String::new();
        // One line at a time, unlocked in between, so a script's input() reads the next one.
        let read = std::io::stdin().lock().read_line(&mut line);
        match read {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                crate::display::print_error(format_args!("cannot read stdin: {e}"));
                worst = worst.max(exit::ERROR);
                break;
            }
        }
        let line = line.trim_end_matches(['\n', '\r']);
        if pending.is_empty() {
            if line.trim().is_empty() {
                session.skip_lines(1);
                continue;
            }
            if line.trim_start().starts_with(':') {
                session.skip_lines(1);
                let (next, code) = run_meta(&mut session, line);
                worst = worst.max(code);
                if let Next::Quit = next {
                    break;
                }
                continue;
            }
        } else {
            pending.push('\n');
        }
        pending.push_str(line);
        if !input::is_complete(session.engine(), &pending) {
            continue;
        }
        let input = std::mem::take(&mut pending);
        if let Some(instead) = python::instead(&input, |n| session.defines(n)) {
            session.skip_lines(input.lines().count().max(1));
            match instead {
                Instead::Quit => break,
                Instead::Hint(hint) => println!("{hint}"),
                Instead::Help { name, hint } => {
                    println!("{hint}");
                    let (_, code) = run_meta(&mut session, &format!(":help {name}"));
                    worst = worst.max(code);
                }
            }
            continue;
        }
        let code = eval(&mut session, &input);
        if code == exit::INTERRUPTED {
            return finish(&session, &printer, code);
        }
        worst = worst.max(code);
    }
    if !pending.trim().is_empty() {
        // Unfinished at the end of input: run it to show its syntax error.
        worst = worst.max(eval(&mut session, &pending));
    }
    finish(&session, &printer, worst)
}

/// Runs one input and prints its result; returns its exit code (0 when it ran).
fn eval(session: &mut Session, source: &str) -> i32 {
    match session.eval(source) {
        Ok(Some(text)) => {
            println!("{text}");
            exit::OK
        }
        Ok(None) => exit::OK,
        Err(failure) => {
            eprint!("{}", failure.rendered);
            failure.code
        }
    }
}

fn run_meta(session: &mut Session, line: &str) -> (Next, i32) {
    let (next, result) = meta::run(session, line);
    let code = match result {
        Ok(text) => {
            if !text.is_empty() {
                println!("{text}");
            }
            exit::OK
        }
        Err(text) => {
            crate::display::print_error(text);
            exit::USAGE
        }
    };
    (next, code)
}

fn finish(session: &Session, printer: &Printer, code: i32) -> i32 {
    session.finish();
    printer.flush();
    code
}
