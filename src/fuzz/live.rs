//! What a person reads: the live line redrawn on a terminal, and the summary at the end. Text
//! from the program (a sanitizer's report) and file names go through `one_line`.

use super::{Crash, Report};
use crate::display::{one_line, plural, spaced_hex};
use crate::net::group;

/// `12,800 cases  58,312/s  1 crash  1 restart  last: signal SIGFPE`.
pub fn line(r: &Report, last: Option<&Crash>) -> String {
    let mut text = format!(
        "{} cases  {}/s  {}  {}",
        group(r.cases as usize),
        group(r.rate().round() as usize),
        plural(r.crashes.len() as u64, "crash", "crashes"),
        plural(r.restarts, "restart", "restarts"),
    );
    if let Some(c) = last.or(r.crashes.last()) {
        text += &format!(
            "  last: {} {}",
            c.verdict.kind.as_str(),
            one_line(&c.verdict.detail)
        );
    }
    text
}

/// The lines printed when the run is over.
pub fn summary(target: &str, r: &Report) -> String {
    let mut out = format!(
        "fuzzed {target}: {} in {:.2}s ({}/s), seed {}, {}\n",
        plural(r.cases, "case", "cases").replacen(
            &r.cases.to_string(),
            &group(r.cases as usize),
            1
        ),
        r.elapsed.as_secs_f64(),
        group(r.rate().round() as usize),
        r.seed,
        plural(r.restarts, "restart", "restarts"),
    );
    let mut extra = Vec::new();
    if r.dropped > 0 {
        extra.push(format!(
            "{} dropped at the target's full buffer",
            group(r.dropped as usize)
        ));
    }
    extra.push(format!("{} probes", group(r.probes as usize)));
    extra.push(format!("{} replies", group(r.replies as usize)));
    out += &format!("  ({})\n", extra.join(", "));
    for (i, c) in r.crashes.iter().enumerate() {
        out += &crash(i + 1, c);
    }
    if r.repeats > 0 {
        out += &format!(
            "note: {} more like a crash above (its kind and place, three times its input) were counted without pinning\n",
            group(r.repeats as usize)
        );
    }
    for note in &r.notes {
        out += &format!("note: {}\n", one_line(note));
    }
    out += &match r.crashes.len() {
        0 => "no crash found\n".to_string(),
        n => format!("{} found\n", plural(n as u64, "crash", "crashes")),
    };
    out
}

fn crash(n: usize, c: &Crash) -> String {
    let shown: Vec<String> = c
        .sequence
        .iter()
        .take(4)
        .map(|d| {
            let hex = spaced_hex(&d[..d.len().min(24)]);
            if d.len() > 24 {
                format!("{hex} … ({} bytes)", d.len())
            } else {
                hex
            }
        })
        .collect();
    let more = c.sequence.len().saturating_sub(shown.len());
    let mut text = format!(
        "crash {n}: {} {} after {}: {}{}\n",
        c.verdict.kind.as_str(),
        one_line(&c.verdict.detail),
        plural(c.sequence.len() as u64, "datagram", "datagrams"),
        shown.join(" | "),
        if more > 0 {
            format!(" | … {more} more")
        } else {
            String::new()
        },
    );
    let state = if c.pinned {
        "pinned and minimized"
    } else {
        "not pinned"
    };
    let seen = if c.seen > 1 {
        format!(", seen {} times", c.seen)
    } else {
        String::new()
    };
    text += &format!(
        "  found at case {} ({:.2}s), {state}{seen}",
        group(c.case as usize),
        c.at.as_secs_f64()
    );
    for f in [&c.file, &c.capture].into_iter().flatten() {
        text += &format!("  {}", one_line(&f.display().to_string()));
    }
    text + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::oracle::{Kind, Verdict};
    use std::time::Duration;

    #[test]
    fn reads_as_a_person_wants_it() {
        let r = Report {
            cases: 123_456,
            sent: 123_456,
            probes: 1930,
            replies: 120_000,
            elapsed: Duration::from_secs(2),
            restarts: 1,
            seed: 1,
            crashes: vec![Crash {
                verdict: Verdict {
                    kind: Kind::Signal,
                    detail: "SIGFPE".into(),
                    place: "SIGFPE".into(),
                    report: None,
                },
                sequence: vec![vec![1, 0, 0]],
                pinned: true,
                case: 1200,
                at: Duration::from_millis(20),
                seen: 2,
                file: Some("crashes/crash-0badf00d.rhai".into()),
                capture: Some("crashes/crash-0badf00d.pcapng".into()),
            }],
            ..Report::default()
        };
        assert_eq!(
            line(&r, None),
            "123,456 cases  61,728/s  1 crash  1 restart  last: signal SIGFPE"
        );
        assert_eq!(
            summary("127.0.0.1:9000", &r),
            "fuzzed 127.0.0.1:9000: 123,456 cases in 2.00s (61,728/s), seed 1, 1 restart\n  (1,930 probes, 120,000 replies)\ncrash 1: signal SIGFPE after 1 datagram: 01 00 00\n  found at case 1,200 (0.02s), pinned and minimized, seen 2 times  crashes/crash-0badf00d.rhai  crashes/crash-0badf00d.pcapng\n1 crash found\n"
        );
    }
}
