//! Head pose from the five face landmarks (pure): yaw and pitch from where the nose sits
//! against the eye and mouth midpoints, roll from the eyes, and their smoothing over frames.
//!
//! Signs (picture and world agree: the video is shown unmirrored):
//! - **yaw > 0**: the face is turned toward the picture's right (the nose lies right of the
//!   line from the eye midpoint to the mouth midpoint);
//! - **pitch > 0**: the face is turned up (the nose lies higher, nearer the eyes, than on a
//!   frontal face);
//! - **roll > 0**: the face is tilted counter-clockwise on screen (world y points up).

use crate::vision::LANDMARKS;

/// The landmark order (CenterFace's): left eye, right eye, nose, left and right mouth corner,
/// "left" meaning the picture's left.
const LEFT_EYE: usize = 0;
const RIGHT_EYE: usize = 1;
const NOSE: usize = 2;
const LEFT_MOUTH: usize = 3;
const RIGHT_MOUTH: usize = 4;

/// Yaw is clamped to +-this (radians, ~40 degrees): beyond it one eye hides and the five
/// landmarks say little more.
pub const MAX_YAW_RAD: f32 = 0.7;
/// Pitch is clamped to +-this (radians, ~29 degrees).
pub const MAX_PITCH_RAD: f32 = 0.5;
/// How far the nose tip stands in front of the eye and mouth plane, in inter-ocular
/// distances (a typical adult face: ~38 mm against ~63 mm): turning the head by an angle
/// moves the nose sideways by this times its tangent.
pub const NOSE_DEPTH_OVER_IOD: f32 = 0.6;
/// On a frontal face the nose sits this far from the eye line toward the mouth line (as a
/// share of the eye-to-mouth distance): the mean over CenterFace's landmarks on the
/// project's frontal test faces is 0.56.
pub const FRONTAL_NOSE_HEIGHT: f32 = 0.56;
/// Eyes closer than this (frame pixels) give no pose (a degenerate or tiny face).
const MIN_IOD_PX: f32 = 1.0;
/// Time constant (seconds) of the pose smoothing: a turn shows ~95% after 3 of them
/// (0.45 s), and the frame-to-frame landmark jitter (a few pixels) is averaged away.
pub const POSE_TAU_S: f32 = 0.15;

/// A head's orientation in radians (signs in the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

/// Roll from the eye landmarks (frame pixels, y down): positive is counter-clockwise on
/// screen, 0 for level eyes.
pub fn roll_from_landmarks(landmarks_in_frame: &[[f32; 2]; LANDMARKS]) -> f32 {
    let (le, re) = (landmarks_in_frame[LEFT_EYE], landmarks_in_frame[RIGHT_EYE]);
    -(re[1] - le[1]).atan2(re[0] - le[0])
}

/// The head pose from the five landmarks (frame pixels, y down). The points are first
/// turned so the eyes are level; then the nose's sideways offset from the eye-to-mouth
/// midline and its height against a frontal face's, both in inter-ocular distances, give
/// yaw and pitch through [`NOSE_DEPTH_OVER_IOD`]. Clamped to [`MAX_YAW_RAD`] and
/// [`MAX_PITCH_RAD`]; a degenerate face (eyes on one point, mouth not below the eyes) is
/// frontal.
pub fn pose_from_landmarks(landmarks_in_frame: &[[f32; 2]; LANDMARKS]) -> HeadPose {
    let lm = landmarks_in_frame;
    let roll = roll_from_landmarks(lm);
    let (le, re) = (lm[LEFT_EYE], lm[RIGHT_EYE]);
    let eye_mid = [(le[0] + re[0]) / 2.0, (le[1] + re[1]) / 2.0];
    let mouth_mid = [(lm[LEFT_MOUTH][0] + lm[RIGHT_MOUTH][0]) / 2.0, (lm[LEFT_MOUTH][1] + lm[RIGHT_MOUTH][1]) / 2.0];
    let iod = (re[0] - le[0]).hypot(re[1] - le[1]);
    if !iod.is_finite() || iod < MIN_IOD_PX {
        return HeadPose { yaw: 0.0, pitch: 0.0, roll };
    }
    // Unit axes of the level face: across (left eye -> right eye) and down (toward the mouth).
    let across = [(re[0] - le[0]) / iod, (re[1] - le[1]) / iod];
    let down = [-across[1], across[0]];
    let rel = |p: [f32; 2]| [p[0] - eye_mid[0], p[1] - eye_mid[1]];
    let dot = |a: [f32; 2], b: [f32; 2]| a[0] * b[0] + a[1] * b[1];
    let (nose, mouth) = (rel(lm[NOSE]), rel(mouth_mid));
    let mouth_down = dot(mouth, down);
    // Also false for NaN.
    if mouth_down.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return HeadPose { yaw: 0.0, pitch: 0.0, roll };
    }
    let nose_down = dot(nose, down);
    // Where the midline is at the nose's height; the nose's offset from it.
    let along = nose_down / mouth_down;
    let sideways = (dot(nose, across) - along * dot(mouth, across)) / iod;
    let rise = (FRONTAL_NOSE_HEIGHT * mouth_down - nose_down) / iod;
    let yaw = (sideways / NOSE_DEPTH_OVER_IOD).atan().clamp(-MAX_YAW_RAD, MAX_YAW_RAD);
    let pitch = (rise / NOSE_DEPTH_OVER_IOD).atan().clamp(-MAX_PITCH_RAD, MAX_PITCH_RAD);
    HeadPose { yaw, pitch, roll }
}

/// One frame of smoothing: `shown` (`None` on a face's first frame, which starts at the
/// target) moved toward `target` as an exponential approach with time constant
/// [`POSE_TAU_S`] covers in `dt_s` seconds. Roll takes the short way round.
pub fn smooth_pose(shown: Option<HeadPose>, target: HeadPose, dt_s: f32) -> HeadPose {
    let Some(shown) = shown else { return target };
    let t = 1.0 - (-dt_s.max(0.0) / POSE_TAU_S).exp();
    let turn = wrap_angle(target.roll - shown.roll);
    HeadPose {
        yaw: shown.yaw + (target.yaw - shown.yaw) * t,
        pitch: shown.pitch + (target.pitch - shown.pitch) * t,
        roll: wrap_angle(shown.roll + turn * t),
    }
}

/// `a` in (-pi, pi].
fn wrap_angle(a: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    let w = (a + PI).rem_euclid(TAU) - PI;
    if w <= -PI { w + TAU } else { w }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frontal face: eyes 60 px apart, mouth 66 px below them, nose at the frontal height.
    fn frontal() -> [[f32; 2]; LANDMARKS] {
        let nose_y = 100.0 + FRONTAL_NOSE_HEIGHT * 66.0;
        [[170.0, 100.0], [230.0, 100.0], [200.0, nose_y], [178.0, 166.0], [222.0, 166.0]]
    }

    /// Turns the landmarks by `angle` (radians, counter-clockwise on screen) about (200, 130).
    fn rotated(lm: [[f32; 2]; LANDMARKS], angle: f32) -> [[f32; 2]; LANDMARKS] {
        let (s, c) = (-angle).sin_cos();
        lm.map(|[x, y]| {
            let (dx, dy) = (x - 200.0, y - 130.0);
            [200.0 + c * dx - s * dy, 130.0 + s * dx + c * dy]
        })
    }

    #[test]
    fn a_frontal_face_has_no_yaw_pitch_or_roll() {
        let p = pose_from_landmarks(&frontal());
        assert!(p.yaw.abs() < 1e-5 && p.pitch.abs() < 1e-5 && p.roll.abs() < 1e-5, "{p:?}");
    }

    #[test]
    fn a_nose_right_of_the_midline_is_positive_yaw() {
        let mut lm = frontal();
        lm[NOSE][0] += 12.0; // a fifth of the eye distance
        let p = pose_from_landmarks(&lm);
        let expected = (0.2f32 / NOSE_DEPTH_OVER_IOD).atan();
        assert!((p.yaw - expected).abs() < 1e-4, "{p:?} against {expected}");
        assert!(p.pitch.abs() < 1e-4, "a sideways nose is no pitch: {p:?}");
        lm[NOSE][0] -= 24.0;
        assert!((pose_from_landmarks(&lm).yaw + expected).abs() < 1e-4, "mirrored, negative yaw");
    }

    #[test]
    fn a_high_nose_is_positive_pitch_and_a_low_one_negative() {
        let mut lm = frontal();
        lm[NOSE][1] -= 9.0;
        let up = pose_from_landmarks(&lm);
        assert!(up.pitch > 0.1 && up.yaw.abs() < 1e-4, "{up:?}");
        lm[NOSE][1] += 18.0;
        assert!(pose_from_landmarks(&lm).pitch < -0.1);
    }

    #[test]
    fn pose_is_the_same_on_a_tilted_face_and_roll_is_the_tilt() {
        let mut lm = frontal();
        lm[NOSE][0] += 12.0;
        lm[NOSE][1] -= 6.0;
        let level = pose_from_landmarks(&lm);
        let tilted = pose_from_landmarks(&rotated(lm, 0.4));
        assert!((tilted.roll - 0.4).abs() < 1e-4, "{tilted:?}");
        assert!((tilted.yaw - level.yaw).abs() < 1e-4 && (tilted.pitch - level.pitch).abs() < 1e-4);
    }

    #[test]
    fn pose_is_clamped_and_degenerate_faces_are_frontal() {
        let mut lm = frontal();
        lm[NOSE][0] += 600.0;
        lm[NOSE][1] -= 600.0;
        let p = pose_from_landmarks(&lm);
        assert_eq!((p.yaw, p.pitch), (MAX_YAW_RAD, MAX_PITCH_RAD));
        let same = [[50.0, 50.0]; LANDMARKS];
        assert_eq!(pose_from_landmarks(&same), HeadPose::default());
        let mut upside = frontal();
        upside[LEFT_MOUTH][1] = 40.0;
        upside[RIGHT_MOUTH][1] = 40.0;
        let p = pose_from_landmarks(&upside);
        assert_eq!((p.yaw, p.pitch), (0.0, 0.0), "mouth above the eyes: no estimate");
        let nan = [[f32::NAN, 0.0]; LANDMARKS];
        let p = pose_from_landmarks(&nan);
        assert_eq!((p.yaw, p.pitch), (0.0, 0.0));
    }

    #[test]
    fn smoothing_follows_with_the_time_constant_and_takes_roll_the_short_way() {
        let target = HeadPose { yaw: 0.5, pitch: -0.2, roll: 0.1 };
        assert_eq!(smooth_pose(None, target, 0.016), target, "a new face starts at its pose");
        let start = HeadPose::default();
        let one_tau = smooth_pose(Some(start), target, POSE_TAU_S);
        assert!((one_tau.yaw - 0.5 * (1.0 - (-1.0f32).exp())).abs() < 1e-5, "{one_tau:?}");
        // Frame by frame at 30 fps: steady, ~95% after three time constants.
        let mut shown = start;
        let mut yaws = vec![];
        for _ in 0..((3.0 * POSE_TAU_S * 30.0).round() as usize) {
            shown = smooth_pose(Some(shown), target, 1.0 / 30.0);
            yaws.push(shown.yaw);
        }
        assert!(yaws.windows(2).all(|w| w[1] > w[0]));
        assert!((shown.yaw - 0.5).abs() < 0.5 * 0.06, "{shown:?}");
        // From just below +pi to just above -pi is a small turn, not a spin.
        let a = HeadPose { roll: 3.1, ..start };
        let b = HeadPose { roll: -3.1, ..start };
        let mid = smooth_pose(Some(a), b, 1e3);
        assert!((mid.roll.abs() - 3.1).abs() < 1e-3, "{mid:?}");
        let half = smooth_pose(Some(a), b, POSE_TAU_S * std::f32::consts::LN_2);
        assert!(half.roll.abs() > 3.1, "through pi: {half:?}");
    }
}
