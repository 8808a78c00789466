//! What a load run found, as `--json` holds it (field names as in the script's result map,
//! times in seconds), and the merge of the results of several segments: counts add up,
//! histograms are added losslessly, so the merged percentiles are exactly one run's.

use serde::{Deserialize, Serialize};

use super::histogram::{self, Hist, Summary};

/// The counts. Once every request has had its timeout, `sent = received + lost`; `late`,
/// `duplicate` and `unmatched` replies are extra, `refused` and `bad` are parts of `lost` and
/// `received`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests the kernel took.
    pub sent: u64,
    /// Requests answered within the timeout (`bad` ones too).
    pub received: u64,
    /// Requests not answered within the timeout (`refused` ones too).
    pub lost: u64,
    /// Replies that came after their request's timeout.
    pub late: u64,
    /// Replies to a request already answered.
    pub duplicate: u64,
    /// Requests answered by ICMP (port unreachable): nothing listens.
    pub refused: u64,
    /// Replies that failed `check`.
    pub bad: u64,
    /// Sends and receives that failed (the request never left, the socket failed).
    pub errors: u64,
    /// Replies that answer no request of the run (wrong id, too short, foreign).
    pub unmatched: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.sent += o.sent;
        self.received += o.received;
        self.lost += o.lost;
        self.late += o.late;
        self.duplicate += o.duplicate;
        self.refused += o.refused;
        self.bad += o.bad;
        self.errors += o.errors;
        self.unmatched += o.unmatched;
    }

    /// Lost requests per request sent (0 when none was sent).
    pub fn loss(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost as f64 / self.sent as f64
        }
    }
}

/// One second of the timeline: the requests due in it (from the end of the warm-up).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Second {
    pub t: u64,
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub p50: f64,
    pub p99: f64,
    /// Its latency histogram, encoded, so merged seconds are exact too.
    pub histogram: String,
}

impl Second {
    pub fn new(t: u64, sent: u64, received: u64, lost: u64, h: &Hist) -> Second {
        let s = Summary::of(h);
        Second {
            t,
            sent,
            received,
            lost,
            p50: s.p50,
            p99: s.p99,
            histogram: histogram::encode(h),
        }
    }
}

/// A run's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub target: String,
    /// The rate asked of the whole run (all segments).
    pub requested_rate: f64,
    /// `I/N`, when this run was one segment.
    pub segment: Option<String>,
    pub pair: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Sends per second achieved (after the warm-up).
    pub rate: f64,
    /// Replies per second.
    pub throughput: f64,
    /// The sender's worst lag behind its schedule.
    pub behind: f64,
    /// From the end of the warm-up to the end of the last request's slot (or its send).
    pub seconds: f64,
    /// From each request's due time to its reply's arrival (kernel time).
    pub latency: Summary,
    /// From each request's actual send to its reply's arrival.
    pub service: Summary,
    pub timeline: Vec<Second>,
    /// `latency`'s histogram, encoded.
    pub histogram: String,
    pub service_histogram: String,
}

/// The two histograms of a report, decoded.
pub struct Histograms {
    pub latency: Hist,
    pub service: Hist,
}

impl Report {
    pub fn histograms(&self) -> Result<Histograms, String> {
        Ok(Histograms {
            latency: histogram::decode(&self.histogram)?,
            service: histogram::decode(&self.service_histogram)?,
        })
    }

    pub fn from_json(text: &str) -> Result<Report, String> {
        serde_json::from_str(text).map_err(|e| format!("not the --json of udpsh load: {e}"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// The results of segments (or of any runs at the same time) as one: counts and histograms
/// added, the timeline second by second; rates over the longest run. The notes say what
/// looks wrong (a segment missing, or given twice is an error).
pub fn merge(reports: &[Report]) -> Result<(Report, Vec<String>), String> {
    let first = reports.first().ok_or("nothing to merge")?;
    let mut notes = Vec::new();
    check_segments(reports, &mut notes)?;
    let mut counts = Counts::default();
    let mut latency = histogram::new();
    let mut service = histogram::new();
    let mut seconds: f64 = 0.0;
    let mut behind: f64 = 0.0;
    let mut timeline: Vec<(u64, Counts, Hist)> = Vec::new();
    for r in reports {
        let h = r.histograms()?;
        counts.add(&r.counts);
        add(&mut latency, &h.latency)?;
        add(&mut service, &h.service)?;
        seconds = seconds.max(r.seconds);
        behind = behind.max(r.behind);
        for s in &r.timeline {
            let at = match timeline.binary_search_by_key(&s.t, |(t, _, _)| *t) {
                Ok(at) => at,
                Err(at) => {
                    timeline.insert(at, (s.t, Counts::default(), histogram::new()));
                    at
                }
            };
            let (_, c, hist) = &mut timeline[at];
            c.sent += s.sent;
            c.received += s.received;
            c.lost += s.lost;
            add(hist, &histogram::decode(&s.histogram)?)?;
        }
        if r.target != first.target || r.pair != first.pair {
            notes.push(format!(
                "the runs differ: {} (pair {}) and {} (pair {})",
                first.target, first.pair, r.target, r.pair
            ));
        }
    }
    let per_second = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    let merged = Report {
        target: first.target.clone(),
        requested_rate: first.requested_rate,
        segment: None,
        pair: first.pair.clone(),
        counts,
        rate: per_second(counts.sent),
        throughput: per_second(counts.received),
        behind,
        seconds,
        latency: Summary::of(&latency),
        service: Summary::of(&service),
        timeline: timeline
            .iter()
            .map(|(t, c, h)| Second::new(*t, c.sent, c.received, c.lost, h))
            .collect(),
        histogram: histogram::encode(&latency),
        service_histogram: histogram::encode(&service),
    };
    notes.dedup();
    Ok((merged, notes))
}

fn add(into: &mut Hist, from: &Hist) -> Result<(), String> {
    into.add(from)
        .map_err(|e| format!("histograms that do not add up: {e:?}"))
}

/// Segments of one split (the same N), each once; a missing one is a note.
fn check_segments(reports: &[Report], notes: &mut Vec<String>) -> Result<(), String> {
    let mut seen: Vec<(u64, u64)> = Vec::new();
    for r in reports {
        let Some(text) = &r.segment else {
            continue;
        };
        let s = super::schedule::Segment::parse(text)?;
        if seen.contains(&(s.index, s.of)) {
            return Err(format!("segment {text} is given twice"));
        }
        seen.push((s.index, s.of));
    }
    let Some(&(_, of)) = seen.first() else {
        return Ok(());
    };
    if seen.iter().any(|(_, n)| *n != of) || seen.len() != reports.len() {
        notes.push("the runs are not segments of one split (I/N with the same N)".into());
    } else if seen.len() as u64 != of {
        let missing: Vec<String> = (0..of)
            .filter(|i| !seen.iter().any(|(j, _)| j == i))
            .map(|i| format!("{i}/{of}"))
            .collect();
        notes.push(format!("segments missing: {}", missing.join(", ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(segment: Option<&str>, values: &[i64], counts: Counts) -> Report {
        let mut h = histogram::new();
        let mut second = histogram::new();
        for v in values {
            histogram::record(&mut h, *v);
            histogram::record(&mut second, *v);
        }
        Report {
            target: "127.0.0.1:53".into(),
            requested_rate: 100.0,
            segment: segment.map(str::to_string),
            pair: "dns".into(),
            counts,
            rate: 0.0,
            throughput: 0.0,
            behind: 0.001,
            seconds: 2.0,
            latency: Summary::of(&h),
            service: Summary::of(&h),
            timeline: vec![Second::new(
                0,
                counts.sent,
                counts.received,
                counts.lost,
                &second,
            )],
            histogram: histogram::encode(&h),
            service_histogram: histogram::encode(&h),
        }
    }

    fn counts(sent: u64, received: u64) -> Counts {
        Counts {
            sent,
            received,
            lost: sent - received,
            ..Counts::default()
        }
    }

    #[test]
    fn merged_segments_are_exactly_one_run() {
        // One run's latencies, dealt out to three segments as the schedule deals requests.
        let all: Vec<i64> = (0..3000)
            .map(|i| 1_000 + (i * i * 7_919) % 50_000_000)
            .collect();
        let one = report(None, &all, counts(3000, 2990));
        let parts: Vec<Report> = (0..3)
            .map(|s| {
                let mine: Vec<i64> = all.iter().skip(s).step_by(3).copied().collect();
                let received = if s == 0 { 990 } else { 1000 };
                report(Some(&format!("{s}/3")), &mine, counts(1000, received))
            })
            .collect();
        let (merged, notes) = merge(&parts).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(merged.counts, one.counts);
        assert_eq!(merged.latency, one.latency, "the percentiles of one run");
        assert_eq!(merged.histogram, one.histogram);
        assert_eq!(merged.timeline[0].p99, one.timeline[0].p99);
        assert_eq!(merged.rate, 1500.0);
    }

    #[test]
    fn a_segment_twice_is_an_error_and_a_missing_one_a_note() {
        let a = report(Some("0/3"), &[5_000], counts(1, 1));
        let err = merge(&[a.clone(), a.clone()]).unwrap_err();
        assert!(err.contains("0/3 is given twice"), "{err}");
        let (_, notes) = merge(&[a]).unwrap();
        assert_eq!(notes, ["segments missing: 1/3, 2/3"]);
    }

    #[test]
    fn json_round_trips_with_the_field_names_of_the_script() {
        let r = report(Some("1/2"), &[7_000, 9_000], counts(2, 2));
        let json = r.to_json();
        for key in [
            "\"sent\"",
            "\"p999\"",
            "\"timeline\"",
            "\"histogram\"",
            "\"behind\"",
        ] {
            assert!(json.contains(key), "{key} in {json}");
        }
        assert_eq!(Report::from_json(&json).unwrap(), r);
        assert!(
            Report::from_json("{}")
                .unwrap_err()
                .contains("not the --json")
        );
    }
}
