//! Valence and arousal: where a face lies on the circumplex, from its class probabilities
//! (the expected value of fixed coordinates per class) or from a model that outputs it.
//!
//! # Coordinates
//! Every classifier label has a point on the valence/arousal plane, both axes in -1..1.
//! A manifest may declare them (`[valence_arousal]`, see `models/README.md`); without
//! that table, labels named like the FER2013 classes get [`PUBLISHED`]: the mean
//! pleasure and arousal ratings of the matching emotion terms in Russell & Mehrabian
//! (1977), "Evidence for a three-factor theory of emotions", *Journal of Research in
//! Personality* 11(3), 273-294, Table 1 (151 terms rated on -1..1 scales): "happy",
//! "angry", "disgust", "fearful", "sad", "surprised". Neutral is the origin, the neutral
//! point of both scales (the table has no "neutral" term).
//!
//! # From probabilities
//! A face's point is the expected coordinate under its probabilities, `sum p_k c_k`.
//! That is linear in the probabilities, so smoothing the point over time (as the tracker
//! does) gives the same point as taking the expectation of the smoothed probabilities.
//!
//! # From a valence/arousal model
//! A model whose manifest says `output.kind = "valence_arousal"` outputs the point itself
//! (`[N, 2]`: valence, arousal). The class pipeline (emoji, confirmation window) still
//! needs probabilities, so they come from the point: a Gaussian kernel on the distance to
//! each label's coordinate ([`Circumplex::probabilities_from_point`]); the nearest
//! label's coordinate wins, so the emoji is the class nearest to the model's point, and
//! the reported valence/arousal is the model's own point, not the expectation.

/// A point on the circumplex: `[valence, arousal]`, each in -1..1.
pub type Point = [f32; 2];

/// Lowest and highest value on either axis.
pub const AXIS_RANGE: (f32, f32) = (-1.0, 1.0);

/// Russell & Mehrabian (1977), Table 1: mean pleasure (valence) and arousal of the emotion
/// terms matching the FER2013 classes; neutral at the origin. `(label, [valence, arousal])`
/// in FER2013 code order.
pub const PUBLISHED: [(&str, Point); 7] = [
    ("angry", [-0.51, 0.59]),   // term "angry"
    ("disgust", [-0.60, 0.35]), // term "disgust"
    ("fear", [-0.64, 0.60]),    // term "fearful"
    ("happy", [0.81, 0.51]),    // term "happy"
    ("sad", [-0.63, -0.27]),    // term "sad"
    ("surprise", [0.40, 0.67]), // term "surprised"
    ("neutral", [0.0, 0.0]),    // the scales' neutral point
];

/// Other spellings of the published labels (other datasets' names for the same classes).
const ALIASES: [(&str, &str); 9] = [
    ("anger", "angry"),
    ("disgusted", "disgust"),
    ("fearful", "fear"),
    ("afraid", "fear"),
    ("happiness", "happy"),
    ("joy", "happy"),
    ("sadness", "sad"),
    ("surprised", "surprise"),
    ("calm", "neutral"),
];

/// Width of the kernel that turns a model's point into class probabilities, in circumplex
/// units: about half the distance between neighbouring published coordinates, so the
/// nearest class clearly leads and its neighbours still show.
pub const DEFAULT_POINT_SPREAD: f32 = 0.25;

/// The published coordinate of a label (case-insensitive, with common aliases), if any.
pub fn published(label: &str) -> Option<Point> {
    let lower = label.trim().to_ascii_lowercase();
    let name = ALIASES.iter().find(|(alias, _)| *alias == lower).map_or(lower.as_str(), |(_, name)| name);
    PUBLISHED.iter().find(|(l, _)| *l == name).map(|(_, p)| *p)
}

/// Whether both coordinates lie in [`AXIS_RANGE`].
pub fn in_range(point: Point) -> bool {
    point.iter().all(|v| (AXIS_RANGE.0..=AXIS_RANGE.1).contains(v))
}

/// One coordinate per classifier label, in label order.
#[derive(Debug, Clone, PartialEq)]
pub struct Circumplex {
    coordinates: Vec<Point>,
    /// Kernel width for [`Self::probabilities_from_point`], circumplex units.
    spread: f32,
}

impl Circumplex {
    /// Coordinates in label order (each in [`AXIS_RANGE`]; the caller checks).
    pub fn new(coordinates: Vec<Point>) -> Self {
        Self { coordinates, spread: DEFAULT_POINT_SPREAD }
    }

    /// The published coordinates of `labels`, or the first label without one.
    pub fn published_for<S: AsRef<str>>(labels: &[S]) -> Result<Self, String> {
        labels
            .iter()
            .map(|l| published(l.as_ref()).ok_or_else(|| l.as_ref().to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }

    pub fn coordinates(&self) -> &[Point] {
        &self.coordinates
    }

    /// The expected coordinate under `probabilities` (label order), clamped to the axes.
    pub fn point_from_probabilities(&self, probabilities: &[f32]) -> Point {
        let mut point = [0.0f32; 2];
        for (p, c) in probabilities.iter().zip(&self.coordinates) {
            point[0] += p * c[0];
            point[1] += p * c[1];
        }
        clamp(point)
    }

    /// Class probabilities for a model's point (written into `dst`, label order): a
    /// Gaussian kernel on the distance to each coordinate, normalised; the nearest
    /// coordinate gets the largest share.
    pub fn probabilities_from_point(&self, point: Point, dst: &mut [f32]) {
        let two_var = 2.0 * self.spread * self.spread;
        for (d, c) in dst.iter_mut().zip(&self.coordinates) {
            let (dv, da) = (point[0] - c[0], point[1] - c[1]);
            *d = -(dv * dv + da * da) / two_var;
        }
        crate::vision::classifier::softmax(dst);
    }
}

/// The point with both coordinates clamped to [`AXIS_RANGE`] (NaN becomes 0).
pub fn clamp(point: Point) -> Point {
    point.map(|v| if v.is_nan() { 0.0 } else { v.clamp(AXIS_RANGE.0, AXIS_RANGE.1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FER: [&str; 7] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

    #[test]
    fn fer_labels_get_the_published_coordinates_in_label_order() {
        let c = Circumplex::published_for(&FER).expect("all FER labels are published");
        assert_eq!(c.coordinates()[3], [0.81, 0.51]);
        assert_eq!(c.coordinates()[4], [-0.63, -0.27]);
        assert_eq!(c.coordinates()[6], [0.0, 0.0]);
        assert!(c.coordinates().iter().all(|p| in_range(*p)));
        // Other spellings and case.
        assert_eq!(published("Happiness"), Some([0.81, 0.51]));
        assert_eq!(published(" ANGER "), Some([-0.51, 0.59]));
        assert_eq!(Circumplex::published_for(&["happy", "contempt"]), Err("contempt".to_string()));
    }

    #[test]
    fn the_point_is_the_expected_coordinate() {
        let c = Circumplex::published_for(&FER).expect("published");
        // All happy: happy's point; half happy half sad: the midpoint.
        assert_eq!(c.point_from_probabilities(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]), [0.81, 0.51]);
        let mid = c.point_from_probabilities(&[0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0]);
        assert!((mid[0] - 0.09).abs() < 1e-6 && (mid[1] - 0.12).abs() < 1e-6, "{mid:?}");
        // Uniform: the mean of the coordinates, negative valence (four of seven are negative).
        let uniform = c.point_from_probabilities(&[1.0 / 7.0; 7]);
        assert!(uniform[0] < 0.0 && uniform[1] > 0.0, "{uniform:?}");
    }

    #[test]
    fn the_point_stays_on_the_axes() {
        let c = Circumplex::new(vec![[1.0, 1.0], [-1.0, -1.0]]);
        assert_eq!(c.point_from_probabilities(&[3.0, 0.0]), [1.0, 1.0]);
        assert_eq!(clamp([f32::NAN, -2.0]), [0.0, -1.0]);
    }

    #[test]
    fn a_models_point_makes_the_nearest_class_win() {
        let c = Circumplex::published_for(&FER).expect("published");
        let mut probs = [0.0f32; 7];
        for (k, coordinate) in c.coordinates().iter().enumerate() {
            c.probabilities_from_point(*coordinate, &mut probs);
            let top = crate::vision::classifier::top_two(&probs).0.0;
            assert_eq!(top, k, "{} at {coordinate:?}: {probs:?}", FER[k]);
            assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        // Between happy and surprise, nearer happy: happy leads, surprise second.
        c.probabilities_from_point([0.7, 0.55], &mut probs);
        let ((top, _), (second, _)) = crate::vision::classifier::top_two(&probs);
        assert_eq!((FER[top], FER[second]), ("happy", "surprise"));
    }
}
