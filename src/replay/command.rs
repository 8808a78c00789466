//! `udpsh replay FILE --to ADDR [--speed X|max] [--filter EXPR] [--check] [--ignore-bytes A-B]`.
//!
//! Exit status: 0 every recorded reply came (and matched, with --check); 1 a reply differed;
//! 3 the server left a request unanswered (or the network failed); 2 a bad file or option.

use std::sync::atomic::{AtomicBool, Ordering};

use super::live::Failure;
use super::{Options, Plan, replay};
use crate::capture::{Filter, read_pcap};
use crate::cli::ReplayArgs;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn run(args: &ReplayArgs) -> i32 {
    let capture = match read_pcap(&args.file, &Filter::default()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let plan = match Plan::new(&capture, args.filter.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {}: {e}", args.file.display());
            return 2;
        }
    };
    let skipped = capture.skipped.describe();
    if !skipped.is_empty() {
        eprintln!("note: {}: skipped {skipped}", args.file.display());
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
            return 130;
        }
        Err(Failure::Network(e)) => {
            eprintln!("error: {e}");
            return 3;
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
