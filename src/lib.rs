//! udpsh: a scriptable UDP test harness and packet REPL. `main.rs` calls [`run`].

pub mod api;
pub mod blast;
pub mod capture;
pub mod cli;
pub mod diagnostic;
pub mod display;
pub mod net;
pub mod outcome;
pub mod proxy;
pub mod repl;
pub mod replay;
pub mod report;
pub mod runner;
pub mod stop;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use api::VarValue;
use cli::{Cli, Command, Common};
use runner::{RunSettings, SuiteOptions, discover};

/// Runs udpsh with these arguments; returns the exit code.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    let color = color_wanted();
    if let Some(script) = cli.eval {
        install_interrupt_handler();
        return eval_one(script, &cli.common, color);
    }
    match cli.command {
        Some(Command::Run(args)) => {
            install_interrupt_handler();
            run_command(args, color)
        }
        Some(Command::Check { paths }) => runner::check(&paths, color),
        Some(Command::Repl(common)) => repl::run(&common, color),
        Some(Command::Proxy(args)) => proxy::command::run(&args),
        Some(Command::Replay(args)) => replay::command::run(&args),
        None => repl::run(&cli.common, color),
    }
}

/// Colour only on a terminal, and never with NO_COLOR.
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::stdout().is_terminal()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// First Ctrl-C stops the running scripts cleanly; a second one exits at once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if stop::interrupted() {
            std::process::exit(130);
        }
        stop::interrupt();
    });
}

/// `--var` values, as the API takes them.
pub(crate) fn cli_vars(common: &Common) -> BTreeMap<String, VarValue> {
    common
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), VarValue::Text(v.clone())))
        .collect()
}

/// Opens the `--pcap` file if one was given; a path that cannot be written is a usage error
/// (exit 2), reported before anything runs.
pub(crate) fn open_capture(
    path: Option<&std::path::Path>,
) -> Result<Option<capture::Recorder>, i32> {
    path.map(capture::Recorder::create)
        .transpose()
        .map_err(|e| {
            eprintln!("error: {e}");
            2
        })
}

fn settings(common: &Common) -> RunSettings {
    RunSettings {
        vars: cli_vars(common),
        timeout: common.timeout.map(Duration::from_secs_f64),
        verbose: common.verbose,
    }
}

fn run_command(args: cli::RunArgs, color: bool) -> i32 {
    let mut files = match discover::discover(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(pattern) = &args.filter {
        files = discover::filter(files, pattern);
    }
    if let Some(shard) = args.shard {
        files = discover::shard(files, shard);
    }
    if files.is_empty() {
        eprintln!("error: no scripts match");
        return 2;
    }
    let compiled = match runner::compile_all(&files, color) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let opts = SuiteOptions {
        settings: settings(&args.common),
        pcap: args.common.pcap.clone(),
        pcap_dir: args.pcap_dir,
        reports: args.reports,
        jobs: usize::from(args.jobs),
        quiet: args.quiet,
        color,
    };
    runner::run_suite(&compiled, &opts)
}

/// `udpsh -e 'SCRIPT'`: like a one-script run, but quiet unless it fails.
fn eval_one(source: String, common: &Common, color: bool) -> i32 {
    let engine = runner::script::compiler();
    let script =
        match runner::script::compile(&engine, PathBuf::from("<-e>"), "<-e>".into(), &source) {
            Ok(s) => s,
            Err(d) => {
                eprint!("{}", d.render(&source, color));
                return 2;
            }
        };
    let recorder = match open_capture(common.pcap.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let outcome = runner::script::run(
        &script,
        &settings(common),
        recorder,
        Some(api::Output::stdout()),
    );
    if let Some(failure) = &outcome.failure {
        eprint!("{}", failure.rendered);
    }
    outcome::exit_code(std::slice::from_ref(&outcome))
}
