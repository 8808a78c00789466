//! Hostile input (issue 9): a peer's payload, a file name, a FIFO, a huge number, a runaway
//! allocation, deep data — each gets an error with a position, never a panic, a hang past
//! `--timeout`, raw terminal bytes, or a silently lost or overwritten file.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// A payload meant to retitle the terminal, colour it, reorder the line (RLO) and hide text.
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[31mRED\x7f\u{202e}txt.exe\u{200b}\u{feff}";

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A script that sends "hi" to `--var peer` and receives the answer (`recvfrom(bufsize)`)
/// into `d`; `body` then uses `d`.
fn ask_peer(bufsize: usize, body: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "let s = udp(\"127.0.0.1:0\");\ns.settimeout(5);\ns.sendto(\"hi\", var(\"peer\", \"\"));\n\
         let d = s.recvfrom({bufsize});\n{body}\n"
    );
    let path = write(dir.path(), "ask.rhai", &script).display().to_string();
    (dir, path)
}

/// Answers the first datagram the peer gets with `reply`.
fn answer_once(peer: Peer, reply: &'static [u8]) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let (_, from) = peer.recv();
        peer.send_to(reply, from);
    })
}

fn no_raw_controls(text: &str) {
    for bad in ['\x1b', '\x07', '\x7f', '\u{202e}', '\u{200b}', '\u{feff}'] {
        assert!(
            !text.contains(bad),
            "raw {bad:?} reached the output:\n{text}"
        );
    }
}

#[test]
fn a_peer_cannot_crash_a_script_with_non_ascii_text() {
    let peer = Peer::new();
    let addr = peer.addr();
    let (_dir, path) = ask_peer(1024, "hex(d.text);");
    let answering = answer_once(peer, "aé你好".as_bytes());
    let out = Udpsh::new(&["run", "--timeout", "10", &path])
        .var("peer", addr)
        .output()
        .code(3);
    answering.join().unwrap();
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert!(out.stdout.contains("is not a hex byte"), "{}", out.stdout);
    assert!(out.stdout.contains("ask.rhai:5:1"), "{}", out.stdout);
}

#[test]
fn a_blob_var_of_any_text_is_an_error_not_a_panic() {
    // A usage error before anything runs, as for every typed default (blob, char, array, map).
    for (script, var, says) in [
        ("var(\"b\", hex(\"00\"))", "b=aé", "'aé' is not hex bytes"),
        ("var(\"b\", blob(0))", "b=zz", "takes a blob"),
        ("var(\"c\", 'x')", "c=xy", "'xy' is not one character"),
        ("var(\"a\", [1, 2])", "a=abc", "'abc' is not a JSON array"),
        ("var(\"m\", #{k: 1})", "m=[1]", "'[1]' is not a JSON object"),
    ] {
        let out = Udpsh::new(&["-e", script, "--var", var]).output().code(2);
        assert!(out.stderr.contains(says), "{script}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"));
    }
    Udpsh::new(&[
        "-e",
        "assert_eq(var(\"a\", [1]), [3, 4]); assert_eq(var(\"m\", #{k: 1}).k, 5);",
    ])
    .args(["--var", "a=[3, 4]", "--var", "m={\"k\": 5}"])
    .output()
    .success();
}

#[test]
fn hostile_payloads_are_escaped_on_the_terminal_and_in_reports() {
    let peer = Peer::new();
    let addr = peer.addr();
    let (dir, path) = ask_peer(
        1024,
        "print(d.text);\nassert_eq(d.text, \"expected\", d.text);",
    );
    let answering = answer_once(peer, HOSTILE.as_bytes());
    let junit = dir.path().join("junit.xml");
    let tap = dir.path().join("run.tap");
    let out = Udpsh::new(&["run", "--timeout", "10", "-j", "2", &path])
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .arg("--report")
        .arg(format!("tap={}", tap.display()))
        .var("peer", addr)
        .output()
        .code(1);
    answering.join().unwrap();
    no_raw_controls(&out.stdout);
    no_raw_controls(&out.stderr);
    assert!(out.stdout.contains("\\x1b]0;pwned\\x07"), "{}", out.stdout);
    assert!(out.stdout.contains("\\u{202e}"), "{}", out.stdout);
    // Reports keep the text, escaped: nothing deleted with it.
    for report in [&junit, &tap] {
        let text = std::fs::read_to_string(report).unwrap();
        no_raw_controls(&text);
        assert!(text.contains("pwned"), "{text}");
        assert!(text.contains("RED"), "{text}");
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("\\x1b]0;pwned\\x07"), "{xml}");
}

#[test]
fn a_file_name_cannot_forge_a_result_line() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\x1b[32m\nok      forged.rhai (0.00s)\n.rhai";
    write(dir.path(), name, "assert(false, \"real failure\");");
    let out = Udpsh::new(&["run", "--timeout", "10", "."])
        .current_dir(dir.path())
        .output()
        .code(1);
    no_raw_controls(&out.stdout);
    for line in out.stdout.lines() {
        assert!(
            !line.starts_with("ok"),
            "forged line: {line:?}\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("evil\\x1b[32m\\nok"), "{}", out.stdout);
}

#[test]
fn huge_waits_are_bounded_by_the_timeout() {
    let started = Instant::now();
    let out = Udpsh::new(&["-e", "sleep(1e19)", "--timeout", "0.5"])
        .output()
        .code(3);
    assert!(
        out.stderr.contains("--timeout of 0.5s reached"),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    Udpsh::new(&["-e", "sleep(-1)"])
        .output()
        .code(3)
        .output_has("not a number of seconds");
}

#[test]
fn costly_calls_and_stubborn_children_end_at_the_timeout() {
    // Few operations, each costly: the deadline is still seen, and never passes.
    for script in [
        "let a = []; a.pad(3000000, 1); let b = a.map(|x| x + 1); print(\"after\");",
        "loop { \"x\".pad(2000000, \"y\"); }",
    ] {
        let started = Instant::now();
        Udpsh::new(&["-e", script, "--timeout", "0.5"])
            .output()
            .code(3)
            .stderr_has("--timeout of 0.5s reached");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{script}: {:?}",
            started.elapsed()
        );
    }
    // A child that ignores TERM, stopped with a huge grace: killed at the run's deadline.
    let stubborn =
        r#"let p = start("sh", ["-c", "trap '' TERM; sleep 30"]); sleep(0.2); p.stop(1e9);"#;
    let started = Instant::now();
    Udpsh::new(&["-e", stubborn, "--timeout", "1"])
        .output()
        .code(3)
        .stderr_has("--timeout of 1s reached");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Runs `udpsh -e SCRIPT` with its address space limited, so a regression cannot take the
/// machine down with it.
fn in_prlimit(gib: u64, args: &[&str]) -> (Option<i32>, String) {
    in_address_space(gib << 30, args)
}

fn in_address_space(bytes: u64, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new("prlimit")
        .arg(format!("--as={bytes}"))
        .arg(env!("CARGO_BIN_EXE_udpsh"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("prlimit (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned()
        + String::from_utf8_lossy(&out.stderr).as_ref();
    (out.status.code(), text)
}

#[test]
fn runaway_allocations_are_script_errors_at_their_line() {
    for script in [
        "let s = \"ab\";\nloop { s += s }",
        "let a = [1];\nloop { a += a }",
        "let x = 1;\nlet b = blob(10000000000);",
    ] {
        let (code, text) = in_prlimit(3, &["--timeout", "60", "-e", script]);
        assert_eq!(code, Some(3), "{script}: {text}");
        assert!(text.contains("over the memory limit"), "{script}: {text}");
        assert!(text.contains("<-e>:2:"), "{script}: {text}");
    }
    // Growth no single value's limit sees: many values, or a thread's. The total counts.
    for script in [
        "let m = #{}; let i = 0;\nloop { m[`${i}`] = [i, i, i, i, i, i, i, i]; i += 1; }",
        "let t = spawn(|| { let a = [1]; loop { a += a } });\nt.join()",
    ] {
        let (code, text) = in_prlimit(2, &["--timeout", "60", "-e", script]);
        assert_eq!(code, Some(3), "{script}: {text}");
        assert!(
            text.contains("over the memory limit: udpsh holds"),
            "{script}: {text}"
        );
    }
    // --max-memory raises the limit.
    let (code, text) = in_prlimit(
        3,
        &[
            "--max-memory",
            "1G",
            "-e",
            "let b = blob(100000000); print(b.len())",
        ],
    );
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn deep_data_is_printed_and_dropped_without_a_crash() {
    let script = "let t = spawn(|| { let a = []; for i in 0..3000 { a = [a]; } \
                  let s = a.to_string(); a = (); s.len() }); print(t.join());";
    Udpsh::new(&["--timeout", "60", "-e", script])
        .output()
        .success()
        .stdout_has("6002");
}

#[test]
fn a_thread_the_os_refuses_is_an_error_at_spawn() {
    // 256 MiB of stack per script thread: in 512 MiB the script's own thread fits, and the
    // first spawn does not (nothing else then runs near the edge of the address space).
    let script = "let n = 0;\ntry { loop { spawn(|| sleep(2)); n += 1; } } catch (e) { print(`${e.kind}: ${n}`) }";
    let (code, text) = in_address_space(512 << 20, &["--timeout", "30", "-e", script]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("thread: "), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for n in ["a", "b", "c"] {
        write(dir.path(), &format!("{n}.rhai"), "let x = 1;");
    }
    let shell = format!(
        "{udpsh} check a.rhai b.rhai c.rhai | head -c1 >/dev/null; \
         seq 1 2000 | {udpsh} | head -c1 >/dev/null",
        udpsh = env!("CARGO_BIN_EXE_udpsh")
    );
    let out = Command::new("bash")
        .args(["-c", &shell])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("failed printing"), "{stderr}");
}

#[test]
fn a_fifo_named_as_a_capture_or_report_never_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let started = Instant::now();
    for script in [
        r#"read_pcap("fifo")"#,
        r#"replay("fifo", #{to: "127.0.0.1:9"})"#,
        r#"proxy("127.0.0.1:9", #{pcap: "fifo"})"#,
    ] {
        Udpsh::new(&["--timeout", "5", "-e", script])
            .current_dir(dir.path())
            .output()
            .code(3)
            .stderr_has("fifo");
    }
    Udpsh::new(&["--timeout", "5", "--pcap", "fifo", "-e", "1"])
        .current_dir(dir.path())
        .output()
        .code(2)
        .stderr_has("cannot write capture fifo: it is a FIFO that nobody opened to read within 3s");
    Udpsh::new(&["replay", "fifo", "--to", "127.0.0.1:9"])
        .current_dir(dir.path())
        .output()
        .code(2)
        .stderr_has("not a regular file");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn output_that_cannot_be_written_is_not_a_pass() {
    // `> /dev/full`: what the script printed, and the results, are lost.
    for args in [
        &["-e", "print(1)"][..],
        &["run", "scripts/scenarios/echo.rhai"][..],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_udpsh"))
            .args(args)
            .current_dir(crate::support::repo())
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("could not write to standard output"), "{err}");
    }
}

#[test]
fn reading_a_fifo_is_bounded_by_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let started = Instant::now();
    Udpsh::new(&["--timeout", "0.5", "-e", "read_file(\"fifo\")"])
        .current_dir(dir.path())
        .output()
        .code(3)
        .output_has("--timeout of 0.5s reached");
    assert!(started.elapsed() < Duration::from_secs(5));
    // With a writer it reads what was written.
    let writer = {
        let fifo = fifo.clone();
        thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            f.write_all(b"through the fifo").unwrap();
        })
    };
    Udpsh::new(&["--timeout", "10", "-e", "print(read_file(\"fifo\").len())"])
        .current_dir(dir.path())
        .output()
        .success()
        .stdout_has("16");
    writer.join().unwrap();
    Udpsh::new(&["--timeout", "10", "-e", "read_file(\"/dev/zero\")"])
        .output()
        .code(3)
        .output_has("the memory limit");
}

#[test]
fn outputs_never_overwrite_inputs_or_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let source = "let x = 1;\n";
    write(dir.path(), "s.rhai", source);
    let run = |args: &[&str]| {
        Udpsh::new(&[&["run"], args].concat())
            .current_dir(dir.path())
            .output()
    };
    run(&["--pcap", "s.rhai", "s.rhai"])
        .code(2)
        .output_has("is also a script of this run");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("s.rhai")).unwrap(),
        source
    );
    run(&["--pcap", "x", "--report", "junit=./x", "s.rhai"])
        .code(2)
        .output_has("both write");
    run(&["--report", "json=r", "--report", "junit=r", "s.rhai"])
        .code(2)
        .output_has("both write");
    assert!(!dir.path().join("x").exists() && !dir.path().join("r").exists());
    // A hard link to a script, and a module a script imports, are inputs too.
    std::fs::hard_link(dir.path().join("s.rhai"), dir.path().join("link.rhai")).unwrap();
    run(&["--pcap", "link.rhai", "s.rhai"])
        .code(2)
        .output_has("is also a script of this run");
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    write(dir.path(), "lib/helper.rhai", "fn one() { 1 }\n");
    write(
        dir.path(),
        "m.rhai",
        "import \"lib/helper\" as h;\nprint(h::one());\n",
    );
    run(&["--pcap", "lib/helper.rhai", "m.rhai"])
        .code(2)
        .output_has("or a module one imports");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lib/helper.rhai")).unwrap(),
        "fn one() { 1 }\n"
    );
}

#[test]
fn every_script_gets_its_own_capture() {
    let dir = tempfile::tempdir().unwrap();
    let send = "let a = udp(\"127.0.0.1:0\"); let b = udp(\"127.0.0.1:0\"); a.sendto(\"x\", b.local_addr); b.recvfrom(10);";
    for sub in ["a", "a_b"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    write(dir.path(), "a/b_c.rhai", send);
    write(dir.path(), "a_b/c.rhai", send);
    let long = "d".repeat(250);
    write(dir.path(), &format!("{long}.rhai"), send);
    Udpsh::new(&[
        "run",
        "--pcap-dir",
        "caps",
        "a",
        "a_b",
        &format!("{long}.rhai"),
    ])
    .current_dir(dir.path())
    .output()
    .success();
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("caps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.contains(&"a_b_c.pcapng".to_string()), "{files:?}");
    assert!(files.contains(&"a_b_c-2.pcapng".to_string()), "{files:?}");
    for f in &files {
        let size = std::fs::metadata(dir.path().join("caps").join(f))
            .unwrap()
            .len();
        assert!(size > 100, "{f} holds no packet");
    }
    // A folder that cannot hold captures is a usage error before anything runs.
    write(dir.path(), "blocker", "");
    Udpsh::new(&["run", "--pcap-dir", "blocker/caps", "a"])
        .current_dir(dir.path())
        .output()
        .code(2);
}

#[test]
fn a_short_receive_is_recorded_with_the_real_length() {
    let peer = Peer::new();
    let addr = peer.addr();
    let (_dir, path) = ask_peer(10, "assert_eq(d.len, 100); assert(d.truncated);");
    let body: &'static [u8] = &[b'x'; 100];
    let answering = answer_once(peer, body);
    let pcap = tempfile::tempdir().unwrap();
    let file = pcap.path().join("cut.pcap");
    Udpsh::new(&["run", "--timeout", "10", &path])
        .arg("--pcap")
        .arg(file.display())
        .var("peer", addr)
        .output()
        .success();
    answering.join().unwrap();
    let mut reader = pcap_file::pcap::PcapReader::new(std::fs::File::open(&file).unwrap()).unwrap();
    let mut records = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        records.push((p.data().len(), p.orig_len()));
    }
    // "hi" out; the answer: 10 bytes kept of 100, as tcpdump with a snap length records it.
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1], (14 + 20 + 8 + 10, 14 + 20 + 8 + 100));
}

#[test]
fn an_unclosed_comment_does_not_pass_silently() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "c.rhai",
        "let a = 1;\n/* the rest is a comment\nassert(false);\n",
    );
    Udpsh::new(&["run", "c.rhai"])
        .current_dir(dir.path())
        .output()
        .code(2)
        .output_has("c.rhai:2:1")
        .output_has("never closed");
}

#[test]
fn scripts_that_are_not_text_or_not_files_are_named_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bin.rhai"),
        b"let a = 1;\nlet b = \"\xff\";\n",
    )
    .unwrap();
    Udpsh::new(&["run", "bin.rhai"])
        .current_dir(dir.path())
        .output()
        .code(2)
        .output_has("bin.rhai:2:10")
        .output_has("not valid UTF-8");
    let fifo = dir.path().join("f.rhai");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    Udpsh::new(&["run", "f.rhai"])
        .current_dir(dir.path())
        .output()
        .code(2)
        .output_has("not a regular file");
    Udpsh::new(&["run", "/dev/zero"])
        .output()
        .code(2)
        .output_has("not a regular file");
}

#[test]
fn a_symlink_loop_runs_each_script_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    std::fs::create_dir(&d).unwrap();
    write(&d, "a.rhai", "print(\"ran\");");
    std::os::unix::fs::symlink(".", d.join("loop")).unwrap();
    let out = Udpsh::new(&["run", "d"])
        .current_dir(dir.path())
        .output()
        .success();
    assert_eq!(out.stdout_count("ran"), 1, "{}", out.stdout);
}
