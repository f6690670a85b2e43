//! `detectMultiScale` without grouping, as OpenCV 4 runs it on the CPU: for each scale
//! the image is resized, its integral images built, and a fixed-size window slides over
//! it (step 2 below scale 2, else 1; one extra step after a window fails stage 0).
//!
//! The cascade is "compiled" for one integral-image stride: every feature rectangle
//! becomes four offsets from the window's corner, stored inline with its stump, so
//! a window is evaluated with no indirection and no allocation.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::group::Rect;
use super::integral::Integral;
use super::parse::{Cascade, Feature, RECTS_PER_FEATURE};
use super::prep::{Gray, ResizeTables, resize_linear};

/// A window whose normalised area is at least this is flat (OpenCV's `setWindow`).
const FLAT_WINDOW: f64 = 0.1;
/// From this scale on OpenCV slides the window 1 px at a time instead of 2.
const DENSE_SCALE: f32 = 2.0;

/// The four corner offsets of a rectangle and its weight.
#[derive(Debug, Clone, Copy, Default)]
struct OffRect {
    ofs: [u32; 4],
}

/// A feature compiled for one stride; a zero weight marks an unused rectangle.
#[derive(Debug, Clone, Copy, Default)]
struct CFeature {
    rects: [OffRect; RECTS_PER_FEATURE],
    weights: [f32; RECTS_PER_FEATURE],
    tilted: bool,
}

/// A single-node tree with its feature inline.
#[derive(Debug, Clone, Copy)]
struct Stump {
    feature: CFeature,
    threshold: f32,
    left: f32,
    right: f32,
}

/// A node of a deeper tree (see [`super::parse::Node3`] for the child convention).
#[derive(Debug, Clone, Copy)]
struct CNode {
    feature: CFeature,
    threshold: f32,
    left: i32,
    right: i32,
}

/// A tree of at most two nodes (OpenCV's alt2), flattened: the root, and the child that
/// one side of the root leads to, with the three leaves inline.
#[derive(Debug, Clone, Copy)]
struct Tree2 {
    root: CFeature,
    root_threshold: f32,
    child: CFeature,
    child_threshold: f32,
    /// The root's side (0 left, 1 right) that leads to the child; 2 when it has none.
    child_side: usize,
    /// The leaf each side of the root leads to (the child's side is unused).
    root_leaves: [f32; 2],
    /// The child's left and right leaves.
    child_leaves: [f32; 2],
}

/// How the trees of a cascade are stored and evaluated.
const STUMPS: u8 = 0;
const TWO_NODES: u8 = 1;
const GENERAL: u8 = 2;

#[derive(Debug, Clone, Copy)]
struct CStage {
    threshold: f32,
    /// Range in `stumps` (stump cascades), `trees2` (two-node trees) or `trees` (others).
    first: usize,
    count: usize,
}

#[derive(Debug, Clone, Copy)]
struct CTree {
    first_node: usize,
    first_leaf: usize,
}

/// A cascade ready to evaluate on integral images of one stride.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub stride: usize,
    pub window_w: usize,
    pub window_h: usize,
    tilted: bool,
    stages: Vec<CStage>,
    kind: u8,
    stumps: Vec<Stump>,
    trees2: Vec<Tree2>,
    trees: Vec<CTree>,
    nodes: Vec<CNode>,
    leaves: Vec<f32>,
    norm: OffRect,
    norm_area: f64,
    /// Largest offset any feature reads from the window corner.
    reach: usize,
}

fn sum_ofs(x: i32, y: i32, w: i32, h: i32, stride: usize) -> OffRect {
    let at = |x: i32, y: i32| (y as usize * stride + x as usize) as u32;
    OffRect { ofs: [at(x, y), at(x + w, y), at(x, y + h), at(x + w, y + h)] }
}

fn tilted_ofs(x: i32, y: i32, w: i32, h: i32, stride: usize) -> OffRect {
    let at = |x: i32, y: i32| (y as usize * stride + x as usize) as u32;
    OffRect { ofs: [at(x, y), at(x - h, y + h), at(x + w, y + w), at(x + w - h, y + w + h)] }
}

fn compile_feature(f: &Feature, stride: usize) -> CFeature {
    let mut c = CFeature { tilted: f.tilted, ..CFeature::default() };
    for (i, r) in f.rects.iter().enumerate() {
        c.weights[i] = r.weight;
        if r.weight != 0.0 {
            c.rects[i] =
                if f.tilted { tilted_ofs(r.x, r.y, r.w, r.h, stride) } else { sum_ofs(r.x, r.y, r.w, r.h, stride) };
        }
    }
    c
}

impl Compiled {
    /// Compiles `cascade` (already checked by the parser) for integral images of `stride`.
    pub fn new(cascade: &Cascade, stride: usize) -> Self {
        let (ww, wh) = (cascade.window_w, cascade.window_h);
        let kind = match cascade.max_nodes_per_tree() {
            0 | 1 => STUMPS,
            // A root whose both sides lead to the child is legal but not worth a special case.
            2 if cascade
                .stages
                .iter()
                .flat_map(|s| &s.trees)
                .all(|t| t.nodes[0].left <= 0 || t.nodes[0].right <= 0) =>
            {
                TWO_NODES
            }
            _ => GENERAL,
        };
        let mut c = Compiled {
            stride,
            window_w: ww as usize,
            window_h: wh as usize,
            tilted: cascade.has_tilted(),
            stages: Vec::new(),
            kind,
            stumps: Vec::new(),
            trees2: Vec::new(),
            trees: Vec::new(),
            nodes: Vec::new(),
            leaves: Vec::new(),
            norm: sum_ofs(1, 1, ww - 2, wh - 2, stride),
            norm_area: f64::from((ww - 2) * (wh - 2)),
            reach: wh as usize * stride + ww as usize + 1,
        };
        for s in &cascade.stages {
            let first = match kind {
                STUMPS => c.stumps.len(),
                TWO_NODES => c.trees2.len(),
                _ => c.trees.len(),
            };
            for t in &s.trees {
                if kind == TWO_NODES {
                    c.trees2.push(compile_tree2(cascade, t, stride));
                } else if kind == STUMPS {
                    let n = t.nodes[0];
                    c.stumps.push(Stump {
                        feature: compile_feature(&cascade.features[n.feature], stride),
                        threshold: n.threshold,
                        // Stump children are the leaves 0 and 1 (OpenCV reads leafValues[0], [1]).
                        left: t.leaves[0],
                        right: t.leaves.get(1).copied().unwrap_or(t.leaves[0]),
                    });
                } else {
                    c.trees.push(CTree { first_node: c.nodes.len(), first_leaf: c.leaves.len() });
                    for n in &t.nodes {
                        c.nodes.push(CNode {
                            feature: compile_feature(&cascade.features[n.feature], stride),
                            threshold: n.threshold,
                            left: n.left,
                            right: n.right,
                        });
                    }
                    c.leaves.extend_from_slice(&t.leaves);
                }
            }
            c.stages.push(CStage { threshold: s.threshold, first, count: s.trees.len() });
        }
        c
    }
}

/// Flattens a tree of one or two nodes (checked by the parser: children and leaves in range).
fn compile_tree2(cascade: &Cascade, t: &super::parse::Tree, stride: usize) -> Tree2 {
    let leaf = |child: i32| t.leaves.get(child.unsigned_abs() as usize).copied().unwrap_or(0.0);
    let root = t.nodes[0];
    let mut tree = Tree2 {
        root: compile_feature(&cascade.features[root.feature], stride),
        root_threshold: root.threshold,
        child: CFeature::default(),
        child_threshold: 0.0,
        child_side: 2,
        root_leaves: [leaf(root.left), leaf(root.right)],
        child_leaves: [0.0; 2],
    };
    if let Some(child) = t.nodes.get(1) {
        tree.child = compile_feature(&cascade.features[child.feature], stride);
        tree.child_threshold = child.threshold;
        tree.child_side = if root.left > 0 { 0 } else { 1 };
        tree.child_leaves = [leaf(child.left), leaf(child.right)];
    }
    tree
}

#[inline(always)]
fn rect_sum(t: &[i32], r: &OffRect) -> i32 {
    let o = &r.ofs;
    t[o[0] as usize].wrapping_sub(t[o[1] as usize]).wrapping_sub(t[o[2] as usize]).wrapping_add(t[o[3] as usize])
}

/// OpenCV's `OptFeature::calc` in float, times the window's normalisation factor.
#[inline(always)]
fn feature_value<const TILTED: bool>(f: &CFeature, win: &[i32], twin: &[i32], vnf: f32) -> f32 {
    let table = |tilted: bool| if TILTED && tilted { twin } else { win };
    let t = table(f.tilted);
    let mut v = f.weights[0] * rect_sum(t, &f.rects[0]) as f32 + f.weights[1] * rect_sum(t, &f.rects[1]) as f32;
    if f.weights[2] != 0.0 {
        v += f.weights[2] * rect_sum(t, &f.rects[2]) as f32;
    }
    v * vnf
}

/// Window result as OpenCV's `runAt`: 1 passed all stages, 0 failed stage 0,
/// -k failed stage k, -1 also for a flat or out-of-range window.
#[inline(always)]
fn run_at<const TILTED: bool, const KIND: u8>(c: &Compiled, it: &Integral, base: usize) -> i32 {
    let n = &c.norm.ofs;
    let s = &it.sum;
    let q = &it.sqsum;
    let valsum = s[base + n[0] as usize]
        .wrapping_sub(s[base + n[1] as usize])
        .wrapping_sub(s[base + n[2] as usize])
        .wrapping_add(s[base + n[3] as usize]);
    let valsq = q[base + n[0] as usize]
        .wrapping_sub(q[base + n[1] as usize])
        .wrapping_sub(q[base + n[2] as usize])
        .wrapping_add(q[base + n[3] as usize]);
    let nf = c.norm_area * f64::from(valsq) - f64::from(valsum) * f64::from(valsum);
    if nf <= 0.0 || nf.is_nan() {
        return -1;
    }
    let vnf = (1.0 / nf.sqrt()) as f32;
    if c.norm_area * f64::from(vnf) >= FLAT_WINDOW {
        return -1;
    }
    let win = &s[base..base + c.reach];
    let twin = if TILTED { &it.tilted[base..base + c.reach] } else { win };
    for (si, st) in c.stages.iter().enumerate() {
        let mut acc = 0.0f64;
        if KIND == STUMPS {
            for sp in &c.stumps[st.first..st.first + st.count] {
                let v = feature_value::<TILTED>(&sp.feature, win, twin, vnf);
                acc += f64::from(if v < sp.threshold { sp.left } else { sp.right });
            }
        } else if KIND == TWO_NODES {
            for t in &c.trees2[st.first..st.first + st.count] {
                let v = feature_value::<TILTED>(&t.root, win, twin, vnf);
                let side = if v < t.root_threshold { 0 } else { 1 };
                let leaf = if side == t.child_side {
                    let v = feature_value::<TILTED>(&t.child, win, twin, vnf);
                    t.child_leaves[if v < t.child_threshold { 0 } else { 1 }]
                } else {
                    t.root_leaves[side]
                };
                acc += f64::from(leaf);
            }
        } else {
            for t in &c.trees[st.first..st.first + st.count] {
                let mut idx = 0i32;
                loop {
                    let node = &c.nodes[t.first_node + idx as usize];
                    let v = feature_value::<TILTED>(&node.feature, win, twin, vnf);
                    idx = if v < node.threshold { node.left } else { node.right };
                    if idx <= 0 {
                        break;
                    }
                }
                acc += f64::from(c.leaves[t.first_leaf + idx.unsigned_abs() as usize]);
            }
        }
        if acc < f64::from(st.threshold) {
            return -(si as i32);
        }
    }
    1
}

/// One pyramid level: the scale and the resized image size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    pub scale: f32,
    pub width: usize,
    pub height: usize,
    pub step: usize,
}

/// The scales `detectMultiScale` visits (`factor` grows by `scale_factor` from 1;
/// windows smaller than `min_size` are skipped; it stops at `max_size` or the image).
pub fn plan_levels(
    image: (usize, usize),
    window: (usize, usize),
    scale_factor: f64,
    min_size: (usize, usize),
    max_size: (usize, usize),
    levels: &mut Vec<Level>,
) {
    levels.clear();
    let max_size = if max_size.0 == 0 || max_size.1 == 0 { image } else { max_size };
    if scale_factor.is_nan() || scale_factor <= 1.0 {
        return;
    }
    let mut factor = 1.0f64;
    loop {
        let ww = (window.0 as f64 * factor).round_ties_even() as usize;
        let wh = (window.1 as f64 * factor).round_ties_even() as usize;
        if ww > max_size.0 || wh > max_size.1 || ww > image.0 || wh > image.1 {
            break;
        }
        if ww >= min_size.0 && wh >= min_size.1 {
            let scale = factor as f32;
            levels.push(Level {
                scale,
                width: (image.0 as f32 / scale).round_ties_even() as usize,
                height: (image.1 as f32 / scale).round_ties_even() as usize,
                step: if scale >= DENSE_SCALE { 1 } else { 2 },
            });
        }
        factor *= scale_factor;
    }
}

/// Buffers one thread reuses from frame to frame.
#[derive(Debug, Default)]
pub struct Workspace {
    resized: Gray,
    tables: ResizeTables,
    integral: Integral,
    pub candidates: Vec<Rect>,
}

/// Scans one level: appends the raw (ungrouped) windows that pass every stage.
pub fn scan_level(c: &Compiled, gray: &Gray, level: &Level, ws: &mut Workspace) {
    resize_linear(gray, &mut ws.resized, level.width, level.height, &mut ws.tables);
    ws.integral.compute(&ws.resized, c.stride, c.tilted);
    let (w, h) = (level.width, level.height);
    if w < c.window_w || h < c.window_h {
        return;
    }
    let win_w = (c.window_w as f32 * level.scale).round_ties_even() as i32;
    let win_h = (c.window_h as f32 * level.scale).round_ties_even() as i32;
    let run = match (c.tilted, c.kind) {
        (false, STUMPS) => run_at::<false, STUMPS>,
        (false, TWO_NODES) => run_at::<false, TWO_NODES>,
        (false, _) => run_at::<false, GENERAL>,
        (true, STUMPS) => run_at::<true, STUMPS>,
        (true, TWO_NODES) => run_at::<true, TWO_NODES>,
        (true, _) => run_at::<true, GENERAL>,
    };
    let step = level.step;
    for y in (0..=h - c.window_h).step_by(step) {
        let mut x = 0;
        while x + c.window_w <= w {
            let r = run(c, &ws.integral, y * c.stride + x);
            if r > 0 {
                ws.candidates.push(Rect {
                    x: (x as f32 * level.scale).round_ties_even() as i32,
                    y: (y as f32 * level.scale).round_ties_even() as i32,
                    w: win_w,
                    h: win_h,
                });
            }
            if r == 0 {
                x += step;
            }
            x += step;
        }
    }
}

/// Scans all levels on `workspaces.len()` threads (the caller's thread is one of them);
/// each thread takes the next unscanned level, largest first.
pub fn scan_levels(c: &Compiled, gray: &Gray, levels: &[Level], workspaces: &mut [Workspace]) {
    for ws in workspaces.iter_mut() {
        ws.candidates.clear();
    }
    let next = AtomicUsize::new(0);
    let work = |ws: &mut Workspace| {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(level) = levels.get(i) else { break };
            scan_level(c, gray, level, ws);
        }
    };
    match workspaces {
        [] => {}
        [only] => work(only),
        [first, rest @ ..] => std::thread::scope(|scope| {
            for ws in rest.iter_mut() {
                scope.spawn(|| work(ws));
            }
            work(first);
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_opencv_rounding() {
        let mut levels = Vec::new();
        plan_levels((640, 480), (24, 24), 1.1, (30, 30), (0, 0), &mut levels);
        // 24*1.1^2 = 29.04 -> 29 is skipped; 24*1.1^3 = 31.9 -> 32 is the first.
        assert!((levels[0].scale - 1.331).abs() < 1e-6);
        assert_eq!((levels[0].width, levels[0].height), (481, 361));
        assert!(levels.iter().all(|l| l.step == if l.scale >= 2.0 { 1 } else { 2 }));
        let last = levels.last().expect("levels");
        assert!((24.0 * last.scale).round() <= 480.0);
        plan_levels((640, 480), (24, 24), 1.0, (30, 30), (0, 0), &mut levels);
        assert!(levels.is_empty());
    }
}
