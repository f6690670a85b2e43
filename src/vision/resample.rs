//! Bilinear resampling of an image region straight into a model's input tensor.
//!
//! One pass does crop, resize, colour conversion, normalisation and layout, into a
//! caller-owned buffer. Sampling follows the half-pixel-centre convention
//! (`src = (dst + 0.5) * scale - 0.5`, clamped at the edges); samples that fall
//! outside the image are black, so a face crop that sticks out of the frame is
//! padded the way the reference preprocessing pads it.

use image::{GrayImage, RgbImage};

use super::BBox;
use super::manifest::{Color, InputSpec, Layout};

/// ITU-R BT.601 luma weights, as OpenCV's RGB->gray uses.
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// Anything we can read RGB pixels from.
pub trait PixelSource {
    fn width(&self) -> u32;
    fn height(&self) -> u32;
    /// RGB of pixel (x, y); callers guarantee it is inside the image.
    fn rgb(&self, x: u32, y: u32) -> [f32; 3];
}

impl PixelSource for RgbImage {
    fn width(&self) -> u32 {
        self.width()
    }
    fn height(&self) -> u32 {
        self.height()
    }
    #[inline]
    fn rgb(&self, x: u32, y: u32) -> [f32; 3] {
        let i = (y as usize * self.width() as usize + x as usize) * 3;
        let raw = self.as_raw();
        [raw[i] as f32, raw[i + 1] as f32, raw[i + 2] as f32]
    }
}

impl<T: PixelSource> PixelSource for &T {
    fn width(&self) -> u32 {
        (**self).width()
    }
    fn height(&self) -> u32 {
        (**self).height()
    }
    #[inline]
    fn rgb(&self, x: u32, y: u32) -> [f32; 3] {
        (**self).rgb(x, y)
    }
}

impl PixelSource for GrayImage {
    fn width(&self) -> u32 {
        self.width()
    }
    fn height(&self) -> u32 {
        self.height()
    }
    #[inline]
    fn rgb(&self, x: u32, y: u32) -> [f32; 3] {
        let v = self.as_raw()[y as usize * self.width() as usize + x as usize] as f32;
        [v, v, v]
    }
}

/// How pixel values become tensor values, derived from a manifest's input section.
#[derive(Debug, Clone, Copy)]
pub struct TensorFormat {
    pub layout: Layout,
    pub color: Color,
    /// value = pixel * mul[c] + add[c]
    mul: [f32; 3],
    add: [f32; 3],
}

impl TensorFormat {
    pub fn from_input(spec: &InputSpec) -> Self {
        let mut mul = [0.0; 3];
        let mut add = [0.0; 3];
        for c in 0..spec.color.channels() {
            mul[c] = 1.0 / (spec.scale * spec.std[c]);
            add[c] = -spec.mean[c] / spec.std[c];
        }
        Self { layout: spec.layout, color: spec.color, mul, add }
    }

    pub fn channels(&self) -> usize {
        self.color.channels()
    }
}

/// One axis' sampling position: the two source indices and the weight of the second.
#[derive(Debug, Clone, Copy, Default)]
struct Tap {
    i0: u32,
    i1: u32,
    w1: f32,
    inside: bool,
}

/// Reusable tap tables; one per worker, so sampling allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Resampler {
    xs: Vec<Tap>,
    ys: Vec<Tap>,
}

fn taps(out: &mut Vec<Tap>, start: f32, len: f32, n_out: usize, n_src: u32) {
    out.clear();
    let step = len / n_out as f32;
    let last = n_src.saturating_sub(1) as f32;
    for d in 0..n_out {
        let s = start + (d as f32 + 0.5) * step - 0.5;
        let inside = n_src > 0 && s >= -0.5 && s <= last + 0.5;
        let s = s.clamp(0.0, last);
        let i0 = s.floor() as u32;
        let i1 = (i0 + 1).min(n_src.saturating_sub(1));
        out.push(Tap { i0, i1, w1: s - i0 as f32, inside });
    }
}

impl Resampler {
    /// Samples `rect` of `src` into an `out_w` x `out_h` patch at the top-left of a
    /// `canvas_w` x `canvas_h` tensor image in `dst` (one batch item). Canvas area
    /// outside the patch and patch samples outside `src` become normalised black.
    #[allow(clippy::too_many_arguments)]
    pub fn sample_into<S: PixelSource>(
        &mut self,
        src: &S,
        rect: BBox,
        out_w: usize,
        out_h: usize,
        canvas_w: usize,
        canvas_h: usize,
        fmt: &TensorFormat,
        dst: &mut [f32],
    ) {
        let ch = fmt.channels();
        debug_assert!(dst.len() >= canvas_w * canvas_h * ch);
        taps(&mut self.xs, rect.x, rect.w, out_w, src.width());
        taps(&mut self.ys, rect.y, rect.h, out_h, src.height());
        let plane = canvas_w * canvas_h;
        for y in 0..canvas_h {
            let ty = if y < out_h { self.ys[y] } else { Tap::default() };
            for x in 0..canvas_w {
                let tx = if x < out_w { self.xs[x] } else { Tap::default() };
                let rgb = if tx.inside && ty.inside {
                    let p00 = src.rgb(tx.i0, ty.i0);
                    let p01 = src.rgb(tx.i1, ty.i0);
                    let p10 = src.rgb(tx.i0, ty.i1);
                    let p11 = src.rgb(tx.i1, ty.i1);
                    let mut v = [0.0f32; 3];
                    for c in 0..3 {
                        let top = p00[c] + (p01[c] - p00[c]) * tx.w1;
                        let bottom = p10[c] + (p11[c] - p10[c]) * tx.w1;
                        v[c] = top + (bottom - top) * ty.w1;
                    }
                    v
                } else {
                    [0.0; 3]
                };
                let px = y * canvas_w + x;
                match fmt.color {
                    Color::Gray => {
                        let g = rgb[0] * LUMA[0] + rgb[1] * LUMA[1] + rgb[2] * LUMA[2];
                        dst[px] = g * fmt.mul[0] + fmt.add[0];
                    }
                    Color::Rgb | Color::Bgr => {
                        let order = if fmt.color == Color::Rgb { [0, 1, 2] } else { [2, 1, 0] };
                        for (c, &from) in order.iter().enumerate() {
                            let v = rgb[from] * fmt.mul[c] + fmt.add[c];
                            match fmt.layout {
                                Layout::Nchw => dst[c * plane + px] = v,
                                Layout::Nhwc => dst[px * 3 + c] = v,
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(color: Color, layout: Layout) -> InputSpec {
        let ch = color.channels();
        InputSpec {
            name: "x".into(),
            layout,
            width: None,
            height: None,
            color,
            scale: 1.0,
            mean: vec![0.0; ch],
            std: vec![1.0; ch],
            stride: None,
        }
    }

    #[test]
    fn identity_resample_copies_pixels_in_bgr_planar_order() {
        let img = RgbImage::from_fn(4, 3, |x, y| image::Rgb([x as u8, y as u8, 200]));
        let fmt = TensorFormat::from_input(&spec(Color::Bgr, Layout::Nchw));
        let mut dst = vec![0.0; 4 * 3 * 3];
        Resampler::default().sample_into(&img, BBox::new(0.0, 0.0, 4.0, 3.0), 4, 3, 4, 3, &fmt, &mut dst);
        // plane 0 is blue, plane 1 green (=y), plane 2 red (=x)
        assert!(dst[..12].iter().all(|v| *v == 200.0));
        assert_eq!(dst[12 + 2 * 4 + 1], 2.0);
        assert_eq!(dst[24 + 2 * 4 + 1], 1.0);
    }

    #[test]
    fn upscaling_interpolates_and_clamps_at_edges() {
        // 2x1 image 0 | 100 upscaled to 4x1: half-pixel centres give 0, 25, 75, 100.
        let img = GrayImage::from_raw(2, 1, vec![0, 100]).expect("2x1");
        let fmt = TensorFormat::from_input(&spec(Color::Gray, Layout::Nchw));
        let mut dst = vec![0.0; 4];
        Resampler::default().sample_into(&img, BBox::new(0.0, 0.0, 2.0, 1.0), 4, 1, 4, 1, &fmt, &mut dst);
        assert_eq!(dst, vec![0.0, 25.0, 75.0, 100.0]);
    }

    #[test]
    fn outside_the_image_and_canvas_padding_are_black() {
        let img = RgbImage::from_pixel(2, 2, image::Rgb([255, 255, 255]));
        let mut s = spec(Color::Rgb, Layout::Nhwc);
        s.scale = 255.0;
        let fmt = TensorFormat::from_input(&s);
        let mut dst = vec![9.0; 4 * 2 * 3];
        // rect twice the image, centred: outer ring outside; canvas 4x2 but patch 2x2.
        Resampler::default().sample_into(&img, BBox::new(-1.0, -1.0, 4.0, 4.0), 2, 2, 4, 2, &fmt, &mut dst);
        // patch samples sit at src (0,0),(2,0)... -> (0,0) is inside (white), the rest of the canvas black
        assert_eq!(&dst[0..3], &[1.0, 1.0, 1.0]);
        assert!(dst[2 * 3..4 * 3].iter().all(|v| *v == 0.0), "{dst:?}");
    }

    #[test]
    fn normalisation_follows_the_manifest() {
        let img = GrayImage::from_pixel(1, 1, image::Luma([255]));
        let mut s = spec(Color::Gray, Layout::Nchw);
        s.scale = 255.0;
        s.mean = vec![0.5];
        s.std = vec![0.5];
        let fmt = TensorFormat::from_input(&s);
        let mut dst = vec![0.0; 1];
        Resampler::default().sample_into(&img, BBox::new(0.0, 0.0, 1.0, 1.0), 1, 1, 1, 1, &fmt, &mut dst);
        assert!((dst[0] - 1.0).abs() < 1e-6);
    }
}
