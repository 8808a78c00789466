//! What counts as a crash, and which crashes are the same: the owned process died of a signal
//! or exited, a sanitizer (ASan, UBSan, …) reported in its output, the port refused (ICMP), or
//! no answer came within the hang time.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::OnceLock;
use std::time::Duration;

use regex::Regex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Signal,
    Exit,
    Sanitizer,
    Hang,
    Refused,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Signal => "signal",
            Kind::Exit => "exit",
            Kind::Sanitizer => "sanitizer",
            Kind::Hang => "hang",
            Kind::Refused => "refused",
        }
    }
}

/// One crash as seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub kind: Kind,
    /// For a person: `SIGSEGV`, `exit 3`, `stack-buffer-overflow in sum (planted.c:66)`.
    pub detail: String,
    /// What makes two crashes the same: the signal, the code, the place a sanitizer names.
    pub place: String,
    /// The sanitizer's report, or the program's last output, when there is one.
    pub report: Option<String>,
}

impl Verdict {
    /// The same crash: the same kind at the same place.
    pub fn same(&self, other: &Verdict) -> bool {
        self.kind == other.kind && self.place == other.place
    }

    pub fn hang(within: Duration) -> Verdict {
        Verdict {
            kind: Kind::Hang,
            detail: format!("no answer within {}s", within.as_secs_f64()),
            place: String::new(),
            report: None,
        }
    }

    pub fn refused(target: std::net::SocketAddr) -> Verdict {
        Verdict {
            kind: Kind::Refused,
            detail: format!("{target} refused (ICMP port unreachable): nothing is bound there now"),
            place: String::new(),
            report: None,
        }
    }

    /// How an ended process crashed: its sanitizer report first (ASan exits with 1 after
    /// one), else the signal or the exit code.
    pub fn ended(status: ExitStatus, output: &str) -> Verdict {
        if let Some(v) = sanitizer(output) {
            return v;
        }
        let tail = last_lines(output, 20);
        let report = (!tail.is_empty()).then_some(tail);
        match (status.signal(), status.code()) {
            (Some(sig), _) => {
                let name = signal_name(sig);
                Verdict {
                    kind: Kind::Signal,
                    detail: name.clone(),
                    place: name,
                    report,
                }
            }
            (None, code) => {
                let code = code.map_or("?".to_string(), |c| c.to_string());
                Verdict {
                    kind: Kind::Exit,
                    detail: format!("exit {code}"),
                    place: code,
                    report,
                }
            }
        }
    }
}

pub fn signal_name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

fn report_line() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?m)^(?:==\d+==)?(?:ERROR|WARNING): (\w+Sanitizer): ([\w-]+)").expect("regex")
    })
}

fn summary_line() -> &'static Regex {
    // SUMMARY: AddressSanitizer: stack-buffer-overflow /src/planted.c:66 in sum
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?m)^SUMMARY: (\w+Sanitizer): ([\w-]+) ?(\S*?)(?: in (\S+))?\s*$")
            .expect("regex")
    })
}

fn ubsan_line() -> &'static Regex {
    // planted.c:12:5: runtime error: division by zero
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(?m)^(\S+?):(\d+):(\d+): runtime error: (.+)$").expect("regex"))
}

/// A sanitizer report in a program's output: what it found, where, and the report.
pub fn sanitizer(output: &str) -> Option<Verdict> {
    let base = |path: &str| path.rsplit('/').next().unwrap_or(path).to_string();
    if let Some(c) = ubsan_line().captures(output) {
        let at = format!("{}:{}:{}", base(&c[1]), &c[2], &c[3]);
        let start = c.get(0).map_or(0, |m| m.start());
        return Some(Verdict {
            kind: Kind::Sanitizer,
            detail: format!("{} ({at})", &c[4]),
            place: format!("runtime error {at}"),
            report: Some(first_lines(&output[start..], 40)),
        });
    }
    let found = report_line().captures(output)?;
    let start = found.get(0).map_or(0, |m| m.start());
    let what = found[2].to_string();
    let (at, function) = summary_line()
        .captures(&output[start..])
        .map(|c| {
            let at = c.get(3).map_or("", |m| m.as_str());
            (base(at), c.get(4).map(|m| m.as_str().to_string()))
        })
        .unwrap_or_default();
    let detail = match (&function, at.is_empty()) {
        (Some(f), false) => format!("{what} in {f} ({at})"),
        (Some(f), true) => format!("{what} in {f}"),
        (None, false) => format!("{what} ({at})"),
        (None, true) => what.clone(),
    };
    Some(Verdict {
        kind: Kind::Sanitizer,
        detail: format!("{}: {detail}", &found[1]),
        place: format!("{what} {at} {}", function.unwrap_or_default()),
        report: Some(first_lines(&output[start..], 40)),
    })
}

fn first_lines(text: &str, n: usize) -> String {
    text.lines().take(n).collect::<Vec<_>>().join("\n")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ASAN: &str = "hello\n=================================================================\n\
==18759==ERROR: AddressSanitizer: stack-buffer-overflow on address 0x7ffc866aa610 at pc 0x558081852f53\n\
READ of size 1 at 0x7ffc866aa610 thread T0\n\
    #0 0x558081852f52 in sum /work/fixtures/fuzz/planted.c:66\n\
SUMMARY: AddressSanitizer: stack-buffer-overflow /work/fixtures/fuzz/planted.c:66 in sum\n\
Shadow bytes around the buggy address:\n";

    #[test]
    fn reads_an_asan_report() {
        let v = sanitizer(ASAN).unwrap();
        assert_eq!(v.kind, Kind::Sanitizer);
        assert_eq!(
            v.detail,
            "AddressSanitizer: stack-buffer-overflow in sum (planted.c:66)"
        );
        assert_eq!(v.place, "stack-buffer-overflow planted.c:66 sum");
        assert!(v.report.unwrap().starts_with("==18759==ERROR"));
        // ASan exits 1 after its report: the report is what counts.
        let v = Verdict::ended(ExitStatus::from_raw(1 << 8), ASAN);
        assert_eq!(v.kind, Kind::Sanitizer);
    }

    #[test]
    fn reads_ubsan_and_a_segv_under_asan() {
        let ub = "x.c:12:5: runtime error: division by zero\nSUMMARY: UndefinedBehaviorSanitizer: undefined-behavior x.c:12:5 in \n";
        let v = sanitizer(ub).unwrap();
        assert_eq!(v.detail, "division by zero (x.c:12:5)");
        assert_eq!(v.place, "runtime error x.c:12:5");
        let segv = "==1==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000000\nSUMMARY: AddressSanitizer: SEGV /a/b/planted.c:50 in hello\n";
        assert_eq!(
            sanitizer(segv).unwrap().detail,
            "AddressSanitizer: SEGV in hello (planted.c:50)"
        );
        assert_eq!(sanitizer("all fine\n"), None);
    }

    #[test]
    fn signals_and_exits() {
        let v = Verdict::ended(ExitStatus::from_raw(libc::SIGSEGV), "");
        assert_eq!((v.kind, v.detail.as_str()), (Kind::Signal, "SIGSEGV"));
        let v = Verdict::ended(ExitStatus::from_raw(3 << 8), "bye\n");
        assert_eq!((v.kind, v.detail.as_str()), (Kind::Exit, "exit 3"));
        assert_eq!(v.report.as_deref(), Some("bye"));
        assert!(v.same(&Verdict::ended(ExitStatus::from_raw(3 << 8), "")));
        assert!(!v.same(&Verdict::ended(ExitStatus::from_raw(4 << 8), "")));
    }
}
