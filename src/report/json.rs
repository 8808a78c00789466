//! JSON report: every script with its status, error position and datagram counts, and a summary.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use super::{Counts, Reporter, message};
use crate::outcome::{Case, FileResult, Status, all_cases};

/// Pretty-printed JSON, stable field order, durations in seconds (f64).
pub struct JsonReport;

impl Reporter for JsonReport {
    fn write(&self, files: &[FileResult], total: Duration, out: &mut dyn Write) -> io::Result<()> {
        let c = Counts::of(files);
        let scripts: Vec<Script> = all_cases(files).map(Script::from).collect();
        let report = Report {
            summary: Summary {
                total: scripts.len(),
                passed: c.passed,
                failed: c.failed,
                errors: c.errors,
                timeouts: c.timeouts,
                interrupted: c.interrupted,
                skipped: c.skipped,
                flaky: c.flaky,
                duration: total.as_secs_f64(),
            },
            scripts,
        };
        let text = serde_json::to_string_pretty(&report)?;
        writeln!(out, "{}", json_escaped(&text))
    }
}

/// JSON's own `\u` escapes also for what would reorder or hide a line shown on a terminal
/// (DEL, C1 controls, bidi overrides, zero-width characters, BOM): serde_json writes them raw.
/// They only ever occur inside strings, so the document means exactly the same.
fn json_escaped(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c != '\n' && crate::display::needs_escape(c))
    {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c != '\n' && crate::display::needs_escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[derive(Serialize)]
struct Report<'a> {
    scripts: Vec<Script<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Script<'a> {
    /// `file` for a file that is one test, `file › test` for a `test()`.
    name: String,
    /// The `test()` name, or null.
    test: Option<&'a str>,
    path: Cow<'a, str>,
    status: Status,
    duration: f64,
    /// How many times it ran (more than 1 with `--retry`).
    attempts: usize,
    /// Passed on a retry.
    flaky: bool,
    /// Why it was skipped, or null.
    reason: Option<Cow<'a, str>>,
    error: Option<Error<'a>>,
    sent: u64,
    received: u64,
    capture: Option<Cow<'a, str>>,
}

/// Where a script stopped; `line`/`col` are null when the error has no position, or one
/// past what Rhai counts (65535).
#[derive(Serialize)]
struct Error<'a> {
    message: Cow<'a, str>,
    file: Cow<'a, str>,
    line: Option<usize>,
    col: Option<usize>,
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    passed: usize,
    failed: usize,
    errors: usize,
    timeouts: usize,
    interrupted: usize,
    skipped: usize,
    flaky: usize,
    duration: f64,
}

impl<'a> From<Case<'a>> for Script<'a> {
    fn from(case: Case<'a>) -> Self {
        // Past Rhai's 16 bits a position is unknown (65535 or more), so null, as none is.
        let position = crate::diagnostic::known;
        let o = case.file;
        let failure = case.failure();
        let error = (!case.status().is_ok()).then(|| Error {
            message: message(&case),
            file: lossy(failure.map_or(&o.path, |f| &f.file)),
            line: failure.and_then(|f| position(f.line)),
            col: failure.and_then(|f| position(f.col)),
        });
        Script {
            name: case.name(),
            test: case.case.name.as_deref(),
            path: lossy(&o.path),
            status: case.status(),
            duration: case.duration().as_secs_f64(),
            attempts: case.case.attempts.len(),
            flaky: case.case.is_flaky(),
            reason: case.skip_reason().map(crate::display::one_line),
            error,
            sent: case.counts().0,
            received: case.counts().1,
            capture: o.capture.as_deref().map(lossy),
        }
    }
}

/// Paths as text: a non-UTF-8 name must not make the whole report fail.
fn lossy(path: &Path) -> Cow<'_, str> {
    path.to_string_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;
    use serde_json::{Value, json};

    fn report(outcomes: &[FileResult]) -> Value {
        let mut out = Vec::new();
        JsonReport
            .write(outcomes, Duration::from_millis(2310), &mut out)
            .unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn mixed_suite_matches_golden_file() {
        let mut out = Vec::new();
        JsonReport
            .write(&sample::suite(), Duration::from_millis(2310), &mut out)
            .unwrap();
        let expected = include_str!("../../fixtures/report/mixed_suite.json");
        sample::golden(
            "mixed_suite.json",
            expected,
            std::str::from_utf8(&out).unwrap(),
        );
    }

    #[test]
    fn summary_counts_each_status() {
        let v = report(&sample::suite());
        let summary = json!({
            "total": 5, "passed": 2, "failed": 1, "errors": 1, "timeouts": 1, "interrupted": 0,
            "skipped": 0, "flaky": 0, "duration": 2.31
        });
        assert_eq!(v["summary"], summary);
        assert_eq!(v["scripts"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn scripts_carry_status_error_counts_and_capture() {
        let v = report(&sample::suite());
        let chat = json!({
            "name": "scripts/scenarios/chat.rhai", "test": null,
            "path": "scripts/scenarios/chat.rhai", "status": "passed", "duration": 0.12,
            "attempts": 1, "flaky": false, "reason": null, "error": null, "sent": 2,
            "received": 2, "capture": "captures/chat.pcapng"
        });
        assert_eq!(v["scripts"][0], chat);
        let upload = &v["scripts"][2];
        assert_eq!(upload["status"], "failed");
        assert_eq!(upload["duration"], 1.03);
        assert_eq!(
            (&upload["sent"], &upload["received"]),
            (&json!(3), &json!(1))
        );
        assert_eq!(upload["capture"], Value::Null);
        let error = json!({
            "message": "assertion failed: \"bye\" != \"<done>\"",
            "file": "scripts/scenarios/upload.rhai", "line": 12, "col": 11
        });
        assert_eq!(upload["error"], error);
        assert_eq!(v["scripts"][3]["status"], "error");
    }

    #[test]
    fn an_error_without_position_has_null_line_and_col() {
        let v = report(&sample::suite());
        let slow = &v["scripts"][4];
        assert_eq!(slow["status"], "timeout");
        let error = json!({
            "message": "timed out after 0.8s", "file": "slow.rhai", "line": null, "col": null
        });
        assert_eq!(slow["error"], error);
        let v = report(&[sample::outcome("x.rhai", Status::Interrupted, 1)]);
        assert_eq!(v["scripts"][0]["error"]["message"], "interrupted");
        assert_eq!(v["summary"]["interrupted"], 1);
    }

    #[test]
    fn what_reorders_a_line_is_escaped_and_the_document_means_the_same() {
        let value = serde_json::json!({"name": "a\u{202e}b\u{7f}c\u{9b}d\u{feff}"});
        let text = json_escaped(&serde_json::to_string(&value).unwrap()).into_owned();
        assert_eq!(text, r#"{"name":"a\u202eb\u007fc\u009bd\ufeff"}"#);
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
