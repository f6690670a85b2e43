//! Integral images as OpenCV's `integral(img, sum, sqsum, tilted, CV_32S, CV_32S)` makes them.
//!
//! Each table has one more row and column than the image (row 0 and column 0 are 0) and a
//! caller-chosen row stride, so one set of feature offsets serves every pyramid level.
//! The squared sum is 32-bit and wraps, like OpenCV's: differences over one window are
//! still exact as long as the window's own sum of squares fits in 32 bits.

use super::prep::Gray;

/// Sum, squared sum and (optionally) tilted sum of one image, row stride `stride`.
#[derive(Debug, Clone, Default)]
pub struct Integral {
    pub stride: usize,
    /// Image size (the tables are one larger in each direction).
    pub width: usize,
    pub height: usize,
    pub sum: Vec<i32>,
    pub sqsum: Vec<u32>,
    /// Rotated (45 degree) sums; empty unless asked for.
    pub tilted: Vec<i32>,
    /// Scratch for the tilted table, which needs room left and right of the image.
    tilted_scratch: Vec<i32>,
}

impl Integral {
    /// Fills the tables for `img`; `stride` must be at least `img.width + 1`.
    pub fn compute(&mut self, img: &Gray, stride: usize, with_tilted: bool) {
        let (w, h) = (img.width, img.height);
        let stride = stride.max(w + 1);
        self.stride = stride;
        self.width = w;
        self.height = h;
        let len = stride * (h + 1);
        self.sum.resize(len, 0);
        self.sqsum.resize(len, 0);
        self.sum[..w + 1].fill(0);
        self.sqsum[..w + 1].fill(0);
        for y in 0..h {
            let row = &img.pixels[y * w..][..w];
            let (above, below) = self.sum.split_at_mut((y + 1) * stride);
            let (sq_above, sq_below) = self.sqsum.split_at_mut((y + 1) * stride);
            let prev = &above[y * stride..][..w + 1];
            let sq_prev = &sq_above[y * stride..][..w + 1];
            let cur = &mut below[..w + 1];
            let sq_cur = &mut sq_below[..w + 1];
            cur[0] = 0;
            sq_cur[0] = 0;
            let (mut s, mut sq) = (0i32, 0u32);
            for x in 0..w {
                let p = i32::from(row[x]);
                s = s.wrapping_add(p);
                sq = sq.wrapping_add((p * p) as u32);
                cur[x + 1] = prev[x + 1].wrapping_add(s);
                sq_cur[x + 1] = sq_prev[x + 1].wrapping_add(sq);
            }
        }
        if with_tilted {
            self.compute_tilted(img);
        } else {
            self.tilted.clear();
        }
    }

    /// tilted(X, Y) = sum of img(x, y) over y < Y and |x - X + 1| <= Y - y - 1, by the
    /// recurrence T(X,Y) = T(X-1,Y-1) + T(X+1,Y-1) - T(X,Y-2) + I(X-1,Y-1) + I(X-1,Y-2)
    /// evaluated on a strip wide enough that no triangle is cut at the sides.
    fn compute_tilted(&mut self, img: &Gray) {
        let (w, h) = (img.width, img.height);
        let pad = h + 2;
        let sw = w + 1 + 2 * pad;
        let t = &mut self.tilted_scratch;
        t.clear();
        t.resize(sw * (h + 1), 0);
        let pixel = |x: isize, y: isize| -> i32 {
            if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
                0
            } else {
                i32::from(img.pixels[y as usize * w + x as usize])
            }
        };
        for yy in 1..=h {
            for sx in 1..sw - 1 {
                let x = sx as isize - pad as isize;
                let mut v = t[(yy - 1) * sw + sx - 1] + t[(yy - 1) * sw + sx + 1];
                if yy >= 2 {
                    v -= t[(yy - 2) * sw + sx];
                }
                v += pixel(x - 1, yy as isize - 1) + pixel(x - 1, yy as isize - 2);
                t[yy * sw + sx] = v;
            }
        }
        self.tilted.resize(self.stride * (h + 1), 0);
        for yy in 0..=h {
            self.tilted[yy * self.stride..][..w + 1].copy_from_slice(&t[yy * sw + pad..][..w + 1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img() -> Gray {
        let (w, h) = (7, 5);
        Gray { width: w, height: h, pixels: (0..w * h).map(|i| ((i * 37) % 251) as u8).collect() }
    }

    #[test]
    fn sums_match_brute_force() {
        let g = img();
        let mut it = Integral::default();
        it.compute(&g, 11, true);
        for yy in 0..=g.height {
            for xx in 0..=g.width {
                let (mut s, mut sq, mut t) = (0i64, 0i64, 0i64);
                for y in 0..g.height {
                    for x in 0..g.width {
                        let p = i64::from(g.pixels[y * g.width + x]);
                        if x < xx && y < yy {
                            s += p;
                            sq += p * p;
                        }
                        if (x as i64 - xx as i64 + 1).abs() < yy as i64 - y as i64 {
                            t += p;
                        }
                    }
                }
                let i = yy * 11 + xx;
                assert_eq!(i64::from(it.sum[i]), s);
                assert_eq!(i64::from(it.sqsum[i]), sq);
                assert_eq!(i64::from(it.tilted[i]), t, "tilted at {xx},{yy}");
            }
        }
    }
}
