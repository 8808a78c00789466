//! `udpsh replay FILE --to ADDR [--speed X|max] [--filter EXPR] [--check] [--ignore-bytes A-B]`.
//!
//! Exit status: 0 every recorded reply came (and matched, with --check); 1 a reply differed;
//! 3 the server left a request unanswered (or the network failed); 2 a bad file or option.

use std::sync::atomic::{AtomicBool, Ordering};

use super::live::Failure;
use super::{Options, Plan, replay};
use crate::capture::{Filter, read_pcap};
use crate::display::print_error;
use crate::outcome::exit;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// What `udpsh replay` was asked, as plain values (`options.rs` makes it from the command line).
pub struct ReplayCommand {
    pub file: std::path::PathBuf,
    pub to: std::net::SocketAddr,
    pub speed: super::Speed,
    pub filter: Option<Filter>,
    pub check: bool,
    pub ignore: Vec<super::ByteRange>,
    pub wait: std::time::Duration,
}

pub fn run(args: &ReplayCommand) -> i32 {
    let capture = match read_pcap(&args.file, &Filter::default()) {
        Ok(c) => c,
        Err(e) => {
            print_error(e);
            return exit::USAGE;
        }
    };
    if let Some(warning) = capture.damage_warning(&args.file) {
        crate::display::print_warning(warning);
    }
    let plan = match Plan::new(&capture, args.filter.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            print_error(format_args!("{}: {e}", args.file.display()));
            return exit::USAGE;
        }
    };
    if let Err(e) = plan.send_times(args.speed) {
        print_error(format_args!("--speed: {e}"));
        return exit::USAGE;
    }
    let skipped = capture.skipped.describe();
    if !skipped.is_empty() {
        eprintln!(
            "note: {}: skipped {skipped}",
            crate::display::one_line(&args.file.to_string_lossy())
        );
    }
    println!(
        "replaying {} requests from {} ({}) to {}, expecting {} replies",
        plan.requests.len(),
        args.file.display(),
        plan.chosen,
        args.to,
        plan.expected_replies()
    );
    let opts = Options {
        to: args.to,
        speed: args.speed,
        check: args.check,
        ignore: args.ignore.clone(),
        wait: args.wait,
        recording: None,
    };
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::Relaxed));
    let report = match replay(&plan, &opts, &|| INTERRUPTED.load(Ordering::Relaxed)) {
        Ok(r) => r,
        Err(Failure::Stopped) => {
            eprintln!("interrupted");
            return exit::INTERRUPTED;
        }
        Err(Failure::Network(e)) => {
            print_error(e);
            return exit::ERROR;
        }
        Err(Failure::Invalid(e)) => {
            print_error(e);
            return exit::USAGE;
        }
    };
    for diff in &report.diffs {
        print!("{diff}");
    }
    print!("{}", report.missing_lines());
    if report.extra > 0 {
        println!("{} replies were not in the capture", report.extra);
    }
    println!("{}", report.summary());
    report.exit_code()
}
