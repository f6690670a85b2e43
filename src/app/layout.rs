//! Layouts: "mirror" (the processed view fills the window) and the original
//! demonstrator's three panes (raw camera | processed | strip of the faces' emoji).

use bevy::prelude::*;
use bevy::window::PrimaryWindow;

use super::video::{LatestAnalysis, VideoTexture};
use super::{AppSystems, LayoutMode, ViewSettings};

/// Gap between panes, logical pixels.
pub const PANE_GAP: f32 = 8.0;
/// Share of the window width for the raw and the processed pane in three-pane mode
/// (the strip gets the rest).
pub const THREE_PANE_VIDEO_SHARE: f32 = 0.39;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<PaneRects>().add_systems(PostStartup, spawn_views).add_systems(
        Update,
        (compute_panes, place_videos).chain().in_set(AppSystems::Present).before(super::emoji::EmojiSet),
    );
    app.configure_sets(Update, super::emoji::EmojiSet.in_set(AppSystems::Present));
}

/// Where things are, in world coordinates (Camera2d: origin at the centre, y up, logical px).
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct PaneRects {
    /// The video inside the processed pane.
    pub processed_video: Rect,
    pub raw_video: Option<Rect>,
    pub strip: Option<Rect>,
    /// Frame size in pixels the rects were computed for.
    pub frame: Vec2,
}

impl Default for PaneRects {
    fn default() -> Self {
        Self {
            processed_video: Rect::new(-320.0, -240.0, 320.0, 240.0),
            raw_video: None,
            strip: None,
            frame: Vec2::new(640.0, 480.0),
        }
    }
}

/// The largest rect of `frame`'s aspect ratio centred in `pane`.
pub fn fit(frame: Vec2, pane: Rect) -> Rect {
    let scale = (pane.width() / frame.x.max(1.0)).min(pane.height() / frame.y.max(1.0));
    Rect::from_center_size(pane.center(), frame * scale)
}

impl PaneRects {
    /// Computes the panes for a window of `window` logical pixels.
    pub fn compute(window: Vec2, frame: Vec2, layout: LayoutMode) -> Self {
        let full = Rect::from_center_size(Vec2::ZERO, window);
        match layout {
            LayoutMode::Mirror => Self { processed_video: fit(frame, full), raw_video: None, strip: None, frame },
            LayoutMode::ThreePane => {
                let w = window.x * THREE_PANE_VIDEO_SHARE;
                let left = full.min.x;
                let raw = Rect::new(left, full.min.y, left + w - PANE_GAP, full.max.y);
                let processed = Rect::new(left + w, full.min.y, left + 2.0 * w - PANE_GAP, full.max.y);
                let strip = Rect::new(left + 2.0 * w, full.min.y, full.max.x, full.max.y);
                Self {
                    processed_video: fit(frame, processed),
                    raw_video: Some(fit(frame, raw)),
                    strip: Some(strip),
                    frame,
                }
            }
        }
    }

    /// A frame pixel position (y down) in world coordinates on the processed video.
    pub fn frame_to_world(&self, p: Vec2) -> Vec2 {
        let r = self.processed_video;
        let s = r.size() / self.frame;
        Vec2::new(r.min.x + p.x * s.x, r.max.y - p.y * s.y)
    }

    /// A length in frame pixels in world units.
    pub fn frame_to_world_len(&self, len: f32) -> f32 {
        len * self.processed_video.width() / self.frame.x.max(1.0)
    }

    /// The inverse of [`PaneRects::frame_to_world`] (for tests and screenshots checks).
    pub fn world_to_frame(&self, w: Vec2) -> Vec2 {
        let r = self.processed_video;
        let s = self.frame / r.size();
        Vec2::new((w.x - r.min.x) * s.x, (r.max.y - w.y) * s.y)
    }
}

/// The video sprite of the processed view.
#[derive(Component)]
pub struct ProcessedVideo;

/// The raw camera sprite (three-pane layout only).
#[derive(Component)]
pub struct RawVideo;

fn spawn_views(mut commands: Commands, texture: Res<VideoTexture>) {
    commands.spawn((Name::new("Camera"), Camera2d));
    let sprite = Sprite { image: texture.handle.clone(), ..default() };
    commands.spawn((Name::new("Processed video"), ProcessedVideo, sprite.clone(), Transform::default()));
    commands.spawn((Name::new("Raw video"), RawVideo, sprite, Transform::default(), Visibility::Hidden));
}

fn compute_panes(
    windows: Query<&Window, With<PrimaryWindow>>,
    view: Res<ViewSettings>,
    latest: Res<LatestAnalysis>,
    mut panes: ResMut<PaneRects>,
) {
    let Ok(window) = windows.single() else { return };
    let frame = if latest.frame_size.x > 0 { latest.frame_size.as_vec2() } else { panes.frame };
    let next = PaneRects::compute(Vec2::new(window.width(), window.height()), frame, view.layout);
    if *panes != next {
        *panes = next;
    }
}

/// The processed-video sprite; `Without<RawVideo>` keeps the two queries disjoint.
type ProcessedVideoQuery<'w, 's> =
    Query<'w, 's, (&'static mut Sprite, &'static mut Transform), (With<ProcessedVideo>, Without<RawVideo>)>;
/// The raw-video sprite, hidden in the mirror layout.
type RawVideoQuery<'w, 's> = Query<
    'w,
    's,
    (&'static mut Sprite, &'static mut Transform, &'static mut Visibility),
    (With<RawVideo>, Without<ProcessedVideo>),
>;

fn place_videos(panes: Res<PaneRects>, mut processed: ProcessedVideoQuery, mut raw: RawVideoQuery) {
    for (mut sprite, mut tf) in &mut processed {
        sprite.custom_size = Some(panes.processed_video.size());
        tf.translation = panes.processed_video.center().extend(0.0);
    }
    for (mut sprite, mut tf, mut vis) in &mut raw {
        match panes.raw_video {
            Some(r) => {
                sprite.custom_size = Some(r.size());
                tf.translation = r.center().extend(0.0);
                *vis = Visibility::Visible;
            }
            None => *vis = Visibility::Hidden,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_fits_the_frame_and_maps_corners() {
        let p = PaneRects::compute(Vec2::new(1280.0, 720.0), Vec2::new(640.0, 480.0), LayoutMode::Mirror);
        assert_eq!(p.processed_video.size(), Vec2::new(960.0, 720.0));
        assert_eq!(p.frame_to_world(Vec2::ZERO), Vec2::new(-480.0, 360.0));
        assert_eq!(p.frame_to_world(Vec2::new(640.0, 480.0)), Vec2::new(480.0, -360.0));
        assert_eq!(p.world_to_frame(Vec2::new(0.0, 0.0)), Vec2::new(320.0, 240.0));
        assert_eq!(p.frame_to_world_len(64.0), 96.0);
    }

    #[test]
    fn three_panes_do_not_overlap() {
        let p = PaneRects::compute(Vec2::new(1280.0, 720.0), Vec2::new(640.0, 480.0), LayoutMode::ThreePane);
        let raw = p.raw_video.expect("raw pane");
        let strip = p.strip.expect("strip");
        assert!(raw.max.x <= p.processed_video.min.x);
        assert!(p.processed_video.max.x <= strip.min.x);
        assert!(strip.width() > 100.0);
    }
}
