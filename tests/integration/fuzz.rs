//! `fuzz()` and `udpsh fuzz` against fixtures/fuzz/planted.c, compiled here with `cc` (and with
//! `-fsanitize=address` for the bug only ASan sees; under CI=true both must be there): every
//! planted bug is found, pinned and minimized, and its reproducer fails against the buggy build
//! and passes against the one built with -DFIXED. Seeds and counts are chosen so each bug falls
//! within a few thousand cases; the server gets a free port on loopback and is stopped by
//! udpsh (the fuzz's process) or by its PID.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{Udpsh, free_port, repo};

/// The planted server, built once per test run: buggy and fixed, plain and with ASan.
struct Builds {
    buggy: PathBuf,
    fixed: PathBuf,
    asan: Option<(PathBuf, PathBuf)>,
}

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

fn compile(out: &Path, flags: &[&str]) -> Result<(), String> {
    let source = repo().join("fixtures/fuzz/planted.c");
    let result = Command::new("cc")
        .args(["-O1", "-g", "-fno-omit-frame-pointer", "-o"])
        .arg(out)
        .args(flags)
        .arg(&source)
        .output()
        .map_err(|e| format!("cannot run cc: {e}"))?;
    if result.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&result.stderr).into_owned())
    }
}

fn builds() -> &'static Builds {
    static BUILDS: OnceLock<Builds> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("planted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let at = |name: &str| dir.join(name);
        compile(&at("planted"), &[]).unwrap_or_else(|e| panic!("cc planted.c: {e}"));
        compile(&at("planted-fixed"), &["-DFIXED"]).unwrap_or_else(|e| panic!("cc -DFIXED: {e}"));
        let asan = match compile(&at("planted-asan"), &["-fsanitize=address"]) {
            Ok(()) => {
                compile(
                    &at("planted-asan-fixed"),
                    &["-fsanitize=address", "-DFIXED"],
                )
                .unwrap();
                Some((at("planted-asan"), at("planted-asan-fixed")))
            }
            Err(e) => {
                assert!(!ci(), "cc -fsanitize=address fails (CI needs libasan): {e}");
                eprintln!("note: no ASan here ({e}); skipping the ASan case");
                None
            }
        };
        Builds {
            buggy: at("planted"),
            fixed: at("planted-fixed"),
            asan,
        }
    })
}

/// Starts the server, fuzzes it, and prints one line per crash.
const FUZZ: &str = r#"
let port = var("port", 0);
let args = [`${port}`];
if var("dns", false) { args.push("dns"); }
let p = start(var("bin", ""), args);
wait_udp(port, 5.0);
let opts = #{cases: var("cases", 20000), seed: var("seed", 1), hang: 0.3, out: "crashes",
             restart: var("restart", false)};
if var("owned", true) { opts.process = p; }
let seeds = var("seeds", "");
if seeds != "" { opts.seeds = seeds.split(",").map(|h| hex(h)); }
if var("protocol", "") != "" { opts.protocol = var("protocol", ""); }
let f = fuzz(`127.0.0.1:${port}`, opts);
print(`cases ${f.cases} restarts ${f.restarts}`);
for c in f.crashes {
    let seq = "";
    for d in c.sequence { seq += (if seq == "" { "" } else { "/" }) + to_hex(d); }
    print(`crash ${c.kind} | ${c.detail} | ${seq} | ${c.pinned} | ${c.file} | ${c.seen}`);
}
"#;

/// One crash line of [`FUZZ`]'s output.
#[derive(Debug)]
struct Found {
    kind: String,
    detail: String,
    sequence: Vec<Vec<u8>>,
    pinned: bool,
    file: PathBuf,
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Fuzzes `bin` with these vars; returns what was found and the folder it ran in.
fn fuzz(bin: &Path, vars: &[(&str, &str)]) -> (Vec<Found>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fuzz.rhai"), FUZZ).unwrap();
    let mut udpsh = Udpsh::new(&["run", "fuzz.rhai"])
        .current_dir(dir.path())
        .timeout("40")
        .var("port", free_port())
        .var("bin", bin.display());
    for (k, v) in vars {
        udpsh = udpsh.var(k, v);
    }
    let out = udpsh.output().success();
    let found = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("crash "))
        .map(|l| {
            let f: Vec<&str> = l.split(" | ").collect();
            Found {
                kind: f[0].into(),
                detail: f[1].into(),
                sequence: f[2].split('/').map(unhex).collect(),
                pinned: f[3] == "true",
                file: dir.path().join(f[4]),
            }
        })
        .collect();
    (found, out.stdout, dir)
}

/// The reproducer fails against the buggy build and passes against the fixed one.
fn reproduces(found: &Found, fixed: &Path) {
    let run = |extra: &[String]| {
        let mut args = vec!["run".to_string(), "--timeout".into(), "20".into()];
        args.extend_from_slice(extra);
        args.push(found.file.display().to_string());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Udpsh::new(&args).output()
    };
    run(&[]).code(1).stdout_has("FAIL");
    run(&["--var".into(), format!("program={}", fixed.display())])
        .success()
        .stdout_has("1 passed");
    let capture = found.file.with_extension("pcapng");
    let packets = std::fs::read(&capture).unwrap();
    assert!(packets.len() > 100, "{} is too short", capture.display());
}

fn one(found: Vec<Found>, out: &str) -> Found {
    assert_eq!(found.len(), 1, "{out}");
    let f = found.into_iter().next().unwrap();
    assert!(f.pinned, "{f:?}");
    f
}

#[test]
fn a_shallow_crash_is_found_pinned_and_minimized() {
    let b = builds();
    let (found, out, _dir) = fuzz(&b.buggy, &[("seeds", "00,01000568656c6c6f")]);
    let f = one(found, &out);
    assert_eq!((f.kind.as_str(), f.detail.as_str()), ("signal", "SIGFPE"));
    // kind 1 with a zero length: three bytes, nothing more.
    assert_eq!(f.sequence, [vec![1, 0, 0]]);
    reproduces(&f, &b.fixed);
}

#[test]
fn an_overflow_only_asan_sees_is_a_sanitizer_crash() {
    let b = builds();
    let Some((asan, asan_fixed)) = &b.asan else {
        return;
    };
    let (found, out, _dir) = fuzz(asan, &[("seeds", "00,0200056865")]);
    let f = one(found, &out);
    assert_eq!(f.kind, "sanitizer");
    assert!(
        f.detail
            .starts_with("AddressSanitizer: stack-buffer-overflow in sum (planted.c:"),
        "{f:?}"
    );
    let input = &f.sequence[0];
    let len = u16::from_be_bytes([input[1], input[2]]);
    assert!(input[0] == 2 && (17..=32).contains(&len), "{f:?}");
    // Without ASan the same datagram goes unseen: the build without it still answers.
    let plain = format!("program={}", b.buggy.display());
    Udpsh::new(&["run", "--timeout", "20", "--var", &plain])
        .arg(f.file.display())
        .output()
        .success();
    reproduces(&f, asan_fixed);
}

#[test]
fn a_hang_is_found_by_the_probe() {
    let b = builds();
    let (found, out, _dir) = fuzz(&b.buggy, &[("seeds", "00,0300050101010101")]);
    let f = one(found, &out);
    assert_eq!(
        (f.kind.as_str(), f.detail.as_str()),
        ("hang", "no answer within 0.3s")
    );
    // kind 3 and a chunk of length zero.
    assert_eq!((f.sequence.len(), f.sequence[0][0]), (1, 3), "{f:?}");
    assert!(f.sequence[0][3..].contains(&0), "{f:?}");
    reproduces(&f, &b.fixed);
}

#[test]
fn a_crash_needing_two_datagrams_is_pinned_as_a_sequence() {
    let b = builds();
    let (found, out, _dir) = fuzz(&b.buggy, &[("seeds", "00,0400056865,0100056865")]);
    let f = one(found, &out);
    assert_eq!((f.kind.as_str(), f.detail.as_str()), ("signal", "SIGSEGV"));
    assert_eq!(f.sequence.len(), 2, "{f:?}");
    assert_eq!(
        (f.sequence[0][0], f.sequence[1][0]),
        (4, 1),
        "reset, then hello: {f:?}"
    );
    reproduces(&f, &b.fixed);
}

#[test]
fn an_exit_is_a_crash_with_its_code() {
    let b = builds();
    let (found, out, _dir) = fuzz(&b.buggy, &[("seeds", "00,0500036e6f77")]);
    let f = one(found, &out);
    assert_eq!((f.kind.as_str(), f.detail.as_str()), ("exit", "exit 3"));
    reproduces(&f, &b.fixed);
}

#[test]
fn a_dns_bug_is_reached_through_structure_only() {
    let b = builds();
    let dns = [("dns", "true"), ("protocol", "dns")];
    let (found, out, _dir) = fuzz(&b.buggy, &dns);
    let f = one(found, &out);
    assert_eq!((f.kind.as_str(), f.detail.as_str()), ("signal", "SIGSEGV"));
    // A query whose name is a compression pointer to itself (or back into itself).
    let q = &f.sequence[0];
    assert!(
        q.len() >= 18 && q.windows(2).any(|w| w[0] & 0xc0 == 0xc0),
        "{f:?}"
    );
    reproduces(&f, &b.fixed);
    // The same seeds, mutated byte by byte only, do not get there.
    let (found, out, _dir) = fuzz(
        &b.buggy,
        &[
            ("dns", "true"),
            (
                "seeds",
                "5a5a01000001000000000000076578616d706c6504746573740000010001",
            ),
            ("cases", "50000"),
        ],
    );
    assert!(found.is_empty(), "{out}");
}

#[test]
fn restart_goes_on_and_finds_more() {
    let b = builds();
    let (found, out, _dir) = fuzz(
        &b.buggy,
        &[
            ("seeds", "00,0100056865,0400056865"),
            ("restart", "true"),
            ("cases", "20000"),
        ],
    );
    let kinds: Vec<&str> = found.iter().map(|f| f.detail.as_str()).collect();
    assert!(
        kinds.contains(&"SIGFPE") && kinds.contains(&"SIGSEGV"),
        "{out}"
    );
    assert!(
        out.contains("restarts ") && !out.contains("restarts 0"),
        "{out}"
    );
}

#[test]
fn a_target_not_owned_is_seen_to_refuse() {
    let b = builds();
    let (found, out, _dir) = fuzz(
        &b.buggy,
        &[("seeds", "00,01000568656c6c6f"), ("owned", "false")],
    );
    assert_eq!(found.len(), 1, "{out}");
    assert_eq!(found[0].kind, "refused");
    assert!(!found[0].pinned);
}

#[test]
fn the_command_line_finds_prints_and_exits_1() {
    let b = builds();
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let to = format!("127.0.0.1:{port}");
    let fuzz = |program: &Path| {
        let start = format!("{} {port}", program.display());
        Udpsh::new(&["fuzz", "--to", &to, "--start", &start, "--hex", "00"])
            .args([
                "--hex",
                "01 00 05 68 65 6c 6c 6f",
                "--cases",
                "20000",
                "--seed",
                "1",
            ])
            .args(["--timeout", "30"])
            .current_dir(dir.path())
            .output()
    };
    let out = fuzz(&b.buggy)
        .code(1)
        .stdout_has("crash 1: signal SIGFPE after 1 datagram: 01 00 00\n")
        .stdout_has("pinned and minimized");
    assert!(
        out.stdout.starts_with(&format!("fuzzed {to}: ")),
        "{}",
        out.dump()
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("crashes"))
        .unwrap()
        .collect();
    assert_eq!(files.len(), 2, "a .rhai and a .pcapng");
    // The fixed build: nothing found, exit 0.
    fuzz(&b.fixed).success().stdout_has("no crash found");
}

#[test]
fn bad_options_are_clear_errors() {
    Udpsh::eval(r#"fuzz("127.0.0.1:9", #{cases: 10, seeds: [hex("00")], timout: 1})"#)
        .output()
        .code(3)
        .stderr_has("fuzz has no option 'timout'");
    Udpsh::eval(r#"fuzz("127.0.0.1:9", #{seeds: [hex("00")]})"#)
        .output()
        .code(3)
        .stderr_has("fuzz needs a bound");
    Udpsh::new(&["fuzz", "--to", "127.0.0.1:9", "--cases", "10"])
        .output()
        .code(2)
        .stderr_has("fuzz needs seeds");
}
