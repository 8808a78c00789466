//! Every error path of `udpsh run`: exit code and the rendered message, compared with golden
//! files in fixtures/golden/ (`UPDATE_GOLDEN=1 cargo test` rewrites them).

use std::time::Duration;

use crate::support::*;

/// `udpsh run` of one error fixture (with `--timeout 10` unless `extra` sets one); returns
/// (exit code, stdout with times blanked, stderr).
fn run(script: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec!["run"];
    if !extra.contains(&"--timeout") {
        args.extend(["--timeout", SCRIPT_TIMEOUT]);
    }
    args.extend(extra);
    let path = format!("fixtures/errors/{script}");
    args.push(&path);
    let out = Udpsh::new(&args).output();
    (out.code, without_times(&out.stdout), out.stderr)
}

/// Runs fixtures/errors/NAME.rhai, expects exit `code` and output as in golden/NAME.txt.
fn renders_as(name: &str, code: i32) {
    let (actual, stdout, _) = run(&format!("{name}.rhai"), &[]);
    assert_eq!(actual, Some(code), "{name}: {stdout}");
    golden(&format!("{name}.txt"), &stdout);
}

#[test]
fn syntax_error_exits_2_and_runs_nothing() {
    let out = Udpsh::new(&[
        "run",
        "fixtures/errors/syntax.rhai",
        "scripts/scenarios/chat.rhai",
    ])
    .output();
    let out = out.code(2);
    assert_eq!(
        out.stdout, "",
        "nothing may run when a script does not compile"
    );
    golden("syntax.txt", &out.stderr);
    Udpsh::new(&["check", "fixtures/errors/syntax.rhai"])
        .output()
        .code(2)
        .output_has("--> fixtures/errors/syntax.rhai:3:14");
    Udpsh::new(&["check", "scripts"]).output().success();
}

#[test]
fn assertion_failures_exit_1_with_both_values() {
    renders_as("assert_short", 1);
    renders_as("assert_text", 1);
    renders_as("assert_bytes", 1);
    renders_as("in_function", 1);
}

#[test]
fn network_errors_exit_3_with_the_os_error() {
    renders_as("oversize", 3);
    renders_as("no_broadcast", 3);
    renders_as("bad_port", 3);
    renders_as("bad_address", 3);
}

#[test]
fn timeout_stops_a_busy_loop_a_blocked_receive_and_a_catching_loop() {
    for script in ["busy.rhai", "blocked.rhai", "caught_timeout.rhai"] {
        let (code, stdout, _) = run(script, &["--timeout", "0.5"]);
        assert_eq!(code, Some(3), "{script}: {stdout}");
        assert!(stdout.contains("TIMEOUT fixtures/errors/"), "{stdout}");
        assert!(
            stdout.contains("stopped: --timeout of T reached"),
            "{stdout}"
        );
        assert!(stdout.contains("1 timed out"), "{stdout}");
    }
    let (_, stdout, _) = run("blocked.rhai", &["--timeout", "0.3"]);
    golden("blocked_timeout.txt", &stdout);
}

#[test]
fn a_bad_var_names_the_variable() {
    // A usage error found before anything runs: exit 2, like any other bad command line.
    let (code, stdout, stderr) = run("typed_var.rhai", &["--var", "port=abc"]);
    assert_eq!(code, Some(2));
    assert_eq!(stdout, "", "nothing ran");
    golden("typed_var.txt", &stderr);
    let (code, stdout, _) = run("typed_var.rhai", &["--var", "port=9000"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("port 9000"), "{stdout}");
    Udpsh::new(&["run", "--var", "nonsense", "fixtures/errors/typed_var.rhai"])
        .output()
        .code(2)
        .output_has("'nonsense' is not NAME=VALUE");
}

#[test]
fn usage_errors_exit_2() {
    Udpsh::new(&["run", "fixtures/errors/missing.rhai"])
        .output()
        .code(2)
        .output_has("no such file or directory: fixtures/errors/missing.rhai");
    Udpsh::new(&["run", "--timeout", "0", "fixtures/errors/busy.rhai"])
        .output()
        .code(2)
        .output_has("not a positive number of seconds");
    Udpsh::new(&[
        "run",
        "--report",
        "xml=out.xml",
        "fixtures/errors/busy.rhai",
    ])
    .output()
    .code(2)
    .output_has("unknown report format 'xml'");
    Udpsh::new(&["frobnicate"]).output().code(2);
}

#[test]
fn worst_outcome_wins_the_exit_code() {
    let out = Udpsh::new(&[
        "run",
        "fixtures/errors/assert_short.rhai",
        "fixtures/errors/oversize.rhai",
        "scripts/scenarios/truncation.rhai",
    ])
    .output()
    .code(3);
    assert!(
        out.stdout
            .contains("3 scripts: 1 passed, 1 failed, 1 error"),
        "{}",
        out.stdout
    );
}

#[test]
fn one_liners_run_with_dash_e() {
    Udpsh::new(&["-e", "print(to_hex(hex(\"48 69\")))"])
        .output()
        .success()
        .stdout_has("4869");
    Udpsh::new(&["-e", "assert_eq(1 + 1, 3)"])
        .output()
        .code(1)
        .output_has("--> <-e>:1:1");
}

#[test]
fn ctrl_c_stops_a_blocked_run_cleanly() {
    let mut run = Udpsh::new(&["run", "--timeout", "20", "fixtures/errors/blocked.rhai"]).spawn();
    // Wait until the script is blocked in recvfrom (it printed "waiting").
    let first = run.stdout_line();
    assert_eq!(first, "waiting\n");
    std::thread::sleep(Duration::from_millis(100));
    run.interrupt();
    let out = run.finish();
    let rest = &out.stdout[first.len()..];
    assert_eq!(out.code, Some(3), "{rest}");
    assert!(
        rest.contains("INTERRUPTED fixtures/errors/blocked.rhai"),
        "{rest}"
    );
    assert!(rest.contains("stopped: interrupted (Ctrl-C)"), "{rest}");
}

#[test]
fn errors_in_an_imported_module_point_into_the_module() {
    Udpsh::script("main.rhai", "import \"helper\" as h;\n\nh::check(1);\n")
        .file("helper.rhai", "fn check(x) {\n\n  assert_eq(x, 2);\n}\n")
        .output()
        .code(1)
        .stdout_has("helper.rhai:3:3")
        .stdout_has("3 |   assert_eq(x, 2);")
        .stdout_has("in call to function 'check' at main.rhai:3:4");
    Udpsh::script("main.rhai", "let a = 1;\nimport \"broken\" as b;\n")
        .file("broken.rhai", "fn f( {\n")
        .output()
        .code(3)
        .stdout_has("main.rhai:2:8")
        .stdout_has("broken.rhai:1:7");
    Udpsh::script("main.rhai", "import \"missing\" as m;\n")
        .output()
        .code(3)
        .stdout_has("main.rhai:1:8");
}

#[test]
fn check_compiles_what_a_script_imports() {
    let mut udpsh = Udpsh::new(&["check", "main.rhai", "good.rhai"])
        .file(
            "main.rhai",
            "import \"lib/broken\" as b;\nimport \"udpsh/dnss\" as d;\nfn f() { import \"gone\" as g; }\n",
        )
        .file("lib/broken.rhai", "import \"fine\" as f;\nfn f( {\n")
        .file("lib/fine.rhai", "fn one() { 1 }\n")
        .file("good.rhai", "import \"udpsh/dns\" as dns;\nimport \"lib/fine\" as f;\n");
    let dir = udpsh.path("");
    udpsh
        .current_dir(&dir)
        .output()
        .code(2)
        .stdout_has("ok      good.rhai")
        .stderr_has("--> lib/broken.rhai:2:7")
        .stderr_has("no built-in module 'udpsh/dnss'")
        .stderr_has("--> main.rhai:2:1")
        .stderr_has("cannot import 'gone'")
        .stderr_has("--> main.rhai:3:10");
}

#[test]
fn a_bad_test_option_is_refused_before_anything_runs() {
    let out = Udpsh::script(
        "bo.rhai",
        "print(\"set-up ran\");\ntest(\"bad\", #{tagz: [\"x\"]}, || {});\ntest(\"a\", || {});\n",
    )
    .output()
    .code(2)
    .stderr_has("test(): unknown option 'tagz' (options: tags, timeout, retries)")
    .stderr_has("--> bo.rhai:2:1");
    assert!(!out.stdout.contains("set-up ran"), "{}", out.stdout);
    let out = Udpsh::script("r.rhai", "test(\"x\", #{retries: -1}, || {});\n")
        .output()
        .code(2);
    assert!(
        out.stderr.contains("retries must be 0 to 1000, not -1"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_blob_compared_with_a_string_is_warned_of_before_it_runs() {
    Udpsh::script(
        "cmp.rhai",
        "let d = #{data: hex(\"50\")};\nif d.data == \"P\" { print(\"never\"); }\n",
    )
    .output()
    .success()
    .stderr_has("warning: cmp.rhai:2:11: a blob == a string is always false in Rhai");
}
