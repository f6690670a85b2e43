//! Matching faces against the enrolled people, and the per-track vote that turns single-frame
//! matches into a stable name.

use std::collections::HashMap;
use std::sync::Arc;

use image::RgbImage;

use super::align::{CROP_SIDE, aligned_crop_into};
use super::lbph::{HISTOGRAM_LEN, LbphExtractor, LbphModel};
use crate::store::EnrolledPerson;
use crate::tracking::TrackSnapshot;
use crate::vision::Face;

/// Largest LBPH distance (OpenCV's `HISTCMP_CHISQR_ALT` over the 8x8 grid, 0 to 256) below
/// which a face counts as an enrolled person. Chosen with tests/identity.rs `threshold_report`
/// on data the recognition test does not use: the CREMA-D actor's faces in each enrolment clip
/// against crops of his two other clips lie at 59 to 89; other people's faces (openmpf-samples
/// video_02 and photos) at 103 to 210 from his crops. 95 sits between the two.
pub const DEFAULT_THRESHOLD: f64 = 95.0;
/// Frames in a track's vote window.
pub const VOTE_WINDOW_FRAMES: usize = 5;
/// Frames of the window that must name the same person before the track takes the name.
pub const VOTES_TO_CONFIRM: usize = 3;

/// The enrolled people as an LBPH model, with buffers reused from face to face.
#[derive(Debug, Clone)]
pub struct Recognizer {
    names: Vec<String>,
    model: LbphModel,
    threshold: f64,
    extractor: LbphExtractor,
    crop: Vec<u8>,
    histogram: Vec<f32>,
}

impl Recognizer {
    /// A recogniser for `people`; `None` when nobody is enrolled (recognition is then off).
    pub fn new(people: &[EnrolledPerson], threshold: f64) -> Option<Self> {
        let mut model = LbphModel::default();
        let mut names = Vec::new();
        for p in people.iter().filter(|p| !p.histograms.is_empty()) {
            let label = names.len() as i32;
            names.push(p.name.clone());
            for h in &p.histograms {
                // Infallible: a stored histogram has HISTOGRAM_LEN values by its type.
                let _ = model.push(label, h.as_slice());
            }
        }
        (!model.is_empty()).then(|| Self {
            names,
            model,
            threshold,
            extractor: LbphExtractor::default(),
            crop: Vec::with_capacity(CROP_SIDE * CROP_SIDE),
            histogram: vec![0.0; HISTOGRAM_LEN],
        })
    }

    /// The enrolled names; [`Self::identify`] returns indices into this.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The nearest enrolled person to `face` and the distance, when below the threshold.
    pub fn identify(&mut self, frame: &RgbImage, face: &Face) -> Option<(usize, f64)> {
        self.nearest(frame, face).filter(|&(_, d)| d < self.threshold)
    }

    /// The nearest enrolled person and the distance, whatever the threshold.
    pub fn nearest(&mut self, frame: &RgbImage, face: &Face) -> Option<(usize, f64)> {
        if !aligned_crop_into(frame, face, &mut self.crop) {
            return None;
        }
        self.extractor.histogram_into(&self.crop, CROP_SIDE, CROP_SIDE, &mut self.histogram).ok()?;
        let p = self.model.predict(&self.histogram, f64::INFINITY)?;
        Some((p.label as usize, p.distance))
    }
}

/// The last [`VOTE_WINDOW_FRAMES`] matches of one track; the track's name is the person
/// matched in at least [`VOTES_TO_CONFIRM`] of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameVotes {
    /// Matched person per frame, oldest first (`None`: unknown or no usable crop).
    window: [Option<usize>; VOTE_WINDOW_FRAMES],
    filled: usize,
}

impl NameVotes {
    /// Adds one frame's match and returns the confirmed person, if any.
    pub fn push(&mut self, matched: Option<usize>) -> Option<usize> {
        self.window.rotate_left(1);
        self.window[VOTE_WINDOW_FRAMES - 1] = matched;
        self.filled = (self.filled + 1).min(VOTE_WINDOW_FRAMES);
        self.confirmed()
    }

    /// The person with at least [`VOTES_TO_CONFIRM`] votes in the window.
    pub fn confirmed(&self) -> Option<usize> {
        let votes = &self.window[VOTE_WINDOW_FRAMES - self.filled..];
        votes.iter().flatten().copied().find(|&p| votes.iter().filter(|&&v| v == Some(p)).count() >= VOTES_TO_CONFIRM)
    }
}

/// The engine's identity stage: recognises each classified face and names its track once
/// the votes agree. Buffers are reused; a map entry is made per new track only.
#[derive(Debug, Clone)]
pub struct TrackNamer {
    recognizer: Recognizer,
    names: Arc<[String]>,
    votes: HashMap<u64, NameVotes>,
}

impl TrackNamer {
    pub fn new(recognizer: Recognizer) -> Self {
        let names = recognizer.names().into();
        Self { recognizer, names, votes: HashMap::new() }
    }

    /// Sets `person` (and the name list) on the tracks of `tracks` from this frame's
    /// classified `faces` in `frame` (a track's `observed_row` indexes `faces`). A track not
    /// classified on this frame keeps its votes.
    pub fn name_tracks(&mut self, frame: &RgbImage, faces: &[Face], tracks: &mut TrackSnapshot) {
        if !Arc::ptr_eq(&tracks.people, &self.names) {
            tracks.people = self.names.clone();
        }
        self.votes.retain(|id, _| tracks.tracks.iter().any(|t| t.id == *id));
        for t in &mut tracks.tracks {
            let votes = self.votes.entry(t.id).or_default();
            t.person = match t.observed_row.and_then(|r| faces.get(r)) {
                Some(face) => votes.push(self.recognizer.identify(frame, face).map(|(p, _)| p)),
                None => votes.confirmed(),
            }
            .map(|p| p as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_needs_enough_agreeing_frames() {
        let mut v = NameVotes::default();
        assert_eq!(v.push(Some(1)), None);
        assert_eq!(v.push(Some(1)), None);
        assert_eq!(v.push(None), None);
        assert_eq!(v.push(Some(1)), Some(1), "three of four frames");
        assert_eq!(v.push(Some(2)), Some(1));
        assert_eq!(v.push(Some(2)), None, "window 1 _ 1 2 2: no majority");
        assert_eq!(v.push(Some(2)), Some(2));
    }

    #[test]
    fn unknown_frames_take_the_name_away() {
        let mut v = NameVotes::default();
        for _ in 0..VOTE_WINDOW_FRAMES {
            v.push(Some(0));
        }
        assert_eq!(v.confirmed(), Some(0));
        for _ in 0..VOTE_WINDOW_FRAMES - VOTES_TO_CONFIRM {
            assert_eq!(v.push(None), Some(0));
        }
        assert_eq!(v.push(None), None);
    }

    #[test]
    fn nobody_enrolled_means_no_recogniser() {
        assert!(Recognizer::new(&[], DEFAULT_THRESHOLD).is_none());
        let empty = EnrolledPerson { name: "A".into(), histograms: Vec::new() };
        assert!(Recognizer::new(&[empty], DEFAULT_THRESHOLD).is_none());
    }
}
