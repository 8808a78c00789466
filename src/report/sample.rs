//! A mixed suite (pass, fail, error, timeout) shared by the report tests, and golden files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::outcome::{Attempt, CaseResult, Failure, FileResult, Status};

/// A script that is one test, with no output, failure or capture.
pub fn outcome(name: &str, status: Status, millis: u64) -> FileResult {
    let duration = Duration::from_millis(millis);
    let attempt = Attempt {
        status,
        duration,
        failure: None,
    };
    FileResult {
        path: PathBuf::from(name),
        name: name.to_string(),
        duration,
        output: String::new(),
        sent: 0,
        received: 0,
        capture: None,
        cases: vec![CaseResult::once(None, attempt)],
        run: None,
    }
}

/// Sets the failure of a script that is one test.
fn fail(file: &mut FileResult, failure: Failure) {
    file.cases[0].attempts[0].failure = Some(failure);
}

/// A failure at `file:line:col` whose rendering names the position, like the diagnostic renderer.
pub fn failure(message: &str, file: &str, line: usize, col: usize, source: &str) -> Failure {
    let caret = format!("{:>col$}", "^");
    let rendered = format!(
        "error: {message}\n  --> {file}:{line}:{col}\n   |\n{line:>2} | {source}\n   | {caret}\n"
    );
    Failure {
        message: message.into(),
        file: file.into(),
        line,
        col,
        rendered,
    }
}

/// Five scripts: two pass (one recorded), one assertion fails, one errors, one times out.
pub fn suite() -> Vec<FileResult> {
    let mut chat = outcome("scripts/scenarios/chat.rhai", Status::Passed, 120);
    (chat.sent, chat.received) = (2, 2);
    chat.output = "got 你好 from 127.0.0.1:40312\n".into();
    chat.capture = Some("captures/chat.pcapng".into());

    let mut echo = outcome("scripts/scenarios/echo.rhai", Status::Passed, 340);
    (echo.sent, echo.received) = (20, 20);

    let mut upload = outcome("scripts/scenarios/upload.rhai", Status::Failed, 1030);
    (upload.sent, upload.received) = (3, 1);
    upload.output = "sending fixtures/test.txt\nsent 3 chunks\n".into();
    fail(
        &mut upload,
        failure(
            "assertion failed: \"bye\" != \"<done>\"",
            "scripts/scenarios/upload.rhai",
            12,
            11,
            "assert_eq(d.text, \"<done>\");",
        ),
    );

    let mut oversize = outcome("scripts/oversize.rhai", Status::Error, 10);
    fail(
        &mut oversize,
        failure(
            "datagram of 70000 bytes is over the IPv4 limit of 65507",
            "scripts/oversize.rhai",
            3,
            3,
            "s.sendto(blob(70000), \"127.0.0.1:9\");",
        ),
    );

    let mut slow = outcome("slow.rhai", Status::Timeout, 810);
    slow.sent = 1;
    fail(
        &mut slow,
        Failure {
            message: "timed out after 0.8s".into(),
            file: "slow.rhai".into(),
            line: 0,
            col: 0,
            rendered: "error: timed out after 0.8s\n  --> slow.rhai\n".into(),
        },
    );

    vec![chat, echo, upload, oversize, slow]
}

/// Compares with `fixtures/report/NAME`; `UPDATE_GOLDEN=1 cargo test` rewrites the file instead.
pub fn golden(name: &str, expected: &str, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let dir = Path::new(file!())
            .parent()
            .unwrap()
            .join("../../fixtures/report");
        std::fs::write(dir.join(name), actual).unwrap();
    } else {
        assert_eq!(
            actual, expected,
            "golden file fixtures/report/{name} differs"
        );
    }
}
