//! Hotkeys and what they change: the view settings (h, f, 1-4, c, d, l, space), the
//! screen (Enter/g, m, a, ESC) and the challenge (s, +, -), as [`GameCommand`]s. Quitting
//! is deliberate (kiosk use): Ctrl+Q, or ESC three times within two seconds on the
//! attract screen; a window close or SIGTERM quits too. With `--kiosk` (see [`super::kiosk`])
//! the operator keys wait for the operator lock and no key quits: ESC only goes back.

use bevy::prelude::*;
use bevy::window::{MonitorSelection, PrimaryWindow, WindowMode};
use bevy_egui::input::EguiWantsInput;

use super::analysis::AnalysisWorker;
use super::kiosk::Kiosk;
use super::screens::results::{self, ResultsState};
use super::screens::{ChallengeOptions, GameAction, GameCommand, Screen};
use super::{AppSystems, LayoutMode, PipelineSettings, ViewSettings};
use crate::compose;
use crate::engine::EngineCommand;
use crate::vision::DetectorKind;

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<ButtonInput<KeyCode>>()
        .add_message::<DetectorRequest>()
        .add_message::<GameCommand>()
        .add_systems(Update, apply_hotkeys.in_set(AppSystems::Input).in_set(Hotkeys).run_if(not_typing_in_egui))
        .add_systems(Update, (apply_detector_requests, forward_settings_changes).chain().in_set(AppSystems::Receive));
}

/// The hotkeys system (the kiosk's lock runs before it).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hotkeys;

/// Switches the detector in the settings (the worker reopens it).
fn apply_detector_requests(mut requests: MessageReader<DetectorRequest>, mut settings: ResMut<PipelineSettings>) {
    for r in requests.read() {
        let kind = match r.0 {
            None => DetectorKind::Centerface,
            Some(n) => match DetectorKind::from_hotkey(n) {
                Some(k) => k,
                None => continue,
            },
        };
        if settings.0.detector_kind != kind {
            settings.0.detector_kind = kind;
        }
    }
}

/// Asks for a detector: `None` is the CNN (CenterFace), `Some(1..=4)` a Haar cascade.
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectorRequest(pub Option<u8>);

fn not_typing_in_egui(wants: Option<Res<EguiWantsInput>>) -> bool {
    wants.is_none_or(|w| !w.wants_any_keyboard_input())
}

/// The action of a key, if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// ESC: back to the attract screen (three times within [`QUIT_WINDOW_S`] there: quit).
    Back,
    /// Ctrl+Q: quit.
    Quit,
    Help,
    Fullscreen,
    Cascade(u8),
    Cnn,
    Debug,
    Layout,
    Pause,
    /// A game action (start, mirror, attract, skip, harder, easier).
    Game(GameAction),
}

/// The controls table (also shown in the help panel): key, action.
pub const CONTROLS: &[(&str, &str)] = &[
    ("Enter / g", "play the challenge"),
    ("m", "just mirror (free play)"),
    ("a", "attract screen"),
    ("s", "skip the target (challenge)"),
    ("+ / -", "challenge harder / easier"),
    ("ESC", "back to the attract screen"),
    ("Ctrl+Q", "quit (or ESC 3 times within 2 s on the attract screen)"),
    ("h", "this help"),
    ("f", "full screen"),
    ("1-4", "Haar cascade default / alt / alt2 / alt-tree"),
    ("c", "CNN face detector (CenterFace)"),
    ("d", "debug overlay: boxes, labels, ids"),
    ("l", "layout: mirror / three panes"),
    ("space", "pause"),
    ("k", "Fool the AI: change the largest face until the AI misreads it (Left/Right: target, ESC: back)"),
];

/// ESC presses on the attract screen that quit, and the seconds they must fall within.
pub const QUIT_PRESSES: usize = 3;
pub const QUIT_WINDOW_S: f32 = 2.0;

pub fn action_of(key: KeyCode) -> Option<Action> {
    Some(match key {
        KeyCode::Escape => Action::Back,
        KeyCode::KeyQ => Action::Quit,
        KeyCode::KeyH => Action::Help,
        KeyCode::KeyF => Action::Fullscreen,
        KeyCode::Digit1 => Action::Cascade(1),
        KeyCode::Digit2 => Action::Cascade(2),
        KeyCode::Digit3 => Action::Cascade(3),
        KeyCode::Digit4 => Action::Cascade(4),
        KeyCode::KeyC => Action::Cnn,
        KeyCode::KeyD => Action::Debug,
        KeyCode::KeyL => Action::Layout,
        KeyCode::Space => Action::Pause,
        KeyCode::Enter | KeyCode::NumpadEnter | KeyCode::KeyG => Action::Game(GameAction::Start),
        KeyCode::KeyM => Action::Game(GameAction::Mirror),
        KeyCode::KeyA => Action::Game(GameAction::Attract),
        KeyCode::KeyS => Action::Game(GameAction::Skip),
        KeyCode::Equal | KeyCode::NumpadAdd => Action::Game(GameAction::Harder),
        KeyCode::Minus | KeyCode::NumpadSubtract => Action::Game(GameAction::Easier),
        _ => return None,
    })
}

/// Applies one action to the view settings; returns a detector request if any.
pub fn apply(action: Action, view: &mut ViewSettings) -> Option<DetectorRequest> {
    match action {
        Action::Help => view.show_help = !view.show_help,
        Action::Debug => view.debug_overlay = !view.debug_overlay,
        Action::Layout => {
            view.layout = match view.layout {
                LayoutMode::Mirror => LayoutMode::ThreePane,
                LayoutMode::ThreePane => LayoutMode::Mirror,
            }
        }
        Action::Pause => view.paused = !view.paused,
        Action::Cascade(n) => return Some(DetectorRequest(Some(n))),
        Action::Cnn => return Some(DetectorRequest(None)),
        Action::Back | Action::Quit | Action::Fullscreen | Action::Game(_) => {}
    }
    None
}

/// The deliberate quit of kiosk use: [`QUIT_PRESSES`] ESC presses within [`QUIT_WINDOW_S`].
#[derive(Debug, Clone, Default)]
pub struct QuitGesture {
    /// Times (seconds) of the latest presses, oldest first.
    presses_s: Vec<f32>,
}

impl QuitGesture {
    /// Counts a press at `now_s`; true when it completes the gesture (which then starts over).
    pub fn press(&mut self, now_s: f32) -> bool {
        self.presses_s.retain(|t| now_s - *t <= QUIT_WINDOW_S);
        self.presses_s.push(now_s);
        if self.presses_s.len() >= QUIT_PRESSES {
            self.presses_s.clear();
            return true;
        }
        false
    }
}

/// Whether `key` types into the results screen's initials (so it is no hotkey there).
pub fn types_initials(key: KeyCode) -> bool {
    results::char_of(key).is_some() || matches!(key, KeyCode::Backspace | KeyCode::Enter | KeyCode::NumpadEnter)
}

/// Whether the results screen takes letters, digits, Backspace and Enter for initials.
#[derive(bevy::ecs::system::SystemParam)]
struct TypingInitials<'w> {
    results: Option<Res<'w, ResultsState>>,
    options: Option<Res<'w, ChallengeOptions>>,
}

impl TypingInitials<'_> {
    fn now(&self) -> bool {
        // Without the results screen's state (tests of the keys alone): as when typing.
        let autoplay = self.options.as_ref().is_some_and(|o| o.autoplay);
        self.results.as_ref().is_none_or(|r| r.entering_initials(autoplay))
    }
}

/// Whether the kiosk lets `action` through now (without `--kiosk`: every action).
pub fn kiosk_allows(action: Action, kiosk: Option<&Kiosk>) -> bool {
    let Some(kiosk) = kiosk else { return true };
    match action {
        // Visitors play; ESC goes back but never quits, and no key quits.
        Action::Game(_) | Action::Back => true,
        Action::Quit => false,
        Action::Help
        | Action::Fullscreen
        | Action::Cascade(_)
        | Action::Cnn
        | Action::Debug
        | Action::Layout
        | Action::Pause => kiosk.unlocked(),
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_hotkeys(
    keys: Res<ButtonInput<KeyCode>>,
    time: Res<Time>,
    screen: Option<Res<State<Screen>>>,
    typing: TypingInitials,
    mut view: ResMut<ViewSettings>,
    mut requests: MessageWriter<DetectorRequest>,
    mut game: MessageWriter<GameCommand>,
    mut exit: MessageWriter<AppExit>,
    mut windows: Query<&mut Window, With<PrimaryWindow>>,
    mut quit: Local<QuitGesture>,
    kiosk: Option<Res<Kiosk>>,
) {
    let kiosk = kiosk.as_deref();
    if kiosk.is_some_and(|k| k.took_keys) {
        return;
    }
    let screen = screen.map_or(Screen::Attract, |s| *s.get());
    let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    for key in keys.get_just_pressed() {
        if screen == Screen::Results && typing.now() && types_initials(*key) && !ctrl {
            continue;
        }
        let Some(action) = action_of(*key).filter(|a| kiosk_allows(*a, kiosk)) else { continue };
        match action {
            Action::Quit => {
                if ctrl {
                    exit.write(AppExit::Success);
                }
            }
            Action::Back => {
                if screen != Screen::Attract {
                    game.write(GameCommand(GameAction::Attract));
                } else if kiosk.is_none() && quit.press(time.elapsed_secs()) {
                    exit.write(AppExit::Success);
                }
            }
            Action::Game(a) => {
                game.write(GameCommand(a));
            }
            Action::Fullscreen => {
                for mut w in &mut windows {
                    w.mode = match w.mode {
                        WindowMode::Windowed => WindowMode::BorderlessFullscreen(MonitorSelection::Current),
                        _ => WindowMode::Windowed,
                    };
                }
            }
            other => {
                if let Some(r) = apply(other, &mut view) {
                    requests.write(r);
                }
            }
        }
    }
}

/// Sends changed settings and the pause state to the analysis engine.
fn forward_settings_changes(
    settings: Res<PipelineSettings>,
    view: Res<ViewSettings>,
    worker: Option<Res<AnalysisWorker>>,
    mut sent: Local<Option<crate::config::Settings>>,
    mut last_paused: Local<bool>,
) {
    let Some(worker) = worker else { return };
    let before = sent.get_or_insert_with(|| settings.0.clone());
    if settings.is_changed() && *before != settings.0 {
        let new = &settings.0;
        let detector = compose::detector_spec(new);
        if detector != compose::detector_spec(before) {
            worker.send(EngineCommand::Detector(detector));
        }
        if new.tracking != before.tracking {
            worker.send(EngineCommand::Tracking(new.tracking.clone()));
        }
        *before = new.clone();
    }
    if view.paused != *last_paused {
        *last_paused = view.paused;
        worker.send(EngineCommand::Pause(view.paused));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> App {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, bevy::state::app::StatesPlugin))
            .configure_sets(Update, (AppSystems::Input, AppSystems::Receive, AppSystems::Track).chain())
            .insert_resource(ViewSettings::default())
            .insert_resource(PipelineSettings(crate::config::Settings::default()))
            .add_plugins((plugin, super::super::screens::state_plugin));
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
    fn hotkeys_change_layout_overlay_help_and_pause() {
        let mut app = app();
        press(&mut app, KeyCode::KeyL);
        assert_eq!(app.world().resource::<ViewSettings>().layout, LayoutMode::ThreePane);
        press(&mut app, KeyCode::KeyD);
        assert!(app.world().resource::<ViewSettings>().debug_overlay);
        press(&mut app, KeyCode::KeyH);
        assert!(app.world().resource::<ViewSettings>().show_help);
        press(&mut app, KeyCode::Space);
        assert!(app.world().resource::<ViewSettings>().paused);
        press(&mut app, KeyCode::KeyL);
        assert_eq!(app.world().resource::<ViewSettings>().layout, LayoutMode::Mirror);
    }

    #[derive(Resource, Default)]
    struct Seen(Vec<DetectorRequest>);

    fn collect(mut r: MessageReader<DetectorRequest>, mut seen: ResMut<Seen>) {
        seen.0.extend(r.read().copied());
    }

    #[test]
    fn number_keys_ask_for_cascades_and_c_for_the_cnn() {
        let mut app = app();
        app.init_resource::<Seen>().add_systems(Last, collect);
        press(&mut app, KeyCode::Digit2);
        press(&mut app, KeyCode::KeyC);
        press(&mut app, KeyCode::Digit4);
        let seen = &app.world().resource::<Seen>().0;
        assert_eq!(seen, &vec![DetectorRequest(Some(2)), DetectorRequest(None), DetectorRequest(Some(4))]);
        assert_eq!(app.world().resource::<PipelineSettings>().0.detector_kind, DetectorKind::HaarAltTree);
        press(&mut app, KeyCode::KeyC);
        assert_eq!(app.world().resource::<PipelineSettings>().0.detector_kind, DetectorKind::Centerface);
        press(&mut app, KeyCode::Digit1);
        assert_eq!(app.world().resource::<PipelineSettings>().0.detector_kind, DetectorKind::HaarDefault);
    }

    fn exits(app: &App) -> usize {
        let exits = app.world().resource::<Messages<AppExit>>();
        exits.get_cursor().read(exits).filter(|e| **e == AppExit::Success).count()
    }

    fn go_to(app: &mut App, screen: Screen) {
        app.world_mut().resource_mut::<NextState<Screen>>().set(screen);
        app.update();
    }

    fn screen(app: &App) -> Screen {
        *app.world().resource::<State<Screen>>().get()
    }

    #[test]
    fn escape_goes_back_to_attract_and_quits_only_when_pressed_three_times_there() {
        let mut app = app();
        go_to(&mut app, Screen::Mirror);
        press(&mut app, KeyCode::Escape);
        app.update();
        assert_eq!(screen(&app), Screen::Attract);
        assert_eq!(exits(&app), 0, "ESC on the mirror does not quit");
        press(&mut app, KeyCode::Escape);
        press(&mut app, KeyCode::Escape);
        assert_eq!(exits(&app), 0, "two presses do not quit");
        press(&mut app, KeyCode::Escape);
        assert_eq!(exits(&app), 1, "the third press within the window quits");
    }

    #[test]
    fn ctrl_q_quits_and_q_alone_does_not() {
        let mut app = app();
        press(&mut app, KeyCode::KeyQ);
        assert_eq!(exits(&app), 0);
        app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(KeyCode::ControlLeft);
        press(&mut app, KeyCode::KeyQ);
        assert_eq!(exits(&app), 1);
    }

    #[test]
    fn the_quit_gesture_needs_its_presses_within_the_window() {
        let mut g = QuitGesture::default();
        assert!(!g.press(0.0));
        assert!(!g.press(1.5));
        assert!(!g.press(3.0), "the first press is too old by now");
        assert!(g.press(3.2));
        assert!(!g.press(3.3), "the gesture starts over");
    }

    fn kiosk_app() -> App {
        let mut app = app();
        app.insert_resource(Kiosk::new(crate::config::KioskSettings::default()));
        app
    }

    #[test]
    fn in_kiosk_mode_no_key_quits_and_esc_only_goes_back() {
        let mut app = kiosk_app();
        go_to(&mut app, Screen::Mirror);
        press(&mut app, KeyCode::Escape);
        app.update();
        assert_eq!(screen(&app), Screen::Attract);
        for _ in 0..5 {
            press(&mut app, KeyCode::Escape);
        }
        app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(KeyCode::ControlLeft);
        press(&mut app, KeyCode::KeyQ);
        assert_eq!(exits(&app), 0, "neither ESC x5 nor Ctrl+Q quits a kiosk");
        app.world_mut().resource_mut::<Kiosk>().gesture(0.0);
        press(&mut app, KeyCode::KeyQ);
        for _ in 0..3 {
            press(&mut app, KeyCode::Escape);
        }
        assert_eq!(exits(&app), 0, "not even unlocked: the operator panel's Quit does");
    }

    #[test]
    fn in_kiosk_mode_operator_keys_wait_for_the_unlock_and_game_keys_do_not() {
        let mut app = kiosk_app();
        for key in [KeyCode::KeyH, KeyCode::KeyL, KeyCode::KeyD, KeyCode::Space, KeyCode::Digit2] {
            press(&mut app, key);
        }
        assert_eq!(*app.world().resource::<ViewSettings>(), ViewSettings::default(), "locked");
        assert_eq!(app.world().resource::<PipelineSettings>().0.detector_kind, DetectorKind::default());
        press(&mut app, KeyCode::KeyM);
        app.update();
        assert_eq!(screen(&app), Screen::Mirror, "visitors still play");
        app.world_mut().resource_mut::<Kiosk>().gesture(0.0);
        press(&mut app, KeyCode::KeyL);
        assert_eq!(app.world().resource::<ViewSettings>().layout, LayoutMode::ThreePane, "unlocked");
    }

    #[test]
    fn game_keys_change_the_screen_but_type_initials_on_the_results() {
        let mut app = app();
        press(&mut app, KeyCode::KeyM);
        app.update();
        assert_eq!(screen(&app), Screen::Mirror);
        press(&mut app, KeyCode::KeyG);
        app.update();
        assert_eq!(screen(&app), Screen::Challenge);
        go_to(&mut app, Screen::Results);
        press(&mut app, KeyCode::KeyA);
        press(&mut app, KeyCode::KeyH);
        app.update();
        assert_eq!(screen(&app), Screen::Results, "a types an initial on the results screen");
        assert!(!app.world().resource::<ViewSettings>().show_help, "so does h");
        press(&mut app, KeyCode::Escape);
        app.update();
        assert_eq!(screen(&app), Screen::Attract);
    }

    #[test]
    fn keys_are_hotkeys_again_on_results_without_initials_to_enter() {
        let mut app = app();
        // No game recorded (no database): nothing to type.
        app.init_resource::<ResultsState>();
        go_to(&mut app, Screen::Results);
        press(&mut app, KeyCode::KeyM);
        app.update();
        assert_eq!(screen(&app), Screen::Mirror);
    }
}
