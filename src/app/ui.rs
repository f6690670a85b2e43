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
/// Debug overlay font size (points), and the smaller one for panes narrower than
/// [`NARROW_PANE_PT`] (the three-pane layout's processed pane is ~490 pt at 1280 px).
pub const FONT_PT: f32 = 14.0;
pub const NARROW_FONT_PT: f32 = 11.0;
pub const NARROW_PANE_PT: f32 = 640.0;
/// Space kept between a face box and its label, and between two labels (points).
pub const LABEL_GAP_PT: f32 = 2.0;
/// Padding between a label's text and the edge of its background (points).
pub const LABEL_PAD_PT: f32 = 2.0;
/// A label moved farther than this from its box (points) gets a leader line.
pub const LEADER_MIN_PT: f32 = 6.0;
/// How much more a point of sideways movement counts than a point up or down when a
/// label must move out of another's way (sideways moves take it off its face).
pub const SIDEWAYS_COST: f32 = 3.0;
/// What covering a face box costs a label, in points of movement: a label moves up to
/// this far rather than hide a face (its own or a neighbour's).
pub const COVER_FACE_COST_PT: f32 = 60.0;
/// Face box and leader line colour.
const BOX_COLOR: egui::Color32 = egui::Color32::from_rgb(255, 200, 0);
/// Label background: dark and translucent, so white text reads on any video.
const LABEL_BACKGROUND: egui::Color32 = egui::Color32::from_rgba_premultiplied(0, 0, 0, 170);
/// Radius of a person's valence/arousal disc (points): in the overlay, in the face box's
/// bottom-right corner; in the help panel, one per person.
pub const AFFECT_DISC_PT: f32 = 16.0;
/// Radius of the point on the disc (points).
const AFFECT_DOT_PT: f32 = 3.5;
/// The disc's rim and axes, and its point.
const AFFECT_RIM: egui::Color32 = egui::Color32::from_gray(200);
const AFFECT_DOT: egui::Color32 = egui::Color32::from_rgb(80, 220, 255);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<UiRects>().add_systems(EguiPrimaryContextPass, (help_ui, overlay_ui, status_ui));
}

/// Where egui drew its panels last frame (screen pixels), for kiosk checks and tests.
#[derive(Resource, Default, Debug, Clone)]
pub struct UiRects {
    pub help: Option<egui::Rect>,
    /// The kiosk's PIN pad or operator panel (see [`super::kiosk`]).
    pub operator: Option<egui::Rect>,
}

#[expect(clippy::too_many_arguments, reason = "a Bevy system: one parameter per resource it reads")]
fn help_ui(
    mut contexts: EguiContexts,
    mut view: ResMut<ViewSettings>,
    mut settings: ResMut<PipelineSettings>,
    status: Res<SourceStatus>,
    stats: Res<Stats>,
    mut requests: MessageWriter<DetectorRequest>,
    mut rects: ResMut<UiRects>,
    faces: Query<(&FaceTrack, &FaceEmotion)>,
) -> Result {
    if !view.show_help {
        rects.help = None;
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let response =
        egui::Window::new("emoji-mirror: help").default_pos(egui::pos2(16.0, 16.0)).resizable(false).show(ctx, |ui| {
            egui::Grid::new("controls").striped(true).show(ui, |ui| {
                for (key, what) in CONTROLS.iter().copied() {
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
                set_confirmation(&mut settings.0, window, share);
            }
            ui.checkbox(&mut view.debug_overlay, "debug overlay");
            let mut three = view.layout == LayoutMode::ThreePane;
            if ui.checkbox(&mut three, "three panes").changed() {
                view.layout = if three { LayoutMode::ThreePane } else { LayoutMode::Mirror };
            }
            ui.separator();
            budgets_ui(ui, &stats);
            affect_panel_ui(ui, &faces);
            ui.label(format!("classifier: {}", crate::remote::current_mode().describe()));
        });
    rects.help = response.map(|r| r.response.rect);
    Ok(())
}

/// The help panel's live figures: the source, the render and analysis budgets, and the
/// camera-to-screen latency to the presented frame (see [`super::present`]).
fn budgets_ui(ui: &mut egui::Ui, stats: &Stats) {
    ui.label(format!("{} {:.1} fps", stats.source_kind, stats.source_fps));
    let cap = if stats.render_cap_fps > 0.0 {
        format!(" (on demand, cap {:.0})", stats.render_cap_fps)
    } else {
        String::new()
    };
    ui.label(format!("render {:.1} fps · {:.1} ms/frame{cap}", stats.render_fps, stats.render_ms));
    ui.label(format!("analysis {:.1} fps · {:.1} ms/frame", stats.analysis_fps, stats.inference_ms));
    ui.label(format!(
        "camera-to-screen {:.0} ms · p50 {:.0} · p95 {:.0} ms",
        stats.latency_ms, stats.latency_p50_ms, stats.latency_p95_ms
    ));
}

/// The help panel's edit of the confirmation window: its length and the share that confirms
/// (the release share stays at most the confirm share).
pub fn set_confirmation(settings: &mut crate::config::Settings, window_frames: usize, confirm_share: f32) {
    let c = &mut settings.tracking.confirmation;
    c.window_frames = window_frames;
    c.confirm_share = confirm_share;
    c.release_share = c.release_share.min(confirm_share);
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
    let half = Vec2::new(window.width(), window.height()) / 2.0;
    // World (y up, centre origin) to egui screen points (y down, top-left origin).
    let to_screen = |w: Vec2| egui::pos2(w.x + half.x, half.y - w.y);
    let pane = egui::Rect::from_two_pos(to_screen(panes.processed_video.min), to_screen(panes.processed_video.max));
    // Everything stays inside the video pane (boxes of faces cut by the frame edge too).
    let painter = ctx
        .layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::new("debug-overlay")))
        .with_clip_rect(pane);
    let font = egui::FontId::monospace(overlay_font_pt(pane.width()));
    let label = |i: usize| status.labels.get(i).map_or_else(|| "?".to_string(), |l| display_label(l));
    let mut tracks: Vec<(&FaceTrack, &FaceEmotion)> = faces.iter().collect();
    tracks.sort_unstable_by_key(|(t, _)| t.id); // a stable order keeps the labels from swapping places
    let mut boxes = Vec::with_capacity(tracks.len());
    let mut galleys = Vec::with_capacity(tracks.len());
    for (track, emotion) in &tracks {
        let b = track.bbox_in_frame;
        let a = to_screen(panes.frame_to_world(Vec2::new(b.x, b.y)));
        let z = to_screen(panes.frame_to_world(Vec2::new(b.x + b.w, b.y + b.h)));
        boxes.push(egui::Rect::from_two_pos(a, z));
        let runner_up = (emotion.top.1 - emotion.runner_up.1 < RUNNER_UP_MARGIN)
            .then(|| (label(emotion.runner_up.0), emotion.runner_up.1));
        let text = overlay_text(
            track.id,
            emotion.confirmed.map(&label).as_deref(),
            (&label(emotion.top.0), emotion.top.1),
            runner_up.as_ref().map(|(l, p)| (l.as_str(), *p)),
        );
        // Wrapped at the pane width, so no label is wider than the pane.
        let wrap_pt = (pane.width() - 2.0 * LABEL_PAD_PT).max(1.0);
        galleys.push(painter.layout(text, font.clone(), egui::Color32::WHITE, wrap_pt));
    }
    let sizes: Vec<egui::Vec2> = galleys.iter().map(|g| g.size() + egui::Vec2::splat(2.0 * LABEL_PAD_PT)).collect();
    let placed = place_labels(&boxes, &sizes, pane);
    let box_stroke = egui::Stroke::new(2.0, BOX_COLOR);
    for face_box in &boxes {
        painter.rect_stroke(*face_box, 0.0, box_stroke, egui::StrokeKind::Outside);
    }
    // Each person's valence/arousal disc, in the bottom-right corner of the box.
    for (face_box, (_, emotion)) in boxes.iter().zip(&tracks) {
        if let Some(point) = emotion.affect {
            let inset = egui::Vec2::splat(AFFECT_DISC_PT + LABEL_PAD_PT);
            affect_disc_ui(&painter, face_box.max - inset, AFFECT_DISC_PT, point);
        }
    }
    for ((face_box, at), galley) in boxes.iter().zip(&placed).zip(galleys) {
        // No room left in the pane for this label: the box alone is drawn.
        let Some(at) = at else { continue };
        // A label pushed away from its box gets a leader line back to it.
        let on_box = face_box.clamp(at.center());
        let on_label = at.clamp(on_box);
        if on_box.distance(on_label) > LEADER_MIN_PT {
            painter.line_segment([on_label, on_box], egui::Stroke::new(1.0, BOX_COLOR));
        }
        painter.rect_filled(*at, 2.0, LABEL_BACKGROUND);
        painter.with_clip_rect(at.intersect(pane)).galley(
            at.min + egui::Vec2::splat(LABEL_PAD_PT),
            galley,
            egui::Color32::WHITE,
        );
    }
    Ok(())
}

/// Where a `[valence, arousal]` point lies on a disc of `radius` around `centre`: valence
/// to the right, arousal up (screen y grows downwards); points beyond the rim sit on it.
pub fn disc_point(centre: egui::Pos2, radius: f32, point: [f32; 2]) -> egui::Pos2 {
    let [mut v, mut a] = crate::vision::affect::clamp(point);
    let length = (v * v + a * a).sqrt();
    if length > 1.0 {
        (v, a) = (v / length, a / length);
    }
    centre + egui::vec2(v * radius, -a * radius)
}

/// A valence/arousal disc: rim, axes and the person's point.
fn affect_disc_ui(painter: &egui::Painter, centre: egui::Pos2, radius: f32, point: [f32; 2]) {
    painter.circle(centre, radius, LABEL_BACKGROUND, egui::Stroke::new(1.0, AFFECT_RIM));
    let axis = egui::Stroke::new(0.5, AFFECT_RIM);
    painter.line_segment([centre - egui::vec2(radius, 0.0), centre + egui::vec2(radius, 0.0)], axis);
    painter.line_segment([centre - egui::vec2(0.0, radius), centre + egui::vec2(0.0, radius)], axis);
    painter.circle_filled(disc_point(centre, radius, point), AFFECT_DOT_PT, AFFECT_DOT);
}

/// The help panel's valence/arousal: one disc per person, after their id.
fn affect_panel_ui(ui: &mut egui::Ui, faces: &Query<(&FaceTrack, &FaceEmotion)>) {
    let mut people: Vec<(u64, [f32; 2])> = faces.iter().filter_map(|(t, e)| e.affect.map(|p| (t.id, p))).collect();
    if people.is_empty() {
        return;
    }
    people.sort_unstable_by_key(|(id, _)| *id);
    ui.separator();
    ui.label("valence (right) and arousal (up)");
    ui.horizontal_wrapped(|ui| {
        for (id, point) in people {
            ui.label(format!("#{id}"));
            let side = 2.0 * (AFFECT_DISC_PT + LABEL_PAD_PT);
            let (response, painter) = ui.allocate_painter(egui::Vec2::splat(side), egui::Sense::hover());
            affect_disc_ui(&painter, response.rect.center(), AFFECT_DISC_PT, point);
            response.on_hover_text(format!("valence {:+.2}, arousal {:+.2}", point[0], point[1]));
        }
    });
}

/// The overlay's font size (points): smaller in a narrow pane (the three-pane layout).
pub fn overlay_font_pt(pane_width_pt: f32) -> f32 {
    if pane_width_pt < NARROW_PANE_PT { NARROW_FONT_PT } else { FONT_PT }
}

/// A face's debug label. The confirmed class comes first (it is what the strip shows);
/// the frame's top class is marked "now" where it differs, so the label agrees with the
/// mirror's emoji (which follows the smoothed probabilities) and with the strip.
pub fn overlay_text(id: u64, confirmed: Option<&str>, top: (&str, f32), runner_up: Option<(&str, f32)>) -> String {
    let mut now = format!("{} {:.0}%", top.0, top.1 * 100.0);
    if let Some((label, p)) = runner_up {
        now.push_str(&format!(" / {label} {:.0}%", p * 100.0));
    }
    match confirmed {
        Some(c) if c == top.0 => format!("#{id} {now}"),
        Some(c) => format!("#{id} {c} (now {now})"),
        None => format!("#{id} unconfirmed (now {now})"),
    }
}

/// Places one label of `sizes[i]` for each face box `boxes[i]` (screen points, y down):
/// above its box by default, below when there is no room above, kept inside `pane`,
/// and at least [`LABEL_GAP_PT`] away from every other label. Labels are placed
/// greedily from the top; each takes the free spot nearest its preferred one
/// (moving sideways costs more than moving up or down, so labels stay over their
/// faces; covering a face costs [`COVER_FACE_COST_PT`]). `None` where the pane has no
/// free spot left. A label larger than the pane
/// is cut to its size (the caller clips the text).
pub fn place_labels(boxes: &[egui::Rect], sizes: &[egui::Vec2], pane: egui::Rect) -> Vec<Option<egui::Rect>> {
    let n = boxes.len().min(sizes.len());
    let size_of = |i: usize| sizes[i].min(pane.size()).max(egui::Vec2::ZERO);
    // Clamps a label's top-left corner so the label lies inside the pane.
    // (max-then-min rather than `clamp`, which panics on a degenerate pane).
    let clamp_min = |p: egui::Pos2, size: egui::Vec2| {
        egui::pos2(p.x.min(pane.max.x - size.x).max(pane.min.x), p.y.min(pane.max.y - size.y).max(pane.min.y))
    };
    let preferred: Vec<egui::Pos2> = (0..n)
        .map(|i| {
            let (b, size) = (boxes[i], size_of(i));
            let above = b.min.y - LABEL_GAP_PT - size.y;
            let y = if above >= pane.min.y { above } else { b.max.y + LABEL_GAP_PT };
            clamp_min(egui::pos2(b.min.x, y), size)
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        preferred[a].y.total_cmp(&preferred[b].y).then(preferred[a].x.total_cmp(&preferred[b].x)).then(a.cmp(&b))
    });
    let mut out = vec![None; n];
    let mut placed: Vec<egui::Rect> = Vec::with_capacity(n);
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for i in order {
        let (b, size, want) = (boxes[i], size_of(i), preferred[i]);
        // Candidate corners: the preferred one, the pane's edges, above and below the
        // own box, and flush beside every label placed so far. A free spot, if there is
        // one, can slide up and left until it touches one of these.
        xs.clear();
        xs.extend([want.x, pane.min.x, pane.max.x - size.x]);
        ys.clear();
        ys.extend([want.y, pane.min.y, pane.max.y - size.y, b.min.y - LABEL_GAP_PT - size.y, b.max.y + LABEL_GAP_PT]);
        for p in placed.iter().chain(boxes) {
            xs.extend([p.max.x + LABEL_GAP_PT, p.min.x - LABEL_GAP_PT - size.x]);
            ys.extend([p.max.y + LABEL_GAP_PT, p.min.y - LABEL_GAP_PT - size.y]);
        }
        let mut best: Option<(f32, egui::Rect)> = None;
        for &x in &xs {
            for &y in &ys {
                let rect = egui::Rect::from_min_size(clamp_min(egui::pos2(x, y), size), size);
                if placed.iter().any(|p| labels_collide(*p, rect)) {
                    continue;
                }
                let covered = boxes.iter().filter(|b| b.intersects(rect)).count() as f32;
                let cost = (rect.min.y - want.y).abs()
                    + SIDEWAYS_COST * (rect.min.x - want.x).abs()
                    + COVER_FACE_COST_PT * covered;
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, rect));
                }
            }
        }
        if let Some((_, rect)) = best {
            placed.push(rect);
            out[i] = Some(rect);
        }
    }
    out
}

/// Whether two labels are closer than [`LABEL_GAP_PT`] (with a little rounding slack).
fn labels_collide(a: egui::Rect, b: egui::Rect) -> bool {
    let gap = LABEL_GAP_PT - 0.01;
    a.min.x < b.max.x + gap && b.min.x < a.max.x + gap && a.min.y < b.max.y + gap && b.min.y < a.max.y + gap
}

fn status_ui(mut contexts: EguiContexts, status: Res<SourceStatus>) -> Result {
    let Some(problem) = &status.problem else { return Ok(()) };
    if status.hint.is_some() {
        return Ok(()); // a friendly hint says it in large type (`notice`)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pane() -> egui::Rect {
        // The three-pane layout's processed video at 1280x720.
        egui::Rect::from_min_size(egui::pos2(499.0, 176.0), egui::vec2(491.0, 368.0))
    }

    fn face(x: f32, y: f32, side: f32) -> egui::Rect {
        egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(side, side))
    }

    /// Every label placed, inside the pane, and no two closer than the gap.
    fn assert_tidy(placed: &[Option<egui::Rect>], pane: egui::Rect) {
        let rects: Vec<egui::Rect> = placed.iter().map(|r| r.expect("every label has a place")).collect();
        for (i, r) in rects.iter().enumerate() {
            assert!(pane.expand(1e-3).contains_rect(*r), "label {i} {r:?} leaves the pane {pane:?}");
            for (j, s) in rects.iter().enumerate().skip(i + 1) {
                assert!(!labels_collide(*r, *s), "labels {i} {r:?} and {j} {s:?} overlap");
            }
        }
    }

    #[test]
    fn a_label_sits_above_its_box_or_below_when_there_is_no_room() {
        let size = egui::vec2(120.0, 14.0);
        let middle = face(600.0, 300.0, 60.0);
        let placed = place_labels(&[middle], &[size], pane());
        let r = placed[0].expect("placed");
        assert_eq!(r.min.x, middle.min.x, "left-aligned with the box");
        assert_eq!(r.max.y, middle.min.y - LABEL_GAP_PT, "just above the box");

        let at_top = face(600.0, pane().min.y + 4.0, 60.0);
        let r = place_labels(&[at_top], &[size], pane())[0].expect("placed");
        assert_eq!(r.min.y, at_top.max.y + LABEL_GAP_PT, "below the box when it touches the pane's top");
    }

    #[test]
    fn labels_stay_inside_the_pane_at_its_edges() {
        let p = pane();
        let size = egui::vec2(200.0, 14.0);
        // Right edge (the strip is beyond it), bottom-right corner, a box cut by the left edge.
        let boxes = [
            face(p.max.x - 40.0, 300.0, 40.0),
            face(p.max.x - 30.0, p.max.y - 30.0, 40.0),
            face(p.min.x - 20.0, 400.0, 50.0),
        ];
        let placed = place_labels(&boxes, &[size; 3], p);
        assert_tidy(&placed, p);
        let right = placed[0].expect("placed");
        assert_eq!(right.max.x, p.max.x, "pushed left just enough");
        assert_eq!(right.max.y, boxes[0].min.y - LABEL_GAP_PT, "still above its box");
        // A label wider than the pane is cut to the pane.
        let wide = place_labels(&[boxes[0]], &[egui::vec2(900.0, 14.0)], p)[0].expect("placed");
        assert!(p.contains_rect(wide));
    }

    #[test]
    fn neighbouring_faces_get_labels_that_do_not_overlap() {
        let p = pane();
        let size = egui::vec2(230.0, 13.0);
        // A row of six faces close together (a group photo), one near the top edge.
        let boxes: Vec<egui::Rect> =
            (0..6).map(|k| face(510.0 + k as f32 * 75.0, 260.0 + (k % 2) as f32 * 8.0, 60.0)).collect();
        let placed = place_labels(&boxes, &vec![size; boxes.len()], p);
        assert_tidy(&placed, p);
        // Stacked, they stay near their faces rather than flying across the pane.
        for (b, r) in boxes.iter().zip(&placed) {
            let r = r.expect("placed");
            assert!((r.center().y - b.center().y).abs() < 6.0 * size.y + b.height(), "label {r:?} far from {b:?}");
        }
        // Faces along the top edge: labels go below and still do not overlap.
        let top: Vec<egui::Rect> = (0..4).map(|k| face(505.0 + k as f32 * 50.0, p.min.y + 2.0, 45.0)).collect();
        assert_tidy(&place_labels(&top, &vec![size; top.len()], p), p);
    }

    #[test]
    fn a_label_moves_a_little_rather_than_hide_a_neighbours_face() {
        let size = egui::vec2(150.0, 13.0);
        // A small face just above a big one, where the big one's label would go.
        let big = face(600.0, 330.0, 90.0);
        let small = face(620.0, 300.0, 24.0);
        let placed = place_labels(&[big, small], &[size; 2], pane());
        assert_tidy(&placed, pane());
        for r in placed.iter().flatten() {
            assert!(!r.intersects(small) && !r.intersects(big), "{r:?} hides a face");
        }
    }

    #[test]
    fn random_crowds_are_tidy() {
        // A small LCG: the same cases every run.
        let mut seed = 0x2545_f491_u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as f32 / (1u64 << 31) as f32
        };
        let p = pane();
        for _ in 0..200 {
            let n = 1 + (next() * 8.0) as usize;
            let boxes: Vec<egui::Rect> = (0..n)
                .map(|_| {
                    face(
                        p.min.x - 20.0 + next() * (p.width() + 20.0),
                        p.min.y - 10.0 + next() * p.height(),
                        30.0 + next() * 80.0,
                    )
                })
                .collect();
            let sizes: Vec<egui::Vec2> =
                (0..n).map(|_| egui::vec2(80.0 + next() * 300.0, 13.0 + next() * 14.0)).collect();
            assert_tidy(&place_labels(&boxes, &sizes, p), p);
        }
    }

    #[test]
    fn a_full_pane_leaves_labels_out_rather_than_overlapping() {
        let p = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(100.0, 40.0));
        let boxes = [face(10.0, 10.0, 20.0); 5];
        let placed = place_labels(&boxes, &[egui::vec2(100.0, 15.0); 5], p);
        let shown: Vec<egui::Rect> = placed.iter().flatten().copied().collect();
        assert_eq!(shown.len(), 2, "two rows of 15 pt fit in 40 pt");
        assert!(!labels_collide(shown[0], shown[1]));
    }

    #[test]
    fn the_disc_point_moves_right_with_valence_and_up_with_arousal() {
        let c = egui::pos2(100.0, 100.0);
        assert_eq!(disc_point(c, 10.0, [0.0, 0.0]), c);
        assert_eq!(disc_point(c, 10.0, [1.0, 0.0]), egui::pos2(110.0, 100.0));
        assert_eq!(disc_point(c, 10.0, [0.0, 1.0]), egui::pos2(100.0, 90.0), "arousal up: smaller y");
        assert_eq!(disc_point(c, 10.0, [-0.5, -0.5]), egui::pos2(95.0, 105.0));
        // A corner of the square lies outside the disc: it goes onto the rim.
        let rim = disc_point(c, 10.0, [1.0, 1.0]);
        assert!((rim.distance(c) - 10.0).abs() < 1e-4, "{rim:?}");
    }

    #[test]
    fn the_overlay_text_leads_with_the_confirmed_class() {
        assert_eq!(overlay_text(3, Some("Happy"), ("Happy", 0.8), None), "#3 Happy 80%");
        assert_eq!(
            overlay_text(3, Some("Happy"), ("Neutral", 0.6), Some(("Happy", 0.5))),
            "#3 Happy (now Neutral 60% / Happy 50%)"
        );
        assert_eq!(overlay_text(4, None, ("Sad", 0.41), None), "#4 unconfirmed (now Sad 41%)");
        assert!(overlay_font_pt(491.0) < overlay_font_pt(960.0), "smaller text in the narrow pane");
    }
}
