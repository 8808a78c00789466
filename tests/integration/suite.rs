//! `udpsh run` as CI uses it: a mixed suite's exit code, terminal output and reports (JUnit
//! parsed as XML, TAP line by line, JSON with serde), `-j`, `--shard`, `--filter`, `--pcap-dir`.

use std::collections::BTreeMap;

use crate::support::*;

const MIXED: &str = "fixtures/suite/mixed";

/// Counts of `<testcase>`, `<failure>`, `<error>` elements, and the root's attributes.
fn junit_counts(xml: &str) -> (usize, usize, usize, BTreeMap<String, String>) {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let mut reader = Reader::from_str(xml);
    let (mut cases, mut failures, mut errors) = (0, 0, 0);
    let mut root = BTreeMap::new();
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                match name.as_str() {
                    "testsuites" => {
                        for a in e.attributes() {
                            let a = a.unwrap();
                            root.insert(
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                String::from_utf8(a.value.to_vec()).unwrap(),
                            );
                        }
                    }
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    "error" => errors += 1,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (cases, failures, errors, root)
}

#[test]
fn a_mixed_suite_gives_exit_3_and_reports_that_parse() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("out/junit.xml");
    let json = dir.path().join("out/report.json");
    let out = Udpsh::new(&[
        "run",
        "--timeout",
        "0.5",
        "--report",
        &format!("junit={}", junit.display()),
        "--report",
        &format!("json={}", json.display()),
        "--report",
        "tap",
        MIXED,
    ])
    .output()
    .code(3);

    let tap: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(tap[0], "TAP version 13");
    assert_eq!(tap[1], "1..4");
    let results: Vec<&&str> = tap.iter().filter(|l| l.contains(" - ")).collect();
    assert_eq!(
        results,
        [
            &"ok 1 - fixtures/suite/mixed/a_pass.rhai",
            &"not ok 2 - fixtures/suite/mixed/b_fail.rhai",
            &"not ok 3 - fixtures/suite/mixed/c_error.rhai",
            &"not ok 4 - fixtures/suite/mixed/d_timeout.rhai",
        ]
    );
    assert!(tap.contains(&"  severity: fail"));
    assert!(tap.contains(&"  status: timeout"));
    // With TAP on stdout, the human summary goes to stderr.
    assert!(
        out.stderr
            .contains("4 scripts: 1 passed, 1 failed, 1 error, 1 timed out")
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    let (cases, failures, errors, root) = junit_counts(&xml);
    assert_eq!((cases, failures, errors), (4, 1, 2));
    assert_eq!(root["tests"], "4");
    assert_eq!(root["failures"], "1");
    assert_eq!(root["errors"], "2");
    assert!(
        xml.contains("expecting ping"),
        "script output in system-out"
    );
    assert!(
        xml.contains("b_fail.rhai:5:1"),
        "rendered source in the failure"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let scripts = report["scripts"].as_array().unwrap();
    let statuses: Vec<&str> = scripts
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["passed", "failed", "error", "timeout"]);
    assert_eq!(scripts[0]["sent"], 1);
    assert_eq!(scripts[0]["received"], 1);
    assert_eq!(scripts[1]["error"]["line"], 5);
    assert_eq!(scripts[1]["error"]["col"], 1);
    assert_eq!(
        scripts[2]["error"]["file"],
        "fixtures/suite/mixed/c_error.rhai"
    );
    assert_eq!(report["summary"]["total"], 4);
}

#[test]
fn terminal_output_of_a_mixed_suite() {
    let out = Udpsh::new(&["run", "--timeout", "0.5", MIXED])
        .output()
        .code(3);
    golden("mixed_suite_terminal.txt", &without_times(&out.stdout));
}

#[test]
fn quiet_shows_only_failures_and_the_summary() {
    let out = Udpsh::new(&["run", "-q", "--timeout", "0.5", MIXED])
        .output()
        .code(3);
    assert!(!out.stdout.contains("a_pass"), "{}", out.stdout);
    assert!(!out.stdout.contains("sent ping"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("FAIL    fixtures/suite/mixed/b_fail.rhai")
    );
    assert!(out.stdout.contains("4 scripts: 1 passed"));
}

#[test]
fn verbose_shows_every_datagram() {
    Udpsh::new(&["run", "-v", "fixtures/suite/mixed/a_pass.rhai"])
        .output()
        .success()
        .stdout_has("→ 127.0.0.1:")
        .stdout_has("← 127.0.0.1:")
        .stdout_has("4 bytes \"ping\"");
}

/// fixtures/suite/parallel with `-j JOBS`, its rendezvous files in a fresh folder.
fn parallel_pair(jobs: &str, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let var = format!("dir={}", dir.path().display());
    let mut args = vec!["run", "--timeout", "10", "-j", jobs, "--var", &var];
    args.extend(extra);
    args.push("fixtures/suite/parallel");
    Udpsh::new(&args).output()
}

#[test]
fn jobs_run_scripts_at_the_same_time() {
    // listener.rhai passes only if talker.rhai runs while it waits.
    parallel_pair("2", &[]).success();
    parallel_pair("1", &["--var", "wait=0.3"])
        .code(3)
        .stdout_has("ERROR   fixtures/suite/parallel/listener.rhai");
}

fn names_in(args: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let report = format!("json={}", json.display());
    let mut all = vec!["run", "-q", "--timeout", "10", "--report", &report];
    all.extend(args);
    Udpsh::new(&all).output().success();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    v["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn shards_cover_the_suite_exactly_once() {
    let all = names_in(&["scripts/scenarios"]);
    let on_disk = std::fs::read_dir(crate::support::repo().join("scripts/scenarios"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "rhai")
        })
        .count();
    assert_eq!(all.len(), on_disk);
    let mut union = Vec::new();
    for i in 1..=3 {
        let slice = names_in(&["--shard", &format!("{i}/3"), "scripts/scenarios"]);
        assert!(!slice.is_empty());
        union.extend(slice);
    }
    union.sort();
    assert_eq!(union, all);
}

#[test]
fn filter_picks_scripts_by_name() {
    assert_eq!(
        names_in(&["--filter", "chat", "scripts/scenarios"]),
        ["scripts/scenarios/chat.rhai"]
    );
    assert_eq!(
        names_in(&["--filter", "broad*denied", "scripts/scenarios"]).len(),
        1
    );
    Udpsh::new(&["run", "--filter", "nothing-matches", "scripts/scenarios"])
        .output()
        .code(2);
}

#[test]
fn pcap_dir_names_one_capture_per_script_and_reports_point_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let pcaps = dir.path().join("pcap");
    let json = dir.path().join("r.json");
    Udpsh::new(&[
        "run",
        "--pcap-dir",
        pcaps.to_str().unwrap(),
        "--report",
        &format!("json={}", json.display()),
        "scripts/scenarios/chat.rhai",
        "scripts/scenarios/truncation.rhai",
    ])
    .output()
    .success();
    let chat = pcaps.join("scripts_scenarios_chat.pcapng");
    let trunc = pcaps.join("scripts_scenarios_truncation.pcapng");
    assert!(chat.metadata().unwrap().len() > 100);
    assert!(trunc.metadata().unwrap().len() > 100);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(v["scripts"][0]["capture"], chat.display().to_string());
}

#[test]
fn a_set_up_that_cannot_start_fails_each_declared_test_by_name_in_every_report() {
    // A --var that does not fit the set-up's var(): nothing runs (exit 2), and each test is
    // named failing, as JUnit dashboards track tests by name.
    let script = "let port = var(\"port\", 5);\n\
                  test(\"first\", || assert(true));\n\
                  test(\"second\", #{tags: [\"x\"]}, || assert(true));\n";
    let out = Udpsh::script("setup.rhai", script)
        .var("port", "abc")
        .args([
            "--report",
            "junit=j.xml",
            "--report",
            "json=j.json",
            "--report",
            "tap=t.tap",
        ])
        .output()
        .code(2)
        .stderr_has("ERROR   setup.rhai › first")
        .stderr_has("ERROR   setup.rhai › second");
    let (tests, _, errors, _) = junit_counts(&std::fs::read_to_string(out.path("j.xml")).unwrap());
    assert_eq!((tests, errors), (2, 2));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path("j.json")).unwrap()).unwrap();
    let names: Vec<&str> = json["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["test"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["first", "second"], "{json}");
    let tap = std::fs::read_to_string(out.path("t.tap")).unwrap();
    assert!(tap.contains("not ok 1 - setup.rhai › first"), "{tap}");
    assert!(tap.contains("not ok 2 - setup.rhai › second"), "{tap}");
    assert!(tap.contains("'abc' is not an integer"), "{tap}");
}
