//! Greedy non-maximum suppression over scored boxes.

use super::Face;

/// Keeps the best-scoring faces, dropping any whose IoU with a kept one exceeds `iou_threshold`.
/// Works in place: `faces` ends up sorted by descending score with the suppressed ones removed.
pub fn suppress(faces: &mut Vec<Face>, iou_threshold: f32) {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept = 0;
    for i in 0..faces.len() {
        let candidate = faces[i];
        if faces[..kept].iter().all(|k| k.bbox_in_frame.iou(&candidate.bbox_in_frame) <= iou_threshold) {
            faces[kept] = candidate;
            kept += 1;
        }
    }
    faces.truncate(kept);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::{BBox, LANDMARKS};

    fn face(x: f32, score: f32) -> Face {
        Face { bbox_in_frame: BBox::new(x, 0.0, 10.0, 10.0), landmarks_in_frame: [[0.0; 2]; LANDMARKS], score }
    }

    #[test]
    fn overlapping_weaker_box_is_removed_and_distant_one_kept() {
        let mut faces = vec![face(1.0, 0.6), face(0.0, 0.9), face(50.0, 0.5)];
        suppress(&mut faces, 0.3);
        let xs: Vec<f32> = faces.iter().map(|f| f.bbox_in_frame.x).collect();
        assert_eq!(xs, vec![0.0, 50.0]);
    }

    #[test]
    fn boxes_below_the_threshold_survive() {
        let mut faces = vec![face(0.0, 0.9), face(8.0, 0.8)];
        suppress(&mut faces, 0.3);
        assert_eq!(faces.len(), 2);
    }
}
