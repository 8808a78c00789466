//! SIGTERM and `--timeout` hold in every loop udpsh runs: the `--retry` and `--repeat` loops
//! of the runner, a test's own retries, and the native loops that send (request, ask, blast)
//! — even when a loop has no wait in it (a zero timeout). CI cancels a job with SIGTERM; the
//! README promises it is handled like Ctrl-C: exit 3, never a pass.

use std::time::{Duration, Instant};

use crate::support::*;

/// Starts `udpsh ARGS` on `script`, waits until it printed `marker` (it is in its loop),
/// sends SIGTERM and returns what it left and how long it took to end.
fn terminated(script: &str, args: &[&str], marker: &str) -> (Output, Duration) {
    let mut run = Udpsh::script("t.rhai", script).args(args).spawn();
    run.wait_stdout(marker);
    run.wait_stdout(marker);
    run.signal(libc::SIGTERM);
    let sent = Instant::now();
    let out = run.finish();
    (out, sent.elapsed())
}

#[test]
fn sigterm_ends_every_retry_and_repeat_loop() {
    let loops: [(&str, &[&str]); 4] = [
        // A file that is one test, tried again by the runner.
        (
            "print(\"try\"); sleep(0.02); assert(false);",
            &["--retry", "1000"],
        ),
        // A test() tried again by itself, with --retry and with its own retries.
        (
            "test(\"t\", || { print(\"try\"); sleep(0.02); assert(false) });",
            &["--retry", "1000"],
        ),
        (
            "test(\"t\", #{retries: 1000}, || { print(\"try\"); sleep(0.02); assert(false) });",
            &[],
        ),
        // Every run of a long --repeat passes: the stop must still not be a pass.
        ("print(\"try\");", &["--repeat", "4294967295"]),
    ];
    for (script, args) in loops {
        let (out, took) = terminated(script, args, "try");
        let out = out.code(3);
        assert!(took < Duration::from_secs(3), "{script} {args:?}: {took:?}");
        if args.contains(&"--repeat") {
            // Planned lazily, so it started at once; what it never ran is said.
            assert!(
                out.stdout.contains(
                    "runs of --repeat 4294967295 were not started: the run was interrupted"
                ),
                "{}",
                out.dump()
            );
        }
    }
}

#[test]
fn the_timeout_bounds_a_run_with_all_its_retries() {
    for (script, args) in [
        ("sleep(0.02); assert(false);", &["--retry", "1000"][..]),
        (
            "test(\"t\", || { sleep(0.02); assert(false) });",
            &["--retry", "1000"][..],
        ),
        (
            "test(\"t\", #{retries: 1000}, || { sleep(0.02); assert(false) });",
            &[][..],
        ),
    ] {
        let started = Instant::now();
        Udpsh::script("t.rhai", script)
            .args(args)
            .timeout(1)
            .output()
            .code(3)
            .stdout_has("TIMEOUT")
            .stdout_has("--timeout of 1s reached");
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{script}: {:?}",
            started.elapsed()
        );
    }
}

/// Native loops of sends with no wait in them: a zero timeout and every retry there is.
const SEND_LOOPS: [&str; 4] = [
    "let c = udp(); c.request(\"x\", var(\"peer\", \"\"), #{timeout: 0, retries: 4294967295});",
    "import \"udpsh/dns\" as dns; let c = udp(); \
     dns::ask(c, var(\"peer\", \"\"), \"x.test\", \"A\", #{timeout: 0, retries: 4294967295});",
    "import \"udpsh/ntp\" as ntp; let c = udp(); \
     ntp::ask(c, var(\"peer\", \"\"), #{timeout: 0, retries: 4294967295});",
    "let c = udp(); c.blast(\"x\", var(\"peer\", \"\"), 9223372036854775807);",
];

#[test]
fn the_timeout_ends_loops_of_sends_that_never_wait() {
    let peer = Peer::new();
    for script in SEND_LOOPS {
        let started = Instant::now();
        Udpsh::script("s.rhai", script)
            .var("peer", peer.addr())
            .timeout(0.5)
            .output()
            .code(3)
            .output_has("--timeout of 0.5s reached");
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "{script}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn sigterm_ends_loops_of_sends_that_never_wait() {
    let peer = Peer::new();
    for script in SEND_LOOPS {
        let mut run = Udpsh::script("s.rhai", &format!("print(\"go\");\n{script}"))
            .var("peer", peer.addr())
            .spawn();
        run.wait_stdout("go");
        std::thread::sleep(Duration::from_millis(200));
        run.signal(libc::SIGTERM);
        let sent = Instant::now();
        run.finish().code(3);
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "{script}: {:?}",
            sent.elapsed()
        );
    }
}
