//! What a person reads of a load run: the live line (on a terminal), and at the end the
//! counts, the percentile ladder of both latencies, and the latency histogram drawn in text.

use super::engine::Progress;
use super::histogram::{Hist, LADDER};
use super::result::Report;
use crate::net::group;

/// Rows of the text histogram.
const ROWS: usize = 10;
/// Width of its longest bar, in characters.
const BAR: usize = 32;

/// Seconds with 3 significant digits in the unit that suits: `138µs`, `1.21ms`, `2.50s`.
pub fn duration(secs: f64) -> String {
    let (value, unit) = if secs == 0.0 {
        return "0".into();
    } else if secs < 1e-6 {
        (secs * 1e9, "ns")
    } else if secs < 1e-3 {
        (secs * 1e6, "µs")
    } else if secs < 1.0 {
        (secs * 1e3, "ms")
    } else {
        (secs, "s")
    };
    format!("{}{unit}", significant(value))
}

fn significant(v: f64) -> String {
    if v >= 99.95 {
        format!("{v:.0}")
    } else if v >= 9.995 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Per second, grouped: `20,000/s`.
pub fn per_second(rate: f64) -> String {
    if rate >= 100.0 {
        format!("{}/s", group(rate.round() as usize))
    } else {
        format!("{}/s", significant(rate))
    }
}

/// A share as a percentage: `0.002%`, `12.5%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 || p >= 0.1 {
        format!("{}%", (p * 100.0).round() / 100.0)
    } else {
        // Three significant digits, however small.
        let decimals = (2 - p.log10().floor() as i32).max(0) as usize;
        format!("{p:.decimals$}%")
    }
}

fn count(n: u64) -> String {
    group(usize::try_from(n).unwrap_or(usize::MAX))
}

/// `3.2s · sent 64,000 · received 63,998 · lost 0 · p50 138µs · p99 512µs`.
pub fn live_line(p: &Progress) -> String {
    format!(
        "{:.1}s · sent {} · received {} · lost {} · p50 {} · p99 {}",
        p.elapsed,
        count(p.counts.sent),
        count(p.counts.received),
        count(p.counts.lost),
        duration(p.p50),
        duration(p.p99)
    )
}

/// The counts, rates, ladder and histogram, as printed at the end of a run or a merge.
pub fn report(r: &Report, latency: &Hist) -> String {
    let c = &r.counts;
    let mut out = format!(
        "  sent {} · received {} · lost {} ({})\n",
        count(c.sent),
        count(c.received),
        count(c.lost),
        percent(c.loss())
    );
    out += &format!(
        "  late {} · duplicate {} · refused {} · bad {} · errors {} · unmatched {}\n",
        count(c.late),
        count(c.duplicate),
        count(c.refused),
        count(c.bad),
        count(c.errors),
        count(c.unmatched)
    );
    out += &format!(
        "  rate {} · throughput {} · behind {} · over {}\n\n",
        per_second(r.rate),
        per_second(r.throughput),
        duration(r.behind),
        duration(r.seconds)
    );
    out += &ladder(r);
    out += "\n";
    out += &histogram(latency);
    out
}

/// The percentile ladder, latency beside service.
pub fn ladder(r: &Report) -> String {
    let names = LADDER.iter().map(|(n, _)| *n).chain(["max"]);
    let mut out = format!("  {:<8}{:>10}{:>10}\n", "", "latency", "service");
    for ((name, l), s) in names.zip(r.latency.ladder()).zip(r.service.ladder()) {
        out += &format!("  {name:<8}{:>10}{:>10}\n", duration(l), duration(s));
    }
    out
}

/// The latency histogram in text: up to ten rows from the fastest reply to the slowest,
/// spaced evenly on a log scale, each with its count, a bar and its share.
pub fn histogram(h: &Hist) -> String {
    if h.is_empty() {
        return "  no replies: no latency histogram\n".into();
    }
    let lo = h.min().max(1) as f64;
    let hi = h.max().max(1) as f64;
    let rows = if hi / lo < 1.01 { 1 } else { ROWS };
    let edges: Vec<f64> = (1..=rows)
        .map(|k| lo * (hi / lo).powf(k as f64 / rows as f64))
        .collect();
    let mut counts = vec![0u64; rows];
    for v in h.iter_recorded() {
        let value = v.value_iterated_to() as f64;
        let row = edges
            .iter()
            .position(|e| value <= *e * 1.000_001)
            .unwrap_or(rows - 1);
        counts[row] += v.count_at_value();
    }
    let most = counts.iter().copied().max().unwrap_or(1).max(1);
    let total = h.len().max(1);
    let mut out = format!("  {:<10}{:>10}\n", "latency", "count");
    for (edge, n) in edges.iter().zip(&counts) {
        out += &format!(
            "  ≤ {:<8}{:>10}  {:<width$}  {}\n",
            duration(edge / 1e9),
            count(*n),
            bar(*n as f64 / most as f64),
            percent(*n as f64 / total as f64),
            width = BAR
        );
    }
    out
}

/// A bar of `share` × [`BAR`] characters, to an eighth of one.
fn bar(share: f64) -> String {
    const PARTS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let eighths = (share * (BAR * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    s += PARTS[eighths % 8];
    if s.is_empty() && share > 0.0 {
        s += "▏";
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::histogram;

    #[test]
    fn durations_have_three_significant_digits() {
        assert_eq!(duration(0.000_138), "138µs");
        assert_eq!(duration(0.001_214), "1.21ms");
        assert_eq!(duration(0.0123), "12.3ms");
        assert_eq!(duration(2.5), "2.50s");
        assert_eq!(duration(0.0), "0");
        assert_eq!(duration(0.000_000_5), "500ns");
    }

    #[test]
    fn rates_and_shares() {
        assert_eq!(per_second(19_999.6), "20,000/s");
        assert_eq!(per_second(12.5), "12.5/s");
        assert_eq!(percent(0.000_02), "0.00200%");
        assert_eq!(percent(0.125), "12.5%");
        assert_eq!(percent(0.0), "0%");
    }

    #[test]
    fn the_histogram_has_every_reply_in_a_row() {
        let mut h = histogram::new();
        for i in 0..1000 {
            histogram::record(&mut h, 100_000 + i * 1_000);
        }
        histogram::record(&mut h, 50_000_000);
        let text = histogram(&h);
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 10);
        let total: u64 = rows
            .iter()
            .map(|r| {
                r.split_whitespace()
                    .nth(2)
                    .unwrap()
                    .replace(',', "")
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert_eq!(total, 1001);
        assert!(rows[9].contains("≤ 50.0ms"), "{text}");
        assert!(text.contains('█'));
    }

    #[test]
    fn bars_are_drawn_to_an_eighth() {
        assert_eq!(bar(1.0).chars().count(), BAR);
        assert_eq!(bar(0.5 + 1.0 / 64.0), format!("{}▌", "█".repeat(16)));
        assert_eq!(bar(0.000_1), "▏");
        assert_eq!(bar(0.0), "");
    }
}
