//! The samples of every contender, their medians, and the ratios between them with the
//! targets the performance issue sets.

use std::collections::BTreeMap;

/// Samples of one contender: seconds (what is compared) and the child's CPU seconds.
#[derive(Default)]
pub struct Series {
    pub label: String,
    /// Datagrams or round trips per sample, for a per-second figure.
    pub per: u64,
    pub secs: Vec<f64>,
    pub cpu: Vec<f64>,
}

#[derive(Default)]
pub struct Results {
    pub series: BTreeMap<&'static str, Series>,
    /// Insertion order of `series`.
    pub order: Vec<&'static str>,
    /// (what, value, unit, note) measured once.
    pub once: Vec<(String, f64, &'static str, String)>,
    pub ratios: Vec<Ratio>,
    pub notes: Vec<String>,
    /// User-space instructions per call (callgrind), by series key.
    pub instructions: BTreeMap<&'static str, f64>,
}

pub struct Ratio {
    pub name: String,
    pub value: Option<f64>,
    /// (at least, text); `None`: shown for information.
    pub target: Option<Target>,
    /// Instructions per call of the contenders compared (callgrind), e.g. "4,187 / 2,847".
    pub calls: Option<String>,
}

#[derive(Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
    Within(f64),
    /// At most this many milliseconds.
    AtMostMs(f64),
}

impl Target {
    pub fn met(self, v: f64) -> bool {
        match self {
            Target::AtLeast(t) => v >= t,
            Target::AtMost(t) | Target::AtMostMs(t) => v <= t,
            Target::Within(t) => v.abs() <= t,
        }
    }

    pub fn text(self, unit: &str) -> String {
        match self {
            Target::AtLeast(t) => format!(">= {t:.2}{unit}"),
            Target::AtMost(t) => format!("<= {t:.2}{unit}"),
            Target::Within(t) => format!("within ±{:.0}%", t * 100.0),
            Target::AtMostMs(t) => format!("<= {t:.2} ms"),
        }
    }
}

impl Results {
    pub fn add(&mut self, key: &'static str, label: &str, per: u64, secs: f64, cpu: f64) {
        if !self.series.contains_key(key) {
            self.order.push(key);
        }
        let s = self.series.entry(key).or_default();
        s.label = label.to_string();
        s.per = per;
        s.secs.push(secs);
        s.cpu.push(cpu);
    }

    pub fn median(&self, key: &str) -> Option<f64> {
        self.series.get(key).and_then(|s| median(&s.secs))
    }

    /// How many times faster `a` is than `b` (time of b / time of a).
    pub fn speed(&mut self, name: &str, a: &str, b: &str, target: Option<Target>) {
        let value = match (self.median(a), self.median(b)) {
            (Some(x), Some(y)) if x > 0.0 => Some(y / x),
            _ => None,
        };
        self.ratios.push(Ratio {
            name: name.to_string(),
            value,
            target,
            calls: None,
        });
    }

    /// Adds the instructions per call of `keys` (those counted) to the last ratio.
    pub fn with_calls(&mut self, keys: &[&str]) {
        let counts: Vec<String> = keys
            .iter()
            .filter_map(|k| self.instructions.get(k).map(|v| group(*v)))
            .collect();
        if let Some(last) = self.ratios.last_mut()
            && counts.len() == keys.len()
        {
            last.calls = Some(counts.join(" / "));
        }
    }

    /// Like [`Results::speed`], on the CPU seconds.
    pub fn speed_cpu(&mut self, name: &str, a: &str, b: &str) {
        let cpu = |k: &str| self.series.get(k).and_then(|s| median(&s.cpu));
        let value = match (cpu(a), cpu(b)) {
            (Some(x), Some(y)) if x > 0.0 => Some(y / x),
            _ => None,
        };
        self.ratios.push(Ratio {
            name: name.to_string(),
            value,
            target: None,
            calls: None,
        });
    }

    pub fn note(&mut self, text: String) {
        eprintln!("  note: {text}");
        self.notes.push(text);
    }
}

/// 4187.3 → "4,187".
pub fn group(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    Some(if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    })
}

/// The ratios the performance issue sets targets for (and a few for information), with the
/// instructions per call of what they compare where callgrind counted them.
pub fn ratios(r: &mut Results) {
    use Target::AtLeast;
    // The ratios first, then those the once-only runs added.
    let once = std::mem::take(&mut r.ratios);
    r.speed(
        "send loop: udpsh / native Rust",
        "send.udpsh",
        "send.native",
        Some(AtLeast(0.85)),
    );
    r.with_calls(&["send.udpsh", "send.native"]);
    r.speed(
        "send loop: udpsh / Python",
        "send.udpsh",
        "send.python",
        Some(AtLeast(1.0)),
    );
    r.with_calls(&["send.udpsh", "send.python"]);
    r.speed(
        "send loop: Python / native Rust",
        "send.python",
        "send.native",
        None,
    );
    r.speed(
        "send loop: --pcap x.pcap / without",
        "send.udpsh.pcap",
        "send.udpsh",
        Some(AtLeast(0.90)),
    );
    r.with_calls(&["send.udpsh.pcap", "send.udpsh"]);
    r.speed(
        "send loop: --pcap x.pcapng / without",
        "send.udpsh.pcapng",
        "send.udpsh",
        Some(AtLeast(0.85)),
    );
    r.with_calls(&["send.udpsh.pcapng", "send.udpsh"]);
    r.speed(
        "  native + write(2) per datagram / native",
        "send.native.rec",
        "send.native",
        None,
    );
    r.speed(
        "echo: udpsh / native Rust",
        "echo.udpsh",
        "echo.native",
        Some(AtLeast(0.90)),
    );
    r.with_calls(&["echo.udpsh", "echo.native"]);
    r.speed(
        "echo: udpsh / Python seed",
        "echo.udpsh",
        "echo.python",
        Some(AtLeast(1.05)),
    );
    r.with_calls(&["echo.udpsh", "echo.python"]);
    r.speed_cpu(
        "  echo, server CPU per datagram: udpsh / native",
        "echo.udpsh",
        "echo.native",
    );
    r.speed_cpu(
        "  echo, server CPU per datagram: udpsh / Python",
        "echo.udpsh",
        "echo.python",
    );
    r.speed(
        "start-up: udpsh faster than Python by",
        "start.udpsh",
        "start.python",
        Some(AtLeast(8.0)),
    );
    r.speed(
        "proxy, no impairment: udpsh / native forwarder",
        "proxy.udpsh",
        "proxy.native",
        Some(AtLeast(0.80)),
    );
    r.speed(
        "replay --speed max / native send loop",
        "replay.udpsh",
        "replay.native",
        Some(AtLeast(0.90)),
    );
    r.speed(
        "blast / native sendmmsg loop",
        "blast.udpsh",
        "blast.native",
        Some(AtLeast(0.90)),
    );
    r.speed(
        "load: replies/s at saturation, udpsh / native open-loop correlator",
        "load.udpsh",
        "load.native",
        Some(AtLeast(0.90)),
    );
    r.speed(
        "blast / native send_to loop",
        "blast.udpsh",
        "send.native",
        None,
    );
    r.speed(
        "blast / iperf3 -u (datagrams/s)",
        "blast.udpsh",
        "iperf.udp",
        None,
    );
    r.speed(
        "fuzz: udpsh / boofuzz (cases the target received per second)",
        "fuzz.udpsh",
        "fuzz.boofuzz",
        Some(AtLeast(10.0)),
    );
    r.ratios.extend(once);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn speeds_are_time_of_b_over_time_of_a() {
        let mut r = Results::default();
        for (secs, cpu) in [(1.0, 0.5), (3.0, 0.5), (2.0, 0.5)] {
            r.add("a", "A", 10, secs, cpu);
        }
        r.add("b", "B", 10, 4.0, 2.0);
        assert_eq!(r.order, ["a", "b"]);
        r.speed("a vs b", "a", "b", Some(Target::AtLeast(1.5)));
        r.speed("a vs none", "a", "none", None);
        r.speed_cpu("cpu a vs b", "a", "b");
        assert_eq!(r.ratios[0].value, Some(2.0));
        assert_eq!(r.ratios[1].value, None);
        assert_eq!(r.ratios[2].value, Some(4.0));
    }

    #[test]
    fn targets_say_whether_they_are_met() {
        assert!(Target::AtLeast(0.9).met(0.9) && !Target::AtLeast(0.9).met(0.89));
        assert!(Target::AtMost(1.1).met(1.0) && !Target::AtMost(1.1).met(1.2));
        assert!(Target::Within(0.02).met(-0.02) && !Target::Within(0.02).met(0.03));
        assert_eq!(Target::AtLeast(3.0).text("×"), ">= 3.00×");
        assert_eq!(Target::Within(0.02).text(""), "within ±2%");
        assert!(Target::AtMostMs(1.0).met(0.4) && !Target::AtMostMs(1.0).met(1.2));
        assert_eq!(Target::AtMostMs(1.0).text(""), "<= 1.00 ms");
    }

    #[test]
    fn instruction_counts_go_beside_their_ratio() {
        let mut r = Results::default();
        r.add("a", "A", 10, 1.0, 0.5);
        r.add("b", "B", 10, 2.0, 0.5);
        r.instructions.insert("a", 4187.4);
        r.instructions.insert("b", 59.0);
        r.speed("a vs b", "a", "b", None);
        r.with_calls(&["a", "b"]);
        assert_eq!(r.ratios[0].calls.as_deref(), Some("4,187 / 59"));
        r.speed("a vs c", "a", "c", None);
        r.with_calls(&["a", "c"]);
        assert_eq!(r.ratios[1].calls, None);
        assert_eq!(group(1_234_567.0), "1,234,567");
    }
}
