//! The printed report: the contenders' medians, what was measured once, the ratios.

use std::time::Duration;

use crate::options::Config;
use crate::statistics::{Results, Target, median};

/// Appends one formatted line to a `String`.
macro_rules! emit {
    ($out:ident) => {
        $out.push('\n')
    };
    ($out:ident, $($fmt:tt)*) => {{
        $out.push_str(&format!($($fmt)*));
        $out.push('\n');
    }};
}

/// Prints the report to stdout.
pub fn print(cfg: &Config, r: &Results, took: Duration) {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    print!("{}", render(cfg, r, took, cpus));
}

/// The report as text: what [`print`] writes.
pub fn render(cfg: &Config, r: &Results, took: Duration, cpus: usize) -> String {
    let mut out = String::new();
    emit!(out);
    emit!(
        out,
        "udpsh benchmarks: {} rounds, interleaved; medians (min–max). 64-byte datagrams on loopback, {} per send loop, {} round trips per echo run. {} CPUs.",
        cfg.rounds,
        cfg.sends,
        cfg.trips,
        cpus
    );
    emit!(out);
    emit!(
        out,
        "{:<40} {:>20} {:>14} {:>10}",
        "contender",
        "median s (min–max)",
        "per second",
        "CPU s"
    );
    for key in &r.order {
        let s = &r.series[key];
        let (Some(m), Some(lo), Some(hi)) = (
            median(&s.secs),
            s.secs.iter().copied().reduce(f64::min),
            s.secs.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        let per = if s.per > 1 {
            format!("{}/s", human(s.per as f64 / m))
        } else {
            String::new()
        };
        emit!(
            out,
            "{:<40} {:>20} {:>14} {:>10}",
            s.label,
            format!("{} ({}–{})", secs(m), secs(lo), secs(hi)),
            per,
            format!("{:.3}", median(&s.cpu).unwrap_or(0.0))
        );
    }
    if r.series.contains_key("echo.udpsh") {
        emit!(
            out,
            "(echo: server and client on cores of their own; CPU s is the server's during the round trips)"
        );
    }
    if !r.once.is_empty() {
        emit!(out);
        for (what, value, unit, note) in &r.once {
            let v = if *unit == "/s" {
                format!("{}/s", human(*value))
            } else {
                format!("{value:.1} {unit}")
            };
            emit!(out, "{what:<66} {v:>12}   {note}");
        }
    }
    emit!(out);
    emit!(
        out,
        "{:<56} {:>9} {:>14}   met   instructions per call",
        "ratio",
        "value",
        "target"
    );
    // Ratios of groups not run (`--only`) are left out.
    for ratio in r.ratios.iter().filter(|r| r.value.is_some()) {
        let (value, target, met) = cells(ratio);
        let calls = ratio.calls.as_deref().unwrap_or("");
        let line = format!(
            "{:<56} {:>9} {:>14}   {:<3}   {}",
            ratio.name, value, target, met, calls
        );
        emit!(out, "{}", line.trim_end());
    }
    for note in &r.notes {
        emit!(out, "note: {note}");
    }
    emit!(out);
    emit!(out, "(took {:.0} s)", took.as_secs_f64());
    out
}

/// A ratio's value, target and whether it is met, as text.
fn cells(ratio: &crate::statistics::Ratio) -> (String, String, &'static str) {
    let unit = match ratio.target {
        Some(Target::Within(_)) => "%",
        Some(Target::AtMostMs(_)) => "ms",
        _ => "×",
    };
    let value = ratio.value.map_or("n/a".to_string(), |v| match unit {
        "%" => format!("{:+.2}%", v * 100.0),
        "ms" => format!("{v:.2} ms"),
        _ => format!("{v:.2}×"),
    });
    match (ratio.target, ratio.value) {
        (Some(t), Some(v)) => (
            value,
            t.text(if unit == "×" { "×" } else { "" }),
            if t.met(v) { "yes" } else { "NO" },
        ),
        (Some(t), None) => (value, t.text("×"), "n/a"),
        (None, _) => (value, String::new(), ""),
    }
}

/// The performance table of README.md: every ratio with a target, its value, and the
/// instructions per call of what it compares.
pub fn readme_table(cfg: &Config, r: &Results) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::new();
    emit!(
        out,
        "Made by `bench/run`: medians of {} interleaved rounds, {cpus} CPUs; instructions per call by callgrind (user space; udpsh / the other).",
        cfg.rounds
    );
    emit!(out);
    emit!(
        out,
        "| measure | now | target | met | instructions per call |"
    );
    emit!(out, "| --- | --- | --- | --- | --- |");
    for ratio in r.ratios.iter().filter(|r| r.target.is_some()) {
        let (value, target, met) = cells(ratio);
        let met = match met {
            "NO" => "no",
            m => m,
        };
        emit!(
            out,
            "| {} | {} | {} | {} | {} |",
            ratio.name.trim(),
            value,
            target.replace(">=", "≥").replace("<=", "≤"),
            met,
            ratio.calls.as_deref().unwrap_or("")
        );
    }
    out
}

const BEGIN: &str = "<!-- bench/run: performance table -->";
const END: &str = "<!-- end of bench/run's table -->";

/// Replaces the text between the two markers of `readme` by `table`.
pub fn update_readme(readme: &std::path::Path, table: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(readme).map_err(|e| e.to_string())?;
    let (Some(a), Some(b)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!("no {BEGIN} … {END} in {}", readme.display()));
    };
    if b < a {
        return Err("the markers are out of order".into());
    }
    let updated = format!("{}{BEGIN}\n{table}{}", &text[..a], &text[b..]);
    std::fs::write(readme, updated).map_err(|e| e.to_string())
}

fn secs(s: f64) -> String {
    if s < 0.1 {
        format!("{:.1}ms", s * 1000.0)
    } else {
        format!("{s:.3}")
    }
}

fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statistics::Ratio;

    #[test]
    fn the_report_lays_out_series_once_values_ratios_and_notes() {
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let args = ["--quick", "--only", "send,pace", "--udpsh", manifest].map(String::from);
        let cfg = Config::parse(&args).unwrap();
        let mut r = Results::default();
        r.add("send.udpsh", "udpsh run send_loop.rhai", 50_000, 0.25, 0.18);
        r.add("send.udpsh", "udpsh run send_loop.rhai", 50_000, 0.05, 0.2);
        r.add("start.udpsh", "udpsh -e ''", 1, 0.004, 0.003);
        r.once.push((
            "paced: rate on arrival".into(),
            19_990.0,
            "/s",
            "all".into(),
        ));
        r.once.push(("peak RSS".into(), 9.25, "MiB", String::new()));
        r.ratios.push(Ratio {
            name: "pacing error".into(),
            value: Some(-0.0428),
            target: Some(Target::Within(0.02)),
            calls: None,
        });
        r.instructions.insert("send.udpsh", 4187.0);
        r.speed(
            "udpsh / udpsh",
            "send.udpsh",
            "send.udpsh",
            Some(Target::AtLeast(0.9)),
        );
        r.with_calls(&["send.udpsh", "send.udpsh"]);
        r.speed("left out", "send.udpsh", "send.python", None);
        r.notes.push("iperf3 not installed".into());
        let text = render(&cfg, &r, Duration::from_secs_f64(7.4), 2);
        let want = "
udpsh benchmarks: 3 rounds, interleaved; medians (min–max). 64-byte datagrams on loopback, 50000 per send loop, 5000 round trips per echo run. 2 CPUs.

contender                                  median s (min–max)     per second      CPU s
udpsh run send_loop.rhai                 0.150 (50.0ms–0.250)       333.3k/s      0.190
udpsh -e ''                               4.0ms (4.0ms–4.0ms)                     0.003

paced: rate on arrival                                                  20.0k/s   all
peak RSS                                                                9.2 MiB   

ratio                                                        value         target   met   instructions per call
pacing error                                                -4.28%     within ±2%   NO
udpsh / udpsh                                                1.00×       >= 0.90×   yes   4,187 / 4,187
note: iperf3 not installed

(took 7 s)
";
        assert_eq!(text, want);
        let table = readme_table(&cfg, &r);
        assert!(
            table.contains("| pacing error | -4.28% | within ±2% | no |  |"),
            "{table}"
        );
        assert!(table.contains("| udpsh / udpsh | 1.00× | ≥ 0.90× | yes | 4,187 / 4,187 |"));
        assert!(!table.contains("left out"));
    }

    #[test]
    fn the_readme_table_goes_between_its_markers() {
        let dir = std::env::temp_dir().join(format!("bench-readme-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("README.md");
        std::fs::write(&path, format!("# x\n{BEGIN}\nold\n{END}\nrest\n")).unwrap();
        update_readme(&path, "new\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("# x\n{BEGIN}\nnew\n{END}\nrest\n"));
        std::fs::write(&path, "no markers").unwrap();
        assert!(update_readme(&path, "new").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn numbers_are_shortened_for_people() {
        assert_eq!(secs(0.0123), "12.3ms");
        assert_eq!(secs(1.5), "1.500");
        assert_eq!(human(2_345_678.0), "2.35M");
        assert_eq!(human(12_345.0), "12.3k");
        assert_eq!(human(999.0), "999");
    }
}
