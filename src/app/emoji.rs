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
use super::pose::{HeadPose, pose_from_landmarks, smooth_pose};
use super::video::SourceStatus;
use super::{LayoutMode, ViewSettings};

const EMOJI_SHADER: Handle<Shader> = uuid_handle!("6f1b7b0e-3c1a-4f57-9a53-2c7f5c2b9e11");
const SPARKLE_SHADER: Handle<Shader> = uuid_handle!("b3a4c1d2-7e5f-4a60-9b81-0c2d3e4f5a6b");

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

/// Length of a sparkle burst, seconds.
pub const BURST_SECONDS: f32 = 0.8;
/// Bursts are drawn above the emoji (and the debug text, 1.0 above the video).
const BURST_Z: f32 = 5.0;
/// Big emoji are drawn above the faces' emoji, below the bursts.
const BIG_EMOJI_Z_MIN: f32 = 2.0;
/// The golden angle (radians): successive bursts' sparkles start turned by it, so two
/// bursts in a row do not look the same.
const BURST_SEED_STEP: f32 = 2.399_963;

pub(super) fn plugin(app: &mut App) {
    material_plugin(app);
    app.add_message::<Burst>()
        .add_systems(Startup, (create_quad, register_emoji_pictures))
        .add_systems(
            Update,
            (add_emoji_visuals, remove_orphan_strip_items, place_emoji, pop_strip_emoji, animate_emoji)
                .chain()
                .in_set(EmojiSet),
        )
        .add_systems(
            Update,
            (add_big_emoji_visuals, animate_big_emoji, spawn_bursts, age_bursts).chain().in_set(EmojiSet),
        );
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
/// in logical px; z is raised to at least 2, above the video and the faces' emoji) the
/// shader quad, and morphs what it shows toward `look` with the same shader and approach
/// as the faces.
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
        let material = materials.add(EmojiMaterial { params: params_of(big.look, Vec2::ZERO, time.elapsed_secs()) });
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
        tf.translation.z = tf.translation.z.max(BIG_EMOJI_Z_MIN);
        if let Some(mut m) = materials.get_mut(&shown.material) {
            m.params = params_of(shown.shown, Vec2::ZERO, time.elapsed_secs());
        }
    }
}

/// The sparkle shader's parameters (see shaders/sparkle.wgsl).
#[derive(ShaderType, Debug, Clone, Copy, Default, PartialEq)]
pub struct SparkleParams {
    /// age (0..1 of [`BURST_SECONDS`]), seed (radians), unused, unused
    pub state: Vec4,
}

#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct SparkleMaterial {
    #[uniform(0)]
    pub params: SparkleParams,
}

impl Material2d for SparkleMaterial {
    fn fragment_shader() -> ShaderRef {
        ShaderRef::Handle(SPARKLE_SHADER)
    }
    fn alpha_mode(&self) -> AlphaMode2d {
        AlphaMode2d::Blend
    }
}

/// A running burst: when it started (seconds of [`Time::elapsed_secs`]) and its material.
#[derive(Component, Debug)]
pub struct Sparkle {
    pub born_s: f32,
    pub material: Handle<SparkleMaterial>,
}

/// A burst's age as a share of its life (0 at the start, 1 at the end and after).
pub fn burst_age(born_s: f32, now_s: f32) -> f32 {
    ((now_s - born_s) / BURST_SECONDS).clamp(0.0, 1.0)
}

fn spawn_bursts(
    mut commands: Commands,
    mut bursts: MessageReader<Burst>,
    quad: Res<EmojiQuad>,
    time: Res<Time>,
    mut materials: ResMut<Assets<SparkleMaterial>>,
    mut seed: Local<f32>,
) {
    for burst in bursts.read() {
        *seed = (*seed + BURST_SEED_STEP) % std::f32::consts::TAU;
        let material =
            materials.add(SparkleMaterial { params: SparkleParams { state: Vec4::new(0.0, *seed, 0.0, 0.0) } });
        commands.spawn((
            Name::new("Burst"),
            Sparkle { born_s: time.elapsed_secs(), material: material.clone() },
            Mesh2d(quad.0.clone()),
            MeshMaterial2d(material),
            Transform::from_translation(burst.at.extend(BURST_Z)).with_scale(Vec3::new(burst.size, burst.size, 1.0)),
            Visibility::default(),
        ));
    }
}

/// Ages every burst's material; despawns the burst at the end of its life.
fn age_bursts(
    mut commands: Commands,
    time: Res<Time>,
    mut materials: ResMut<Assets<SparkleMaterial>>,
    sparkles: Query<(Entity, &Sparkle)>,
) {
    let now = time.elapsed_secs();
    for (e, sparkle) in &sparkles {
        let age = burst_age(sparkle.born_s, now);
        if age >= 1.0 {
            commands.entity(e).despawn();
        } else if let Some(mut m) = materials.get_mut(&sparkle.material) {
            m.params.state.x = age;
        }
    }
}

/// The emoji and sparkle shaders and materials (shared with the emoji-sheet app).
pub(crate) fn material_plugin(app: &mut App) {
    load_internal_asset!(app, EMOJI_SHADER, "../../shaders/emoji.wgsl", Shader::from_wgsl);
    load_internal_asset!(app, SPARKLE_SHADER, "../../shaders/sparkle.wgsl", Shader::from_wgsl);
    app.add_plugins((Material2dPlugin::<EmojiMaterial>::default(), Material2dPlugin::<SparkleMaterial>::default()));
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

/// The shader's parameters (see shaders/emoji.wgsl); [`params_of`] fills them from a [`Look`].
#[derive(ShaderType, Debug, Clone, Copy, Default, PartialEq)]
pub struct EmojiParams {
    /// mouth curve, mouth open, mouth width, mouth round
    pub mouth: Vec4,
    /// teeth, sneer, cheeks, tears
    pub face: Vec4,
    /// brow angle, brow height, eye open, eye smile
    pub eyes: Vec4,
    /// yaw, pitch (radians, signs of [`super::pose`]), time (s), unused
    pub pose: Vec4,
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

/// The look of one emotion: every feature the shader draws, as numbers that blend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// -1 deep frown .. +1 broad grin.
    pub mouth_curve: f32,
    /// 0 closed .. 1 wide open (a dark mouth).
    pub mouth_open: f32,
    /// Mouth width against a neutral mouth's (1).
    pub mouth_width: f32,
    /// 0 a curved band .. 1 a round O.
    pub mouth_round: f32,
    /// Share of the open mouth shown as teeth (0..1; 1 is a clenched grimace).
    pub teeth: f32,
    /// Disgust's lopsided sneer (0..1): a wavy mouth raised on one side, one brow down,
    /// one eye squinting.
    pub sneer: f32,
    /// Raised cheeks (0..1): blush, eyes and mouth corners pushed up.
    pub cheeks: f32,
    /// -1 furrowed V (inner ends down) .. +1 worried (inner ends up).
    pub brow_angle: f32,
    /// -1 lowered .. +1 raised.
    pub brow_height: f32,
    /// 0.05 shut .. 1 normal .. 1.4 wide (whites and pupils show above ~1.1).
    pub eye_open: f32,
    /// 0 open eyes .. 1 closed smiling arcs.
    pub eye_smile: f32,
    /// A tear under one eye (0..1).
    pub tears: f32,
    /// Colour mixed into the face; alpha is the amount.
    pub tint: Vec4,
}

/// Number of blendable values in a [`Look`].
const LOOK_VALUES: usize = 16;

impl Look {
    /// The neutral face: flat straight mouth, level brows, open eyes.
    pub const NEUTRAL: Look = Look {
        mouth_curve: 0.0,
        mouth_open: 0.0,
        mouth_width: 0.85,
        mouth_round: 0.0,
        teeth: 0.0,
        sneer: 0.0,
        cheeks: 0.0,
        brow_angle: 0.0,
        brow_height: 0.0,
        eye_open: 1.0,
        eye_smile: 0.0,
        tears: 0.0,
        tint: Vec4::ZERO,
    };

    fn to_values(self) -> [f32; LOOK_VALUES] {
        let t = self.tint;
        [
            self.mouth_curve,
            self.mouth_open,
            self.mouth_width,
            self.mouth_round,
            self.teeth,
            self.sneer,
            self.cheeks,
            self.brow_angle,
            self.brow_height,
            self.eye_open,
            self.eye_smile,
            self.tears,
            t.x,
            t.y,
            t.z,
            t.w,
        ]
    }

    fn from_values(v: [f32; LOOK_VALUES]) -> Look {
        Look {
            mouth_curve: v[0],
            mouth_open: v[1],
            mouth_width: v[2],
            mouth_round: v[3],
            teeth: v[4],
            sneer: v[5],
            cheeks: v[6],
            brow_angle: v[7],
            brow_height: v[8],
            eye_open: v[9],
            eye_smile: v[10],
            tears: v[11],
            tint: Vec4::new(v[12], v[13], v[14], v[15]),
        }
    }
}

/// Tints (rgb, amount): strong for the classes whose Unicode faces are coloured.
/// Linear colours: the window is sRGB, so these show lighter (angry as (232, 80, 42)).
const ANGRY_RED: Vec4 = Vec4::new(0.8, 0.02, 0.01, 0.92);
const DISGUST_GREEN: Vec4 = Vec4::new(0.2, 0.55, 0.05, 0.85);
const FEAR_PALE_BLUE: Vec4 = Vec4::new(0.3, 0.5, 1.0, 0.7);
const SAD_BLUE: Vec4 = Vec4::new(0.45, 0.6, 1.0, 0.2);

/// The look of a class by its label (FER2013's seven; "surprised", "neutrality" and the
/// like match too); unknown labels look neutral.
pub fn look_of(label: &str) -> Look {
    let n = Look::NEUTRAL;
    let label = label.to_ascii_lowercase();
    let class = ["happy", "sad", "angry", "surpris", "fear", "disgust"].into_iter().find(|c| label.starts_with(c));
    match class {
        // Broad grin with upper teeth, raised cheeks, closed smiling eyes (like U+1F604).
        Some("happy") => Look {
            mouth_curve: 1.0,
            mouth_open: 0.75,
            mouth_width: 1.25,
            teeth: 0.35,
            cheeks: 1.0,
            brow_height: 0.35,
            eye_smile: 1.0,
            ..n
        },
        // Deep frown, worried brows, a tear (U+1F622).
        Some("sad") => Look {
            mouth_curve: -1.0,
            mouth_open: 0.05,
            mouth_width: 0.9,
            brow_angle: 1.0,
            brow_height: 0.1,
            eye_open: 0.8,
            tears: 1.0,
            tint: SAD_BLUE,
            ..n
        },
        // Furrowed V brows, red face, tight frown (U+1F621).
        Some("angry") => Look {
            mouth_curve: -0.7,
            mouth_width: 0.75,
            brow_angle: -1.0,
            brow_height: -0.5,
            eye_open: 0.75,
            tint: ANGRY_RED,
            ..n
        },
        // Raised brows, wide eyes, a round dark O (U+1F62E).
        Some("surpris") => Look {
            mouth_open: 1.0,
            mouth_width: 0.7,
            mouth_round: 1.0,
            brow_angle: 0.25,
            brow_height: 1.0,
            eye_open: 1.4,
            ..n
        },
        // Wide eyes, worried raised brows, a clenched open grimace, pale blue (U+1F628).
        Some("fear") => Look {
            mouth_curve: -0.3,
            mouth_open: 0.8,
            mouth_width: 1.05,
            teeth: 1.0,
            brow_angle: 1.0,
            brow_height: 0.7,
            eye_open: 1.3,
            tint: FEAR_PALE_BLUE,
            ..n
        },
        // Green, a lopsided wavy grimace, squinting (U+1F922 / U+1F616).
        Some("disgust") => Look {
            mouth_curve: -0.45,
            mouth_open: 0.25,
            mouth_width: 0.95,
            teeth: 0.3,
            sneer: 1.0,
            brow_angle: -0.5,
            brow_height: -0.3,
            eye_open: 0.4,
            tint: DISGUST_GREEN,
            ..n
        },
        _ => n,
    }
}

/// The probability-weighted mix of the looks: the emoji morphs between emotions.
pub fn blend_looks(labels: &[String], probabilities: &[f32]) -> Look {
    let total: f32 = probabilities.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return look_of("neutral");
    }
    let mut out = [0.0; LOOK_VALUES];
    for (label, p) in labels.iter().zip(probabilities) {
        let w = p / total;
        for (o, v) in out.iter_mut().zip(look_of(label).to_values()) {
            *o += v * w;
        }
    }
    Look::from_values(out)
}

/// `a` mixed with `b`: `t` = 0 is `a`, 1 is `b`.
pub fn mix_looks(a: Look, b: Look, t: f32) -> Look {
    let (a, b) = (a.to_values(), b.to_values());
    Look::from_values(std::array::from_fn(|i| a[i] + (b[i] - a[i]) * t))
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

/// The head pose the face's emoji shows now (`None` until its first frame), smoothed
/// toward the pose of the latest landmarks ([`smooth_pose`]).
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct ShownPose(pub Option<HeadPose>);

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
            ShownPose::default(),
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

#[allow(clippy::too_many_arguments)]
fn place_emoji(
    time: Res<Time>,
    panes: Res<PaneRects>,
    view: Res<ViewSettings>,
    status: Res<SourceStatus>,
    mut faces: Query<(Entity, &FaceTrack, &FaceEmotion, &mut ShownPose, &mut Transform), Without<StripItem>>,
    mut items: Query<(&StripItem, &mut Transform, &mut Visibility, &Children), Without<FaceTrack>>,
    mut texts: Query<&mut Text2d>,
    mut order: Local<Vec<(u64, Entity)>>,
) {
    let dt = time.delta_secs();
    for (_, track, emotion, mut pose, mut tf) in &mut faces {
        let b = track.bbox_in_frame;
        let (cx, cy) = b.center();
        let centre = panes.frame_to_world(Vec2::new(cx, cy));
        let side = panes.frame_to_world_len(b.w.max(b.h)) * DISK_OVER_FACE * QUAD_OVER_DISK;
        let shown = smooth_pose(pose.0, pose_from_landmarks(&track.landmarks_in_frame), dt);
        pose.0 = Some(shown);
        let pop = pop_scale(emotion.since_change_s);
        tf.translation = centre.extend(EMOJI_Z);
        tf.rotation = Quat::from_rotation_z(shown.roll + wobble_angle(emotion.since_change_s));
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
        if let Ok((_, _, emotion, ..)) = faces.get(item.face) {
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
    mut faces: Query<(&FaceEmotion, &EmojiVisual, &ShownPose, Option<&mut Sprite>), Without<StripEmojiOf>>,
    mut strip_sprites: Query<(&StripEmojiOf, &mut Sprite), Without<EmojiVisual>>,
    mut strip_looks: Query<(&StripEmojiOf, &mut StripLook)>,
) {
    let dt = time.delta_secs();
    if pictures.is_some() {
        for (of, mut sprite) in &mut strip_sprites {
            if let Ok((.., Some(face_sprite))) = faces.get(of.0)
                && sprite.image != face_sprite.image
            {
                sprite.image = face_sprite.image.clone();
                sprite.custom_size = face_sprite.custom_size;
            }
        }
    }
    for (emotion, visual, pose, sprite) in &mut faces {
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
            let turn = pose.0.map_or(Vec2::ZERO, |p| Vec2::new(p.yaw, p.pitch));
            m.params = params_of(look, turn, time.elapsed_secs());
        }
    }
    for (of, mut shown) in &mut strip_looks {
        let Ok((emotion, visual, ..)) = faces.get(of.0) else { continue };
        let n = emotion.classes.min(status.labels.len());
        let target = strip_target_look(&status.labels[..n], &emotion.smoothed[..n], emotion.confirmed);
        let look = approach_look(shown.0, target, dt);
        shown.0 = Some(look);
        if let Some(mut m) = materials.get_mut(&visual.strip_material) {
            m.params = params_of(look, Vec2::ZERO, time.elapsed_secs());
        }
    }
}

/// The shader's parameters for a look seen with the head turned by `yaw_pitch` (radians,
/// see [`super::pose`]) at `time_s` (the tear runs with time).
pub(crate) fn params_of(look: Look, yaw_pitch: Vec2, time_s: f32) -> EmojiParams {
    EmojiParams {
        mouth: Vec4::new(look.mouth_curve, look.mouth_open, look.mouth_width, look.mouth_round),
        face: Vec4::new(look.teeth, look.sneer, look.cheeks, look.tears),
        eyes: Vec4::new(look.brow_angle, look.brow_height, look.eye_open, look.eye_smile),
        pose: Vec4::new(yaw_pitch.x, yaw_pitch.y, time_s, 0.0),
        tint: look.tint,
    }
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
        assert!((half.mouth_curve - (h.mouth_curve + s.mouth_curve) / 2.0).abs() < 1e-6, "between smile and frown");
        assert!((half.eye_smile - 0.5).abs() < 1e-6 && (half.brow_angle - 0.5).abs() < 1e-6);
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
        assert!(blend_looks(&l, &leaning_neutral).mouth_curve < 0.5, "the mirror's mix is a faint smile");
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
            curve.push(shown.mouth_curve);
            t += 1.0 / 60.0;
        }
        assert!(curve.windows(2).all(|w| w[1] > w[0]), "the mouth turns up steadily: {curve:?}");
        assert!(curve[0] < 0.0, "the first frame still frowns a little (a morph, not a jump)");
        let (a, b) = (shown.to_values(), happy.to_values());
        let left = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        assert!(left < 0.05, "Happy by the end of the pop ({left} left)");
        assert!((mix_looks(sad, happy, 0.5).tears - 0.5).abs() < 1e-6);
    }

    /// The largest difference between two looks' values.
    fn distance(a: Look, b: Look) -> f32 {
        a.to_values().iter().zip(b.to_values()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn every_class_has_its_unicode_features() {
        let happy = look_of("happy");
        assert!(happy.mouth_curve >= 1.0 && happy.mouth_open > 0.5 && happy.cheeks >= 1.0 && happy.eye_smile >= 1.0);
        let sad = look_of("sad");
        assert!(sad.mouth_curve <= -1.0 && sad.tears >= 1.0 && sad.brow_angle >= 1.0, "deep frown, tear, worry");
        let angry = look_of("angry");
        assert!(
            angry.brow_angle <= -1.0 && angry.mouth_curve < -0.5 && angry.mouth_width < 0.8,
            "V brows, tight frown"
        );
        assert!(angry.tint.w > 0.8 && angry.tint.x > 5.0 * angry.tint.y, "strongly red");
        let surprise = look_of("surprise");
        assert!(surprise.mouth_round >= 1.0 && surprise.mouth_open >= 1.0, "a round open O");
        assert!(surprise.eye_open > 1.3 && surprise.brow_height >= 1.0, "wide eyes, raised brows");
        let fear = look_of("fear");
        assert!(fear.eye_open > 1.2 && fear.brow_angle >= 1.0 && fear.teeth >= 1.0 && fear.mouth_open > 0.5);
        assert!(fear.tint.z > fear.tint.x && fear.tint.w > 0.5, "pale blue");
        let disgust = look_of("disgust");
        assert!(disgust.sneer >= 1.0 && disgust.eye_open < 0.5, "lopsided grimace, squint");
        assert!(disgust.tint.y > 2.0 * disgust.tint.x && disgust.tint.w > 0.8, "strongly green");
        let neutral = look_of("neutral");
        assert_eq!(
            (neutral.mouth_curve, neutral.mouth_open, neutral.brow_angle, neutral.brow_height),
            (0.0, 0.0, 0.0, 0.0)
        );
        assert_eq!(look_of("Surprised"), surprise, "labels match by their stem, any case");
        assert_eq!(look_of("contempt"), neutral, "an unknown class looks neutral");
        // No two classes look alike: each pair differs by at least half a feature's range.
        let classes = labels();
        for (i, a) in classes.iter().enumerate() {
            for b in &classes[i + 1..] {
                assert!(distance(look_of(a), look_of(b)) >= 0.5, "{a} and {b} look alike");
            }
        }
    }

    #[test]
    fn params_carry_every_value_of_the_look_and_the_pose() {
        let fear = look_of("fear");
        let p = params_of(fear, Vec2::new(0.3, -0.2), 12.5);
        assert_eq!(p.mouth, Vec4::new(fear.mouth_curve, fear.mouth_open, fear.mouth_width, fear.mouth_round));
        assert_eq!(p.face, Vec4::new(fear.teeth, fear.sneer, fear.cheeks, fear.tears));
        assert_eq!(p.eyes, Vec4::new(fear.brow_angle, fear.brow_height, fear.eye_open, fear.eye_smile));
        assert_eq!(p.pose, Vec4::new(0.3, -0.2, 12.5, 0.0));
        assert_eq!(p.tint, fear.tint);
        assert_eq!(Look::from_values(fear.to_values()), fear);
    }

    #[test]
    fn a_burst_ages_over_its_life() {
        assert_eq!(burst_age(10.0, 9.0), 0.0);
        assert!((burst_age(10.0, 10.0 + BURST_SECONDS / 2.0) - 0.5).abs() < 1e-6);
        assert_eq!(burst_age(10.0, 10.0 + BURST_SECONDS), 1.0);
        assert_eq!(burst_age(10.0, 99.0), 1.0);
    }

    /// The burst and big-emoji systems without a window, 0.1 s a frame.
    fn burst_app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default()))
            .init_asset::<Mesh>()
            .init_asset::<EmojiMaterial>()
            .init_asset::<SparkleMaterial>()
            .insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(std::time::Duration::from_millis(100)))
            .add_message::<Burst>()
            .add_systems(Startup, create_quad)
            .add_systems(Update, (add_big_emoji_visuals, animate_big_emoji, spawn_bursts, age_bursts).chain());
        app.update();
        app
    }

    fn sparkles(app: &mut App) -> Vec<Transform> {
        let mut q = app.world_mut().query_filtered::<&Transform, With<Sparkle>>();
        q.iter(app.world()).copied().collect()
    }

    #[test]
    fn a_burst_spawns_where_asked_and_goes_after_its_life() {
        let mut app = burst_app();
        app.world_mut().write_message(Burst { at: Vec2::new(10.0, -20.0), size: 300.0 });
        app.update();
        let shown = sparkles(&mut app);
        assert_eq!(shown.len(), 1, "one burst");
        assert_eq!(shown[0].translation, Vec3::new(10.0, -20.0, BURST_Z));
        assert_eq!(shown[0].scale, Vec3::new(300.0, 300.0, 1.0));
        for _ in 0..4 {
            app.update();
        }
        assert_eq!(sparkles(&mut app).len(), 1, "still sparkling after 0.4 s");
        for _ in 0..(BURST_SECONDS * 10.0) as usize {
            app.update();
        }
        assert!(sparkles(&mut app).is_empty(), "gone after {BURST_SECONDS} s");
    }

    #[test]
    fn a_big_emoji_gets_the_shader_quad_and_morphs_to_its_look() {
        let mut app = burst_app();
        let e = app.world_mut().spawn((BigEmoji { look: look_of("happy"), size_px: 200.0 }, Transform::default())).id();
        app.update();
        let params = |app: &App| {
            let shown = app.world().get::<BigEmojiShown>(e).expect("the plugin adds what it shows");
            app.world().resource::<Assets<EmojiMaterial>>().get(&shown.material).expect("material").params
        };
        assert!(
            app.world().get::<Mesh2d>(e).is_some() && app.world().get::<MeshMaterial2d<EmojiMaterial>>(e).is_some()
        );
        let tf = *app.world().get::<Transform>(e).expect("transform");
        assert_eq!(tf.scale, Vec3::new(200.0 * QUAD_OVER_DISK, 200.0 * QUAD_OVER_DISK, 1.0));
        assert!(tf.translation.z >= BIG_EMOJI_Z_MIN, "above the video");
        assert_eq!(params(&app).mouth.x, look_of("happy").mouth_curve);
        app.world_mut().get_mut::<BigEmoji>(e).expect("big emoji").look = look_of("sad");
        app.update();
        let first = params(&app).mouth.x;
        assert!(first < look_of("happy").mouth_curve && first > look_of("sad").mouth_curve, "a morph: {first}");
        for _ in 0..5 {
            app.update();
        }
        assert!((params(&app).mouth.x - look_of("sad").mouth_curve).abs() < 0.05, "sad after 0.6 s");
    }

    #[test]
    fn pop_and_wobble_settle() {
        assert_eq!(pop_scale(-1.0), 1.0);
        assert!(pop_scale(POP_SECONDS * 0.25) > 1.1);
        assert_eq!(pop_scale(POP_SECONDS), 1.0);
        assert_eq!(wobble_angle(POP_SECONDS + 0.1), 0.0);
    }
}
