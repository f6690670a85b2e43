//! Local binary pattern histograms (LBPH) exactly as OpenCV's `cv::face::LBPHFaceRecognizer`
//! computes them: circular LBP with bilinear sampling, an 8x8 grid of 256-bin histograms
//! normalised per cell, and nearest neighbour by the alternative chi-square distance.

use super::IdentityError;

/// Sampling circle radius, pixels.
pub const RADIUS: usize = 1;
/// Points sampled on the circle (one bit each of the pattern code).
pub const NEIGHBORS: usize = 8;
/// Cells per row and per column of the spatial histogram.
pub const GRID: usize = 8;
/// Distinct pattern codes: 2^NEIGHBORS.
pub const PATTERNS: usize = 1 << NEIGHBORS;
/// Length of one face's feature vector: a histogram per grid cell.
pub const HISTOGRAM_LEN: usize = GRID * GRID * PATTERNS;
// The store keeps histograms of exactly this length.
const _: () = assert!(HISTOGRAM_LEN == crate::store::HISTOGRAM_LEN);
/// Smallest crop side, pixels: each grid cell must hold at least one pattern.
pub const MIN_SIDE: usize = GRID + 2 * RADIUS;

/// One sample point of the circle: integer neighbours and bilinear weights, computed in the
/// same precision (f64 angle, f32 weights) as OpenCV's `elbp_`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    fx: isize,
    fy: isize,
    cx: isize,
    cy: isize,
    w: [f32; 4],
}

fn samples() -> [Sample; NEIGHBORS] {
    std::array::from_fn(|n| {
        let radius = RADIUS as f64;
        let angle = 2.0 * std::f64::consts::PI * n as f64 / f64::from(NEIGHBORS as f32);
        let x = (radius * angle.cos()) as f32;
        let y = (-radius * angle.sin()) as f32;
        let (fx, fy) = (x.floor() as isize, y.floor() as isize);
        let (cx, cy) = (x.ceil() as isize, y.ceil() as isize);
        let ty = y - fy as f32;
        let tx = x - fx as f32;
        let w = [(1.0 - tx) * (1.0 - ty), tx * (1.0 - ty), (1.0 - tx) * ty, tx * ty];
        Sample { fx, fy, cx, cy, w }
    })
}

/// Computes LBPH feature vectors; owns its pattern buffer so that repeated calls do not
/// allocate.
#[derive(Debug, Clone)]
pub struct LbphExtractor {
    samples: [Sample; NEIGHBORS],
    codes: Vec<u8>,
}

impl Default for LbphExtractor {
    fn default() -> Self {
        Self { samples: samples(), codes: Vec::new() }
    }
}

impl LbphExtractor {
    /// Writes the spatial histogram of the `width` x `height` grayscale image `gray` (row by
    /// row) into `dst` ([`HISTOGRAM_LEN`] values, cell by cell in row order).
    pub fn histogram_into(
        &mut self,
        gray: &[u8],
        width: usize,
        height: usize,
        dst: &mut [f32],
    ) -> Result<(), IdentityError> {
        if width < MIN_SIDE || height < MIN_SIDE || gray.len() != width * height {
            return Err(IdentityError::CropSize { width, height, pixels: gray.len() });
        }
        if dst.len() != HISTOGRAM_LEN {
            return Err(IdentityError::HistogramLength { found: dst.len(), expected: HISTOGRAM_LEN });
        }
        let (lw, lh) = (width - 2 * RADIUS, height - 2 * RADIUS);
        self.codes.clear();
        self.codes.resize(lw * lh, 0);
        let at = |y: usize, x: usize| f32::from(gray[y * width + x]);
        // Bit by bit as OpenCV does (the order of the float operations decides ties).
        for (n, s) in self.samples.iter().enumerate() {
            for i in RADIUS..height - RADIUS {
                let (yf, yc) = (i.wrapping_add_signed(s.fy), i.wrapping_add_signed(s.cy));
                for j in RADIUS..width - RADIUS {
                    let (xf, xc) = (j.wrapping_add_signed(s.fx), j.wrapping_add_signed(s.cx));
                    let t = s.w[0] * at(yf, xf) + s.w[1] * at(yf, xc) + s.w[2] * at(yc, xf) + s.w[3] * at(yc, xc);
                    let center = at(i, j);
                    let bit = t > center || (t - center).abs() < f32::EPSILON;
                    self.codes[(i - RADIUS) * lw + (j - RADIUS)] |= u8::from(bit) << n;
                }
            }
        }
        let (cell_w, cell_h) = (lw / GRID, lh / GRID);
        // OpenCV divides the counts by scaling with the float reciprocal of the cell size.
        let scale = (1.0 / (cell_w * cell_h) as f64) as f32;
        dst.fill(0.0);
        for gy in 0..GRID {
            for gx in 0..GRID {
                let hist = &mut dst[(gy * GRID + gx) * PATTERNS..][..PATTERNS];
                for y in gy * cell_h..(gy + 1) * cell_h {
                    for &code in &self.codes[y * lw + gx * cell_w..][..cell_w] {
                        hist[usize::from(code)] += 1.0;
                    }
                }
                for v in hist.iter_mut() {
                    *v *= scale;
                }
            }
        }
        Ok(())
    }

    /// [`Self::histogram_into`] into a new vector.
    pub fn histogram(&mut self, gray: &[u8], width: usize, height: usize) -> Result<Vec<f32>, IdentityError> {
        let mut dst = vec![0.0; HISTOGRAM_LEN];
        self.histogram_into(gray, width, height, &mut dst)?;
        Ok(dst)
    }
}

/// OpenCV's `compareHist(.., HISTCMP_CHISQR_ALT)`: 2 * sum((a - b)^2 / (a + b)) over the bins
/// where a + b is not zero.
pub fn chi_square_alt(a: &[f32], b: &[f32]) -> f64 {
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let (x, y) = (f64::from(x), f64::from(y));
            let d = x - y;
            let s = x + y;
            if s.abs() > f64::EPSILON { d * d / s } else { 0.0 }
        })
        .sum();
    2.0 * sum
}

/// The nearest stored histogram to a query: its label and distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub label: i32,
    pub distance: f64,
}

/// Labelled training histograms, as OpenCV's model holds them after `train`.
#[derive(Debug, Clone, Default)]
pub struct LbphModel {
    labels: Vec<i32>,
    /// All histograms one after another, [`HISTOGRAM_LEN`] values each.
    histograms: Vec<f32>,
}

impl LbphModel {
    /// Adds one training histogram with its label.
    pub fn push(&mut self, label: i32, histogram: &[f32]) -> Result<(), IdentityError> {
        if histogram.len() != HISTOGRAM_LEN {
            return Err(IdentityError::HistogramLength { found: histogram.len(), expected: HISTOGRAM_LEN });
        }
        self.labels.push(label);
        self.histograms.extend_from_slice(histogram);
        Ok(())
    }

    /// Number of training histograms.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Drops every histogram of `label`.
    pub fn remove_label(&mut self, label: i32) {
        let mut kept = 0;
        for i in 0..self.labels.len() {
            if self.labels[i] != label {
                self.labels[kept] = self.labels[i];
                self.histograms.copy_within(i * HISTOGRAM_LEN..(i + 1) * HISTOGRAM_LEN, kept * HISTOGRAM_LEN);
                kept += 1;
            }
        }
        self.labels.truncate(kept);
        self.histograms.truncate(kept * HISTOGRAM_LEN);
    }

    /// The nearest training histogram whose distance is below `threshold` (OpenCV's
    /// `StandardCollector`: strictly below, the first of equal distances wins); `None` when
    /// there is none.
    pub fn predict(&self, query: &[f32], threshold: f64) -> Option<Prediction> {
        let mut best: Option<Prediction> = None;
        for (label, h) in self.labels.iter().zip(self.histograms.chunks_exact(HISTOGRAM_LEN)) {
            let distance = chi_square_alt(h, query);
            if distance < threshold && best.is_none_or(|b| distance < b.distance) {
                best = Some(Prediction { label: *label, distance });
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| f(x, y)).collect()
    }

    #[test]
    fn sample_points_match_opencv_offsets() {
        let s = samples();
        // n = 0 is (1, 0): the right neighbour with full weight.
        assert_eq!((s[0].fx, s[0].fy, s[0].cx, s[0].cy), (1, 0, 1, 0));
        assert_eq!(s[0].w[0], 1.0);
        // n = 2 is straight up; cos(pi/2) is not exactly zero in floating point, so the
        // right column gets a tiny weight, as in OpenCV.
        assert_eq!((s[2].fx, s[2].fy, s[2].cx), (0, -1, 1));
        assert!(s[2].w[1] > 0.0 && s[2].w[1] < 1e-6);
        // n = 1 is a diagonal: four weights summing to one.
        let sum: f32 = s[1].w.iter().sum();
        assert!((sum - 1.0).abs() < 1e-6 && s[1].w.iter().all(|&w| w > 0.0));
    }

    #[test]
    fn flat_image_sets_every_bit() {
        // Every neighbour equals the centre (within epsilon), so every code is 255.
        let gray = vec![77u8; 20 * 20];
        let h = LbphExtractor::default().histogram(&gray, 20, 20).expect("valid size");
        for cell in h.chunks_exact(PATTERNS) {
            assert_eq!(cell[255], 1.0);
            assert_eq!(cell.iter().sum::<f32>(), 1.0);
        }
    }

    #[test]
    fn single_bright_pixel_gives_zero_code_at_its_centre() {
        let mut gray = vec![10u8; 12 * 12];
        gray[5 * 12 + 5] = 200;
        let mut ex = LbphExtractor::default();
        let h = ex.histogram(&gray, 12, 12).expect("valid size");
        // The 10x10 pattern image splits into 1x1 cells; the bright pixel is pattern (4, 4),
        // cell (4, 4), and no neighbour reaches it.
        assert_eq!(h[(4 * GRID + 4) * PATTERNS], 1.0);
        // Its right neighbour (pattern (4, 5)) has every neighbour at or above its centre.
        assert_eq!(h[(4 * GRID + 5) * PATTERNS + 255], 1.0);
        assert_eq!(ex.codes[4 * 10 + 5], 255);
        // Two rows below it, nothing is brighter than the centre except equal neighbours.
        assert_eq!(ex.codes[6 * 10 + 4], 255);
    }

    #[test]
    fn cells_drop_the_remainder_columns() {
        // 21 wide: 19 pattern columns, 2 per cell, the last 3 columns unused; a change there
        // leaves the histogram alone.
        let a = image(21, 21, |x, y| ((x * 7 + y * 13) % 251) as u8);
        let mut b = a.clone();
        b[10 * 21 + 20] = 255;
        let mut ex = LbphExtractor::default();
        assert_eq!(ex.histogram(&a, 21, 21).expect("valid"), ex.histogram(&b, 21, 21).expect("valid"));
    }

    #[test]
    fn too_small_crop_is_an_error() {
        let err = LbphExtractor::default().histogram(&[0; 81], 9, 9).expect_err("9x9 is too small");
        assert!(err.to_string().contains("9x9"), "{err}");
    }

    #[test]
    fn chi_square_alt_skips_empty_bins_and_doubles() {
        assert_eq!(chi_square_alt(&[0.0, 1.0, 0.5], &[0.0, 0.0, 0.5]), 2.0);
        assert_eq!(chi_square_alt(&[0.25, 0.75], &[0.25, 0.75]), 0.0);
    }

    #[test]
    fn predict_finds_the_nearest_label_below_the_threshold() {
        let mut ex = LbphExtractor::default();
        let a = ex.histogram(&image(24, 24, |x, y| ((x * 31 + y * 17) % 256) as u8), 24, 24).expect("valid");
        let b = ex.histogram(&image(24, 24, |x, y| ((x * y) % 256) as u8), 24, 24).expect("valid");
        let mut model = LbphModel::default();
        model.push(1, &a).expect("length");
        model.push(2, &b).expect("length");
        let hit = model.predict(&b, f64::MAX).expect("nearest");
        assert_eq!((hit.label, hit.distance), (2, 0.0));
        let far = chi_square_alt(&a, &b);
        assert!(model.predict(&a, far).is_some_and(|p| p.label == 1));
        model.remove_label(1);
        assert_eq!(model.len(), 1);
        assert_eq!(model.predict(&a, far), None);
    }
}
