//! udpsh: a scriptable UDP test harness and packet REPL. `main.rs` calls [`run`].

pub mod api;
pub mod binary;
pub mod blast;
pub mod capture;
pub mod cli;
pub mod diagnostic;
pub mod display;
pub mod fifo;
pub mod fuzz;
pub mod kind;
pub mod load;
pub mod memory;
pub mod net;
pub mod options;
pub mod outcome;
pub mod process;
pub mod protocols;
pub mod proxy;
pub mod random;
pub mod repl;
pub mod replay;
pub mod report;
pub mod runner;
pub mod seconds;
pub mod select;
pub mod stop;
pub mod threads;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use cli::{Cli, Command, Common};
use outcome::exit;
use runner::discover;

/// Runs udpsh with these arguments; returns the exit code.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    let color = color_wanted();
    // A program a script starts may fork into the background: what it leaves is ours to stop.
    process::orphans::adopt();
    let mut code = dispatch(cli, color);
    process::orphans::sweep(process::GRACE);
    if let Some(e) = display::stdout_error() {
        display::print_error(format!(
            "could not write to standard output ({e}): output was lost"
        ));
        code = code.max(exit::ERROR);
    }
    code
}

fn dispatch(cli: Cli, color: bool) -> i32 {
    let seed = match &cli.command {
        Some(Command::Run(args)) => args.common.seed,
        Some(Command::Repl(common)) => common.seed,
        _ => cli.common.seed,
    };
    if let Some(seed) = seed {
        random::set_run_seed(seed);
    }
    if let Some(script) = cli.eval {
        install_interrupt_handler();
        return eval_one(script, &cli.common, color);
    }
    match cli.command {
        Some(Command::Run(args)) => {
            install_interrupt_handler();
            run_command(*args, color)
        }
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut out = std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "udpsh", &mut out);
            exit::OK
        }
        Some(Command::Check { paths }) => runner::check(&paths, color),
        Some(Command::Repl(common)) => repl::run(options::repl(&common, color)),
        Some(Command::Proxy(args)) => proxy::command::run(&options::proxy(&args)),
        Some(Command::Replay(args)) => replay::command::run(&options::replay(&args)),
        Some(Command::Load(args)) => load_command(&args),
        Some(Command::Fuzz(args)) => {
            install_interrupt_handler();
            fuzz::command::run(&options::fuzz(&args))
        }
        None => repl::run(options::repl(&cli.common, color)),
    }
}

/// `udpsh load`: a `--script` is run here, where the API is, before the run.
fn load_command(args: &cli::LoadArgs) -> i32 {
    if let Some(merge) = options::load_merge(args) {
        return load::command::merge(merge);
    }
    let script = match &args.request.script {
        Some(path) => match api::loadtest::Scripted::from_file(path, &args.vars) {
            Ok(s) => Some(Box::new(s) as Box<dyn load::command::Script>),
            Err(e) => {
                display::print_error(e);
                return exit::USAGE;
            }
        },
        None => None,
    };
    match options::load(args, script) {
        Some(cmd) => load::command::run(cmd),
        None => exit::USAGE,
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
            std::process::exit(exit::INTERRUPTED);
        }
        stop::interrupt();
    });
}

/// Opens the `--pcap` file if one was given; a path that cannot be written is a usage error
/// (exit 2), reported before anything runs.
fn open_capture(path: Option<&std::path::Path>) -> Result<Option<capture::Recorder>, i32> {
    path.map(capture::Recorder::create)
        .transpose()
        .map_err(|e| {
            crate::display::print_error(e);
            exit::USAGE
        })
}

fn run_command(args: cli::RunArgs, color: bool) -> i32 {
    let files = match discover::discover(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            crate::display::print_error(e);
            return exit::USAGE;
        }
    };
    if let Err(e) = check_outputs(&args, &files) {
        crate::display::print_error(e);
        return exit::USAGE;
    }
    let scripts: Vec<&std::path::Path> = files.iter().map(|f| f.path.as_path()).collect();
    runner::outputs::protect_inputs(&scripts);
    let mut compiled = match runner::compile_all(&files, &options::vars(&args.common), color) {
        Ok(c) => c,
        Err(failed) => {
            // A file whose tests are known (its set-up's --var did not fit): each by name.
            for case in outcome::all_cases(&failed).filter(|c| c.case.name.is_some()) {
                eprintln!("{}", report::terminal::result_line(&case, color));
            }
            // Nothing runs; the reports say why, so CI does not show "no test report".
            if let Err(e) = report::write_reports(&args.reports, &failed, Duration::ZERO) {
                crate::display::print_error(e);
            }
            return exit::USAGE;
        }
    };
    for name in api::vars::unread(
        compiled.iter().map(|c| c.ast.as_ref()),
        &options::vars(&args.common),
    ) {
        let name = display::one_line(&name);
        eprintln!("warning: --var {name} is read by no var(\"{name}\", …) of these scripts");
    }
    let selection = options::selection(&args);
    compiled.retain(|c| c.is_selected(&selection));
    if let Some(shard) = args.shard {
        compiled = discover::shard(compiled, shard);
    }
    if args.list {
        runner::list(&compiled, &selection);
        return exit::OK;
    }
    if compiled.is_empty() {
        crate::display::print_error("no tests match");
        return exit::USAGE;
    }
    // The compiled scripts are udpsh's: --max-memory bounds what the scripts build.
    memory::set_aside_all();
    let captures = match (&args.pcap_dir, open_capture(args.common.pcap.as_deref())) {
        (_, Err(code)) => return code,
        (_, Ok(Some(shared))) => runner::Captures::Shared(shared),
        (Some(dir), Ok(None)) => runner::Captures::PerScript(dir.clone()),
        (None, Ok(None)) => runner::Captures::None,
    };
    runner::run_suite(&compiled, &captures, &options::suite(&args, color))
}

/// Before anything runs: no output overwrites a script, no two outputs share a file.
fn check_outputs(args: &cli::RunArgs, files: &[discover::ScriptFile]) -> Result<(), String> {
    let inputs: Vec<&std::path::Path> = files.iter().map(|f| f.path.as_path()).collect();
    let mut outputs: Vec<(String, &std::path::Path)> = Vec::new();
    if let Some(pcap) = &args.common.pcap {
        outputs.push(("--pcap".into(), pcap));
    }
    for spec in &args.reports {
        if let Some(path) = spec.path() {
            outputs.push((format!("--report {}", spec.format()), path));
        }
    }
    let on_stdout: Vec<&str> = args
        .reports
        .iter()
        .filter(|s| s.uses_stdout())
        .map(|s| s.format())
        .collect();
    if on_stdout.len() > 1 {
        return Err(format!(
            "--report {} all write stdout: give all but one a file",
            on_stdout.join(", ")
        ));
    }
    runner::outputs::check_distinct(&inputs, &outputs)
}

/// `udpsh -e 'SCRIPT'`: like a one-script run, but quiet unless it fails.
fn eval_one(source: String, common: &Common, color: bool) -> i32 {
    let engine = api::compiler();
    let script =
        match runner::script::compile(&engine, PathBuf::from("<-e>"), "<-e>".into(), &source) {
            Ok(s) => s,
            Err(d) => {
                eprint!("{}", d.render(&source, color));
                return exit::USAGE;
            }
        };
    runner::warn(&script);
    if let Some(d) = api::vars::check(&script.ast, &options::vars(common), "<-e>") {
        eprint!("{}", d.render(&source, color));
        return exit::USAGE;
    }
    let recorder = match open_capture(common.pcap.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    memory::set_aside_all();
    let outcome = runner::script::run(
        &script,
        &options::settings(common),
        recorder,
        Some(api::Output::stdout()),
    );
    for case in outcome.cases() {
        if let Some(failure) = case.failure() {
            eprint!("{}", failure.rendered);
        }
    }
    outcome::exit_code(std::slice::from_ref(&outcome))
}
