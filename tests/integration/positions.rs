//! Every position udpsh shows is the real one, in scripts of up to a million lines: Rhai
//! counts lines in 16 bits, so udpsh folds a long script before compiling it and maps each
//! position back (see src/api/positions.rs). Syntax errors, runtime errors, errors in
//! functions, call notes and every report agree.

use crate::support::*;

/// A script of `lines` lines: mostly comments, some code (strings, interpolation, comments
/// on a line with code, a block comment and a string over two lines), with the lines `at`
/// (1-based) replaced.
fn long_script(lines: usize, at: &[(usize, &str)]) -> String {
    let mut text = String::with_capacity(lines * 24);
    for n in 1..=lines {
        let line = match at.iter().find(|(k, _)| *k == n) {
            Some((_, line)) => line.to_string(),
            None => match n {
                1000 | 100_000 => "/* a block".to_string(),
                1001 | 100_001 => "   comment */ let t = `two".to_string(),
                1002 | 100_002 => "lines`;".to_string(),
                _ if n % 5 == 0 => format!("let v = \"text {n}\"; // a note"),
                _ if n % 5 == 1 => "/* one */ let w = `tick ${1 + 2} tock`;".to_string(),
                _ => "// filler".to_string(),
            },
        };
        text.push_str(&line);
        text.push('\n');
    }
    text
}

#[test]
fn a_runtime_error_a_million_lines_down_names_its_real_line_everywhere() {
    let script = long_script(
        1_000_000,
        &[
            (600_001, "fn f(x) {"),
            (600_002, "    x.nope()"),
            (600_003, "}"),
            (999_998, "  f(1);"),
        ],
    );
    let out = Udpsh::script("long.rhai", &script)
        .args([
            "--report",
            "json=r.json",
            "--report",
            "tap=r.tap",
            "--report",
            "junit=r.xml",
        ])
        .timeout(60)
        .output()
        .code(3)
        .stdout_has("long.rhai:600002:7")
        .stdout_has("600002 |     x.nope()")
        .stdout_has("in call to function 'f' at long.rhai:999998:3");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path("r.json")).unwrap()).unwrap();
    assert_eq!(json["scripts"][0]["error"]["line"], 600_002, "{json}");
    assert_eq!(json["scripts"][0]["error"]["col"], 7, "{json}");
    let tap = std::fs::read_to_string(out.path("r.tap")).unwrap();
    assert!(tap.contains("  line: 600002"), "{tap}");
    let xml = std::fs::read_to_string(out.path("r.xml")).unwrap();
    assert!(xml.contains("long.rhai:600002:7"), "{xml}");
}

#[test]
fn syntax_errors_and_assertions_past_65535_have_their_real_line() {
    let failing = long_script(200_000, &[(150_000, "      assert(false, \"late\");")]);
    Udpsh::script("assert.rhai", &failing)
        .timeout(60)
        .output()
        .code(1)
        .stdout_has("assert.rhai:150000:7")
        .stdout_has("150000 |       assert(false, \"late\");");
    let broken = long_script(300_000, &[(70_000, "let y = ;")]);
    Udpsh::script("broken.rhai", &broken)
        .timeout(60)
        .output()
        .code(2)
        .stderr_has("broken.rhai:70000:9");
    // `udpsh check` reads the same positions.
    let mut check = Udpsh::new(&["check", "broken.rhai"]).file("broken.rhai", &broken);
    let dir = check.path("");
    check
        .current_dir(&dir)
        .output()
        .code(2)
        .stderr_has("broken.rhai:70000:9");
}

#[test]
fn a_column_past_65535_is_said_honestly() {
    // One line too long for Rhai's columns: its position is "that or more", never a guess.
    let script = format!(
        "let s = \"{}\"; assert(false, \"far\");\n",
        "x".repeat(70_000)
    );
    Udpsh::script("wide.rhai", &script)
        .output()
        .code(1)
        .stdout_has("wide.rhai:1:column ≥ 65535");
}

#[test]
fn a_script_just_past_65535_lines_reports_the_real_line() {
    let script = "let x = 1;\n".repeat(70_000) + "assert(false, \"late\");\n";
    let out = Udpsh::script("long.rhai", &script)
        .args(["--report", "json=r.json", "--report", "tap=r.tap"])
        .output()
        .code(1)
        .stdout_has("long.rhai:70001:1");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path("r.json")).unwrap()).unwrap();
    assert_eq!(json["scripts"][0]["error"]["line"], 70_001, "{json}");
    let tap = std::fs::read_to_string(out.path("r.tap")).unwrap();
    assert!(tap.contains("  line: 70001"), "{tap}");
}
