//! JSON lines: one object per analysed frame with every face's box, landmarks and probabilities.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::vision::{BBox, Face};

/// Probabilities as a `{label: p}` object in label order.
pub struct LabelledProbabilities<'a> {
    pub labels: &'a [String],
    pub probabilities: &'a [f32],
}

impl Serialize for LabelledProbabilities<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.labels.len()))?;
        for (l, p) in self.labels.iter().zip(self.probabilities) {
            map.serialize_entry(l, &round4(*p))?;
        }
        map.end()
    }
}

fn round4(v: f32) -> f64 {
    (f64::from(v) * 1e4).round() / 1e4
}

#[derive(Serialize)]
pub struct FaceReport<'a> {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub score: f32,
    pub landmarks: [[f32; 2]; crate::vision::LANDMARKS],
    pub label: &'a str,
    pub probability: f32,
    pub probabilities: LabelledProbabilities<'a>,
    /// With tracking: the person's id, confirmed label and smoothed probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoothed: Option<LabelledProbabilities<'a>>,
}

#[derive(Serialize)]
pub struct FrameReport<'a> {
    pub frame: u64,
    /// Media seconds (video) or Unix seconds (images, live input).
    pub time: f64,
    pub hms: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub source: &'a str,
    pub width: u32,
    pub height: u32,
    pub faces: Vec<FaceReport<'a>>,
}

/// One face's report from its detection and its probability row.
pub fn face_report<'a>(face: &Face, labels: &'a [String], probabilities: &'a [f32]) -> FaceReport<'a> {
    let ((top, p), _) = crate::vision::classifier::top_two(probabilities);
    FaceReport {
        bbox: face.bbox_in_frame,
        score: face.score,
        landmarks: face.landmarks_in_frame,
        label: &labels[top],
        probability: p,
        probabilities: LabelledProbabilities { labels, probabilities },
        track: None,
        confirmed: None,
        smoothed: None,
    }
}

/// Adds a track's id, confirmed label and smoothed probabilities to a face report.
pub fn with_track<'a>(
    mut report: FaceReport<'a>,
    track: &'a crate::tracking::Track,
    labels: &'a [String],
) -> FaceReport<'a> {
    report.track = Some(track.id);
    report.confirmed = track.confirmed().map(|c| labels[c].as_str());
    report.smoothed = Some(LabelledProbabilities { labels, probabilities: track.smoothed.values() });
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_keep_label_order() {
        let labels = vec!["sad".to_string(), "happy".to_string()];
        let json = serde_json::to_string(&LabelledProbabilities { labels: &labels, probabilities: &[0.25, 0.75] })
            .expect("serialise");
        assert_eq!(json, r#"{"sad":0.25,"happy":0.75}"#);
    }
}
