//! Eye-levelled grayscale face crops: the frame is rotated and scaled so that the two eye
//! landmarks land on fixed points of a square crop, which is what LBPH compares.

use image::RgbImage;

use crate::vision::Face;

/// Side of an aligned crop, pixels (OpenCV's face tutorials use about 100; 80 keeps 9x9
/// patterns per grid cell).
pub const CROP_SIDE: usize = 80;
/// Horizontal distance between the eyes in the crop, as a fraction of its side.
pub const EYE_SPAN: f32 = 0.4;
/// Height of the eye line in the crop, as a fraction of its side from the top.
pub const EYE_LINE: f32 = 0.4;
/// Smallest eye distance in the frame, pixels, that still gives a usable crop.
pub const MIN_EYE_DISTANCE_PX: f32 = 8.0;
/// ITU-R BT.601 luma weights (red, green, blue).
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// Writes the aligned crop of `face` into `dst` ([`CROP_SIDE`]^2 gray pixels, row by row);
/// returns false (leaving `dst` alone) when the eyes are too close together to align on.
/// Pixels outside the frame repeat its edge.
pub fn aligned_crop_into(frame: &RgbImage, face: &Face, dst: &mut Vec<u8>) -> bool {
    let [a, b] = [face.landmarks_in_frame[0], face.landmarks_in_frame[1]];
    // The eye on the left of the picture first, so a mirrored landmark order changes nothing.
    let (left, right) = if a[0] <= b[0] { (a, b) } else { (b, a) };
    let (dx, dy) = (right[0] - left[0], right[1] - left[1]);
    let distance = dx.hypot(dy);
    if !distance.is_finite() || distance < MIN_EYE_DISTANCE_PX {
        return false;
    }
    let side = CROP_SIDE as f32;
    // Frame pixels per crop pixel, and the crop's axes in frame coordinates.
    let scale = distance / (EYE_SPAN * side);
    let (cos, sin) = (dx / distance * scale, dy / distance * scale);
    let centre = [(left[0] + right[0]) / 2.0, (left[1] + right[1]) / 2.0];
    dst.clear();
    dst.reserve(CROP_SIDE * CROP_SIDE);
    for v in 0..CROP_SIDE {
        let cv = v as f32 + 0.5 - EYE_LINE * side;
        for u in 0..CROP_SIDE {
            let cu = u as f32 + 0.5 - 0.5 * side;
            let x = centre[0] + cu * cos - cv * sin - 0.5;
            let y = centre[1] + cu * sin + cv * cos - 0.5;
            dst.push(sample_gray(frame, x, y));
        }
    }
    true
}

/// Bilinear gray value of `frame` at pixel-centre coordinates (x, y), edges repeated.
fn sample_gray(frame: &RgbImage, x: f32, y: f32) -> u8 {
    let (w, h) = (frame.width() as i64, frame.height() as i64);
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let gray = |xi: i64, yi: i64| {
        let p = frame.get_pixel(xi.clamp(0, w - 1) as u32, yi.clamp(0, h - 1) as u32).0;
        LUMA[0] * f32::from(p[0]) + LUMA[1] * f32::from(p[1]) + LUMA[2] * f32::from(p[2])
    };
    let top = gray(x0, y0) * (1.0 - tx) + gray(x0 + 1, y0) * tx;
    let bottom = gray(x0, y0 + 1) * (1.0 - tx) + gray(x0 + 1, y0 + 1) * tx;
    (top * (1.0 - ty) + bottom * ty).round().clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::BBox;

    fn face(left: [f32; 2], right: [f32; 2]) -> Face {
        Face {
            bbox_in_frame: BBox { x: 0.0, y: 0.0, w: 10.0, h: 10.0 },
            landmarks_in_frame: [left, right, [0.0; 2], [0.0; 2], [0.0; 2]],
            score: 1.0,
        }
    }

    /// A frame black everywhere but two white squares around `eyes`.
    fn frame_with_eyes(eyes: [[f32; 2]; 2]) -> RgbImage {
        RgbImage::from_fn(200, 200, |x, y| {
            let near = eyes.iter().any(|e| (x as f32 - e[0]).abs() < 3.0 && (y as f32 - e[1]).abs() < 3.0);
            image::Rgb(if near { [255; 3] } else { [0; 3] })
        })
    }

    fn at(crop: &[u8], u: f32, v: f32) -> u8 {
        crop[v as usize * CROP_SIDE + u as usize]
    }

    #[test]
    fn eyes_land_on_the_fixed_points_whatever_the_tilt() {
        let side = CROP_SIDE as f32;
        let (eu_left, eu_right, ev) = ((0.5 - EYE_SPAN / 2.0) * side, (0.5 + EYE_SPAN / 2.0) * side, EYE_LINE * side);
        for eyes in [[[80.0, 100.0], [120.0, 100.0]], [[80.0, 90.0], [116.0, 120.0]]] {
            let mut crop = Vec::new();
            assert!(aligned_crop_into(&frame_with_eyes(eyes), &face(eyes[1], eyes[0]), &mut crop));
            assert_eq!(crop.len(), CROP_SIDE * CROP_SIDE);
            assert!(at(&crop, eu_left, ev) > 200 && at(&crop, eu_right, ev) > 200, "eyes {eyes:?}");
            assert!(at(&crop, side / 2.0, ev) < 50 && at(&crop, side / 2.0, side - 2.0) < 50);
        }
    }

    #[test]
    fn eyes_too_close_are_refused() {
        let mut crop = vec![7];
        assert!(!aligned_crop_into(&frame_with_eyes([[0.0; 2]; 2]), &face([50.0, 50.0], [53.0, 50.0]), &mut crop));
        assert_eq!(crop, [7]);
    }
}
