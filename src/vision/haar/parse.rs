//! OpenCV cascade XML (the current `<cascade>` format and the old `<size>/<trees>` one) into a [`Cascade`].
//!
//! The old format is converted the way OpenCV's `CascadeClassifier::convert`
//! (`cascadedetect_convert.cpp`) does: stages run one after the other (`parent`/`next`
//! are ignored), every tree node gets its own feature, and `left_val`/`right_val`
//! become leaves. Everything is checked so that evaluation can never index out of
//! bounds or loop: feature rectangles lie inside the window, child nodes point forward.

use std::path::{Path, PathBuf};

use roxmltree::{Document, Node};
use thiserror::Error;

/// Largest window side we accept (OpenCV's own cascades use 20-24 pixels).
pub const MAX_WINDOW_SIDE: i32 = 1024;
/// Smallest window side: the variance normalisation rectangle is the window less 1 px per side.
pub const MIN_WINDOW_SIDE: i32 = 3;
/// OpenCV lowers every stage threshold by this much when it loads a cascade (`Data::read`).
pub const STAGE_THRESHOLD_EPS: f32 = 1e-5;
/// Rectangles per Haar feature.
pub const RECTS_PER_FEATURE: usize = 3;

/// What is wrong with a cascade file. Every message names the file; a variant caused by
/// another error keeps it as its `source`, which the message does not repeat.
#[derive(Debug, Error)]
pub enum CascadeError {
    /// The OS error adds nothing to "not found", so it is not kept.
    #[error("{path}: cannot read cascade: file not found")]
    NotFound { path: PathBuf },
    #[error("{path}: cannot read cascade")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not well-formed XML: not UTF-8 text")]
    Utf8 {
        path: PathBuf,
        #[source]
        source: std::str::Utf8Error,
    },
    #[error("{path}: not well-formed XML")]
    Xml {
        path: PathBuf,
        #[source]
        source: roxmltree::Error,
    },
    #[error("{path}: unsupported cascade: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error("{path}: bad cascade: {what}: {reason}")]
    Invalid { path: PathBuf, what: String, reason: String },
}

/// One rectangle of a Haar feature, in window pixels, with its weight.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WeightedRect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub weight: f32,
}

/// A Haar feature: up to three weighted rectangles (unused ones have weight 0).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Feature {
    pub rects: [WeightedRect; RECTS_PER_FEATURE],
    /// Rectangles rotated by 45 degrees (read from the tilted integral image).
    pub tilted: bool,
}

/// An internal tree node: `value < threshold` goes left, else right. A child > 0 is a
/// node index within the tree, a child <= 0 is the leaf `-child`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node3 {
    pub left: i32,
    pub right: i32,
    pub feature: usize,
    pub threshold: f32,
}

/// A weak classifier: a small decision tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub nodes: Vec<Node3>,
    pub leaves: Vec<f32>,
}

/// A boosted stage: the sum of its trees' leaves must reach `threshold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// Already lowered by [`STAGE_THRESHOLD_EPS`], as OpenCV does.
    pub threshold: f32,
    pub trees: Vec<Tree>,
}

/// A Haar cascade as OpenCV evaluates it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    pub window_w: i32,
    pub window_h: i32,
    pub stages: Vec<Stage>,
    pub features: Vec<Feature>,
}

impl Cascade {
    /// Reads and checks a cascade file.
    pub fn load(path: &Path) -> Result<Self, CascadeError> {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => CascadeError::NotFound { path: path.to_path_buf() },
            _ => CascadeError::Read { path: path.to_path_buf(), source },
        })?;
        let text =
            std::str::from_utf8(&bytes).map_err(|source| CascadeError::Utf8 { path: path.to_path_buf(), source })?;
        Self::parse(text, path)
    }

    /// Parses cascade XML; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, CascadeError> {
        let doc = Document::parse(text).map_err(|source| CascadeError::Xml { path: path.to_path_buf(), source })?;
        let p = Ctx { path };
        let storage = doc.root_element();
        let top = elements(storage).next().ok_or_else(|| p.invalid(storage.tag_name().name(), "no cascade element"))?;
        let cascade = if child(top, "stageType").is_some() || child(top, "featureType").is_some() {
            p.read_current(top)?
        } else if child(top, "size").is_some() {
            p.read_old(top)?
        } else {
            return Err(p.unsupported(format!(
                "<{}> has neither <stageType> (current format) nor <size> (old format)",
                top.tag_name().name()
            )));
        };
        p.check(&cascade)?;
        Ok(cascade)
    }

    /// Whether any feature uses the tilted integral image.
    pub fn has_tilted(&self) -> bool {
        self.features.iter().any(|f| f.tilted)
    }

    /// Largest number of internal nodes in one tree (1 for stump cascades).
    pub fn max_nodes_per_tree(&self) -> usize {
        self.stages.iter().flat_map(|s| s.trees.iter()).map(|t| t.nodes.len()).max().unwrap_or(0)
    }
}

fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(|c| c.is_element())
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    elements(n).find(|c| c.tag_name().name() == name)
}

/// The text of an element (all its text children, trimmed).
fn text_of(n: Node) -> String {
    n.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect::<String>().trim().to_string()
}

struct Ctx<'p> {
    path: &'p Path,
}

impl Ctx<'_> {
    fn invalid(&self, what: impl Into<String>, reason: impl Into<String>) -> CascadeError {
        CascadeError::Invalid { path: self.path.to_path_buf(), what: what.into(), reason: reason.into() }
    }

    fn unsupported(&self, reason: impl Into<String>) -> CascadeError {
        CascadeError::Unsupported { path: self.path.to_path_buf(), reason: reason.into() }
    }

    fn need<'a, 'i>(&self, n: Node<'a, 'i>, name: &str, what: &str) -> Result<Node<'a, 'i>, CascadeError> {
        child(n, name).ok_or_else(|| self.invalid(what, format!("missing <{name}>")))
    }

    fn numbers(&self, n: Node, what: &str) -> Result<Vec<f64>, CascadeError> {
        text_of(n)
            .split_ascii_whitespace()
            .map(|t| {
                let v: f64 = t.parse().map_err(|_| self.invalid(what, format!("'{t}' is not a number")))?;
                if v.is_finite() { Ok(v) } else { Err(self.invalid(what, format!("{t} is not a finite number"))) }
            })
            .collect()
    }

    fn number(&self, n: Node, what: &str) -> Result<f64, CascadeError> {
        match self.numbers(n, what)?.as_slice() {
            [v] => Ok(*v),
            vs => Err(self.invalid(what, format!("expected one number, found {}", vs.len()))),
        }
    }

    fn int(&self, v: f64, what: &str) -> Result<i32, CascadeError> {
        if v.fract() != 0.0 || v.abs() > f64::from(i32::MAX) {
            return Err(self.invalid(what, format!("{v} is not an integer")));
        }
        Ok(v as i32)
    }

    fn float(&self, v: f64, what: &str) -> Result<f32, CascadeError> {
        let f = v as f32;
        if f.is_finite() { Ok(f) } else { Err(self.invalid(what, format!("{v} does not fit a 32-bit float"))) }
    }

    fn read_current(&self, top: Node) -> Result<Cascade, CascadeError> {
        let stage_type = text_of(self.need(top, "stageType", "cascade")?);
        if stage_type != "BOOST" {
            return Err(self.unsupported(format!("stageType '{stage_type}' (only BOOST)")));
        }
        let feature_type = text_of(self.need(top, "featureType", "cascade")?);
        if feature_type != "HAAR" {
            return Err(self.unsupported(format!("featureType '{feature_type}' (only HAAR; LBP and HOG are not)")));
        }
        let window_w = self.int(self.number(self.need(top, "width", "cascade")?, "width")?, "width")?;
        let window_h = self.int(self.number(self.need(top, "height", "cascade")?, "height")?, "height")?;
        let params = self.need(top, "featureParams", "cascade")?;
        if let Some(cats) = child(params, "maxCatCount") {
            let n = self.number(cats, "featureParams/maxCatCount")?;
            if n != 0.0 {
                return Err(self.unsupported(format!("maxCatCount {n} (categorical features are LBP's)")));
            }
        }
        let mut stages = Vec::new();
        for (si, sn) in elements(self.need(top, "stages", "cascade")?).enumerate() {
            let what = format!("stage {si}");
            let threshold = self.float(self.number(self.need(sn, "stageThreshold", &what)?, &what)?, &what)?;
            let mut trees = Vec::new();
            for (ti, tn) in elements(self.need(sn, "weakClassifiers", &what)?).enumerate() {
                let what = format!("stage {si} tree {ti}");
                let raw = self.numbers(self.need(tn, "internalNodes", &what)?, &what)?;
                let leaves = self.numbers(self.need(tn, "leafValues", &what)?, &what)?;
                if raw.is_empty() || raw.len() % 4 != 0 {
                    return Err(self.invalid(&what, format!("{} internalNodes values, not 4 per node", raw.len())));
                }
                let nodes = raw
                    .chunks_exact(4)
                    .map(|c| {
                        let feature = self.int(c[2], &what)?;
                        Ok(Node3 {
                            left: self.int(c[0], &what)?,
                            right: self.int(c[1], &what)?,
                            feature: usize::try_from(feature)
                                .map_err(|_| self.invalid(&what, format!("feature index {feature}")))?,
                            threshold: self.float(c[3], &what)?,
                        })
                    })
                    .collect::<Result<Vec<_>, CascadeError>>()?;
                let leaves = leaves.iter().map(|v| self.float(*v, &what)).collect::<Result<Vec<_>, _>>()?;
                trees.push(Tree { nodes, leaves });
            }
            stages.push(Stage { threshold: threshold - STAGE_THRESHOLD_EPS, trees });
        }
        let mut features = Vec::new();
        for (fi, fnode) in elements(self.need(top, "features", "cascade")?).enumerate() {
            features.push(self.read_feature(fnode, &format!("feature {fi}"))?);
        }
        Ok(Cascade { window_w, window_h, stages, features })
    }

    fn read_feature(&self, fnode: Node, what: &str) -> Result<Feature, CascadeError> {
        let mut f = Feature::default();
        let rects: Vec<Node> = elements(self.need(fnode, "rects", what)?).collect();
        if rects.is_empty() || rects.len() > RECTS_PER_FEATURE {
            return Err(self.invalid(what, format!("{} rectangles (1 to 3 expected)", rects.len())));
        }
        for (slot, rn) in f.rects.iter_mut().zip(&rects) {
            let v = self.numbers(*rn, what)?;
            let [x, y, w, h, weight] = v.as_slice() else {
                return Err(self.invalid(what, format!("a rectangle has {} values, not 5 (x y w h weight)", v.len())));
            };
            *slot = WeightedRect {
                x: self.int(*x, what)?,
                y: self.int(*y, what)?,
                w: self.int(*w, what)?,
                h: self.int(*h, what)?,
                weight: self.float(*weight, what)?,
            };
        }
        if let Some(t) = child(fnode, "tilted") {
            f.tilted = self.number(t, what)? != 0.0;
        }
        Ok(f)
    }

    fn read_old(&self, top: Node) -> Result<Cascade, CascadeError> {
        let size = self.numbers(self.need(top, "size", "cascade")?, "size")?;
        let [w, h] = size.as_slice() else {
            return Err(self.invalid("size", format!("{} values, not 2", size.len())));
        };
        // OpenCV's converter writes the first size value as "height" and the second as
        // "width" and then reads them back under those names: mirror that.
        let window_h = self.int(*w, "size")?;
        let window_w = self.int(*h, "size")?;
        let mut features = Vec::new();
        let mut stages = Vec::new();
        for (si, sn) in elements(self.need(top, "stages", "cascade")?).enumerate() {
            let what = format!("stage {si}");
            let threshold = self.float(self.number(self.need(sn, "stage_threshold", &what)?, &what)?, &what)?;
            let mut trees = Vec::new();
            for (ti, tn) in elements(self.need(sn, "trees", &what)?).enumerate() {
                let what = format!("stage {si} tree {ti}");
                let mut tree = Tree { nodes: Vec::new(), leaves: Vec::new() };
                for nn in elements(tn) {
                    let mut f = self.read_feature(self.need(nn, "feature", &what)?, &what)?;
                    // The converter drops a third rectangle whose weight is ~0.
                    if f.rects[2].weight.abs() < f32::EPSILON {
                        f.rects[2] = WeightedRect::default();
                    }
                    let feature = features.len();
                    features.push(f);
                    let threshold = self.float(self.number(self.need(nn, "threshold", &what)?, &what)?, &what)?;
                    let mut side = |val: &str, node: &str| -> Result<i32, CascadeError> {
                        if let Some(v) = child(nn, val) {
                            let leaf =
                                i32::try_from(tree.leaves.len()).map_err(|_| self.invalid(&what, "too many leaves"))?;
                            tree.leaves.push(self.float(self.number(v, &what)?, &what)?);
                            Ok(-leaf)
                        } else {
                            let n = self.need(nn, node, &what)?;
                            self.int(self.number(n, &what)?, &what)
                        }
                    };
                    let left = side("left_val", "left_node")?;
                    let right = side("right_val", "right_node")?;
                    tree.nodes.push(Node3 { left, right, feature, threshold });
                }
                trees.push(tree);
            }
            stages.push(Stage { threshold: threshold - STAGE_THRESHOLD_EPS, trees });
        }
        Ok(Cascade { window_w, window_h, stages, features })
    }

    /// Checks everything evaluation relies on.
    fn check(&self, c: &Cascade) -> Result<(), CascadeError> {
        for (name, v) in [("width", c.window_w), ("height", c.window_h)] {
            if !(MIN_WINDOW_SIDE..=MAX_WINDOW_SIDE).contains(&v) {
                return Err(self.invalid("window", format!("{name} {v} outside {MIN_WINDOW_SIDE}..={MAX_WINDOW_SIDE}")));
            }
        }
        if c.stages.is_empty() {
            return Err(self.invalid("cascade", "no stages"));
        }
        for (fi, f) in c.features.iter().enumerate() {
            for r in f.rects.iter().filter(|r| r.weight != 0.0) {
                let inside = if f.tilted {
                    // A tilted rectangle spans x-h..x+w horizontally and y..y+w+h vertically.
                    r.w >= 0
                        && r.h >= 0
                        && r.x - r.h >= 0
                        && r.y >= 0
                        && r.x + r.w <= c.window_w
                        && r.y + r.w + r.h <= c.window_h
                } else {
                    r.w >= 0 && r.h >= 0 && r.x >= 0 && r.y >= 0 && r.x + r.w <= c.window_w && r.y + r.h <= c.window_h
                };
                if !inside {
                    return Err(self.invalid(
                        format!("feature {fi}"),
                        format!(
                            "rectangle {} {} {} {} lies outside the {}x{} window",
                            r.x, r.y, r.w, r.h, c.window_w, c.window_h
                        ),
                    ));
                }
            }
        }
        for (si, s) in c.stages.iter().enumerate() {
            if s.trees.is_empty() {
                return Err(self.invalid(format!("stage {si}"), "no weak classifiers"));
            }
            for (ti, t) in s.trees.iter().enumerate() {
                let what = format!("stage {si} tree {ti}");
                for (ni, n) in t.nodes.iter().enumerate() {
                    if n.feature >= c.features.len() {
                        return Err(self.invalid(
                            &what,
                            format!("feature index {} but only {} features", n.feature, c.features.len()),
                        ));
                    }
                    for child in [n.left, n.right] {
                        let ok = if child > 0 {
                            // Forward links only: evaluation always ends.
                            (child as usize) > ni && (child as usize) < t.nodes.len()
                        } else {
                            (child.unsigned_abs() as usize) < t.leaves.len()
                        };
                        if !ok {
                            return Err(self.invalid(
                                &what,
                                format!(
                                    "node {ni} points to {} {child} ({} nodes, {} leaves)",
                                    if child > 0 { "node" } else { "leaf" },
                                    t.nodes.len(),
                                    t.leaves.len()
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const TINY: &str = r#"<?xml version="1.0"?>
<opencv_storage>
<cascade type_id="opencv-cascade-classifier"><stageType>BOOST</stageType>
  <featureType>HAAR</featureType>
  <height>4</height>
  <width>4</width>
  <stageParams><maxWeakCount>2</maxWeakCount></stageParams>
  <featureParams><maxCatCount>0</maxCatCount></featureParams>
  <stageNum>1</stageNum>
  <stages>
    <_>
      <maxWeakCount>2</maxWeakCount>
      <stageThreshold>-1.5</stageThreshold>
      <weakClassifiers>
        <_><internalNodes>0 -1 0 0.5</internalNodes><leafValues>-1. 1.</leafValues></_>
        <_><internalNodes>0 1 1 0.25 -1 -2 0 0.75</internalNodes><leafValues>0.1 0.2 0.3</leafValues></_>
      </weakClassifiers></_></stages>
  <features>
    <_><rects><_>0 0 4 2 -1.</_><_>0 2 4 2 2.</_></rects></_>
    <_><rects><_>0 0 2 4 -1.</_><_>2 0 2 4 1.</_></rects><tilted>0</tilted></_>
  </features></cascade>
</opencv_storage>
"#;

    const OLD: &str = r#"<?xml version="1.0"?>
<opencv_storage>
<old_cascade type_id="opencv-haar-classifier">
  <size>4 4</size>
  <stages>
    <_>
      <trees>
        <_>
          <_><feature><rects><_>0 0 4 2 -1.</_><_>0 2 4 2 2.</_></rects><tilted>0</tilted></feature>
            <threshold>0.5</threshold><left_val>-1.</left_val><right_node>1</right_node></_>
          <_><feature><rects><_>0 0 2 4 -1.</_><_>2 0 2 4 1.</_><_>0 0 1 1 0.</_></rects><tilted>0</tilted></feature>
            <threshold>0.25</threshold><left_val>0.5</left_val><right_val>1.</right_val></_>
        </_>
      </trees>
      <stage_threshold>-0.5</stage_threshold>
      <parent>-1</parent>
      <next>-1</next>
    </_>
  </stages>
</old_cascade>
</opencv_storage>
"#;

    fn parse(s: &str) -> Result<Cascade, CascadeError> {
        Cascade::parse(s, Path::new("test.xml"))
    }

    #[test]
    fn current_format() {
        let c = parse(TINY).expect("valid");
        assert_eq!((c.window_w, c.window_h), (4, 4));
        assert_eq!(c.stages.len(), 1);
        assert_eq!(c.stages[0].trees.len(), 2);
        assert_eq!(c.stages[0].threshold, -1.5 - STAGE_THRESHOLD_EPS);
        assert_eq!(c.stages[0].trees[1].nodes[1], Node3 { left: -1, right: -2, feature: 0, threshold: 0.75 });
        assert_eq!(c.features[0].rects[1], WeightedRect { x: 0, y: 2, w: 4, h: 2, weight: 2.0 });
        assert_eq!(c.max_nodes_per_tree(), 2);
        assert!(!c.has_tilted());
    }

    #[test]
    fn old_format_is_converted_like_opencv() {
        let c = parse(OLD).expect("valid");
        assert_eq!(c.features.len(), 2);
        let t = &c.stages[0].trees[0];
        assert_eq!(t.leaves, vec![-1.0, 0.5, 1.0]);
        assert_eq!((t.nodes[0].left, t.nodes[0].right), (0, 1));
        assert_eq!((t.nodes[1].left, t.nodes[1].right), (-1, -2));
        assert_eq!(c.features[1].rects[2], WeightedRect::default());
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let cases = [
            (TINY.replace("HAAR", "LBP"), "LBP"),
            (TINY.replace("HAAR", "HOG"), "HOG"),
            (TINY[..TINY.len() / 2].to_string(), "not well-formed"),
            (TINY.replace("0.75", "nan"), "not a finite number"),
            (TINY.replace("<stageThreshold>-1.5</stageThreshold>", ""), "missing <stageThreshold>"),
            (TINY.replace("0 -1 0 0.5", "0 -1 7 0.5"), "feature index 7"),
            (TINY.replace("0 2 4 2 2.", "0 3 4 2 2."), "outside the 4x4 window"),
            (TINY.replace("0 -1 0 0.5", "0 -1 0"), "not 4 per node"),
            (TINY.replace("-1 -2 0 0.75", "-1 -5 0 0.75"), "points to leaf -5"),
        ];
        for (text, needle) in cases {
            let e = parse(&text).expect_err(needle).to_string();
            assert!(e.contains("test.xml") && e.contains(needle), "{needle}: {e}");
        }
    }

    mod mutated {
        use super::*;
        use proptest::prelude::*;

        /// Cases per property: 2000, or `EMOJI_MIRROR_FUZZ_CASES` for a long run
        /// (`EMOJI_MIRROR_FUZZ_CASES=150000 cargo test --lib haar::parse`).
        fn cases(default: u32) -> u32 {
            std::env::var("EMOJI_MIRROR_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
        }

        /// A shipped cascade file (a real OpenCV XML), read once.
        fn shipped(name: &str) -> &'static str {
            static FILES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
            let files = FILES.get_or_init(|| {
                ["haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_alt_tree.xml"]
                    .iter()
                    .map(|n| {
                        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/haar").join(n);
                        (n.to_string(), std::fs::read_to_string(&p).expect("shipped cascade"))
                    })
                    .collect()
            });
            &files.iter().find(|(n, _)| n == name).expect("known cascade").1
        }

        /// The elements whose deletion the property test tries.
        const TAGS: [&str; 8] =
            ["stageType", "featureType", "width", "internalNodes", "leafValues", "rects", "stages", "features"];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(cases(2000)))]

            #[test]
            fn truncation_never_panics(cut in 0usize..TINY.len()) {
                let _ = parse(&TINY[..cut]);
                let _ = parse(&OLD[..cut.min(OLD.len())]);
            }

            #[test]
            fn byte_flips_never_panic(flips in proptest::collection::vec((0usize..TINY.len(), any::<u8>()), 1..8)) {
                for base in [TINY, OLD] {
                    let mut bytes = base.as_bytes().to_vec();
                    for (at, b) in &flips {
                        let at = at % bytes.len();
                        bytes[at] = *b;
                    }
                    if let Ok(c) = std::str::from_utf8(&bytes).map_err(|_| ()).and_then(|t| parse(t).map_err(|_| ())) {
                        {
                            // Whatever parses must also be safe to run.
                            let mut d = crate::vision::haar::HaarDetector::new(
                                c,
                                "fuzz",
                                crate::vision::haar::HaarSettings { min_size: [0, 0], ..Default::default() },
                            )
                            .expect("valid settings");
                            let frame = image::RgbImage::from_fn(16, 12, |x, y| image::Rgb([(x * 16) as u8, (y * 20) as u8, 7]));
                            let _ = d.detect_rects(&frame);
                        }
                    }
                }
            }

            #[test]
            fn deleted_elements_give_errors_not_panics(tag in 0usize..TAGS.len(), nth in 0usize..3) {
                let name = TAGS[tag];
                let open = format!("<{name}>");
                let close = format!("</{name}>");
                let found = TINY.match_indices(&open).nth(nth).map(|(i, _)| i);
                if let Some((start, end)) = found.and_then(|start| TINY[start..].find(&close).map(|end| (start, end))) {
                    {
                        let text = format!("{}{}", &TINY[..start], &TINY[start + end + close.len()..]);
                        prop_assert!(parse(&text).is_err());
                    }
                }
            }
        }

        proptest! {
            // A parse of a real cascade takes milliseconds: fewer cases by default.
            #![proptest_config(ProptestConfig::with_cases(cases(64)))]

            #[test]
            fn shipped_cascades_with_flipped_bytes_never_panic(
                old_format in any::<bool>(),
                flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..6),
            ) {
                let name = if old_format { "haarcascade_frontalface_alt_tree.xml" } else { "haarcascade_frontalface_alt2.xml" };
                let mut bytes = shipped(name).as_bytes().to_vec();
                for (at, b) in &flips {
                    let i = at.index(bytes.len());
                    bytes[i] = *b;
                }
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    match Cascade::parse(text, Path::new(name)) {
                        Ok(c) => {
                            // A flip the parser accepts (a digit in a number) must still be safe to run.
                            prop_assert!(!c.stages.is_empty());
                            let mut d = crate::vision::haar::HaarDetector::new(c, name, Default::default())
                                .expect("default settings");
                            let frame = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
                            let _ = d.detect_rects(&frame);
                        }
                        Err(e) => prop_assert!(e.to_string().contains(name), "{e}"),
                    }
                }
            }
        }
    }
}
