//! The egui layer: help panel (controls, settings, live stats), the debug overlay,
//! and the message shown when there is no camera or model.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::controls::{CONTROLS, DetectorRequest};
use super::faces::{FaceEmotion, FaceTrack};
use super::layout::PaneRects;
use super::video::{SourceStatus, Stats};
use super::{LayoutMode, PipelineSettings, ViewSettings};
use crate::report::display_label;

/// Runner-up shown in the debug overlay when within this probability of the top class.
pub const RUNNER_UP_MARGIN: f32 = 0.15;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<UiRects>().add_systems(EguiPrimaryContextPass, (help_ui, overlay_ui, status_ui));
}

/// Where egui drew its panels last frame (screen pixels), for kiosk checks and tests.
#[derive(Resource, Default, Debug, Clone)]
pub struct UiRects {
    pub help: Option<egui::Rect>,
}

fn help_ui(
    mut contexts: EguiContexts,
    mut view: ResMut<ViewSettings>,
    mut settings: ResMut<PipelineSettings>,
    status: Res<SourceStatus>,
    stats: Res<Stats>,
    mut requests: MessageWriter<DetectorRequest>,
    mut rects: ResMut<UiRects>,
) -> Result {
    if !view.show_help {
        rects.help = None;
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let response =
        egui::Window::new("emoji-mirror: help").default_pos(egui::pos2(16.0, 16.0)).resizable(false).show(ctx, |ui| {
            egui::Grid::new("controls").striped(true).show(ui, |ui| {
                for (key, what) in CONTROLS {
                    ui.monospace(key);
                    ui.label(what);
                    ui.end_row();
                }
            });
            ui.separator();
            ui.horizontal(|ui| {
                ui.label(format!("Detector: {}", if status.detector.is_empty() { "-" } else { &status.detector }));
                if ui.button("CNN").clicked() {
                    requests.write(DetectorRequest(None));
                }
                for n in 1..=4u8 {
                    if ui.button(format!("Haar {n}")).clicked() {
                        requests.write(DetectorRequest(Some(n)));
                    }
                }
            });
            let mut window = settings.0.tracking.confirmation.window_frames;
            let mut share = settings.0.tracking.confirmation.confirm_share;
            ui.add(egui::Slider::new(&mut window, 1..=60).text("confirmation window (frames)"));
            ui.add(egui::Slider::new(&mut share, 0.3..=0.95).text("confirm share"));
            if window != settings.0.tracking.confirmation.window_frames
                || share != settings.0.tracking.confirmation.confirm_share
            {
                let c = &mut settings.0.tracking.confirmation;
                c.window_frames = window;
                c.confirm_share = share;
                c.release_share = c.release_share.min(share);
            }
            ui.checkbox(&mut view.debug_overlay, "debug overlay");
            let mut three = view.layout == LayoutMode::ThreePane;
            if ui.checkbox(&mut three, "three panes").changed() {
                view.layout = if three { LayoutMode::ThreePane } else { LayoutMode::Mirror };
            }
            ui.separator();
            ui.label(format!("camera {:.1} fps · analysis {:.1} fps", stats.camera_fps, stats.analysis_fps));
            ui.label(format!(
                "inference {:.1} ms/frame · camera-to-screen {:.0} ms",
                stats.inference_ms, stats.latency_ms
            ));
        });
    rects.help = response.map(|r| r.response.rect);
    Ok(())
}

fn overlay_ui(
    mut contexts: EguiContexts,
    view: Res<ViewSettings>,
    panes: Res<PaneRects>,
    status: Res<SourceStatus>,
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    faces: Query<(&FaceTrack, &FaceEmotion)>,
) -> Result {
    if !view.debug_overlay {
        return Ok(());
    }
    let Ok(window) = windows.single() else { return Ok(()) };
    let ctx = contexts.ctx_mut()?;
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::new("debug-overlay")));
    let half = Vec2::new(window.width(), window.height()) / 2.0;
    // World (y up, centre origin) to egui screen points (y down, top-left origin).
    let to_screen = |w: Vec2| egui::pos2(w.x + half.x, half.y - w.y);
    let label = |i: usize| status.labels.get(i).map_or_else(|| "?".to_string(), |l| display_label(l));
    for (track, emotion) in &faces {
        let b = track.bbox_in_frame;
        let a = to_screen(panes.frame_to_world(Vec2::new(b.x, b.y)));
        let z = to_screen(panes.frame_to_world(Vec2::new(b.x + b.w, b.y + b.h)));
        let rect = egui::Rect::from_two_pos(a, z);
        painter.rect_stroke(
            rect,
            0.0,
            egui::Stroke::new(2.0, egui::Color32::from_rgb(255, 200, 0)),
            egui::StrokeKind::Outside,
        );
        let (top, p) = emotion.top;
        let mut text = format!("#{} {} {:.0}%", track.id, label(top), p * 100.0);
        if emotion.top.1 - emotion.runner_up.1 < RUNNER_UP_MARGIN {
            text.push_str(&format!(" / {} {:.0}%", label(emotion.runner_up.0), emotion.runner_up.1 * 100.0));
        }
        if let Some(c) = emotion.confirmed {
            text.push_str(&format!(" → {}", label(c)));
        }
        painter.text(
            rect.left_top() - egui::vec2(0.0, 2.0),
            egui::Align2::LEFT_BOTTOM,
            text,
            egui::FontId::monospace(14.0),
            egui::Color32::WHITE,
        );
    }
    Ok(())
}

fn status_ui(mut contexts: EguiContexts, status: Res<SourceStatus>) -> Result {
    let Some(problem) = &status.problem else { return Ok(()) };
    let ctx = contexts.ctx_mut()?;
    egui::Area::new(egui::Id::new("no-source")).anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0)).show(ctx, |ui| {
        egui::Frame::popup(ui.style()).show(ui, |ui| {
            ui.set_max_width(560.0);
            ui.heading("No picture yet");
            ui.label(problem);
            ui.label("Connect a camera (it is retried every 2 seconds), or start with --video FILE, --image FILE or --image-dir DIR.");
        });
    });
    Ok(())
}
