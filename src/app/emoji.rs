//! The emoji: our WGSL shader on a quad over each face, its features following the
//! person's smoothed probabilities every frame, with a pop when the confirmed
//! emotion changes; or a PNG per class (`--emoji-dir`). The three-pane strip's emoji
//! shows the confirmed class, like the label under it.

use std::collections::HashMap;
use std::path::Path;

use bevy::asset::{RenderAssetUsages, load_internal_asset, uuid_handle};
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, Extent3d, ShaderType, TextureDimension, TextureFormat};
use bevy::shader::ShaderRef;
use bevy::sprite_render::{AlphaMode2d, Material2d, Material2dPlugin};

use super::faces::{FaceEmotion, FaceTrack};
use super::layout::PaneRects;
use super::video::SourceStatus;
use super::{LayoutMode, ViewSettings};

const EMOJI_SHADER: Handle<Shader> = uuid_handle!("6f1b7b0e-3c1a-4f57-9a53-2c7f5c2b9e11");

/// The quad is this much larger than the face disk (room for the shadow).
pub const QUAD_OVER_DISK: f32 = 1.4;
/// The face disk's diameter relative to the face box's longer side (covers the whole face).
pub const DISK_OVER_FACE: f32 = 1.35;
/// Pop animation: length in seconds and how much larger the emoji gets.
pub const POP_SECONDS: f32 = 0.45;
pub const POP_SCALE: f32 = 0.25;
/// Emoji side in the three-pane strip, logical pixels.
pub const STRIP_EMOJI_PX: f32 = 96.0;
/// Time constant (seconds) of the strip emoji's morph toward a newly confirmed class:
/// ~95% there after three of them, within the pop.
pub const STRIP_MORPH_TAU_S: f32 = 0.1;
/// Draw order: video 0, emoji above it, debug text above that.
const EMOJI_Z: f32 = 1.0;
/// Largest wobble angle after a change, radians (~10 degrees).
pub const WOBBLE_RAD: f32 = 0.18;
/// Shakes (half periods: 6 = three full swings) of the wobble over [`POP_SECONDS`].
const WOBBLE_HALF_TURNS: f32 = 6.0;
/// Strip label size, logical pixels.
const STRIP_LABEL_PX: f32 = 18.0;
/// The strip label's centre below the emoji's centre, in emoji sizes.
const STRIP_LABEL_BELOW: f32 = 0.7;
/// The first strip emoji's centre below the strip's top, in emoji sizes.
const STRIP_FIRST_BELOW_TOP: f32 = 0.8;
/// Room for the label between two strip rows, logical pixels.
const STRIP_ROW_GAP_PX: f32 = 40.0;

pub(super) fn plugin(app: &mut App) {
    load_internal_asset!(app, EMOJI_SHADER, "../../shaders/emoji.wgsl", Shader::from_wgsl);
    app.add_plugins(Material2dPlugin::<EmojiMaterial>::default())
        .add_message::<Burst>()
        .add_systems(Startup, (create_quad, register_emoji_pictures))
        .add_systems(
            Update,
            (add_emoji_visuals, remove_orphan_strip_items, place_emoji, pop_strip_emoji, animate_emoji)
                .chain()
                .in_set(EmojiSet),
        )
        .add_systems(Update, (add_big_emoji_visuals, animate_big_emoji, spawn_bursts).chain().in_set(EmojiSet));
}

/// Ask for a sparkle burst centred at `at` (world coordinates, y up, origin at the window
/// centre), `size` logical px across.
#[derive(Message, Debug, Clone, Copy)]
pub struct Burst {
    pub at: Vec2,
    pub size: f32,
}

/// A big stand-alone emoji (the challenge's target emoji, the results screen's row emoji):
/// the emoji plugin gives any entity with this component and a Transform (translation =
/// world position; the scale is set by the plugin from `size_px`, the face disk's diameter
/// in logical px) the shader quad, and morphs what it shows toward `look` with the same
/// shader and approach as the faces.
#[derive(Component, Debug, Clone, Copy)]
pub struct BigEmoji {
    pub look: Look,
    pub size_px: f32,
}

/// What a [`BigEmoji`] shows now (morphing toward its `look`) and its material.
#[derive(Component, Debug)]
pub struct BigEmojiShown {
    pub shown: Look,
    pub material: Handle<EmojiMaterial>,
}

fn add_big_emoji_visuals(
    mut commands: Commands,
    quad: Res<EmojiQuad>,
    time: Res<Time>,
    mut materials: ResMut<Assets<EmojiMaterial>>,
    added: Query<(Entity, &BigEmoji), Added<BigEmoji>>,
) {
    for (e, big) in &added {
        let material = materials.add(EmojiMaterial { params: params_of(big.look, time.elapsed_secs()) });
        commands.entity(e).insert((
            Mesh2d(quad.0.clone()),
            MeshMaterial2d(material.clone()),
            BigEmojiShown { shown: big.look, material },
        ));
    }
}

fn animate_big_emoji(
    time: Res<Time>,
    mut materials: ResMut<Assets<EmojiMaterial>>,
    mut bigs: Query<(&BigEmoji, &mut BigEmojiShown, &mut Transform)>,
) {
    let dt = time.delta_secs();
    for (big, mut shown, mut tf) in &mut bigs {
        shown.shown = approach_look(Some(shown.shown), big.look, dt);
        let side = big.size_px * QUAD_OVER_DISK;
        tf.scale = Vec3::new(side, side, 1.0);
        if let Some(mut m) = materials.get_mut(&shown.material) {
            m.params = params_of(shown.shown, time.elapsed_secs());
        }
    }
}

fn spawn_bursts(mut bursts: MessageReader<Burst>) {
    for _burst in bursts.read() {}
}

/// The emoji systems (after the panes are computed).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmojiSet;

/// Pictures named after the classes (`happy.png`, ...) used instead of the shader,
/// decoded at start-up by [`load_emoji_dir`].
#[derive(Resource, Debug, Clone)]
pub struct EmojiPictures(pub Vec<(String, Image)>);

/// The [`EmojiPictures`] as image assets, by class label.
#[derive(Resource, Debug, Default)]
pub struct EmojiHandles(pub HashMap<String, Handle<Image>>);

/// Reads `<label>.png` (any format the `image` crate reads) from `dir` for every label;
/// a missing folder or picture, or one that does not decode, is an error naming it.
pub fn load_emoji_dir(dir: &Path, labels: &[String]) -> Result<EmojiPictures, super::AppError> {
    use super::AppError::EmojiDir;
    if !dir.is_dir() {
        let why = format!("{}: not a folder (--emoji-dir wants one picture per class, e.g. happy.png)", dir.display());
        return Err(EmojiDir(why));
    }
    let missing: Vec<String> =
        labels.iter().filter(|l| !dir.join(format!("{l}.png")).is_file()).map(|l| format!("{l}.png")).collect();
    if !missing.is_empty() {
        let why = format!("{}: no {} (--emoji-dir wants one picture per class)", dir.display(), missing.join(", "));
        return Err(EmojiDir(why));
    }
    let mut pictures = Vec::with_capacity(labels.len());
    for label in labels {
        let path = dir.join(format!("{label}.png"));
        let rgba = image::open(&path)
            .map_err(|e| EmojiDir(format!("{}: not a readable picture: {e}", path.display())))?
            .to_rgba8();
        let (width, height) = rgba.dimensions();
        let picture = Image::new(
            Extent3d { width, height, depth_or_array_layers: 1 },
            TextureDimension::D2,
            rgba.into_raw(),
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::RENDER_WORLD,
        );
        pictures.push((label.clone(), picture));
    }
    Ok(EmojiPictures(pictures))
}

/// Turns the start-up pictures into assets once; frames then only swap handles.
fn register_emoji_pictures(
    mut commands: Commands,
    pictures: Option<Res<EmojiPictures>>,
    mut images: ResMut<Assets<Image>>,
) {
    let Some(pictures) = pictures else { return };
    let handles = pictures.0.iter().map(|(label, picture)| (label.clone(), images.add(picture.clone()))).collect();
    commands.insert_resource(EmojiHandles(handles));
    commands.remove_resource::<EmojiPictures>();
}

/// The shader's parameters (see shaders/emoji.wgsl).
#[derive(ShaderType, Debug, Clone, Copy, Default, PartialEq)]
pub struct EmojiParams {
    /// mouth curvature, mouth openness, brow angle, eye openness
    pub shape: Vec4,
    /// tears, time, unused, unused
    pub extra: Vec4,
    /// colour mixed into the face; alpha is the amount
    pub tint: Vec4,
}

#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct EmojiMaterial {
    #[uniform(0)]
    pub params: EmojiParams,
}

impl Material2d for EmojiMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(EMOJI_SHADER)
    }
    fn alpha_mode(&self) -> AlphaMode2d {
        AlphaMode2d::Blend
    }
}

/// The look of one emotion: mouth curve, mouth open, brow angle, eye open, tears, tint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub shape: Vec4,
    pub tears: f32,
    pub tint: Vec4,
}

/// The look of a class by its label; unknown labels look neutral.
pub fn look_of(label: &str) -> Look {
    let none = Vec4::ZERO;
    let (shape, tears, tint) = match label.to_ascii_lowercase().as_str() {
        "happy" => (Vec4::new(1.0, 0.35, 0.0, 1.0), 0.0, none),
        "sad" => (Vec4::new(-0.8, 0.0, 0.8, 0.7), 1.0, Vec4::new(0.55, 0.7, 1.0, 0.35)),
        "angry" => (Vec4::new(-0.6, 0.1, -1.0, 0.8), 0.0, Vec4::new(1.0, 0.25, 0.15, 0.55)),
        "surprise" => (Vec4::new(0.0, 1.0, 0.9, 1.35), 0.0, none),
        "fear" => (Vec4::new(-0.35, 0.55, 0.7, 1.25), 0.0, Vec4::new(0.75, 0.8, 1.0, 0.45)),
        "disgust" => (Vec4::new(-0.5, 0.15, -0.5, 0.55), 0.0, Vec4::new(0.45, 0.8, 0.25, 0.5)),
        _ => (Vec4::new(0.0, 0.0, 0.0, 1.0), 0.0, none),
    };
    Look { shape, tears, tint }
}

/// The probability-weighted mix of the looks: the emoji morphs between emotions.
pub fn blend_looks(labels: &[String], probabilities: &[f32]) -> Look {
    let mut out = Look { shape: Vec4::ZERO, tears: 0.0, tint: Vec4::ZERO };
    let total: f32 = probabilities.iter().sum();
    if total <= 0.0 {
        return look_of("neutral");
    }
    for (label, p) in labels.iter().zip(probabilities) {
        let l = look_of(label);
        let w = p / total;
        out.shape += l.shape * w;
        out.tears += l.tears * w;
        out.tint += l.tint * w;
    }
    out
}

/// `a` mixed with `b`: `t` = 0 is `a`, 1 is `b`.
pub fn mix_looks(a: Look, b: Look, t: f32) -> Look {
    Look { shape: a.shape.lerp(b.shape, t), tears: a.tears + (b.tears - a.tears) * t, tint: a.tint.lerp(b.tint, t) }
}

/// The look the strip's emoji aims for: the confirmed class's own look, so it agrees
/// with the label beside it (the confirmed class); until a class is confirmed (label
/// "-") the probability mix, as on the mirror.
pub fn strip_target_look(labels: &[String], smoothed: &[f32], confirmed: Option<usize>) -> Look {
    match confirmed.and_then(|c| labels.get(c)) {
        Some(label) => look_of(label),
        None => blend_looks(labels, smoothed),
    }
}

/// One frame of the strip's morph: `shown` (`None` on a new face's first frame, which
/// starts at the target) moved toward `target` as an exponential approach with time
/// constant [`STRIP_MORPH_TAU_S`] covers in `dt_s` seconds.
pub fn approach_look(shown: Option<Look>, target: Look, dt_s: f32) -> Look {
    let Some(shown) = shown else { return target };
    let t = 1.0 - (-dt_s.max(0.0) / STRIP_MORPH_TAU_S).exp();
    mix_looks(shown, target, t)
}

/// Scale factor of the pop after the confirmed emotion changed `t` seconds ago.
pub fn pop_scale(t: f32) -> f32 {
    if !(0.0..POP_SECONDS).contains(&t) {
        return 1.0;
    }
    let x = t / POP_SECONDS;
    1.0 + POP_SCALE * (x * std::f32::consts::PI * 2.0).sin().abs() * (1.0 - x)
}

/// Wobble angle (radians) after a change: a damped shake.
pub fn wobble_angle(t: f32) -> f32 {
    if !(0.0..POP_SECONDS).contains(&t) {
        return 0.0;
    }
    let x = t / POP_SECONDS;
    WOBBLE_RAD * (x * std::f32::consts::PI * WOBBLE_HALF_TURNS).sin() * (1.0 - x)
}

#[derive(Resource)]
struct EmojiQuad(Handle<Mesh>);

fn create_quad(mut commands: Commands, mut meshes: ResMut<Assets<Mesh>>) {
    commands.insert_resource(EmojiQuad(meshes.add(Rectangle::new(1.0, 1.0))));
}

/// Marks a Face entity that has its emoji; holds its material and the strip emoji's.
#[derive(Component)]
pub struct EmojiVisual {
    /// The mirror's emoji (follows the smoothed probabilities).
    pub material: Handle<EmojiMaterial>,
    /// The strip's emoji (follows the confirmed class, see [`strip_target_look`]).
    pub strip_material: Handle<EmojiMaterial>,
}

/// The face's emoji in the three-pane strip, with its label.
#[derive(Component)]
pub struct StripItem {
    pub face: Entity,
}

fn add_emoji_visuals(
    mut commands: Commands,
    quad: Res<EmojiQuad>,
    pictures: Option<Res<EmojiHandles>>,
    mut materials: ResMut<Assets<EmojiMaterial>>,
    new_faces: Query<Entity, (With<FaceTrack>, Without<EmojiVisual>)>,
) {
    for face in &new_faces {
        let material = materials.add(EmojiMaterial { params: EmojiParams::default() });
        let strip_material = materials.add(EmojiMaterial { params: EmojiParams::default() });
        let mut e = commands.entity(face);
        e.insert((
            EmojiVisual { material: material.clone(), strip_material: strip_material.clone() },
            Transform::default(),
            Visibility::default(),
        ));
        if pictures.is_some() {
            e.insert(Sprite::default());
        } else {
            e.insert((Mesh2d(quad.0.clone()), MeshMaterial2d(material.clone())));
        }
        // The strip item is unscaled so its label keeps its size; the emoji is a scaled child.
        let emoji_scale =
            Transform::from_scale(Vec3::new(STRIP_EMOJI_PX * QUAD_OVER_DISK, STRIP_EMOJI_PX * QUAD_OVER_DISK, 1.0));
        let mut item =
            commands.spawn((Name::new("Strip emoji"), StripItem { face }, Transform::default(), Visibility::Hidden));
        item.with_children(|parent| {
            let mut emoji = parent.spawn((StripEmojiOf(face), StripLook::default(), emoji_scale));
            if pictures.is_some() {
                emoji.insert(Sprite::default());
            } else {
                emoji.insert((Mesh2d(quad.0.clone()), MeshMaterial2d(strip_material)));
            }
            parent.spawn((
                Text2d::new(""),
                TextFont { font_size: FontSize::Px(STRIP_LABEL_PX), ..default() },
                Transform::from_xyz(0.0, -STRIP_EMOJI_PX * STRIP_LABEL_BELOW, 0.1),
            ));
        });
    }
}

/// The strip's emoji of a face (child of its [`StripItem`]).
#[derive(Component)]
pub struct StripEmojiOf(pub Entity);

/// The look the strip's emoji shows now (`None` until its first frame), morphing
/// toward [`strip_target_look`].
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct StripLook(pub Option<Look>);

fn remove_orphan_strip_items(
    mut commands: Commands,
    items: Query<(Entity, &StripItem)>,
    faces: Query<(), With<FaceTrack>>,
) {
    for (e, item) in &items {
        if faces.get(item.face).is_err() {
            commands.entity(e).despawn();
        }
    }
}

fn place_emoji(
    panes: Res<PaneRects>,
    view: Res<ViewSettings>,
    status: Res<SourceStatus>,
    mut faces: Query<(Entity, &FaceTrack, &FaceEmotion, &mut Transform), Without<StripItem>>,
    mut items: Query<(&StripItem, &mut Transform, &mut Visibility, &Children), Without<FaceTrack>>,
    mut texts: Query<&mut Text2d>,
    mut order: Local<Vec<(u64, Entity)>>,
) {
    for (_, track, emotion, mut tf) in &mut faces {
        let b = track.bbox_in_frame;
        let (cx, cy) = b.center();
        let centre = panes.frame_to_world(Vec2::new(cx, cy));
        let side = panes.frame_to_world_len(b.w.max(b.h)) * DISK_OVER_FACE * QUAD_OVER_DISK;
        // Roll from the eye landmarks (frame y points down, world y up).
        let [le, re, ..] = track.landmarks_in_frame;
        let roll = -(re[1] - le[1]).atan2(re[0] - le[0]);
        let pop = pop_scale(emotion.since_change_s);
        tf.translation = centre.extend(EMOJI_Z);
        tf.rotation = Quat::from_rotation_z(roll + wobble_angle(emotion.since_change_s));
        tf.scale = Vec3::new(side * pop, side * pop, 1.0);
    }
    let strip = panes.strip.filter(|_| view.layout == LayoutMode::ThreePane);
    order.clear();
    order.extend(faces.iter().map(|(e, t, ..)| (t.id, e)));
    order.sort_unstable();
    for (item, mut tf, mut vis, children) in &mut items {
        let Some(rect) = strip else {
            *vis = Visibility::Hidden;
            continue;
        };
        let Some(slot) = order.iter().position(|(_, e)| *e == item.face) else { continue };
        let top = rect.max.y - STRIP_EMOJI_PX * STRIP_FIRST_BELOW_TOP;
        let y = top - slot as f32 * (STRIP_EMOJI_PX + STRIP_ROW_GAP_PX);
        *vis = if y > rect.min.y { Visibility::Visible } else { Visibility::Hidden };
        tf.translation = Vec3::new(rect.center().x, y, EMOJI_Z);
        if let Ok((_, _, emotion, _)) = faces.get(item.face) {
            let name = emotion.confirmed.and_then(|c| status.labels.get(c)).map_or("-", String::as_str);
            for child in children.iter() {
                if let Ok(mut text) = texts.get_mut(child) {
                    let wanted = crate::report::display_label(name);
                    if text.0 != wanted {
                        text.0 = wanted;
                    }
                }
            }
        }
    }
}

/// The strip's emoji pops with its label's change, as the mirror's does.
fn pop_strip_emoji(faces: Query<&FaceEmotion>, mut emojis: Query<(&StripEmojiOf, &mut Transform)>) {
    for (of, mut tf) in &mut emojis {
        let Ok(emotion) = faces.get(of.0) else { continue };
        let side = STRIP_EMOJI_PX * QUAD_OVER_DISK * pop_scale(emotion.since_change_s);
        tf.scale = Vec3::new(side, side, 1.0);
    }
}

fn animate_emoji(
    time: Res<Time>,
    status: Res<SourceStatus>,
    pictures: Option<Res<EmojiHandles>>,
    mut materials: ResMut<Assets<EmojiMaterial>>,
    mut faces: Query<(&FaceEmotion, &EmojiVisual, Option<&mut Sprite>), Without<StripEmojiOf>>,
    mut strip_sprites: Query<(&StripEmojiOf, &mut Sprite), Without<EmojiVisual>>,
    mut strip_looks: Query<(&StripEmojiOf, &mut StripLook)>,
) {
    let dt = time.delta_secs();
    if pictures.is_some() {
        for (of, mut sprite) in &mut strip_sprites {
            if let Ok((_, _, Some(face_sprite))) = faces.get(of.0)
                && sprite.image != face_sprite.image
            {
                sprite.image = face_sprite.image.clone();
                sprite.custom_size = face_sprite.custom_size;
            }
        }
    }
    for (emotion, visual, sprite) in &mut faces {
        let n = emotion.classes.min(status.labels.len());
        if let (Some(pictures), Some(mut sprite)) = (pictures.as_ref(), sprite) {
            let idx = emotion.confirmed.unwrap_or(emotion.top.0);
            if let Some(handle) = status.labels.get(idx).and_then(|label| pictures.0.get(label))
                && sprite.image != *handle
            {
                sprite.image = handle.clone();
                sprite.custom_size = Some(Vec2::splat(1.0 / QUAD_OVER_DISK));
            }
            continue;
        }
        let look = blend_looks(&status.labels[..n], &emotion.smoothed[..n]);
        if let Some(mut m) = materials.get_mut(&visual.material) {
            m.params = params_of(look, time.elapsed_secs());
        }
    }
    for (of, mut shown) in &mut strip_looks {
        let Ok((emotion, visual, _)) = faces.get(of.0) else { continue };
        let n = emotion.classes.min(status.labels.len());
        let target = strip_target_look(&status.labels[..n], &emotion.smoothed[..n], emotion.confirmed);
        let look = approach_look(shown.0, target, dt);
        shown.0 = Some(look);
        if let Some(mut m) = materials.get_mut(&visual.strip_material) {
            m.params = params_of(look, time.elapsed_secs());
        }
    }
}

/// The shader's parameters for a look at `time_s` (the tears run with time).
fn params_of(look: Look, time_s: f32) -> EmojiParams {
    EmojiParams { shape: look.shape, extra: Vec4::new(look.tears, time_s, 0.0, 0.0), tint: look.tint }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn looks_blend_with_the_probabilities() {
        let l = labels();
        let happy = blend_looks(&l, &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(happy, look_of("happy"));
        let half = blend_looks(&l, &[0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0]);
        let (h, s) = (look_of("happy"), look_of("sad"));
        assert!((half.shape.x - (h.shape.x + s.shape.x) / 2.0).abs() < 1e-6, "mouth is between smile and frown");
        assert!((half.tears - 0.5).abs() < 1e-6);
        assert_eq!(blend_looks(&l, &[0.0; 7]), look_of("neutral"));
    }

    #[test]
    fn the_strip_shows_the_confirmed_class_not_the_probability_mix() {
        let l = labels();
        // The window confirmed Happy, but this frame's mix leans neutral: the strip's
        // face must still smile, as its label says "Happy".
        let leaning_neutral = [0.0, 0.0, 0.0, 0.4, 0.0, 0.0, 0.6];
        let target = strip_target_look(&l, &leaning_neutral, Some(3));
        assert_eq!(target, look_of("happy"));
        assert!(blend_looks(&l, &leaning_neutral).shape.x < 0.5, "the mirror's mix is a faint smile");
        // Nothing confirmed yet (label "-"): the mix, as on the mirror.
        assert_eq!(strip_target_look(&l, &leaning_neutral, None), blend_looks(&l, &leaning_neutral));
        // An index without a label (a mismatched model) falls back to the mix too.
        assert_eq!(strip_target_look(&l, &leaning_neutral, Some(42)), blend_looks(&l, &leaning_neutral));
    }

    #[test]
    fn the_strip_morphs_to_a_newly_confirmed_class_within_the_pop() {
        let (sad, happy) = (look_of("sad"), look_of("happy"));
        assert_eq!(approach_look(None, happy, 0.016), happy, "a new face starts at its target");
        assert_eq!(approach_look(Some(sad), happy, 0.0), sad, "no time, no change");
        // Frame by frame at 60 fps from Sad to a newly confirmed Happy.
        let mut shown = sad;
        let mut t = 0.0;
        let mut curve = vec![];
        while t < POP_SECONDS {
            shown = approach_look(Some(shown), happy, 1.0 / 60.0);
            curve.push(shown.shape.x);
            t += 1.0 / 60.0;
        }
        assert!(curve.windows(2).all(|w| w[1] > w[0]), "the mouth turns up steadily: {curve:?}");
        assert!(curve[0] < 0.0, "the first frame still frowns a little (a morph, not a jump)");
        let left = (shown.shape - happy.shape).abs().max_element().max((shown.tears - happy.tears).abs());
        assert!(left < 0.05, "Happy by the end of the pop ({left} left)");
        assert!((mix_looks(sad, happy, 0.5).tears - 0.5).abs() < 1e-6);
    }

    #[test]
    fn pop_and_wobble_settle() {
        assert_eq!(pop_scale(-1.0), 1.0);
        assert!(pop_scale(POP_SECONDS * 0.25) > 1.1);
        assert_eq!(pop_scale(POP_SECONDS), 1.0);
        assert_eq!(wobble_angle(POP_SECONDS + 0.1), 0.0);
    }
}
