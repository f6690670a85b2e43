//! Face identity across frames: optimal matching, a constant-velocity motion model,
//! tolerance of missed detections, and a confirmation window per person.
//!
//! # One frame, one semantics
//! Every consumer (the commands and the app) drives the tracker the same way, through
//! the analysis engine, once per frame:
//! 1. [`Tracker::step`] with the frame's detections (the detector ran) or `None` (a frame
//!    between detections with `--detect-every N|auto`: every track moves with its motion
//!    model; when the detector runs is decided in [`crate::engine::cadence`]).
//! 2. [`Tracker::select_faces`] picks the faces to classify, in track order:
//!    - on a detection frame, the **detection** each track was matched to (or started from):
//!      the measured box, not the filtered one;
//!    - on a frame without detection, the **predicted box** of each track that was found in
//!      the latest detection round (`misses == 0`);
//!    - a track the detector missed (coasting, `misses > 0`) is **not** classified: its box
//!      is a guess and may show background, so its window and smoothed probabilities hold
//!      still until it is found again or ends after `max_misses` rounds.
//! 3. [`Tracker::observe`] feeds those faces' probabilities to their tracks' windows.
//!
//! So the confirmed label only ever counts frames in which a face was seen (or, between
//! detections, where it was just seen), and `stability`, `predict --track` and the app
//! report the same labels for the same frames.

use serde::{Deserialize, Serialize};

use super::assignment::{FORBIDDEN, Hungarian};
use super::confirmation::{ConfirmationSettings, ConfirmationWindow, Smoothed};
use crate::vision::classifier::top_two;
use crate::vision::{BBox, Face, LANDMARKS};

/// Detection rounds a track may go unmatched before it ends (~0.2 s at 30 detections/s).
pub const DEFAULT_MAX_MISSES: u32 = 6;
/// Lowest IoU between a predicted box and a detection that may match.
pub const DEFAULT_MIN_IOU: f32 = 0.1;
/// Largest centre distance that may match, in units of the predicted box's size.
pub const DEFAULT_MAX_CENTRE_DISTANCE: f32 = 1.0;
/// Position gain of the alpha-beta (constant-velocity) filter: how much a detection moves the box.
pub const DEFAULT_POSITION_GAIN: f32 = 0.7;
/// Velocity gain of the alpha-beta filter.
pub const DEFAULT_VELOCITY_GAIN: f32 = 0.3;
/// Values of a track's smoothed affect: valence, arousal.
const AFFECT_VALUES: usize = 2;

/// Tracking settings (config `[tracking]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrackingSettings {
    pub max_misses: u32,
    pub min_iou: f32,
    pub max_centre_distance: f32,
    pub position_gain: f32,
    pub velocity_gain: f32,
    pub confirmation: ConfirmationSettings,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        Self {
            max_misses: DEFAULT_MAX_MISSES,
            min_iou: DEFAULT_MIN_IOU,
            max_centre_distance: DEFAULT_MAX_CENTRE_DISTANCE,
            position_gain: DEFAULT_POSITION_GAIN,
            velocity_gain: DEFAULT_VELOCITY_GAIN,
            confirmation: ConfirmationSettings::default(),
        }
    }
}

/// Box state: centre and size, in frame pixels.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct BoxState([f32; 4]);

impl BoxState {
    fn from_bbox(b: &BBox) -> Self {
        let (cx, cy) = b.center();
        Self([cx, cy, b.w, b.h])
    }

    fn bbox(&self) -> BBox {
        let [cx, cy, w, h] = self.0;
        BBox::new(cx - w / 2.0, cy - h / 2.0, w.max(1.0), h.max(1.0))
    }
}

/// One person followed across frames.
#[derive(Debug, Clone)]
pub struct Track {
    pub id: u64,
    /// The face now: the last detection moved by the motion model.
    pub face: Face,
    /// Detection rounds in a row without a match.
    pub misses: u32,
    /// Detections matched so far.
    pub hits: u32,
    pub window: ConfirmationWindow,
    pub smoothed: Smoothed,
    /// Valence and arousal, smoothed like `smoothed` ([`Tracker::observe_affect`]).
    pub affect: Smoothed,
    /// Top class of the last classified frame.
    pub last_top: Option<usize>,
    /// Index of the detection this track took in the last [`Tracker::update`] (None: missed).
    pub matched_detection: Option<usize>,
    /// This frame's row among the classified faces ([`Tracker::select_faces`]); None: not classified.
    pub observed_row: Option<usize>,
    state: BoxState,
    /// Change of `state` per second.
    velocity: [f32; 4],
    updated_at: f64,
    /// Landmarks as fractions of the box, so they follow a predicted box.
    landmarks_in_box: [[f32; 2]; LANDMARKS],
}

impl Track {
    /// Confirmed class index (None when the classifier has no fallback label and nothing dominates).
    pub fn confirmed(&self) -> Option<usize> {
        self.window.confirmed()
    }

    /// How fast the face moves, in units of its box size per second: the larger of the
    /// centre's speed and the size's change, over the box's longer side (from the motion
    /// model, so steady between detections).
    pub fn boxes_per_s(&self) -> f32 {
        let [vx, vy, vw, vh] = self.velocity;
        let size = self.state.0[2].max(self.state.0[3]).max(1.0);
        vx.hypot(vy).max(vw.abs()).max(vh.abs()) / size
    }

    fn set_face(&mut self, f: &Face) {
        let b = f.bbox_in_frame;
        for (rel, lm) in self.landmarks_in_box.iter_mut().zip(&f.landmarks_in_frame) {
            *rel = [(lm[0] - b.x) / b.w.max(1.0), (lm[1] - b.y) / b.h.max(1.0)];
        }
        self.face.score = f.score;
    }

    fn place(&mut self, state: BoxState) {
        let b = state.bbox();
        self.face.bbox_in_frame = b;
        for (lm, rel) in self.face.landmarks_in_frame.iter_mut().zip(&self.landmarks_in_box) {
            *lm = [b.x + rel[0] * b.w, b.y + rel[1] * b.h];
        }
    }

    fn predicted_state(&self, time_s: f64) -> BoxState {
        let dt = (time_s - self.updated_at).max(0.0) as f32;
        let mut s = self.state;
        for (v, d) in s.0.iter_mut().zip(self.velocity) {
            *v += d * dt;
        }
        s
    }
}

/// Follows faces across frames and keeps each person's emotion state.
#[derive(Debug)]
pub struct Tracker {
    pub settings: TrackingSettings,
    tracks: Vec<Track>,
    /// Ended tracks kept to reuse their buffers (memory stays flat over many visitors).
    spare: Vec<Track>,
    next_id: u64,
    n_classes: usize,
    fallback: Option<usize>,
    hungarian: Hungarian,
    costs: Vec<f64>,
    matches: Vec<Option<usize>>,
    detection_taken: Vec<bool>,
}

impl Tracker {
    /// `labels` are the classifier's; the fallback label is looked up among them.
    pub fn new(settings: TrackingSettings, labels: &[String]) -> Self {
        let fallback = labels.iter().position(|l| l.eq_ignore_ascii_case(&settings.confirmation.fallback_label));
        Self {
            settings,
            tracks: Vec::new(),
            spare: Vec::new(),
            next_id: 1,
            n_classes: labels.len(),
            fallback,
            hungarian: Hungarian::default(),
            costs: Vec::new(),
            matches: Vec::new(),
            detection_taken: Vec::new(),
        }
    }

    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Classes per probability row (the classifier's labels).
    pub fn num_classes(&self) -> usize {
        self.n_classes
    }

    /// Ids handed out so far (the next id minus one).
    pub fn ids_issued(&self) -> u64 {
        self.next_id - 1
    }

    /// Moves every track to `time_s` with its velocity (frames without detection).
    pub fn predict(&mut self, time_s: f64) {
        for t in &mut self.tracks {
            let s = t.predicted_state(time_s);
            t.place(s);
        }
    }

    /// One detection round at `time_s`: match, update, age, start and end tracks.
    pub fn update(&mut self, time_s: f64, detections: &[Face]) {
        self.predict(time_s);
        let (rows, cols) = (self.tracks.len(), detections.len());
        self.costs.clear();
        for t in &self.tracks {
            let p = t.face.bbox_in_frame;
            let size = p.w.max(p.h).max(1.0);
            let (pcx, pcy) = p.center();
            for d in detections {
                let iou = p.iou(&d.bbox_in_frame);
                let (dcx, dcy) = d.bbox_in_frame.center();
                let dist = ((pcx - dcx).powi(2) + (pcy - dcy).powi(2)).sqrt() / size;
                let allowed = iou >= self.settings.min_iou || dist <= self.settings.max_centre_distance;
                self.costs.push(if allowed { f64::from(1.0 - iou + dist) } else { FORBIDDEN });
            }
        }
        self.hungarian.solve(&self.costs, rows, cols, &mut self.matches);
        self.detection_taken.clear();
        self.detection_taken.resize(cols, false);
        let (pg, vg) = (self.settings.position_gain, self.settings.velocity_gain);
        for (t, m) in self.tracks.iter_mut().zip(&self.matches) {
            match m {
                Some(d) => {
                    self.detection_taken[*d] = true;
                    let det = &detections[*d];
                    let z = BoxState::from_bbox(&det.bbox_in_frame);
                    let pred = t.predicted_state(time_s);
                    let dt = (time_s - t.updated_at) as f32;
                    let mut s = pred;
                    for k in 0..4 {
                        let r = z.0[k] - pred.0[k];
                        s.0[k] = pred.0[k] + pg * r;
                        if dt > 1e-6 {
                            t.velocity[k] += vg * r / dt;
                        }
                    }
                    t.state = s;
                    t.updated_at = time_s;
                    t.misses = 0;
                    t.hits += 1;
                    t.set_face(det);
                    t.place(s);
                    t.matched_detection = Some(*d);
                }
                None => {
                    t.misses += 1;
                    t.matched_detection = None;
                }
            }
        }
        let max_misses = self.settings.max_misses;
        let mut i = 0;
        while i < self.tracks.len() {
            if self.tracks[i].misses > max_misses {
                let ended = self.tracks.swap_remove(i);
                self.spare.push(ended);
            } else {
                i += 1;
            }
        }
        for (i, d) in detections.iter().enumerate() {
            if !self.detection_taken[i] {
                self.start(time_s, d);
                if let Some(t) = self.tracks.last_mut() {
                    t.matched_detection = Some(i);
                }
            }
        }
        self.tracks.sort_by_key(|t| t.id);
    }

    fn start(&mut self, time_s: f64, det: &Face) {
        let mut t = match self.spare.pop() {
            Some(mut t) => {
                t.window.reset();
                t.smoothed.reset();
                t.affect.reset();
                t
            }
            None => Track {
                id: 0,
                face: *det,
                misses: 0,
                hits: 0,
                window: ConfirmationWindow::new(self.n_classes, &self.settings.confirmation, self.fallback),
                smoothed: Smoothed::new(self.n_classes, self.settings.confirmation.smoothing_ms),
                affect: Smoothed::new(AFFECT_VALUES, self.settings.confirmation.smoothing_ms),
                last_top: None,
                matched_detection: None,
                observed_row: None,
                state: BoxState::default(),
                velocity: [0.0; 4],
                updated_at: time_s,
                landmarks_in_box: [[0.0; 2]; LANDMARKS],
            },
        };
        t.id = self.next_id;
        self.next_id += 1;
        t.face = *det;
        t.misses = 0;
        t.hits = 1;
        t.last_top = None;
        t.state = BoxState::from_bbox(&det.bbox_in_frame);
        t.velocity = [0.0; 4];
        t.updated_at = time_s;
        t.set_face(det);
        t.place(t.state);
        self.tracks.push(t);
    }

    /// Ends every track (a looped video starts again), keeping the ids issued so far.
    pub fn clear(&mut self) {
        self.spare.append(&mut self.tracks);
    }

    /// Starts issuing ids at `next_id` (a tracker rebuilt for new settings goes on counting).
    pub fn continue_ids_from(&mut self, next_id: u64) {
        self.next_id = self.next_id.max(next_id);
    }

    /// The id the next new track gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Step 1 of a frame: a detection round (`Some`) or a frame without detection (`None`).
    pub fn step(&mut self, time_s: f64, detections: Option<&[Face]>) {
        match detections {
            Some(d) => self.update(time_s, d),
            None => {
                self.predict(time_s);
                for t in &mut self.tracks {
                    t.matched_detection = None;
                }
            }
        }
    }

    /// Step 2: the faces to classify this frame, in track order (see the module docs);
    /// `detections` must be the ones given to [`Tracker::step`].
    pub fn select_faces(&mut self, detections: Option<&[Face]>, out: &mut Vec<Face>) {
        out.clear();
        for t in &mut self.tracks {
            let face = match detections {
                Some(d) => t.matched_detection.and_then(|i| d.get(i)).copied(),
                None => (t.misses == 0).then_some(t.face),
            };
            t.observed_row = face.map(|f| {
                out.push(f);
                out.len() - 1
            });
        }
    }

    /// Step 3: feeds the probabilities of the faces [`Tracker::select_faces`] chose
    /// (`probs`: a row of `n_classes` per face, in that order) to their tracks.
    pub fn observe(&mut self, time_s: f64, probs: &[f32]) {
        let n = self.n_classes;
        if n == 0 {
            return;
        }
        for t in &mut self.tracks {
            let Some(row) = t.observed_row.and_then(|r| probs.get(r * n..(r + 1) * n)) else { continue };
            let ((top, _), _) = top_two(row);
            t.last_top = Some(top);
            t.window.push(top);
            t.smoothed.observe(time_s, row);
        }
    }

    /// Step 3 too: feeds the valence/arousal of the same faces (`points`: one per row,
    /// from [`crate::vision::EmotionClassifier::affect`]; empty when the classifier has
    /// none) to their tracks, smoothed with the same time constant as the probabilities.
    pub fn observe_affect(&mut self, time_s: f64, points: &[[f32; 2]]) {
        for t in &mut self.tracks {
            let Some(point) = t.observed_row.and_then(|r| points.get(r)) else { continue };
            t.affect.observe(time_s, point);
        }
    }

    /// Copies what a consumer needs of every track into `out` (buffers reused).
    pub fn snapshot_into(&self, out: &mut TrackSnapshot) {
        let n = self.n_classes;
        out.n_classes = n;
        out.tracks.clear();
        out.smoothed.clear();
        out.shares.clear();
        for t in &self.tracks {
            out.tracks.push(TrackReport {
                id: t.id,
                face: t.face,
                misses: t.misses,
                confirmed: t.confirmed(),
                last_top: t.last_top,
                observed_row: t.observed_row,
                affect: t.affect.observed().then(|| [t.affect.values()[0], t.affect.values()[1]]),
                person: None,
            });
            let values = t.smoothed.values();
            out.smoothed.extend((0..n).map(|c| values.get(c).copied().unwrap_or(0.0)));
            out.shares.extend((0..n).map(|c| t.window.share(c)));
        }
    }
}

/// One track as the engine reports it on one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackReport {
    pub id: u64,
    /// The tracked face: box and landmarks after the motion model, in frame pixels.
    pub face: Face,
    /// Detection rounds in a row this person was not found in (0: seen in the latest one).
    pub misses: u32,
    /// The confirmed class (the confirmation window), if any.
    pub confirmed: Option<usize>,
    /// Top class of the last frame this track was classified in.
    pub last_top: Option<usize>,
    /// Row of this frame's classified faces that is this track's (None: not classified now).
    pub observed_row: Option<usize>,
    /// Smoothed `[valence, arousal]`, each -1..1 (None: the classifier gives none, or
    /// this person was not classified yet).
    pub affect: Option<[f32; 2]>,
    /// The enrolled person this track is confirmed as: an index into
    /// [`TrackSnapshot::people`] (None: unknown, or nobody enrolled; see [`crate::identity`]).
    pub person: Option<u32>,
}

/// Every track after one frame, with its smoothed probabilities and window shares
/// (flat: `n_classes` values per track, in track order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackSnapshot {
    pub n_classes: usize,
    pub tracks: Vec<TrackReport>,
    pub smoothed: Vec<f32>,
    pub shares: Vec<f32>,
    /// The enrolled people's names that [`TrackReport::person`] indexes.
    pub people: std::sync::Arc<[String]>,
}

impl TrackSnapshot {
    /// Copies `other` into this snapshot, reusing its buffers (no allocation once warm).
    pub fn copy_from(&mut self, other: &TrackSnapshot) {
        self.n_classes = other.n_classes;
        self.tracks.clone_from(&other.tracks);
        self.smoothed.clone_from(&other.smoothed);
        self.shares.clone_from(&other.shares);
        self.people.clone_from(&other.people);
    }

    /// The name of track `i`'s enrolled person, if it has one.
    pub fn person_name(&self, i: usize) -> Option<&str> {
        let p = self.tracks.get(i)?.person?;
        self.people.get(p as usize).map(String::as_str)
    }

    /// Smoothed probabilities of track `i` (track order).
    pub fn smoothed(&self, i: usize) -> &[f32] {
        self.smoothed.get(i * self.n_classes..(i + 1) * self.n_classes).unwrap_or_default()
    }

    /// Share of the confirmation window each class holds, for track `i`.
    pub fn shares(&self, i: usize) -> &[f32] {
        self.shares.get(i * self.n_classes..(i + 1) * self.n_classes).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    fn face(cx: f32, cy: f32, side: f32) -> Face {
        Face {
            bbox_in_frame: BBox::new(cx - side / 2.0, cy - side / 2.0, side, side),
            landmarks_in_frame: [[cx, cy]; LANDMARKS],
            score: 0.9,
        }
    }

    fn id_near(tr: &Tracker, cx: f32) -> u64 {
        tr.tracks()
            .iter()
            .min_by(|a, b| {
                let da = (a.face.bbox_in_frame.center().0 - cx).abs();
                let db = (b.face.bbox_in_frame.center().0 - cx).abs();
                da.total_cmp(&db)
            })
            .map(|t| t.id)
            .expect("a track")
    }

    #[test]
    fn two_faces_crossing_keep_their_ids() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        // A walks right, B walks left, along the same line; they overlap mid-way.
        let fps = 30.0;
        let mut id_a = 0;
        let mut id_b = 0;
        for k in 0..60 {
            let t = k as f64 / fps;
            let xa = 100.0 + 6.0 * k as f32;
            let xb = 460.0 - 6.0 * k as f32;
            // Detections come in either order.
            let dets = if k % 2 == 0 {
                [face(xa, 200.0, 80.0), face(xb, 205.0, 80.0)]
            } else {
                [face(xb, 205.0, 80.0), face(xa, 200.0, 80.0)]
            };
            // Mid-crossing, the two boxes nearly coincide: only one is detected.
            if (29..=31).contains(&k) {
                tr.update(t, &dets[..1]);
            } else {
                tr.update(t, &dets);
            }
            if k == 5 {
                id_a = id_near(&tr, xa);
                id_b = id_near(&tr, xb);
                assert_ne!(id_a, id_b);
            }
        }
        assert_eq!(tr.ids_issued(), 2, "no new ids were needed");
        let xa_end = 100.0 + 6.0 * 59.0;
        let xb_end = 460.0 - 6.0 * 59.0;
        assert_eq!(id_near(&tr, xa_end), id_a, "A kept its id");
        assert_eq!(id_near(&tr, xb_end), id_b, "B kept its id");
    }

    #[test]
    fn a_face_missing_for_a_few_frames_keeps_its_id_and_is_predicted() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        for k in 0..10 {
            tr.update(k as f64 / 30.0, &[face(100.0 + 3.0 * k as f32, 100.0, 60.0)]);
        }
        let id = tr.tracks()[0].id;
        for k in 10..14 {
            tr.update(k as f64 / 30.0, &[]);
        }
        // Predicted on with its velocity (3 px per frame).
        let cx = tr.tracks()[0].face.bbox_in_frame.center().0;
        assert!((cx - (100.0 + 3.0 * 13.0)).abs() < 6.0, "predicted centre {cx}");
        tr.update(14.0 / 30.0, &[face(142.0, 100.0, 60.0)]);
        assert_eq!(tr.tracks().len(), 1);
        assert_eq!(tr.tracks()[0].id, id);
    }

    #[test]
    fn speed_is_measured_in_box_sizes_per_second() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        for k in 0..30 {
            // 60 px box, 3 px per frame at 30 frames/s: 90 px/s, 1.5 boxes/s.
            tr.update(k as f64 / 30.0, &[face(100.0 + 3.0 * k as f32, 100.0, 60.0), face(400.0, 300.0, 60.0)]);
        }
        let moving = tr.tracks()[0].boxes_per_s();
        assert!((moving - 1.5).abs() < 0.15, "moving face: {moving} boxes/s");
        assert!(tr.tracks()[1].boxes_per_s() < 0.01, "still face: {}", tr.tracks()[1].boxes_per_s());
    }

    #[test]
    fn a_face_leaving_and_another_arriving_gets_a_new_id() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        for k in 0..5 {
            tr.update(k as f64 / 30.0, &[face(100.0, 100.0, 60.0)]);
        }
        let first = tr.tracks()[0].id;
        for k in 5..5 + DEFAULT_MAX_MISSES as usize + 1 {
            tr.update(k as f64 / 30.0, &[]);
        }
        assert!(tr.tracks().is_empty(), "the track ended");
        tr.update(1.0, &[face(400.0, 300.0, 60.0)]);
        assert_eq!(tr.tracks().len(), 1);
        assert_ne!(tr.tracks()[0].id, first);
    }

    #[test]
    fn a_far_away_detection_is_a_new_person_not_a_jump() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        tr.update(0.0, &[face(100.0, 100.0, 60.0)]);
        tr.update(0.033, &[face(500.0, 100.0, 60.0)]);
        assert_eq!(tr.tracks().len(), 2);
    }

    #[test]
    fn classifications_feed_each_tracks_window() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        let mut probs = Vec::new();
        for k in 0..20 {
            let t = k as f64 / 30.0;
            tr.update(t, &[face(100.0, 100.0, 60.0), face(300.0, 100.0, 60.0)]);
            probs.clear();
            probs.extend_from_slice(&[0.0, 0.0, 0.0, 0.9, 0.1, 0.0, 0.0]); // track 1: happy
            probs.extend_from_slice(&[0.0, 0.0, 0.0, 0.1, 0.9, 0.0, 0.0]); // track 2: sad
            let mut faces = Vec::new();
            tr.select_faces(None, &mut faces);
            assert_eq!(faces.len(), 2, "both tracks were found in the latest round");
            tr.observe(t, &probs);
        }
        assert_eq!(tr.tracks()[0].confirmed(), Some(3));
        assert_eq!(tr.tracks()[1].confirmed(), Some(4));
        assert!((tr.tracks()[0].smoothed.values()[3] - 0.9).abs() < 1e-3);
    }

    #[test]
    fn affect_is_smoothed_per_track_and_absent_until_observed() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        let dets = [face(100.0, 100.0, 60.0), face(400.0, 100.0, 60.0)];
        let (mut selected, mut snap) = (Vec::new(), TrackSnapshot::default());
        tr.step(0.0, Some(&dets));
        tr.select_faces(Some(&dets), &mut selected);
        tr.observe_affect(0.0, &[]);
        tr.snapshot_into(&mut snap);
        assert_eq!((snap.tracks[0].affect, snap.tracks[1].affect), (None, None));
        // The first point is taken as is; a frame later the point moves part of the way.
        tr.observe_affect(0.0, &[[0.8, 0.5], [-0.6, -0.2]]);
        tr.snapshot_into(&mut snap);
        assert_eq!((snap.tracks[0].affect, snap.tracks[1].affect), (Some([0.8, 0.5]), Some([-0.6, -0.2])));
        tr.step(0.05, Some(&dets));
        tr.select_faces(Some(&dets), &mut selected);
        tr.observe_affect(0.05, &[[-0.8, 0.5], [-0.6, -0.2]]);
        tr.snapshot_into(&mut snap);
        let v = snap.tracks[0].affect.expect("observed")[0];
        assert!(v < 0.8 && v > -0.8, "smoothed, not jumped: {v}");
        assert_eq!(snap.tracks[1].affect, Some([-0.6, -0.2]));
    }

    #[test]
    fn detection_probabilities_reach_the_track_that_took_the_detection() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        let happy = [0.0, 0.0, 0.0, 0.9, 0.1, 0.0, 0.0];
        let sad = [0.0, 0.0, 0.0, 0.1, 0.9, 0.0, 0.0];
        for k in 0..20 {
            let t = k as f64 / 30.0;
            // Detection order flips every frame; the probabilities follow the detections.
            let (dets, probs) = if k % 2 == 0 {
                ([face(100.0, 100.0, 60.0), face(300.0, 100.0, 60.0)], [happy, sad].concat())
            } else {
                ([face(300.0, 100.0, 60.0), face(100.0, 100.0, 60.0)], [sad, happy].concat())
            };
            tr.step(t, Some(&dets));
            let mut faces = Vec::new();
            tr.select_faces(Some(&dets), &mut faces);
            // The faces to classify are the detections themselves, in track order.
            let order: Vec<f32> = faces.iter().map(|f| f.bbox_in_frame.center().0).collect();
            let first = tr.tracks()[0].face.bbox_in_frame.center().0;
            assert!((order[0] - first).abs() < 40.0, "track order: {order:?}");
            let rows: Vec<f32> = faces
                .iter()
                .flat_map(|f| {
                    let d = dets.iter().position(|d| d == f).expect("a detection");
                    probs[d * 7..(d + 1) * 7].to_vec()
                })
                .collect();
            tr.observe(t, &rows);
        }
        let left = tr.tracks().iter().find(|t| t.face.bbox_in_frame.center().0 < 200.0).expect("left");
        let right = tr.tracks().iter().find(|t| t.face.bbox_in_frame.center().0 > 200.0).expect("right");
        assert_eq!((left.confirmed(), right.confirmed()), (Some(3), Some(4)));
    }

    #[test]
    fn coasting_tracks_are_not_classified_and_hold_their_label() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        let happy = [0.0, 0.0, 0.0, 0.9, 0.1, 0.0, 0.0];
        let mut faces = Vec::new();
        let mut t = 0.0;
        for _ in 0..20 {
            let dets = [face(100.0, 100.0, 60.0), face(300.0, 100.0, 60.0)];
            tr.step(t, Some(&dets));
            tr.select_faces(Some(&dets), &mut faces);
            tr.observe(t, &[happy, happy].concat());
            t += 0.033;
        }
        // The right face is missed by the detector: only the left one is classified (sad now).
        let sad = [0.0, 0.0, 0.0, 0.1, 0.9, 0.0, 0.0];
        for _ in 0..3 {
            let dets = [face(100.0, 100.0, 60.0)];
            tr.step(t, Some(&dets));
            tr.select_faces(Some(&dets), &mut faces);
            assert_eq!(faces.len(), 1, "the coasting track is not classified");
            tr.observe(t, &sad);
            t += 0.033;
        }
        let right = tr.tracks().iter().find(|t| t.face.bbox_in_frame.center().0 > 200.0).expect("coasting");
        assert_eq!(right.misses, 3);
        assert_eq!(right.observed_row, None);
        assert_eq!(right.last_top, Some(3), "its last classification stays");
        assert_eq!(right.window.filled(), 20, "nothing was pushed while it coasted");
        // Between detections (detect-every), tracks found in the latest round are classified
        // on their predicted boxes; the coasting one still is not.
        tr.step(t, None);
        tr.select_faces(None, &mut faces);
        assert_eq!(faces.len(), 1);
        let mut snap = TrackSnapshot::default();
        tr.snapshot_into(&mut snap);
        assert_eq!(snap.tracks.len(), 2);
        assert_eq!(snap.tracks.iter().filter(|r| r.observed_row.is_some()).count(), 1);
        assert!((snap.shares(1)[3] - 1.0).abs() < 1e-6, "the right track's window is all happy");
        assert_eq!(snap.smoothed(0).len(), 7);
    }

    #[test]
    fn memory_is_reused_across_many_visitors() {
        let mut tr = Tracker::new(TrackingSettings::default(), &labels());
        let mut t = 0.0;
        for visitor in 0..50 {
            for _ in 0..5 {
                tr.update(t, &[face(100.0 + visitor as f32, 100.0, 60.0)]);
                t += 0.033;
            }
            for _ in 0..=DEFAULT_MAX_MISSES {
                tr.update(t, &[]);
                t += 0.033;
            }
        }
        assert_eq!(tr.ids_issued(), 50);
        assert!(tr.spare.len() <= 1, "ended tracks are reused, {} kept", tr.spare.len());
    }
}
