//! The self-contained scenarios and the shipped scripts as a whole.

use crate::support::*;

#[test]
fn every_scenario_passes() {
    let done = Udpsh::run("scripts/scenarios").output().success();
    for name in [
        "broadcast",
        "broadcast_denied",
        "chat",
        "echo",
        "oversize",
        "timeout",
        "truncation",
        "upload",
    ] {
        assert!(
            done.stdout.contains(name),
            "{name} not reported: {}",
            done.stdout
        );
    }
}

#[test]
fn every_shipped_script_compiles() {
    Udpsh::new(&["check", "scripts"]).output().success();
}
