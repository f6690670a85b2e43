//! Kiosk mode (`--kiosk`): the operator lock, its gestures, the PIN pad and the operator panel.
//!
//! In kiosk mode visitors get only the game's keys and buttons. The operator keys (h, f,
//! 1-4, c, d, l, space) do nothing and no key quits (ESC goes back to the attract screen)
//! until the operator unlocks with [`OPERATOR_CHORD`] or a three-finger long press
//! ([`LONG_PRESS_FINGERS`] touches held [`LONG_PRESS_S`] seconds), then types the PIN of the
//! settings file's `[kiosk] operator_pin`, if one is set. The unlocked operator panel is the
//! help panel plus "Quit" and "Lock"; it locks itself after `[kiosk] relock_after_s`
//! seconds without input. Quitting: the panel's Quit, a window close or a signal. The panel
//! also lists what the operator should know ([`operator_warnings`]): a camera or model
//! problem, score writes that fail (a full disk) — details visitors never see.
//!
//! | input                           | action                          |
//! |---------------------------------|---------------------------------|
//! | Ctrl+Alt+O, 3 fingers for 2 s   | PIN pad, or the panel (no PIN)  |
//! | 0-9, Backspace, Enter (PIN pad) | type, erase, check the PIN      |
//! | ESC (PIN pad)                   | close the PIN pad               |

use bevy::input::touch::{TouchInput, TouchPhase};
use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::screens::OnScreen;
use super::screens::results::Scores;
use super::ui::UiRects;
use super::video::SourceStatus;
use super::{AppSystems, ViewSettings};
use crate::config::KioskSettings;

/// The key chord that opens the operator lock, as the help shows it.
pub const OPERATOR_CHORD: &str = "Ctrl+Alt+O";
/// Fingers held down for the long press that opens the operator lock.
pub const LONG_PRESS_FINGERS: usize = 3;
/// Seconds the fingers must be held for the long press.
pub const LONG_PRESS_S: f32 = 2.0;
/// Most digits a PIN may have (the pad takes no more).
pub const PIN_MAX_DIGITS: usize = 12;
/// Side of a PIN pad button (points): touch-sized.
const PAD_BUTTON_PT: f32 = 64.0;
/// Font size of the PIN pad's digits and dots (points).
const PAD_FONT_PT: f32 = 28.0;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Update, unlock_operator.in_set(AppSystems::Input).before(super::controls::Hotkeys))
        .add_systems(EguiPrimaryContextPass, operator_ui);
}

/// Where the operator lock stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorLock {
    /// Visitors only: the operator keys and the panel are locked.
    Locked,
    /// The PIN pad is open; the digits typed so far.
    EnteringPin(String),
    /// The operator panel is open.
    Unlocked,
}

/// The kiosk: its settings and the operator lock. Present only with `--kiosk`.
#[derive(Resource, Debug, Clone)]
pub struct Kiosk {
    pub settings: KioskSettings,
    pub lock: OperatorLock,
    /// Time (seconds since start) of the operator's latest input.
    last_input_s: f32,
    /// Wrong PINs since the pad was opened (shown on the pad).
    pub wrong_pins: u32,
    /// Whether the lock took this frame's keys (the chord, the PIN pad's): they are no hotkeys then.
    pub took_keys: bool,
}

impl Kiosk {
    pub fn new(settings: KioskSettings) -> Self {
        Self { settings, lock: OperatorLock::Locked, last_input_s: 0.0, wrong_pins: 0, took_keys: false }
    }

    /// Whether the operator keys work now.
    pub fn unlocked(&self) -> bool {
        self.lock == OperatorLock::Unlocked
    }

    /// Whether the PIN pad is open (it takes the keys).
    pub fn entering_pin(&self) -> bool {
        matches!(self.lock, OperatorLock::EnteringPin(_))
    }

    /// The operator gesture: opens the PIN pad (or the panel when no PIN is set); on an
    /// open pad or panel it locks again.
    pub fn gesture(&mut self, now_s: f32) {
        self.last_input_s = now_s;
        self.wrong_pins = 0;
        self.lock = match (&self.lock, self.pin()) {
            (OperatorLock::Locked, Some(_)) => OperatorLock::EnteringPin(String::new()),
            (OperatorLock::Locked, None) => OperatorLock::Unlocked,
            _ => OperatorLock::Locked,
        };
    }

    /// The PIN to ask for (an empty one counts as none).
    fn pin(&self) -> Option<&str> {
        self.settings.operator_pin.as_deref().filter(|p| !p.is_empty())
    }

    /// Types a digit on the PIN pad.
    pub fn type_digit(&mut self, digit: char, now_s: f32) {
        self.last_input_s = now_s;
        if let OperatorLock::EnteringPin(typed) = &mut self.lock
            && digit.is_ascii_digit()
            && typed.len() < PIN_MAX_DIGITS
        {
            typed.push(digit);
        }
    }

    /// Erases the last digit on the PIN pad.
    pub fn erase_digit(&mut self, now_s: f32) {
        self.last_input_s = now_s;
        if let OperatorLock::EnteringPin(typed) = &mut self.lock {
            typed.pop();
        }
    }

    /// Checks the typed PIN: right unlocks; wrong clears the pad for another try.
    pub fn submit_pin(&mut self, now_s: f32) -> bool {
        self.last_input_s = now_s;
        let OperatorLock::EnteringPin(typed) = &self.lock else { return false };
        if self.pin().is_none_or(|pin| pin == typed) {
            self.lock = OperatorLock::Unlocked;
            return true;
        }
        self.wrong_pins += 1;
        self.lock = OperatorLock::EnteringPin(String::new());
        false
    }

    /// Locks at once (the panel's Lock button, ESC on the PIN pad).
    pub fn lock(&mut self) {
        self.lock = OperatorLock::Locked;
    }

    /// Notes operator input at `now_s` (keeps an open pad or panel from locking itself).
    pub fn input(&mut self, now_s: f32) {
        self.last_input_s = now_s;
    }

    /// Locks an open pad or panel after `relock_after_s` seconds without input; true when it did.
    pub fn relock_if_idle(&mut self, now_s: f32) -> bool {
        if self.lock != OperatorLock::Locked && now_s - self.last_input_s >= self.settings.relock_after_s {
            self.lock = OperatorLock::Locked;
            return true;
        }
        false
    }
}

/// The three-finger long press: [`LONG_PRESS_FINGERS`] touches held together for
/// [`LONG_PRESS_S`] seconds. It fires once per hold.
#[derive(Debug, Clone, Default)]
pub struct LongPress {
    /// Ids of the fingers down now.
    down: Vec<u64>,
    /// When enough fingers came down (seconds), while they stay down.
    since_s: Option<f32>,
    fired: bool,
}

impl LongPress {
    /// Follows one touch event at `now_s`.
    pub fn touch(&mut self, id: u64, phase: TouchPhase, now_s: f32) {
        match phase {
            TouchPhase::Started => {
                if !self.down.contains(&id) {
                    self.down.push(id);
                }
            }
            TouchPhase::Ended | TouchPhase::Canceled => self.down.retain(|d| *d != id),
            TouchPhase::Moved => {}
        }
        if self.down.len() >= LONG_PRESS_FINGERS {
            self.since_s.get_or_insert(now_s);
        } else {
            self.since_s = None;
            self.fired = false;
        }
    }

    /// True once when the fingers have been held long enough by `now_s`.
    pub fn fires(&mut self, now_s: f32) -> bool {
        if !self.fired && self.since_s.is_some_and(|t| now_s - t >= LONG_PRESS_S) {
            self.fired = true;
            return true;
        }
        false
    }
}

/// The digit a key types on the PIN pad.
fn digit_of(key: KeyCode) -> Option<char> {
    const DIGITS: [(KeyCode, KeyCode); 10] = [
        (KeyCode::Digit0, KeyCode::Numpad0),
        (KeyCode::Digit1, KeyCode::Numpad1),
        (KeyCode::Digit2, KeyCode::Numpad2),
        (KeyCode::Digit3, KeyCode::Numpad3),
        (KeyCode::Digit4, KeyCode::Numpad4),
        (KeyCode::Digit5, KeyCode::Numpad5),
        (KeyCode::Digit6, KeyCode::Numpad6),
        (KeyCode::Digit7, KeyCode::Numpad7),
        (KeyCode::Digit8, KeyCode::Numpad8),
        (KeyCode::Digit9, KeyCode::Numpad9),
    ];
    DIGITS.iter().position(|(d, n)| *d == key || *n == key).and_then(|i| char::from_digit(i as u32, 10))
}

/// The operator chord, the long press, the PIN pad's keys and the idle relock.
fn unlock_operator(
    keys: Res<ButtonInput<KeyCode>>,
    mouse: Option<Res<ButtonInput<MouseButton>>>,
    time: Res<Time<Real>>,
    mut touches: MessageReader<TouchInput>,
    kiosk: Option<ResMut<Kiosk>>,
    mut view: ResMut<ViewSettings>,
    mut long_press: Local<LongPress>,
) {
    let Some(mut kiosk) = kiosk else { return };
    let now_s = time.elapsed_secs();
    let was_unlocked = kiosk.unlocked();
    let mut any_input = keys.get_just_pressed().next().is_some()
        || mouse.as_ref().is_some_and(|m| m.get_just_pressed().next().is_some());
    let mut gesture = false;
    for t in touches.read() {
        any_input = true;
        long_press.touch(t.id, t.phase, now_s);
    }
    gesture |= long_press.fires(now_s);
    let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
    let alt = keys.any_pressed([KeyCode::AltLeft, KeyCode::AltRight]);
    gesture |= ctrl && alt && keys.just_pressed(KeyCode::KeyO);
    kiosk.took_keys = gesture || kiosk.entering_pin();
    if gesture {
        kiosk.gesture(now_s);
    } else if kiosk.entering_pin() {
        for key in keys.get_just_pressed() {
            match key {
                KeyCode::Escape => kiosk.lock(),
                KeyCode::Backspace => kiosk.erase_digit(now_s),
                KeyCode::Enter | KeyCode::NumpadEnter => {
                    kiosk.submit_pin(now_s);
                }
                k => {
                    if let Some(d) = digit_of(*k) {
                        kiosk.type_digit(d, now_s);
                    }
                }
            }
        }
    } else if any_input {
        kiosk.input(now_s);
    }
    kiosk.relock_if_idle(now_s);
    // The help panel is the operator panel: open with the lock, closed without it.
    if kiosk.unlocked() != was_unlocked {
        view.show_help = kiosk.unlocked();
    } else if !kiosk.unlocked() && view.show_help {
        view.show_help = false;
    }
}

/// What the operator should know, one line each: the source's or the models' problem, and
/// the score database's failing writes (how many since start, the latest).
pub fn operator_warnings(status: &SourceStatus, scores: Option<&Scores>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(problem) = &status.problem {
        lines.push(problem.clone());
    }
    let (failures, state) = super::health::score_writes(scores);
    if failures > 0 {
        let latest = if state == crate::health::SCORES_OK { "writing again now".to_string() } else { state };
        lines.push(format!("Scores: {failures} write(s) failed since start; {latest}"));
    }
    lines
}

/// The PIN pad, or the operator panel's Quit and Lock buttons beside the help panel.
#[allow(clippy::too_many_arguments)]
fn operator_ui(
    mut contexts: EguiContexts,
    kiosk: Option<ResMut<Kiosk>>,
    status: Res<SourceStatus>,
    scores: Option<Res<Scores>>,
    time: Res<Time<Real>>,
    mut rects: ResMut<UiRects>,
    mut on_screen: ResMut<OnScreen>,
    mut exit: MessageWriter<AppExit>,
) -> Result {
    let Some(mut kiosk) = kiosk else { return Ok(()) };
    let now_s = time.elapsed_secs();
    if kiosk.lock == OperatorLock::Locked {
        rects.operator = None;
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let rect = |r: egui::Rect| [r.min.x, r.min.y, r.max.x, r.max.y];
    let window = egui::Window::new("Operator")
        .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-16.0, 16.0))
        .resizable(false)
        .collapsible(false);
    let response = if let OperatorLock::EnteringPin(typed) = kiosk.lock.clone() {
        window.show(ctx, |ui| {
            ui.label(egui::RichText::new("Operator PIN").size(PAD_FONT_PT));
            let dots = "●".repeat(typed.len());
            ui.label(egui::RichText::new(if dots.is_empty() { " ".to_string() } else { dots }).size(PAD_FONT_PT));
            if kiosk.wrong_pins > 0 {
                ui.label(format!("wrong PIN ({} tries)", kiosk.wrong_pins));
            }
            let size = egui::vec2(PAD_BUTTON_PT, PAD_BUTTON_PT);
            egui::Grid::new("pin-pad").show(ui, |ui| {
                for (i, label) in ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"].iter().enumerate() {
                    let b = ui.add_sized(size, egui::Button::new(egui::RichText::new(*label).size(PAD_FONT_PT)));
                    let name = match *label {
                        "⌫" => "pin-erase".to_string(),
                        "OK" => "pin-ok".to_string(),
                        d => format!("pin-{d}"),
                    };
                    on_screen.button(&name, rect(b.rect));
                    if b.clicked() {
                        match *label {
                            "⌫" => kiosk.erase_digit(now_s),
                            "OK" => {
                                kiosk.submit_pin(now_s);
                            }
                            d => d.chars().for_each(|c| kiosk.type_digit(c, now_s)),
                        }
                    }
                    if i % 3 == 2 {
                        ui.end_row();
                    }
                }
            });
            if ui.button("Cancel").clicked() {
                kiosk.lock();
            }
        })
    } else {
        window.show(ctx, |ui| {
            ui.label(format!("Operator panel (locks after {:.0} s idle)", kiosk.settings.relock_after_s));
            for line in operator_warnings(&status, scores.as_deref()) {
                ui.colored_label(egui::Color32::from_rgb(255, 190, 60), line);
            }
            ui.horizontal(|ui| {
                let size = egui::vec2(PAD_BUTTON_PT * 2.0, PAD_BUTTON_PT);
                let quit = ui.add_sized(size, egui::Button::new(egui::RichText::new("Quit").size(PAD_FONT_PT)));
                on_screen.button("operator-quit", rect(quit.rect));
                if quit.clicked() {
                    exit.write(AppExit::Success);
                }
                let lock = ui.add_sized(size, egui::Button::new(egui::RichText::new("Lock").size(PAD_FONT_PT)));
                on_screen.button("operator-lock", rect(lock.rect));
                if lock.clicked() {
                    kiosk.lock();
                }
            });
        })
    };
    rects.operator = response.map(|r| r.response.rect);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(pin: Option<&str>) -> Kiosk {
        Kiosk::new(KioskSettings { operator_pin: pin.map(String::from), ..KioskSettings::default() })
    }

    #[test]
    fn three_fingers_held_two_seconds_fire_once() {
        let mut g = LongPress::default();
        g.touch(1, TouchPhase::Started, 0.0);
        g.touch(2, TouchPhase::Started, 0.1);
        assert!(!g.fires(5.0), "two fingers are not enough");
        g.touch(3, TouchPhase::Started, 0.2);
        g.touch(3, TouchPhase::Moved, 1.0);
        assert!(!g.fires(2.1), "held 1.9 s");
        assert!(g.fires(2.2));
        assert!(!g.fires(3.0), "once per hold");
        g.touch(2, TouchPhase::Ended, 3.1);
        g.touch(2, TouchPhase::Started, 3.2);
        assert!(!g.fires(5.1), "the hold starts over when a finger lifts");
        assert!(g.fires(5.3));
    }

    #[test]
    fn a_repeated_start_of_one_finger_is_not_three_fingers() {
        let mut g = LongPress::default();
        for _ in 0..3 {
            g.touch(7, TouchPhase::Started, 0.0);
        }
        g.touch(8, TouchPhase::Started, 0.0);
        assert!(!g.fires(10.0));
        g.touch(9, TouchPhase::Canceled, 0.0);
        g.touch(9, TouchPhase::Started, 1.0);
        g.touch(8, TouchPhase::Canceled, 2.0);
        assert!(!g.fires(10.0), "a cancelled touch is up");
    }

    #[test]
    fn the_gesture_opens_the_pin_pad_and_only_the_right_pin_unlocks() {
        let mut k = kiosk(Some("1234"));
        k.gesture(0.0);
        assert_eq!(k.lock, OperatorLock::EnteringPin(String::new()));
        for d in "1235".chars() {
            k.type_digit(d, 0.5);
        }
        assert!(!k.submit_pin(1.0));
        assert_eq!((k.lock.clone(), k.wrong_pins), (OperatorLock::EnteringPin(String::new()), 1));
        for d in "12x349".chars() {
            k.type_digit(d, 1.5);
        }
        k.erase_digit(1.6);
        assert!(k.submit_pin(2.0), "x is no digit, 9 was erased");
        assert!(k.unlocked());
        k.gesture(3.0);
        assert_eq!(k.lock, OperatorLock::Locked, "the gesture on the panel locks it");
    }

    #[test]
    fn without_a_pin_the_gesture_unlocks_at_once() {
        for pin in [None, Some("")] {
            let mut k = kiosk(pin);
            k.gesture(0.0);
            assert!(k.unlocked(), "{pin:?}");
        }
    }

    #[test]
    fn the_panel_locks_itself_after_idle_seconds() {
        let mut k = kiosk(None);
        let idle = k.settings.relock_after_s;
        k.gesture(10.0);
        assert!(!k.relock_if_idle(10.0 + idle - 1.0));
        k.input(10.0 + idle - 1.0);
        assert!(!k.relock_if_idle(10.0 + idle + 1.0), "input keeps it open");
        assert!(k.relock_if_idle(10.0 + 2.0 * idle));
        assert!(!k.unlocked());
        assert!(!k.relock_if_idle(100.0 * idle), "locked stays locked");
    }

    #[test]
    fn pin_pad_digits_come_from_both_rows_of_keys() {
        assert_eq!(digit_of(KeyCode::Digit7), Some('7'));
        assert_eq!(digit_of(KeyCode::Numpad0), Some('0'));
        assert_eq!(digit_of(KeyCode::KeyO), None);
    }

    /// The ECS side: keys and touches injected into a minimal app.
    fn app(pin: Option<&str>) -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins)
            .add_message::<TouchInput>()
            .init_resource::<ButtonInput<KeyCode>>()
            .insert_resource(ViewSettings::default())
            .insert_resource(kiosk(pin))
            .add_systems(Update, unlock_operator);
        app
    }

    fn press(app: &mut App, keys: &[KeyCode]) {
        for k in keys {
            app.world_mut().resource_mut::<ButtonInput<KeyCode>>().press(*k);
        }
        app.update();
        let mut input = app.world_mut().resource_mut::<ButtonInput<KeyCode>>();
        for k in keys {
            input.release(*k);
        }
        input.clear();
    }

    fn lock(app: &App) -> OperatorLock {
        app.world().resource::<Kiosk>().lock.clone()
    }

    #[test]
    fn the_chord_and_a_typed_pin_open_the_help_panel() {
        let mut app = app(Some("42"));
        press(&mut app, &[KeyCode::KeyO]);
        press(&mut app, &[KeyCode::ControlLeft, KeyCode::KeyO]);
        assert_eq!(lock(&app), OperatorLock::Locked, "O and Ctrl+O are no chord");
        press(&mut app, &[KeyCode::ControlLeft, KeyCode::AltLeft, KeyCode::KeyO]);
        assert_eq!(lock(&app), OperatorLock::EnteringPin(String::new()));
        assert!(!app.world().resource::<ViewSettings>().show_help, "not before the PIN");
        press(&mut app, &[KeyCode::Digit4]);
        press(&mut app, &[KeyCode::Numpad2]);
        press(&mut app, &[KeyCode::Enter]);
        assert_eq!(lock(&app), OperatorLock::Unlocked);
        assert!(app.world().resource::<ViewSettings>().show_help);
        press(&mut app, &[KeyCode::ControlRight, KeyCode::AltRight, KeyCode::KeyO]);
        assert_eq!(lock(&app), OperatorLock::Locked);
        assert!(!app.world().resource::<ViewSettings>().show_help);
    }

    #[test]
    fn three_touches_held_open_the_panel() {
        let mut app = app(None);
        let window = app.world_mut().spawn_empty().id();
        for id in 1..=3 {
            app.world_mut().write_message(TouchInput {
                phase: TouchPhase::Started,
                position: Vec2::ZERO,
                window,
                force: None,
                id,
            });
        }
        app.update();
        assert_eq!(lock(&app), OperatorLock::Locked, "not at once");
        // The lock follows the real clock (a slow frame must not stretch the hold): wait it out.
        std::thread::sleep(std::time::Duration::from_secs_f32(LONG_PRESS_S + 0.1));
        app.update();
        app.update();
        assert_eq!(lock(&app), OperatorLock::Unlocked);
    }
}
