//! Optimal assignment (Hungarian / Kuhn-Munkres, shortest augmenting paths), O(n^2 m).
//!
//! Tracks are matched to detections by minimum total cost, not greedily: a greedy
//! match lets the first track take a detection that a later track needed, which is
//! how ids swap when two people pass each other.

/// Cost at or above which a pair is never matched.
pub const FORBIDDEN: f64 = 1e9;

/// Reusable buffers; one per tracker, so matching allocates nothing once warmed up.
#[derive(Debug, Default)]
pub struct Hungarian {
    u: Vec<f64>,
    v: Vec<f64>,
    p: Vec<usize>,
    way: Vec<usize>,
    minv: Vec<f64>,
    used: Vec<bool>,
    transposed: Vec<f64>,
}

impl Hungarian {
    /// Minimum-cost matching of a `rows` x `cols` row-major cost matrix. `out[r]` is the
    /// column matched to row `r`, or `None` when unmatched or the cost is [`FORBIDDEN`].
    /// Every column is used at most once.
    pub fn solve(&mut self, costs: &[f64], rows: usize, cols: usize, out: &mut Vec<Option<usize>>) {
        out.clear();
        out.resize(rows, None);
        if rows == 0 || cols == 0 {
            return;
        }
        debug_assert_eq!(costs.len(), rows * cols);
        if rows <= cols {
            self.run(|r, c| costs[r * cols + c], rows, cols);
            for j in 1..=cols {
                let i = self.p[j];
                if i != 0 && costs[(i - 1) * cols + (j - 1)] < FORBIDDEN {
                    out[i - 1] = Some(j - 1);
                }
            }
        } else {
            // The algorithm needs rows <= cols: solve the transpose.
            let mut t = std::mem::take(&mut self.transposed);
            t.clear();
            t.extend((0..cols * rows).map(|k| costs[(k % rows) * cols + k / rows]));
            self.run(|r, c| t[r * rows + c], cols, rows);
            for j in 1..=rows {
                let i = self.p[j];
                if i != 0 && costs[(j - 1) * cols + (i - 1)] < FORBIDDEN {
                    out[j - 1] = Some(i - 1);
                }
            }
            self.transposed = t;
        }
    }

    fn run(&mut self, a: impl Fn(usize, usize) -> f64, n: usize, m: usize) {
        const INF: f64 = f64::INFINITY;
        for buf in [&mut self.u, &mut self.v, &mut self.minv] {
            buf.clear();
        }
        self.u.resize(n + 1, 0.0);
        self.v.resize(m + 1, 0.0);
        self.p.clear();
        self.p.resize(m + 1, 0);
        self.way.clear();
        self.way.resize(m + 1, 0);
        for i in 1..=n {
            self.p[0] = i;
            let mut j0 = 0;
            self.minv.clear();
            self.minv.resize(m + 1, INF);
            self.used.clear();
            self.used.resize(m + 1, false);
            loop {
                self.used[j0] = true;
                let i0 = self.p[j0];
                let mut delta = INF;
                let mut j1 = 0;
                for j in 1..=m {
                    if !self.used[j] {
                        let cur = a(i0 - 1, j - 1) - self.u[i0] - self.v[j];
                        if cur < self.minv[j] {
                            self.minv[j] = cur;
                            self.way[j] = j0;
                        }
                        if self.minv[j] < delta {
                            delta = self.minv[j];
                            j1 = j;
                        }
                    }
                }
                for j in 0..=m {
                    if self.used[j] {
                        self.u[self.p[j]] += delta;
                        self.v[j] -= delta;
                    } else {
                        self.minv[j] -= delta;
                    }
                }
                j0 = j1;
                if self.p[j0] == 0 {
                    break;
                }
            }
            loop {
                let j1 = self.way[j0];
                self.p[j0] = self.p[j1];
                j0 = j1;
                if j0 == 0 {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn total(costs: &[f64], cols: usize, a: &[Option<usize>]) -> f64 {
        a.iter().enumerate().filter_map(|(r, c)| c.map(|c| costs[r * cols + c])).sum()
    }

    /// Best total over all matchings that use min(rows, cols) pairs, by brute force.
    fn brute_force(costs: &[f64], rows: usize, cols: usize) -> f64 {
        fn go(r: usize, rows: usize, cols: usize, used: &mut Vec<bool>, costs: &[f64], need: usize) -> f64 {
            if need == 0 {
                return 0.0;
            }
            if r == rows {
                return f64::INFINITY;
            }
            let mut best = if rows - r > need { go(r + 1, rows, cols, used, costs, need) } else { f64::INFINITY };
            for c in 0..cols {
                if !used[c] {
                    used[c] = true;
                    best = best.min(costs[r * cols + c] + go(r + 1, rows, cols, used, costs, need - 1));
                    used[c] = false;
                }
            }
            best
        }
        go(0, rows, cols, &mut vec![false; cols], costs, rows.min(cols))
    }

    #[test]
    fn greedy_would_be_wrong_here() {
        // Row 0 prefers col 0 slightly; row 1 needs col 0 badly. Optimal: 0->1, 1->0.
        let costs = [0.1, 0.2, 0.15, 5.0];
        let mut out = Vec::new();
        Hungarian::default().solve(&costs, 2, 2, &mut out);
        assert_eq!(out, vec![Some(1), Some(0)]);
    }

    #[test]
    fn forbidden_pairs_stay_unmatched() {
        let costs = [FORBIDDEN, 0.5];
        let mut out = Vec::new();
        Hungarian::default().solve(&costs, 2, 1, &mut out);
        assert_eq!(out, vec![None, Some(0)]);
    }

    proptest! {
        #[test]
        fn never_assigns_a_column_twice_and_is_optimal(
            rows in 0usize..6,
            cols in 0usize..6,
            seed in proptest::collection::vec(0.0f64..10.0, 36),
        ) {
            let costs: Vec<f64> = seed[..rows * cols].to_vec();
            let mut out = Vec::new();
            Hungarian::default().solve(&costs, rows, cols, &mut out);
            prop_assert_eq!(out.len(), rows);
            let mut seen = vec![false; cols];
            for c in out.iter().flatten() {
                prop_assert!(!seen[*c], "column {} assigned twice", c);
                seen[*c] = true;
            }
            prop_assert_eq!(out.iter().flatten().count(), rows.min(cols));
            let best = brute_force(&costs, rows, cols);
            prop_assert!((total(&costs, cols, &out) - best).abs() < 1e-9);
        }
    }
}
