//! Image preparation bit-for-bit as OpenCV's `CascadeClassifier` does it: BGR->gray,
//! `equalizeHist`, and the pyramid's `resize` with `INTER_LINEAR_EXACT` on 8-bit images.

use image::RgbImage;

/// OpenCV 4's fixed-point gray weights for 8-bit `cvtColor(COLOR_BGR2GRAY)`, scaled by
/// 2^15 (checked against OpenCV 4.14 on a million random colours).
const GRAY_R: u32 = 9798;
const GRAY_G: u32 = 19235;
const GRAY_B: u32 = 3735;
const GRAY_SHIFT: u32 = 15;
/// Fractional bits of the bit-exact resize's fixed-point numbers (`ufixedpoint16`).
const FIXED_BITS: u32 = 8;
const FIXED_ONE: u32 = 1 << FIXED_BITS;
const HIST_BINS: usize = 256;

/// A single-channel 8-bit image stored row by row, reused between frames.
#[derive(Debug, Clone, Default)]
pub struct Gray {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Gray {
    /// Resizes the buffer (keeping its allocation where possible).
    pub fn reset(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
        self.pixels.resize(width * height, 0);
    }
}

/// `cvtColor(BGR2GRAY)` of an RGB frame into `dst`.
pub fn gray_from_rgb(src: &RgbImage, dst: &mut Gray) {
    dst.reset(src.width() as usize, src.height() as usize);
    for (d, p) in dst.pixels.iter_mut().zip(src.as_raw().chunks_exact(3)) {
        let v = u32::from(p[0]) * GRAY_R + u32::from(p[1]) * GRAY_G + u32::from(p[2]) * GRAY_B;
        *d = ((v + (1 << (GRAY_SHIFT - 1))) >> GRAY_SHIFT) as u8;
    }
}

/// OpenCV's `equalizeHist`, in place.
pub fn equalize_hist(img: &mut Gray) {
    let mut hist = [0u32; HIST_BINS];
    for &p in &img.pixels {
        hist[usize::from(p)] += 1;
    }
    let total = img.pixels.len() as u32;
    let Some(first) = hist.iter().position(|&h| h != 0) else { return };
    if hist[first] == total {
        img.pixels.fill(first as u8);
        return;
    }
    let scale = (HIST_BINS as f32 - 1.0) / (total - hist[first]) as f32;
    let mut lut = [0u8; HIST_BINS];
    let mut sum = 0u32;
    for i in first + 1..HIST_BINS {
        sum += hist[i];
        lut[i] = (sum as f32 * scale).round_ties_even().clamp(0.0, 255.0) as u8;
    }
    for p in &mut img.pixels {
        *p = lut[usize::from(*p)];
    }
}

/// One output position of a bit-exact linear resize: the source index and the two
/// weights in 8-bit fixed point (they add up to 256). Positions left of the source use
/// the first pixel, right of it the last.
#[derive(Debug, Clone, Copy, Default)]
struct Tap {
    ofs: usize,
    w: [u32; 2],
}

/// Per-axis tables of a linear resize, reused between calls.
#[derive(Debug, Clone, Default)]
pub struct ResizeTables {
    x: Vec<Tap>,
    y: Vec<Tap>,
    rows: [Vec<u32>; 2],
}

/// `interpolationLinear::getCoeffs` of OpenCV's bit-exact resize for one axis.
fn axis(src: usize, dst: usize, taps: &mut Vec<Tap>) {
    let scale = 1.0 / (dst as f64 / src as f64);
    taps.clear();
    for d in 0..dst {
        let f = scale * (d as f64 + 0.5) - 0.5;
        let i = f.floor();
        let tap = if i < 0.0 || src < 2 {
            Tap { ofs: 0, w: [FIXED_ONE, 0] }
        } else if (i as usize) < src - 1 {
            let w1 = ((f - i) * f64::from(FIXED_ONE)).round_ties_even() as u32;
            Tap { ofs: i as usize, w: [FIXED_ONE - w1, w1] }
        } else {
            Tap { ofs: src - 1, w: [FIXED_ONE, 0] }
        };
        taps.push(tap);
    }
}

/// `resize(src, dst, (dst_w, dst_h), INTER_LINEAR_EXACT)` for 8-bit gray images, as
/// `CascadeClassifier` resizes its pyramid: 8-bit fixed-point weights per axis, the
/// horizontal pass kept in 16 bits, the vertical pass rounded from 16 fractional bits;
/// an exact 2x reduction averages 2x2 blocks, as OpenCV switches to area resizing there.
pub fn resize_linear(src: &Gray, dst: &mut Gray, dst_w: usize, dst_h: usize, t: &mut ResizeTables) {
    dst.reset(dst_w, dst_h);
    if dst_w == 0 || dst_h == 0 || src.width == 0 || src.height == 0 {
        return;
    }
    if dst_w == src.width && dst_h == src.height {
        dst.pixels.copy_from_slice(&src.pixels);
        return;
    }
    if src.width == 2 * dst_w && src.height == 2 * dst_h {
        for y in 0..dst_h {
            let r0 = &src.pixels[2 * y * src.width..][..src.width];
            let r1 = &src.pixels[(2 * y + 1) * src.width..][..src.width];
            for (x, d) in dst.pixels[y * dst_w..][..dst_w].iter_mut().enumerate() {
                let s =
                    u32::from(r0[2 * x]) + u32::from(r0[2 * x + 1]) + u32::from(r1[2 * x]) + u32::from(r1[2 * x + 1]);
                *d = ((s + 2) >> 2) as u8;
            }
        }
        return;
    }
    axis(src.width, dst_w, &mut t.x);
    axis(src.height, dst_h, &mut t.y);
    for r in &mut t.rows {
        r.resize(dst_w, 0);
    }
    let mut cached: [Option<usize>; 2] = [None, None];
    for y in 0..dst_h {
        let Tap { ofs: sy, w: [b0, b1] } = t.y[y];
        let want = [sy, (sy + 1).min(src.height - 1)];
        // Reuse horizontally resized rows that the previous output row already made.
        if cached[0] != Some(want[0]) && cached[1] == Some(want[0]) {
            t.rows.swap(0, 1);
            cached.swap(0, 1);
        }
        for k in 0..2 {
            if cached[k] != Some(want[k]) {
                let row = &src.pixels[want[k] * src.width..][..src.width];
                hresize(row, &t.x, &mut t.rows[k]);
                cached[k] = Some(want[k]);
            }
        }
        let out = &mut dst.pixels[y * dst_w..][..dst_w];
        for ((d, &s0), &s1) in out.iter_mut().zip(&t.rows[0]).zip(&t.rows[1]) {
            let v = (s0 * b0 + s1 * b1 + (1 << (2 * FIXED_BITS - 1))) >> (2 * FIXED_BITS);
            *d = v.min(255) as u8;
        }
    }
}

fn hresize(row: &[u8], taps: &[Tap], out: &mut [u32]) {
    let last = row.len() - 1;
    for (d, tap) in out.iter_mut().zip(taps) {
        let next = (tap.ofs + 1).min(last);
        *d = u32::from(row[tap.ofs]) * tap.w[0] + u32::from(row[next]) * tap.w[1];
    }
}

/// `img` scaled (aspect kept, bilinear) to fit `w` x `h` and padded black at the right
/// and bottom: the benchmark's fixed-size frames from photos of any size.
pub fn fit_and_pad(img: &RgbImage, w: u32, h: u32) -> RgbImage {
    let scale = (w as f32 / img.width().max(1) as f32).min(h as f32 / img.height().max(1) as f32);
    let sw = ((img.width() as f32 * scale).round() as u32).clamp(1, w);
    let sh = ((img.height() as f32 * scale).round() as u32).clamp(1, h);
    let scaled = image::imageops::resize(img, sw, sh, image::imageops::FilterType::Triangle);
    let mut out = RgbImage::new(w, h);
    image::imageops::replace(&mut out, &scaled, 0, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Gray {
        let mut g = Gray::default();
        g.reset(w, h);
        for y in 0..h {
            for x in 0..w {
                g.pixels[y * w + x] = f(x, y);
            }
        }
        g
    }

    #[test]
    fn gray_weights_match_opencv() {
        let img = RgbImage::from_raw(3, 1, vec![255, 0, 0, 0, 255, 0, 0, 0, 255]).expect("3 px");
        let mut g = Gray::default();
        gray_from_rgb(&img, &mut g);
        // 255*9798/32768 = 76.2, 255*19235/32768 = 149.7, 255*3735/32768 = 29.07
        assert_eq!(g.pixels, vec![76, 150, 29]);
    }

    #[test]
    fn equalize_spreads_to_full_range_and_keeps_flat_images() {
        let mut g = gray(4, 1, |x, _| [10u8, 20, 20, 30][x]);
        equalize_hist(&mut g);
        assert_eq!(g.pixels, vec![0, 170, 170, 255]);
        let mut flat = gray(3, 3, |_, _| 7);
        equalize_hist(&mut flat);
        assert!(flat.pixels.iter().all(|&p| p == 7));
    }

    #[test]
    fn resize_keeps_constant_images_and_halves_exactly() {
        let src = gray(40, 30, |_, _| 123);
        let mut dst = Gray::default();
        let mut t = ResizeTables::default();
        resize_linear(&src, &mut dst, 29, 21, &mut t);
        assert!(dst.pixels.iter().all(|&p| p == 123), "{:?}", &dst.pixels[..10]);
        let src = gray(4, 2, |x, y| (x * 10 + y * 100) as u8);
        resize_linear(&src, &mut dst, 2, 1, &mut t);
        assert_eq!(dst.pixels, vec![55, 75]);
    }

    #[test]
    fn resize_is_opencvs_bit_exact_linear() {
        // Expected values from OpenCV 4.14 `resize(..., INTER_LINEAR_EXACT)`; the 11-bit
        // `INTER_LINEAR` gives 91 and 71 instead of 92 and 72 in the last row.
        let src = gray(7, 5, |x, y| ((x * 37 + y * 91) % 256) as u8);
        let mut dst = Gray::default();
        let mut t = ResizeTables::default();
        resize_linear(&src, &mut dst, 4, 3, &mut t);
        assert_eq!(dst.pixels, vec![44, 109, 174, 153, 196, 5, 69, 134, 92, 156, 72, 115]);
        // Upscaling: positions outside the source take the edge pixels.
        let src = gray(3, 2, |x, y| ((x * 37 + y * 91) % 256) as u8);
        resize_linear(&src, &mut dst, 5, 3, &mut t);
        assert_eq!(dst.pixels, vec![0, 15, 37, 59, 74, 46, 60, 83, 105, 120, 91, 106, 128, 150, 165]);
    }
}
