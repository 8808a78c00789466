//! Numbers a user gives — counts, seconds, sizes — at their extremes: each is bounded or
//! computed without overflow, so a failing test never passes, no float makes a duration
//! panic, no format makes an allocation abort, and every refusal is a clean error (kind
//! `value` at the script's line, or a usage error naming the option).

use std::process::{Command, Stdio};

use crate::support::*;

fn no_crash(what: &str, out: &Output) {
    assert!(
        !out.stderr.contains("panicked") && !matches!(out.code, None | Some(101) | Some(134)),
        "{what} crashed: {}",
        out.dump()
    );
}

#[test]
fn a_failing_test_never_passes_whatever_count_it_is_retried_with() {
    for (args, script) in [
        (&[][..], "test(\"t\", #{retries: 1000}, || assert(false));"),
        (&["--retry", "1000"][..], "test(\"t\", || assert(false));"),
        (&["--retry", "1000"][..], "assert(false);"),
        (&["--repeat", "3", "--retry", "2"][..], "assert(false);"),
    ] {
        let out = Udpsh::script("t.rhai", script).args(args).output().code(1);
        assert!(!out.stdout.contains(" 1 passed"), "{}", out.dump());
        assert!(!out.stdout.contains("ok  "), "{}", out.dump());
    }
    // Past the bound: refused before anything runs, never wrapped to zero tries.
    for (args, script, says) in [
        (&["--retry", "4294967295"][..], "assert(false);", "0..=1000"),
        (&["--retry", "1001"][..], "assert(false);", "0..=1000"),
        (&["--repeat", "0"][..], "assert(false);", "--repeat"),
        (
            &["--repeat", "4294967296"][..],
            "assert(false);",
            "--repeat",
        ),
        (
            &[][..],
            "test(\"t\", #{retries: 4294967295}, || assert(false));",
            "retries must be 0 to 1000",
        ),
        (
            &[][..],
            "test(\"t\", #{retries: -1}, || assert(false));",
            "retries must be 0 to 1000",
        ),
        (
            &[][..],
            "test(\"t\", #{retries: 9223372036854775807}, || assert(false));",
            "retries must be 0 to 1000",
        ),
    ] {
        let out = Udpsh::script("t.rhai", script).args(args).output();
        no_crash(script, &out);
        out.code(2).output_has(says);
    }
}

#[test]
fn counts_in_option_maps_are_checked_at_their_extremes() {
    let peer = Peer::new();
    for (script, code, says) in [
        (
            "let c = udp(); c.request(\"x\", PEER, #{timeout: 0, retries: 9223372036854775807});",
            3,
            "retries must be 0 or more",
        ),
        (
            "let c = udp(); c.request(\"x\", PEER, #{timeout: 0, retries: -1});",
            3,
            "retries must be 0 or more",
        ),
        (
            "let c = udp(\"127.0.0.1:0\"); print(c.collect(#{count: 9223372036854775807, timeout: 0.1}).len());",
            0,
            "0",
        ),
        (
            "let c = udp(\"127.0.0.1:0\"); c.collect(#{count: -1, timeout: 0.1});",
            3,
            "count must not be negative",
        ),
        (
            "let c = udp(); c.blast(\"x\", PEER, -9223372036854775808);",
            3,
            "count must not be negative",
        ),
        (
            "let c = udp(); print(c.blast(\"x\", PEER, 3, #{sample: 9223372036854775807}).count);",
            0,
            "3",
        ),
        (
            "let c = udp(); c.blast(\"x\", PEER, 3, #{batch: 9223372036854775807});",
            3,
            "batch must be between",
        ),
        ("blob(9223372036854775807);", 3, "over the memory limit"),
    ] {
        let script = script.replace("PEER", &format!("\"{}\"", peer.addr()));
        let out = Udpsh::script("c.rhai", &script).output();
        no_crash(&script, &out);
        out.code(code).output_has(says);
    }
}

#[test]
fn every_float_that_becomes_a_duration_is_checked() {
    let capture = fixture("capture/dnsmasq_lo.pcap").display().to_string();
    // Each: no panic, and a refusal names the script's line.
    for script in [
        "sleep(-1e-300);",
        "sleep(0.0 / 0.0);",
        "let s = udp(); s.settimeout(-1.0 / 0.0);",
        "let s = udp(\"127.0.0.1:0\"); s.collect(#{timeout: 0.0 / 0.0});",
        "let s = udp(); s.request(\"x\", \"127.0.0.1:9\", #{timeout: -0.5});",
        "select([udp(\"127.0.0.1:0\")], -1.0);",
        "test(\"t\", #{timeout: 0.0 / 0.0}, || 1);",
        "let p = start(\"sleep\", [\"5\"]); p.wait(-1e300);",
        "replay(CAPTURE, #{to: \"127.0.0.1:9\", speed: 1e-300});",
        "replay(CAPTURE, #{to: \"127.0.0.1:9\", wait: 1e300});",
        "proxy(\"127.0.0.1:9\", #{delay: 1e300});",
        "proxy(\"127.0.0.1:9\", #{jitter: 0.0 / 0.0});",
        "let s = udp(); s.blast(\"x\", \"127.0.0.1:9\", 2, #{rate: 0.0 / 0.0});",
    ] {
        let script = script.replace("CAPTURE", &format!("{capture:?}"));
        let out = Udpsh::script("d.rhai", &script).timeout(5).output();
        no_crash(&script, &out);
        // A literal is refused before the run (2), a value made at run time during it (3).
        assert!(matches!(out.code, Some(2 | 3)), "{}", out.dump());
        out.output_has("d.rhai:1:");
    }
    // Waits too long for the clock are "never": --timeout ends them.
    for script in [
        "sleep(1e300);",
        "let s = udp(\"127.0.0.1:0\"); s.settimeout(1e300); s.recvfrom();",
        "let s = udp(); s.blast(\"x\", \"127.0.0.1:9\", 2, #{rate: 1e-300});",
        "let p = start(\"sleep\", [\"5\"]); p.wait(1e300);",
    ] {
        let out = Udpsh::script("d.rhai", script).timeout(0.5).output();
        no_crash(script, &out);
        out.code(3).stdout_has("--timeout of 0.5s reached");
    }
    // On the command line: a usage error naming the option.
    for args in [
        vec![
            "replay",
            &capture,
            "--to",
            "127.0.0.1:9",
            "--speed",
            "1e-300",
        ],
        vec!["replay", &capture, "--to", "127.0.0.1:9", "--speed", "-1"],
        vec!["proxy", "--to", "127.0.0.1:9", "--delay", "1e300s"],
        vec!["proxy", "--to", "127.0.0.1:9", "--jitter", "NaNs"],
        vec!["--timeout", "1e300", "-e", "1"],
        vec!["--timeout", "NaN", "-e", "1"],
    ] {
        let out = Udpsh::new(&args).output();
        no_crash(&args.join(" "), &out);
        out.code(2);
    }
}

/// `udpsh -e SCRIPT` in at most 2 GiB of address space, so a regression cannot take the
/// machine with it.
fn limited(script: &str) -> (Option<i32>, String) {
    let out = Command::new("prlimit")
        .arg(format!("--as={}", 2u64 << 30))
        .arg(env!("CARGO_BIN_EXE_udpsh"))
        .args(["--timeout", "30", "-e", script])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("prlimit (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned()
        + String::from_utf8_lossy(&out.stderr).as_ref();
    (out.status.code(), text)
}

#[test]
fn every_size_a_format_gives_has_one_cap() {
    let fields: Vec<String> = (0..200).map(|i| format!("16777216s f{i}")).collect();
    let wide = fields.join(", ");
    for script in [
        format!("let n = 1;\nprint(layout(\"{wide}\").size);"),
        format!("let n = 1;\nlayout(\"{wide}\").pack(#{{}});"),
        "let n = 1;\nprint(layout(\"8388608s a, 8388609s b\").size);".to_string(),
        format!("let n = 1;\ncalcsize(\"{}\");", "16777216s".repeat(200)),
        format!("let n = 1;\npack(\"{}\", []);", "16777216s".repeat(2)),
        "let n = 1;\nunpack(\"16777217s\", blob(1));".to_string(),
    ] {
        let (code, text) = limited(&script);
        assert_eq!(code, Some(3), "{script}: {text}");
        assert!(
            text.contains("more than 16777216 bytes") || text.contains("too large"),
            "{text}"
        );
        assert!(text.contains("<-e>:2:"), "{script}: {text}");
    }
    // Up to the cap, a layout is whole.
    let (code, text) = limited("print(layout(\"8388608s a, 8388608s b\").size);");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("16777216"), "{text}");
}
