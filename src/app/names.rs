//! Name tags: the name of an enrolled person above their emoji, once the engine's identity
//! stage has confirmed it (see [`crate::identity`]); unknown faces get none.

use bevy::prelude::*;

use super::AppSystems;
use super::emoji::DISK_OVER_FACE;
use super::faces::FaceTrack;
use super::layout::PaneRects;
use super::video::LatestAnalysis;

/// Height of a name tag's text, world units (pixels at the default zoom).
const NAME_TAG_PX: f32 = 22.0;
/// Gap between the top of the emoji and the name, world units.
const NAME_GAP_PX: f32 = 6.0;
/// In front of the emoji (which is drawn at z = 1).
const NAME_Z: f32 = 2.0;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Update, show_names.in_set(AppSystems::Present));
}

/// A name tag and the face entity it belongs to.
#[derive(Component, Debug)]
pub struct NameTag(pub Entity);

/// Where a name tag goes: centred above the emoji drawn over `bbox` (frame pixels, y down).
pub fn name_tag_position(panes: &PaneRects, bbox: crate::vision::BBox) -> Vec2 {
    let (cx, cy) = bbox.center();
    let centre = panes.frame_to_world(Vec2::new(cx, cy));
    let half_emoji = panes.frame_to_world_len(bbox.w.max(bbox.h)) * DISK_OVER_FACE / 2.0;
    centre + Vec2::new(0.0, half_emoji + NAME_GAP_PX + NAME_TAG_PX / 2.0)
}

fn show_names(
    mut commands: Commands,
    latest: Res<LatestAnalysis>,
    panes: Res<PaneRects>,
    faces: Query<(Entity, &FaceTrack)>,
    mut tags: Query<(Entity, &NameTag, &mut Text2d, &mut Transform)>,
) {
    let tracks = &latest.tracks;
    let name_of = |id: u64| tracks.tracks.iter().position(|t| t.id == id).and_then(|i| tracks.person_name(i));
    for (e, tag, mut text, mut tf) in &mut tags {
        let Some(name) = faces.get(tag.0).ok().and_then(|(_, f)| name_of(f.id).map(|n| (n, f.bbox_in_frame))) else {
            commands.entity(e).despawn();
            continue;
        };
        if text.0 != name.0 {
            text.0 = name.0.to_string();
        }
        tf.translation = name_tag_position(&panes, name.1).extend(NAME_Z);
    }
    for (face, track) in &faces {
        let Some(name) = name_of(track.id) else { continue };
        if tags.iter().any(|(_, t, ..)| t.0 == face) {
            continue;
        }
        commands.spawn((
            Name::new(format!("Name tag {}", track.id)),
            NameTag(face),
            Text2d::new(name),
            TextFont { font_size: FontSize::Px(NAME_TAG_PX), ..default() },
            Transform::from_translation(name_tag_position(&panes, track.bbox_in_frame).extend(NAME_Z)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::BBox;

    #[test]
    fn the_tag_sits_above_the_emoji() {
        let panes = PaneRects::default();
        let bbox = BBox { x: 100.0, y: 100.0, w: 60.0, h: 80.0 };
        let p = name_tag_position(&panes, bbox);
        let centre = panes.frame_to_world(Vec2::new(130.0, 140.0));
        let half_emoji = panes.frame_to_world_len(80.0) * DISK_OVER_FACE / 2.0;
        assert!((p.x - centre.x).abs() < 1e-3);
        assert!(p.y > centre.y + half_emoji, "{p} vs centre {centre}, half emoji {half_emoji}");
    }
}
