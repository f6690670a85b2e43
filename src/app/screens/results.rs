//! The results screen: the round's team score, each player's score, each target as its
//! emoji with the seconds it took (no photo is kept), and the high-score table. The round
//! is recorded in the score database when the screen opens (one transaction, no picture);
//! a player may then enter 1-3 initials on the touch keyboard or with the keys (type,
//! then Enter). "Done" (or the timeout) goes back to the attract screen.

use std::path::Path;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::{ChallengeOptions, GameAction, GameCommand, LastRound, OnScreen, Screen};
use crate::app::emoji::{self, BigEmoji};
use crate::app::{AppSystems, theme};
use crate::game::RoundResult;
use crate::store::{self, MAX_INITIALS, NewGame, ScoreStore, StoredGame, StoredTarget};

/// Seconds the results screen stays without input before it goes back to attract.
pub const RESULTS_TIMEOUT_S: f32 = 60.0;
/// Seconds the results screen stays with `--loop-rounds` before the next round starts.
pub const LOOP_RESULTS_S: f32 = 5.0;
/// Games in the high-score table.
pub const TABLE_ROWS: usize = 10;
/// Shown instead of the table when there is no score database.
pub const NOT_SAVING: &str = "Scores are not being saved.";
/// The touch keyboard's keys, row by row ("DEL" deletes, "OK" saves).
pub const KEYBOARD: [&[&str]; 4] = [
    &["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"],
    &["K", "L", "M", "N", "O", "P", "Q", "R", "S", "T"],
    &["U", "V", "W", "X", "Y", "Z", "0", "1", "2", "3"],
    &["4", "5", "6", "7", "8", "9", "DEL", "OK"],
];
/// The widest a target cell gets at 1080p (pixels); the emoji takes most of it.
const TARGET_CELL_PX: f32 = 150.0;
/// Share of a target cell the emoji takes (the rest holds its time).
const EMOJI_SHARE: f32 = 0.7;
/// Heading text height at 1080p (pixels).
const HEADING_PX: f32 = 64.0;
/// Body text height at 1080p (pixels).
const BODY_PX: f32 = 30.0;
/// Height of the heading band at 1080p (pixels).
const HEADING_BAND_PX: f32 = 170.0;
/// Gap between keyboard keys at 1080p (pixels).
const KEY_GAP_PX: f32 = 8.0;
/// Width of the "Done" button at 1080p (pixels).
const DONE_WIDTH_PX: f32 = 360.0;
/// The dimmer behind the results: on top of the video, under the row emoji.
const DIMMER_Z: f32 = 5.0;
const ROW_EMOJI_Z: f32 = 10.0;
const DIMMER: Color = Color::srgba(0.0, 0.0, 0.0, 0.8);

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ResultsState>()
        .add_systems(OnEnter(Screen::Results), (record_round, spawn_results).chain())
        .add_systems(
            Update,
            (type_initials, time_out_results, place_results_entities)
                .in_set(AppSystems::Present)
                .run_if(in_state(Screen::Results)),
        )
        .add_systems(EguiPrimaryContextPass, results_ui.run_if(in_state(Screen::Results)));
}

/// The score database, opened once at start-up (`None`: the game goes on without saving).
#[derive(Resource, Default)]
pub struct Scores(pub Option<ScoreStore>);

impl Scores {
    /// Opens the database in `data_dir` (`--data-dir`, else the default data directory).
    /// A missing, corrupt, foreign or unwritable database gives one warning line.
    pub fn open(data_dir: Option<&Path>) -> Self {
        let Some(dir) = store::data_dir(data_dir) else {
            warn!("no data directory (no HOME): {NOT_SAVING}");
            return Self(None);
        };
        match ScoreStore::open_in(&dir) {
            Ok(s) => Self(Some(s)),
            Err(e) => {
                warn!("{e}: {NOT_SAVING}");
                Self(None)
            }
        }
    }
}

/// What the results screen shows and has done (reset when it opens).
#[derive(Resource, Debug, Default)]
pub struct ResultsState {
    /// The recorded game's id (None: not recorded).
    pub game_id: Option<i64>,
    /// Its place in the table (1 = best).
    pub rank: Option<usize>,
    /// The initials typed so far, and whether they are saved.
    pub initials: String,
    pub initials_saved: bool,
    /// The top of the table.
    pub top: Vec<StoredGame>,
    /// Why scores are not saved, if they are not.
    pub problem: Option<String>,
    /// Seconds since the screen opened or was last touched.
    pub idle_s: f32,
    /// Frames the screen has been shown (autoplay quits after a few).
    pub frames_shown: u32,
}

/// A target's row emoji (its index in the round's targets).
#[derive(Component, Debug)]
struct RowEmoji(usize);

/// The dimmer behind the results.
#[derive(Component, Debug)]
struct Dimmer;

/// The stored form of a round (no picture, no face: only what the table needs).
pub fn new_game(round: &RoundResult, played_at_unix_s: i64) -> NewGame {
    NewGame {
        played_at_unix_s,
        score: round.score,
        players: round.players.len() as u32,
        targets: round
            .targets
            .iter()
            .map(|t| StoredTarget { emotion: t.emotion.clone(), reached: t.reached, time_s: t.time_s })
            .collect(),
    }
}

fn now_unix_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Records the last round (once per results screen) and reads the table.
fn record_round(last: Res<LastRound>, scores: Option<ResMut<Scores>>, mut state: ResMut<ResultsState>) {
    *state = ResultsState::default();
    let Some(store) = scores.map(ResMut::into_inner).and_then(|s| s.0.as_mut()) else {
        state.problem = Some(NOT_SAVING.to_string());
        return;
    };
    // A failed write: the game goes on; the store logs it (rate-limited) and keeps it for
    // the operator (health, operator panel); visitors see the table as it was.
    if let Some(round) = &last.0
        && let Ok(id) = store.record(&new_game(round, now_unix_s()))
    {
        state.game_id = Some(id);
        state.rank = store.rank(id).unwrap_or_else(|e| {
            warn!("{e}");
            None
        });
    }
    refresh_table(store, &mut state);
}

fn refresh_table(store: &ScoreStore, state: &mut ResultsState) {
    match store.top(TABLE_ROWS) {
        Ok(top) => state.top = top,
        Err(e) => warn!("{e}"),
    }
}

/// Saves the typed initials for the recorded game.
fn save_initials(scores: Option<&mut Scores>, state: &mut ResultsState) {
    let (Some(store), Some(id)) = (scores.and_then(|s| s.0.as_mut()), state.game_id) else { return };
    if state.initials.is_empty() || state.initials_saved {
        return;
    }
    match store.set_initials(id, &state.initials) {
        Ok(()) => {
            state.initials_saved = true;
            refresh_table(store, state);
        }
        Err(e) => warn!("{e}"),
    }
}

/// The keys that type initials: A-Z, then 0-9.
pub const TYPING_KEYS: [KeyCode; 36] = [
    KeyCode::KeyA,
    KeyCode::KeyB,
    KeyCode::KeyC,
    KeyCode::KeyD,
    KeyCode::KeyE,
    KeyCode::KeyF,
    KeyCode::KeyG,
    KeyCode::KeyH,
    KeyCode::KeyI,
    KeyCode::KeyJ,
    KeyCode::KeyK,
    KeyCode::KeyL,
    KeyCode::KeyM,
    KeyCode::KeyN,
    KeyCode::KeyO,
    KeyCode::KeyP,
    KeyCode::KeyQ,
    KeyCode::KeyR,
    KeyCode::KeyS,
    KeyCode::KeyT,
    KeyCode::KeyU,
    KeyCode::KeyV,
    KeyCode::KeyW,
    KeyCode::KeyX,
    KeyCode::KeyY,
    KeyCode::KeyZ,
    KeyCode::Digit0,
    KeyCode::Digit1,
    KeyCode::Digit2,
    KeyCode::Digit3,
    KeyCode::Digit4,
    KeyCode::Digit5,
    KeyCode::Digit6,
    KeyCode::Digit7,
    KeyCode::Digit8,
    KeyCode::Digit9,
];
/// Letters in [`TYPING_KEYS`] (the digits follow).
const LETTER_KEYS: usize = 26;

/// The character a key types into the initials (A-Z, 0-9), if any.
pub fn char_of(key: KeyCode) -> Option<char> {
    let i = TYPING_KEYS.iter().position(|k| *k == key)?;
    let c = if i < LETTER_KEYS { b'A' + i as u8 } else { b'0' + (i - LETTER_KEYS) as u8 };
    Some(c as char)
}

/// One key of the touch keyboard (or its physical twin) applied to the initials.
/// Returns true when it asks to save them.
pub fn apply_key(initials: &mut String, key: &str) -> bool {
    match key {
        "DEL" => {
            initials.pop();
        }
        "OK" => return !initials.is_empty(),
        k => {
            if initials.len() < MAX_INITIALS {
                initials.push_str(k);
            }
        }
    }
    false
}

/// Whether initials can still be entered (a recorded game, not yet named, not autoplay).
fn entering_initials(state: &ResultsState, options: &ChallengeOptions) -> bool {
    state.entering_initials(options.autoplay)
}

impl ResultsState {
    /// Whether initials can still be entered: a recorded game, not yet named, not autoplay
    /// (then letters, digits, Backspace and Enter type them instead of being hotkeys).
    pub fn entering_initials(&self, autoplay: bool) -> bool {
        self.game_id.is_some() && !self.initials_saved && !autoplay
    }
}

fn type_initials(
    keys: Res<ButtonInput<KeyCode>>,
    options: Res<ChallengeOptions>,
    mut scores: Option<ResMut<Scores>>,
    mut state: ResMut<ResultsState>,
) {
    if !entering_initials(&state, &options) {
        return;
    }
    let mut save = false;
    for key in keys.get_just_pressed() {
        state.idle_s = 0.0;
        match key {
            KeyCode::Backspace => save |= apply_key(&mut state.initials, "DEL"),
            KeyCode::Enter | KeyCode::NumpadEnter => save |= apply_key(&mut state.initials, "OK"),
            k => {
                if let Some(c) = char_of(*k) {
                    let mut buf = [0u8; 4];
                    save |= apply_key(&mut state.initials, c.encode_utf8(&mut buf));
                }
            }
        }
    }
    if save {
        save_initials(scores.as_deref_mut(), &mut state);
    }
}

fn time_out_results(
    time: Res<Time>,
    options: Res<ChallengeOptions>,
    mut state: ResMut<ResultsState>,
    mut game: MessageWriter<GameCommand>,
) {
    state.frames_shown += 1;
    state.idle_s += time.delta_secs();
    // Autoplay quits from the results screen (see `capture`); it does not go back.
    if options.loop_rounds && state.idle_s >= LOOP_RESULTS_S {
        state.idle_s = 0.0;
        game.write(GameCommand(GameAction::Start));
    } else if !options.autoplay && state.idle_s >= RESULTS_TIMEOUT_S {
        state.idle_s = 0.0;
        game.write(GameCommand(GameAction::Attract));
    }
}

/// Where the results screen's parts go in a window of `window` pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsLayout {
    pub heading: egui::Rect,
    /// One cell per target: the emoji on top, its time below.
    pub targets: Vec<egui::Rect>,
    pub table: egui::Rect,
    /// The keyboard's keys (as [`KEYBOARD`], row by row).
    pub keys: Vec<(&'static str, egui::Rect)>,
    pub done: egui::Rect,
}

impl ResultsLayout {
    pub fn compute(window: egui::Vec2, targets: usize) -> Self {
        let m = theme::scaled(window, theme::MARGIN_PX);
        let heading = egui::Rect::from_min_size(
            egui::pos2(m, m),
            egui::vec2(window.x - 2.0 * m, theme::scaled(window, HEADING_BAND_PX)),
        );
        let n = targets.max(1) as f32;
        let cell = ((window.x - 2.0 * m) / n).min(theme::scaled(window, TARGET_CELL_PX));
        let row_y = heading.max.y + m;
        let row_x = (window.x - cell * n) / 2.0;
        let targets = (0..targets)
            .map(|i| {
                egui::Rect::from_min_size(egui::pos2(row_x + i as f32 * cell, row_y), egui::vec2(cell, cell * 1.3))
            })
            .collect::<Vec<_>>();
        let below_row = row_y + cell * 1.3 + m;
        // Done: bottom right. Keyboard: bottom left (landscape) or above Done (portrait).
        let bh = theme::touch(window, theme::BIG_BUTTON_PX);
        let done_w = theme::touch(window, DONE_WIDTH_PX);
        let done =
            egui::Rect::from_min_size(egui::pos2(window.x - m - done_w, window.y - m - bh), egui::vec2(done_w, bh));
        let key = theme::touch(window, theme::SMALL_BUTTON_PX);
        let gap = theme::scaled(window, KEY_GAP_PX);
        let rows = KEYBOARD.len() as f32;
        let landscape = window.x >= window.y;
        let kb_bottom = if landscape { window.y - m } else { done.min.y - m };
        let kb_top = kb_bottom - rows * key - (rows - 1.0) * gap;
        let mut keys = Vec::with_capacity(40);
        for (r, row) in KEYBOARD.iter().enumerate() {
            for (c, name) in row.iter().enumerate() {
                // "OK" is two keys wide.
                let w = if *name == "OK" { 2.0 * key + gap } else { key };
                let min = egui::pos2(m + c as f32 * (key + gap), kb_top + r as f32 * (key + gap));
                keys.push((*name, egui::Rect::from_min_size(min, egui::vec2(w, key))));
            }
        }
        let kb_right = m + 10.0 * (key + gap);
        let table = if landscape {
            egui::Rect::from_min_max(egui::pos2(kb_right + m, below_row), egui::pos2(window.x - m, done.min.y - m))
        } else {
            egui::Rect::from_min_max(egui::pos2(m, below_row), egui::pos2(window.x - m, kb_top - m))
        };
        Self { heading, targets, table, keys, done }
    }
}

/// The window-centred world position (y up) of a window-pixel point (y down).
fn world_of(p: egui::Pos2, window: Vec2) -> Vec2 {
    Vec2::new(p.x - window.x / 2.0, window.y / 2.0 - p.y)
}

fn spawn_results(mut commands: Commands, last: Res<LastRound>) {
    commands.spawn((
        Name::new("Results dimmer"),
        Dimmer,
        Sprite { color: DIMMER, custom_size: Some(Vec2::ONE), ..default() },
        Transform::from_xyz(0.0, 0.0, DIMMER_Z),
        DespawnOnExit(Screen::Results),
    ));
    let Some(round) = &last.0 else { return };
    for (i, t) in round.targets.iter().enumerate() {
        commands.spawn((
            Name::new(format!("Result emoji {}", t.emotion)),
            RowEmoji(i),
            BigEmoji { look: emoji::look_of(&t.emotion), size_px: 1.0 },
            Transform::from_xyz(0.0, 0.0, ROW_EMOJI_Z),
            DespawnOnExit(Screen::Results),
        ));
    }
}

/// Keeps the dimmer over the window and each row emoji in its cell.
fn place_results_entities(
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    last: Res<LastRound>,
    mut dimmer: Query<&mut Transform, (With<Dimmer>, Without<RowEmoji>)>,
    mut row: Query<(&RowEmoji, &mut BigEmoji, &mut Transform), Without<Dimmer>>,
) {
    let Ok(window) = windows.single() else { return };
    let size = Vec2::new(window.width(), window.height());
    for mut tf in &mut dimmer {
        tf.scale = size.extend(1.0);
    }
    let n = last.0.as_ref().map_or(0, |r| r.targets.len());
    let layout = ResultsLayout::compute(egui::vec2(size.x, size.y), n);
    for (RowEmoji(i), mut big, mut tf) in &mut row {
        let Some(cell) = layout.targets.get(*i) else { continue };
        let side = cell.width() * EMOJI_SHARE;
        let centre = egui::pos2(cell.center().x, cell.min.y + cell.width() / 2.0);
        tf.translation = world_of(centre, size).extend(ROW_EMOJI_Z);
        if big.size_px != side {
            big.size_px = side;
        }
    }
}

/// "12.3 s", or "missed" for a target nobody reached (skipped, or the time ran out).
pub fn target_text(reached: bool, time_s: f32) -> String {
    if reached { format!("{time_s:.1} s") } else { "missed".to_string() }
}

#[allow(clippy::too_many_arguments)]
fn results_ui(
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut contexts: EguiContexts,
    last: Res<LastRound>,
    options: Res<ChallengeOptions>,
    mut scores: Option<ResMut<Scores>>,
    mut state: ResMut<ResultsState>,
    mut on_screen: ResMut<OnScreen>,
    mut game: MessageWriter<GameCommand>,
) -> Result {
    // The window's own size (egui's screen is a placeholder until its first input).
    let Ok(window) = windows.single() else { return Ok(()) };
    let window = egui::vec2(window.width(), window.height());
    let ctx = contexts.ctx_mut()?;
    let round = last.0.as_ref();
    let layout = ResultsLayout::compute(window, round.map_or(0, |r| r.targets.len()));
    let body = theme::scaled(window, BODY_PX);
    // Heading: the team's score, and each scoring player's when there were several.
    let heading = round.map_or_else(|| "No round played".to_string(), |r| format!("Score: {}", r.score));
    let text = egui::RichText::new(heading).size(theme::scaled(window, HEADING_PX)).strong();
    let drawn = theme::text_at(ctx, "results-heading", layout.heading, text, egui::Align::Center);
    on_screen.item("score", theme::rect_px(drawn));
    if let Some(line) = round.and_then(players_line) {
        let below = egui::Rect::from_min_size(egui::pos2(drawn.min.x, drawn.max.y), egui::vec2(drawn.width(), body));
        let drawn = theme::text_at(
            ctx,
            "results-players",
            below,
            egui::RichText::new(line).size(body * 0.8),
            egui::Align::Center,
        );
        on_screen.item("players", theme::rect_px(drawn));
    }
    // Each target's time under its emoji (the emoji are entities, see `place_results_entities`).
    if let Some(r) = round {
        for (i, (t, cell)) in r.targets.iter().zip(&layout.targets).enumerate() {
            let below = egui::Rect::from_min_max(egui::pos2(cell.min.x, cell.min.y + cell.width()), cell.max);
            egui::Area::new(egui::Id::new(("target-time", i))).fixed_pos(below.min).interactable(false).show(
                ctx,
                |ui| {
                    ui.set_width(below.width());
                    ui.vertical_centered(|ui| {
                        ui.label(
                            egui::RichText::new(target_text(t.reached, t.time_s))
                                .size(body * 0.7)
                                .color(egui::Color32::WHITE),
                        );
                    });
                },
            );
            on_screen.item(&format!("target-{}", t.emotion), theme::rect_px(*cell));
        }
    }
    // The high-score table.
    let table_text = table_text(&state, entering_initials(&state, &options));
    let drawn = theme::text_at(
        ctx,
        "high-scores",
        layout.table,
        egui::RichText::new(table_text).size(body).monospace(),
        egui::Align::Min,
    );
    on_screen.item("table", theme::rect_px(drawn));
    // Initials.
    if entering_initials(&state, &options) {
        let mut save = false;
        for (name, rect) in &layout.keys {
            if theme::button_at(ctx, &mut on_screen, &format!("key-{name}"), name, *rect, theme::SECONDARY) {
                state.idle_s = 0.0;
                save |= apply_key(&mut state.initials, name);
            }
        }
        if save {
            save_initials(scores.as_deref_mut(), &mut state);
        }
    }
    if theme::button_at(ctx, &mut on_screen, "done", "Done", layout.done, theme::PRIMARY) {
        game.write(GameCommand(GameAction::Attract));
    }
    Ok(())
}

/// Most players listed by name on the results screen (the rest are in the team score).
const PLAYERS_SHOWN: usize = 6;

/// "Player 1: 120 · Player 2: 80" for the players who scored, when more than one did.
pub fn players_line(round: &RoundResult) -> Option<String> {
    let scored: Vec<_> = round.players.iter().filter(|p| p.score > 0).take(PLAYERS_SHOWN).collect();
    if scored.len() < 2 {
        return None;
    }
    let parts: Vec<String> = scored.iter().enumerate().map(|(i, p)| format!("Player {}: {}", i + 1, p.score)).collect();
    Some(parts.join("  \u{b7}  "))
}

/// The table as text: place, initials, score, targets reached; this game marked.
pub fn table_text(state: &ResultsState, asking_initials: bool) -> String {
    if let Some(p) = &state.problem {
        return p.clone();
    }
    let mut s = String::from("High scores\n");
    for (i, g) in state.top.iter().enumerate() {
        let mine = Some(g.id) == state.game_id;
        let initials = if mine && asking_initials {
            format!("{:_<3}", state.initials)
        } else {
            g.initials.clone().unwrap_or_else(|| "---".to_string())
        };
        let mark = if mine { "<" } else { "" };
        s.push_str(&format!(
            "{:>2}. {initials:<3} {:>6}  {}/{} {mark}\n",
            i + 1,
            g.score,
            g.reached(),
            g.targets.len()
        ));
    }
    if let Some(rank) = state.rank.filter(|r| *r > TABLE_ROWS) {
        s.push_str(&format!("Your place: {rank}\n"));
    }
    if asking_initials {
        s.push_str("Type your initials and press OK");
    }
    s
}

#[cfg(test)]
mod tests {
    use bevy::state::app::StatesPlugin;

    use super::*;
    use crate::game::{EndReason, PlayerScore, TargetResult};

    fn round(score: u32) -> RoundResult {
        RoundResult {
            targets: vec![
                TargetResult { emotion: "happy".into(), reached: true, time_s: 2.5, points: score, players: vec![1] },
                TargetResult { emotion: "fear".into(), reached: false, time_s: 8.0, points: 0, players: vec![] },
            ],
            players: vec![PlayerScore { id: 1, score, reached: 1 }],
            score,
            reason: EndReason::AllTargets,
            duration_s: 10.5,
        }
    }

    fn app(dir: &Path) -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, StatesPlugin))
            .configure_sets(
                Update,
                (AppSystems::Input, AppSystems::Receive, AppSystems::Track, AppSystems::Present).chain(),
            )
            .add_plugins(super::super::state_plugin)
            .init_resource::<ButtonInput<KeyCode>>()
            .insert_resource(Scores::open(Some(dir)))
            .init_resource::<ResultsState>()
            .add_systems(OnEnter(Screen::Results), record_round)
            .add_systems(
                Update,
                (type_initials, time_out_results).in_set(AppSystems::Present).run_if(in_state(Screen::Results)),
            );
        app.update();
        app
    }

    fn press(app: &mut App, key: KeyCode) {
        app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(key);
        app.update();
        let mut input = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
        input.release(key);
        input.clear();
    }

    #[test]
    fn entering_results_records_the_round_and_keys_store_the_initials() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = app(dir.path());
        app.world_mut().resource_mut::<LastRound>().0 = Some(round(420));
        app.world_mut().resource_mut::<NextState<Screen>>().set(Screen::Results);
        app.update();
        let id = app.world().resource::<ResultsState>().game_id.expect("the round is recorded");
        assert_eq!(app.world().resource::<ResultsState>().rank, Some(1));
        for k in [KeyCode::KeyA, KeyCode::KeyX, KeyCode::Backspace, KeyCode::KeyB, KeyCode::Digit7, KeyCode::KeyZ] {
            press(&mut app, k);
        }
        assert_eq!(app.world().resource::<ResultsState>().initials, "AB7", "at most three, DEL deletes");
        press(&mut app, KeyCode::Enter);
        assert!(app.world().resource::<ResultsState>().initials_saved);
        // Reopened, the database holds the game with its initials and targets.
        let store = ScoreStore::open_in(dir.path()).expect("reopen");
        let top = store.top(10).expect("top");
        assert_eq!(top.len(), 1);
        assert_eq!((top[0].id, top[0].score, top[0].initials.as_deref()), (id, 420, Some("AB7")));
        assert_eq!(top[0].targets.len(), 2);
        assert!(top[0].targets[0].reached && !top[0].targets[1].reached);
    }

    #[test]
    fn without_a_database_the_results_say_scores_are_not_saved() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, b"a file where the data folder should be").expect("write");
        let mut app = app(&file);
        assert!(app.world().resource::<Scores>().0.is_none());
        app.world_mut().resource_mut::<LastRound>().0 = Some(round(10));
        app.world_mut().resource_mut::<NextState<Screen>>().set(Screen::Results);
        app.update();
        let state = app.world().resource::<ResultsState>();
        assert_eq!(state.game_id, None);
        assert_eq!(table_text(state, false), NOT_SAVING);
    }

    #[test]
    fn the_results_time_out_to_attract() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = app(dir.path());
        app.world_mut().resource_mut::<Time<Virtual>>().set_max_delta(std::time::Duration::from_secs(600));
        app.world_mut().resource_mut::<NextState<Screen>>().set(Screen::Results);
        app.update();
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(std::time::Duration::from_secs_f32(
            RESULTS_TIMEOUT_S / 2.0 + 1.0,
        )));
        app.update();
        app.update();
        app.update();
        assert_eq!(*app.world().resource::<State<Screen>>().get(), Screen::Attract);
    }

    #[test]
    fn with_loop_rounds_the_results_start_the_next_round() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = app(dir.path());
        app.world_mut().resource_mut::<ChallengeOptions>().loop_rounds = true;
        app.world_mut().resource_mut::<Time<Virtual>>().set_max_delta(std::time::Duration::from_secs(600));
        app.world_mut().resource_mut::<NextState<Screen>>().set(Screen::Results);
        app.update();
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(std::time::Duration::from_secs_f32(
            LOOP_RESULTS_S / 2.0 + 0.1,
        )));
        // Two frames to pass the time, one to act on the command, one for the transition.
        for _ in 0..4 {
            app.update();
        }
        assert_eq!(*app.world().resource::<State<Screen>>().get(), Screen::Challenge, "the next round, not attract");
    }

    #[test]
    fn the_layout_keeps_keys_and_done_in_the_lower_half_and_inside() {
        for window in [egui::vec2(1920.0, 1080.0), egui::vec2(1080.0, 1920.0)] {
            let l = ResultsLayout::compute(window, 10);
            let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, window);
            for r in l.keys.iter().map(|(_, r)| r).chain([&l.done]) {
                assert!(screen.contains_rect(*r) && r.min.y >= window.y / 2.0, "{r:?} in {window:?}");
                assert!(r.height() >= theme::MIN_TOUCH_PX && r.width() >= theme::MIN_TOUCH_PX);
            }
            for c in &l.targets {
                assert!(screen.contains_rect(*c), "{c:?}");
                assert!(!c.intersects(l.table));
            }
            assert!(l.keys.iter().all(|(_, k)| !k.intersects(l.done) && !k.intersects(l.table)));
        }
    }

    #[test]
    fn touch_keys_edit_the_initials() {
        let mut s = String::new();
        assert!(!apply_key(&mut s, "OK"), "nothing to save yet");
        for k in ["A", "B", "C", "D"] {
            apply_key(&mut s, k);
        }
        assert_eq!(s, "ABC");
        apply_key(&mut s, "DEL");
        assert_eq!(s, "AB");
        assert!(apply_key(&mut s, "OK"));
        assert_eq!(char_of(KeyCode::KeyQ), Some('Q'));
        assert_eq!(char_of(KeyCode::Digit0), Some('0'));
        assert_eq!(char_of(KeyCode::Space), None);
    }
}
