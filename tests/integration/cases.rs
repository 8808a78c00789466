//! Suites (issue 13): many `test()`s per file, skips, retries and flaky tests, selection and
//! `--list`, each checked in the terminal (golden), JUnit (parsed, and read by Python's
//! junitparser as a real consumer), TAP and JSON.

use std::collections::BTreeMap;

use crate::support::*;

const CASES: &str = "fixtures/suite/cases";

/// One `<testcase>`: its attributes and the names of the elements inside it, with theirs.
#[derive(Debug, Default)]
struct JunitCase {
    attrs: BTreeMap<String, String>,
    children: Vec<(String, BTreeMap<String, String>)>,
}

fn attrs(e: &quick_xml::events::BytesStart) -> BTreeMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.unwrap();
            (
                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect()
}

fn junit_cases(xml: &str) -> Vec<JunitCase> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut cases = Vec::new();
    let mut open: Option<JunitCase> = None;
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) if e.name().as_ref() == b"testcase" => {
                open = Some(JunitCase {
                    attrs: attrs(&e),
                    ..JunitCase::default()
                });
            }
            Event::Empty(e) if e.name().as_ref() == b"testcase" => cases.push(JunitCase {
                attrs: attrs(&e),
                ..JunitCase::default()
            }),
            Event::Start(e) | Event::Empty(e) => {
                if let Some(case) = open.as_mut() {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    case.children.push((name, attrs(&e)));
                }
            }
            Event::End(e) if e.name().as_ref() == b"testcase" => cases.extend(open.take()),
            Event::Eof => break,
            _ => {}
        }
    }
    cases
}

fn child<'a>(case: &'a JunitCase, name: &str) -> Option<&'a BTreeMap<String, String>> {
    case.children
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a)
}

/// The fixture suite with a retry (so the flaky test passes on its 2nd try), every report.
fn run_cases(extra: &[&str]) -> (Output, String, String, serde_json::Value) {
    let mut u = Udpsh::new(&["run", "--timeout", "20"]);
    let state = u.path("flaky-count");
    let junit = u.path("junit.xml");
    let tap = u.path("run.tap");
    let json = u.path("run.json");
    let out = u
        .args(["--retry", "1", "--var"])
        .arg(format!("state={}", state.display()))
        .args(["--report"])
        .arg(format!("junit={}", junit.display()))
        .args(["--report"])
        .arg(format!("tap={}", tap.display()))
        .args(["--report"])
        .arg(format!("json={}", json.display()))
        .args(extra)
        .arg(CASES)
        .output();
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let json: serde_json::Value = serde_json::from_str(&read(&json)).unwrap();
    (out.code(3), read(&junit), read(&tap), json)
}

#[test]
fn each_test_is_a_case_in_every_report() {
    let (out, xml, tap, json) = run_cases(&[]);
    golden("cases_terminal.txt", &without_times(&out.stdout));

    // JUnit: the class is the file, the name the test; one element per outcome.
    let cases = junit_cases(&xml);
    let by_name: BTreeMap<&str, &JunitCase> = cases
        .iter()
        .map(|c| (c.attrs["name"].as_str(), c))
        .collect();
    assert_eq!(cases.len(), 9, "{xml}");
    let echo = by_name["echo answers"];
    assert_eq!(echo.attrs["classname"], "fixtures.suite.cases.service");
    assert!(child(echo, "failure").is_none() && child(echo, "error").is_none());
    let wrong = child(by_name["wrong address"], "failure").expect("a failure");
    assert_eq!(
        wrong["message"],
        "assert_eq failed: expected \"10.1.2.4\", got \"10.1.2.3\""
    );
    assert_eq!(
        child(by_name["oversize"], "error").unwrap()["type"],
        "error"
    );
    assert_eq!(
        child(by_name["needs a daemon"], "skipped").unwrap()["message"],
        "snmpd is not installed"
    );
    assert_eq!(child(by_name["hangs"], "error").unwrap()["type"], "timeout");
    let flaky = by_name["flaky"];
    assert!(child(flaky, "failure").is_none(), "passed on its retry");
    assert_eq!(
        child(flaky, "flakyFailure").unwrap()["message"],
        "assertion failed: try 1 fails"
    );
    // A set-up error fails each of the file's tests, by name.
    for name in ["first", "second"] {
        let e = child(by_name[name], "error").unwrap();
        assert_eq!(e["message"], "port 99999 is out of range (0 to 65535)");
    }
    assert_eq!(
        child(by_name["v6 echo"], "skipped").unwrap()["message"],
        "no IPv6 on this host"
    );

    // TAP: a line each, skips as directives, a diagnostic with the summary for failures.
    let lines: Vec<&str> = tap.lines().collect();
    assert_eq!(lines[1], "1..9");
    assert!(lines.contains(&"ok 1 - fixtures/suite/cases/service.rhai › echo answers"));
    assert!(lines.contains(
        &"ok 4 - fixtures/suite/cases/service.rhai › needs a daemon # SKIP snmpd is not installed"
    ));
    assert!(lines.contains(&"ok 6 - fixtures/suite/cases/service.rhai › flaky"));
    assert!(lines.contains(&"# flaky: passed on try 2"));
    assert!(
        lines
            .contains(&r#"  message: "assert_eq failed: expected \"10.1.2.4\", got \"10.1.2.3\"""#)
    );

    // JSON: a record each, with status, attempts, flakiness and the skip reason.
    let records = json["scripts"].as_array().unwrap();
    let record = |test: &str| {
        records
            .iter()
            .find(|r| r["test"] == test)
            .unwrap_or_else(|| panic!("no record of {test}"))
    };
    assert_eq!(record("wrong address")["status"], "failed");
    assert_eq!(
        record("wrong address")["error"]["message"],
        "assert_eq failed: expected \"10.1.2.4\", got \"10.1.2.3\""
    );
    assert_eq!(record("needs a daemon")["status"], "skipped");
    assert_eq!(record("needs a daemon")["reason"], "snmpd is not installed");
    assert_eq!(record("hangs")["status"], "timeout");
    assert_eq!(record("flaky")["status"], "passed");
    assert_eq!(record("flaky")["flaky"], true);
    assert_eq!(record("flaky")["attempts"], 2);
    let summary = &json["summary"];
    assert_eq!(
        (
            &summary["total"],
            &summary["passed"],
            &summary["failed"],
            &summary["errors"],
            &summary["timeouts"],
            &summary["skipped"],
            &summary["flaky"]
        ),
        (
            &9.into(),
            &2.into(),
            &1.into(),
            &3.into(),
            &1.into(),
            &2.into(),
            &1.into()
        )
    );
}

/// Python's junitparser reads the report as GitLab and Jenkins plugins do.
#[test]
fn junitparser_reads_the_report() {
    let python = python3_with("junitparser");
    let Some(python) = python else { return };
    let (_, xml, _, _) = run_cases(&[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
    let check = r#"
import sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
seen = {}
for suite in xml:
    for case in suite:
        kinds = [type(r).__name__ for r in case.result]
        msgs = [r.message for r in case.result]
        seen[case.name] = (case.classname, kinds, msgs)
assert seen["wrong address"][1] == ["Failure"], seen
assert seen["wrong address"][2] == ['assert_eq failed: expected "10.1.2.4", got "10.1.2.3"'], seen
assert seen["needs a daemon"][1] == ["Skipped"], seen
assert seen["hangs"][1] == ["Error"], seen
assert seen["echo answers"][1] == [], seen
assert seen["echo answers"][0] == "fixtures.suite.cases.service", seen
print(len(seen), "cases")
"#;
    let out = std::process::Command::new(python)
        .args(["-c", check])
        .arg(&file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned()
        + String::from_utf8_lossy(&out.stderr).as_ref();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("9 cases"), "{text}");
}

/// python3 if it can import `module`; a missing one skips, except under CI=true.
fn python3_with(module: &str) -> Option<&'static str> {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 -m pip install {module} (CI needs it)"
        );
        eprintln!("note: python3 cannot import {module}; skipping");
    }
    ok.then_some("python3")
}

fn list(args: &[&str]) -> Vec<String> {
    let out = Udpsh::new(&[&["run", "--list"], args, &[CASES]].concat())
        .output()
        .success();
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn list_shows_what_would_run_after_every_selection_option() {
    let service = "fixtures/suite/cases/service.rhai › ";
    let all = list(&[]);
    assert_eq!(all.len(), 9, "{all:?}");
    assert_eq!(all[0], format!("{service}echo answers"));
    assert_eq!(
        list(&["--tag", "dns"]),
        [
            format!("{service}wrong address"),
            format!("{service}needs a daemon")
        ]
    );
    assert_eq!(list(&["--skip-tag", "dns", "--skip-tag", "echo"]).len(), 6);
    assert_eq!(
        list(&["--filter", "› first", "--filter", "hangs"]),
        [
            format!("{service}hangs"),
            "fixtures/suite/cases/setup_fails.rhai › first".to_string()
        ]
    );
    assert_eq!(list(&["--exclude", "service.rhai"]).len(), 3);
    assert_eq!(list(&["--filter", "service", "--exclude", "› *e"]).len(), 2);
    let shard: Vec<String> = list(&["--shard", "1/3"]);
    assert_eq!(shard.len(), 6, "the first of three files: {shard:?}");
    // Nothing ran: no capture, no report.
    let mut u = Udpsh::new(&["run", "--list", "--report"]);
    let junit = u.path("j.xml");
    u.arg(format!("junit={}", junit.display()))
        .arg(CASES)
        .output()
        .success();
    assert!(!junit.exists());
}

#[test]
fn selection_runs_only_the_chosen_tests() {
    let out = Udpsh::new(&["run", "--tag", "echo", CASES])
        .output()
        .success();
    assert!(out.stdout.contains("› echo answers"), "{}", out.stdout);
    assert!(out.stdout.contains("1 test: 1 passed"), "{}", out.stdout);
    assert!(!out.stdout.contains("wrong address"), "{}", out.stdout);
}

#[test]
fn repeat_runs_and_counts_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let pcaps = dir.path().join("pcaps");
    let out = Udpsh::new(&["run", "--repeat", "3", "--tag", "echo", CASES])
        .arg("--report")
        .arg(format!("junit={}", junit.display()))
        .arg("--pcap-dir")
        .arg(pcaps.display())
        .output()
        .success();
    assert!(out.stdout.contains("3 tests: 3 passed"), "{}", out.stdout);
    for k in 1..=3 {
        let line = format!("service.rhai [{k}/3] › echo answers");
        assert!(out.stdout.contains(&line), "{line}: {}", out.stdout);
    }
    // Each run is its own case of the same class and file, with its own capture.
    let cases = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    let seen: Vec<(&str, &str, &str)> = cases
        .iter()
        .map(|c| {
            (
                c.attrs["name"].as_str(),
                c.attrs["classname"].as_str(),
                c.attrs["file"].as_str(),
            )
        })
        .collect();
    let file = "fixtures/suite/cases/service.rhai";
    let class = "fixtures.suite.cases.service";
    assert_eq!(
        seen,
        [
            ("echo answers [1/3]", class, file),
            ("echo answers [2/3]", class, file),
            ("echo answers [3/3]", class, file)
        ]
    );
    let mut captures: Vec<String> = std::fs::read_dir(&pcaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    captures.sort();
    let runs: Vec<String> = (1..=3)
        .map(|k| format!("fixtures_suite_cases_service-run{k}.pcapng"))
        .collect();
    assert!(runs.iter().all(|r| captures.contains(r)), "{captures:?}");
    // A file that is one test is repeated as a whole.
    Udpsh::script("one.rhai", "print(\"run\");")
        .args(["--repeat", "2"])
        .output()
        .success()
        .stdout_has("2 scripts: 2 passed");
}

#[test]
fn fail_fast_stops_at_the_first_failure() {
    let out = Udpsh::new(&["run", "--fail-fast", "--timeout", "20", CASES])
        .output()
        .code(1);
    assert!(out.stdout.contains("FAIL"), "{}", out.stdout);
    assert!(out.stdout.contains("and --fail-fast)"), "{}", out.stdout);
    // Later files did not run, and are reported as skipped, not dropped.
    let later = "skip    fixtures/suite/cases/setup_fails.rhai › first (not run";
    assert!(out.stdout.contains(later), "{}", out.stdout);
    assert!(
        !out.stdout.contains("ERROR   fixtures/suite/cases/setup"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("9 tests"), "{}", out.stdout);
}

#[test]
fn a_one_test_file_is_retried_and_reported_flaky() {
    let mut u = Udpsh::script(
        "flaky.rhai",
        "let f = \"count\";\nlet n = 0;\ntry { n = parse_int(read_file(f).as_string()); } catch {}\n\
         write_file(f, `${n + 1}`);\nassert(n >= 2, `run ${n + 1} fails`);",
    );
    let junit = u.path("j.xml");
    let out = u
        .args(["--retry", "2", "--report"])
        .arg(format!("junit={}", junit.display()))
        .output()
        .success();
    assert!(out.stdout.contains("passed on try 3"), "{}", out.stdout);
    assert!(out.stdout.contains("1 flaky"), "{}", out.stdout);
    let cases = junit_cases(&std::fs::read_to_string(&junit).unwrap());
    let flaky: Vec<_> = cases[0]
        .children
        .iter()
        .filter(|(n, _)| n == "flakyFailure")
        .collect();
    assert_eq!(flaky.len(), 2);
}

#[test]
fn a_skip_never_fails_a_run() {
    let out = Udpsh::script("s.rhai", "skip(\"not here\");\nassert(false);")
        .output()
        .success();
    assert!(out.stdout.contains("skip    "), "{}", out.stdout);
    assert!(out.stdout.contains("(not here)"), "{}", out.stdout);
    assert!(out.stdout.contains("1 skipped"), "{}", out.stdout);
}

#[test]
fn the_shipped_scripts_still_pass_unchanged() {
    Udpsh::new(&["run", "--timeout", "20", "scripts/scenarios"])
        .output()
        .success()
        .stdout_has("scripts: ");
}

#[test]
fn bash_completes_run_options() {
    let shell = format!(
        "source <({} completions bash) && COMP_WORDS=(udpsh run --) && COMP_CWORD=2 && \
         _udpsh udpsh -- run && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        env!("CARGO_BIN_EXE_udpsh")
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &shell])
        .output()
        .unwrap();
    let words = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--list",
        "--retry",
        "--exclude",
        "--tag",
        "--report",
        "--pcap-dir",
    ] {
        assert!(words.lines().any(|w| w == option), "{option}: {words}");
    }
    for shell in ["zsh", "fish", "powershell"] {
        Udpsh::new(&["completions", shell])
            .output()
            .success()
            .stdout_has("udpsh");
    }
}
