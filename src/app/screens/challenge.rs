//! The challenge screen: a Bevy front end to one [`Round`] of the emotion-mimic game
//! (the rules live in [`crate::game`]). A 3-2-1 countdown, then each target as a big
//! emoji with its name and a plain-language hint, a meter beside every player's face, the
//! scores, the time bank, "Still there?", skip/stop/difficulty buttons; at the end the
//! result goes to [`LastRound`] (and `--results-json`) and the results screen follows.
//!
//! # Which clock drives the round
//! The round runs on the **analysed frames' own clock** ([`LatestAnalysis::time_s`]: the
//! video's timestamps for a file, the capture time for a camera), advanced by the step
//! between two analysed frames, not on the window's frame clock. So a scripted game on a
//! video file scores the same moments of the clip however fast the machine renders (with
//! `--every-frame`, every frame of the clip is analysed once, unpaced), and the reached
//! times can be checked against the clip's labelled segments. It is also the clock the
//! engine paces a live source against. (The app takes the newest analysed frame each
//! window frame, so on a slow display the round samples the tracker's windows every second
//! or third frame: a reach can be seen a frame or two late, never earlier; `--autoplay` on
//! a video file implies `--every-frame`.) Two exceptions keep the round honest:
//! - a step backwards (a looping video starting over) or a jump (a camera reconnecting)
//!   counts as at most [`MAX_FRAME_STEP_S`];
//! - when no analysed frame has arrived for [`SOURCE_STALL_S`] of real time (a video that
//!   ended), the round runs on real time with nobody in view, so "Still there?" and the
//!   time bank still end it. While the view is paused it holds still.
//!
//! # A camera that goes away
//! When the camera is unplugged, stalls or cannot be found ([`SourceStatus::camera_down`],
//! or a camera source silent for [`SOURCE_STALL_S`]), the round pauses ([`Round::pause`]):
//! the bank, the target's clock, the meters and "Still there?" stand still and nobody
//! counts as gone; the notice shows "the game is paused" in large type. The first analysed
//! frame after the camera is back resumes it where it stopped. Each pause is listed in
//! `--results-json` (the bank before and after it, its real length).

use std::path::{Path, PathBuf};

use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use serde::Serialize;
use thiserror::Error;

use super::{ChallengeOptions, GameAction, GameCommand, LastRound, OnScreen, Screen};
use crate::app::analysis::AnalysisWorker;
use crate::app::emoji::{BigEmoji, Burst, DISK_OVER_FACE, look_of};
use crate::app::layout::PaneRects;
use crate::app::theme;
use crate::app::video::{LatestAnalysis, SourceStatus, Stats};
use crate::app::{AppSystems, ViewSettings};
use crate::game::{
    ChallengeRules, Difficulty, EndReason, GameError, GameEvent, Phase, PlayerScore, PlayerView, Round, RoundResult,
    target_order,
};
use crate::report::display_label;

/// The plain-language hint shown under each target (class label, hint). A class without
/// an entry shows no hint.
pub const HINTS: [(&str, &str); 7] = [
    ("surprise", "Raise your eyebrows and open your mouth"),
    ("happy", "Smile wide \u{2014} show your teeth"),
    ("sad", "Turn the corners of your mouth down, lift the inner brows"),
    ("angry", "Frown hard, press your lips together"),
    ("fear", "Open your eyes wide, pull your mouth back"),
    ("disgust", "Wrinkle your nose, raise your upper lip"),
    ("neutral", "Relax your face, look straight ahead"),
];

/// Largest step of the round's clock between two analysed frames (seconds): a video that
/// loops (its time goes back) or a camera that reconnects (its time jumps) moves the round
/// by at most this much.
pub const MAX_FRAME_STEP_S: f64 = 0.5;
/// Real seconds without an analysed frame after which the round runs on real time with
/// nobody in view (the video ended or the camera is gone).
pub const SOURCE_STALL_S: f64 = 2.0;

/// Pauses listed in `--results-json` (more are counted in its `paused_s`, not listed: a
/// camera that comes and goes all day must not grow the round's memory).
pub const MAX_PAUSES_LISTED: usize = 32;

/// Side of the target emoji at 1080p (pixels).
const TARGET_EMOJI_PX: f32 = 220.0;
/// Height of the challenge's buttons at 1080p (pixels; at least [`theme::MIN_TOUCH_PX`]).
const BUTTON_PX: f32 = 96.0;
/// Width of the skip and stop buttons at 1080p (pixels).
const WIDE_BUTTON_PX: f32 = 280.0;
/// Width of the difficulty label between its - and + buttons at 1080p (pixels).
const DIFFICULTY_LABEL_PX: f32 = 240.0;
/// Width of the scores panel (top right) at 1080p (pixels).
const SCORES_PANEL_PX: f32 = 340.0;
/// Height of the time bank bar at 1080p (pixels).
const TIME_BANK_PX: f32 = 36.0;
/// Text heights at 1080p (pixels): the target's name, its hint, the scores, the countdown.
const TARGET_NAME_PX: f32 = 72.0;
const HINT_PX: f32 = 34.0;
const SCORES_PX: f32 = 32.0;
const COUNTDOWN_PX: f32 = 360.0;
/// Largest text drawn (pixels): egui rasterises each glyph into a texture atlas 2048 pixels
/// wide, which a glyph near that size overflows.
const MAX_TEXT_PX: f32 = 640.0;
const STILL_THERE_PX: f32 = 72.0;
/// A player's meter under their face at 1080p (pixels): height, least width, gap to the face.
const METER_PX: f32 = 28.0;
const METER_MIN_WIDTH_PX: f32 = 160.0;
const METER_GAP_PX: f32 = 8.0;
/// The time bank bar's pulse while the warning shows (cycles per second).
const WARNING_PULSE_HZ: f32 = 2.0;
/// The time bank's colours: normal, and the warning in its last seconds.
const BANK_COLOR: egui::Color32 = egui::Color32::from_rgb(60, 170, 240);
const WARNING_COLOR: egui::Color32 = egui::Color32::from_rgb(235, 50, 40);
/// A meter while filling, once reached, and behind its fill.
const METER_COLOR: egui::Color32 = egui::Color32::from_rgb(250, 200, 40);
const REACHED_COLOR: egui::Color32 = egui::Color32::from_rgb(60, 200, 90);
const TRACK_COLOR: egui::Color32 = egui::Color32::from_rgba_premultiplied(0, 0, 0, 170);
/// The target emoji's depth: above the video (0) and the faces' emoji (1).
const TARGET_EMOJI_Z: f32 = 5.0;
/// The burst at a player's face, relative to the face box's width.
const BURST_OVER_FACE: f32 = 1.5;

pub(super) fn plugin(app: &mut App) {
    logic_plugin(app);
    app.add_systems(EguiPrimaryContextPass, challenge_ui.run_if(in_state(Screen::Challenge)));
}

/// Everything but the drawing: the round, its clock, commands, events and the target emoji
/// (the ECS tests use it without a window).
pub fn logic_plugin(app: &mut App) {
    app.add_message::<Burst>()
        .add_message::<GameCommand>()
        .init_resource::<ChallengeSettings>()
        .init_resource::<DemoSequenceReported>()
        .init_resource::<LastRound>()
        .init_resource::<ChallengeOptions>()
        .init_resource::<SourceStatus>()
        .init_resource::<LatestAnalysis>()
        .add_systems(Startup, check_demo_sequence)
        .add_systems(OnEnter(Screen::Challenge), start_round)
        .add_systems(OnExit(Screen::Challenge), end_round)
        .add_systems(
            Update,
            (apply_challenge_commands, advance_round, handle_round_events)
                .chain()
                .after(AppSystems::Track)
                .before(AppSystems::Present)
                .run_if(in_state(Screen::Challenge)),
        )
        .add_systems(Update, place_target_emoji.in_set(AppSystems::Present).run_if(in_state(Screen::Challenge)));
}

/// What can go wrong on the challenge screen.
#[derive(Debug, Error)]
pub enum ChallengeError {
    #[error("cannot start the challenge: {0}")]
    Order(#[from] GameError),
    #[error("{path}: cannot write the results: {source}")]
    ResultsJson {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode the results as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

/// The challenge's rules (the difficulty the +/- buttons set is kept here for the next round).
#[derive(Resource, Debug, Clone, Default)]
pub struct ChallengeSettings(pub ChallengeRules);

/// The round being played (only while the challenge screen is shown).
#[derive(Resource, Debug)]
pub struct ActiveRound {
    pub round: Round,
    pub clock: GameClock,
    /// The source's clock (seconds) when each target was first reached, by target number - 1.
    pub reached_at_source_s: Vec<Option<f64>>,
    /// The source's clock when each target started, by target number - 1.
    pub started_at_source_s: Vec<Option<f64>>,
    /// The number of the target the latest events are about (1-based; 0 in the countdown).
    current_number: usize,
    /// The longest the bank has been this round (the bar's full length), seconds.
    bank_scale_s: f32,
    events: Vec<GameEvent>,
    /// Reused per-frame player views (empty between frames; see [`recycle_views`]).
    views: Vec<PlayerView<'static>>,
    /// The round's pauses (the camera went away), at most [`MAX_PAUSES_LISTED`].
    pub pauses: Vec<PauseRecord>,
    /// Real seconds spent paused (every pause, listed or not).
    pub paused_s: f64,
    /// Real time (seconds since start-up) the current pause began.
    paused_at_real_s: Option<f64>,
}

/// One pause of a round (the camera went away), as `--results-json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PauseRecord {
    /// Seconds left in the bank when it paused.
    pub bank_left_s: f32,
    /// Seconds left in the bank after the first frame once it resumed (None: still paused,
    /// or the round ended during the pause).
    pub bank_left_after_s: Option<f32>,
    /// Real seconds it lasted.
    pub paused_for_s: f64,
}

/// The round's clock: analysed frames' time, or real time while the source has stalled
/// (see the module header).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GameClock {
    now_s: f64,
    last_frame_s: Option<f64>,
    /// Real seconds since the latest analysed frame.
    since_frame_real_s: f64,
}

impl GameClock {
    /// Moves the clock by one app frame: `frame_s` is the analysed frame's time if one
    /// arrived, `real_dt_s` the real time since the previous app frame. Returns the time.
    pub fn tick(&mut self, frame_s: Option<f64>, real_dt_s: f64) -> f64 {
        match frame_s {
            Some(t) => {
                if let Some(last) = self.last_frame_s {
                    self.now_s += (t - last).clamp(0.0, MAX_FRAME_STEP_S);
                }
                self.last_frame_s = Some(t);
                self.since_frame_real_s = 0.0;
            }
            // Before the first frame the round waits for the picture.
            None if self.last_frame_s.is_some() => {
                let was_stalled = self.stalled();
                self.since_frame_real_s += real_dt_s.max(0.0);
                if was_stalled {
                    self.now_s += real_dt_s.max(0.0);
                }
            }
            None => {}
        }
        self.now_s
    }

    /// No analysed frame for [`SOURCE_STALL_S`]: the round runs on real time.
    pub fn stalled(&self) -> bool {
        self.since_frame_real_s >= SOURCE_STALL_S
    }

    pub fn now_s(&self) -> f64 {
        self.now_s
    }
}

/// An empty vector of views with the capacity of `spare`, for another lifetime (the same
/// allocation: an in-place collect of a type with the same layout allocates nothing).
fn recycle_views<'a, 'b>(mut spare: Vec<PlayerView<'a>>) -> Vec<PlayerView<'b>> {
    spare.clear();
    spare.into_iter().map(|_| unreachable!("the vector was cleared")).collect()
}

/// The hint for `label` (case does not matter), if it has one.
pub fn hint_of(label: &str) -> Option<&'static str> {
    HINTS.iter().find(|(class, _)| class.eq_ignore_ascii_case(label.trim())).map(|(_, hint)| *hint)
}

/// The classifier's labels: from the engine at start-up, else as the source reported them.
fn known_labels<'a>(worker: Option<&'a AnalysisWorker>, status: &'a SourceStatus) -> &'a [String] {
    match worker.map(AnalysisWorker::labels) {
        Some(labels) if !labels.is_empty() => labels,
        _ => &status.labels,
    }
}

/// Start-up: a `--demo-sequence` with a label the classifier does not know stops the app
/// with one line naming it (and the labels it knows).
fn check_demo_sequence(
    options: Res<ChallengeOptions>,
    settings: Res<ChallengeSettings>,
    worker: Option<Res<AnalysisWorker>>,
    status: Res<SourceStatus>,
    mut reported: ResMut<DemoSequenceReported>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(demo) = &options.demo_sequence else { return };
    let labels = known_labels(worker.as_deref(), &status);
    if labels.is_empty() {
        // No classifier (a missing model is shown in the window): nothing to check against.
        return;
    }
    if let Err(e) = target_order(&settings.0, labels, Some(demo), 0) {
        report_once(&mut reported, e);
        exit.write(AppExit::error());
    }
}

/// Whether a bad `--demo-sequence` was already reported (the start-up check and a
/// challenge started at start-up both find it; one line is enough).
#[derive(Resource, Debug, Default)]
pub struct DemoSequenceReported(bool);

fn report_once(reported: &mut DemoSequenceReported, e: GameError) {
    if !reported.0 {
        reported.0 = true;
        error!("{}", ChallengeError::from(e));
    }
}

/// A seed for the shuffled target order (not needed with a demo sequence).
fn order_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn start_round(
    mut commands: Commands,
    options: Res<ChallengeOptions>,
    settings: Res<ChallengeSettings>,
    worker: Option<Res<AnalysisWorker>>,
    status: Res<SourceStatus>,
    mut reported: ResMut<DemoSequenceReported>,
    mut next: ResMut<NextState<Screen>>,
) {
    let labels = known_labels(worker.as_deref(), &status).to_vec();
    let mut rules = settings.0.clone();
    if options.autoplay {
        // A scripted game starts with the clip: its first target is in the first frames.
        rules.countdown_s = 0.0;
    }
    let order = match target_order(&rules, &labels, options.demo_sequence.as_deref(), order_seed()) {
        Ok(order) => order,
        Err(e) => {
            report_once(&mut reported, e);
            next.set(Screen::Attract);
            return;
        }
    };
    let bank_scale_s = rules.start_bank_s;
    let round = Round::new(rules, labels, order, 0.0);
    let n = round.targets_total();
    commands.insert_resource(ActiveRound {
        round,
        clock: GameClock::default(),
        reached_at_source_s: vec![None; n],
        started_at_source_s: vec![None; n],
        current_number: 0,
        bank_scale_s,
        events: Vec::new(),
        views: Vec::new(),
        pauses: Vec::new(),
        paused_s: 0.0,
        paused_at_real_s: None,
    });
    commands.spawn((
        Name::new("Target emoji"),
        TargetEmoji,
        BigEmoji { look: look_of("neutral"), size_px: TARGET_EMOJI_PX },
        Transform::from_xyz(0.0, 0.0, TARGET_EMOJI_Z),
        Visibility::Hidden,
        DespawnOnExit(Screen::Challenge),
    ));
}

fn end_round(mut commands: Commands) {
    commands.remove_resource::<ActiveRound>();
}

/// The challenge's target emoji (a [`BigEmoji`]).
#[derive(Component, Debug)]
pub struct TargetEmoji;

/// Skip, harder and easier (the screen changes are the state machine's).
fn apply_challenge_commands(
    mut commands: MessageReader<GameCommand>,
    active: Option<ResMut<ActiveRound>>,
    mut settings: ResMut<ChallengeSettings>,
) {
    let Some(mut active) = active else {
        commands.clear();
        return;
    };
    for GameCommand(action) in commands.read() {
        let now = active.clock.now_s();
        match action {
            GameAction::Skip => active.round.skip(now),
            GameAction::Harder | GameAction::Easier => {
                let d = active.round.difficulty();
                let d = if *action == GameAction::Harder { d.harder() } else { d.easier() };
                active.round.set_difficulty(d);
                settings.0.difficulty = d;
            }
            GameAction::Start | GameAction::Mirror | GameAction::Attract => {}
        }
    }
}

/// Moves the round's clock and feeds it this frame's players (from the engine's tracks);
/// pauses the round while the camera is gone and resumes it with its first frame back.
fn advance_round(
    active: Option<ResMut<ActiveRound>>,
    latest: Res<LatestAnalysis>,
    real: Res<Time<Real>>,
    view: Option<Res<ViewSettings>>,
    status: Res<SourceStatus>,
    stats: Option<Res<Stats>>,
) {
    let Some(mut active) = active else { return };
    if view.is_some_and(|v| v.paused) {
        return;
    }
    let active = &mut *active;
    let fresh = latest.fresh.then_some(latest.time_s);
    let now = active.clock.tick(fresh, real.delta_secs_f64());
    let stalled = active.clock.stalled();
    let real_s = real.elapsed_secs_f64();
    // A silent camera is gone too (before the engine reports its stall).
    let live = stats.is_some_and(|s| s.source_kind == "camera");
    if status.camera_down() || (live && stalled) {
        active.pause(now, real_s);
        return;
    }
    let resumed = active.round.is_paused() && latest.fresh;
    if active.round.is_paused() && !resumed {
        return;
    }
    if resumed {
        active.resume(now, real_s);
    }
    if !latest.fresh && !stalled {
        return;
    }
    let mut views = recycle_views(std::mem::take(&mut active.views));
    let tracks = &latest.tracks;
    for (i, t) in tracks.tracks.iter().enumerate() {
        // A stalled source shows nobody (its last frame is not a person in view).
        views.push(PlayerView { id: t.id, shares: tracks.shares(i), present: t.misses == 0 && !stalled });
    }
    active.round.update(now, &views);
    active.views = recycle_views(views);
    let bank = active.round.bank_left_s();
    active.bank_scale_s = active.bank_scale_s.max(bank);
    if resumed && let Some(p) = active.pauses.last_mut() {
        p.bank_left_after_s.get_or_insert(bank);
    }
}

impl ActiveRound {
    /// Pauses the round at the clock's `now` (once per outage); `real_s` is the real time.
    fn pause(&mut self, now: f64, real_s: f64) {
        if self.round.is_paused() || self.round.is_over() {
            return;
        }
        self.round.pause(now);
        self.paused_at_real_s = Some(real_s);
        if self.pauses.len() < MAX_PAUSES_LISTED {
            let bank_left_s = self.round.bank_left_s();
            self.pauses.push(PauseRecord { bank_left_s, bank_left_after_s: None, paused_for_s: 0.0 });
        }
    }

    /// Resumes the round at the clock's `now`; `real_s` is the real time.
    fn resume(&mut self, now: f64, real_s: f64) {
        self.round.resume(now);
        let lasted = self.paused_at_real_s.take().map_or(0.0, |at| (real_s - at).max(0.0));
        self.paused_s += lasted;
        if let Some(p) = self.pauses.last_mut().filter(|p| p.bank_left_after_s.is_none()) {
            p.paused_for_s = lasted;
        }
    }
}

/// Bursts at the faces that reached the target; at the end, the result and the results screen.
#[allow(clippy::too_many_arguments)]
fn handle_round_events(
    active: Option<ResMut<ActiveRound>>,
    latest: Res<LatestAnalysis>,
    panes: Option<Res<PaneRects>>,
    options: Res<ChallengeOptions>,
    mut last: ResMut<LastRound>,
    mut bursts: MessageWriter<Burst>,
    mut next: ResMut<NextState<Screen>>,
) {
    let Some(mut active) = active else { return };
    let active = &mut *active;
    let mut events = std::mem::take(&mut active.events);
    active.round.drain_events(&mut events);
    // The source's clock now (None before the round's first frame).
    let source_s = active.clock.last_frame_s;
    // A target that started before the first frame (no countdown) starts with it.
    if let (Some(t), Some(at)) = (source_s, active.started_at_source_s.get_mut(active.current_number.wrapping_sub(1))) {
        at.get_or_insert(t);
    }
    for event in events.drain(..) {
        match event {
            GameEvent::TargetStarted { number, .. } => {
                active.current_number = number;
                if let Some(at) = active.started_at_source_s.get_mut(number.wrapping_sub(1)) {
                    *at = source_s;
                }
            }
            GameEvent::Reached { player, .. } => {
                if let (Some(t), Some(at)) =
                    (source_s, active.reached_at_source_s.get_mut(active.current_number.wrapping_sub(1)))
                {
                    at.get_or_insert(t);
                }
                let panes = panes.as_deref().copied().unwrap_or_default();
                if let Some(t) = latest.tracks.tracks.iter().find(|t| t.id == player) {
                    let b = t.face.bbox_in_frame;
                    let centre = panes.frame_to_world(Vec2::new(b.x + b.w / 2.0, b.y + b.h / 2.0));
                    let width =
                        panes.frame_to_world(Vec2::new(b.x + b.w, 0.0)).x - panes.frame_to_world(Vec2::new(b.x, 0.0)).x;
                    bursts.write(Burst { at: centre, size: width * BURST_OVER_FACE });
                }
            }
            GameEvent::Over(reason) => {
                info!("challenge over: {reason:?}, score {}", active.round.team_score());
                let result = active.round.result();
                if let (Some(path), Some(result)) = (&options.results_json, &result) {
                    let mut file = ResultsFile::new(
                        result,
                        &active.reached_at_source_s,
                        &active.started_at_source_s,
                        active.round.difficulty(),
                        options.demo_sequence.as_deref(),
                    );
                    file.paused_s = active.paused_s;
                    file.pauses = &active.pauses;
                    if let Err(e) = write_results_json(path, &file) {
                        error!("{e}");
                    }
                }
                last.0 = result;
                // A stopped round goes to attract (the stop button's own command).
                if reason != EndReason::Stopped {
                    next.set(Screen::Results);
                }
            }
            GameEvent::Paused => {
                info!("challenge paused (the camera is gone), {:.1} s in the bank", active.round.bank_left_s());
            }
            GameEvent::Resumed => info!("challenge resumed, {:.1} s in the bank", active.round.bank_left_s()),
            GameEvent::CountdownTick(_)
            | GameEvent::TargetDone { .. }
            | GameEvent::TimeWarning
            | GameEvent::StillThere
            | GameEvent::PlayerBack => {}
        }
    }
    active.events = events;
}

/// `--results-json`: the round's result, each target with the source's clock when it was
/// reached (a scripted run checks it against the clip's labelled segments).
#[derive(Debug, Serialize)]
pub struct ResultsFile<'a> {
    pub targets: Vec<TargetJson<'a>>,
    /// The team total.
    pub score: u32,
    pub players: &'a [PlayerScore],
    pub reason: EndReason,
    /// Seconds the round lasted (countdown excluded).
    pub duration_s: f32,
    pub difficulty: Difficulty,
    pub demo_sequence: Option<&'a [String]>,
    /// Real seconds the round was paused (the camera was gone); not in `duration_s`.
    pub paused_s: f64,
    /// The pauses, first [`MAX_PAUSES_LISTED`].
    pub pauses: &'a [PauseRecord],
}

/// One target in [`ResultsFile`].
#[derive(Debug, Serialize)]
pub struct TargetJson<'a> {
    pub emotion: &'a str,
    pub reached: bool,
    /// Seconds from the target's start to its first reach (or to its end).
    pub time_s: f32,
    pub points: u32,
    pub players: &'a [u64],
    /// The source's clock (the video's time for a file) when the target started.
    pub started_at_s: Option<f64>,
    /// The source's clock when a player first reached it (null: not reached).
    pub reached_at_s: Option<f64>,
}

impl<'a> ResultsFile<'a> {
    pub fn new(
        result: &'a RoundResult,
        reached_at_s: &[Option<f64>],
        started_at_s: &[Option<f64>],
        difficulty: Difficulty,
        demo_sequence: Option<&'a [String]>,
    ) -> Self {
        let targets = result
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| TargetJson {
                emotion: &t.emotion,
                reached: t.reached,
                time_s: t.time_s,
                points: t.points,
                players: &t.players,
                started_at_s: started_at_s.get(i).copied().flatten(),
                reached_at_s: reached_at_s.get(i).copied().flatten().filter(|_| t.reached),
            })
            .collect();
        Self {
            targets,
            score: result.score,
            players: &result.players,
            reason: result.reason,
            duration_s: result.duration_s,
            difficulty,
            demo_sequence,
            paused_s: 0.0,
            pauses: &[],
        }
    }
}

/// Writes `file` as pretty JSON to `path` atomically (a temporary file beside it, renamed).
pub fn write_results_json(path: &Path, file: &ResultsFile) -> Result<(), ChallengeError> {
    let mut text = serde_json::to_string_pretty(file)?;
    text.push('\n');
    let name = path.file_name().map_or_else(|| "results.json".into(), |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{name}.tmp"));
    let io = |source| ChallengeError::ResultsJson { path: path.to_path_buf(), source };
    std::fs::write(&temp, text).map_err(io)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io(e)
    })
}

/// Where the challenge's parts go in a window of `window` pixels (y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChallengeLayout {
    pub target_emoji: egui::Rect,
    /// The target's name and hint, right of the emoji.
    pub target_text: egui::Rect,
    pub scores: egui::Rect,
    pub time_bank: egui::Rect,
    pub skip: egui::Rect,
    pub stop: egui::Rect,
    pub easier: egui::Rect,
    pub difficulty: egui::Rect,
    pub harder: egui::Rect,
}

impl ChallengeLayout {
    /// Emoji, name and hint top left, scores top right, the time bank under them; the
    /// buttons along the bottom (one row in landscape; two in portrait: difficulty above,
    /// stop and skip below).
    pub fn compute(window: egui::Vec2) -> Self {
        let m = theme::scaled(window, theme::MARGIN_PX);
        let side = theme::scaled(window, TARGET_EMOJI_PX);
        let target_emoji = egui::Rect::from_min_size(egui::pos2(m, m), egui::vec2(side, side));
        let scores_w = theme::scaled(window, SCORES_PANEL_PX);
        let time_bank = egui::Rect::from_min_size(
            egui::pos2(m, target_emoji.max.y + m / 2.0),
            egui::vec2(window.x - 2.0 * m, theme::scaled(window, TIME_BANK_PX)),
        );
        // Portrait: the name and hint take the whole width; the scores go under the bar.
        let scores_at = if window.x >= window.y {
            egui::pos2(window.x - m - scores_w, m)
        } else {
            egui::pos2(window.x - m - scores_w, time_bank.max.y + m / 2.0)
        };
        let scores = egui::Rect::from_min_size(scores_at, egui::vec2(scores_w, side / 2.0));
        let text_x = target_emoji.max.x + m;
        let text_right = if window.x >= window.y { scores.min.x - m } else { window.x - m };
        let target_text =
            egui::Rect::from_min_max(egui::pos2(text_x, m), egui::pos2(text_right.max(text_x + 1.0), m + side));
        let h = theme::touch(window, BUTTON_PX);
        let wide = theme::touch(window, WIDE_BUTTON_PX);
        let label_w = theme::scaled(window, DIFFICULTY_LABEL_PX);
        let bottom = window.y - m - h;
        let group_w = 2.0 * h + label_w + 2.0 * m / 2.0;
        let one_row = window.x - 2.0 * m >= 2.0 * wide + group_w + 2.0 * m;
        let (stop, skip, group_y) = if one_row {
            (
                egui::Rect::from_min_size(egui::pos2(m, bottom), egui::vec2(wide, h)),
                egui::Rect::from_min_size(egui::pos2(window.x - m - wide, bottom), egui::vec2(wide, h)),
                bottom,
            )
        } else {
            let half = (window.x - 3.0 * m) / 2.0;
            (
                egui::Rect::from_min_size(egui::pos2(m, bottom), egui::vec2(half, h)),
                egui::Rect::from_min_size(egui::pos2(window.x / 2.0 + m / 2.0, bottom), egui::vec2(half, h)),
                bottom - m - h,
            )
        };
        let group_x = (window.x - group_w) / 2.0;
        let easier = egui::Rect::from_min_size(egui::pos2(group_x, group_y), egui::vec2(h, h));
        let difficulty = egui::Rect::from_min_size(egui::pos2(easier.max.x + m / 2.0, group_y), egui::vec2(label_w, h));
        let harder = egui::Rect::from_min_size(egui::pos2(difficulty.max.x + m / 2.0, group_y), egui::vec2(h, h));
        Self { target_emoji, target_text, scores, time_bank, skip, stop, easier, difficulty, harder }
    }
}

/// Puts the target emoji where the layout says, showing the current target while playing.
fn place_target_emoji(
    active: Option<Res<ActiveRound>>,
    windows: Query<&Window, With<PrimaryWindow>>,
    mut emoji: Query<(&mut BigEmoji, &mut Transform, &mut Visibility), With<TargetEmoji>>,
) {
    let target = active.as_ref().and_then(|a| {
        let label = a.round.labels().get(a.round.target()?)?;
        matches!(a.round.phase(), Phase::Playing).then_some(label.as_str())
    });
    let window = windows.single().ok().map(|w| Vec2::new(w.width(), w.height()));
    for (mut big, mut tf, mut visibility) in &mut emoji {
        let Some(label) = target else {
            *visibility = Visibility::Hidden;
            continue;
        };
        *visibility = Visibility::Visible;
        let look = look_of(label);
        if big.look != look {
            big.look = look;
        }
        if let Some(w) = window {
            let rect = ChallengeLayout::compute(egui::vec2(w.x, w.y)).target_emoji;
            // Screen (y down, top-left origin) to world (y up, centre origin).
            let c = rect.center();
            tf.translation = Vec3::new(c.x - w.x / 2.0, w.y / 2.0 - c.y, TARGET_EMOJI_Z);
            big.size_px = rect.width();
        }
    }
}

/// Colour of the time bank: the warning colour pulsing in its last seconds.
pub fn bank_color(warning: bool, time_s: f32) -> egui::Color32 {
    if !warning {
        return BANK_COLOR;
    }
    let pulse = 0.5 + 0.5 * (time_s * WARNING_PULSE_HZ * std::f32::consts::TAU).sin();
    WARNING_COLOR.gamma_multiply(0.55 + 0.45 * pulse)
}

/// The meter under a face box (screen pixels), kept inside the window.
pub fn meter_rect(face: egui::Rect, window: egui::Vec2) -> egui::Rect {
    let h = theme::scaled(window, METER_PX);
    let w = face.width().max(theme::scaled(window, METER_MIN_WIDTH_PX)).min(window.x);
    let gap = theme::scaled(window, METER_GAP_PX);
    let x = (face.center().x - w / 2.0).clamp(0.0, (window.x - w).max(0.0));
    let y = (face.max.y + gap).clamp(0.0, (window.y - h).max(0.0));
    egui::Rect::from_min_size(egui::pos2(x, y), egui::vec2(w, h))
}

#[allow(clippy::too_many_arguments)]
fn challenge_ui(
    mut contexts: EguiContexts,
    active: Option<Res<ActiveRound>>,
    latest: Res<LatestAnalysis>,
    panes: Res<PaneRects>,
    real: Res<Time<Real>>,
    mut on_screen: ResMut<OnScreen>,
    mut game: MessageWriter<GameCommand>,
    windows: Query<&Window, With<PrimaryWindow>>,
) -> Result {
    let Some(active) = active else { return Ok(()) };
    // The window's own size: egui's screen is a 10 000-point placeholder until its first input.
    let Ok(window) = windows.single() else { return Ok(()) };
    let window = egui::vec2(window.width(), window.height());
    let ctx = contexts.ctx_mut()?;
    let layout = ChallengeLayout::compute(window);
    let round = &active.round;
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::new("challenge")));
    let px = |size: f32| theme::scaled(window, size).min(MAX_TEXT_PX);

    match round.phase() {
        Phase::Countdown { left_s } => {
            let n = left_s.ceil().max(1.0);
            let centre = egui::pos2(window.x / 2.0, window.y / 2.0);
            let font = egui::FontId::proportional(px(COUNTDOWN_PX));
            let shadow = egui::vec2(px(6.0), px(6.0));
            painter.text(
                centre + shadow,
                egui::Align2::CENTER_CENTER,
                format!("{n}"),
                font.clone(),
                egui::Color32::BLACK,
            );
            let drawn = painter.text(centre, egui::Align2::CENTER_CENTER, format!("{n}"), font, egui::Color32::WHITE);
            on_screen.item("countdown", theme::rect_px(drawn));
        }
        Phase::Playing | Phase::StillThere { .. } => {
            if let Some(class) = round.target() {
                let label = round.labels().get(class).map_or("", String::as_str);
                on_screen.item("target-emoji", theme::rect_px(layout.target_emoji));
                let name = egui::RichText::new(format!(
                    "{}  {}/{}",
                    display_label(label),
                    round.target_number(),
                    round.targets_total()
                ))
                .size(px(TARGET_NAME_PX))
                .strong();
                let drawn = theme::text_at(ctx, "target-name", layout.target_text, name, egui::Align::Min);
                on_screen.item("target-name", theme::rect_px(drawn));
                if let Some(hint) = hint_of(label) {
                    let below = egui::Rect::from_min_size(
                        egui::pos2(layout.target_text.min.x, drawn.max.y + px(8.0)),
                        egui::vec2(layout.target_text.width(), px(HINT_PX)),
                    );
                    let drawn = theme::text_at(
                        ctx,
                        "target-hint",
                        below,
                        egui::RichText::new(hint).size(px(HINT_PX)),
                        egui::Align::Min,
                    );
                    on_screen.item("target-hint", theme::rect_px(drawn));
                }
            }
            time_bank_ui(&painter, &layout, round, active.bank_scale_s, real.elapsed_secs(), px(HINT_PX));
            on_screen.item("time-bank", theme::rect_px(layout.time_bank));
            meters_ui(&painter, &latest, &panes, round, window, &mut on_screen);
        }
        Phase::Over => {}
    }
    // Scores: the team total and each player's.
    let mut text = format!("Team {}", round.team_score());
    for (i, s) in round.scores().iter().enumerate() {
        text.push_str(&format!("\nPlayer {}  {}", i + 1, s.score));
    }
    let drawn =
        theme::text_at(ctx, "scores", layout.scores, egui::RichText::new(text).size(px(SCORES_PX)), egui::Align::Max);
    on_screen.item("scores", theme::rect_px(drawn));

    // While paused the notice's large message stands in for "Still there?".
    if let Phase::StillThere { left_s } = round.phase()
        && !round.is_paused()
    {
        let w = window.x * 0.7;
        let rect = egui::Rect::from_center_size(
            egui::pos2(window.x / 2.0, window.y * 0.4),
            egui::vec2(w, px(STILL_THERE_PX) * 3.0),
        );
        let text = egui::RichText::new(format!("Still there?\nStep back into view \u{2014} {:.0}", left_s.ceil()))
            .size(px(STILL_THERE_PX))
            .strong();
        let drawn = theme::text_at(ctx, "still-there", rect, text, egui::Align::Center);
        on_screen.item("still-there", theme::rect_px(drawn));
    }

    // Buttons (lower half): stop, skip, difficulty -/+.
    if theme::button_at(ctx, &mut on_screen, "stop", "Stop", layout.stop, theme::SECONDARY) {
        game.write(GameCommand(GameAction::Attract));
    }
    if theme::button_at(ctx, &mut on_screen, "skip", "Skip (s)", layout.skip, theme::PRIMARY) {
        game.write(GameCommand(GameAction::Skip));
    }
    if theme::button_at(ctx, &mut on_screen, "easier", "\u{2212}", layout.easier, theme::QUIET) {
        game.write(GameCommand(GameAction::Easier));
    }
    // The difficulty between its buttons, on a panel as tall as they are.
    let d = layout.difficulty;
    painter.rect_filled(d, d.height() * 0.2, theme::PANEL);
    painter.text(
        d.center(),
        egui::Align2::CENTER_CENTER,
        round.difficulty().label(),
        egui::FontId::proportional(d.height() * 0.4),
        egui::Color32::WHITE,
    );
    on_screen.item("difficulty", theme::rect_px(d));
    if theme::button_at(ctx, &mut on_screen, "harder", "+", layout.harder, theme::QUIET) {
        game.write(GameCommand(GameAction::Harder));
    }
    Ok(())
}

/// The time bank bar: full at the longest the bank has been, the seconds left on it.
fn time_bank_ui(
    painter: &egui::Painter,
    layout: &ChallengeLayout,
    round: &Round,
    scale_s: f32,
    time_s: f32,
    font_px: f32,
) {
    let bar = layout.time_bank;
    let left = round.bank_left_s();
    let share = if scale_s > 0.0 { (left / scale_s).clamp(0.0, 1.0) } else { 0.0 };
    let radius = bar.height() / 2.0;
    painter.rect_filled(bar, radius, TRACK_COLOR);
    let fill = egui::Rect::from_min_size(bar.min, egui::vec2(bar.width() * share, bar.height()));
    painter.rect_filled(fill, radius, bank_color(round.warning(), time_s));
    painter.text(
        bar.center(),
        egui::Align2::CENTER_CENTER,
        format!("{:.0} s", left.ceil()),
        egui::FontId::proportional(font_px.min(bar.height())),
        egui::Color32::WHITE,
    );
}

/// A meter under every tracked face: the window share of the target class over the share
/// it needs, green with a check mark once reached, the player's score on it.
fn meters_ui(
    painter: &egui::Painter,
    latest: &LatestAnalysis,
    panes: &PaneRects,
    round: &Round,
    window: egui::Vec2,
    on_screen: &mut OnScreen,
) {
    let half = egui::vec2(window.x, window.y) / 2.0;
    let to_screen = |w: Vec2| egui::pos2(w.x + half.x, half.y - w.y);
    for t in &latest.tracks.tracks {
        let b = t.face.bbox_in_frame;
        let a = to_screen(panes.frame_to_world(Vec2::new(b.x, b.y)));
        let z = to_screen(panes.frame_to_world(Vec2::new(b.x + b.w, b.y + b.h)));
        // Under the emoji's disk, which is larger than the face box.
        let face = egui::Rect::from_two_pos(a, z);
        let disk = egui::Rect::from_center_size(
            face.center(),
            egui::Vec2::splat(face.width().max(face.height()) * DISK_OVER_FACE),
        );
        let rect = meter_rect(disk, window);
        let reached = round.has_reached(t.id);
        let radius = rect.height() / 2.0;
        painter.rect_filled(rect, radius, TRACK_COLOR);
        let fill = egui::Rect::from_min_size(rect.min, egui::vec2(rect.width() * round.meter(t.id), rect.height()));
        painter.rect_filled(fill, radius, if reached { REACHED_COLOR } else { METER_COLOR });
        let mark = if reached { "\u{2714} " } else { "" };
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            format!("{mark}P{} {}", round.player_number(t.id).unwrap_or_default(), round.player_score(t.id)),
            egui::FontId::proportional(rect.height() * 0.8),
            egui::Color32::WHITE,
        );
        on_screen.item(&format!("meter-{}", t.id), theme::rect_px(rect));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bevy::state::app::StatesPlugin;
    use bevy::time::TimeUpdateStrategy;

    use super::*;
    use crate::app::emoji::Look;
    use crate::tracking::{Tracker, TrackingSettings};
    use crate::vision::{BBox, Face, LANDMARKS};

    const ANGRY: usize = 0;
    const HAPPY: usize = 3;
    const SURPRISE: usize = 5;
    const NEUTRAL: usize = 6;
    /// The test's frame rate (frames per second of the injected video).
    const FPS: f64 = 30.0;

    fn labels() -> Vec<String> {
        ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"].iter().map(|s| s.to_string()).collect()
    }

    /// Injected analysis: the engine's tracker fed with made-up faces, its snapshot handed
    /// to the app as the engine does.
    struct Feed {
        tracker: Tracker,
        frame: u64,
        faces: Vec<Face>,
    }

    impl Feed {
        fn new() -> Self {
            Self { tracker: Tracker::new(TrackingSettings::default(), &labels()), frame: 0, faces: Vec::new() }
        }

        /// One analysed frame: a face at each x with the class given, then one app update.
        fn step(&mut self, app: &mut App, people: &[(f32, usize)]) {
            let t = self.frame as f64 / FPS;
            let dets: Vec<Face> = people.iter().map(|&(cx, _)| face(cx)).collect();
            self.tracker.step(t, Some(&dets));
            self.tracker.select_faces(Some(&dets), &mut self.faces);
            // Each classified face gets the class of the person nearest it.
            let mut probs = Vec::new();
            for f in &self.faces {
                let (fx, _) = f.bbox_in_frame.center();
                let class =
                    people.iter().min_by(|a, b| (a.0 - fx).abs().total_cmp(&(b.0 - fx).abs())).map_or(NEUTRAL, |p| p.1);
                let mut p = [0.01f32; 7];
                p[class] = 0.94;
                probs.extend(p);
            }
            self.tracker.observe(t, &probs);
            {
                let mut latest = app.world_mut().resource_mut::<LatestAnalysis>();
                latest.fresh = true;
                latest.index = self.frame;
                latest.time_s = t;
                self.tracker.snapshot_into(&mut latest.tracks);
            }
            app.update();
            app.world_mut().resource_mut::<LatestAnalysis>().fresh = false;
            self.frame += 1;
        }

        fn run(&mut self, app: &mut App, seconds: f64, people: &[(f32, usize)]) {
            for _ in 0..(seconds * FPS).round() as usize {
                self.step(app, people);
            }
        }

        fn ids(&self) -> Vec<u64> {
            self.tracker.tracks().iter().map(|t| t.id).collect()
        }
    }

    fn face(cx: f32) -> Face {
        Face {
            bbox_in_frame: BBox::new(cx - 40.0, 100.0, 80.0, 80.0),
            landmarks_in_frame: [[cx, 140.0]; LANDMARKS],
            score: 0.9,
        }
    }

    fn app(demo: &[&str], results_json: Option<PathBuf>) -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .configure_sets(
                Update,
                (AppSystems::Input, AppSystems::Receive, AppSystems::Track, AppSystems::Present).chain(),
            )
            .add_plugins((super::super::state_plugin, logic_plugin))
            .insert_resource(SourceStatus { labels: labels(), ..Default::default() })
            .insert_resource(ChallengeOptions {
                demo_sequence: Some(demo.iter().map(|s| s.to_string()).collect()),
                autoplay: false,
                loop_rounds: false,
                results_json,
            })
            // Real time stands still between updates unless a test moves it.
            .insert_resource(TimeUpdateStrategy::ManualDuration(Duration::ZERO))
            .init_resource::<BurstsSeen>()
            .add_systems(Last, collect_bursts);
        app.update();
        app
    }

    /// Every burst sent so far (centre, size).
    #[derive(Resource, Default)]
    struct BurstsSeen(Vec<(Vec2, f32)>);

    fn collect_bursts(mut bursts: MessageReader<Burst>, mut seen: ResMut<BurstsSeen>) {
        seen.0.extend(bursts.read().map(|b| (b.at, b.size)));
    }

    /// The target emoji's look and whether it shows.
    fn target_emoji(app: &mut App) -> (Look, bool) {
        let mut q = app.world_mut().query_filtered::<(&BigEmoji, &Visibility), With<TargetEmoji>>();
        let (big, visibility) = q.single(app.world()).expect("one target emoji");
        (big.look, *visibility == Visibility::Visible)
    }

    fn send(app: &mut App, action: GameAction) {
        app.world_mut().write_message(GameCommand(action));
    }

    fn screen(app: &App) -> Screen {
        *app.world().resource::<State<Screen>>().get()
    }

    fn round(app: &App) -> &Round {
        &app.world().resource::<ActiveRound>().round
    }

    /// Starts the challenge and plays through the countdown with `people` in view.
    fn start(app: &mut App, feed: &mut Feed, people: &[(f32, usize)]) {
        send(app, GameAction::Start);
        app.update();
        app.update();
        assert_eq!(screen(app), Screen::Challenge);
        assert!(matches!(round(app).phase(), Phase::Countdown { .. }));
        feed.run(app, f64::from(crate::game::rules::DEFAULT_COUNTDOWN_S) + 0.1, people);
        assert_eq!(round(app).phase(), Phase::Playing);
    }

    #[test]
    fn two_players_score_separately_and_the_round_ends_in_results() {
        let dir = std::env::temp_dir().join(format!("emoji-mirror-challenge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let json = dir.join("round.json");
        let _ = std::fs::remove_file(&json);
        let mut app = app(&["happy", "surprise"], Some(json.clone()));
        let mut feed = Feed::new();
        let (left, right) = (150.0, 450.0);
        start(&mut app, &mut feed, &[(left, NEUTRAL), (right, NEUTRAL)]);
        let ids = feed.ids();
        assert_eq!(ids.len(), 2);
        // The left player smiles; the right one stays neutral: only the left one reaches it
        // (the right one's meter stays empty), and the bank gains happy's bonus seconds.
        feed.run(&mut app, 0.5, &[(left, HAPPY), (right, NEUTRAL)]);
        let r = round(&app);
        assert_eq!(r.target(), Some(HAPPY));
        let (a, b) = (ids[0], ids[1]);
        assert!(r.has_reached(a), "the smiling player reached happy");
        assert!(!r.has_reached(b) && r.meter(b) == 0.0, "the neutral player did not");
        assert!(r.player_score(a) > 0 && r.player_score(b) == 0);
        let after_first = r.player_score(a);
        assert_eq!(target_emoji(&mut app), (look_of("happy"), true), "the target emoji shows happy");
        // One burst, at the left player's face (world x < 0 on the default panes).
        let bursts = app.world().resource::<BurstsSeen>().0.clone();
        assert_eq!(bursts.len(), 1, "{bursts:?}");
        let panes = PaneRects::default();
        let expected = panes.frame_to_world(Vec2::new(left, 140.0));
        assert!(bursts[0].0.distance(expected) < 20.0, "{bursts:?} vs {expected}");
        assert!(bursts[0].1 > 80.0, "bigger than the face: {bursts:?}");
        // The others' grace runs out; the next target (surprise) is reached by the right one.
        feed.run(&mut app, 3.5, &[(left, HAPPY), (right, SURPRISE)]);
        assert_eq!(screen(&app), Screen::Results, "both targets played");
        let last = app.world().resource::<LastRound>().0.clone().expect("the result is kept");
        assert_eq!(last.reason, EndReason::AllTargets);
        assert_eq!(last.targets.len(), 2);
        assert!(last.targets.iter().all(|t| t.reached));
        assert_eq!(last.targets[0].players, vec![a]);
        assert_eq!(last.targets[1].players, vec![b]);
        let score = |id| last.players.iter().find(|p| p.id == id).map(|p| p.score).expect("player listed");
        assert_eq!(score(a), after_first, "the left player did not score on surprise");
        assert!(score(b) > 0);
        assert_eq!(last.score, score(a) + score(b));
        assert!(!app.world().contains_resource::<ActiveRound>(), "the round is removed with its screen");
        // The results file lists each target with its time and the source's clock.
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("results written")).expect("json");
        assert_eq!(v["score"], last.score);
        assert_eq!(v["reason"], "all-targets");
        assert_eq!(v["demo_sequence"], serde_json::json!(["happy", "surprise"]));
        let targets = v["targets"].as_array().expect("targets");
        assert_eq!(targets[0]["emotion"], "happy");
        assert_eq!(targets[0]["reached"], true);
        let reached_at = targets[0]["reached_at_s"].as_f64().expect("reached at");
        let started_at = targets[0]["started_at_s"].as_f64().expect("started at");
        let time_s = targets[0]["time_s"].as_f64().expect("time");
        assert!((reached_at - started_at - time_s).abs() < 0.05, "{reached_at} - {started_at} vs {time_s}");
        assert!(!dir.join(".round.json.tmp").exists(), "no temporary file left");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_player_who_leaves_gets_still_there_then_results() {
        let mut app = app(&["happy", "neutral"], None);
        let mut feed = Feed::new();
        start(&mut app, &mut feed, &[(300.0, NEUTRAL)]);
        feed.run(&mut app, 1.0, &[]);
        assert_eq!(round(&app).phase(), Phase::Playing, "a short absence is forgiven");
        let rules = ChallengeRules::default();
        feed.run(&mut app, f64::from(rules.absent_grace_s), &[]);
        assert!(matches!(round(&app).phase(), Phase::StillThere { .. }), "{:?}", round(&app).phase());
        feed.run(&mut app, f64::from(rules.still_there_s) + 0.1, &[]);
        assert_eq!(screen(&app), Screen::Results);
        let last = app.world().resource::<LastRound>().0.clone().expect("result");
        assert_eq!(last.reason, EndReason::PlayersLeft);
        assert!(!last.targets[0].reached);
    }

    #[test]
    fn one_of_two_players_leaving_does_not_stop_the_round() {
        let mut app = app(&["happy", "surprise"], None);
        let mut feed = Feed::new();
        let (left, right) = (150.0, 450.0);
        start(&mut app, &mut feed, &[(left, NEUTRAL), (right, NEUTRAL)]);
        let ids = feed.ids();
        // The left player scores happy, then walks away; the right one stays and plays on.
        feed.run(&mut app, 0.5, &[(left, HAPPY), (right, NEUTRAL)]);
        let left_score = round(&app).player_score(ids[0]);
        assert!(left_score > 0);
        feed.run(&mut app, 6.0, &[(right, NEUTRAL)]);
        assert_eq!(feed.ids(), vec![ids[1]], "the left player's track ended");
        let r = round(&app);
        assert_eq!(r.phase(), Phase::Playing, "someone is still in view: no \"Still there?\"");
        assert_eq!(r.target(), Some(SURPRISE), "happy ended after the others' grace");
        feed.run(&mut app, 1.0, &[(right, SURPRISE)]);
        assert_eq!(screen(&app), Screen::Results);
        let last = app.world().resource::<LastRound>().0.clone().expect("result");
        assert_eq!(last.players.len(), 2, "the player who left keeps their score: {:?}", last.players);
        let score = |id| last.players.iter().find(|p| p.id == id).map(|p| p.score).expect("listed");
        assert_eq!(score(ids[0]), left_score);
        assert!(score(ids[1]) > 0);
    }

    #[test]
    fn the_time_bank_runs_out() {
        let mut app = app(&["angry", "happy"], None);
        let mut feed = Feed::new();
        start(&mut app, &mut feed, &[(300.0, NEUTRAL)]);
        let bank = f64::from(ChallengeRules::default().start_bank_s);
        feed.run(&mut app, bank - 4.0, &[(300.0, NEUTRAL)]);
        assert!(round(&app).warning(), "the warning shows in the last seconds");
        assert_eq!(screen(&app), Screen::Challenge);
        feed.run(&mut app, 4.5, &[(300.0, NEUTRAL)]);
        assert_eq!(screen(&app), Screen::Results);
        let last = app.world().resource::<LastRound>().0.clone().expect("result");
        assert_eq!(last.reason, EndReason::TimeUp);
        assert_eq!(last.targets.len(), 1);
        assert!(!last.targets[0].reached && last.targets[0].emotion == "angry");
        assert_eq!(last.score, 0);
    }

    #[test]
    fn a_skip_moves_to_the_next_target_and_difficulty_follows_the_buttons() {
        let mut app = app(&["angry", "happy"], None);
        let mut feed = Feed::new();
        start(&mut app, &mut feed, &[(300.0, NEUTRAL)]);
        assert_eq!(round(&app).target(), Some(ANGRY));
        send(&mut app, GameAction::Harder);
        feed.step(&mut app, &[(300.0, NEUTRAL)]);
        assert_eq!(round(&app).difficulty(), Difficulty::Hard);
        assert_eq!(
            app.world().resource::<ChallengeSettings>().0.difficulty,
            Difficulty::Hard,
            "kept for the next round"
        );
        send(&mut app, GameAction::Easier);
        send(&mut app, GameAction::Skip);
        feed.step(&mut app, &[(300.0, NEUTRAL)]);
        assert_eq!(round(&app).difficulty(), Difficulty::Normal);
        assert_eq!(round(&app).target(), Some(HAPPY), "skipped to the second target");
        feed.run(&mut app, 1.0, &[(300.0, HAPPY)]);
        assert_eq!(screen(&app), Screen::Results);
        let last = app.world().resource::<LastRound>().0.clone().expect("result");
        assert!(!last.targets[0].reached && last.targets[1].reached);
        assert_eq!(app.world().resource::<ChallengeSettings>().0.difficulty, Difficulty::Normal);
    }

    #[test]
    fn stop_goes_back_to_attract_without_results() {
        let mut app = app(&["happy"], None);
        let mut feed = Feed::new();
        start(&mut app, &mut feed, &[(300.0, NEUTRAL)]);
        send(&mut app, GameAction::Attract);
        feed.step(&mut app, &[(300.0, NEUTRAL)]);
        app.update();
        assert_eq!(screen(&app), Screen::Attract);
        assert!(!app.world().contains_resource::<ActiveRound>());
        let mut q = app.world_mut().query::<&TargetEmoji>();
        assert_eq!(q.iter(app.world()).count(), 0, "the target emoji goes with its screen");
    }

    #[test]
    fn an_unknown_demo_label_goes_back_to_attract() {
        let mut app = app(&["happy", "smug"], None);
        send(&mut app, GameAction::Start);
        for _ in 0..4 {
            app.update();
        }
        assert_eq!(screen(&app), Screen::Attract);
        assert!(!app.world().contains_resource::<ActiveRound>());
        assert!(app.world().resource::<DemoSequenceReported>().0, "reported at start-up");
        let exits = app.world().resource::<Messages<AppExit>>();
        assert!(exits.iter_current_update_messages().count() + exits.len() > 0, "the app is asked to exit");
    }

    #[test]
    fn a_stalled_source_runs_the_round_on_real_time_with_nobody_in_view() {
        let mut app = app(&["happy"], None);
        let mut feed = Feed::new();
        start(&mut app, &mut feed, &[(300.0, NEUTRAL)]);
        let before = app.world().resource::<ActiveRound>().clock.now_s();
        // No frames, no real time: the round holds still.
        for _ in 0..10 {
            app.update();
        }
        assert_eq!(app.world().resource::<ActiveRound>().clock.now_s(), before);
        // The video ended: after the stall, real time drives "Still there?" and the end.
        app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(250)));
        for _ in 0..((SOURCE_STALL_S + 10.0) * 4.0) as usize {
            app.update();
        }
        assert_eq!(screen(&app), Screen::Results);
        assert_eq!(app.world().resource::<LastRound>().0.as_ref().map(|r| r.reason), Some(EndReason::PlayersLeft));
    }

    #[test]
    fn a_camera_that_goes_away_pauses_the_round_and_its_return_resumes_it() {
        let dir = std::env::temp_dir().join(format!("emoji-mirror-pause-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let json = dir.join("round.json");
        let mut app = app(&["angry", "happy"], Some(json.clone()));
        let mut feed = Feed::new();
        start(&mut app, &mut feed, &[(300.0, NEUTRAL)]);
        feed.run(&mut app, 2.0, &[(300.0, NEUTRAL)]);
        // Unplugged: the engine reports it lost; frames still in flight change nothing.
        app.world_mut().resource_mut::<SourceStatus>().hint = Some(crate::app::video::CAMERA_LOST);
        feed.step(&mut app, &[(300.0, NEUTRAL)]);
        assert!(round(&app).is_paused());
        let bank = round(&app).bank_left_s();
        feed.run(&mut app, 0.5, &[(300.0, HAPPY)]);
        app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(250)));
        for _ in 0..120 {
            app.update();
        }
        assert_eq!(screen(&app), Screen::Challenge, "30 s without a camera: still the same round");
        let r = round(&app);
        assert!(r.is_paused());
        assert_eq!((r.phase(), r.bank_left_s(), r.player_score(feed.ids()[0])), (Phase::Playing, bank, 0));
        // Back: the first frame resumes it where it stopped.
        app.world_mut().resource_mut::<SourceStatus>().hint = None;
        feed.step(&mut app, &[(300.0, NEUTRAL)]);
        let r = round(&app);
        assert!(!r.is_paused());
        assert!((r.bank_left_s() - bank).abs() <= 1.0 / FPS as f32 + 1e-4, "{} vs {bank}", r.bank_left_s());
        let active = app.world().resource::<ActiveRound>();
        assert_eq!(active.pauses.len(), 1);
        let pause = active.pauses[0].clone();
        assert_eq!(pause.bank_left_s, bank);
        assert!((pause.paused_for_s - 30.0).abs() < 0.3, "{pause:?}");
        app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::ZERO));
        feed.run(&mut app, f64::from(bank) + 0.5, &[(300.0, NEUTRAL)]);
        // (This app has no face entities: its idle timer ran during the pause, so the results
        // screen may already have gone back to attract.)
        assert_ne!(screen(&app), Screen::Challenge, "the round ended");
        let last = app.world().resource::<LastRound>().0.clone().expect("result");
        assert_eq!(last.reason, EndReason::TimeUp, "nobody counted as gone");
        assert_eq!(last.players.len(), 1);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("results written")).expect("json");
        assert!((v["paused_s"].as_f64().expect("paused_s") - pause.paused_for_s).abs() < 1e-9, "{v}");
        let listed = v["pauses"][0]["bank_left_s"].as_f64().expect("the pause is listed");
        assert!((listed - f64::from(bank)).abs() < 1e-4, "{v}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_silent_camera_pauses_the_round_before_its_stall_is_reported() {
        let mut app = app(&["happy"], None);
        app.insert_resource(Stats { source_kind: "camera", ..Default::default() });
        let mut feed = Feed::new();
        start(&mut app, &mut feed, &[(300.0, NEUTRAL)]);
        let bank = round(&app).bank_left_s();
        app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(250)));
        for _ in 0..((SOURCE_STALL_S + 20.0) * 4.0) as usize {
            app.update();
        }
        assert_eq!(screen(&app), Screen::Challenge, "no \"Still there?\" end without a picture");
        assert!(round(&app).is_paused());
        assert_eq!(round(&app).bank_left_s(), bank);
        feed.step(&mut app, &[(300.0, NEUTRAL)]);
        assert!(!round(&app).is_paused(), "its first frame resumes the round");
    }

    #[test]
    fn the_clock_follows_frames_and_survives_loops_and_stalls() {
        let mut c = GameClock::default();
        assert_eq!(c.tick(None, 5.0), 0.0, "nothing before the first frame");
        assert_eq!(c.tick(Some(10.0), 0.1), 0.0);
        assert!((c.tick(Some(10.2), 0.9) - 0.2).abs() < 1e-9, "frame time, not real time");
        assert!((c.tick(Some(0.0), 0.1) - 0.2).abs() < 1e-9, "a loop does not go back");
        assert!((c.tick(Some(30.0), 0.1) - 0.2 - MAX_FRAME_STEP_S).abs() < 1e-9, "a jump is capped");
        let t = c.now_s();
        c.tick(None, SOURCE_STALL_S);
        assert_eq!(c.now_s(), t, "the stall starts counting");
        assert!(c.stalled());
        assert!((c.tick(None, 1.0) - t - 1.0).abs() < 1e-9, "then real time");
    }

    #[test]
    fn every_class_has_a_hint() {
        for label in labels() {
            assert!(hint_of(&label).is_some_and(|h| !h.is_empty()), "{label}");
        }
        assert_eq!(hint_of("Surprise"), Some("Raise your eyebrows and open your mouth"));
        assert_eq!(hint_of("contempt"), None);
    }

    fn check_layout(window: egui::Vec2) {
        let l = ChallengeLayout::compute(window);
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, window);
        let buttons = [l.skip, l.stop, l.easier, l.harder];
        for b in buttons.iter().chain([&l.difficulty, &l.target_emoji, &l.time_bank, &l.scores, &l.target_text]) {
            assert!(screen.contains_rect(*b), "{b:?} inside {window:?}");
        }
        for (i, b) in buttons.iter().enumerate() {
            assert!(b.min.y >= window.y / 2.0, "{b:?} in the lower half of {window:?}");
            assert!(b.height() >= theme::MIN_TOUCH_PX && b.width() >= theme::MIN_TOUCH_PX, "{b:?}");
            for c in buttons.iter().skip(i + 1).chain([&l.difficulty]) {
                assert!(!b.intersects(*c), "{b:?} overlaps {c:?}");
            }
        }
        assert!(!l.target_text.intersects(l.scores) && !l.target_emoji.intersects(l.target_text));
        assert!(!l.time_bank.intersects(l.scores), "{l:?}");
        assert!(l.time_bank.min.y > l.target_emoji.max.y);
        // The target's name has room for "Surprise 10/10" at its size (~0.6 em a character).
        assert!(l.target_text.width() >= 14.0 * 0.6 * theme::scaled(window, TARGET_NAME_PX), "{l:?}");
    }

    #[test]
    fn the_layout_fits_landscape_and_portrait() {
        check_layout(egui::vec2(1920.0, 1080.0));
        check_layout(egui::vec2(1080.0, 1920.0));
        check_layout(egui::vec2(1280.0, 720.0));
        check_layout(egui::vec2(720.0, 1280.0));
        let full_hd = ChallengeLayout::compute(egui::vec2(1920.0, 1080.0));
        assert_eq!(full_hd.skip.height(), BUTTON_PX, "1080p buttons at their base size");
    }

    #[test]
    fn meters_stay_in_the_window_and_the_warning_pulses() {
        let window = egui::vec2(1280.0, 720.0);
        let low = meter_rect(egui::Rect::from_min_size(egui::pos2(1250.0, 700.0), egui::vec2(40.0, 40.0)), window);
        assert!(egui::Rect::from_min_size(egui::Pos2::ZERO, window).contains_rect(low), "{low:?}");
        let under = meter_rect(egui::Rect::from_min_size(egui::pos2(400.0, 200.0), egui::vec2(200.0, 200.0)), window);
        assert!(under.min.y > 400.0 && (under.center().x - 500.0).abs() < 1e-3, "{under:?}");
        assert_eq!(bank_color(false, 0.3), BANK_COLOR);
        assert_ne!(bank_color(true, 0.0), bank_color(true, 0.125), "the warning pulses");
    }
}
