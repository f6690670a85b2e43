//! The video texture: one image asset updated in place with each analysed frame.

use std::time::Instant;

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};

use super::AppSystems;
use super::analysis::AnalysisWorker;
use crate::engine::{EngineEvent, RateMeter};
use crate::tracking::TrackSnapshot;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<LatestAnalysis>()
        .init_resource::<SourceStatus>()
        .init_resource::<Stats>()
        .add_systems(Startup, create_video_texture)
        .add_systems(Update, receive_analysis.in_set(AppSystems::Receive));
}

/// The texture the video is shown with (raw and processed panes share it).
#[derive(Resource)]
pub struct VideoTexture {
    pub handle: Handle<Image>,
    pub size: UVec2,
}

/// The newest analysed frame's tracks, copied from the engine (buffers reused).
#[derive(Resource, Default, Debug)]
pub struct LatestAnalysis {
    /// Set when a new analysis arrived this frame.
    pub fresh: bool,
    pub index: u64,
    pub time_s: f64,
    pub tracks: TrackSnapshot,
    pub frame_size: UVec2,
    /// When the engine received this frame from the source (the start of the
    /// camera-to-screen latency, closed when the frame is presented: see [`super::present`]).
    pub received_at: Option<Instant>,
}

/// What the worker said about the source and the models.
#[derive(Resource, Default, Debug, Clone)]
pub struct SourceStatus {
    pub labels: Vec<String>,
    pub detector: String,
    /// Shown in the middle of the window while set (no camera, missing model...).
    pub problem: Option<String>,
    /// The short message for visitors shown in large type while set (the details are in
    /// `problem` and the log), e.g. [`CONNECT_CAMERA`] while the bundled sample is shown.
    pub hint: Option<&'static str>,
    /// The source cannot be opened (frames meanwhile come from the engine's fallback, so
    /// they do not clear `problem`).
    pub source_missing: bool,
    pub frames_seen: u64,
}

impl SourceStatus {
    /// The camera is gone (unplugged, stalled or not found): its picture is not live.
    pub fn camera_down(&self) -> bool {
        self.source_missing || self.hint.is_some_and(|h| h == CAMERA_LOST || h == CAMERA_STALLED)
    }
}

/// The hint shown over the bundled sample while the camera is missing.
pub const CONNECT_CAMERA: &str = "Connect a camera";
/// The hint for visitors while the exhibit cannot run at all (a model file is missing or
/// damaged); the operator's message is shown below it.
pub const NEEDS_ATTENTION: &str = "This exhibit needs attention";
/// The hint shown while a stalled camera is reopened (until its frames come again).
pub const CAMERA_STALLED: &str = "Camera stalled";
/// The hint shown while a camera that went away (unplugged) is retried.
pub const CAMERA_LOST: &str = "Camera disconnected";

/// Live figures for the help panel and the benchmark.
#[derive(Resource, Default, Debug, Clone)]
pub struct Stats {
    /// What the source is, for the panel: "camera", "video", "images".
    pub source_kind: &'static str,
    /// Frames per second the source delivers.
    pub source_fps: f32,
    pub analysis_fps: f32,
    pub inference_ms: f32,
    /// Camera-to-screen latency of the newest presented video frame, ms.
    pub latency_ms: f32,
    /// p50 and p95 of the presented frames' latencies over the last few seconds, ms.
    pub latency_p50_ms: f32,
    pub latency_p95_ms: f32,
    /// Source-to-texture latency of the newest frame, ms (the part before rendering).
    pub upload_latency_ms: f32,
    /// Camera-to-screen latencies (to the presented frame) of this run, ms (bounded; for the benchmark).
    pub latencies_ms: Vec<f32>,
    pub analysis_rate: RateMeter,
    /// Frames rendered (presented) per second, and the render thread's milliseconds per
    /// frame (smoothed); see [`super::present`].
    pub render_fps: f32,
    pub render_ms: f32,
    pub render_rate: RateMeter,
    /// The render cap in force (on demand; 0: continuous, no cap), see [`super::redraw`].
    pub render_cap_fps: f32,
}

/// Latency samples kept for the benchmark (a fixed ring: memory stays flat).
pub const MAX_LATENCY_SAMPLES: usize = 10_000;

const PLACEHOLDER_SIZE: UVec2 = UVec2::new(640, 480);

fn create_video_texture(mut commands: Commands, mut images: ResMut<Assets<Image>>) {
    let image = blank_image(PLACEHOLDER_SIZE);
    commands.insert_resource(VideoTexture { handle: images.add(image), size: PLACEHOLDER_SIZE });
}

fn blank_image(size: UVec2) -> Image {
    Image::new_fill(
        Extent3d { width: size.x, height: size.y, depth_or_array_layers: 1 },
        TextureDimension::D2,
        &[24, 24, 28, 255],
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::default(),
    )
}

/// Copies RGB pixels into an RGBA buffer of the same size.
pub fn rgba_from_rgb(rgb: &[u8], rgba: &mut [u8]) {
    for (dst, src) in rgba.chunks_exact_mut(4).zip(rgb.chunks_exact(3)) {
        dst[..3].copy_from_slice(src);
        dst[3] = 255;
    }
}

fn receive_analysis(
    worker: Res<AnalysisWorker>,
    mut latest: ResMut<LatestAnalysis>,
    mut status: ResMut<SourceStatus>,
    mut stats: ResMut<Stats>,
    texture: Option<ResMut<VideoTexture>>,
    mut images: ResMut<Assets<Image>>,
) {
    if status.labels.is_empty() && !worker.labels().is_empty() {
        status.labels = worker.labels().to_vec();
        status.detector = worker.detector_name().to_string();
    }
    if status.problem.is_none()
        && let Some(p) = &worker.startup_problem
    {
        status.problem = Some(p.clone());
        status.hint = Some(NEEDS_ATTENTION);
    }
    for event in worker.events() {
        match event {
            EngineEvent::Detector { name } => {
                status.detector = name;
                status.problem = None;
            }
            EngineEvent::SourceUnavailable(m) => {
                status.problem = Some(m);
                status.source_missing = true;
                status.hint = worker.has_fallback.then_some(CONNECT_CAMERA);
            }
            EngineEvent::SourceOpened => {
                status.problem = None;
                status.source_missing = false;
                status.hint = None;
            }
            EngineEvent::Stalled(m) => {
                status.problem = Some(m);
                status.hint = Some(CAMERA_STALLED);
            }
            EngineEvent::Lost(m) => {
                status.problem = Some(m);
                status.hint = Some(CAMERA_LOST);
            }
            EngineEvent::DetectorFailed(m) => {
                status.problem = Some(m);
            }
            EngineEvent::Restored(_) => {
                status.problem = None;
                status.hint = None;
            }
            EngineEvent::SourceEnded => {}
        }
    }
    latest.fresh = false;
    let Some(mut texture) = texture else { return };
    let Some(a) = worker.newest() else { return };
    status.frames_seen += 1;
    // A lost camera is back with its Restored event (frames still in flight do not count).
    if status.problem.is_some()
        && worker.startup_problem.is_none()
        && !status.source_missing
        && status.hint != Some(CAMERA_LOST)
    {
        status.problem = None;
        status.hint = None;
    }
    let size = UVec2::new(a.image.width(), a.image.height());
    if let Some(mut image) = images.get_mut(&texture.handle) {
        if size != texture.size {
            *image = blank_image(size);
            texture.size = size;
        }
        if let Some(data) = image.data.as_mut() {
            rgba_from_rgb(a.image.as_raw(), data);
        }
    }
    latest.fresh = true;
    latest.index = a.index;
    latest.time_s = a.time.seconds();
    latest.frame_size = size;
    latest.received_at = a.received_at;
    latest.tracks.copy_from(&a.tracks);
    stats.source_fps = a.source_fps;
    stats.inference_ms = a.inference_ms;
    stats.analysis_fps = stats.analysis_rate.tick(Instant::now());
    if let Some(t) = a.received_at {
        stats.upload_latency_ms = t.elapsed().as_secs_f32() * 1000.0;
    }
    worker.recycle(a);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_becomes_opaque_rgba() {
        let mut out = [0u8; 8];
        rgba_from_rgb(&[1, 2, 3, 4, 5, 6], &mut out);
        assert_eq!(out, [1, 2, 3, 255, 4, 5, 6, 255]);
    }
}
