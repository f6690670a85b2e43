//! "Fool the AI": change a face crop slightly, by queries alone, until the classifier reads another emotion.
//!
//! ONNX Runtime gives no gradients, so this is a black-box attack. The default is Square
//! Attack ([`Method::Square`]), made for an L-infinity budget; the alternative is SimBA with a
//! low-frequency DCT basis (Guo et al., "Simple Black-box Adversarial Attacks", ICML 2019).
//! It tries one cosine pattern at a time, lowest frequencies first, adds it (or, when that
//! does not help, subtracts it) and keeps the step only when the target class gains on the
//! strongest other class. After every step the picture is projected back into the budget:
//! no pixel moves more than `budget_levels` gray levels (of 0-255) from the original, and
//! every pixel stays in 0..=255.
//!
//! The attack perturbs the classifier's own input: the square gray crop of the face at the
//! model's input size (48x48 for our CNNs), as 8-bit pixels. Every query classifies exactly
//! the rounded 8-bit picture that is returned, so the saved `hacked.png` is read as the
//! reported class.

pub mod dct;

use std::ops::ControlFlow;

use image::{GrayImage, RgbImage};
use thiserror::Error;

use crate::vision::classifier::{EmotionClassifier, top_two};
use crate::vision::crop::FaceCropper;
use crate::vision::manifest::Color;
use crate::vision::{Face, VisionError};
use dct::{DctBasis, SplitMix64, band_order};

/// The visible-change budget of the course project: 8 gray levels of 255 (L-infinity 8/255).
pub const DEFAULT_BUDGET_LEVELS: u8 = 8;
/// Model queries before the attack gives up.
pub const DEFAULT_MAX_QUERIES: usize = 10_000;
/// The attack reports its progress every this many queries (and once at the end).
pub const PROGRESS_EVERY_QUERIES: usize = 25;
/// The low-frequency squares tried in turn, as fractions of the side: 1/4, then 1/2, then all.
const BAND_DIVISORS: [usize; 3] = [4, 2, 1];
/// Probabilities are floored at this before taking logarithms (a softmax can underflow to 0).
const MIN_PROBABILITY: f32 = 1e-12;

#[derive(Debug, Error)]
pub enum AttackError {
    #[error("unknown emotion '{name}'; the classifier knows {labels}")]
    UnknownLabel { name: String, labels: String },
    #[error("--from and --to are both '{0}'; choose two different emotions")]
    SameLabel(String),
    #[error(
        "the face is read as {read} ({percent:.0}%), not {from}: the attack needs a face the classifier reads as {from}"
    )]
    NotFrom { from: String, read: String, percent: f32 },
    #[error("the budget is {0} gray levels; it must be 1 to 255")]
    Budget(u8),
    #[error("the crop is {width}x{height}; the attack needs a square picture")]
    NotSquare { width: u32, height: u32 },
    #[error("{model} reads colour pictures; the attack changes gray faces only")]
    NotGray { model: String },
    #[error(transparent)]
    Model(#[from] VisionError),
}

/// What the attack asks the classifier: class probabilities of one picture.
pub trait Oracle {
    /// Probabilities of `face` in label order, written into `probs`.
    fn probabilities(&mut self, face: &GrayImage, probs: &mut Vec<f32>) -> Result<(), VisionError>;
}

impl Oracle for EmotionClassifier {
    fn probabilities(&mut self, face: &GrayImage, probs: &mut Vec<f32>) -> Result<(), VisionError> {
        self.classify_images(std::slice::from_ref(face), probs)
    }
}

/// How far and how long the attack may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttackSettings {
    /// Largest change of any pixel, in gray levels of 0-255 (L-infinity budget).
    pub budget_levels: u8,
    /// Size of one step along a pattern at its peak, in gray levels.
    pub step_levels: f32,
    /// Model queries (pictures classified, the first included) before giving up.
    pub max_queries: usize,
    /// Seed of the order in which patterns (or squares) are tried.
    pub seed: u64,
    /// The search: random squares at the budget's corners (default) or SimBA's DCT patterns.
    pub method: Method,
}

/// How the attack searches the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Square Attack (Andriushchenko et al., "Square Attack: a query-efficient black-box
    /// adversarial attack via random search", ECCV 2020): start from vertical stripes of
    /// +-budget, then set one random square at a time to the original +-budget, keeping it
    /// when the target gains. Made for an L-infinity budget, so every query uses all of it.
    #[default]
    Square,
    /// SimBA with low-frequency DCT patterns (Guo et al. 2019); an L2 method that stalls
    /// once the patterns are clipped at the budget (on our CREMA-D happy crops it fell short
    /// of 9 of 10 within 10,000 queries at 8/255).
    SimbaDct,
}

impl Default for AttackSettings {
    fn default() -> Self {
        Self {
            budget_levels: DEFAULT_BUDGET_LEVELS,
            step_levels: f32::from(DEFAULT_BUDGET_LEVELS),
            max_queries: DEFAULT_MAX_QUERIES,
            seed: 0,
            method: Method::Square,
        }
    }
}

/// Where a running attack stands (for a progress bar).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub queries: usize,
    pub max_queries: usize,
    /// Probability of the target class of the best picture so far.
    pub target_probability: f32,
}

/// The result: the changed picture and what the classifier says before and after.
#[derive(Debug, Clone)]
pub struct AttackOutcome {
    pub original: GrayImage,
    pub hacked: GrayImage,
    /// Probabilities of the original, in label order.
    pub before: Vec<f32>,
    /// Probabilities of `hacked`.
    pub after: Vec<f32>,
    pub queries: usize,
    /// Whether `hacked` is read as the target class.
    pub reached: bool,
    /// Whether the caller stopped the attack through the progress callback.
    pub stopped: bool,
}

impl AttackOutcome {
    /// The largest change of any pixel, in gray levels.
    pub fn max_change_levels(&self) -> u8 {
        max_abs_difference(&self.original, &self.hacked)
    }

    /// The amplified difference: mid-gray where nothing changed, `gain` times the change
    /// around it (gain 127 / budget spreads the budget over the full range).
    pub fn difference_picture(&self, gain: f32) -> GrayImage {
        difference_picture(&self.original, &self.hacked, gain)
    }
}

/// The classifier's own input for `face` in `frame`: the face box squared with the
/// manifest's margin, resampled to the model's square input size as 8-bit gray. This is
/// the picture the attack changes.
pub fn model_input_crop(
    classifier: &EmotionClassifier,
    frame: &RgbImage,
    face: &Face,
) -> Result<GrayImage, AttackError> {
    let m = classifier.manifest();
    if m.width != m.height {
        return Err(AttackError::NotSquare { width: m.width as u32, height: m.height as u32 });
    }
    if m.input.color != Color::Gray {
        return Err(AttackError::NotGray { model: m.name.clone() });
    }
    let side = m.width as u32;
    let mut crop = GrayImage::new(side, side);
    FaceCropper::new(side, m.framing).crop(frame, face, &mut crop);
    Ok(crop)
}

/// The index of the label named `name` (any case).
pub fn label_index(labels: &[String], name: &str) -> Result<usize, AttackError> {
    labels
        .iter()
        .position(|l| l.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| AttackError::UnknownLabel { name: name.to_string(), labels: labels.join(", ") })
}

/// Largest absolute pixel difference of two pictures of the same size.
pub fn max_abs_difference(a: &GrayImage, b: &GrayImage) -> u8 {
    a.iter().zip(b.iter()).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0)
}

/// Mid-gray (128) plus `gain` times the change of every pixel, clipped to 0..=255.
pub fn difference_picture(original: &GrayImage, hacked: &GrayImage, gain: f32) -> GrayImage {
    const MID_GRAY: f32 = 128.0;
    let mut out = GrayImage::new(original.width(), original.height());
    for ((d, o), h) in out.iter_mut().zip(original.iter()).zip(hacked.iter()) {
        *d = (MID_GRAY + gain * (f32::from(*h) - f32::from(*o))).round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// Projects `x` into the budget around `original`: each value within `budget` gray levels
/// of its original pixel and within 0..=255.
pub fn project_into_budget(original: &[u8], budget: u8, x: &mut [f32]) {
    for (v, &o) in x.iter_mut().zip(original) {
        let lo = f32::from(o.saturating_sub(budget));
        let hi = f32::from(o.saturating_add(budget));
        *v = v.clamp(lo, hi);
    }
}

/// Rounds `x` to 8-bit pixels in `dst`.
pub fn round_into(x: &[f32], dst: &mut [u8]) {
    for (d, v) in dst.iter_mut().zip(x) {
        *d = v.round().clamp(0.0, 255.0) as u8;
    }
}

/// How strongly `probs` favours class `to`: log p(to) minus the log of the strongest other
/// class. Above zero, `to` is the top class.
pub fn target_margin(probs: &[f32], to: usize) -> f32 {
    let other = probs.iter().enumerate().filter(|&(i, _)| i != to).map(|(_, p)| *p).fold(0.0f32, f32::max);
    probs[to].max(MIN_PROBABILITY).ln() - other.max(MIN_PROBABILITY).ln()
}

/// SimBA keeps a step only when it strictly improves the margin.
pub fn accepts(current_margin: f32, candidate_margin: f32) -> bool {
    candidate_margin > current_margin
}

/// Changes `face` within the budget until `oracle` reads class `to`, starting from a face it
/// reads as `from`. Stops at success, after `max_queries`, when no step changes the picture
/// any more, or when `progress` breaks. A face not read as `from` is an error; running out
/// of queries is not (see [`AttackOutcome::reached`]).
pub fn attack(
    oracle: &mut impl Oracle,
    labels: &[String],
    face: &GrayImage,
    (from, to): (usize, usize),
    settings: AttackSettings,
    mut progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<AttackOutcome, AttackError> {
    if face.width() != face.height() {
        return Err(AttackError::NotSquare { width: face.width(), height: face.height() });
    }
    if settings.budget_levels == 0 {
        return Err(AttackError::Budget(settings.budget_levels));
    }
    let name = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("class {i}"));
    if from == to {
        return Err(AttackError::SameLabel(name(from)));
    }
    let mut before = Vec::new();
    oracle.probabilities(face, &mut before)?;
    let ((read, p_read), _) = top_two(&before);
    if read != from {
        return Err(AttackError::NotFrom { from: name(from), read: name(read), percent: p_read * 100.0 });
    }

    if settings.method == Method::Square {
        return square_search(oracle, face, to, settings, before, progress);
    }
    let side = face.width() as usize;
    let basis = DctBasis::new(side);
    let mut rng = SplitMix64::new(settings.seed);
    let original = face.as_raw();
    let mut x: Vec<f32> = original.iter().map(|&p| f32::from(p)).collect();
    let mut candidate = x.clone();
    let mut pattern = vec![0.0; side * side];
    let mut current = face.clone();
    let mut trial = face.clone();
    let mut probs = before.clone();
    let mut trial_probs = Vec::with_capacity(before.len());
    let mut margin = target_margin(&probs, to);
    let mut queries = 1;
    let mut stopped = false;
    let report = |queries: usize, probs: &[f32]| Progress {
        queries,
        max_queries: settings.max_queries,
        target_probability: probs[to],
    };

    'search: while margin <= 0.0 && queries < settings.max_queries {
        let mut queried_this_cycle = false;
        let mut done = 0;
        for divisor in BAND_DIVISORS {
            let limit = (side / divisor).max(1);
            for freq in band_order(done, limit, &mut rng) {
                basis.pattern_into(freq, &mut pattern);
                for sign in [1.0f32, -1.0] {
                    for ((c, v), p) in candidate.iter_mut().zip(&x).zip(&pattern) {
                        *c = v + sign * settings.step_levels * p;
                    }
                    project_into_budget(original, settings.budget_levels, &mut candidate);
                    round_into(&candidate, &mut trial);
                    if trial == current {
                        continue; // the step vanishes in the clipping or the rounding: no query
                    }
                    oracle.probabilities(&trial, &mut trial_probs)?;
                    queries += 1;
                    queried_this_cycle = true;
                    let trial_margin = target_margin(&trial_probs, to);
                    let kept = accepts(margin, trial_margin);
                    if kept {
                        std::mem::swap(&mut x, &mut candidate);
                        std::mem::swap(&mut current, &mut trial);
                        std::mem::swap(&mut probs, &mut trial_probs);
                        margin = trial_margin;
                    }
                    if queries % PROGRESS_EVERY_QUERIES == 0 && progress(report(queries, &probs)).is_break() {
                        stopped = true;
                        break 'search;
                    }
                    if margin > 0.0 || queries >= settings.max_queries {
                        break 'search;
                    }
                    if kept {
                        break; // the opposite sign is not tried
                    }
                }
            }
            done = limit;
        }
        if !queried_this_cycle {
            break; // every step is clipped away: the budget is used up everywhere
        }
    }
    // The final report; the attack ends either way.
    let _ = progress(report(queries, &probs));
    Ok(AttackOutcome {
        original: face.clone(),
        hacked: current,
        before,
        after: probs,
        queries,
        reached: margin > 0.0,
        stopped,
    })
}

/// Square Attack's share of the picture changed by one square at the start; it halves on a
/// schedule of queries (the paper's p_init for a 10,000-query budget).
const SQUARE_P_INIT: f32 = 0.1;
/// Queries (for a 10,000-query budget, scaled to the actual one) after which the square's
/// share halves (the paper's schedule).
const SQUARE_HALVING_AT: [usize; 9] = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];
/// Draws of a square that changes nothing before the search gives up (the budget is used
/// up everywhere it can be).
const SQUARE_MAX_IDLE_DRAWS: usize = 1000;

/// The share of the picture one square covers after `queries` of `max_queries`.
fn square_share(queries: usize, max_queries: usize) -> f32 {
    let scaled = queries * DEFAULT_MAX_QUERIES / max_queries.max(1);
    let halvings = SQUARE_HALVING_AT.iter().filter(|&&at| scaled > at).count();
    SQUARE_P_INIT / (1u32 << halvings) as f32
}

/// The picture with `value` (original + sign * budget, clipped) in `dst`: `sign` is +1 or -1.
fn corner(original: u8, sign: i8, budget: u8) -> u8 {
    if sign > 0 { original.saturating_add(budget) } else { original.saturating_sub(budget) }
}

/// [`Method::Square`]: see its documentation.
fn square_search(
    oracle: &mut impl Oracle,
    face: &GrayImage,
    to: usize,
    settings: AttackSettings,
    before: Vec<f32>,
    mut progress: impl FnMut(Progress) -> ControlFlow<()>,
) -> Result<AttackOutcome, AttackError> {
    let side = face.width() as usize;
    let budget = settings.budget_levels;
    let original = face.as_raw();
    let mut rng = SplitMix64::new(settings.seed);
    let report = |queries: usize, probs: &[f32]| Progress {
        queries,
        max_queries: settings.max_queries,
        target_probability: probs[to],
    };
    // Start: vertical stripes, each column at +budget or -budget.
    let mut current = face.clone();
    for x in 0..side {
        let sign = if rng.below(2) == 0 { 1 } else { -1 };
        for y in 0..side {
            let i = y * side + x;
            current.as_mut()[i] = corner(original[i], sign, budget);
        }
    }
    let mut probs = Vec::with_capacity(before.len());
    oracle.probabilities(&current, &mut probs)?;
    let mut queries = 2;
    let mut margin = target_margin(&probs, to);
    if !accepts(target_margin(&before, to), margin) {
        current = face.clone();
        probs.clone_from(&before);
        margin = target_margin(&before, to);
    }
    let mut trial = current.clone();
    let mut trial_probs = Vec::with_capacity(before.len());
    let mut stopped = false;
    let mut idle = 0;
    while margin <= 0.0 && queries < settings.max_queries && idle < SQUARE_MAX_IDLE_DRAWS {
        let share = square_share(queries, settings.max_queries);
        let s = ((share * (side * side) as f32).sqrt().round() as usize).clamp(1, side);
        let (x0, y0) = (rng.below(side - s + 1), rng.below(side - s + 1));
        let sign = if rng.below(2) == 0 { 1 } else { -1 };
        trial.as_mut().copy_from_slice(current.as_raw());
        for y in y0..y0 + s {
            for x in x0..x0 + s {
                let i = y * side + x;
                trial.as_mut()[i] = corner(original[i], sign, budget);
            }
        }
        if trial == current {
            idle += 1;
            continue; // the square is already there: no query
        }
        idle = 0;
        oracle.probabilities(&trial, &mut trial_probs)?;
        queries += 1;
        let trial_margin = target_margin(&trial_probs, to);
        if accepts(margin, trial_margin) {
            std::mem::swap(&mut current, &mut trial);
            std::mem::swap(&mut probs, &mut trial_probs);
            margin = trial_margin;
        }
        if queries % PROGRESS_EVERY_QUERIES == 0 && progress(report(queries, &probs)).is_break() {
            stopped = true;
            break;
        }
    }
    let _ = progress(report(queries, &probs));
    Ok(AttackOutcome {
        original: face.clone(),
        hacked: current,
        before,
        after: probs,
        queries,
        reached: margin > 0.0,
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["happy", "sad", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    /// A linear classifier on gray levels: happy likes a bright top-left, sad a bright
    /// bottom-right; the logits are softmaxed. `queries` counts calls.
    struct Linear {
        side: usize,
        queries: usize,
    }

    impl Oracle for Linear {
        fn probabilities(&mut self, face: &GrayImage, probs: &mut Vec<f32>) -> Result<(), VisionError> {
            self.queries += 1;
            let n = self.side as f32;
            let (mut happy, mut sad) = (0.0, 0.0);
            for (x, y, p) in face.enumerate_pixels() {
                // About -0.5 top-left .. 0.5 bottom-right, zero on average.
                let w = (x as f32 + y as f32 - (n - 1.0)) / (2.0 * n);
                happy -= w * f32::from(p.0[0]) / 255.0;
                sad += w * f32::from(p.0[0]) / 255.0;
            }
            probs.clear();
            probs.extend([happy * 2.0, sad * 2.0 - SAD_BIAS, NEUTRAL_LOGIT]);
            crate::vision::classifier::softmax(probs);
            Ok(())
        }
    }

    /// How much [`Linear`] prefers happy on a flat face: a change of 8 levels reaches sad,
    /// one of 1 level does not (sad needs the sum of weight x change above 96 gray levels; the
    /// sum of |weight| over 16x16 pixels is about 42).
    const SAD_BIAS: f32 = 1.5;
    const NEUTRAL_LOGIT: f32 = -3.0;

    /// A flat mid-gray face: "happy" for [`Linear`].
    fn happy_face(side: u32) -> GrayImage {
        GrayImage::from_pixel(side, side, image::Luma([128]))
    }

    #[test]
    fn projection_keeps_the_budget_and_the_pixel_range() {
        let original = [0u8, 100, 255, 10];
        let mut x = [-20.0, 130.0, 240.0, 10.4];
        project_into_budget(&original, 8, &mut x);
        assert_eq!(x, [0.0, 108.0, 247.0, 10.4]);
        let mut dst = [0u8; 4];
        round_into(&x, &mut dst);
        assert_eq!(dst, [0, 108, 247, 10]);
    }

    #[test]
    fn margin_is_positive_only_for_the_top_class() {
        assert!(target_margin(&[0.2, 0.7, 0.1], 1) > 0.0);
        assert!(target_margin(&[0.6, 0.3, 0.1], 1) < 0.0);
        assert!(target_margin(&[0.0, 1.0, 0.0], 1).is_finite());
        assert!(accepts(-1.0, -0.5) && !accepts(-0.5, -0.5) && !accepts(-0.5, -1.0));
    }

    #[test]
    fn the_attack_turns_a_happy_face_sad_within_the_budget() {
        for method in [Method::Square, Method::SimbaDct] {
            turns_a_happy_face_sad(method);
        }
    }

    fn turns_a_happy_face_sad(method: Method) {
        let face = happy_face(16);
        let mut oracle = Linear { side: 16, queries: 0 };
        let mut reports = Vec::new();
        let out = attack(
            &mut oracle,
            &labels(),
            &face,
            (0, 1),
            AttackSettings { method, ..AttackSettings::default() },
            |p| {
                reports.push(p);
                ControlFlow::Continue(())
            },
        )
        .expect("attack");
        assert!(out.reached, "after {} queries: {:?}", out.queries, out.after);
        assert!(out.after[1] > out.after[0] && out.before[0] > out.before[1]);
        assert!(out.max_change_levels() <= DEFAULT_BUDGET_LEVELS && out.max_change_levels() > 0);
        assert_eq!(out.queries, oracle.queries, "every classification is counted");
        assert_eq!(reports.last().map(|p| p.queries), Some(out.queries));
        // The saved picture is what was classified.
        let mut again = Vec::new();
        oracle.probabilities(&out.hacked, &mut again).expect("query");
        assert_eq!(again, out.after);
    }

    #[test]
    fn a_budget_too_small_is_reported_not_reached() {
        let face = happy_face(16);
        let mut oracle = Linear { side: 16, queries: 0 };
        let settings = AttackSettings {
            budget_levels: 1,
            step_levels: 1.0,
            max_queries: 2000,
            seed: 3,
            ..AttackSettings::default()
        };
        let out = attack(&mut oracle, &labels(), &face, (0, 1), settings, |_| ControlFlow::Continue(())).expect("ok");
        assert!(!out.reached);
        assert_eq!(out.max_change_levels(), 1);
        assert!(out.after[1] > out.before[1], "sad gained even so: {:?} -> {:?}", out.before, out.after);
    }

    #[test]
    fn the_query_limit_and_the_caller_stop_the_attack() {
        let face = happy_face(16);
        let mut oracle = Linear { side: 16, queries: 0 };
        let few = AttackSettings { max_queries: 5, ..AttackSettings::default() };
        let out = attack(&mut oracle, &labels(), &face, (0, 1), few, |_| ControlFlow::Continue(())).expect("ok");
        assert_eq!((out.queries, out.reached), (5, false));
        // Out of reach with one gray level, so only the caller ends it.
        let small = AttackSettings { budget_levels: 1, step_levels: 1.0, ..AttackSettings::default() };
        let out = attack(&mut oracle, &labels(), &face, (0, 1), small, |_| ControlFlow::Break(())).expect("ok");
        assert!(out.stopped && out.queries == PROGRESS_EVERY_QUERIES);
    }

    #[test]
    fn wrong_inputs_are_clear_errors() {
        let mut oracle = Linear { side: 16, queries: 0 };
        let run = |oracle: &mut Linear, face: &GrayImage, pair| {
            attack(oracle, &labels(), face, pair, AttackSettings::default(), |_| ControlFlow::Continue(()))
                .expect_err("error")
                .to_string()
        };
        let err = run(&mut oracle, &happy_face(16), (1, 0));
        assert!(err.contains("read as happy") && err.contains("not sad"), "{err}");
        assert!(run(&mut oracle, &happy_face(16), (0, 0)).contains("both 'happy'"));
        assert!(run(&mut oracle, &GrayImage::new(16, 8), (0, 1)).contains("16x8"));
        assert_eq!(label_index(&labels(), "Sad").expect("sad"), 1);
        let err = label_index(&labels(), "angry").expect_err("unknown").to_string();
        assert!(err.contains("'angry'") && err.contains("happy, sad, neutral"), "{err}");
    }

    #[test]
    fn the_difference_picture_amplifies_around_mid_gray() {
        let a = GrayImage::from_raw(3, 1, vec![100, 100, 100]).expect("3 pixels");
        let b = GrayImage::from_raw(3, 1, vec![100, 108, 92]).expect("3 pixels");
        assert_eq!(difference_picture(&a, &b, 127.0 / 8.0).as_raw(), &vec![128, 255, 1]);
        assert_eq!(max_abs_difference(&a, &b), 8);
    }
}
