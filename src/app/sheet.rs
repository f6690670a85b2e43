//! The emoji sheet (`emoji-mirror emoji-sheet`): a small window that shows every class's
//! emoji, a few 50/50 blends, two head poses and a sparkle burst in a labelled grid with
//! the app's own shaders, saves a screenshot of itself (PNG) with a JSON sidecar (each cell's label and
//! rect in window pixels) and exits. No camera or model is needed.

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy::winit::{UpdateMode, WinitSettings};
use serde::Serialize;
use thiserror::Error;

use super::emoji::{
    EmojiMaterial, Look, QUAD_OVER_DISK, SparkleMaterial, SparkleParams, look_of, material_plugin, mix_looks, params_of,
};

/// The seven FER2013 classes, used when no classifier manifest can be read.
pub const FER_LABELS: [&str; 7] = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
/// Default side of a cell's emoji quad, logical pixels (the face disk is 1/1.4 of it).
pub const DEFAULT_CELL_PX: u32 = 180;
/// Smallest and largest cell side accepted, logical pixels.
pub const MIN_CELL_PX: u32 = 48;
pub const MAX_CELL_PX: u32 = 512;
/// Cells per row: one per class (the classes fill the first row), within these bounds.
const MIN_COLUMNS: usize = 4;
const MAX_COLUMNS: usize = 8;
/// The burst cell shows a sparkle burst over the happy face at this share of its life.
const BURST_CELL_AGE: f32 = 0.35;
/// Its label.
pub const BURST_LABEL: &str = "happy + burst";
/// Room under each emoji for its label, as a share of the cell side (at least 24 px).
const LABEL_ROOM_OVER_CELL: f32 = 0.16;
const MIN_LABEL_ROOM_PX: f32 = 24.0;
/// Label font size against the cell side (room for ~19 characters).
const LABEL_FONT_OVER_CELL: f32 = 0.08;
/// Frames rendered before the screenshot (the shader pipelines compile asynchronously;
/// a software renderer needs a few frames).
const SETTLE_FRAMES: u32 = 20;
/// The blends shown: each pair mixed 50/50.
const BLENDS: [(&str, &str); 3] = [("happy", "surprise"), ("sad", "fear"), ("angry", "disgust")];
/// The head poses shown: (look, label, yaw, pitch in radians).
const POSES: [(&str, &str, f32, f32); 2] =
    [("happy", "happy turned right", 0.5, 0.0), ("surprise", "surprise looking up", 0.0, 0.35)];
const BACKGROUND: Color = Color::srgb(0.93, 0.94, 0.96);
const LABEL_COLOR: Color = Color::srgb(0.15, 0.15, 0.18);

/// What can stop the sheet.
#[derive(Debug, Error)]
pub enum SheetError {
    #[error("--size {0}: want {MIN_CELL_PX}..={MAX_CELL_PX} pixels")]
    Size(u32),
    #[error("{path}: cannot write the sheet's sidecar")]
    Sidecar {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no display (DISPLAY and WAYLAND_DISPLAY are unset): the sheet is rendered in a window; run it under a desktop or a virtual display"
    )]
    NoDisplay,
    #[error("the sheet window stopped with error code {0}")]
    Exit(u8),
    #[error("{0}: no sheet was written (did the window open?)")]
    NotWritten(PathBuf),
}

/// How the sheet is made.
#[derive(Debug, Clone)]
pub struct SheetOptions {
    /// The PNG to write; the sidecar goes beside it with the extension `.json`.
    pub out: PathBuf,
    /// Side of a cell's emoji quad, logical pixels.
    pub cell_px: u32,
    /// The classifier's class labels, in its order.
    pub labels: Vec<String>,
}

/// One cell of the sheet: what it shows and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetCell {
    pub label: String,
    pub look: Look,
    /// Head yaw and pitch, radians (see [`super::pose`]).
    pub yaw_pitch: Vec2,
    /// A sparkle burst over the face, at this share of its life.
    pub burst_age: Option<f32>,
}

/// The cells: every class, then the blends and poses whose classes are among `labels`,
/// then a sparkle burst over a happy face.
pub fn sheet_cells(labels: &[String]) -> Vec<SheetCell> {
    let has = |name: &str| labels.iter().any(|l| l.eq_ignore_ascii_case(name));
    let mut cells: Vec<SheetCell> = labels
        .iter()
        .map(|l| SheetCell { label: l.clone(), look: look_of(l), yaw_pitch: Vec2::ZERO, burst_age: None })
        .collect();
    for (a, b) in BLENDS.into_iter().filter(|(a, b)| has(a) && has(b)) {
        let look = mix_looks(look_of(a), look_of(b), 0.5);
        cells.push(SheetCell { label: format!("{a}+{b}"), look, yaw_pitch: Vec2::ZERO, burst_age: None });
    }
    for (class, label, yaw, pitch) in POSES.into_iter().filter(|p| has(p.0)) {
        let yaw_pitch = Vec2::new(yaw, pitch);
        cells.push(SheetCell { label: label.into(), look: look_of(class), yaw_pitch, burst_age: None });
    }
    let burst_age = Some(BURST_CELL_AGE);
    cells.push(SheetCell { label: BURST_LABEL.into(), look: look_of("happy"), yaw_pitch: Vec2::ZERO, burst_age });
    cells
}

/// Where the cells go, in window pixels (y down).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SheetLayout {
    pub window_width: u32,
    pub window_height: u32,
    pub cells: Vec<CellRect>,
}

/// One cell's place: the whole cell (emoji and label) and the emoji's face disk's box,
/// `[x0, y0, x1, y1]` in window pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellRect {
    pub label: String,
    pub rect: [f32; 4],
    pub emoji: [f32; 4],
}

/// The grid for the cells, of side `cell_px`: as many columns as classes (within
/// [`MIN_COLUMNS`]..=[`MAX_COLUMNS`]), each cell with room for its label under the emoji.
pub fn sheet_layout(cells: &[SheetCell], classes: usize, cell_px: u32) -> SheetLayout {
    let side = cell_px as f32;
    let label_room = label_room_px(side);
    let cell_h = side + label_room;
    let columns = classes.clamp(MIN_COLUMNS, MAX_COLUMNS).min(cells.len().max(1));
    let rows = cells.len().div_ceil(columns).max(1);
    let disk = side / QUAD_OVER_DISK;
    let rects = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| {
            let (x0, y0) = ((i % columns) as f32 * side, (i / columns) as f32 * cell_h);
            let (cx, cy) = (x0 + side / 2.0, y0 + side / 2.0);
            CellRect {
                label: cell.label.clone(),
                rect: [x0, y0, x0 + side, y0 + cell_h],
                emoji: [cx - disk / 2.0, cy - disk / 2.0, cx + disk / 2.0, cy + disk / 2.0],
            }
        })
        .collect();
    SheetLayout {
        window_width: columns as u32 * cell_px,
        window_height: (rows as f32 * cell_h).ceil() as u32,
        cells: rects,
    }
}

fn label_room_px(side: f32) -> f32 {
    (side * LABEL_ROOM_OVER_CELL).round().max(MIN_LABEL_ROOM_PX)
}

/// The sidecar's path: the PNG's with the extension `.json`.
pub fn sidecar_path(out: &Path) -> PathBuf {
    out.with_extension("json")
}

/// Opens the window, renders the sheet, writes the PNG and its sidecar, and returns.
pub fn run(options: SheetOptions) -> Result<(), SheetError> {
    if !(MIN_CELL_PX..=MAX_CELL_PX).contains(&options.cell_px) {
        return Err(SheetError::Size(options.cell_px));
    }
    if cfg!(target_os = "linux")
        && std::env::var_os("DISPLAY").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        return Err(SheetError::NoDisplay);
    }
    let cells = sheet_cells(&options.labels);
    let layout = sheet_layout(&cells, options.labels.len(), options.cell_px);
    let json = sidecar_path(&options.out);
    let text = serde_json::to_string_pretty(&layout)
        .map_err(|e| SheetError::Sidecar { path: json.clone(), source: std::io::Error::other(e) })?;
    std::fs::write(&json, text).map_err(|source| SheetError::Sidecar { path: json.clone(), source })?;
    // A sheet from an earlier run must not pass for this one's.
    let _ = std::fs::remove_file(&options.out);

    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "emoji-mirror emoji sheet".into(),
                    resolution: bevy::window::WindowResolution::new(layout.window_width, layout.window_height)
                        .with_scale_factor_override(1.0),
                    resizable: false,
                    ..default()
                }),
                ..default()
            })
            // The command's own logger is already installed.
            .disable::<bevy::log::LogPlugin>(),
    )
    // Keep rendering without focus (under a virtual display).
    .insert_resource(WinitSettings { focused_mode: UpdateMode::Continuous, unfocused_mode: UpdateMode::Continuous })
    .insert_resource(ClearColor(BACKGROUND))
    .insert_resource(Sheet { cells, layout, cell_px: options.cell_px as f32, out: options.out.clone() })
    .add_systems(Startup, spawn_sheet)
    .add_systems(Update, take_sheet_screenshot);
    material_plugin(&mut app);
    match app.run() {
        AppExit::Success if options.out.is_file() => Ok(()),
        AppExit::Success => Err(SheetError::NotWritten(options.out)),
        AppExit::Error(code) => Err(SheetError::Exit(code.get())),
    }
}

#[derive(Resource)]
struct Sheet {
    cells: Vec<SheetCell>,
    layout: SheetLayout,
    cell_px: f32,
    out: PathBuf,
}

fn spawn_sheet(
    mut commands: Commands,
    sheet: Res<Sheet>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<EmojiMaterial>>,
    mut sparkles: ResMut<Assets<SparkleMaterial>>,
) {
    commands.spawn(Camera2d);
    let quad = meshes.add(Rectangle::new(1.0, 1.0));
    let half = Vec2::new(sheet.layout.window_width as f32, sheet.layout.window_height as f32) / 2.0;
    let world_of = |x: f32, y: f32| Vec2::new(x - half.x, half.y - y);
    let label_room = label_room_px(sheet.cell_px);
    for (cell, rect) in sheet.cells.iter().zip(&sheet.layout.cells) {
        let [x0, y0, x1, _] = rect.rect;
        let centre = world_of((x0 + x1) / 2.0, y0 + sheet.cell_px / 2.0);
        let material = materials.add(EmojiMaterial { params: params_of(cell.look, cell.yaw_pitch, 0.0) });
        commands.spawn((
            Name::new(format!("Sheet emoji {}", cell.label)),
            Mesh2d(quad.clone()),
            MeshMaterial2d(material),
            Transform::from_translation(centre.extend(0.0)).with_scale(Vec3::new(sheet.cell_px, sheet.cell_px, 1.0)),
        ));
        if let Some(age) = cell.burst_age {
            let state = Vec4::new(age, 0.0, 0.0, 0.0);
            commands.spawn((
                Name::new("Sheet burst"),
                Mesh2d(quad.clone()),
                MeshMaterial2d(sparkles.add(SparkleMaterial { params: SparkleParams { state } })),
                Transform::from_translation(centre.extend(0.5)).with_scale(Vec3::new(
                    sheet.cell_px,
                    sheet.cell_px,
                    1.0,
                )),
            ));
        }
        let label_centre = world_of((x0 + x1) / 2.0, y0 + sheet.cell_px + label_room / 2.0);
        commands.spawn((
            Name::new(format!("Sheet label {}", cell.label)),
            Text2d::new(crate::report::display_label(&cell.label)),
            TextFont { font_size: FontSize::Px(sheet.cell_px * LABEL_FONT_OVER_CELL), ..default() },
            TextColor(LABEL_COLOR),
            Transform::from_translation(label_centre.extend(1.0)),
        ));
    }
}

fn take_sheet_screenshot(mut commands: Commands, sheet: Res<Sheet>, mut frames: Local<u32>) {
    *frames += 1;
    if *frames != SETTLE_FRAMES {
        return;
    }
    commands.spawn(Screenshot::primary_window()).observe(save_to_disk(sheet.out.clone())).observe(
        |_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
            exit.write(AppExit::Success);
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fer() -> Vec<String> {
        FER_LABELS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_sheet_has_every_class_three_blends_two_poses_and_a_burst() {
        let cells = sheet_cells(&fer());
        let names: Vec<&str> = cells.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(&names[..7], &FER_LABELS);
        assert_eq!(
            &names[7..],
            &["happy+surprise", "sad+fear", "angry+disgust", "happy turned right", "surprise looking up", BURST_LABEL]
        );
        let blend = &cells[7];
        let (h, s) = (look_of("happy"), look_of("surprise"));
        assert!((blend.look.mouth_round - (h.mouth_round + s.mouth_round) / 2.0).abs() < 1e-6);
        assert!(cells[10].yaw_pitch.x > 0.0 && cells[11].yaw_pitch.y > 0.0);
        assert_eq!(cells.len(), 13);
        assert!(cells[..12].iter().all(|c| c.burst_age.is_none()) && cells[12].burst_age.is_some());
        // A classifier without fear has no sad+fear blend.
        let no_fear: Vec<String> = fer().into_iter().filter(|l| l != "fear").collect();
        assert!(!sheet_cells(&no_fear).iter().any(|c| c.label == "sad+fear"));
    }

    #[test]
    fn cells_tile_the_window_without_overlap() {
        let cells = sheet_cells(&fer());
        let layout = sheet_layout(&cells, 7, 100);
        assert_eq!(layout.cells.len(), 13);
        assert_eq!((layout.window_width, layout.window_height), (700, 2 * 124), "the classes on the first row");
        assert!(layout.cells[..7].iter().all(|c| c.rect[1] == 0.0) && layout.cells[7].rect[1] > 0.0);
        for (i, a) in layout.cells.iter().enumerate() {
            let [x0, y0, x1, y1] = a.rect;
            assert!(x0 >= 0.0 && y0 >= 0.0 && x1 <= 700.0 && y1 <= 248.0, "{a:?}");
            let [ex0, ey0, ex1, ey1] = a.emoji;
            assert!(ex0 > x0 && ey0 > y0 && ex1 < x1 && ey1 < y1, "the emoji lies inside its cell: {a:?}");
            assert!(((ex1 - ex0) - 100.0 / QUAD_OVER_DISK).abs() < 1e-3);
            for b in &layout.cells[i + 1..] {
                let apart = a.rect[2] <= b.rect[0]
                    || b.rect[2] <= a.rect[0]
                    || a.rect[3] <= b.rect[1]
                    || b.rect[3] <= a.rect[1];
                assert!(apart, "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn a_size_out_of_range_is_refused_before_any_window() {
        let options = SheetOptions { out: PathBuf::from("sheet.png"), cell_px: 5000, labels: fer() };
        let err = run(options).expect_err("too large");
        assert!(err.to_string().contains("--size 5000"), "{err}");
    }
}
