//! Screenshots, scripted key presses and the benchmark mode.
//!
//! `--screenshot PATH --exit-after-frames N` saves the window after N frames with
//! video and exits (kiosk checks, tests); a JSON file beside the PNG says what was
//! on screen (frame index, video rect, faces, help panel, the screen, its buttons and
//! items). `--bench-frames N` prints render fps, analysis fps (the frames the engine
//! analysed, over the run), camera-to-screen latency percentiles to the presented frame, peak RSS
//! and the render and analysis milliseconds per frame, then exits.
//!
//! Scripted input: `--press KEYS` presses keys one after the other (`<enter>`, `<esc>`
//! and `<backspace>` name those keys; `<ctrl-alt-o>` presses a chord); `--tap NAME,...` taps on-screen buttons by name
//! with real touch events (started and ended at the button's centre), each once it is
//! drawn; an entry `@ITEM` taps nothing and waits until that item is drawn (a screenshot
//! of the challenge once its target is shown). The screenshot waits until the script is
//! done (and at least `--exit-after-frames` frames), and with `--autoplay` until
//! the results screen has been shown for [`AUTOPLAY_RESULTS_FRAMES`] frames (without a
//! screenshot, autoplay then quits).
//!
//! `--stats-every SECS` prints one line every SECS seconds to stdout for long runs (the
//! soak script reads it): seconds since start, resident memory, frame time p50/p95 over
//! the interval, analysis fps, live entities, render fps and the camera-to-screen latency
//! p50/p95 of the presented frames over the last few seconds (see [`super::present`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use bevy::ecs::entity::Entities;
use bevy::input::touch::{TouchInput, TouchPhase};
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};
use bevy::window::{CursorOptions, PrimaryWindow, WindowMode};
use serde::Serialize;

use super::faces::FaceTrack;
use super::kiosk::{Kiosk, OperatorLock, operator_warnings};
use super::layout::PaneRects;
use super::screens::challenge::ActiveRound;
use super::screens::results::{ResultsState, Scores, TYPING_KEYS, char_of};
use super::screens::{OnScreen, Screen, ScreenHistory};
use super::ui::UiRects;
use super::video::{LatestAnalysis, SourceStatus, Stats};
use super::{AppOptions, AppSystems, LayoutMode, ViewSettings};
use crate::game::Phase;

/// Frames after the first video frame at which the first scripted key is pressed.
const PRESS_AT_FRAME: u32 = 3;
/// Frames from one scripted key to the next (pressed one frame, released the next).
const PRESS_EVERY_FRAMES: u32 = 2;
/// Frames after the first video frame before the first scripted tap.
const TAP_AT_FRAME: u32 = 3;
/// Frames from one tap to the next (lets the screen change).
const TAP_EVERY_FRAMES: u32 = 4;
/// Frames a tap waits for its button to be drawn before it is given up (with a warning).
const TAP_WAIT_FRAMES: u32 = 600;
/// Frames a button must have been drawn in a row before a scripted tap aims at it (egui
/// lays out a new area invisibly in its first frame; a person cannot tap that fast either).
const TAP_VISIBLE_FRAMES: u32 = 3;
/// Frames after the last tap before the screenshot (the tap's effect is drawn).
const TAP_SETTLE_FRAMES: u32 = 4;
/// Frames the results screen is shown before autoplay takes its screenshot or quits.
pub const AUTOPLAY_RESULTS_FRAMES: u32 = 10;
/// Frame times kept per `--stats-every` interval (more are left out of its percentiles;
/// 4096 frames is over a minute at 60 fps).
const STATS_MAX_FRAMES: usize = 4096;
/// The touch id of scripted taps (any finger id a real screen would not reuse at once).
const SCRIPTED_FINGER: u64 = 4242;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<FrameCount>()
        .init_resource::<TapScript>()
        .init_resource::<FrameTimes>()
        .add_systems(Update, (count_frames, print_stats).in_set(AppSystems::Input))
        // After Bevy's input update (which clears "just pressed"), before our hotkeys read it.
        .add_systems(PreUpdate, press_scripted_keys.after(bevy::input::InputSystems))
        // After the UI registered this frame's buttons; egui reads the touches next frame.
        .add_systems(Last, (tap_scripted_buttons, take_screenshot, finish_benchmark).chain());
}

#[derive(Resource, Debug, Clone, Default)]
pub struct CaptureOptions {
    pub screenshot: Option<PathBuf>,
    pub exit_after_frames: Option<u32>,
    pub bench_frames: Option<u32>,
    /// The scripted keys, in order (a chord's keys together).
    pub press: Vec<Vec<KeyCode>>,
    /// The buttons to tap, in order.
    pub taps: Vec<String>,
    pub autoplay: bool,
    /// Print a stats line every this many seconds (`--stats-every`).
    pub stats_every_s: Option<f32>,
}

impl CaptureOptions {
    pub fn from_options(o: &AppOptions) -> Self {
        Self {
            screenshot: o.screenshot.clone(),
            exit_after_frames: o.exit_after_frames,
            bench_frames: o.bench_frames,
            press: keys_of(&o.press),
            taps: o.taps.clone(),
            autoplay: o.challenge.autoplay,
            stats_every_s: o.stats_every_s,
        }
    }
}

/// The keys of a `--press` script: characters, `<enter>`, `<esc>`, `<backspace>`, and
/// chords such as `<ctrl-alt-o>` or `<ctrl-q>` (modifiers ctrl, alt, shift, then a key),
/// each step the keys pressed together. Characters without a key are left out (with a warning).
pub fn keys_of(script: &str) -> Vec<Vec<KeyCode>> {
    let mut keys = Vec::new();
    let mut rest = script;
    while let Some(c) = rest.chars().next() {
        let chord = rest
            .strip_prefix('<')
            .and_then(|r| r.split_once('>'))
            .and_then(|(inner, _)| chord_of(inner).map(|keys| (inner.len() + 2, keys)));
        if let Some((len, chord)) = chord {
            keys.push(chord);
            rest = &rest[len..];
            continue;
        }
        match key_of(c) {
            Some(k) => keys.push(vec![k]),
            None => warn!("--press: no key for {c:?}"),
        }
        rest = &rest[c.len_utf8()..];
    }
    keys
}

/// The keys of a named key or chord between `<` and `>`: "esc", "ctrl-alt-o".
fn chord_of(inner: &str) -> Option<Vec<KeyCode>> {
    const NAMED: [(&str, KeyCode); 3] =
        [("enter", KeyCode::Enter), ("esc", KeyCode::Escape), ("backspace", KeyCode::Backspace)];
    const MODIFIERS: [(&str, KeyCode); 3] =
        [("ctrl", KeyCode::ControlLeft), ("alt", KeyCode::AltLeft), ("shift", KeyCode::ShiftLeft)];
    let mut parts: Vec<&str> = inner.split('-').collect();
    let last = parts.pop()?;
    let mut keys = parts
        .iter()
        .map(|m| MODIFIERS.iter().find(|(name, _)| name == m).map(|(_, k)| *k))
        .collect::<Option<Vec<_>>>()?;
    let mut chars = last.chars();
    let key = match (chars.next(), chars.next()) {
        (Some(c), None) if !keys.is_empty() => key_of(c),
        _ => NAMED.iter().find(|(name, _)| *name == last).map(|(_, k)| *k),
    }?;
    keys.push(key);
    Some(keys)
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

/// The key of one script character: letters, digits, space, + = -.
fn key_of(c: char) -> Option<KeyCode> {
    const KEYS: [(char, KeyCode); 4] =
        [(' ', KeyCode::Space), ('+', KeyCode::Equal), ('=', KeyCode::Equal), ('-', KeyCode::Minus)];
    if let Some((_, k)) = KEYS.iter().find(|(ch, _)| *ch == c) {
        return Some(*k);
    }
    // Letters and digits: the key that types them.
    let upper = c.to_ascii_uppercase();
    TYPING_KEYS.into_iter().find(|k| char_of(*k) == Some(upper))
}

/// Presses the scripted keys one after the other: each for one frame.
fn press_scripted_keys(opts: Res<CaptureOptions>, count: Res<FrameCount>, mut keys: ResMut<ButtonInput<KeyCode>>) {
    let Some(since) = count.with_video.checked_sub(PRESS_AT_FRAME) else { return };
    let (step, phase) = (since / PRESS_EVERY_FRAMES, since % PRESS_EVERY_FRAMES);
    let Some(chord) = opts.press.get(step as usize) else { return };
    for key in chord {
        if phase == 0 {
            keys.press(*key);
        } else if phase == 1 {
            keys.release(*key);
        }
    }
}

/// Where the tap script is.
#[derive(Resource, Debug, Default)]
pub struct TapScript {
    /// Index of the next tap.
    next: usize,
    /// The frame the next tap may start.
    not_before: u32,
    /// Frames the next tap has waited for its button, and frames in a row it has been drawn.
    waited: u32,
    visible: u32,
    /// The frame the last tap ended (None: not yet).
    finished_at: Option<u32>,
}

/// A `--tap` entry: the button's name and the item that must be shown too
/// (`skip@target-emoji`: tap "skip" once a target is shown, not during the countdown).
/// Without a name (`@target-emoji`) the entry only waits for the item.
pub fn tap_target(entry: &str) -> (&str, Option<&str>) {
    match entry.split_once('@') {
        Some((name, item)) => (name, Some(item)),
        None => (entry, None),
    }
}

/// Taps the scripted buttons with touch events, one after the other. The finger goes down
/// and up within one frame: egui counts a press longer than its click time (0.8 s) as a
/// long press, and a software-rendered window may take that long for one frame.
fn tap_scripted_buttons(
    opts: Res<CaptureOptions>,
    count: Res<FrameCount>,
    on_screen: Res<OnScreen>,
    mut script: ResMut<TapScript>,
    mut touches: MessageWriter<TouchInput>,
    windows: Query<Entity, With<PrimaryWindow>>,
) {
    let frame = count.with_video;
    if script.finished_at.is_some() || frame < TAP_AT_FRAME || opts.taps.is_empty() {
        if opts.taps.is_empty() && script.finished_at.is_none() {
            script.finished_at = Some(0);
        }
        return;
    }
    let Ok(window) = windows.single() else { return };
    let touch = |phase, position| TouchInput { phase, position, window, force: None, id: SCRIPTED_FINGER };
    if frame >= script.not_before {
        let (name, when) = tap_target(&opts.taps[script.next]);
        let item_shown = when.is_none_or(|item| on_screen.item_rect(item).is_some());
        // No name: the entry only waits for its item (the item's rect stands in).
        let rect =
            if name.is_empty() { when.and_then(|item| on_screen.item_rect(item)) } else { on_screen.button_rect(name) }
                .filter(|_| item_shown);
        script.visible = if rect.is_some() { script.visible + 1 } else { 0 };
        match rect.filter(|_| script.visible >= TAP_VISIBLE_FRAMES) {
            Some(_) if name.is_empty() => {
                info!("--tap: {:?} shown (frame {frame})", when.unwrap_or_default());
                script.next += 1;
                script.not_before = frame;
                script.waited = 0;
                script.visible = 0;
            }
            Some([x0, y0, x1, y1]) => {
                let at = Vec2::new((x0 + x1) / 2.0, (y0 + y1) / 2.0);
                info!("--tap {name:?} at {at} (frame {frame})");
                touches.write(touch(TouchPhase::Started, at));
                touches.write(touch(TouchPhase::Ended, at));
                script.next += 1;
                script.not_before = frame + TAP_EVERY_FRAMES;
                script.waited = 0;
                script.visible = 0;
            }
            None => {
                script.waited += 1;
                if script.waited > TAP_WAIT_FRAMES {
                    warn!("--tap: no button {name:?} on screen after {TAP_WAIT_FRAMES} frames; skipped");
                    script.waited = 0;
                    script.next += 1;
                }
            }
        }
    }
    if script.next >= opts.taps.len() {
        script.finished_at = Some(frame);
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
    /// The screen shown ("attract", "mirror", "challenge", "results") and those shown since
    /// start-up, in order.
    screen: &'static str,
    screens_visited: Vec<&'static str>,
    /// The touch buttons and other registered items by name (window pixels).
    buttons: BTreeMap<String, [f32; 4]>,
    items: BTreeMap<String, [f32; 4]>,
    /// The attract screen's notice, when shown.
    notice: Option<[f32; 4]>,
    /// The window: "windowed", "borderless-fullscreen" or "fullscreen"; its decorations and cursor.
    window_mode: &'static str,
    decorations: bool,
    cursor_visible: bool,
    /// The kiosk's PIN pad or operator panel, when shown, and the lock ("locked",
    /// "pin", "unlocked"; None without `--kiosk`).
    operator_panel: Option<[f32; 4]>,
    operator_lock: Option<&'static str>,
    /// The challenge's round while one is on.
    round: Option<RoundShot>,
    /// What the operator panel lists for the operator (problems visitors do not see).
    operator_warnings: Vec<String>,
}

/// The round on screen: its phase ("countdown", "playing", "still-there", "over"), whether
/// it is paused (the camera is gone) and the seconds in its bank.
#[derive(Serialize)]
struct RoundShot {
    phase: &'static str,
    paused: bool,
    bank_left_s: f32,
    target_number: usize,
    players: usize,
}

impl RoundShot {
    fn of(active: &ActiveRound) -> Self {
        let round = &active.round;
        Self {
            phase: match round.phase() {
                Phase::Countdown { .. } => "countdown",
                Phase::Playing => "playing",
                Phase::StillThere { .. } => "still-there",
                Phase::Over => "over",
            },
            paused: round.is_paused(),
            bank_left_s: round.bank_left_s(),
            target_number: round.target_number(),
            players: round.scores().len(),
        }
    }
}

/// The game's side of the screenshot: the screen, its buttons, and the scripts' progress.
#[derive(bevy::ecs::system::SystemParam)]
struct GameView<'w> {
    screen: Res<'w, State<Screen>>,
    history: Res<'w, ScreenHistory>,
    on_screen: Res<'w, OnScreen>,
    taps: Res<'w, TapScript>,
    results: Option<Res<'w, ResultsState>>,
    active: Option<Res<'w, ActiveRound>>,
    scores: Option<Res<'w, Scores>>,
}

impl GameView<'_> {
    /// Whether the screenshot (or the scripted exit) is due at `frame`.
    fn ready(&self, opts: &CaptureOptions, frame: u32) -> bool {
        let taps_done = self.taps.finished_at.is_some_and(|f| frame >= f + TAP_SETTLE_FRAMES);
        let frames_done = opts.exit_after_frames.is_some_and(|n| frame >= n);
        if opts.autoplay {
            let results_shown = *self.screen.get() == Screen::Results
                && self.results.as_ref().is_some_and(|r| r.frames_shown >= AUTOPLAY_RESULTS_FRAMES);
            results_shown && taps_done && (opts.exit_after_frames.is_none() || frames_done)
        } else {
            frames_done && taps_done
        }
    }
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
    windows: Query<(&Window, &CursorOptions), With<PrimaryWindow>>,
    game: GameView,
    kiosk: Option<Res<Kiosk>>,
) {
    if count.shot_taken || !game.ready(&opts, count.with_video) {
        return;
    }
    count.shot_taken = true;
    let Some(path) = opts.screenshot.clone() else {
        commands.write_message(AppExit::Success);
        return;
    };
    let Ok((window, cursor)) = windows.single() else { return };
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
        screen: game.screen.get().name(),
        screens_visited: game.history.0.iter().map(|s| s.name()).collect(),
        buttons: game.on_screen.buttons.iter().map(|(n, r)| (n.clone(), *r)).collect(),
        items: game.on_screen.items.iter().map(|(n, r)| (n.clone(), *r)).collect(),
        notice: game.on_screen.item_rect("notice"),
        window_mode: match window.mode {
            WindowMode::Windowed => "windowed",
            WindowMode::BorderlessFullscreen(_) => "borderless-fullscreen",
            WindowMode::Fullscreen(..) => "fullscreen",
        },
        decorations: window.decorations,
        cursor_visible: cursor.visible,
        operator_panel: rects.operator.map(|r| [r.min.x, r.min.y, r.max.x, r.max.y]),
        operator_lock: kiosk.map(|k| match k.lock {
            OperatorLock::Locked => "locked",
            OperatorLock::EnteringPin(_) => "pin",
            OperatorLock::Unlocked => "unlocked",
        }),
        round: game.active.as_deref().map(RoundShot::of),
        operator_warnings: operator_warnings(&status, game.scores.as_deref()),
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

/// Frame times of the current `--stats-every` interval (allocated once).
#[derive(Resource, Debug)]
pub struct FrameTimes {
    ms: Vec<f32>,
    since_print_s: f32,
    started: Instant,
}

impl Default for FrameTimes {
    fn default() -> Self {
        Self { ms: Vec::with_capacity(STATS_MAX_FRAMES), since_print_s: 0.0, started: Instant::now() }
    }
}

impl FrameTimes {
    /// Adds one frame of `dt_s` seconds; returns the (p50, p95) frame time in ms of the
    /// interval when `every_s` seconds have passed since the last, and starts a new one.
    pub fn add(&mut self, dt_s: f32, every_s: f32) -> Option<(f32, f32)> {
        if self.ms.len() < STATS_MAX_FRAMES {
            self.ms.push(dt_s * 1000.0);
        }
        self.since_print_s += dt_s;
        if self.since_print_s < every_s {
            return None;
        }
        self.since_print_s = 0.0;
        let p50 = percentile(&mut self.ms, 50.0);
        let p95 = percentile(&mut self.ms, 95.0);
        self.ms.clear();
        Some((p50, p95))
    }
}

fn print_stats(
    opts: Res<CaptureOptions>,
    time: Res<Time<Real>>,
    stats: Res<Stats>,
    entities: &Entities,
    mut frames: ResMut<FrameTimes>,
) {
    let Some(every_s) = opts.stats_every_s else { return };
    let Some((p50, p95)) = frames.add(time.delta_secs(), every_s) else { return };
    let rss_mib = crate::memory::rss_bytes().map_or(-1.0, |b| b as f64 / (1024.0 * 1024.0));
    println!(
        "stats elapsed_s={:.1} rss_mib={rss_mib:.1} frame_ms_p50={p50:.1} frame_ms_p95={p95:.1} analysis_fps={:.1} entities={} render_fps={:.1} latency_ms_p50={:.0} latency_ms_p95={:.0}",
        frames.started.elapsed().as_secs_f32(),
        stats.analysis_fps,
        entities.len(),
        stats.render_fps,
        stats.latency_p50_ms,
        stats.latency_p95_ms,
    );
}

fn finish_benchmark(
    opts: Res<CaptureOptions>,
    count: Res<FrameCount>,
    stats: Res<Stats>,
    worker: Res<super::analysis::AnalysisWorker>,
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
    // Analysis: the frames the engine analysed over the run (the first one started the
    // clock), whether or not the window drew each of them.
    let analysed = worker.engine.as_ref().map_or(0, |e| e.summary().frames);
    let analysis_fps = analysed.saturating_sub(1) as f32 / secs;
    let rss = crate::memory::peak_rss_bytes().map_or(String::from("?"), |b| format!("{} MiB", b / (1024 * 1024)));
    // The latencies run to the presented frame (see `present`).
    println!(
        "render {:.1} fps over {n} frames; analysis {:.1} fps; camera-to-screen latency p50 {:.0} ms, p95 {:.0} ms; peak RSS {rss}; render {:.1} ms per frame, analysis {:.1} ms per frame",
        n as f32 / secs,
        analysis_fps,
        percentile(&mut lat, 50.0),
        percentile(&mut lat, 95.0),
        stats.render_ms,
        stats.inference_ms,
    );
    exit.write(AppExit::Success);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_give_percentiles_once_per_interval_and_start_afresh() {
        let mut f = FrameTimes::default();
        assert_eq!(f.add(0.010, 0.05), None);
        assert_eq!(f.add(0.010, 0.05), None);
        assert_eq!(f.add(0.010, 0.05), None);
        assert_eq!(f.add(0.010, 0.05), None);
        let (p50, p95) = f.add(0.030, 0.05).expect("50 ms have passed");
        assert!((p50 - 10.0).abs() < 1e-3 && (p95 - 30.0).abs() < 1e-3, "{p50} {p95}");
        let (p50, _) = f.add(0.100, 0.05).expect("a slow frame ends the next interval");
        assert!((p50 - 100.0).abs() < 1e-3, "the new interval holds only its own frame: {p50}");
        let cap = f.ms.capacity();
        for _ in 0..STATS_MAX_FRAMES * 2 {
            f.add(0.0001, 1000.0);
        }
        assert_eq!(f.ms.capacity(), cap, "no growth past the preallocated frames");
    }

    #[test]
    fn percentiles() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(percentile(&mut v, 50.0), 3.0);
        assert_eq!(percentile(&mut v, 100.0), 5.0);
        assert_eq!(percentile(&mut [], 95.0), 0.0);
    }

    #[test]
    fn press_scripts_name_keys_and_type_characters() {
        let single = |keys: Vec<Vec<KeyCode>>| keys.into_iter().flatten().collect::<Vec<_>>();
        assert_eq!(
            single(keys_of("hG<enter>a1 +-<esc><backspace>")),
            vec![
                KeyCode::KeyH,
                KeyCode::KeyG,
                KeyCode::Enter,
                KeyCode::KeyA,
                KeyCode::Digit1,
                KeyCode::Space,
                KeyCode::Equal,
                KeyCode::Minus,
                KeyCode::Escape,
                KeyCode::Backspace,
            ]
        );
        assert_eq!(keys_of("h€"), vec![vec![KeyCode::KeyH]], "characters without a key are left out");
        assert_eq!(
            keys_of("<esc><ctrl-alt-o><ctrl-q>"),
            vec![
                vec![KeyCode::Escape],
                vec![KeyCode::ControlLeft, KeyCode::AltLeft, KeyCode::KeyO],
                vec![KeyCode::ControlLeft, KeyCode::KeyQ],
            ]
        );
        assert_eq!(single(keys_of("<x>")), single(keys_of("x")), "no chord: < and > are characters");
    }

    #[test]
    fn a_tap_may_wait_for_an_item() {
        assert_eq!(tap_target("skip@target-emoji"), ("skip", Some("target-emoji")));
        assert_eq!(tap_target("done"), ("done", None));
        assert_eq!(tap_target("@target-emoji"), ("", Some("target-emoji")), "waits, taps nothing");
    }
}
