//! Events per second over a sliding second (frames from a source, analysed frames).

use std::time::Instant;

/// Frames per second over a sliding second.
#[derive(Debug, Default, Clone)]
pub struct RateMeter {
    window_start: Option<Instant>,
    count: u32,
    rate: f32,
}

impl RateMeter {
    /// Counts one event at `now` and returns the current rate.
    pub fn tick(&mut self, now: Instant) -> f32 {
        let start = *self.window_start.get_or_insert(now);
        self.count += 1;
        let elapsed = now.duration_since(start).as_secs_f32();
        if elapsed >= 1.0 {
            self.rate = self.count as f32 / elapsed;
            self.count = 0;
            self.window_start = Some(now);
        }
        self.rate
    }

    /// The rate as of the last full second.
    pub fn rate(&self) -> f32 {
        self.rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rate_meter_counts_per_second() {
        let mut m = RateMeter::default();
        let t0 = Instant::now();
        for k in 0..=30 {
            m.tick(t0 + Duration::from_millis(k * 1000 / 30));
        }
        let r = m.tick(t0 + Duration::from_millis(1040));
        assert!((r - 31.0).abs() < 2.5, "{r}");
    }
}
