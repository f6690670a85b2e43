//! Real-time pacing of a video: frames are analysed when their media time is due on the
//! wall clock; a frame that falls too far behind is skipped, as a live camera would drop it.

use std::time::{Duration, Instant};

/// A frame due later than this is waited for; closer than this it is analysed at once.
pub const EARLY_TOLERANCE: Duration = Duration::from_millis(40);
/// A frame more than this behind its due time is skipped.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(50);

/// What to do with the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Sleep this long, then analyse it.
    WaitThen(Duration),
    Analyse,
    /// Behind real time: drop it.
    Skip,
}

/// Maps media time onto the wall clock from the first frame on.
#[derive(Debug, Clone, Default)]
pub struct RealTimePacer {
    origin: Option<(Instant, f64)>,
}

impl RealTimePacer {
    /// Forgets the clock (a new pass of a looped video, or after a pause).
    pub fn reset(&mut self) {
        self.origin = None;
    }

    /// The decision for a frame at `media_s` seen at `now`.
    pub fn pace(&mut self, now: Instant, media_s: f64) -> Pace {
        let (start, t0) = *self.origin.get_or_insert((now, media_s));
        let due = start + Duration::from_secs_f64((media_s - t0).max(0.0));
        if now + EARLY_TOLERANCE < due {
            Pace::WaitThen(due - now)
        } else if now > due + LATE_TOLERANCE {
            Pace::Skip
        } else {
            Pace::Analyse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_wait_for_their_time_and_late_ones_are_skipped() {
        let mut p = RealTimePacer::default();
        let t0 = Instant::now();
        assert_eq!(p.pace(t0, 10.0), Pace::Analyse, "the first frame sets the clock");
        assert_eq!(p.pace(t0 + Duration::from_millis(5), 10.5), Pace::WaitThen(Duration::from_millis(495)));
        assert_eq!(p.pace(t0 + Duration::from_millis(520), 10.5), Pace::Analyse);
        assert_eq!(p.pace(t0 + Duration::from_millis(700), 10.6), Pace::Skip);
        p.reset();
        assert_eq!(p.pace(t0 + Duration::from_secs(5), 0.0), Pace::Analyse);
    }
}
