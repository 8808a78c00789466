//! What a crash leaves behind: `crash-<hash>.rhai`, a self-contained `test()` that starts the
//! same program with the same arguments, sends the minimized datagrams and asserts that the
//! program still answers (so it fails while the bug is there and passes once it is fixed), and
//! `crash-<hash>.pcapng`. The hash names the crash: its kind and the place a sanitizer names,
//! else its kind and minimized input, so the same crash found again has the same files.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::SystemTime;

use super::Crash;
use super::oracle::{Kind, Verdict};
use super::structure::Protocol;
use crate::capture::{Direction, Packet, Recorder};
use crate::display::{one_line, spaced_hex};

/// What makes two crashes the same one.
pub fn key(v: &Verdict, sequence: &[Vec<u8>]) -> String {
    if v.kind == Kind::Sanitizer {
        return format!("sanitizer|{}", v.place);
    }
    let input: Vec<String> = sequence.iter().map(|d| spaced_hex(d)).collect();
    format!("{}|{}|{}", v.kind.as_str(), v.place, input.join("/"))
}

/// Eight hex digits naming a crash.
pub fn hash(key: &str) -> String {
    format!("{:08x}", crc32fast::hash(key.as_bytes()))
}

/// Everything the reproducer says.
pub struct Reproduction<'a> {
    pub name: &'a str,
    pub crash: &'a Crash,
    /// The program and its arguments, when the fuzzer started it.
    pub program: Option<(&'a str, &'a [String])>,
    pub target: SocketAddr,
    /// A datagram the target answers when it is well.
    pub probe: Option<&'a [u8]>,
    pub protocol: Option<Protocol>,
    pub seed: u64,
}

/// A Rhai string literal (JSON's escapes are Rhai's).
fn literal(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

pub fn script(r: &Reproduction) -> String {
    let c = r.crash;
    let v = &c.verdict;
    let n = c.sequence.len();
    let bytes: usize = c.sequence.iter().map(Vec::len).sum();
    let mut s = String::new();
    let plural = if n == 1 { "" } else { "s" };
    let _ = writeln!(
        s,
        "// {}: {} ({}) after {n} datagram{plural} ({bytes} bytes), found by udpsh fuzz",
        r.name,
        v.kind.as_str(),
        one_line(&v.detail)
    );
    let _ = writeln!(
        s,
        "// (seed {}, about case {}{}).",
        r.seed,
        c.case,
        r.protocol
            .map_or(String::new(), |p| format!(", protocol {}", p.name()))
    );
    if !c.pinned {
        let _ = writeln!(
            s,
            "// Not pinned: these are the datagrams sent since the last good check; replayed, they\n// did not crash it again, so this test may pass with the bug still there."
        );
    }
    let _ = writeln!(
        s,
        "// A regression test: it fails while the bug is there and passes once it is fixed.\n//   udpsh run {}.rhai [--var program=PATH] [--var target=HOST:PORT]\n",
        r.name
    );
    if let Some((program, args)) = r.program {
        let args: Vec<String> = args.iter().map(|a| literal(a)).collect();
        let _ = writeln!(
            s,
            "let program = var(\"program\", {});",
            literal(&absolute(program))
        );
        let _ = writeln!(s, "let args = [{}];", args.join(", "));
    }
    let _ = writeln!(
        s,
        "let target = var(\"target\", {});",
        literal(&r.target.to_string())
    );
    let _ = writeln!(s, "let datagrams = [");
    for d in &c.sequence {
        let _ = writeln!(s, "    hex({}),", literal(&spaced_hex(d)));
    }
    let _ = writeln!(s, "];");
    if let Some(probe) = r.probe {
        let _ = writeln!(
            s,
            "let probe = hex({});   // the target answers it when it is well",
            literal(&spaced_hex(probe))
        );
    }
    let title = format!("{}: {} {}", r.name, v.kind.as_str(), one_line(&v.detail));
    let _ = writeln!(s, "\ntest({}, || {{", literal(&title));
    if r.program.is_some() {
        let _ = writeln!(s, "    let p = start(program, args);");
    }
    s.push_str("    wait_udp(target, 10.0);\n    let s = udp();\n    for d in datagrams {\n        s.sendto(d, target);\n    }\n");
    match r.probe {
        Some(_) => s.push_str(
            "    // Asked from a socket of its own, the probe is answered only after the datagrams\n    // above were handled (their replies go to `s`).\n    let answered = false;\n    let why = \"\";\n    try {\n        udp().request(probe, target, #{timeout: 2.0, retries: 1});\n        answered = true;\n    } catch (e) {\n        why = e.message;\n    }\n",
        ),
        None => s.push_str("    sleep(0.5);\n"),
    }
    if r.program.is_some() {
        s.push_str(
            "    if !p.alive() {\n        let code = p.wait();\n        let how = if code < 0 { `killed by signal ${-code}` } else { `exit code ${code}` };\n        let said = p.output();\n        let tail = if said == \"\" { \"\" } else { \"; it printed: \" + said };\n        assert(false, `${program} ended (${how}) after the ${datagrams.len()} datagram(s)${tail}`);\n    }\n    let out = p.output();\n    assert(!out.contains(\"Sanitizer\") && !out.contains(\"runtime error:\"), \"a sanitizer report:\\n\" + out);\n",
        );
    }
    match r.probe {
        Some(_) => s.push_str("    assert(answered, `${target} no longer answers: ${why}`);\n"),
        None => s.push_str("    wait_udp(target, 1.0);   // still bound\n"),
    }
    if r.program.is_some() {
        s.push_str("    p.stop();\n");
    }
    s.push_str("});\n");
    s
}

/// A program named by a path is named by its absolute path, so the test runs from anywhere;
/// a bare name is looked up in PATH as before.
fn absolute(program: &str) -> String {
    if !program.contains('/') {
        return program.to_string();
    }
    std::fs::canonicalize(program).map_or(program.to_string(), |p| p.display().to_string())
}

/// The datagrams as a capture, when they cannot be sent again (no program to start).
pub fn write_capture(
    path: &Path,
    name: &str,
    from: SocketAddr,
    to: SocketAddr,
    sequence: &[Vec<u8>],
) -> Result<(), String> {
    let recorder = Recorder::create(path).map_err(|e| e.to_string())?;
    let comment = format!("{name}: sent by udpsh fuzz");
    for d in sequence {
        recorder
            .record(&Packet {
                src: from,
                dst: to,
                payload: d,
                len: d.len(),
                direction: Direction::Outbound,
                comment: Some(&comment),
                timestamp: SystemTime::now(),
                ttl: Packet::DEFAULT_TTL,
                tos: 0,
            })
            .map_err(|e| e.to_string())?;
    }
    recorder.sync().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash() -> Crash {
        Crash {
            verdict: Verdict {
                kind: Kind::Signal,
                detail: "SIGFPE".into(),
                place: "SIGFPE".into(),
                report: None,
            },
            sequence: vec![vec![4, 0, 0], vec![1, 0, 0]],
            pinned: true,
            case: 1532,
            at: std::time::Duration::ZERO,
            seen: 1,
            file: None,
            capture: None,
        }
    }

    #[test]
    fn keys_and_hashes() {
        let c = crash();
        assert_eq!(
            key(&c.verdict, &c.sequence),
            "signal|SIGFPE|04 00 00/01 00 00"
        );
        assert_eq!(hash("x").len(), 8);
        let mut asan = c.verdict.clone();
        asan.kind = Kind::Sanitizer;
        asan.place = "stack-buffer-overflow planted.c:66 sum".into();
        // Found by two inputs, it is one crash: the place is what counts.
        assert_eq!(key(&asan, &[vec![1]]), key(&asan, &[vec![2]]));
    }

    #[test]
    fn the_script_compiles_and_says_what_it_tests() {
        let c = crash();
        let args = vec!["9000".to_string(), "a \"quoted\" arg".to_string()];
        let text = script(&Reproduction {
            name: "crash-0badf00d",
            crash: &c,
            program: Some(("planted", &args)),
            target: "127.0.0.1:9000".parse().unwrap(),
            probe: Some(&[0]),
            protocol: None,
            seed: 7,
        });
        assert!(
            text.starts_with("// crash-0badf00d: signal (SIGFPE) after 2 datagrams (6 bytes)"),
            "{text}"
        );
        assert!(
            text.contains("let args = [\"9000\", \"a \\\"quoted\\\" arg\"];"),
            "{text}"
        );
        assert!(
            text.contains("    hex(\"04 00 00\"),\n    hex(\"01 00 00\"),"),
            "{text}"
        );
        crate::api::compiler()
            .compile(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
    }
}
