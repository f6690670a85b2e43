//! Framing: which square of the frame a face's classifier crop shows, and where the
//! detector puts the face inside a picture (to match a dataset's framing).
//!
//! Two anchors: the detector's box (squared, widened by a margin, optionally shifted
//! down) or the eye and mouth landmarks (the square that puts the eyes and the mouth at
//! given heights, as in the pictures a classifier learnt from). Neither rotates.

use serde::Deserialize;

use super::{BBox, Face};

/// Landmark order of [`Face::landmarks_in_frame`]: left eye, right eye, nose, mouth corners.
const LEFT_EYE: usize = 0;
const RIGHT_EYE: usize = 1;
const MOUTH_LEFT: usize = 3;
const MOUTH_RIGHT: usize = 4;

/// Below this eye-to-mouth distance (pixels) the landmarks say nothing about scale, and
/// the landmark anchor falls back to the box.
const MIN_EYE_MOUTH_PX: f32 = 1.0;

/// What the crop square is built around.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// The detector's box, squared around its centre.
    #[default]
    Box,
    /// The eye and mouth landmarks: eyes at `eyes_y`, mouth at `mouth_y` of the square.
    Landmarks,
}

/// How a detected face becomes the square region its classifier crop shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    pub anchor: Anchor,
    /// Box anchor: added on every side of the squared box, as a fraction of its side.
    pub margin: f32,
    /// Box anchor: the square moves down by this fraction of its side (up when negative).
    pub shift_y: f32,
    /// Landmark anchor: height of the eyes' midpoint, as a fraction of the square's side.
    pub eyes_y: f32,
    /// Landmark anchor: height of the mouth corners' midpoint, a fraction of the side.
    pub mouth_y: f32,
}

/// The FER2013 pictures as the face detector sees them, measured by `emoji-mirror screen
/// --framing --det-size 384` on the first 5,000 Training faces (4,693 found): the eyes'
/// midpoint at 0.400 of the side, the mouth's at 0.768 (see training/report/framing.md).
pub const FER_EYES_Y: f32 = 0.400;
pub const FER_MOUTH_Y: f32 = 0.768;

impl Framing {
    /// The square around the detector's box with `margin` on every side (no shift).
    pub fn boxed(margin: f32) -> Self {
        Self { anchor: Anchor::Box, margin, shift_y: 0.0, eyes_y: FER_EYES_Y, mouth_y: FER_MOUTH_Y }
    }

    /// Checks the values; the message names the field and the value.
    pub fn check(&self) -> Result<(), String> {
        if !self.margin.is_finite() || self.margin < 0.0 {
            return Err(format!("crop.margin must be finite and at least 0, found {}", self.margin));
        }
        if !self.shift_y.is_finite() || self.shift_y.abs() > 1.0 {
            return Err(format!("crop.shift_y must be within -1..1, found {}", self.shift_y));
        }
        let in_unit = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
        if !in_unit(self.eyes_y) || !in_unit(self.mouth_y) || self.mouth_y <= self.eyes_y {
            return Err(format!(
                "crop.eyes_y and crop.mouth_y must lie in 0..1 with the mouth below the eyes, found {} and {}",
                self.eyes_y, self.mouth_y
            ));
        }
        Ok(())
    }

    /// The square region of the frame the crop of `face` shows (may extend past the frame).
    pub fn region(&self, face: &Face) -> BBox {
        match self.anchor {
            Anchor::Box => self.box_region(&face.bbox_in_frame),
            Anchor::Landmarks => self.landmark_region(face).unwrap_or_else(|| self.box_region(&face.bbox_in_frame)),
        }
    }

    fn box_region(&self, bbox: &BBox) -> BBox {
        let mut r = bbox.square_with_margin(self.margin);
        r.y += self.shift_y * r.h;
        r
    }

    fn landmark_region(&self, face: &Face) -> Option<BBox> {
        let (eyes, mouth) = eyes_and_mouth(face);
        let dist = ((mouth[0] - eyes[0]).powi(2) + (mouth[1] - eyes[1]).powi(2)).sqrt();
        if !dist.is_finite() || dist < MIN_EYE_MOUTH_PX {
            return None;
        }
        let side = dist / (self.mouth_y - self.eyes_y);
        let cx = 0.5 * (eyes[0] + mouth[0]);
        Some(BBox::new(cx - 0.5 * side, eyes[1] - self.eyes_y * side, side, side))
    }
}

impl std::fmt::Display for Framing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.anchor {
            Anchor::Box => write!(f, "box, margin {:.3}, shift_y {:.3}", self.margin, self.shift_y),
            Anchor::Landmarks => write!(f, "landmarks, eyes_y {:.3}, mouth_y {:.3}", self.eyes_y, self.mouth_y),
        }
    }
}

/// Midpoints of the two eyes and of the two mouth corners, in frame pixels.
pub fn eyes_and_mouth(face: &Face) -> ([f32; 2], [f32; 2]) {
    let l = &face.landmarks_in_frame;
    let mid = |a: usize, b: usize| [0.5 * (l[a][0] + l[b][0]), 0.5 * (l[a][1] + l[b][1])];
    (mid(LEFT_EYE, RIGHT_EYE), mid(MOUTH_LEFT, MOUTH_RIGHT))
}

/// Where the detector put one face inside a picture, every value a fraction of the
/// picture's side (the picture at `picture_in_frame`, square or not: its larger side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FramingSample {
    /// Box centre.
    pub box_cx: f32,
    pub box_cy: f32,
    /// The box's larger side.
    pub box_side: f32,
    /// Height of the eyes' midpoint.
    pub eyes_y: f32,
    /// Eye-midpoint to mouth-midpoint distance.
    pub eye_mouth: f32,
}

impl FramingSample {
    pub fn measure(face: &Face, picture_in_frame: &BBox) -> Self {
        let side = picture_in_frame.w.max(picture_in_frame.h).max(f32::MIN_POSITIVE);
        let (x0, y0) = (picture_in_frame.x, picture_in_frame.y);
        let b = &face.bbox_in_frame;
        let (eyes, mouth) = eyes_and_mouth(face);
        let dist = ((mouth[0] - eyes[0]).powi(2) + (mouth[1] - eyes[1]).powi(2)).sqrt();
        Self {
            box_cx: (b.x + 0.5 * b.w - x0) / side,
            box_cy: (b.y + 0.5 * b.h - y0) / side,
            box_side: b.w.max(b.h) / side,
            eyes_y: (eyes[1] - y0) / side,
            eye_mouth: dist / side,
        }
    }
}

/// The framings that reproduce the median picture of `samples`: the box anchor's margin
/// and shift, and the landmark anchor's eye and mouth heights. None without samples.
pub fn matching_framings(samples: &[FramingSample]) -> Option<(Framing, Framing)> {
    let median = |f: fn(&FramingSample) -> f32| {
        let mut v: Vec<f32> = samples.iter().map(f).filter(|x| x.is_finite()).collect();
        v.sort_by(f32::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let side = median(|s| s.box_side)?.max(f32::MIN_POSITIVE);
    let cy = median(|s| s.box_cy)?;
    let eyes_y = median(|s| s.eyes_y)?;
    let eye_mouth = median(|s| s.eye_mouth)?;
    // The picture is the square of side 1 centred at 0.5: side = box * (1 + 2 margin),
    // and its centre lies (0.5 - cy) below the box centre.
    let boxed = Framing { margin: ((1.0 / side - 1.0) * 0.5).max(0.0), shift_y: 0.5 - cy, ..Framing::boxed(0.0) };
    let landmarks = Framing { anchor: Anchor::Landmarks, eyes_y, mouth_y: eyes_y + eye_mouth, ..Framing::boxed(0.0) };
    Some((boxed, landmarks))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A face whose eyes sit at y=40 (x 40 and 60) and mouth corners at y=70 (x 42, 58).
    fn face() -> Face {
        Face {
            bbox_in_frame: BBox::new(30.0, 25.0, 40.0, 60.0),
            landmarks_in_frame: [[40.0, 40.0], [60.0, 40.0], [50.0, 55.0], [42.0, 70.0], [58.0, 70.0]],
            score: 0.9,
        }
    }

    #[test]
    fn box_anchor_squares_widens_and_shifts() {
        let plain = Framing::boxed(0.1).region(&face());
        assert_eq!(plain, face().bbox_in_frame.square_with_margin(0.1));
        let down = Framing { shift_y: 0.1, ..Framing::boxed(0.1) }.region(&face());
        assert!((down.y - (plain.y + 0.1 * plain.h)).abs() < 1e-4);
        assert_eq!((down.x, down.w, down.h), (plain.x, plain.w, plain.h));
    }

    #[test]
    fn landmark_anchor_puts_eyes_and_mouth_at_their_heights() {
        let f = Framing { anchor: Anchor::Landmarks, eyes_y: 0.4, mouth_y: 0.7, ..Framing::boxed(0.0) };
        let r = f.region(&face());
        // Eye-mouth distance 30 px over 0.3 of the side: a 100 px square.
        assert!((r.w - 100.0).abs() < 1e-3 && r.w == r.h);
        assert!(((40.0 - r.y) / r.h - 0.4).abs() < 1e-5);
        assert!(((70.0 - r.y) / r.h - 0.7).abs() < 1e-5);
        assert!((r.x + 0.5 * r.w - 50.0).abs() < 1e-4);
    }

    #[test]
    fn landmark_anchor_falls_back_to_the_box_without_landmarks() {
        let mut blind = face();
        blind.landmarks_in_frame = [[0.0; 2]; 5];
        let f = Framing { anchor: Anchor::Landmarks, ..Framing::boxed(0.2) };
        assert_eq!(f.region(&blind), blind.bbox_in_frame.square_with_margin(0.2));
    }

    #[test]
    fn check_names_the_bad_field() {
        assert!(Framing::boxed(0.1).check().is_ok());
        assert!(Framing::boxed(-0.1).check().expect_err("bad").contains("crop.margin"));
        let e = Framing { eyes_y: 0.8, mouth_y: 0.4, ..Framing::boxed(0.1) }.check().expect_err("bad");
        assert!(e.contains("crop.eyes_y") && e.contains("0.8"), "{e}");
        assert!(Framing { shift_y: f32::NAN, ..Framing::boxed(0.1) }.check().is_err());
    }

    #[test]
    fn measured_framing_reproduces_the_picture() {
        // The picture is the 100 px square at (0, 0); the face of `face()` inside it.
        let picture = BBox::new(0.0, 0.0, 100.0, 100.0);
        let s = FramingSample::measure(&face(), &picture);
        assert!((s.box_side - 0.6).abs() < 1e-6 && (s.box_cy - 0.55).abs() < 1e-6);
        assert!((s.eyes_y - 0.4).abs() < 1e-6 && (s.eye_mouth - 0.3).abs() < 1e-6);
        let (boxed, landmarks) = matching_framings(&[s, s, s]).expect("samples");
        for f in [boxed, landmarks] {
            let r = f.region(&face());
            assert!(r.x.abs() < 1e-3 && r.y.abs() < 1e-3 && (r.w - 100.0).abs() < 1e-3, "{f:?} gives {r:?}");
        }
        assert!(matching_framings(&[]).is_none());
    }
}
