//! The attract screen: the mirror keeps running behind a call to action, two big buttons
//! (play the challenge, just mirror) in the lower half and the permanent notice that
//! this exhibit recognises emotions (the EU AI Act asks deployers of emotion recognition
//! to tell people at first exposure).

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

use super::{GameAction, GameCommand, OnScreen, Screen};
use crate::app::theme;

/// The call to action, big, above the buttons.
pub const CALL_TO_ACTION: &str = "Step closer and make a face";
/// The notice shown on the attract screen at all times: what the exhibit does with faces.
pub const NOTICE: &str = "This exhibit recognises emotions from the faces in its camera picture. \
No picture is stored or sent anywhere.";
/// Where to read more (the exhibit's sign; see the README's "The game" for its text).
pub const READ_MORE: &str = "Ask staff or see the sign for details.";
/// The call to action's text height at 1080p (pixels).
const CALL_TO_ACTION_PX: f32 = 80.0;
/// The notice's text height at 1080p (pixels): readable from a step away.
const NOTICE_PX: f32 = 30.0;
/// Widest a big button gets at 1080p (pixels).
const BUTTON_MAX_WIDTH_PX: f32 = 720.0;
/// Height reserved for the call to action's panel at 1080p (pixels).
const CALL_TO_ACTION_BAND_PX: f32 = 140.0;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(EguiPrimaryContextPass, attract_ui.run_if(in_state(Screen::Attract)));
}

/// Where the attract screen's parts go in a window of `window` pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttractLayout {
    pub notice: egui::Rect,
    pub call_to_action: egui::Rect,
    pub play: egui::Rect,
    pub mirror: egui::Rect,
}

impl AttractLayout {
    /// Notice along the top; buttons at the bottom (side by side in landscape, stacked in
    /// portrait); the call to action just above them.
    pub fn compute(window: egui::Vec2) -> Self {
        let m = theme::scaled(window, theme::MARGIN_PX);
        let h = theme::touch(window, theme::BIG_BUTTON_PX);
        let max_w = theme::scaled(window, BUTTON_MAX_WIDTH_PX);
        let notice = egui::Rect::from_min_size(egui::pos2(m, m), egui::vec2(window.x - 2.0 * m, h));
        let (play, mirror) = if window.x >= window.y {
            let w = ((window.x - 3.0 * m) / 2.0).min(max_w);
            let y = window.y - m - h;
            let left = window.x / 2.0 - m / 2.0 - w;
            (
                egui::Rect::from_min_size(egui::pos2(left, y), egui::vec2(w, h)),
                egui::Rect::from_min_size(egui::pos2(window.x / 2.0 + m / 2.0, y), egui::vec2(w, h)),
            )
        } else {
            let w = (window.x - 2.0 * m).min(max_w);
            let x = (window.x - w) / 2.0;
            (
                egui::Rect::from_min_size(egui::pos2(x, window.y - 2.0 * (m + h)), egui::vec2(w, h)),
                egui::Rect::from_min_size(egui::pos2(x, window.y - m - h), egui::vec2(w, h)),
            )
        };
        let band = theme::scaled(window, CALL_TO_ACTION_BAND_PX);
        let call_to_action =
            egui::Rect::from_min_size(egui::pos2(m, play.min.y - m - band), egui::vec2(window.x - 2.0 * m, band));
        Self { notice, call_to_action, play, mirror }
    }
}

fn attract_ui(
    windows: Query<&Window, With<bevy::window::PrimaryWindow>>,
    mut contexts: EguiContexts,
    mut on_screen: ResMut<OnScreen>,
    mut game: MessageWriter<GameCommand>,
) -> Result {
    // The window's own size (egui's screen is a placeholder until its first input).
    let Ok(window) = windows.single() else { return Ok(()) };
    let window = egui::vec2(window.width(), window.height());
    let ctx = contexts.ctx_mut()?;
    let layout = AttractLayout::compute(window);
    let notice = egui::RichText::new(format!("{NOTICE} {READ_MORE}")).size(theme::scaled(window, NOTICE_PX));
    let drawn = theme::text_at(ctx, "notice", layout.notice, notice, egui::Align::Center);
    on_screen.item("notice", theme::rect_px(drawn));
    let cta = egui::RichText::new(CALL_TO_ACTION).size(theme::scaled(window, CALL_TO_ACTION_PX)).strong();
    let drawn = theme::text_at(ctx, "call-to-action", layout.call_to_action, cta, egui::Align::Center);
    on_screen.item("call-to-action", theme::rect_px(drawn));
    if theme::button_at(ctx, &mut on_screen, "play", "Play the challenge", layout.play, theme::PRIMARY) {
        game.write(GameCommand(GameAction::Start));
    }
    if theme::button_at(ctx, &mut on_screen, "mirror", "Just mirror", layout.mirror, theme::SECONDARY) {
        game.write(GameCommand(GameAction::Mirror));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(window: egui::Vec2) {
        let l = AttractLayout::compute(window);
        let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, window);
        for b in [l.play, l.mirror] {
            assert!(screen.contains_rect(b), "{b:?} inside {window:?}");
            assert!(b.min.y >= window.y / 2.0, "{b:?} in the lower half of {window:?}");
            assert!(b.height() >= theme::MIN_TOUCH_PX && b.width() >= theme::MIN_TOUCH_PX, "{b:?}");
        }
        assert!(!l.play.intersects(l.mirror), "{:?} {:?}", l.play, l.mirror);
        assert!(l.call_to_action.max.y <= l.play.min.y && l.call_to_action.max.y <= l.mirror.min.y);
        assert!(l.notice.max.y < l.call_to_action.min.y, "the notice is above the call to action");
    }

    #[test]
    fn buttons_sit_in_the_lower_half_in_landscape_and_portrait() {
        check(egui::vec2(1920.0, 1080.0));
        check(egui::vec2(1080.0, 1920.0));
        check(egui::vec2(1280.0, 720.0));
        check(egui::vec2(800.0, 480.0));
    }
}
