//! Seconds given as numbers (by scripts, on the command line, in a capture's spacing) turned
//! into durations, checked: `Duration::from_secs_f64` and `div_f64` panic on a negative,
//! NaN or too large value, so every float becomes a duration here and nowhere else.

use std::time::Duration;

/// Why a number is not a duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotSeconds {
    /// Negative or NaN.
    Invalid,
    /// More than a duration holds (about 584 billion years).
    TooLong,
}

/// `secs` as a duration: negative or NaN is [`NotSeconds::Invalid`], more than a duration
/// holds (`1e20`, infinity) [`NotSeconds::TooLong`].
pub fn duration(secs: f64) -> Result<Duration, NotSeconds> {
    if secs.is_nan() || secs < 0.0 {
        return Err(NotSeconds::Invalid);
    }
    Duration::try_from_secs_f64(secs).map_err(|_| NotSeconds::TooLong)
}

/// Like [`duration`], but a wait too long for the clock is kept as "never" (`Duration::MAX`).
pub fn wait(secs: f64) -> Result<Duration, NotSeconds> {
    match duration(secs) {
        Err(NotSeconds::TooLong) => Ok(Duration::MAX),
        other => other,
    }
}

/// `d` divided by `divisor` (a replay's speed), or `None` when that is no duration (a
/// divisor of 0, negative or NaN; a result past what a duration holds).
pub fn divided(d: Duration, divisor: f64) -> Option<Duration> {
    if divisor.is_nan() || divisor <= 0.0 {
        return None;
    }
    duration(d.as_secs_f64() / divisor).ok()
}

/// `d` ± `secs` (a jitter draw), clamped at zero; `None` past what a duration holds.
pub fn offset(d: Duration, secs: f64) -> Option<Duration> {
    duration((d.as_secs_f64() + secs).max(0.0)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_float_is_a_duration_or_an_error() {
        assert_eq!(duration(1.5), Ok(Duration::from_millis(1500)));
        assert_eq!(duration(0.0), Ok(Duration::ZERO));
        for bad in [-1.0, f64::NAN, -0.5e-300, f64::NEG_INFINITY] {
            assert_eq!(duration(bad), Err(NotSeconds::Invalid), "{bad}");
        }
        for huge in [1e20, f64::INFINITY, f64::MAX] {
            assert_eq!(duration(huge), Err(NotSeconds::TooLong), "{huge}");
            assert_eq!(wait(huge), Ok(Duration::MAX), "{huge}");
        }
        assert_eq!(duration(1e-300), Ok(Duration::ZERO));
    }

    #[test]
    fn division_by_any_speed_is_checked() {
        let second = Duration::from_secs(1);
        assert_eq!(divided(second, 2.0), Some(Duration::from_millis(500)));
        for bad in [0.0, -1.0, f64::NAN, 1e-300, f64::MIN_POSITIVE] {
            assert_eq!(divided(second, bad), None, "{bad}");
        }
        assert_eq!(divided(Duration::ZERO, 1e-300), Some(Duration::ZERO));
        assert_eq!(divided(second, f64::INFINITY), Some(Duration::ZERO));
        assert_eq!(offset(second, -2.0), Some(Duration::ZERO));
        assert_eq!(offset(second, 1e300), None);
    }
}
