//! How stable the reported emotions are: label changes per minute with and without
//! the confirmation window, id churn, and the delay from an expression change to the
//! confirmed label.

use std::collections::HashMap;

use crate::tracking::TrackSnapshot;

#[derive(Debug, Default, Clone, Copy)]
struct PerTrack {
    raw: Option<usize>,
    confirmed: Option<usize>,
    raw_changes: u64,
    confirmed_changes: u64,
}

/// A labelled stretch of frames (e.g. one expression of the sequence clip).
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: String,
    pub first_frame: u64,
    pub last_frame: u64,
}

/// What happened in one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentResult {
    pub name: String,
    /// The model's most frequent single-frame class in the segment.
    pub majority_raw: Option<usize>,
    /// Confirmed class at the segment's last frame.
    pub confirmed_at_end: Option<usize>,
    /// Seconds from the segment's first frame until the confirmed label first equals
    /// `majority_raw` (None: never within the segment).
    pub delay_s: Option<f64>,
}

/// Collects the statistics frame by frame.
#[derive(Debug, Default)]
pub struct StabilityMeter {
    tracks: HashMap<u64, PerTrack>,
    first_time: Option<f64>,
    last_time: f64,
    max_concurrent: usize,
    /// (frame, time, raw top of the first track, confirmed of the first track)
    timeline: Vec<(u64, f64, Option<usize>, Option<usize>)>,
}

/// The summary of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Stability {
    pub minutes: f64,
    pub raw_changes_per_min: f64,
    pub confirmed_changes_per_min: f64,
    pub distinct_ids: usize,
    pub max_concurrent: usize,
}

impl StabilityMeter {
    /// Records the tracks after frame `frame` at `time_s`.
    pub fn observe(&mut self, frame: u64, time_s: f64, tracks: &TrackSnapshot) {
        self.first_time.get_or_insert(time_s);
        self.last_time = time_s;
        self.max_concurrent = self.max_concurrent.max(tracks.tracks.len());
        for t in &tracks.tracks {
            let s = self.tracks.entry(t.id).or_default();
            if s.raw.is_some() && s.raw != t.last_top {
                s.raw_changes += 1;
            }
            if s.confirmed.is_some() && s.confirmed != t.confirmed {
                s.confirmed_changes += 1;
            }
            s.raw = t.last_top;
            s.confirmed = t.confirmed;
        }
        let first = tracks.tracks.first();
        self.timeline.push((frame, time_s, first.and_then(|t| t.last_top), first.and_then(|t| t.confirmed)));
    }

    pub fn summary(&self) -> Stability {
        let minutes = (self.last_time - self.first_time.unwrap_or(0.0)).max(1e-9) / 60.0;
        let raw: u64 = self.tracks.values().map(|t| t.raw_changes).sum();
        let confirmed: u64 = self.tracks.values().map(|t| t.confirmed_changes).sum();
        Stability {
            minutes,
            raw_changes_per_min: raw as f64 / minutes,
            confirmed_changes_per_min: confirmed as f64 / minutes,
            distinct_ids: self.tracks.len(),
            max_concurrent: self.max_concurrent,
        }
    }

    /// Per segment (of a single-person clip): the model's majority class and how long
    /// the confirmed label took to reach it.
    pub fn segments(&self, segments: &[Segment], n_classes: usize) -> Vec<SegmentResult> {
        segments
            .iter()
            .map(|seg| {
                let rows: Vec<_> =
                    self.timeline.iter().filter(|r| r.0 >= seg.first_frame && r.0 <= seg.last_frame).collect();
                let mut counts = vec![0u32; n_classes];
                for r in &rows {
                    if let Some(c) = r.2.filter(|c| *c < n_classes) {
                        counts[c] += 1;
                    }
                }
                let majority_raw = (0..n_classes).filter(|&c| counts[c] > 0).max_by_key(|&c| counts[c]);
                let start = rows.first().map(|r| r.1);
                let delay_s = match (majority_raw, start) {
                    (Some(m), Some(t0)) => rows.iter().find(|r| r.3 == Some(m)).map(|r| r.1 - t0),
                    _ => None,
                };
                SegmentResult {
                    name: seg.name.clone(),
                    majority_raw,
                    confirmed_at_end: rows.last().and_then(|r| r.3),
                    delay_s,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::{Tracker, TrackingSettings};
    use crate::vision::{BBox, Face, LANDMARKS};

    #[test]
    fn window_cuts_label_changes_and_delay_is_measured() {
        let labels: Vec<String> = ["happy", "sad", "neutral"].iter().map(|s| s.to_string()).collect();
        let mut tr = Tracker::new(TrackingSettings::default(), &labels);
        let face = Face {
            bbox_in_frame: BBox::new(0.0, 0.0, 50.0, 50.0),
            landmarks_in_frame: [[0.0; 2]; LANDMARKS],
            score: 1.0,
        };
        let mut meter = StabilityMeter::default();
        let mut snapshot = TrackSnapshot::default();
        let mut faces = Vec::new();
        // 60 frames mostly happy with a flicker every 4th frame, then 60 mostly sad.
        for k in 0..120u64 {
            let t = k as f64 / 30.0;
            tr.step(t, Some(&[face]));
            tr.select_faces(Some(&[face]), &mut faces);
            let main = if k < 60 { 0 } else { 1 };
            let top = if k % 4 == 3 { 2 } else { main };
            let mut p = [0.05f32; 3];
            p[top] = 0.9;
            tr.observe(t, &p);
            tr.snapshot_into(&mut snapshot);
            meter.observe(k, t, &snapshot);
        }
        let s = meter.summary();
        assert_eq!(s.distinct_ids, 1);
        assert!(s.raw_changes_per_min > 5.0 * s.confirmed_changes_per_min, "{s:?}");
        let segs = [
            Segment { name: "happy".into(), first_frame: 0, last_frame: 59 },
            Segment { name: "sad".into(), first_frame: 60, last_frame: 119 },
        ];
        let r = meter.segments(&segs, 3);
        assert_eq!(r[1].majority_raw, Some(1));
        assert_eq!(r[1].confirmed_at_end, Some(1));
        let d = r[1].delay_s.expect("sad gets confirmed");
        // Sad needs > 12 of 20 frames (3 of 4 frames are sad): about 16-18 frames.
        assert!(d > 0.3 && d < 0.8, "delay {d}");
    }
}
