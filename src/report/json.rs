//! JSON lines: one object per analysed frame with every face's box, landmarks and probabilities.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::engine::AnalysedFrame;
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

fn round4_opt<S: Serializer>(v: &Option<f32>, s: S) -> Result<S::Ok, S::Error> {
    v.map(round4).serialize(s)
}

#[derive(Serialize)]
pub struct FaceReport<'a> {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub score: f32,
    pub landmarks: [[f32; 2]; crate::vision::LANDMARKS],
    /// The top class of this frame's classification (with tracking, of a track not
    /// classified on this frame: its confirmed class, or the top smoothed one).
    pub label: &'a str,
    pub probability: f32,
    /// This frame's probabilities; absent for a track not classified on this frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<LabelledProbabilities<'a>>,
    /// Valence and arousal, each -1..1 (with tracking: smoothed like `smoothed`); absent
    /// when the classifier's labels have no coordinates (see [`crate::vision::affect`]).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "round4_opt")]
    pub valence: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "round4_opt")]
    pub arousal: Option<f32>,
    /// With tracking: the person's id, confirmed label and smoothed probabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoothed: Option<LabelledProbabilities<'a>>,
    /// With tracking: the enrolled person this track is recognised as (absent: unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
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
        probabilities: Some(LabelledProbabilities { labels, probabilities }),
        valence: None,
        arousal: None,
        track: None,
        confirmed: None,
        smoothed: None,
        name: None,
    }
}

/// One track's report: its box, its id, confirmed label and smoothed probabilities, and
/// this frame's probabilities when it was classified on this frame.
pub fn track_report<'a>(frame: &'a AnalysedFrame, i: usize) -> Option<FaceReport<'a>> {
    let track = frame.tracks.tracks.get(i)?;
    let labels = &frame.labels[..];
    let smoothed = frame.tracks.smoothed(i);
    let mut report = match frame.track_probabilities(i) {
        Some(p) => face_report(&track.face, labels, p),
        None => {
            let idx = track.confirmed.unwrap_or_else(|| crate::vision::classifier::top_two(smoothed).0.0);
            FaceReport {
                bbox: track.face.bbox_in_frame,
                score: track.face.score,
                landmarks: track.face.landmarks_in_frame,
                label: labels.get(idx).map_or("", String::as_str),
                probability: smoothed.get(idx).copied().unwrap_or(0.0),
                probabilities: None,
                valence: None,
                arousal: None,
                track: None,
                confirmed: None,
                smoothed: None,
                name: None,
            }
        }
    };
    report.track = Some(track.id);
    report.confirmed = track.confirmed.and_then(|c| labels.get(c)).map(String::as_str);
    report.smoothed = Some(LabelledProbabilities { labels, probabilities: smoothed });
    (report.valence, report.arousal) = (track.affect.map(|p| p[0]), track.affect.map(|p| p[1]));
    report.name = frame.tracks.person_name(i);
    Some(report)
}

/// The JSON line of one analysed frame: every track (`tracked`), or every classified face.
pub fn frame_report<'a>(frame: &'a AnalysedFrame, hms: &'a str, tracked: bool) -> FrameReport<'a> {
    let faces = if tracked {
        (0..frame.tracks.tracks.len()).filter_map(|i| track_report(frame, i)).collect()
    } else {
        frame
            .faces
            .iter()
            .enumerate()
            .map(|(row, f)| {
                let mut report = face_report(f, &frame.labels, frame.probabilities_of(row));
                let point = frame.affect.get(row);
                (report.valence, report.arousal) = (point.map(|p| p[0]), point.map(|p| p[1]));
                report
            })
            .collect()
    };
    FrameReport {
        frame: frame.index,
        time: frame.time.seconds(),
        hms,
        source: &frame.name,
        width: frame.image.width(),
        height: frame.image.height(),
        faces,
    }
}

/// Writes `frame` as one JSON line.
pub fn write_frame_json(out: &mut impl std::io::Write, frame: &AnalysedFrame, tracked: bool) -> std::io::Result<()> {
    let hms = frame.time.hms();
    serde_json::to_writer(&mut *out, &frame_report(frame, &hms, tracked))?;
    writeln!(out)
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
