//! Probabilities and durations as people write them: `5%`, `0.05`, `20ms`, `1.5s`.

use std::time::Duration;

/// Longest delay or jitter accepted: a proxy holds what it delays in memory.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// `5%`, `0.5 %` or `0.05` → 0.05. Bare numbers are fractions from 0 to 1.
pub fn probability(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let (number, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    let value = number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v / scale);
    match value {
        Some(p) if (0.0..=1.0).contains(&p) => Ok(p),
        Some(_) if scale == 1.0 => Err(format!(
            "'{text}' is not between 0 and 1 (write a percentage as {text}%)"
        )),
        _ => Err(format!(
            "'{text}' is not a probability: write 5% or 0.05 (0 to 1)"
        )),
    }
}

/// A probability given as a number (scripts): 0 to 1.
pub fn probability_value(p: f64) -> Result<f64, String> {
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not a probability between 0 and 1"))
    }
}

/// `20ms`, `1.5s`, `500us`, `250µs` (units `ns`, `us`/`µs`, `ms`, `s`). A bare number is
/// seconds when `bare_is_seconds` (scripts); on the command line a unit is required, except
/// for `0`.
pub fn duration(text: &str, bare_is_seconds: bool) -> Result<Duration, String> {
    let secs = parse_seconds(text, bare_is_seconds)?;
    seconds(secs).map_err(|e| format!("'{text}' {e}"))
}

/// A length of time of any size, with a unit (`--duration 90s`).
pub fn span(text: &str) -> Result<Duration, String> {
    let secs = parse_seconds(text, false)?;
    crate::seconds::duration(secs.min(1e9)).map_err(|_| format!("'{text}' is not a duration"))
}

fn parse_seconds(text: &str, bare_is_seconds: bool) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "" if bare_is_seconds || number.parse::<f64>() == Ok(0.0) => 1.0,
        "" => {
            return Err(format!("'{text}' needs a unit: write {text}ms or {text}s"));
        }
        other => {
            return Err(format!(
                "'{text}': unknown unit '{other}' (use ns, us, ms or s)"
            ));
        }
    };
    let secs = number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("'{text}' is not a duration: write 20ms or 1.5s"))?;
    Ok(secs * scale)
}

/// Seconds (scripts give numbers) → a duration within [`MAX_DELAY`].
pub fn seconds(secs: f64) -> Result<Duration, String> {
    if !secs.is_finite() {
        return Err("is not a duration of 0 seconds or more".into());
    }
    let d = crate::seconds::duration(secs.min(1e9))
        .map_err(|_| "is not a duration of 0 seconds or more".to_string())?;
    if d > MAX_DELAY {
        return Err(format!(
            "is longer than the {}s the proxy can hold",
            MAX_DELAY.as_secs()
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities() {
        assert_eq!(probability("5%"), Ok(0.05));
        assert_eq!(probability(" 30 % "), Ok(0.3));
        assert_eq!(probability("0.05"), Ok(0.05));
        assert_eq!(probability("1"), Ok(1.0));
        assert_eq!(probability("100%"), Ok(1.0));
        assert!(probability("5").unwrap_err().contains("5%"));
        assert!(probability("150%").is_err());
        assert!(probability("-1%").is_err());
        assert!(probability("lots").is_err());
        assert!(probability("NaN").is_err());
    }

    #[test]
    fn durations() {
        let ms = Duration::from_millis;
        assert_eq!(duration("20ms", false), Ok(ms(20)));
        assert_eq!(duration("1.5s", false), Ok(ms(1500)));
        assert_eq!(duration("500us", false), Ok(Duration::from_micros(500)));
        assert_eq!(duration("250µs", false), Ok(Duration::from_micros(250)));
        assert_eq!(duration("0", false), Ok(Duration::ZERO));
        assert_eq!(duration("0.02", true), Ok(ms(20)));
        assert!(duration("20", false).unwrap_err().contains("20ms"));
        assert!(duration("20 parsecs", false).unwrap_err().contains("unit"));
        assert!(duration("-5ms", false).is_err());
        assert!(duration("2h", false).is_err());
        assert!(duration("61s", false).unwrap_err().contains("60s"));
        assert!(duration("ms", false).is_err());
    }
}
