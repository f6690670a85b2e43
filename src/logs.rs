//! Logs that fit a kiosk: a warning that repeats (a bad frame, a lost camera) is written
//! about once per interval per kind, with the number of times it was held back.

use std::time::{Duration, Instant};

/// Default interval between two lines of the same kind.
pub const DEFAULT_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Decides whether a repeating message may be written now.
#[derive(Debug, Clone)]
pub struct RateLimited {
    interval: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl Default for RateLimited {
    fn default() -> Self {
        Self::new(DEFAULT_LOG_INTERVAL)
    }
}

impl RateLimited {
    pub fn new(interval: Duration) -> Self {
        Self { interval, last: None, held_back: 0 }
    }

    /// `Some(n)` when a line may be written at `now`, `n` being how many were held back
    /// since the last one; `None` (and counted) otherwise.
    pub fn check(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(t) if now.duration_since(t) < self.interval => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

/// " (and N more like it)" for a count of held-back lines, empty for none.
pub fn held_back_suffix(n: u64) -> String {
    if n == 0 { String::new() } else { format!(" (and {n} more like it in the last interval)") }
}

/// An error and its causes on one line: `what: why: why`.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Writes a warning through `tracing`, at most once per interval of `limiter`.
#[macro_export]
macro_rules! warn_limited {
    ($limiter:expr, $($arg:tt)+) => {
        if let Some(n) = $limiter.check(std::time::Instant::now()) {
            tracing::warn!("{}{}", format_args!($($arg)+), $crate::logs::held_back_suffix(n));
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_held_back() {
        let mut r = RateLimited::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(r.check(t0), Some(0));
        for k in 1..30 {
            assert_eq!(r.check(t0 + Duration::from_millis(k * 30)), None);
        }
        assert_eq!(r.check(t0 + Duration::from_millis(1000)), Some(29));
        assert_eq!(r.check(t0 + Duration::from_millis(1100)), None);
        assert_eq!(r.check(t0 + Duration::from_millis(2500)), Some(1));
        assert_eq!(held_back_suffix(0), "");
        assert!(held_back_suffix(3).contains('3'));
    }
}
