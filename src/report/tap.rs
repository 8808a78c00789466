//! TAP version 13: one `ok`/`not ok` line per script, a YAML block saying why a script failed.

use std::io::{self, Write};
use std::time::Duration;

use super::{Reporter, message};
use crate::display::one_line;
use crate::outcome::{Case, FileResult, Status, all_cases};

/// Streams plain TAP 13, as `prove` and CI TAP plugins read it.
pub struct TapReport;

impl Reporter for TapReport {
    fn write(&self, files: &[FileResult], _total: Duration, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "TAP version 13")?;
        writeln!(out, "1..{}", all_cases(files).count())?;
        for (i, case) in all_cases(files).enumerate() {
            let good = case.status().is_ok();
            let ok = if good { "ok" } else { "not ok" };
            let skip = match case.status() {
                Status::Skipped => format!(" # SKIP {}", one_line(&message(&case))),
                _ => String::new(),
            };
            writeln!(out, "{ok} {} - {}{skip}", i + 1, description(&case.name()))?;
            if case.case.is_flaky() {
                let tries = case.case.attempts.len();
                writeln!(out, "# flaky: passed on try {tries}")?;
            }
            if !good {
                diagnostic(&case, out)?;
            }
        }
        out.flush()
    }
}

/// The YAML block under a `not ok` line; strings are double-quoted (JSON strings are valid YAML).
fn diagnostic(case: &Case, out: &mut dyn Write) -> io::Result<()> {
    let (severity, status) = match case.status() {
        Status::Passed | Status::Skipped => unreachable!("only failures have a diagnostic"),
        Status::Failed => ("fail", "failed"),
        Status::Error => ("error", "error"),
        Status::Timeout => ("error", "timeout"),
        Status::Interrupted => ("error", "interrupted"),
    };
    writeln!(out, "  ---")?;
    writeln!(out, "  message: {}", quote(&message(case)))?;
    writeln!(out, "  severity: {severity}")?;
    writeln!(out, "  status: {status}")?;
    let file = case.failure().map_or(&case.file.path, |f| &f.file);
    writeln!(out, "  file: {}", quote(&file.display().to_string()))?;
    if let Some(f) = case.failure().filter(|f| f.line > 0) {
        // Past Rhai's 16 bits only a lower bound is known.
        let at = |n: usize| match crate::diagnostic::saturated(n) {
            true => "\">= 65535\"".to_string(),
            false => n.to_string(),
        };
        writeln!(out, "  line: {}", at(f.line))?;
        writeln!(out, "  col: {}", at(f.col))?;
    }
    writeln!(out, "  duration_ms: {}", case.duration().as_millis())?;
    if let Some(capture) = &case.file.capture {
        writeln!(out, "  capture: {}", quote(&capture.display().to_string()))?;
    }
    writeln!(out, "  ...")
}

/// A YAML value: a JSON string (valid YAML) of the escaped text.
fn quote(s: &str) -> String {
    serde_json::to_string(&one_line(s)).expect("a string always serializes")
}

/// A test name on one line, with `#` escaped so it is not read as a TAP directive.
fn description(name: &str) -> String {
    one_line(&name.replace('\\', "\\\\").replace('#', "\\#")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    fn tap(outcomes: &[FileResult]) -> String {
        let mut out = Vec::new();
        TapReport.write(outcomes, Duration::ZERO, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn mixed_suite_line_by_line() {
        let mut outcomes = sample::suite();
        outcomes[2].capture = Some("captures/upload.pcap".into());
        let expected = [
            "TAP version 13",
            "1..5",
            "ok 1 - scripts/scenarios/chat.rhai",
            "ok 2 - scripts/scenarios/echo.rhai",
            "not ok 3 - scripts/scenarios/upload.rhai",
            "  ---",
            r#"  message: "assertion failed: \"bye\" != \"<done>\"""#,
            "  severity: fail",
            "  status: failed",
            r#"  file: "scripts/scenarios/upload.rhai""#,
            "  line: 12",
            "  col: 11",
            "  duration_ms: 1030",
            r#"  capture: "captures/upload.pcap""#,
            "  ...",
            "not ok 4 - scripts/oversize.rhai",
            "  ---",
            r#"  message: "datagram of 70000 bytes is over the IPv4 limit of 65507""#,
            "  severity: error",
            "  status: error",
            r#"  file: "scripts/oversize.rhai""#,
            "  line: 3",
            "  col: 3",
            "  duration_ms: 10",
            "  ...",
            "not ok 5 - slow.rhai",
            "  ---",
            r#"  message: "timed out after 0.8s""#,
            "  severity: error",
            "  status: timeout",
            r#"  file: "slow.rhai""#,
            "  duration_ms: 810",
            "  ...",
        ];
        let actual = tap(&outcomes);
        assert_eq!(actual.lines().collect::<Vec<_>>(), expected);
        assert!(actual.ends_with("  ...\n"));
    }

    #[test]
    fn missing_failure_gets_a_default_message_and_the_script_path() {
        let lines = tap(&[sample::outcome("dir/stopped.rhai", Status::Interrupted, 5)]);
        let lines: Vec<_> = lines.lines().skip(2).collect();
        assert_eq!(lines[0], "not ok 1 - dir/stopped.rhai");
        assert_eq!(lines[2], r#"  message: "interrupted""#);
        assert_eq!(lines[4], "  status: interrupted");
        assert_eq!(lines[5], r#"  file: "dir/stopped.rhai""#);
        assert_eq!(lines[6], "  duration_ms: 5");
    }

    #[test]
    fn names_cannot_fake_a_directive_or_break_lines() {
        // A newline is shown escaped (kept, not dropped), so it cannot start a forged line.
        assert_eq!(description("a#b\\c\nd.rhai"), "a\\#b\\\\c\\nd.rhai");
        assert_eq!(description("x\x1b]0;pwned\x07"), "x\\x1b]0;pwned\\x07");
        assert_eq!(tap(&[]), "TAP version 13\n1..0\n");
    }
}
