//! udpsh's benchmark driver: runs udpsh, native Rust and Python contenders (and iperf3 when
//! installed) as child processes on loopback, interleaved round by round, and prints medians
//! and the ratios the performance issue sets targets for. Run it with `bench/run`.
//!
//! Every run is bounded: by a datagram count, and by a time limit after which the child is
//! killed. Only loopback addresses are used.
//!
//! `options` reads the command line once; `rounds` schedules and runs the contenders;
//! `statistics` keeps their samples, medians and ratios; `report` prints them.

mod child;
mod correlator;
mod instructions;
mod native;
mod options;
mod report;
mod rounds;
mod statistics;

use std::path::PathBuf;

use options::{Config, USAGE};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        // The native contenders, run as children of the driver like the others.
        Some("native-send") => contender(|| {
            let secs =
                native::send_loop(arg(&args, 1)?, arg(&args, 2)?).map_err(|e| e.to_string())?;
            println!("seconds {secs}");
            Ok(())
        }),
        Some("native-send-rec") => contender(|| {
            let file = PathBuf::from(args.get(3).ok_or("no capture file")?);
            let secs = native::send_loop_recorded(arg(&args, 1)?, arg(&args, 2)?, &file)
                .map_err(|e| e.to_string())?;
            println!("seconds {secs}");
            Ok(())
        }),
        Some("native-mmsg") => contender(|| {
            let secs = native::mmsg_loop(arg(&args, 1)?, arg(&args, 2)?, arg(&args, 3)?)
                .map_err(|e| e.to_string())?;
            println!("seconds {secs}");
            Ok(())
        }),
        Some("native-forward") => contender(|| {
            native::forwarder(arg(&args, 1)?, arg(&args, 2)?).map_err(|e| e.to_string())
        }),
        Some("native-correlate") => contender(|| {
            let timeout = std::time::Duration::from_millis(arg(&args, 4)?);
            let (received, secs) =
                correlator::correlate(arg(&args, 1)?, arg(&args, 2)?, arg(&args, 3)?, timeout)
                    .map_err(|e| e.to_string())?;
            println!("received {received}\nseconds {secs}");
            Ok(())
        }),
        Some("native-fast-echo") => {
            contender(|| correlator::fast_echo(arg(&args, 1)?).map_err(|e| e.to_string()))
        }
        Some("native-delay-echo") => contender(|| {
            let delay = std::time::Duration::from_micros(arg(&args, 2)?);
            correlator::delay_echo(arg(&args, 1)?, delay).map_err(|e| e.to_string())
        }),
        Some("native-echo") => {
            contender(|| native::echo_server(arg(&args, 1)?).map_err(|e| e.to_string()))
        }
        _ => match Config::parse(&args) {
            Ok(cfg) => drive(cfg),
            Err(e) => {
                eprintln!("{e}\n{USAGE}");
                2
            }
        },
    };
    std::process::exit(code);
}

fn contender(f: impl FnOnce() -> Result<(), String>) -> i32 {
    match f() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize) -> Result<T, String> {
    args.get(i)
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("argument {i} missing or invalid"))
}

fn drive(cfg: Config) -> i32 {
    if let Err(e) = std::fs::create_dir_all(&cfg.tmp) {
        eprintln!("cannot create {}: {e}", cfg.tmp.display());
        return 2;
    }
    let (mut r, started) = rounds::run(&cfg);
    let _ = std::fs::remove_dir_all(&cfg.tmp);
    statistics::ratios(&mut r);
    report::print(&cfg, &r, started.elapsed());
    if cfg.readme {
        let readme = cfg.root.join("README.md");
        match report::update_readme(&readme, &report::readme_table(&cfg, &r)) {
            Ok(()) => eprintln!("README.md: performance table rewritten"),
            Err(e) => eprintln!("README.md not rewritten: {e}"),
        }
    }
    0
}
