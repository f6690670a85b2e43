//! OpenCV's `groupRectangles`: cluster similar candidate windows, average each cluster,
//! keep clusters with more than `min_neighbors` members, drop clusters inside bigger ones.

/// An integer rectangle in frame pixels (OpenCV's `cv::Rect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

/// `detectMultiScale`'s grouping tolerance (`GROUP_EPS`).
pub const GROUP_EPS: f64 = 0.2;
/// A cluster with fewer members than this never removes a neighbour of its own size.
const STRONG_CLUSTER: i32 = 3;

/// `SimilarRects`: corners within `eps` times the mean of the smaller sides.
fn similar(a: &Rect, b: &Rect, eps: f64) -> bool {
    let delta = eps * f64::from(a.w.min(b.w) + a.h.min(b.h)) * 0.5;
    f64::from((a.x - b.x).abs()) <= delta
        && f64::from((a.y - b.y).abs()) <= delta
        && f64::from((a.x + a.w - b.x - b.w).abs()) <= delta
        && f64::from((a.y + a.h - b.y - b.h).abs()) <= delta
}

/// Reusable buffers of [`group_rectangles`].
#[derive(Debug, Default, Clone)]
pub struct Grouper {
    parent: Vec<usize>,
    label: Vec<usize>,
    sums: Vec<[i64; 4]>,
    counts: Vec<i32>,
    means: Vec<Rect>,
}

impl Grouper {
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Groups `rects` in place into the clusters OpenCV returns, with their member counts
    /// written to `neighbors`. With `min_neighbors <= 0` nothing is grouped.
    pub fn group(&mut self, rects: &mut Vec<Rect>, neighbors: &mut Vec<i32>, min_neighbors: i32, eps: f64) {
        neighbors.clear();
        if min_neighbors <= 0 || rects.is_empty() {
            neighbors.resize(rects.len(), 1);
            return;
        }
        let n = rects.len();
        self.parent.clear();
        self.parent.extend(0..n);
        for i in 0..n {
            for j in i + 1..n {
                if similar(&rects[i], &rects[j], eps) {
                    let (a, b) = (self.find(i), self.find(j));
                    if a != b {
                        self.parent[a.max(b)] = a.min(b);
                    }
                }
            }
        }
        // Number the classes in order of first appearance.
        self.label.clear();
        self.label.resize(n, usize::MAX);
        self.sums.clear();
        self.counts.clear();
        #[allow(clippy::needless_range_loop)] // `i` is both a union-find node and a rect index
        for i in 0..n {
            let root = self.find(i);
            if self.label[root] == usize::MAX {
                self.label[root] = self.sums.len();
                self.sums.push([0; 4]);
                self.counts.push(0);
            }
            let c = self.label[root];
            let r = rects[i];
            for (s, v) in self.sums[c].iter_mut().zip([r.x, r.y, r.w, r.h]) {
                *s += i64::from(v);
            }
            self.counts[c] += 1;
        }
        self.means.clear();
        for (s, &count) in self.sums.iter().zip(&self.counts) {
            // OpenCV: float s = 1.f/n; cvRound(sum * s) in float.
            let inv = 1.0f32 / count as f32;
            let avg = |v: i64| (v as f32 * inv).round_ties_even() as i32;
            self.means.push(Rect { x: avg(s[0]), y: avg(s[1]), w: avg(s[2]), h: avg(s[3]) });
        }
        rects.clear();
        for i in 0..self.means.len() {
            let (r1, n1) = (self.means[i], self.counts[i]);
            if n1 <= min_neighbors {
                continue;
            }
            let inside_stronger = (0..self.means.len()).any(|j| {
                let (r2, n2) = (self.means[j], self.counts[j]);
                if j == i || n2 <= min_neighbors {
                    return false;
                }
                let dx = (f64::from(r2.w) * eps).round_ties_even() as i32;
                let dy = (f64::from(r2.h) * eps).round_ties_even() as i32;
                r1.x >= r2.x - dx
                    && r1.y >= r2.y - dy
                    && r1.x + r1.w <= r2.x + r2.w + dx
                    && r1.y + r1.h <= r2.y + r2.h + dy
                    && (n2 > STRONG_CLUSTER.max(n1) || n1 < STRONG_CLUSTER)
            });
            if !inside_stronger {
                rects.push(r1);
                neighbors.push(n1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: i32, y: i32, w: i32, h: i32) -> Rect {
        Rect { x, y, w, h }
    }

    #[test]
    fn clusters_are_averaged_and_thresholded() {
        let mut g = Grouper::default();
        let mut rects = vec![r(10, 10, 40, 40), r(12, 11, 40, 40), r(11, 12, 42, 42), r(200, 200, 40, 40)];
        let mut n = Vec::new();
        g.group(&mut rects, &mut n, 2, GROUP_EPS);
        // (10+12+11)/3 = 11, (10+11+12)/3 = 11, (40+40+42)/3 = 40.67 -> 41
        assert_eq!(rects, vec![r(11, 11, 41, 41)]);
        assert_eq!(n, vec![3]);
    }

    #[test]
    fn small_cluster_inside_a_big_one_is_dropped() {
        let mut g = Grouper::default();
        let mut rects = vec![r(100, 100, 100, 100); 5];
        rects.extend(vec![r(120, 120, 40, 40); 2]);
        let mut n = Vec::new();
        g.group(&mut rects, &mut n, 1, GROUP_EPS);
        assert_eq!(rects, vec![r(100, 100, 100, 100)]);
    }

    #[test]
    fn zero_min_neighbors_keeps_everything() {
        let mut g = Grouper::default();
        let mut rects = vec![r(0, 0, 5, 5), r(1, 1, 5, 5)];
        let mut n = Vec::new();
        g.group(&mut rects, &mut n, 0, GROUP_EPS);
        assert_eq!(rects.len(), 2);
        assert_eq!(n, vec![1, 1]);
    }
}
