//! The command line turned into plain values once, as hyperfine's `options.rs` does: nothing
//! below `lib.rs` sees clap.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::api::{Limits, VarValue};
use crate::cli::{Common, RunArgs};
use crate::repl::ReplOptions;
use crate::runner::{RunSettings, SuiteOptions};

/// `--var` values, as the API takes them.
pub fn vars(common: &Common) -> BTreeMap<String, VarValue> {
    common
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), VarValue::Text(v.clone())))
        .collect()
}

fn limits(common: &Common) -> Limits {
    common
        .max_memory
        .map_or_else(Limits::default, |memory| Limits { memory })
}

pub fn settings(common: &Common) -> RunSettings {
    RunSettings {
        vars: vars(common),
        limits: limits(common),
        timeout: common.timeout.map(Duration::from_secs_f64),
        verbose: common.verbose,
    }
}

pub fn repl(common: &Common, color: bool) -> ReplOptions {
    ReplOptions {
        vars: vars(common),
        limits: limits(common),
        pcap: common.pcap.clone(),
        timeout: common.timeout.map(Duration::from_secs_f64),
        verbose: common.verbose,
        color,
    }
}

pub fn suite(args: &RunArgs, color: bool) -> SuiteOptions {
    SuiteOptions {
        settings: settings(&args.common),
        reports: args.reports.clone(),
        jobs: usize::from(args.jobs),
        quiet: args.quiet,
        color,
    }
}
