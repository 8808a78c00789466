//! JUnit XML (via quick-junit): one testsuite "udpsh", one testcase per script, for GitLab/Jenkins.

use std::io::{self, Write};
use std::path::{Component, Path};
use std::time::Duration;

use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::{Reporter, message};
use crate::display::{one_line, terminal_safe};
use crate::outcome::{Case, FileResult, Status, all_cases};

const SUITE: &str = "udpsh";

/// Assertion failures become `<failure>`; errors, timeouts and interruptions `<error>`.
pub struct JunitReport;

impl Reporter for JunitReport {
    fn write(&self, files: &[FileResult], total: Duration, out: &mut dyn Write) -> io::Result<()> {
        let mut suite = TestSuite::new(SUITE);
        suite.set_time(total);
        suite.add_test_cases(all_cases(files).map(|c| test_case(&c)));
        let mut report = Report::new(SUITE);
        report.set_time(total).add_test_suite(suite);
        let xml = report.to_string().map_err(io::Error::other)?;
        out.write_all(xml_safe(&xml).as_bytes())
    }
}

/// XML 1.0 has no way to hold some code points, not even as `&#…;`: C0 controls but tab, line
/// feed and carriage return, and U+FFFE / U+FFFF (surrogates never occur in Rust text). Each
/// is written as its escape (`\u{fffe}`), whatever field it is in, so the file stays XML.
pub fn xml_safe(xml: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}');
    if !xml.contains(forbidden) {
        return xml.into();
    }
    let mut out = String::with_capacity(xml.len() + 16);
    for c in xml.chars() {
        if forbidden(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out.into()
}

/// A file that is one test is named by its path, grouped by its folder (`scripts.scenarios`);
/// a `test()` case is named by its test, grouped by its file (`scripts.protocols.dns`), as
/// Jenkins and GitLab show a class and its methods.
fn test_case(c: &Case) -> TestCase {
    let o = c.file;
    // A repeated run keeps its file's class and path; its test says which run it was.
    let script = o.script_name();
    let (name, class) = match (&c.case.name, o.run) {
        (None, _) => (one_line(&o.name).into_owned(), classname(script)),
        (Some(test), None) => (one_line(test).into_owned(), file_classname(script)),
        (Some(test), Some((k, n))) => (
            format!("{} [{k}/{n}]", one_line(test)),
            file_classname(script),
        ),
    };
    let mut case = TestCase::new(name, status(c));
    case.set_classname(one_line(&class)).set_time(c.duration());
    case.extra
        .insert("file".into(), one_line(script).as_ref().into());
    // A test() shows what it printed itself; one that never ran (a failed set-up), and a
    // file that is one test, what the file printed.
    let mut out = terminal_safe(c.output()).into_owned();
    if let Some(capture) = &o.capture {
        let capture = one_line(&capture.to_string_lossy()).into_owned();
        case.add_property(Property::new("capture", capture.as_str()));
        // The attachment line GitLab and Jenkins (junit-attachments) link to; on a line of its own.
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("[[ATTACHMENT|{capture}]]\n"));
    }
    if !out.is_empty() {
        case.set_system_out(out);
    }
    case
}

/// The case's status with its earlier attempts: `flakyFailure`s when it passed on a retry,
/// `rerunFailure`s when it never did.
fn status(c: &Case) -> TestCaseStatus {
    let (kind, ty) = match c.status() {
        Status::Passed => {
            let mut status = TestCaseStatus::success();
            status.add_reruns(c.case.earlier_failures().map(rerun));
            return status;
        }
        Status::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(message(c).as_ref());
            return status;
        }
        failed => non_success(failed),
    };
    let message = message(c);
    let body = c
        .failure()
        .map_or(message.clone(), |f| terminal_safe(&f.rendered));
    let mut status = TestCaseStatus::non_success(kind);
    status
        .set_message(message.as_ref())
        .set_type(ty)
        .set_description(body.as_ref());
    status.set_rerun_kind(FlakyOrRerun::Rerun);
    status.add_reruns(c.case.earlier_failures().map(rerun));
    status
}

/// `<failure type="assertion">` for an assertion, `<error type="…">` for the rest.
fn non_success(status: Status) -> (NonSuccessKind, &'static str) {
    match status {
        Status::Failed => (NonSuccessKind::Failure, "assertion"),
        Status::Timeout => (NonSuccessKind::Error, "timeout"),
        Status::Interrupted => (NonSuccessKind::Error, "interrupted"),
        _ => (NonSuccessKind::Error, "error"),
    }
}

fn rerun(attempt: &crate::outcome::Attempt) -> TestRerun {
    let (kind, ty) = non_success(attempt.status);
    let mut rerun = TestRerun::new(kind);
    rerun.set_time(attempt.duration).set_type(ty);
    if let Some(f) = &attempt.failure {
        rerun
            .set_message(one_line(&f.message).as_ref())
            .set_description(terminal_safe(&f.rendered).as_ref());
    }
    rerun
}

/// `scripts/protocols/dns.rhai` → `scripts.protocols.dns`: the file as a class.
fn file_classname(name: &str) -> String {
    let stem = name.strip_suffix(".rhai").unwrap_or(name);
    Path::new(stem)
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().replace('.', "_")),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `scripts/scenarios/chat.rhai` → `scripts.scenarios`, the package path Jenkins groups by;
/// `udpsh` for a script at the top level.
fn classname(name: &str) -> String {
    let parts: Vec<String> = Path::new(name)
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().replace('.', "_")),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        SUITE.to_string()
    } else {
        parts.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;
    use quick_xml::escape::resolve_predefined_entity;
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::{Reader, XmlVersion};
    use std::collections::HashMap;

    /// A parsed element: its name, attributes and text, with the names of its ancestors.
    #[derive(Debug)]
    struct Element {
        path: String,
        attrs: HashMap<String, String>,
        text: String,
    }

    /// Parses the whole document strictly (tags must match), so a malformed report fails here.
    fn parse(xml: &str) -> Vec<Element> {
        let mut reader = Reader::from_str(xml);
        reader.config_mut().check_end_names = true;
        let (mut stack, mut open, mut done) = (Vec::<String>::new(), Vec::<Element>::new(), vec![]);
        let element = |stack: &[String], e: &BytesStart| Element {
            path: stack.join("/"),
            attrs: e
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    let key = String::from_utf8(a.key.as_ref().to_vec()).unwrap();
                    (
                        key,
                        a.normalized_value(XmlVersion::Implicit1_0)
                            .unwrap()
                            .into_owned(),
                    )
                })
                .collect(),
            text: String::new(),
        };
        loop {
            match reader.read_event().unwrap() {
                Event::Start(e) => {
                    stack.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                    open.push(element(&stack, &e));
                }
                Event::Empty(e) => {
                    stack.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                    done.push(element(&stack, &e));
                    stack.pop();
                }
                Event::Text(t) => push_text(&mut open, &t.xml10_content().unwrap()),
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => resolve_predefined_entity(&r.decode().unwrap())
                            .unwrap()
                            .to_string(),
                    };
                    push_text(&mut open, &c);
                }
                Event::End(_) => {
                    done.push(open.pop().unwrap());
                    stack.pop();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(stack.is_empty(), "unclosed elements: {stack:?}");
        done
    }

    /// Text outside the root (the newline after the declaration) must be blank.
    fn push_text(open: &mut [Element], text: &str) {
        match open.last_mut() {
            Some(e) => e.text += text,
            None => assert!(text.trim().is_empty(), "text outside the root: {text:?}"),
        }
    }

    fn report(outcomes: &[FileResult]) -> String {
        let mut out = Vec::new();
        JunitReport
            .write(outcomes, Duration::from_millis(2310), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn find<'a>(all: &'a [Element], path: &str) -> Vec<&'a Element> {
        all.iter().filter(|e| e.path == path).collect()
    }

    fn case<'a>(all: &'a [Element], name: &str) -> &'a Element {
        let cases = find(all, "testsuites/testsuite/testcase");
        cases.into_iter().find(|e| e.attrs["name"] == name).unwrap()
    }

    #[test]
    fn mixed_suite_matches_golden_file() {
        let expected = include_str!("../../fixtures/report/mixed_suite.xml");
        sample::golden("mixed_suite.xml", expected, &report(&sample::suite()));
    }

    #[test]
    fn counts_tests_failures_and_errors() {
        let all = parse(&report(&sample::suite()));
        let suite = find(&all, "testsuites/testsuite");
        assert_eq!(suite.len(), 1);
        let attrs = &suite[0].attrs;
        assert_eq!(attrs["name"], "udpsh");
        assert_eq!(
            (attrs["tests"].as_str(), attrs["failures"].as_str()),
            ("5", "1")
        );
        assert_eq!(
            (attrs["errors"].as_str(), attrs["time"].as_str()),
            ("2", "2.310")
        );
        assert_eq!(find(&all, "testsuites/testsuite/testcase").len(), 5);
        assert_eq!(find(&all, "testsuites/testsuite/testcase/failure").len(), 1);
        assert_eq!(find(&all, "testsuites/testsuite/testcase/error").len(), 2);
        assert_eq!(find(&all, "testsuites")[0].attrs["tests"], "5");
    }

    #[test]
    fn failure_carries_message_type_and_rendered_source() {
        let all = parse(&report(&sample::suite()));
        let upload = case(&all, "scripts/scenarios/upload.rhai");
        assert_eq!(upload.attrs["classname"], "scripts.scenarios");
        assert_eq!(upload.attrs["time"], "1.030");
        assert_eq!(upload.attrs["file"], "scripts/scenarios/upload.rhai");
        let failure = find(&all, "testsuites/testsuite/testcase/failure")[0];
        assert_eq!(
            failure.attrs["message"],
            "assertion failed: \"bye\" != \"<done>\""
        );
        assert_eq!(failure.attrs["type"], "assertion");
        let rendered = sample::suite()[2].cases[0]
            .failure()
            .unwrap()
            .rendered
            .clone();
        assert_eq!(failure.text, rendered);
        let out = find(&all, "testsuites/testsuite/testcase/system-out");
        assert!(
            out.iter()
                .any(|e| e.text == "sending fixtures/test.txt\nsent 3 chunks\n")
        );
    }

    #[test]
    fn errors_are_typed_by_status() {
        let mut outcomes = sample::suite();
        outcomes.push(sample::outcome("stopped.rhai", Status::Interrupted, 5));
        let all = parse(&report(&outcomes));
        let types: Vec<_> = find(&all, "testsuites/testsuite/testcase/error")
            .iter()
            .map(|e| (e.attrs["type"].clone(), e.attrs["message"].clone()))
            .collect();
        let expected = [
            (
                "error",
                "datagram of 70000 bytes is over the IPv4 limit of 65507",
            ),
            ("timeout", "timed out after 0.8s"),
            ("interrupted", "interrupted"),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(t, m)| (t.to_string(), m.to_string()))
            .collect();
        assert_eq!(types, expected);
        assert_eq!(case(&all, "slow.rhai").attrs["classname"], "udpsh");
    }

    #[test]
    fn capture_is_an_attachment_and_a_property() {
        let all = parse(&report(&sample::suite()));
        let out = find(&all, "testsuites/testsuite/testcase/system-out");
        let chat = "got 你好 from 127.0.0.1:40312\n[[ATTACHMENT|captures/chat.pcapng]]\n";
        assert!(out.iter().any(|e| e.text == chat), "{out:?}");
        let props = find(&all, "testsuites/testsuite/testcase/properties/property");
        assert_eq!(props.len(), 1);
        assert_eq!(props[0].attrs["name"], "capture");
        assert_eq!(props[0].attrs["value"], "captures/chat.pcapng");
    }

    #[test]
    fn a_quiet_pass_is_an_empty_testcase() {
        let xml = report(&[sample::outcome("a/b.c/d.rhai", Status::Passed, 0)]);
        let case =
            r#"<testcase name="a/b.c/d.rhai" classname="a.b_c" time="0.000" file="a/b.c/d.rhai"/>"#;
        assert!(xml.contains(case), "{xml}");
        assert_eq!(
            find(&parse(&xml), "testsuites/testsuite")[0].attrs["failures"],
            "0"
        );
    }
}
