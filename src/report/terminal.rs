//! What a person reads in the terminal: one line per script, failures in full, a summary.
//! Pure functions returning text; the caller prints and decides whether to colour.

use std::fmt::Write as _;
use std::time::Duration;

use anstyle::{AnsiColor, Style};

use super::{Counts, message};
use crate::display::{one_line, terminal_safe};
use crate::outcome::{Case, FileResult, Status, all_cases};

/// Width of the status column: the longest common label, `TIMEOUT`, and a space.
const LABEL_WIDTH: usize = 7;

/// `ok      scripts/scenarios/chat.rhai (0.12s)`, no newline.
pub fn result_line(case: &Case, color: bool) -> String {
    let status = case.status();
    let label = status.label();
    let pad = " ".repeat(LABEL_WIDTH.saturating_sub(label.len()));
    let label = paint(label, status_style(status), color);
    let how = match (status, case.skip_reason()) {
        (Status::Skipped, Some(reason)) => one_line(reason).into_owned(),
        _ if case.case.is_flaky() => format!(
            "{}, passed on try {}",
            secs(case.duration()),
            case.case.attempts.len()
        ),
        _ => secs(case.duration()),
    };
    format!("{label}{pad} {} ({how})", one_line(&case.name()))
}

/// `5 scripts: 3 passed, 1 failed, 1 error in 2.31s`, no newline; after `passed`, non-zero only.
pub fn summary_line(files: &[FileResult], total: Duration, color: bool) -> String {
    let c = Counts::of(files);
    let n = all_cases(files).count();
    let red = AnsiColor::Red.on_default();
    let yellow = AnsiColor::Yellow.on_default();
    let passed_style = if c.passed > 0 {
        AnsiColor::Green.on_default()
    } else {
        Style::new()
    };
    let mut parts = vec![paint(&format!("{} passed", c.passed), passed_style, color)];
    let others = [
        (c.failed, "failed", "failed", red),
        (c.errors, "error", "errors", red),
        (c.timeouts, "timed out", "timed out", yellow),
        (c.interrupted, "interrupted", "interrupted", yellow),
        (
            c.skipped,
            "skipped",
            "skipped",
            AnsiColor::Cyan.on_default(),
        ),
        (c.flaky, "flaky", "flaky", yellow),
    ];
    for (count, one, many, style) in others.into_iter().filter(|o| o.0 > 0) {
        let word = if count == 1 { one } else { many };
        parts.push(paint(&format!("{count} {word}"), style, color));
    }
    // Files that are one test each are "scripts", as in version 1; test() cases are "tests".
    let scripts = match (files.iter().any(FileResult::has_named_cases), n == 1) {
        (false, true) => "script",
        (false, false) => "scripts",
        (true, true) => "test",
        (true, false) => "tests",
    };
    format!("{n} {scripts}: {} in {}", parts.join(", "), secs(total))
}

/// Every script that did not pass: a header, its rendered failure, what it printed, its capture.
/// Empty when all passed; otherwise each block ends with a blank line, so the summary can follow.
pub fn failures_section(files: &[FileResult], color: bool) -> String {
    let mut text = String::new();
    for case in all_cases(files).filter(|c| !c.status().is_ok()) {
        let status = case.status();
        let label = paint(status.label(), status_style(status), color);
        let _ = writeln!(text, "---- {label} {} ----", one_line(&case.name()));
        match case.failure() {
            Some(f) => text += f.rendered.trim_end_matches('\n'),
            None => text += &format!("error: {}", message(&case)),
        }
        text.push('\n');
        let file = case.file;
        if !case.output().is_empty() {
            text += "output:\n";
            for line in terminal_safe(case.output()).lines() {
                let _ = writeln!(text, "    {line}");
            }
        }
        if let Some(capture) = &file.capture {
            let _ = writeln!(text, "capture: {}", one_line(&capture.to_string_lossy()));
        }
        text.push('\n');
    }
    text
}

fn status_style(status: Status) -> Style {
    match status {
        Status::Passed => AnsiColor::Green.on_default(),
        Status::Skipped => AnsiColor::Cyan.on_default(),
        Status::Failed | Status::Error => AnsiColor::Red.on_default(),
        Status::Timeout | Status::Interrupted => AnsiColor::Yellow.on_default(),
    }
}

fn paint(text: &str, style: Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    /// The whole terminal report as the runner prints it: list, blank line, failures, summary.
    fn screen(outcomes: &[FileResult], color: bool) -> String {
        let mut text = String::new();
        for o in all_cases(outcomes) {
            text += &result_line(&o, color);
            text.push('\n');
        }
        text.push('\n');
        text += &failures_section(outcomes, color);
        text += &summary_line(outcomes, Duration::from_millis(2310), color);
        text.push('\n');
        text
    }

    #[test]
    fn mixed_suite_matches_golden_file() {
        let mut suite = sample::suite();
        suite[2].capture = Some("captures/upload.pcap".into());
        let expected = include_str!("../../fixtures/report/mixed_suite.txt");
        sample::golden("mixed_suite.txt", expected, &screen(&suite, false));
    }

    #[test]
    fn result_lines_align_the_name_column() {
        let lines: Vec<_> = sample::suite()
            .iter()
            .map(|o| result_line(&o.cases().next().unwrap(), false))
            .collect();
        assert_eq!(lines[0], "ok      scripts/scenarios/chat.rhai (0.12s)");
        assert_eq!(lines[2], "FAIL    scripts/scenarios/upload.rhai (1.03s)");
        assert_eq!(lines[3], "ERROR   scripts/oversize.rhai (0.01s)");
        assert_eq!(lines[4], "TIMEOUT slow.rhai (0.81s)");
    }

    #[test]
    fn colour_wraps_only_the_label() {
        let suite = sample::suite();
        assert_eq!(
            result_line(&suite[0].cases().next().unwrap(), true),
            "\x1b[32mok\x1b[0m      scripts/scenarios/chat.rhai (0.12s)"
        );
        assert_eq!(
            result_line(&suite[2].cases().next().unwrap(), true),
            "\x1b[31mFAIL\x1b[0m    scripts/scenarios/upload.rhai (1.03s)"
        );
        assert_eq!(
            result_line(&suite[4].cases().next().unwrap(), true),
            "\x1b[33mTIMEOUT\x1b[0m slow.rhai (0.81s)"
        );
        let summary = "5 scripts: \x1b[32m2 passed\x1b[0m, \x1b[31m1 failed\x1b[0m, \
                       \x1b[31m1 error\x1b[0m, \x1b[33m1 timed out\x1b[0m in 2.31s";
        assert_eq!(
            summary_line(&suite, Duration::from_millis(2310), true),
            summary
        );
        assert!(!screen(&suite, false).contains('\x1b'));
    }

    #[test]
    fn summary_pluralizes_and_skips_zero_counts() {
        let one = |s| sample::outcome("a.rhai", s, 0);
        let total = Duration::from_millis(2310);
        assert_eq!(
            summary_line(&[], total, false),
            "0 scripts: 0 passed in 2.31s"
        );
        assert_eq!(
            summary_line(&[one(Status::Passed)], total, false),
            "1 script: 1 passed in 2.31s"
        );
        let errors = [
            one(Status::Error),
            one(Status::Error),
            one(Status::Timeout),
            one(Status::Timeout),
        ];
        assert_eq!(
            summary_line(&errors, total, false),
            "4 scripts: 0 passed, 2 errors, 2 timed out in 2.31s"
        );
        let mixed = [
            one(Status::Passed),
            one(Status::Failed),
            one(Status::Failed),
            one(Status::Interrupted),
        ];
        assert_eq!(
            summary_line(&mixed, total, false),
            "4 scripts: 1 passed, 2 failed, 1 interrupted in 2.31s"
        );
    }

    #[test]
    fn failures_section_is_empty_when_all_pass_and_has_a_default_message() {
        let suite = sample::suite();
        assert_eq!(failures_section(&suite[..2], false), "");
        let stopped = sample::outcome("stopped.rhai", Status::Interrupted, 0);
        assert_eq!(
            failures_section(&[stopped], false),
            "---- INTERRUPTED stopped.rhai ----\nerror: interrupted\n\n"
        );
    }
}
