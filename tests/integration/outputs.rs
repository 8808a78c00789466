//! One rule for every file a capture is written to — `run --pcap`, `-e --pcap`, `--pcap-dir`,
//! `proxy(#{pcap})`, `udpsh proxy --pcap`, the REPL's `--pcap` and `:pcap`: a capture never
//! replaces a file that holds something else, nor an input of the run, and two captures of
//! one run never write one file.

use std::path::Path;

use crate::support::*;

const NOTES: &str = "my notes, not a capture\n";

/// Every way to point a capture at `target` (a path relative to the current folder), as
/// (what, command line, script), the script run in that folder as `s.rhai`.
fn capture_outputs(target: &str) -> Vec<(&'static str, Vec<String>, String)> {
    let proxy = format!(
        "let up = udp(\"127.0.0.1:0\");\nlet p = proxy(up.local_addr, #{{pcap: \"{target}\"}});\n"
    );
    let own = |args: &[&str]| args.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        (
            "run --pcap",
            own(&["run", "--pcap", target, "s.rhai"]),
            "1;".into(),
        ),
        (
            "-e --pcap",
            own(&["--pcap", target, "-e", "1"]),
            "1;".into(),
        ),
        ("proxy(#{pcap})", own(&["run", "s.rhai"]), proxy),
        (
            "udpsh proxy --pcap",
            own(&[
                "proxy",
                "--to",
                "127.0.0.1:9",
                "--duration",
                "1s",
                "--pcap",
                target,
            ]),
            "1;".into(),
        ),
        ("repl --pcap", own(&["repl", "--pcap", target]), "1;".into()),
    ]
}

fn run_in(dir: &Path, args: &[String], script: &str, stdin: &str) -> Output {
    std::fs::write(dir.join("s.rhai"), script).unwrap();
    Udpsh::new(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .current_dir(dir)
        .stdin(stdin)
        .output()
}

#[test]
fn no_capture_replaces_a_file_that_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    for (what, args, script) in capture_outputs("notes.txt") {
        std::fs::write(dir.path().join("notes.txt"), NOTES).unwrap();
        let out = run_in(dir.path(), &args, &script, "");
        assert_ne!(out.code, Some(0), "{what}: {}", out.dump());
        assert!(
            out.stdout.contains("not a capture") || out.stderr.contains("not a capture"),
            "{what}: {}",
            out.dump()
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
            NOTES,
            "{what} replaced the file"
        );
    }
    // The REPL's :pcap too.
    std::fs::write(dir.path().join("notes.txt"), NOTES).unwrap();
    let out = run_in(dir.path(), &["repl".into()], "", ":pcap notes.txt\n");
    assert!(out.stderr.contains("not a capture"), "{}", out.dump());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        NOTES
    );
}

#[test]
fn a_capture_is_replaced_by_a_new_one_and_an_empty_file_filled() {
    let dir = tempfile::tempdir().unwrap();
    for (what, args, script) in capture_outputs("old.pcap") {
        // An empty file (as `touch` or mktemp leaves it), then the capture just written.
        std::fs::write(dir.path().join("old.pcap"), "").unwrap();
        run_in(dir.path(), &args, &script, "").success();
        let written = std::fs::read(dir.path().join("old.pcap")).unwrap();
        assert!(written.len() >= 24, "{what} wrote no capture");
        run_in(dir.path(), &args, &script, "").success();
    }
}

#[test]
fn no_capture_overwrites_an_input_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // The running script itself.
    let own =
        "let up = udp(\"127.0.0.1:0\");\nlet p = proxy(up.local_addr, #{pcap: \"s.rhai\"});\n";
    let out = run_in(dir.path(), &["run".into(), "s.rhai".into()], own, "");
    assert_ne!(out.code, Some(0), "{}", out.dump());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("s.rhai")).unwrap(),
        own
    );
    // A capture the run reads, which --pcap would cut before the script reads it.
    let golden = crate::support::read_fixture("capture/dnsmasq_lo.pcap");
    std::fs::write(dir.path().join("golden.pcap"), &golden).unwrap();
    let out = run_in(
        dir.path(),
        &["run", "--pcap", "golden.pcap", "s.rhai"].map(String::from),
        "read_pcap(\"golden.pcap\");",
        "",
    );
    out.code(2).stderr_has("refusing to overwrite");
    assert_eq!(
        std::fs::read(dir.path().join("golden.pcap")).unwrap(),
        golden
    );
}

#[test]
fn two_captures_of_one_run_never_share_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = "let up = udp(\"127.0.0.1:0\");\n\
                 let c = udp(\"127.0.0.1:0\");\n\
                 let p = proxy(up.local_addr, #{pcap: \"F.pcap\"});\n";
    // The run's own --pcap, and a proxy of the script on the same file.
    let out = run_in(
        dir.path(),
        &["run", "--pcap", "F.pcap", "s.rhai"].map(String::from),
        proxy,
        "",
    );
    out.code(3)
        .stdout_has("another capture of this run is writing it");
    // Two proxies on one path (the second is refused; the first keeps recording).
    let two = format!(
        "{proxy}c.sendto(\"one\", p.addr);\n\
         try {{ proxy(up.local_addr, #{{pcap: \"./F.pcap\"}}); assert(false) }}\n\
         catch (e) {{ assert_eq(e.kind, \"capture\"); }}\n\
         c.sendto(\"two\", p.addr); up.recvfrom(10); up.recvfrom(10); p.close();\n\
         assert_eq(read_pcap(\"F.pcap\").len(), 4);\n"
    );
    run_in(dir.path(), &["run".into(), "s.rhai".into()], &two, "").success();
    // Once the first is closed, its file may be recorded again.
    let again =
        format!("{proxy}p.close();\nlet q = proxy(up.local_addr, #{{pcap: \"F.pcap\"}});\n");
    run_in(dir.path(), &["run".into(), "s.rhai".into()], &again, "").success();
}
