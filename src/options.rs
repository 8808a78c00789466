//! The command line turned into plain values once, as hyperfine's `options.rs` does: nothing
//! below `lib.rs` sees clap.

use std::collections::BTreeMap;

use std::sync::Arc;

use crate::api::cases::SuiteSettings;
use crate::api::{Limits, VarValue};
use crate::cli::{
    Common, FuzzArgs, LoadArgs, LoadMerge, LoadThresholds, ProxyArgs, ReplayArgs, RunArgs,
};
use crate::fuzz::command::FuzzCommand;
use crate::load::command::{LoadCommand, MergeCommand, Payload, Script, Thresholds};
use crate::load::settings::Asked;
use crate::proxy::command::ProxyCommand;
use crate::repl::ReplOptions;
use crate::replay::command::ReplayCommand;
use crate::runner::{RunSettings, SuiteOptions};
use crate::select::Selection;

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
        suite: Default::default(),
        limits: limits(common),
        timeout: common
            .timeout
            .and_then(|s| crate::seconds::duration(s).ok()),
        verbose: common.verbose,
    }
}

pub fn repl(common: &Common, color: bool) -> ReplOptions {
    ReplOptions {
        vars: vars(common),
        limits: limits(common),
        pcap: common.pcap.clone(),
        timeout: common
            .timeout
            .and_then(|s| crate::seconds::duration(s).ok()),
        verbose: common.verbose,
        color,
    }
}

/// Which tests run, and how often.
pub fn selection(args: &RunArgs) -> Selection {
    Selection {
        filters: args.filter.clone(),
        excludes: args.exclude.clone(),
        tags: args.tag.clone(),
        skip_tags: args.skip_tag.clone(),
    }
}

pub fn suite(args: &RunArgs, color: bool) -> SuiteOptions {
    let suite = SuiteSettings {
        selection: selection(args),
        retries: args.retry,
        fail_fast: args.fail_fast,
    };
    SuiteOptions {
        settings: RunSettings {
            suite: Arc::new(suite),
            ..settings(&args.common)
        },
        repeat: args.repeat,
        reports: args.reports.clone(),
        jobs: usize::from(args.jobs),
        quiet: args.quiet,
        color,
    }
}

pub fn proxy(a: &ProxyArgs) -> ProxyCommand {
    ProxyCommand {
        to: a.to,
        listen: a.listen,
        loss: a.loss,
        delay: a.delay,
        jitter: a.jitter,
        dup: a.dup,
        reorder: a.reorder,
        seed: a.seed,
        pcap: a.pcap.clone(),
        count: a.count,
        duration: a.duration,
    }
}

pub fn fuzz(a: &FuzzArgs) -> FuzzCommand {
    FuzzCommand {
        to: a.to,
        start: a.start.clone(),
        seed_files: a.seed_files.clone(),
        from: a.from.clone(),
        hex: a.hex.clone(),
        protocol: a.protocol,
        layout: a.layout.clone(),
        cases: a.cases,
        duration: a.duration,
        seed: a.seed,
        out: a.out.clone(),
        restart: a.restart,
        every: a.every,
        hang: a.hang,
        probe: a.probe.clone(),
        // parse_secs took it: positive, finite, under 30 years.
        timeout: a.timeout.and_then(|s| crate::seconds::duration(s).ok()),
        pcap: a.pcap.clone(),
    }
}

pub fn replay(a: &ReplayArgs) -> ReplayCommand {
    ReplayCommand {
        file: a.file.clone(),
        to: a.to,
        speed: a.speed,
        filter: a.filter.clone(),
        check: a.check,
        ignore: a.ignore.clone(),
        wait: a.wait,
    }
}

fn thresholds(t: &LoadThresholds) -> Thresholds {
    Thresholds {
        max_p99: t.max_p99,
        max_p999: t.max_p999,
        max_loss: t.max_loss,
    }
}

/// `udpsh load merge ...`, if that is what was asked.
pub fn load_merge(a: &LoadArgs) -> Option<MergeCommand> {
    let Some(LoadMerge::Merge {
        files,
        json,
        thresholds: t,
    }) = &a.merge
    else {
        return None;
    };
    Some(MergeCommand {
        files: files.clone(),
        json: json.clone(),
        thresholds: thresholds(t),
    })
}

/// `udpsh load --to ...` (clap has made sure of `--to` and of one request); `script` is the
/// `--script`, already run.
pub fn load(a: &LoadArgs, script: Option<Box<dyn Script>>) -> Option<LoadCommand> {
    let r = &a.request;
    let payload = if let Some(hex) = &r.payload {
        Payload::Bytes(hex.0.clone())
    } else if let Some(text) = &r.text {
        Payload::Bytes(text.as_bytes().to_vec())
    } else if let Some(file) = &r.payload_file {
        Payload::File(file.clone())
    } else if let Some(name) = &r.dns {
        Payload::Dns(name.clone())
    } else {
        Payload::Script(script?)
    };
    Some(LoadCommand {
        to: a.to?,
        payload,
        asked: Asked {
            rate: a.rate,
            duration: a.duration,
            count: a.count,
            clients: a.clients,
            pair: a.pair.clone(),
            timeout: a.timeout,
            warmup: a.warmup,
            sample: a.sample,
            segment: a.segment,
        },
        thresholds: thresholds(&a.thresholds),
        json: a.json.clone(),
        pcap: a.pcap.clone(),
    })
}
