//! Stable emotions per person: the confirmation window and the smoothed probabilities.
//!
//! [`ConfirmationWindow`] holds the last N classified frames of one person. A class
//! is confirmed when it holds more than `confirm_share` of them; it stays confirmed
//! while it holds at least `release_share` (hysteresis, so the label does not flip at
//! the threshold); otherwise the fallback (Neutral) shows. [`Smoothed`] follows the
//! probabilities every frame with a short time constant, so the picture reacts fast
//! while the label waits for stability.

use serde::{Deserialize, Serialize};

/// Frames in the window (the Kinect version used 20).
pub const DEFAULT_WINDOW_FRAMES: usize = 20;
/// Share of the window a class needs to become confirmed (Kinect version: 60%).
pub const DEFAULT_CONFIRM_SHARE: f32 = 0.6;
/// Share below which a confirmed class is released (hysteresis band 0.5..0.6).
pub const DEFAULT_RELEASE_SHARE: f32 = 0.5;
/// Label shown when no class dominates.
pub const DEFAULT_FALLBACK_LABEL: &str = "neutral";
/// Time constant of the smoothed probabilities, ms: ~86% of a step after 100 ms.
pub const DEFAULT_SMOOTHING_MS: f32 = 50.0;

/// Settings of the confirmation window (config `[tracking.confirmation]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfirmationSettings {
    pub window_frames: usize,
    pub confirm_share: f32,
    pub release_share: f32,
    pub fallback_label: String,
    pub smoothing_ms: f32,
}

impl Default for ConfirmationSettings {
    fn default() -> Self {
        Self {
            window_frames: DEFAULT_WINDOW_FRAMES,
            confirm_share: DEFAULT_CONFIRM_SHARE,
            release_share: DEFAULT_RELEASE_SHARE,
            fallback_label: DEFAULT_FALLBACK_LABEL.into(),
            smoothing_ms: DEFAULT_SMOOTHING_MS,
        }
    }
}

/// The last N top classes of one person and the label they confirm.
#[derive(Debug, Clone)]
pub struct ConfirmationWindow {
    ring: Vec<u16>,
    head: usize,
    len: usize,
    counts: Vec<u32>,
    confirmed: Option<usize>,
    fallback: Option<usize>,
    confirm_share: f32,
    release_share: f32,
}

impl ConfirmationWindow {
    /// `fallback` is the class index shown when nothing dominates (None: no label).
    pub fn new(n_classes: usize, settings: &ConfirmationSettings, fallback: Option<usize>) -> Self {
        let n = settings.window_frames.max(1);
        Self {
            ring: vec![0; n],
            head: 0,
            len: 0,
            counts: vec![0; n_classes],
            confirmed: fallback,
            fallback,
            confirm_share: settings.confirm_share,
            release_share: settings.release_share.min(settings.confirm_share),
        }
    }

    /// Empties the window for a new person, keeping its buffers.
    pub fn reset(&mut self) {
        self.head = 0;
        self.len = 0;
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.confirmed = self.fallback;
    }

    /// Share of the whole window (not just the filled part) held by `class`.
    pub fn share(&self, class: usize) -> f32 {
        self.counts.get(class).map_or(0.0, |c| *c as f32 / self.ring.len() as f32)
    }

    /// Adds one frame's top class and returns the confirmed class.
    pub fn push(&mut self, class: usize) -> Option<usize> {
        if class >= self.counts.len() {
            return self.confirmed;
        }
        if self.len == self.ring.len() {
            let old = self.ring[self.head] as usize;
            self.counts[old] -= 1;
        } else {
            self.len += 1;
        }
        self.ring[self.head] = class as u16;
        self.head = (self.head + 1) % self.ring.len();
        self.counts[class] += 1;

        let dominant = (0..self.counts.len()).max_by_key(|&c| self.counts[c]).unwrap_or(0);
        let holding = self.confirmed.filter(|&c| Some(c) != self.fallback && self.share(c) >= self.release_share);
        self.confirmed = if holding.is_some() {
            holding
        } else if self.share(dominant) > self.confirm_share {
            Some(dominant)
        } else {
            self.fallback
        };
        self.confirmed
    }

    pub fn confirmed(&self) -> Option<usize> {
        self.confirmed
    }

    /// Frames currently in the window.
    pub fn filled(&self) -> usize {
        self.len
    }
}

/// Exponentially smoothed probabilities with a time constant.
#[derive(Debug, Clone, Default)]
pub struct Smoothed {
    values: Vec<f32>,
    last_time: Option<f64>,
    tau_s: f32,
}

impl Smoothed {
    pub fn new(n_classes: usize, smoothing_ms: f32) -> Self {
        Self { values: vec![0.0; n_classes], last_time: None, tau_s: smoothing_ms.max(0.0) / 1000.0 }
    }

    pub fn reset(&mut self) {
        self.values.iter_mut().for_each(|v| *v = 0.0);
        self.last_time = None;
    }

    /// Moves toward `probs` observed at `time_s`; the first observation is taken as is.
    pub fn observe(&mut self, time_s: f64, probs: &[f32]) {
        let alpha = match self.last_time {
            None => 1.0,
            Some(t) if self.tau_s > 0.0 => 1.0 - (-((time_s - t).max(0.0) as f32) / self.tau_s).exp(),
            Some(_) => 1.0,
        };
        for (v, p) in self.values.iter_mut().zip(probs) {
            *v += alpha * (p - *v);
        }
        self.last_time = Some(time_s);
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Whether anything was observed since the start or the last reset.
    pub fn observed(&self) -> bool {
        self.last_time.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEUTRAL: usize = 6;
    const HAPPY: usize = 3;
    const SAD: usize = 4;

    fn window() -> ConfirmationWindow {
        ConfirmationWindow::new(7, &ConfirmationSettings::default(), Some(NEUTRAL))
    }

    #[test]
    fn sixty_percent_rule_confirms_and_fallback_shows_otherwise() {
        let mut w = window();
        // 12 of 20 is exactly 60%: not more than 60%, so still the fallback.
        for _ in 0..12 {
            w.push(HAPPY);
        }
        assert_eq!(w.confirmed(), Some(NEUTRAL));
        w.push(HAPPY); // 13 of 20 = 65%
        assert_eq!(w.confirmed(), Some(HAPPY));
    }

    #[test]
    fn mixed_window_falls_back_to_neutral() {
        let mut w = window();
        for i in 0..20 {
            w.push(if i % 2 == 0 { HAPPY } else { SAD });
        }
        assert_eq!(w.confirmed(), Some(NEUTRAL));
    }

    #[test]
    fn hysteresis_keeps_the_label_when_the_share_wobbles_around_the_threshold() {
        // Blocks of 20 frames alternate between 13 and 11 happy frames, so Happy's
        // share of the sliding window wobbles between 55% and 65%.
        let frames: Vec<usize> = (0..240)
            .map(|i| {
                let happy_in_block = if (i / 20) % 2 == 0 { 13 } else { 11 };
                if i % 20 < happy_in_block { HAPPY } else { SAD }
            })
            .collect();
        let mut w = window();
        let mut naive_flips = 0;
        let mut naive_last = false;
        let mut flips = 0;
        let mut last = w.confirmed();
        for (i, &c) in frames.iter().enumerate() {
            w.push(c);
            if i >= 20 {
                let naive = w.share(HAPPY) > DEFAULT_CONFIRM_SHARE;
                naive_flips += usize::from(naive != naive_last);
                naive_last = naive;
                flips += usize::from(w.confirmed() != last);
            }
            last = w.confirmed();
        }
        assert!(naive_flips >= 6, "the input really crosses the threshold ({naive_flips} times)");
        assert!(flips <= 1, "confirmed label flipped {flips} times");
        assert_eq!(w.confirmed(), Some(HAPPY));
    }

    #[test]
    fn confirmed_label_is_released_below_the_band() {
        let mut w = window();
        for _ in 0..20 {
            w.push(HAPPY);
        }
        // 10 of 20 = 50%: still held.
        for _ in 0..10 {
            w.push(SAD);
        }
        assert_eq!(w.confirmed(), Some(HAPPY));
        // 9 of 20 = 45%, and Sad at 55% does not dominate: fallback.
        w.push(SAD);
        assert_eq!(w.confirmed(), Some(NEUTRAL));
    }

    #[test]
    fn a_new_class_takes_over_and_reset_clears() {
        let mut w = window();
        for _ in 0..20 {
            w.push(HAPPY);
        }
        for _ in 0..13 {
            w.push(SAD);
        }
        assert_eq!(w.confirmed(), Some(SAD));
        w.reset();
        assert_eq!((w.confirmed(), w.filled()), (Some(NEUTRAL), 0));
    }

    #[test]
    fn smoothed_vector_reacts_within_100_ms() {
        let mut s = Smoothed::new(2, DEFAULT_SMOOTHING_MS);
        s.observe(0.0, &[1.0, 0.0]);
        assert_eq!(s.values(), &[1.0, 0.0]);
        // A step to the other class at 30 frames/s: after ~100 ms most of the way there.
        for k in 1..=3 {
            s.observe(k as f64 / 30.0, &[0.0, 1.0]);
        }
        assert!(s.values()[1] > 0.8, "{:?}", s.values());
        assert!((s.values().iter().sum::<f32>() - 1.0).abs() < 1e-5, "stays a distribution");
        // ...but one frame alone moves it only part of the way.
        let mut t = Smoothed::new(2, DEFAULT_SMOOTHING_MS);
        t.observe(0.0, &[1.0, 0.0]);
        t.observe(1.0 / 30.0, &[0.0, 1.0]);
        assert!(t.values()[1] < 0.6, "{:?}", t.values());
    }
}
