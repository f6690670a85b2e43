//! Square grayscale face crops (the course dataset format: 48x48, centred on the face).

use image::GrayImage;

use super::manifest::{Color, InputSpec, Layout};
use super::resample::{PixelSource, Resampler, TensorFormat};
use super::{BBox, Face, Framing};

/// Writes square `size` x `size` grayscale crops; owns its buffers.
pub struct FaceCropper {
    size: u32,
    framing: Framing,
    format: TensorFormat,
    resampler: Resampler,
    values: Vec<f32>,
}

impl FaceCropper {
    /// `framing`: which square around the face the crop shows.
    pub fn new(size: u32, framing: Framing) -> Self {
        let spec = InputSpec {
            name: String::new(),
            layout: Layout::Nchw,
            width: Some(size as usize),
            height: Some(size as usize),
            color: Color::Gray,
            scale: 1.0,
            mean: vec![0.0],
            std: vec![1.0],
            stride: None,
        };
        Self {
            size,
            framing,
            format: TensorFormat::from_input(&spec),
            resampler: Resampler::default(),
            values: Vec::new(),
        }
    }

    /// The square region of the frame a crop of `face` shows.
    pub fn region(&self, face: &Face) -> BBox {
        self.framing.region(face)
    }

    /// Crops `face` from `frame` into `out` (resized to `size` x `size` when needed).
    pub fn crop<S: PixelSource>(&mut self, frame: &S, face: &Face, out: &mut GrayImage) {
        let n = self.size as usize;
        self.values.resize(n * n, 0.0);
        let region = self.region(face);
        self.resampler.sample_into(frame, region, n, n, n, n, &self.format, &mut self.values);
        if out.dimensions() != (self.size, self.size) {
            *out = GrayImage::new(self.size, self.size);
        }
        for (dst, v) in out.iter_mut().zip(&self.values) {
            *dst = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// The face with the largest box, if any.
pub fn largest(faces: &[Face]) -> Option<&Face> {
    faces.iter().max_by(|a, b| a.bbox_in_frame.area().total_cmp(&b.bbox_in_frame.area()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::LANDMARKS;
    use image::{Rgb, RgbImage};

    #[test]
    fn crop_is_centred_on_the_face_box() {
        // A white square "face" at (40..60, 20..40) on black.
        let mut frame = RgbImage::new(100, 80);
        for y in 20..40 {
            for x in 40..60 {
                frame.put_pixel(x, y, Rgb([255, 255, 255]));
            }
        }
        let face = Face {
            bbox_in_frame: BBox::new(40.0, 20.0, 20.0, 20.0),
            landmarks_in_frame: [[0.0; 2]; LANDMARKS],
            score: 1.0,
        };
        let mut cropper = FaceCropper::new(48, Framing::boxed(0.25));
        let mut out = GrayImage::new(1, 1);
        cropper.crop(&frame, &face, &mut out);
        assert_eq!(out.dimensions(), (48, 48));
        // The white square fills the middle two thirds and nothing else.
        assert_eq!(out.get_pixel(24, 24).0[0], 255);
        assert_eq!(out.get_pixel(2, 24).0[0], 0);
        assert_eq!(out.get_pixel(45, 24).0[0], 0);
        let white: Vec<u32> = (0..48).filter(|x| out.get_pixel(*x, 24).0[0] > 127).collect();
        let (first, last) = (white[0], *white.last().expect("white"));
        assert!((first as i32 - (47 - last) as i32).abs() <= 1, "centred: {first}..{last}");
    }

    #[test]
    fn largest_face_wins() {
        let f = |w: f32| Face {
            bbox_in_frame: BBox::new(0.0, 0.0, w, w),
            landmarks_in_frame: [[0.0; 2]; LANDMARKS],
            score: 1.0,
        };
        let faces = [f(10.0), f(30.0), f(20.0)];
        assert_eq!(largest(&faces).map(|x| x.bbox_in_frame.w), Some(30.0));
        assert!(largest(&[]).is_none());
    }
}
