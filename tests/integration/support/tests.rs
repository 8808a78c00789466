//! The builder's own forms: inline scripts with files beside them, `-e`, env, deadlines.

use super::*;

#[test]
fn an_inline_script_runs_in_its_folder_beside_its_files() {
    let out = Udpsh::script(
        "reads.rhai",
        r#"let data = read_file("data/in.bin");
           assert_eq(to_hex(data), "00ff");
           write_file("out.txt", `${data.len()} bytes`);
           let t = spawn("helper.rhai", #{});
           join(t);
           print(`script ${var("who", "?")}`);"#,
    )
    .file("data/in.bin", [0x00, 0xff])
    .file("helper.rhai", r#"print("helper ran");"#)
    .var("who", "inline")
    .output()
    .success()
    .stdout_has("helper ran")
    .stdout_has("script inline");
    assert!(
        out.label.contains("run --timeout 10 reads.rhai"),
        "{}",
        out.label
    );
    // The folder outlives the run: the test reads what the script wrote there.
    assert_eq!(
        std::fs::read_to_string(out.path("out.txt")).unwrap(),
        "2 bytes"
    );
}

#[test]
fn an_inline_script_elsewhere_is_passed_by_its_full_path() {
    let out = Udpsh::script(
        "here.rhai",
        r#"print(read_file("fixtures/test.txt").len() > 0);"#,
    )
    .current_dir(repo())
    .output()
    .success()
    .stdout_has("true");
    assert!(out.label.contains("/here.rhai"), "{}", out.label);
}

#[test]
fn an_inline_failure_points_into_the_script_by_its_name() {
    Udpsh::script("bad.rhai", "let x = 1;\nassert_eq(x, 2);\n")
        .output()
        .code(1)
        .output_has("--> bad.rhai:2:1");
}

#[test]
fn one_liners_get_a_timeout_and_take_options_after() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("x.pcap");
    Udpsh::eval(r#"let a = udp("127.0.0.1:0"); a.sendto("hi", a.local_addr); print(var("v", 0));"#)
        .var("v", 7)
        .arg("--pcap")
        .arg(pcap.display())
        .output()
        .success()
        .stdout_has("7");
    assert!(pcap.metadata().unwrap().len() > 24);
    Udpsh::eval("sleep(5.0);")
        .timeout(0.2)
        .output()
        .code(3)
        .stderr_has("--timeout");
}

#[test]
fn timeouts_widen_the_deadline_but_never_narrow_it() {
    assert_eq!(Udpsh::eval("").deadline, CHILD_DEADLINE);
    assert_eq!(Udpsh::eval("").timeout(0.5).deadline, CHILD_DEADLINE);
    let long = Udpsh::run("x.rhai").timeout(30);
    assert_eq!(long.deadline, Duration::from_secs(40));
    assert_eq!(long.args, ["run", "--timeout", "30", "x.rhai"]);
    let added = Udpsh::new(&["repl"]).timeout(1);
    assert_eq!(added.args, ["repl", "--timeout", "1"]);
}

#[test]
fn env_is_set_after_no_color_and_can_remove_it() {
    let colored = Udpsh::new(&[]).env("A", 1).color();
    let (cmd, _) = colored.command();
    let envs: Vec<(String, Option<String>)> = cmd
        .get_envs()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.map(|v| v.to_string_lossy().into_owned()),
            )
        })
        .collect();
    assert!(envs.contains(&("A".into(), Some("1".into()))), "{envs:?}");
    assert!(envs.contains(&("NO_COLOR".into(), None)), "{envs:?}");
}

#[test]
fn a_netns_run_is_prefixed_with_ip_netns_exec() {
    let (cmd, label) = Udpsh::eval("1").in_netns("ns-x").command();
    assert_eq!(cmd.get_program(), "ip");
    let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
    assert_eq!(args[..3], ["netns", "exec", "ns-x"]);
    assert!(args[3].ends_with("udpsh"), "{args:?}");
    assert!(
        label.starts_with("ip netns exec ns-x udpsh --timeout"),
        "{label}"
    );
}

#[test]
fn a_dropped_child_is_killed() {
    let run = Udpsh::new(&["run", "--timeout", "20", "fixtures/errors/blocked.rhai"]).spawn();
    let pid = run.child.id() as libc::pid_t;
    drop(run);
    // SAFETY: signal 0 only asks whether the process exists; it was reaped by the drop.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(!alive, "pid {pid} still runs");
}
