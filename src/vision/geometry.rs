//! Axis-aligned boxes in pixel coordinates and the square crop around a face.

use serde::Serialize;

/// A box given by its left/top corner and its size, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub fn new(x: f32, y: f32, w: f32, h: f32) -> Self {
        Self { x, y, w, h }
    }

    pub fn from_corners(x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        Self { x: x0, y: y0, w: (x1 - x0).max(0.0), h: (y1 - y0).max(0.0) }
    }

    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w * 0.5, self.y + self.h * 0.5)
    }

    /// Intersection over union; 0 for empty boxes.
    pub fn iou(&self, other: &BBox) -> f32 {
        let ix = (self.x + self.w).min(other.x + other.w) - self.x.max(other.x);
        let iy = (self.y + self.h).min(other.y + other.h) - self.y.max(other.y);
        if ix <= 0.0 || iy <= 0.0 {
            return 0.0;
        }
        let inter = ix * iy;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The square around this box's centre with side `max(w, h) * (1 + 2 * margin)`.
    /// It may extend past the frame; samplers fill the outside with black.
    pub fn square_with_margin(&self, margin: f32) -> BBox {
        let (cx, cy) = self.center();
        let side = self.w.max(self.h) * (1.0 + 2.0 * margin);
        BBox::new(cx - side * 0.5, cy - side * 0.5, side, side)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox::new(20.0, 0.0, 10.0, 10.0)), 0.0);
        let b = BBox::new(5.0, 0.0, 10.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
    }

    #[test]
    fn square_crop_is_centred_and_widened() {
        let b = BBox::new(10.0, 20.0, 40.0, 60.0);
        let s = b.square_with_margin(0.1);
        assert_eq!(s.w, s.h);
        assert!((s.w - 72.0).abs() < 1e-4);
        assert_eq!(s.center(), b.center());
    }
}
