//! Screenshots, scripted key presses and the benchmark mode.
//!
//! `--screenshot PATH --exit-after-frames N` saves the window after N frames with
//! video and exits (kiosk checks, tests); a JSON file beside the PNG says what was
//! on screen (frame index, video rect, faces, help panel). `--bench-frames N`
//! prints render fps and camera-to-screen latency percentiles, then exits.

use std::path::PathBuf;
use std::time::Instant;

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy::window::PrimaryWindow;
use serde::Serialize;

use super::controls::action_of;
use super::faces::FaceTrack;
use super::layout::PaneRects;
use super::ui::UiRects;
use super::video::{LatestAnalysis, SourceStatus, Stats};
use super::{AppOptions, AppSystems, LayoutMode, ViewSettings};

/// Frames after the first video frame at which scripted keys are pressed.
const PRESS_AT_FRAME: u32 = 3;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<FrameCount>()
        .add_systems(Update, count_frames.in_set(AppSystems::Input))
        // After Bevy's input update (which clears "just pressed"), before our hotkeys read it.
        .add_systems(PreUpdate, press_scripted_keys.after(bevy::input::InputSystems))
        .add_systems(Last, (take_screenshot, finish_benchmark));
}

#[derive(Resource, Debug, Clone, Default)]
pub struct CaptureOptions {
    pub screenshot: Option<PathBuf>,
    pub exit_after_frames: Option<u32>,
    pub bench_frames: Option<u32>,
    pub press: String,
}

impl CaptureOptions {
    pub fn from_options(o: &AppOptions) -> Self {
        Self {
            screenshot: o.screenshot.clone(),
            exit_after_frames: o.exit_after_frames,
            bench_frames: o.bench_frames,
            press: o.press.clone(),
        }
    }
}

/// Frames rendered since the first video frame (or the no-picture message) arrived.
#[derive(Resource, Debug, Default)]
pub struct FrameCount {
    pub with_video: u32,
    started: Option<Instant>,
    shot_taken: bool,
}

fn count_frames(status: Res<SourceStatus>, mut count: ResMut<FrameCount>) {
    // Frames with video, or with the "no picture" message (so a kiosk check without a
    // camera still gets its screenshot).
    if status.frames_seen > 0 || status.problem.is_some() {
        count.started.get_or_insert_with(Instant::now);
        count.with_video += 1;
    }
}

fn key_of(c: char) -> Option<KeyCode> {
    Some(match c.to_ascii_lowercase() {
        'h' => KeyCode::KeyH,
        'd' => KeyCode::KeyD,
        'l' => KeyCode::KeyL,
        'c' => KeyCode::KeyC,
        'f' => KeyCode::KeyF,
        '1' => KeyCode::Digit1,
        '2' => KeyCode::Digit2,
        '3' => KeyCode::Digit3,
        '4' => KeyCode::Digit4,
        ' ' => KeyCode::Space,
        _ => return None,
    })
}

fn press_scripted_keys(opts: Res<CaptureOptions>, count: Res<FrameCount>, mut keys: ResMut<ButtonInput<KeyCode>>) {
    let keys_to_press = opts.press.chars().filter_map(key_of);
    if count.with_video == PRESS_AT_FRAME {
        for k in keys_to_press {
            if action_of(k).is_some() {
                keys.press(k);
            }
        }
    } else if count.with_video == PRESS_AT_FRAME + 1 {
        for k in keys_to_press {
            keys.release(k);
        }
    }
}

/// What was on screen when the screenshot was taken (window pixels, y down).
#[derive(Serialize)]
struct ShotReport {
    frame_index: u64,
    frame_width: u32,
    frame_height: u32,
    window_width: f32,
    window_height: f32,
    layout: LayoutMode,
    /// [x0, y0, x1, y1] of the processed video, the raw video and the strip.
    processed_video: [f32; 4],
    raw_video: Option<[f32; 4]>,
    strip: Option<[f32; 4]>,
    /// Face boxes in window pixels.
    faces: Vec<[f32; 4]>,
    help_panel: Option<[f32; 4]>,
    /// The detector the worker runs (as it last reported).
    detector: String,
    /// What the source is ("camera", "video", "images") and the frames per second it delivers.
    source_kind: &'static str,
    source_fps: f32,
    /// The message shown instead of a picture, if any.
    problem: Option<String>,
}

fn window_rect(r: Rect, half: Vec2) -> [f32; 4] {
    [r.min.x + half.x, half.y - r.max.y, r.max.x + half.x, half.y - r.min.y]
}

#[allow(clippy::too_many_arguments)]
fn take_screenshot(
    mut commands: Commands,
    opts: Res<CaptureOptions>,
    mut count: ResMut<FrameCount>,
    latest: Res<LatestAnalysis>,
    panes: Res<PaneRects>,
    view: Res<ViewSettings>,
    rects: Res<UiRects>,
    status: Res<SourceStatus>,
    stats: Res<Stats>,
    faces: Query<&FaceTrack>,
    windows: Query<&Window, With<PrimaryWindow>>,
) {
    let Some(n) = opts.exit_after_frames else { return };
    if count.shot_taken || count.with_video < n {
        return;
    }
    count.shot_taken = true;
    let Some(path) = opts.screenshot.clone() else {
        commands.write_message(AppExit::Success);
        return;
    };
    let Ok(window) = windows.single() else { return };
    let half = Vec2::new(window.width(), window.height()) / 2.0;
    let report = ShotReport {
        frame_index: latest.index,
        frame_width: latest.frame_size.x,
        frame_height: latest.frame_size.y,
        window_width: window.width(),
        window_height: window.height(),
        layout: view.layout,
        processed_video: window_rect(panes.processed_video, half),
        raw_video: panes.raw_video.map(|r| window_rect(r, half)),
        strip: panes.strip.map(|r| window_rect(r, half)),
        faces: faces
            .iter()
            .map(|f| {
                let b = f.bbox_in_frame;
                let a = panes.frame_to_world(Vec2::new(b.x, b.y));
                let z = panes.frame_to_world(Vec2::new(b.x + b.w, b.y + b.h));
                [a.x + half.x, half.y - a.y, z.x + half.x, half.y - z.y]
            })
            .collect(),
        help_panel: rects.help.map(|r| [r.min.x, r.min.y, r.max.x, r.max.y]),
        detector: status.detector.clone(),
        source_kind: stats.source_kind,
        source_fps: stats.source_fps,
        problem: status.problem.clone(),
    };
    let json = path.with_extension("json");
    match serde_json::to_string_pretty(&report) {
        Ok(text) => {
            if let Err(e) = std::fs::write(&json, text) {
                error!("{}: {e}", json.display());
            }
        }
        Err(e) => error!("screenshot report: {e}"),
    }
    commands.spawn(Screenshot::primary_window()).observe(save_to_disk(path)).observe(
        |_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
            exit.write(AppExit::Success);
        },
    );
}

/// The p-th percentile (0..=100) of `values` (sorted in place).
pub fn percentile(values: &mut [f32], p: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    let i = ((p / 100.0) * (values.len() - 1) as f32).round() as usize;
    values[i.min(values.len() - 1)]
}

fn finish_benchmark(
    opts: Res<CaptureOptions>,
    count: Res<FrameCount>,
    stats: Res<Stats>,
    mut exit: MessageWriter<AppExit>,
    mut done: Local<bool>,
) {
    let Some(n) = opts.bench_frames else { return };
    if *done || count.with_video < n {
        return;
    }
    *done = true;
    let secs = count.started.map_or(0.0, |s| s.elapsed().as_secs_f32()).max(1e-6);
    let mut lat = stats.latencies_ms.clone();
    let rss = crate::memory::peak_rss_bytes().map_or(String::from("?"), |b| format!("{} MiB", b / (1024 * 1024)));
    println!(
        "render {:.1} fps over {n} frames; analysis {:.1} fps; camera-to-screen latency p50 {:.0} ms, p95 {:.0} ms; peak RSS {rss}",
        n as f32 / secs,
        stats.analysis_fps,
        percentile(&mut lat, 50.0),
        percentile(&mut lat, 95.0),
    );
    exit.write(AppExit::Success);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut v, 50.0), 3.0);
        assert_eq!(percentile(&mut v, 100.0), 5.0);
        assert_eq!(percentile(&mut [], 95.0), 0.0);
    }
}
