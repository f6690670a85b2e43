//! Emotion classifier: every face of a frame in one batch, as the manifest says.
//!
//! Any ONNX classifier works with a manifest (size, layout, colour, normalisation,
//! labels, probabilities or logits); see `models/README.md`.

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;

use super::affect::{self, Point};
use super::manifest::{ClassifierManifest, Layout, OutputKind, VALENCE_AROUSAL_OUTPUTS};
use super::onnx::{ThreadSettings, check_dims, find_outlet, open_session};
use super::resample::{PixelSource, Resampler, TensorFormat};
use super::{BBox, Face, VisionError};

/// Most faces per inference call; more are run in several calls.
pub const MAX_BATCH: usize = 32;

/// The classifier; owns its session and reusable buffers.
pub struct EmotionClassifier {
    session: Session,
    manifest: ClassifierManifest,
    format: TensorFormat,
    /// Largest batch the model accepts (1 when its batch dim is fixed to 1).
    max_batch: usize,
    output_index: usize,
    resampler: Resampler,
    input: Vec<f32>,
    rects: Vec<BBox>,
    /// Valence/arousal of each face of the latest call (empty without a circumplex).
    affect: Vec<Point>,
}

/// The result for one face: probabilities in label order.
#[derive(Debug, Clone, Copy)]
pub struct Classification<'a> {
    pub probabilities: &'a [f32],
    pub labels: &'a [String],
}

impl Classification<'_> {
    /// Index and probability of the most likely class.
    pub fn top(&self) -> (usize, f32) {
        top_two(self.probabilities).0
    }

    pub fn top_label(&self) -> &str {
        &self.labels[self.top().0]
    }
}

/// Best and second-best (index, probability); the second is (0, 0) for one class.
pub fn top_two(probs: &[f32]) -> ((usize, f32), (usize, f32)) {
    let mut best = (0, f32::NEG_INFINITY);
    let mut second = (0, f32::NEG_INFINITY);
    for (i, &p) in probs.iter().enumerate() {
        if p > best.1 {
            second = best;
            best = (i, p);
        } else if p > second.1 {
            second = (i, p);
        }
    }
    if second.1 == f32::NEG_INFINITY {
        second = (0, 0.0);
    }
    (best, second)
}

/// In-place softmax.
pub fn softmax(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        values.iter_mut().for_each(|v| *v /= sum);
    }
}

impl EmotionClassifier {
    /// Opens the manifest's model and checks it against the manifest.
    pub fn new(
        env: &ort::environment::Environment,
        manifest: ClassifierManifest,
        threads: ThreadSettings,
    ) -> Result<Self, VisionError> {
        let model = &manifest.model;
        let session = open_session(env, model, threads)?;
        let input = find_outlet(&session, model, &manifest.input.name, true)?;
        check_dims(model, &format!("input '{}'", manifest.input.name), &input.dims, &manifest.expected_input_dims())?;
        let output = find_outlet(&session, model, &manifest.output_name, false)?;
        check_dims(
            model,
            &format!("output '{}'", manifest.output_name),
            &output.dims,
            &manifest.expected_output_dims(),
        )?;
        let max_batch = match input.dims.first() {
            Some(&b) if b > 0 => b as usize,
            _ => MAX_BATCH,
        };
        Ok(Self {
            format: TensorFormat::from_input(&manifest.input),
            session,
            manifest,
            max_batch,
            output_index: output.index,
            resampler: Resampler::default(),
            input: Vec::new(),
            rects: Vec::new(),
            affect: Vec::new(),
        })
    }

    /// The checked manifest (name, labels, input size, crop margin).
    pub fn manifest(&self) -> &ClassifierManifest {
        &self.manifest
    }

    pub fn labels(&self) -> &[String] {
        &self.manifest.labels
    }

    pub fn num_classes(&self) -> usize {
        self.manifest.labels.len()
    }

    /// Valence and arousal of each face of the latest classify call, in face order: the
    /// model's own point (`output.kind = "valence_arousal"`) or the expected coordinate of
    /// the probabilities. Empty when the labels have no coordinates (see [`super::affect`]).
    pub fn affect(&self) -> &[Point] {
        &self.affect
    }

    /// Classifies every face of `frame`; `probs` gets `faces.len() * num_classes()` values.
    pub fn classify_faces(
        &mut self,
        frame: &RgbImage,
        faces: &[Face],
        probs: &mut Vec<f32>,
    ) -> Result<(), VisionError> {
        let framing = self.manifest.framing;
        let mut rects = std::mem::take(&mut self.rects);
        rects.clear();
        rects.extend(faces.iter().map(|f| framing.region(f)));
        let result = self.classify_rects(frame, &rects, probs);
        self.rects = rects;
        result
    }

    /// Classifies the given regions of `src` as they are (no squaring or margin).
    pub fn classify_rects<S: PixelSource>(
        &mut self,
        src: &S,
        rects: &[BBox],
        probs: &mut Vec<f32>,
    ) -> Result<(), VisionError> {
        self.classify_with(rects.len(), |i| (src, rects[i]), probs)
    }

    /// Classifies whole images (e.g. dataset faces), several per inference call.
    pub fn classify_images<S: PixelSource>(&mut self, images: &[S], probs: &mut Vec<f32>) -> Result<(), VisionError> {
        self.classify_with(
            images.len(),
            |i| (&images[i], BBox::new(0.0, 0.0, images[i].width() as f32, images[i].height() as f32)),
            probs,
        )
    }

    /// The batching core: item `i` is region `crop(i).1` of image `crop(i).0`.
    fn classify_with<'s, S: PixelSource + 's>(
        &mut self,
        count: usize,
        crop: impl Fn(usize) -> (&'s S, BBox),
        probs: &mut Vec<f32>,
    ) -> Result<(), VisionError> {
        probs.clear();
        self.affect.clear();
        let n_classes = self.num_classes();
        let n_outputs = match self.manifest.output_kind {
            OutputKind::ValenceArousal => VALENCE_AROUSAL_OUTPUTS,
            OutputKind::Probabilities | OutputKind::Logits => n_classes,
        };
        let (width, height) = (self.manifest.width, self.manifest.height);
        let item = width * height * self.format.channels();
        let mut start = 0;
        while start < count {
            let batch = (count - start).min(self.max_batch);
            self.input.resize(batch * item, 0.0);
            for i in 0..batch {
                let (src, rect) = crop(start + i);
                let dst = &mut self.input[i * item..(i + 1) * item];
                self.resampler.sample_into(src, rect, width, height, width, height, &self.format, dst);
            }
            start += batch;
            let model = self.manifest.name.as_str();
            let infer_err = |e: ort::Error| VisionError::inference(model, e);
            let c = self.format.channels();
            let shape = match self.manifest.input.layout {
                Layout::Nchw => [batch, c, height, width],
                Layout::Nhwc => [batch, height, width, c],
            };
            let tensor = TensorRef::from_array_view((shape, &self.input[..])).map_err(infer_err)?;
            let outputs = self.session.run(ort::inputs![tensor]).map_err(infer_err)?;
            let (_, values) = outputs[self.output_index].try_extract_tensor::<f32>().map_err(infer_err)?;
            if values.len() != batch * n_outputs {
                return Err(VisionError::Output {
                    model: model.to_string(),
                    reason: format!("output has {} values, expected {batch} x {n_outputs}", values.len()),
                });
            }
            let first = probs.len();
            let circumplex = self.manifest.circumplex.as_ref();
            match (self.manifest.output_kind, circumplex) {
                (OutputKind::ValenceArousal, Some(circumplex)) => {
                    probs.resize(first + batch * n_classes, 0.0);
                    for (point, row) in values.chunks_exact(2).zip(probs[first..].chunks_mut(n_classes)) {
                        let point = affect::clamp([point[0], point[1]]);
                        circumplex.probabilities_from_point(point, row);
                        self.affect.push(point);
                    }
                }
                (OutputKind::ValenceArousal, None) => {
                    return Err(VisionError::Output {
                        model: model.to_string(),
                        reason: "a valence/arousal model without label coordinates".into(),
                    });
                }
                (kind, circumplex) => {
                    probs.extend_from_slice(values);
                    if kind == OutputKind::Logits {
                        probs[first..].chunks_mut(n_classes).for_each(softmax);
                    }
                    if let Some(circumplex) = circumplex {
                        let rows = probs[first..].chunks_exact(n_classes);
                        self.affect.extend(rows.map(|row| circumplex.point_from_probabilities(row)));
                    }
                }
            }
        }
        Ok(())
    }

    /// The classification of face `i` from a `probs` buffer filled by this classifier.
    pub fn view<'a>(&'a self, probs: &'a [f32], i: usize) -> Classification<'a> {
        let n = self.num_classes();
        Classification { probabilities: &probs[i * n..(i + 1) * n], labels: self.labels() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut v = [1.0, 3.0, 2.0];
        softmax(&mut v);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(v[1] > v[2] && v[2] > v[0]);
    }

    #[test]
    fn top_two_finds_best_and_runner_up() {
        assert_eq!(top_two(&[0.1, 0.6, 0.3]), ((1, 0.6), (2, 0.3)));
        assert_eq!(top_two(&[0.7, 0.2, 0.1]), ((0, 0.7), (1, 0.2)));
    }
}
