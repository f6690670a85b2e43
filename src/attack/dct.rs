//! The 2-D DCT-II basis of a square picture and the low-frequency-first order SimBA-DCT tries it in.

/// A square picture's cosine basis: one N x N pattern per frequency pair (u, v).
///
/// Patterns are scaled to a peak of exactly 1 (not to unit length), so a step of `s` gray
/// levels along one changes no pixel by more than `s`.
#[derive(Debug, Clone)]
pub struct DctBasis {
    side: usize,
    /// `cosines[k * side + x]` = cos(pi * (2x + 1) * k / 2N), for frequency k and position x.
    cosines: Vec<f32>,
}

impl DctBasis {
    pub fn new(side: usize) -> Self {
        let n = side as f64;
        let mut cosines = Vec::with_capacity(side * side);
        for k in 0..side {
            for x in 0..side {
                cosines.push((std::f64::consts::PI * (2.0 * x as f64 + 1.0) * k as f64 / (2.0 * n)).cos() as f32);
            }
        }
        Self { side, cosines }
    }

    pub fn side(&self) -> usize {
        self.side
    }

    /// Writes the pattern of frequency `(u, v)` (u across columns, v down rows) into `dst`
    /// (row-major, `side * side` values), scaled to a peak absolute value of 1.
    pub fn pattern_into(&self, (u, v): (usize, usize), dst: &mut [f32]) {
        let n = self.side;
        let cu = &self.cosines[u * n..(u + 1) * n];
        let cv = &self.cosines[v * n..(v + 1) * n];
        for (row, dst_row) in cv.iter().zip(dst.chunks_exact_mut(n)) {
            for (d, c) in dst_row.iter_mut().zip(cu) {
                *d = row * c;
            }
        }
        let peak = dst.iter().fold(0.0f32, |m, d| m.max(d.abs()));
        if peak > 0.0 {
            dst.iter_mut().for_each(|d| *d /= peak);
        }
    }
}

/// The frequency pairs (u, v) with both below `limit`, those with max(u, v) below `done`
/// left out: the next band of an ever wider low-frequency square. Within the band the order
/// is shuffled by `rng` (Guo et al. 2019 try low frequencies first, in random order).
pub fn band_order(done: usize, limit: usize, rng: &mut SplitMix64) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> =
        (0..limit).flat_map(|v| (0..limit).map(move |u| (u, v))).filter(|&(u, v)| u.max(v) >= done).collect();
    // Fisher-Yates.
    for i in (1..pairs.len()).rev() {
        let j = rng.below(i + 1);
        pairs.swap(i, j);
    }
    pairs
}

/// A small seeded random number generator (SplitMix64): the attack is repeatable for a seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in 0..n (n > 0); the modulo bias is negligible for picture-sized n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_orthogonal_and_peak_at_one() {
        let basis = DctBasis::new(8);
        let mut a = vec![0.0; 64];
        let mut b = vec![0.0; 64];
        basis.pattern_into((0, 0), &mut a);
        assert!(a.iter().all(|v| (v - 1.0).abs() < 1e-6), "DC is flat");
        for (p, q) in [((1, 0), (0, 1)), ((2, 3), (3, 2)), ((1, 1), (1, 2)), ((0, 0), (7, 7))] {
            basis.pattern_into(p, &mut a);
            basis.pattern_into(q, &mut b);
            let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(dot.abs() < 1e-4, "{p:?} . {q:?} = {dot}");
            let peak = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!((peak - 1.0).abs() < 1e-6);
        }
        // (1, 0) varies across columns only: one half-cosine from +1 to -1.
        basis.pattern_into((1, 0), &mut a);
        assert!(a[0] > 0.9 && a[7] < -0.9 && (a[0] - a[56]).abs() < 1e-6);
    }

    #[test]
    fn bands_cover_each_frequency_once_lowest_first() {
        let mut rng = SplitMix64::new(7);
        let first = band_order(0, 4, &mut rng);
        let second = band_order(4, 8, &mut rng);
        assert_eq!(first.len(), 16);
        assert_eq!(second.len(), 64 - 16);
        assert!(first.iter().all(|&(u, v)| u < 4 && v < 4));
        assert!(second.iter().all(|&(u, v)| u.max(v) >= 4 && u < 8 && v < 8));
        let mut all: Vec<_> = first.iter().chain(&second).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 64);
        // Shuffled, and the same for the same seed.
        let sorted: Vec<_> = (0..4).flat_map(|v| (0..4).map(move |u| (u, v))).collect();
        assert_ne!(first, sorted);
        assert_eq!(band_order(0, 4, &mut SplitMix64::new(7)), first);
    }
}
